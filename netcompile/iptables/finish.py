"""The last step of the lowering, once every chain of a table is known: what an nftables `accept` becomes,
and the entry chains that run the base chains of each hook in priority order.

nftables runs every base chain of a hook, and `accept` ends only the one it is in; in iptables `-j ACCEPT`
ends the whole built-in chain. So an `accept` ends the lowered base chain (a *stage*) instead:

- in a chain reached from the stage only by `goto` (or the stage itself), `-j RETURN` goes straight back
  to the entry chain, which goes on with the next stage (the stage's policy is accept);
- in a chain reached by a `jump`, `-g NC-ACCEPT` sets the accept bit and returns to the caller of the
  chain, and after every `-j` to a chain that may set the bit, `-m mark --mark B/B -j RETURN` passes it
  up; the entry chain clears the bit before and after each stage that may set it (`--and-mark ~B`).

A stage whose policy is drop is followed by `-m mark ! --mark B/B -j DROP`, and all its accepts use the bit.
The entry chains of `filter` also carry out the drops and rejects deferred out of `nat` (lower.py).
"""

from __future__ import annotations

from .model import Chain, Marks, Rule, Ruleset, Target, TargetKind, goto, jump, tokens
from .shared import DEFER

ACCEPT_CHAIN = "NC-ACCEPT"
Stages = dict[tuple[str, str], list[tuple[int, str, str, str]]]  # (table, hook) -> priority, IR name, chain, policy


def _edges(chains: dict[str, Chain]) -> dict[str, list[tuple[TargetKind, str]]]:
    out: dict[str, list[tuple[TargetKind, str]]] = {}
    for chain in chains.values():
        out[chain.name] = [
            (r.target.kind, r.target.chain)
            for r in chain.rules
            if r.target.kind in (TargetKind.JUMP, TargetKind.GOTO) and r.target.chain is not None
        ]
    return out


def _closure(edges: dict[str, list[tuple[TargetKind, str]]], start: set[str]) -> set[str]:
    seen = set(start)
    todo = list(start)
    while todo:
        for _, target in edges.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def resolve_accepts(ruleset: Ruleset, stages: Stages, marks: Marks) -> dict[str, set[str]]:
    """Write every abstract accept; returns, per table, the chains that may come back with the accept bit."""
    out: dict[str, set[str]] = {}
    bit = marks.accept
    for name, table in ruleset.tables.items():
        edges = _edges(table.chains)
        jumped = _closure(edges, {t for targets in edges.values() for kind, t in targets if kind is TargetKind.JUMP})
        strict = any(policy == "drop" for (t, _), items in stages.items() if t == name for *_, policy in items)
        depth0 = set() if strict else set(table.chains) - jumped
        accepting = {
            c.name
            for c in table.chains.values()
            if c.name not in depth0 and any(r.target.kind is TargetKind.ACCEPT for r in c.rules)
        }
        changed = True
        while changed:
            changed = False
            for chain, targets in edges.items():
                if chain not in accepting and any(t in accepting for _, t in targets):
                    accepting.add(chain)
                    changed = True
        check = Rule(
            ("-m", "mark", "--mark", f"{bit:#x}/{bit:#x}"), tokens("-j", "RETURN"), "accepted: end of this stage"
        )
        used = False
        for item in table.chains.values():
            rules: list[Rule] = []
            for rule in item.rules:
                if rule.target.kind is TargetKind.ACCEPT:
                    target: Target = tokens("-j", "RETURN") if item.name in depth0 else goto(ACCEPT_CHAIN)
                    used |= item.name not in depth0
                    rule = Rule(rule.matches, target, rule.comment)
                rules.append(rule)
                if rule.target.kind is TargetKind.JUMP and rule.target.chain in accepting:
                    rules.append(check)
            item.rules = rules
        if used:
            note = "accept: ends this base chain only, as in nftables"
            table.chain(ACCEPT_CHAIN).rules = [Rule((), tokens("-j", "MARK", "--or-mark", f"{bit:#x}"), note)]
        out[name] = accepting
    return out


def _defers(ruleset: Ruleset, stages: Stages, hook: str, edges: dict[str, list[tuple[TargetKind, str]]]) -> list[str]:
    """The deferred verdicts the nat stages of `hook` may leave on a packet."""
    roots = {chain for _, _, chain, _ in stages.get(("nat", hook), [])}
    reached = _closure(edges, roots)
    return [what for what, chain in DEFER.items() if chain in reached]


def entries(ruleset: Ruleset, stages: Stages, marks: Marks, accepting: dict[str, set[str]]) -> None:
    """The entry chain of every hook with stages or deferred verdicts, first in its table."""
    clear = tokens("-j", "MARK", "--and-mark", f"{~marks.accept & 0xFFFFFFFF:#x}")
    after = {"INPUT": "PREROUTING", "FORWARD": "PREROUTING", "OUTPUT": "OUTPUT"}
    hooks = set(stages)
    nat = ruleset.tables.get("nat")
    edges = _edges(nat.chains) if nat is not None else {}
    deferred = {nat_hook: _defers(ruleset, stages, nat_hook, edges) for nat_hook in set(after.values())}
    for hook, nat_hook in after.items():
        if deferred[nat_hook]:
            hooks.add(("filter", hook))
    order = {"PREROUTING": 0, "INPUT": 1, "FORWARD": 2, "OUTPUT": 3, "POSTROUTING": 4}
    for table_name, hook in sorted(hooks, key=lambda k: (k[0] != "nat", order[k[1]])):
        table = ruleset.table(table_name)
        entry = f"NC-{hook}"
        rules: list[Rule] = []
        if table_name == "filter" and hook in after:
            rules += _carry_out(deferred[after[hook]], marks, ruleset.family)
        items = sorted(stages.get((table_name, hook), []))
        marking = [chain for _, _, chain, _ in items if chain in accepting.get(table_name, set())]
        if marking:
            rules.append(Rule((), clear, "the accept bit is netcompile's"))
        for _, ir_name, chain, policy in items:
            rules.append(Rule((), jump(chain), f"base chain {ir_name}"))
            if policy == "drop":
                bit = f"{marks.accept:#x}/{marks.accept:#x}"
                rules.append(Rule(("-m", "mark", "!", "--mark", bit), tokens("-j", "DROP"), f"{ir_name}: policy drop"))
            if chain in marking:
                rules.append(Rule((), clear, None))
        table.entries.append((hook, entry))
        chains = {entry: Chain(entry, rules)}
        chains.update((k, v) for k, v in table.chains.items() if k != entry)
        table.chains = chains
    # entry chains first, in hook order, then the rest as they were made
    for table in ruleset.tables.values():
        firsts = [entry for _, entry in sorted(table.entries, key=lambda e: order[e[0]])]
        table.entries.sort(key=lambda e: order[e[0]])
        table.chains = {
            **{n: table.chains[n] for n in firsts},
            **{k: v for k, v in table.chains.items() if k not in firsts},
        }


def _carry_out(defers: list[str], marks: Marks, family: int) -> list[Rule]:
    rules: list[Rule] = []
    mask = marks.defer_mask
    for what in defers:
        value = {"drop": marks.drop, "reset": marks.reset, "reject": marks.reject}[what]
        bits = ("-m", "mark", "--mark", f"{value:#x}/{mask:#x}")
        if what == "drop":
            rules.append(Rule(bits, tokens("-j", "DROP"), "dropped in nat"))
        elif what == "reset":
            rules.append(
                Rule(("-p", "tcp", *bits), tokens("-j", "REJECT", "--reject-with", "tcp-reset"), "rejected in nat")
            )
        else:
            icmp = "icmp-port-unreachable" if family == 4 else "icmp6-port-unreachable"
            rules.append(Rule(bits, tokens("-j", "REJECT", "--reject-with", icmp), "rejected in nat"))
    return rules
