"""nftables matches as iptables conditions (`Conds`), set lookups as ipsets (`keys.py`) or `-m recent`."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass

from ..nft.statements import (
    Address,
    AnonSet,
    BitAnd,
    Concat,
    Ct,
    CtKey,
    Expr,
    Flags,
    InputInterface,
    Integer,
    InterfaceName,
    Mark,
    Match,
    Meta,
    MetaKey,
    Network,
    Op,
    Port,
    Range,
    SetRef,
    Symbol,
)
from ..nft.types import SetFlag
from . import keys
from .conds import Conds, port_chunks
from .model import Ipset, UnsupportedIR
from .shared import Shared

_CT_STATES = ("INVALID", "NEW", "RELATED", "ESTABLISHED", "UNTRACKED")


@dataclass(slots=True)
class Matcher:
    """The matches of one address family's rules."""

    shared: Shared
    version: int

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
            yield from self.lookup(
                [conds], comps, f"set|{right.name}", right.name, [e.key for e in item.elements], negated
            )
            return
        match left, right:
            case Address(_, field), Network(value):
                net = ipaddress.ip_network(value)
                made = conds.address(field.value, negated, str(net))
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
