"""Set lookups as ipsets: which ipset type holds an nftables key, and its entries.

A key is a concatenation of addresses (`ip saddr`) and protocol-port pairs (`meta l4proto . th dport`).
ipset types fix the order and kind of their components, so the key's components are put in an order a
type this kernel has takes (docs/iptables.md, "Changes to the contract"):

    address                          hash:ip (every element one address) or hash:net
    address . port                   hash:ip,port or hash:net,port
    address . port . address         hash:ip,port,ip or hash:ip,port,net (the first address exact;
                                     `peer . pod . protocol . port` becomes pod,port,peer)

An element whose ports span more than `EXPAND_MAX` entries (ipset adds a port range as one entry per
port), or a key no type fits (two addresses without a port, two ranges), is matched by rules instead,
one per element: `-s`, `-d`, `-p`, `--dport lo:hi`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import NamedTuple

from ..nft.statements import Address, Concat, Expr, Meta, MetaKey, Port
from .conds import Conds, address_nets, is_host, port_span, port_text
from .model import UnsupportedIR

EXPAND_MAX = 64  # ipset entries one element may become before it is matched by a rule instead


@dataclass(frozen=True, slots=True)
class Component:
    kind: str  # "addr" or "port"
    field: str  # saddr / daddr / dport / sport
    atoms: tuple[int, ...]  # the positions of its atoms in an element's key

    @property
    def direction(self) -> str:
        return "src" if self.field in ("saddr", "sport") else "dst"


class Ports(NamedTuple):
    """A port component's value: a protocol and an inclusive range of ports."""

    proto: str
    low: int
    high: int


Value = tuple[str, ...] | Ports  # an address component's prefixes (`10.0.0.0/8`), or its ports


def components(key: Expr) -> tuple[tuple[Component, ...], int]:
    """The components of a lookup key, and its address family (4 or 6)."""
    parts = key.parts if isinstance(key, Concat) else (key,)
    out: list[Component] = []
    version = 0
    index = 0
    position = 0
    while index < len(parts):
        part = parts[index]
        if isinstance(part, Address):
            out.append(Component("addr", part.field.value, (position,)))
            if version and version != part.family.version:
                raise UnsupportedIR("a key of two address families")
            version = part.family.version
            index, position = index + 1, position + 1
        elif (
            isinstance(part, Meta)
            and part.key is MetaKey.L4PROTO
            and index + 1 < len(parts)
            and isinstance(parts[index + 1], Port)
        ):
            port = parts[index + 1]
            assert isinstance(port, Port)
            out.append(Component("port", port.field.value, (position, position + 1)))
            index, position = index + 2, position + 2
        else:
            raise UnsupportedIR(f"a set key part iptables cannot look up: {part!r}")
    if not version:
        raise UnsupportedIR("a set key without an address")
    return tuple(out), version


def values(comps: tuple[Component, ...], key: tuple[str, ...]) -> list[Value]:
    out: list[Value] = []
    for comp in comps:
        if comp.kind == "addr":
            out.append(address_nets(key[comp.atoms[0]]))
        else:
            low, high = port_span(key[comp.atoms[1]])
            out.append(Ports(key[comp.atoms[0]], low, high))
    return out


def _size(element: list[Value]) -> int:
    size = 1
    for value in element:
        size *= value.high - value.low + 1 if isinstance(value, Ports) else len(value)
    return size


def _exact(element: list[Value], index: int) -> bool:
    value = element[index]
    return not isinstance(value, Ports) and all(is_host(n) for n in value)


@dataclass(frozen=True, slots=True)
class Plan:
    """How one lookup is matched: an ipset (type, component order, entries) and the elements left to rules."""

    type: str | None
    order: tuple[int, ...]
    entries: tuple[str, ...]
    rest: tuple[tuple[Value, ...], ...]

    def directions(self, comps: tuple[Component, ...]) -> str:
        return ",".join(comps[i].direction for i in self.order)


def plan(comps: tuple[Component, ...], elements: list[list[Value]]) -> Plan:
    addrs = [i for i, c in enumerate(comps) if c.kind == "addr"]
    ports = [i for i, c in enumerate(comps) if c.kind == "port"]
    fits = [e for e in elements if _size(e) <= EXPAND_MAX]
    rest = [e for e in elements if _size(e) > EXPAND_MAX]
    exact = {i: all(_exact(e, i) for e in fits) for i in addrs}

    def kind(index: int) -> str:
        return "ip" if exact[index] else "net"

    order: tuple[int, ...] | None = None
    name = ""
    if not ports and len(addrs) == 1:
        order, name = (addrs[0],), f"hash:{kind(addrs[0])}"
    elif len(ports) == 1 and len(addrs) == 1:
        order, name = (addrs[0], ports[0]), f"hash:{kind(addrs[0])},port"
    elif len(ports) == 1 and len(addrs) == 2:
        first, second = addrs
        if not exact[first] and exact[second]:
            first, second = second, first
        if exact[first]:
            order, name = (first, ports[0], second), f"hash:ip,port,{kind(second)}"
    if order is None:
        return Plan(None, (), (), tuple(tuple(e) for e in elements))
    entries: list[str] = []
    for element in fits:
        texts: list[list[str]] = []
        for index in order:
            value = element[index]
            if isinstance(value, Ports):
                texts.append([f"{value.proto}:{p}" for p in range(value.low, value.high + 1)])
            else:
                texts.append([n.split("/", 1)[0] if exact[index] else n for n in value])
        entries.extend(",".join(combo) for combo in itertools.product(*texts))
    return Plan(name, order, tuple(entries), tuple(tuple(e) for e in rest))


def element_conds(base: Conds, comps: tuple[Component, ...], element: tuple[Value, ...]) -> list[Conds]:
    """The rules that match one element: one per prefix of each address component."""
    out: list[Conds] = [base]
    for comp, value in zip(comps, element, strict=True):
        following: list[Conds] = []
        for conds in out:
            if not isinstance(value, Ports):
                for net in value:
                    made = conds.address(comp.field, False, net)
                    if made is not None:
                        following.append(made)
            else:
                if comp.field != "dport":
                    raise UnsupportedIR("a source port in a set key")
                proto, low, high = value
                made = conds.protocol(False, proto)
                if made is not None:
                    full = low <= 0 and high >= 65535
                    following.append(made if full else made.port_list((port_text(low, high),)))
        out = following
    return out
