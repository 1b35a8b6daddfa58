"""The iptables object model as text: `ipset restore` input, and `iptables-restore` input per family."""

from __future__ import annotations

from collections.abc import Iterable

from .model import Ipset, Rule, Ruleset, Target

ENTRY_COMMENT = "netcompile"


def quote(text: str) -> str:
    """A comment as iptables-restore reads it: in double quotes, `"` and `\\` escaped (lower.py's comments
    have neither: nft.syntax.safe_comment)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _chain_lines(chain: str, rules: list[Rule], comments: dict[str, str], targets: dict[Target, str]) -> list[str]:
    """`-A CHAIN [-m comment --comment "..."] MATCHES TARGET` per rule, each comment and target text made
    once per ruleset (a Service's comment is on every rule of its cascade)."""
    out: list[str] = []
    head = "-A " + chain
    for rule in rules:
        words = [head]
        if rule.comment:
            part = comments.get(rule.comment)
            if part is None:
                part = comments[rule.comment] = "-m comment --comment " + quote(rule.comment)
            words.append(part)
        if rule.matches:
            words.append(" ".join(rule.matches))
        target = targets.get(rule.target)
        if target is None:
            target = targets[rule.target] = " ".join(rule.target.text)
        if target:
            words.append(target)
        out.append(" ".join(words))
    return out


def ruleset_text(ruleset: Ruleset) -> str:
    """The input of iptables-restore, joined chain by chain (so that a chain's lines are freed as they are
    joined, not held for the whole table)."""
    chunks: list[str] = []
    comments: dict[str, str] = {}
    targets: dict[Target, str] = {}
    for name in ("nat", "filter"):
        table = ruleset.tables.get(name)
        if table is None or not table.chains:
            continue
        lines = [f"*{name}"]
        lines += [f":{chain} - [0:0]" for chain in table.chains]
        for builtin, entry in table.entries:
            lines.append(f"-A {builtin} -m comment --comment {quote(ENTRY_COMMENT)} -j {entry}")
        chunks.append("\n".join(lines) + "\n")
        for chain in table.chains.values():
            if chain.rules:
                chunks.append("\n".join(_chain_lines(chain.name, chain.rules, comments, targets)) + "\n")
        chunks.append("COMMIT\n")
    return "".join(chunks)


def ipset_text(ipsets: Iterable[Ipset]) -> str:
    lines: list[str] = []
    for item in ipsets:
        lines.append(item.create)
        lines += [f"add {item.name} {element}" for element in item.elements]
    return "".join(line + "\n" for line in lines)
