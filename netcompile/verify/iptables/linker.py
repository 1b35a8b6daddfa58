"""Linker: the tables resolved and checked, and turned into the program the machine runs.

Resolves `-j`/`-g` chain targets (a user chain of the same table) and `--match-set` names (a set of the
ipset section, of the rule's family or of none); checks what the kernel checks when rules are loaded:
targets only in their table (REJECT in filter, DNAT and MASQUERADE in nat) and only reachable from the
built-in chains they are valid from, and no chain that reaches itself (the kernel refuses a loop reachable
from a hook; the interpreter refuses every loop, as netcompile never writes one).
"""

from __future__ import annotations

from ..chains import first_loop, reachable
from ..interpreter.errors import InterpreterError
from .program import LinkedChain, LinkedRule, test_of
from .sets import IpSet
from .syntax import Rule, SetMatch, Table
from .vocabulary import TARGET_HOOKS, TARGET_TABLE

__all__ = ["link"]


def link(tables: dict[str, Table], sets: dict[str, IpSet], lines: dict[int, str]) -> dict[str, dict[str, LinkedChain]]:
    """Every table's chains, linked (by table, then chain name); `lines` are the text's, for messages."""
    linked: dict[str, dict[str, LinkedChain]] = {}
    for table in tables.values():
        chains: dict[str, LinkedChain] = {}
        for chain in table.chains.values():
            rules = [_rule(table, chain.name, rule, sets, lines) for rule in chain.rules]
            chains[chain.name] = LinkedChain(chain.name, table.name, chain.builtin, chain.policy, rules)
        _check_graph(table, lines)
        linked[table.name] = chains
    return linked


def _error(message: str, line: int, lines: dict[int, str]) -> InterpreterError:
    return InterpreterError(message, line, lines.get(line, ""))


def _rule(table: Table, chain: str, rule: Rule, sets: dict[str, IpSet], lines: dict[int, str]) -> LinkedRule:
    target = rule.target
    if target.kind in ("jump", "goto"):
        to = table.chains.get(target.chain)
        if to is None:
            raise _error(f"unknown target or chain {target.chain!r} in table {table.name!r}", rule.line, lines)
        if to.builtin:
            raise _error(f"cannot jump to built-in chain {target.chain!r}", rule.line, lines)
    wanted = TARGET_TABLE.get(target.kind)
    if wanted is not None and wanted != table.name:
        raise _error(f"{target.kind} is valid in the {wanted} table only, not in {table.name}", rule.line, lines)
    for match in rule.matches:
        if isinstance(match, SetMatch):
            ipset = sets.get(match.name)
            if ipset is None:
                raise _error(f"set {match.name!r} does not exist (the ipset section creates none)", rule.line, lines)
            if ipset.family not in (0, table.version):
                raise _error(
                    f"set {match.name!r} is of family inet{'6' if ipset.family == 6 else ''}, "
                    f"not applicable to IPv{table.version} rules",
                    rule.line,
                    lines,
                )
    tests = tuple(test_of(match, sets) for match in rule.matches)
    label = f"{table.name}/{chain}: {rule.text}" if rule.text else f"{table.name}/{chain}:"
    if rule.comment:
        label = f"{label}  # {rule.comment}"
    return LinkedRule(tests, target, label, rule.comment)


def _check_graph(table: Table, lines: dict[int, str]) -> None:
    edges: dict[str, list[tuple[str, int]]] = {}
    needs: dict[str, list[tuple[str, int]]] = {}
    for chain in table.chains.values():
        edges[chain.name] = [(r.target.chain, r.line) for r in chain.rules if r.target.kind in ("jump", "goto")]
        needs[chain.name] = [(r.target.kind, r.line) for r in chain.rules if r.target.kind in TARGET_HOOKS]
    loop = first_loop(((c.name, c.line) for c in table.chains.values()), edges)
    if loop is not None:
        raise _error(f"chain {loop[0]!r} reaches itself (a loop: iptables refuses it)", loop[1], lines)
    for builtin in (c for c in table.chains.values() if c.builtin):
        for name in reachable(builtin.name, edges):
            for kind, line in needs[name]:
                if builtin.name not in TARGET_HOOKS[kind]:
                    raise _error(
                        f"{kind} is not valid from built-in chain {builtin.name} "
                        f"(only {', '.join(TARGET_HOOKS[kind])}), and this rule is reachable from it",
                        line,
                        lines,
                    )
