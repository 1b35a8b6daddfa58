"""The iptables object model as text: `ipset restore` input, and `iptables-restore` input per family."""

from __future__ import annotations

from collections.abc import Iterable

from .model import Ipset, Rule, Ruleset

ENTRY_COMMENT = "netcompile"


def quote(text: str) -> str:
    """A comment as iptables-restore reads it: in double quotes, `"` and `\\` escaped (lower.py's comments
    have neither: nft.syntax.safe_comment)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rule_line(chain: str, rule: Rule) -> str:
    parts = ["-A", chain]
    if rule.comment:
        parts += ["-m", "comment", "--comment", quote(rule.comment)]
    parts += rule.matches
    parts += rule.target.text
    return " ".join(parts)


def ruleset_text(ruleset: Ruleset) -> str:
    lines: list[str] = []
    for name in ("nat", "filter"):
        table = ruleset.tables.get(name)
        if table is None or not table.chains:
            continue
        lines.append(f"*{name}")
        lines += [f":{chain} - [0:0]" for chain in table.chains]
        for builtin, entry in table.entries:
            lines.append(f"-A {builtin} -m comment --comment {quote(ENTRY_COMMENT)} -j {entry}")
        for chain in table.chains.values():
            lines += [rule_line(chain.name, rule) for rule in chain.rules]
        lines.append("COMMIT")
    return "".join(line + "\n" for line in lines)


def ipset_text(ipsets: Iterable[Ipset]) -> str:
    lines: list[str] = []
    for item in ipsets:
        lines.append(item.create)
        lines += [f"add {item.name} {element}" for element in item.elements]
    return "".join(line + "\n" for line in lines)
