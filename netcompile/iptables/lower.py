"""The nftables IR lowered to iptables chains and ipsets, one address family at a time (docs/iptables.md).

Chains are lowered from the base chains down, as *instances*: a chain and what is known about the packet
when it gets there (`Ctx`). Most chains need nothing and have one instance, named after them
(`NC-services`). A chain that looks up a map by fields of the packet (`dnat ... map @service-endpoints-v4`
keyed by `ip daddr . meta l4proto . th dport`) gets one instance per value of those fields it is reached
with, through a verdict-map element or an equality match: partial evaluation, so the map lookup becomes a
chain of `-m statistic` rules, each DNATing to its endpoint itself (no chain per endpoint as kube-proxy
has: iptables-nft loads jumps to many chains slowly, docs/iptables.md "Measurements").

Rules are lowered statement by statement into `Conds` alternatives (`conds.py`, set lookups `keys.py`)
and one action. A verdict map becomes one rule per distinct target, matching its keys with an ipset
(several elements) or plain matches (one). Verdicts that iptables allows only in `filter` (drop, reject)
are deferred out of `nat` through mark bits; an nftables `accept` stays abstract until `finish.py` knows
where each chain is reached from.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..nft import ir
from ..nft.statements import (
    AnonVmap,
    Dnat,
    DnatMap,
    Expr,
    Integer,
    Mark,
    MarkOp,
    MarkSet,
    Masquerade,
    Match,
    Numgen,
    Reject,
    SetRef,
    SetUpdate,
    Statement,
    Verdict,
    VerdictKind,
    Vmap,
)
from ..nft.syntax import safe_comment
from . import keys
from .conds import Conds, is_host
from .matches import Matcher
from .model import ACCEPT, NO_TARGET, Ipset, Rule, Ruleset, Target, TargetKind, UnsupportedIR, goto, jump, tokens
from .probability import probability_text
from .shared import BUILTINS, DEFER, Ctx, Shared, binding, field_name, key_binding, key_parts, rule_family, table_of

GUARD_MIN = 8  # alternatives of one rule from which they go behind an ipset lookup (`FamilyLowering.guard`)


@dataclass(slots=True)
class FamilyLowering:
    """The chains of one family (iptables: 4, ip6tables: 6)."""

    shared: Shared
    version: int
    ruleset: Ruleset = field(init=False)
    instances: dict[tuple[str, str, Ctx], str] = field(default_factory=dict)
    pending: deque[tuple[str, str, str, Ctx]] = field(default_factory=deque)  # table, IR chain, name, ctx
    stages: dict[tuple[str, str], list[tuple[int, str, str, str]]] = field(default_factory=dict)
    matcher: Matcher = field(init=False)
    guards: dict[tuple[str, str], int] = field(default_factory=dict)  # guarded rules per chain, for names

    def __post_init__(self) -> None:
        self.ruleset = Ruleset(self.version)
        self.matcher = Matcher(self.shared, self.version)

    def run(self) -> Ruleset:
        for chain in self.shared.table.base_chains:
            assert chain.base is not None
            table, hook = table_of(chain), chain.base.hook.value.upper()
            if hook not in BUILTINS[table]:
                raise UnsupportedIR(f"base chain {chain.name}: iptables has no {table} {hook}")
            name = self.instance(table, chain.name, (), None)
            stage = (chain.base.priority_value, chain.name, name, chain.base.policy.value)
            self.stages.setdefault((table, hook), []).append(stage)
        while self.pending:
            table, ir_chain, name, ctx = self.pending.popleft()
            for rule in self.shared.table.chains[ir_chain].rules:
                self.rule(table, name, ctx, rule)
        return self.ruleset

    # --- chains ---------------------------------------------------------------------------------

    def instance(self, table: str, chain: str, ctx: Ctx, label: str | None) -> str:
        key = (table, chain, ctx)
        name = self.instances.get(key)
        if name is None:
            namer = self.shared.chain_names
            if ctx:
                identity = chain + "|" + ",".join(f"{k}={v}" for k, v in ctx)
                name = namer.name(identity, None, label or chain)
            else:
                name = namer.name(chain, chain)
            self.instances[key] = name
            self.ruleset.table(table).chain(name)
            self.pending.append((table, chain, name, ctx))
        return name

    def target(self, table: str, chain: str, known: dict[str, str], label: str | None) -> str:
        needs = self.shared.needs(chain)
        ctx = tuple(sorted((k, v) for k, v in known.items() if k in needs))
        return self.instance(table, chain, ctx, label)

    def emit(self, table: str, chain: str, alts: Iterable[Conds], target: Target, comment: str | None) -> None:
        rules = self.ruleset.table(table).chain(chain).rules
        text = safe_comment(comment) if comment else None
        alts = list(alts)
        guard = self.guard(table, chain, alts, target, text)
        if guard is not None:
            rules.append(guard)
            return
        for conds in alts:
            rules.append(Rule(conds.tokens, target, text))

    def guard(self, table: str, chain: str, alts: list[Conds], target: Target, comment: str | None) -> Rule | None:
        """Many alternatives (a set no ipset type holds, one rule per element) behind one ipset lookup: the
        rules move to a chain of their own, jumped to only for a packet whose source (or destination) is
        in the union of theirs, so that other packets pay one lookup. Only for targets that behave alike
        in that chain (an action, a built-in target other than RETURN, a jump)."""
        if len(alts) < GUARD_MIN or target.kind not in (TargetKind.NONE, TargetKind.TOKENS, TargetKind.JUMP):
            return None
        if target.tokens[:2] == ("-j", "RETURN"):
            return None
        for slot, direction in (("src", "src"), ("dst", "dst")):
            values = [getattr(a, slot) for a in alts]
            if any(v is None or v[0] for v in values):
                continue
            nets = list(dict.fromkeys(v[1] for v in values))  # the elements' order
            count = self.guards.setdefault((table, chain), 0)
            self.guards[(table, chain)] = count + 1
            identity = f"guard|{self.version}|{table}|{chain}|{count}"
            exact = all(is_host(n) for n in nets)
            kind = "hash:ip" if exact else "hash:net"
            name = self.shared.set_names.name(identity, None, f"{chain.removeprefix('NC-')}-{count}")
            entries = [n.split("/")[0] if exact else n for n in nets]
            self.shared.ipsets[name] = Ipset(name, kind, self.version, entries)
            sub = self.shared.chain_names.name(identity, None, f"{chain.removeprefix('NC-')}-{count}")
            self.ruleset.table(table).chain(sub).rules.extend(Rule(a.tokens, target, comment) for a in alts)
            return Rule(("-m", "set", "--match-set", name, direction), jump(sub), comment)
        return None

    # --- rules ----------------------------------------------------------------------------------

    def rule(self, table: str, chain: str, ctx: Ctx, rule: ir.Rule) -> None:
        versions = self.shared.families.get(id(rule))
        if versions is None:
            versions = self.shared.families[id(rule)] = rule_family(self.shared, rule.statements)
        if versions and versions != {self.version}:
            return  # the other family's (or neither's)
        alts: list[Conds] = [Conds()]
        known = dict(ctx)
        last = len(rule.statements) - 1
        for index, statement in enumerate(rule.statements):
            if isinstance(statement, Match):
                alts = self.matcher.match(alts, statement)
                known.update(binding(statement))
                if not alts:
                    return
                continue
            if index != last:
                raise UnsupportedIR(f"a statement after {statement!r} in chain {chain}")
            self.action(table, chain, known, alts, statement, rule.comment or _looked_up(rule))
            return

    def verdict(self, table: str, verdict: Verdict, known: dict[str, str], label: str | None) -> Target:
        kind = verdict.kind
        if kind is VerdictKind.ACCEPT:
            return ACCEPT
        if kind is VerdictKind.DROP:
            return tokens("-j", "DROP") if table == "filter" else self.defer("drop")
        if kind is VerdictKind.RETURN:
            return tokens("-j", "RETURN")
        if kind is VerdictKind.CONTINUE:
            return NO_TARGET
        assert verdict.chain is not None
        name = self.target(table, verdict.chain, known, label)
        return jump(name) if kind is VerdictKind.JUMP else goto(name)

    def defer(self, what: str) -> Target:
        name = DEFER[what]
        chain = self.ruleset.table("nat").chain(name)
        if not chain.rules:
            marks = self.shared.marks
            value = {"drop": marks.drop, "reset": marks.reset, "reject": marks.reject}[what]
            note = f"{what} in filter: iptables has no {what} in nat"
            chain.rules.append(Rule((), tokens("-j", "MARK", "--set-xmark", f"{value:#x}/{marks.defer_mask:#x}"), note))
            chain.rules.append(Rule((), tokens("-j", "ACCEPT"), "ends the nat table for this packet"))
        return jump(name)

    def action(
        self, table: str, chain: str, known: dict[str, str], alts: list[Conds], action: Statement, comment: str | None
    ) -> None:
        match action:
            case Verdict():
                self.emit(table, chain, alts, self.verdict(table, action, known, None), comment)
            case Vmap(key, SetRef(name)):
                self.vmap(table, chain, known, alts, key, name, comment)
            case Vmap(Numgen(modulus), AnonVmap(entries)):
                targets = dict(entries)
                verdicts = [targets.get(Integer(i)) for i in range(modulus)]
                if any(v is None or v.kind in (VerdictKind.JUMP, VerdictKind.CONTINUE) for v in verdicts):
                    raise UnsupportedIR(f"a random choice iptables cannot cascade in chain {chain}")
                picks = [(self.verdict(table, v, known, None), comment) for v in verdicts if v is not None]
                self.cascade(table, chain, alts, picks)
            case MarkSet(op, Mark(value)):
                flag = {MarkOp.OR: "--or-mark", MarkOp.XOR: "--xor-mark", MarkOp.AND: "--and-mark"}[op]
                self.emit(table, chain, alts, tokens("-j", "MARK", flag, f"{value:#x}"), comment)
            case Dnat(family, address, port):
                host = f"[{address}]" if family.version == 6 else str(address)
                alts = [self.with_protocol(a, known) for a in alts]
                self.emit(table, chain, alts, tokens("-j", "DNAT", "--to-destination", f"{host}:{port}"), comment)
            case DnatMap():
                self.dnat_map(table, chain, known, alts, action, comment)
            case Masquerade(fully_random):
                extra = ("--random-fully",) if fully_random else ()
                self.emit(table, chain, alts, tokens("-j", "MASQUERADE", *extra), comment)
            case Reject(tcp_reset):
                if tcp_reset:
                    alts = [c for a in alts if (c := a.protocol(False, "tcp")) is not None]
                if table == "nat":
                    target = self.defer("reset" if tcp_reset else "reject")
                elif tcp_reset:
                    target = tokens("-j", "REJECT", "--reject-with", "tcp-reset")
                else:
                    icmp = "icmp-port-unreachable" if self.version == 4 else "icmp6-port-unreachable"
                    target = tokens("-j", "REJECT", "--reject-with", icmp)
                self.emit(table, chain, alts, target, comment)
            case SetUpdate(SetRef(name), key):
                recent = self.matcher.recent(name, key)
                self.emit(table, chain, [a.more(*recent, "--set") for a in alts], NO_TARGET, comment)
            case _:
                raise UnsupportedIR(f"no iptables lowering for {action!r} in chain {chain}")

    def with_protocol(self, conds: Conds, known: dict[str, str]) -> Conds:
        if conds.proto is not None and not conds.proto[0]:
            return conds
        proto = known.get("meta l4proto")
        made = conds.protocol(False, proto) if proto else None
        if made is None:
            raise UnsupportedIR("DNAT to a port without a known protocol")
        return made

    def cascade(self, table: str, chain: str, alts: list[Conds], picks: list[tuple[Target, str | None]]) -> None:
        """One of `picks` uniformly at random: pick i with `--probability 1/(n-i)`, the last without."""
        count = len(picks)
        for index, (target, comment) in enumerate(picks):
            more: tuple[str, ...] = ()
            if index < count - 1:
                more = ("-m", "statistic", "--mode", "random", "--probability", probability_text(count - index))
            self.emit(table, chain, [a.more(*more) for a in alts], target, comment)

    def dnat_map(
        self, table: str, chain: str, known: dict[str, str], alts: list[Conds], action: DnatMap, comment: str | None
    ) -> None:
        *fields, last = key_parts(action.key)
        if not isinstance(last, Numgen):
            raise UnsupportedIR(f"a DNAT map not keyed by a random index in chain {chain}")
        names = [field_name(f) for f in fields]
        if any(n is None or n not in known for n in names):
            raise UnsupportedIR(f"a DNAT map lookup whose frontend is not known in chain {chain}")
        prefix = tuple(known[n] for n in names if n is not None)
        found = self.shared.endpoints(action.map.name).get(prefix, {})
        if sorted(found) != list(range(last.modulus)):
            raise UnsupportedIR(f"{action.map.name}: {prefix} has indexes {sorted(found)}, not 0..{last.modulus - 1}")
        proto = known.get("meta l4proto")
        if proto is None:
            raise UnsupportedIR("a DNAT map lookup without a protocol")
        alts = [c for a in alts if (c := a.protocol(False, proto)) is not None]
        picks: list[tuple[Target, str | None]] = []
        for index in range(last.modulus):
            (address, port), element_comment = found[index]
            host = f"[{address}]" if action.family.version == 6 else address
            picks.append((tokens("-j", "DNAT", "--to-destination", f"{host}:{port}"), element_comment or comment))
        self.cascade(table, chain, alts, picks)

    def vmap(
        self,
        table: str,
        chain: str,
        known: dict[str, str],
        alts: list[Conds],
        key: Expr,
        map_name: str,
        comment: str | None,
    ) -> None:
        comps, _ = keys.components(key)
        groups: dict[Target, list[ir.Element]] = {}
        verdicts: dict[Target, Verdict] = {}
        for element in self.shared.table.sets[map_name].elements:
            assert element.value is not None
            verdict = element.value[0]
            assert isinstance(verdict, Verdict)
            bound = {**known, **key_binding(key, element.key)}
            target = self.verdict(table, verdict, bound, element.comment)
            groups.setdefault(target, []).append(element)
            verdicts.setdefault(target, verdict)
        for target, elements in groups.items():
            if len(elements) == 1:
                element = elements[0]
                rows = keys.values(comps, element.key)
                out = [c for a in alts for c in keys.element_conds(a, comps, tuple(rows))]
                self.emit(table, chain, out, target, element.comment or comment)
                continue
            verdict = verdicts[target]
            label = f"{map_name}-{verdict.chain or verdict.kind.value}"
            identity = f"group|{map_name}|{verdict.kind.value}|{target.chain or ''}"
            matched = self.matcher.lookup(alts, comps, identity, label, [e.key for e in elements], False)
            note = comment or f"@{map_name}: {verdict.kind.value} {verdict.chain or ''}".rstrip()
            self.emit(table, chain, matched, target, note)


def _looked_up(rule: ir.Rule) -> str | None:
    """The comment of a rule that has none but looks a named set up: `@set`, to find it in the ipsets and
    the nftables script (whose elements say which Kubernetes rule allows them)."""
    for statement in rule.statements:
        if isinstance(statement, Match) and isinstance(statement.right, SetRef):
            return f"@{statement.right.name}"
    return None
