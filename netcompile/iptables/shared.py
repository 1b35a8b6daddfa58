"""What the lowering of both address families shares: names, ipsets, and facts about the IR computed once
(which packet fields a chain needs known, the targets of a verdict map, the endpoints of a DNAT map)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network

from ..nft import ir
from ..nft.statements import (
    Address,
    Concat,
    Dnat,
    DnatMap,
    Expr,
    Integer,
    Match,
    Meta,
    MetaKey,
    Network,
    Op,
    Port,
    SetRef,
    Statement,
    Symbol,
    TypeOf,
    Types,
    Verdict,
    Vmap,
    walk,
)
from ..nft.types import ChainType, DataType
from . import keys
from .model import Ipset, Marks
from .names import CHAIN_MAX, SET_MAX, Namer

BUILTINS = {"nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"), "filter": ("INPUT", "FORWARD", "OUTPUT")}
DEFER = {"drop": "NC-DEFER-DROP", "reset": "NC-DEFER-RESET", "reject": "NC-DEFER-REJECT"}
Ctx = tuple[tuple[str, str], ...]  # known packet fields: (("ip daddr", "10.96.0.1"), ("meta l4proto", "tcp"), ...)


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
    if isinstance(right, Network):
        value = right.value
        if isinstance(value, IPv4Network | IPv6Network):
            return {name: str(value.network_address)} if value.num_addresses == 1 else {}
        return {name: str(value)}
    return {}


def key_parts(key: Expr) -> tuple[Expr, ...]:
    return key.parts if isinstance(key, Concat) else (key,)


def key_binding(key: Expr, atoms: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for part, atom in zip(key_parts(key), atoms, strict=False):
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
    families: dict[int, set[int]] = field(default_factory=dict)  # id(IR rule) -> its address families
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
                    out |= {n for p in key_parts(statement.key) if (n := field_name(p))} - bound
                elif isinstance(statement, Verdict) and statement.chain is not None:
                    out |= self.needs(statement.chain) - bound
                elif isinstance(statement, Vmap):
                    given = {n for p in key_parts(statement.key) if (n := field_name(p))} | bound
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
            if isinstance(node, Address | Dnat | DnatMap):
                versions.add(node.family.version)
            elif isinstance(node, Network):
                versions.add(node.value.version)
            elif isinstance(node, SetRef):
                version = shared.set_family(node.name)
                if version is not None:
                    versions.add(version)
    return versions
