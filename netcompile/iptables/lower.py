"""The nftables IR lowered to iptables chains and ipsets, one address family at a time (docs/iptables.md).

Chains are lowered from the base chains down, as *instances*: a chain and what is known about the packet
when it gets there (`Ctx`). Most chains need nothing and have one instance, named after them
(`NC-services`). A chain that looks up a map by fields of the packet (`dnat ... map @service-endpoints-v4`
keyed by `ip daddr . meta l4proto . th dport`) gets one instance per value of those fields it is reached
with, through a verdict-map element or an equality match: partial evaluation, so the map lookup becomes a
kube-proxy-style chain of `-m statistic` rules jumping to per-endpoint DNAT chains.

Rules are lowered statement by statement into `Conds` alternatives (`conds.py`, set lookups `keys.py`)
and one action. A verdict map becomes one rule per distinct target, matching its keys with an ipset
(several elements) or plain matches (one). Verdicts that iptables allows only in `filter` (drop, reject)
are deferred out of `nat` through mark bits; an nftables `accept` stays abstract until `finish.py` knows
where each chain is reached from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..nft import ir
from ..nft.statements import (
    Address,
    AnonSet,
    AnonVmap,
    BitAnd,
    Concat,
    Ct,
    CtKey,
    Dnat,
    DnatMap,
    Expr,
    Flags,
    InputInterface,
    Integer,
    InterfaceName,
    Mark,
    MarkOp,
    MarkSet,
    Masquerade,
    Match,
    Meta,
    MetaKey,
    Network,
    Numgen,
    Op,
    Port,
    Range,
    Reject,
    SetRef,
    SetUpdate,
    Statement,
    Symbol,
    TypeOf,
    Types,
    Verdict,
    VerdictKind,
    Vmap,
    walk,
)
from ..nft.syntax import safe_comment
from ..nft.types import ChainType, DataType, SetFlag
from . import keys
from .conds import Conds, port_chunks
from .model import ACCEPT, NO_TARGET, Ipset, Marks, Rule, Ruleset, Target, UnsupportedIR, goto, jump, tokens
from .names import CHAIN_MAX, SET_MAX, Namer
from .probability import probability_text

Ctx = tuple[tuple[str, str], ...]  # known packet fields: (("ip daddr", "10.96.0.1"), ("meta l4proto", "tcp"), ...)
BUILTINS = {"nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"), "filter": ("INPUT", "FORWARD", "OUTPUT")}
DEFER = {"drop": "NC-DEFER-DROP", "reset": "NC-DEFER-RESET", "reject": "NC-DEFER-REJECT"}
_CT_STATES = ("INVALID", "NEW", "RELATED", "ESTABLISHED", "UNTRACKED")


def table_of(chain: ir.Chain) -> str:
    assert chain.base is not None
    return "nat" if chain.base.type is ChainType.NAT else "filter"


def field_name(expr: Expr) -> str | None:
    if isinstance(expr, Address):
        return f"{expr.family.keyword} {expr.field.value}"
    if isinstance(expr, Meta) and expr.key is MetaKey.L4PROTO:
        return "meta l4proto"
    if isinstance(expr, Port):
        return f"th {expr.field.value}"
    return None


def binding(match: Match) -> dict[str, str]:
    """What an equality match tells about the packet, for the chains the rule leads to."""
    name = field_name(match.left)
    if name is None or match.op is Op.NE:
        return {}
    right = match.right
    if isinstance(right, Symbol):
        return {name: right.name}
    if isinstance(right, Integer):
        return {name: str(right.value)}
    if isinstance(right, Network) and getattr(right.value, "num_addresses", 1) == 1:
        value = right.value
        return {name: str(value.network_address if hasattr(value, "network_address") else value)}
    return {}


def _key_parts(key: Expr) -> tuple[Expr, ...]:
    return key.parts if isinstance(key, Concat) else (key,)


def _key_binding(key: Expr, atoms: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for part, atom in zip(_key_parts(key), atoms, strict=False):
        name = field_name(part)
        if name is not None and "/" not in atom and not (name.startswith("th") and "-" in atom):
            out[name] = atom
    return out


@dataclass(slots=True)
class Shared:
    """What both families share: names, ipsets, and facts about the IR computed once."""

    table: ir.Table
    marks: Marks
    chain_names: Namer = field(default_factory=lambda: Namer("NC-", CHAIN_MAX))
    set_names: Namer = field(default_factory=lambda: Namer("nc-", SET_MAX))
    ipsets: dict[str, Ipset] = field(default_factory=dict)
    needs_memo: dict[str, frozenset[str]] = field(default_factory=dict)
    targets_memo: dict[str, frozenset[str]] = field(default_factory=dict)
    plans: dict[tuple[str, ...], tuple[str | None, keys.Plan]] = field(default_factory=dict)
    dnat_index: dict[str, dict[tuple[str, ...], dict[int, tuple[tuple[str, ...], str | None]]]] = field(
        default_factory=dict
    )

    def set_family(self, name: str) -> int | None:
        item = self.table.sets[name]
        nodes: Iterable[object]
        if isinstance(item.key_type, Types):
            nodes = item.key_type.datatypes
            if DataType.IPV4_ADDR in nodes:
                return 4
            return 6 if DataType.IPV6_ADDR in nodes else None
        assert isinstance(item.key_type, TypeOf)
        for node in walk(item.key_type.expr):
            if isinstance(node, Address):
                return node.family.version
        return None

    def map_targets(self, name: str) -> frozenset[str]:
        found = self.targets_memo.get(name)
        if found is None:
            chains = set()
            for element in self.table.sets[name].elements:
                verdict = element.value[0] if element.value else None
                if isinstance(verdict, Verdict) and verdict.chain is not None:
                    chains.add(verdict.chain)
            found = self.targets_memo[name] = frozenset(chains)
        return found

    def needs(self, chain: str) -> frozenset[str]:
        """The packet fields a chain's lowering must know (its map lookups that become rules)."""
        found = self.needs_memo.get(chain)
        if found is not None:
            return found
        out: set[str] = set()
        for rule in self.table.chains[chain].rules:
            bound: set[str] = set()
            for statement in rule.statements:
                if isinstance(statement, Match):
                    bound |= binding(statement).keys()
                elif isinstance(statement, DnatMap):
                    out |= {n for p in _key_parts(statement.key) if (n := field_name(p))} - bound
                elif isinstance(statement, Verdict) and statement.chain is not None:
                    out |= self.needs(statement.chain) - bound
                elif isinstance(statement, Vmap):
                    given = {n for p in _key_parts(statement.key) if (n := field_name(p))} | bound
                    if isinstance(statement.map, SetRef):
                        targets: Iterable[str] = self.map_targets(statement.map.name)
                    else:
                        targets = [v.chain for _, v in statement.map.entries if v.chain is not None]
                    for target in targets:
                        out |= self.needs(target) - given
        result = self.needs_memo[chain] = frozenset(out)
        return result

    def endpoints(self, name: str) -> dict[tuple[str, ...], dict[int, tuple[tuple[str, ...], str | None]]]:
        found = self.dnat_index.get(name)
        if found is None:
            found = defaultdict(dict)
            for element in self.table.sets[name].elements:
                *prefix, index = element.key
                found[tuple(prefix)][int(index)] = (element.value, element.comment)  # type: ignore[assignment]
            self.dnat_index[name] = found
        return found


def rule_family(shared: Shared, statements: tuple[Statement, ...]) -> set[int]:
    versions: set[int] = set()
    for statement in statements:
        for node in walk(statement):
            if isinstance(node, Address):
                versions.add(node.family.version)
            elif isinstance(node, Dnat | DnatMap):
                versions.add(node.family.version)
            elif isinstance(node, Network):
                versions.add(node.value.version)
            elif isinstance(node, SetRef):
                version = shared.set_family(node.name)
                if version is not None:
                    versions.add(version)
    return versions


@dataclass(slots=True)
class FamilyLowering:
    """The chains of one family (iptables: 4, ip6tables: 6)."""

    shared: Shared
    version: int
    ruleset: Ruleset = field(init=False)
    instances: dict[tuple[str, str, Ctx], str] = field(default_factory=dict)
    pending: list[tuple[str, str, str, Ctx]] = field(default_factory=list)  # table, IR chain, name, ctx
    stages: dict[tuple[str, str], list[tuple[int, str, str, str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ruleset = Ruleset(self.version)

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
            table, chain, name, ctx = self.pending.pop(0)
            for rule in self.shared.table.chains[chain].rules:
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
        for conds in alts:
            rules.append(Rule(conds.tokens, target, text))

    # --- rules ----------------------------------------------------------------------------------

    def rule(self, table: str, chain: str, ctx: Ctx, rule: ir.Rule) -> None:
        versions = rule_family(self.shared, rule.statements)
        if versions and versions != {self.version}:
            return  # the other family's (or neither's)
        alts: list[Conds] = [Conds()]
        known = dict(ctx)
        last = len(rule.statements) - 1
        for index, statement in enumerate(rule.statements):
            if isinstance(statement, Match):
                alts = self.match(alts, statement)
                known.update(binding(statement))
                if not alts:
                    return
                continue
            if index != last:
                raise UnsupportedIR(f"a statement after {statement!r} in chain {chain}")
            self.action(table, chain, known, alts, statement, rule.comment)
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
                recent = self.recent(name, key)
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
        *fields, last = _key_parts(action.key)
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
        picks: list[tuple[Target, str | None]] = []
        for index in range(last.modulus):
            value, element_comment = found[index]
            address, port = value
            host = f"[{address}]" if action.family.version == 6 else address
            note = element_comment or comment
            identity = f"dnat|{self.version}|{proto}|{host}:{port}|{note}"
            name = self.shared.chain_names.name(identity, None, f"{address}:{port}")
            target_chain = self.ruleset.table(table).chain(name)
            if not target_chain.rules:
                dnat = tokens("-j", "DNAT", "--to-destination", f"{host}:{port}")
                target_chain.rules.append(Rule(("-p", proto), dnat, safe_comment(note) if note else None))
            picks.append((jump(name), note))
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
            bound = {**known, **_key_binding(key, element.key)}
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
            matched = self.lookup(alts, comps, identity, label, [e.key for e in elements], False)
            note = comment or f"@{map_name}: {verdict.kind.value} {verdict.chain or ''}".rstrip()
            self.emit(table, chain, matched, target, note)

    # --- matches --------------------------------------------------------------------------------

    def lookup(
        self,
        alts: list[Conds],
        comps: tuple[keys.Component, ...],
        identity: str,
        plain: str,
        elements: list[tuple[str, ...]],
        negated: bool,
    ) -> list[Conds]:
        """`key @set` (or `!=`) as an ipset match and, for elements no ipset holds, one rule each."""
        signature = (identity, *(f"{c.kind}:{c.field}" for c in comps))
        cached = self.shared.plans.get(signature)
        if cached is None:
            made = keys.plan(comps, [keys.values(comps, e) for e in elements])
            name = None
            if made.type is not None and made.entries:
                name = self.shared.set_names.name(f"{identity}|{made.type}|{made.order}", plain)
            cached = self.shared.plans[signature] = (name, made)
        name, made = cached
        if name is not None and name not in self.shared.ipsets:
            self.shared.ipsets[name] = Ipset(name, made.type or "", self.version, list(made.entries))
        if negated:
            if made.rest:
                raise UnsupportedIR(f"{identity}: a negated lookup of elements no ipset type holds")
            if name is None:
                return alts  # not in an empty set: always
            return [a.more("-m", "set", "!", "--match-set", name, made.directions(comps)) for a in alts]
        out = [] if name is None else [a.more("-m", "set", "--match-set", name, made.directions(comps)) for a in alts]
        for element in made.rest:
            out += [c for a in alts for c in keys.element_conds(a, comps, element)]
        return out

    def recent(self, set_name: str, key: Expr) -> tuple[str, ...]:
        if not isinstance(key, Address):
            raise UnsupportedIR(f"{set_name}: a dynamic set keyed by more than an address")
        name = self.shared.set_names.name(f"recent|{set_name}", set_name)
        return ("-m", "recent", "--name", name, "--rsource" if key.field.value == "saddr" else "--rdest")

    def match(self, alts: list[Conds], match: Match) -> list[Conds]:
        return [c for a in alts for c in self.match_one(a, match)]

    def match_one(self, conds: Conds, match: Match) -> Iterator[Conds]:
        left, right, negated = match.left, match.right, match.op is Op.NE
        if isinstance(right, SetRef):
            item = self.shared.table.sets[right.name]
            if SetFlag.DYNAMIC in item.flags or SetFlag.TIMEOUT in item.flags:
                recent = self.recent(right.name, left)
                timing = ("--seconds", str(item.timeout), "--reap") if item.timeout else ()
                yield conds.more(*recent, *(("!",) if negated else ()), "--rcheck", *timing)
                return
            comps, _ = keys.components(left)
            yield from self.lookup([conds], comps, f"set|{right.name}", right.name, [e.key for e in item.elements], negated)
            return
        match left, right:
            case Address(_, field), Network(value):
                net = value if hasattr(value, "prefixlen") else ipaddress_network(value)
                made = conds.address(field.value, negated, net)  # type: ignore[arg-type]
                if made is not None:
                    yield made
            case Address(_, field), AnonSet(elements) if not negated:
                for element in elements:
                    if not isinstance(element, Network):
                        raise UnsupportedIR(f"an address set element {element!r}")
                    yield from self.match_one(conds, Match(left, element))
            case Meta(MetaKey.L4PROTO), Symbol(name):
                made = conds.protocol(negated, name)
                if made is not None:
                    yield made
            case Meta(MetaKey.L4PROTO), AnonSet(elements) if not negated:
                for element in elements:
                    yield from self.match_one(conds, Match(left, element))
            case Port(), (Integer() | Range() | AnonSet()) if not negated:
                yield from self.ports(conds, None, [right] if not isinstance(right, AnonSet) else list(right.elements))
            case Concat((Meta(MetaKey.L4PROTO), Port())), AnonSet(elements) if not negated:
                by_proto: dict[str, list[Expr]] = {}
                for element in elements:
                    if not (isinstance(element, Concat) and isinstance(element.parts[0], Symbol)):
                        raise UnsupportedIR(f"a protocol . port element {element!r}")
                    by_proto.setdefault(element.parts[0].name, []).append(element.parts[1])
                for proto, ports in by_proto.items():
                    yield from self.ports(conds, proto, ports)
            case Ct(CtKey.STATE), (Flags() | Symbol()):
                names = right.names if isinstance(right, Flags) else (right.name,)
                states = [s for s in _CT_STATES if s.lower() in names]
                if len(states) != len(names):
                    raise UnsupportedIR(f"conntrack states {names}")
                yield conds.more("-m", "conntrack", *(("!",) if negated else ()), "--ctstate", ",".join(states))
            case Ct(CtKey.STATUS), Symbol(name) if name in ("dnat", "snat"):
                # xt_conntrack's virtual states DNAT/SNAT test the same status bits (IPS_DST_NAT/IPS_SRC_NAT)
                yield conds.more("-m", "conntrack", *(("!",) if negated else ()), "--ctstate", name.upper())
            case BitAnd(Meta(MetaKey.MARK), Mark(mask)), (Mark() | Integer()):
                value = right.value
                yield conds.more("-m", "mark", *(("!",) if negated else ()), "--mark", f"{value:#x}/{mask:#x}")
            case Meta(MetaKey.MARK), Mark(value):
                yield conds.more("-m", "mark", *(("!",) if negated else ()), "--mark", f"{value:#x}")
            case InputInterface(), InterfaceName(name, prefix):
                yield conds.interface(negated, name + "+" if prefix else name)
            case _:
                raise UnsupportedIR(f"no iptables lowering for the match {match!r}")

    def ports(self, conds: Conds, proto: str | None, items: list[Expr]) -> Iterator[Conds]:
        spans: list[tuple[int, int]] = []
        for item in items:
            if isinstance(item, Integer):
                spans.append((item.value, item.value))
            elif isinstance(item, Range):
                spans.append((item.low, item.high))
            else:
                raise UnsupportedIR(f"a port {item!r}")
        base = conds if proto is None else conds.protocol(False, proto)
        if base is None:
            return
        chunks = port_chunks(sorted(spans))
        if not chunks:
            yield base
        for chunk in chunks:
            yield base.port_list(chunk)


def ipaddress_network(value: object) -> object:
    import ipaddress

    return ipaddress.ip_network(str(value))
