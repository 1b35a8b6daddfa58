"""The typed statements of nftables rules, and the key and value types of sets and maps.

A rule is a tuple of statements; a statement is built from expressions (`expressions.py`, whose names
this module exports too). The compiler builds these objects and never writes nftables text: `syntax.py`
is the one place that turns them into text. What the compiler needs, and no more:

    expressions   `expressions.py`: addresses, meta, ct, ports, numgen, concatenations, masks, set
                  references, anonymous sets and verdict maps, iifname, and values
    statements    `Match` (implicit, ==, !=: membership when the right side is a set), `Verdict`
                  (accept, drop, return, jump, goto), `Vmap` (a verdict-map lookup), `MarkSet`
                  (`meta mark set meta mark | X` or `^ X`), `Dnat` (to an address and port), `DnatMap`
                  (to a map lookup), `Masquerade`, `Reject`, `SetUpdate` (`update @set { ip saddr }`)
    declarations  `Types` (`type ipv4_addr . inet_proto`) and `TypeOf` (`typeof ip daddr . th dport`)

Objects check what they can alone when built (symbols are words, numbers in range, a verdict names a
chain exactly when it jumps); the table checks names and that every reference exists (`ir.Table`).
Statements, like expressions, are `expressions.Node`s: dataclasses that behave as frozen ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from ipaddress import IPv4Address, IPv6Address

from .expressions import (
    Address,
    AddrField,
    AnonSet,
    AnonVmap,
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
    Meta,
    MetaKey,
    Network,
    Node,
    Numgen,
    Port,
    PortField,
    Range,
    SetRef,
    Symbol,
    Verdict,
    VerdictKind,
    _set,
    references,
    walk,
)
from .types import AddressFamily, DataType, IRError

__all__ = [
    "ACCEPT",
    "CT_STATE",
    "CT_STATUS",
    "DPORT",
    "DROP",
    "IIFNAME",
    "L4PROTO",
    "META_MARK",
    "RETURN",
    "STATEMENT_TYPES",
    "TERMINAL_TYPES",
    "VERDICTS",
    "AddrField",
    "Address",
    "AnonSet",
    "AnonVmap",
    "BitAnd",
    "Concat",
    "Ct",
    "CtKey",
    "Dnat",
    "DnatMap",
    "Expr",
    "Flags",
    "InputInterface",
    "Integer",
    "InterfaceName",
    "Mark",
    "MarkOp",
    "MarkSet",
    "Masquerade",
    "Match",
    "Meta",
    "MetaKey",
    "Network",
    "Node",
    "Numgen",
    "Op",
    "Port",
    "PortField",
    "Range",
    "Reject",
    "SetRef",
    "SetType",
    "SetUpdate",
    "Statement",
    "Symbol",
    "TypeOf",
    "Types",
    "Verdict",
    "VerdictKind",
    "Vmap",
    "concat",
    "daddr",
    "goto",
    "jump",
    "member",
    "not_member",
    "references",
    "saddr",
    "vmap",
    "walk",
]


class Op(StrEnum):
    IMPLICIT = ""  # `ip saddr @set`, `ct state invalid`: equality, or membership of a set
    EQ = "=="
    NE = "!="


@dataclass(init=False, slots=True, eq=False, repr=False)
class Match(Node):
    """`left right` (equality or membership), `left == right`, `left != right`."""

    left: Expr
    right: Expr
    op: Op = Op.IMPLICIT

    def __init__(self, left: Expr, right: Expr, op: Op = Op.IMPLICIT) -> None:
        _set(self, "left", left)
        _set(self, "right", right)
        _set(self, "op", op)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Vmap(Node):
    """`key vmap @map` or `key vmap { ... }`: the verdict the key maps to (none: go on)."""

    key: Expr
    map: SetRef | AnonVmap

    def __init__(self, key: Expr, map: SetRef | AnonVmap) -> None:
        _set(self, "key", key)
        _set(self, "map", map)


class MarkOp(StrEnum):
    OR = "|"  # set the bits
    XOR = "^"  # flip them (clears bits known to be set)
    AND = "&"  # keep only the bits of X (with the complement of a bit: clear it, set or not)


@dataclass(init=False, slots=True, eq=False, repr=False)
class MarkSet(Node):
    """`meta mark set meta mark | X` (or `^ X`): changes only the bits of X; `& X` keeps only them."""

    op: MarkOp
    mark: Mark

    def __init__(self, op: MarkOp, mark: Mark) -> None:
        _set(self, "op", op)
        _set(self, "mark", mark)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Dnat(Node):
    """`dnat ip to 10.0.0.1:80`, `dnat ip6 to [fd00::1]:80`."""

    family: AddressFamily
    address: IPv4Address | IPv6Address
    port: int

    def __init__(self, family: AddressFamily, address: IPv4Address | IPv6Address, port: int) -> None:
        if address.version != family.version or not 0 < port < 65536:
            raise IRError(f"invalid DNAT target {address} port {port} for {family.keyword}")
        _set(self, "family", family)
        _set(self, "address", address)
        _set(self, "port", port)


@dataclass(init=False, slots=True, eq=False, repr=False)
class DnatMap(Node):
    """`dnat ip to <key> map @map`: the address and port the key maps to."""

    family: AddressFamily
    key: Expr
    map: SetRef

    def __init__(self, family: AddressFamily, key: Expr, map: SetRef) -> None:
        _set(self, "family", family)
        _set(self, "key", key)
        _set(self, "map", map)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Masquerade(Node):
    """`masquerade`, or `masquerade fully-random`: the source becomes the outgoing interface's address."""

    fully_random: bool = False

    def __init__(self, fully_random: bool = False) -> None:
        _set(self, "fully_random", fully_random)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Reject(Node):
    """`reject with tcp reset` (TCP only), or `reject` (ICMP port unreachable)."""

    tcp_reset: bool = False

    def __init__(self, tcp_reset: bool = False) -> None:
        _set(self, "tcp_reset", tcp_reset)


@dataclass(init=False, slots=True, eq=False, repr=False)
class SetUpdate(Node):
    """`update @set { key }`: adds the key (or refreshes its timeout) from the packet path."""

    set: SetRef
    key: Expr

    def __init__(self, set: SetRef, key: Expr) -> None:
        _set(self, "set", set)
        _set(self, "key", key)


Statement = Match | Verdict | Vmap | MarkSet | Dnat | DnatMap | Masquerade | Reject | SetUpdate
STATEMENT_TYPES = (Match, Verdict, Vmap, MarkSet, Dnat, DnatMap, Masquerade, Reject, SetUpdate)
TERMINAL_TYPES = (Verdict, Vmap, Dnat, DnatMap, Masquerade, Reject)  # nothing may follow them in a rule


# --- set and map declarations (frozen as nodes are) ---------------------------------------------------------


@dataclass(init=False, slots=True, eq=False, repr=False)
class Types(Node):
    """A key or value given by datatypes: `type ipv4_addr . inet_proto . inet_service`, `verdict`."""

    datatypes: tuple[DataType, ...]

    def __init__(self, datatypes: tuple[DataType, ...]) -> None:
        _set(self, "datatypes", datatypes)


@dataclass(init=False, slots=True, eq=False, repr=False)
class TypeOf(Node):
    """A key or value given by the expressions it is matched with: `typeof ip daddr . th dport`."""

    expr: Expr

    def __init__(self, expr: Expr) -> None:
        _set(self, "expr", expr)


SetType = Types | TypeOf
VERDICTS = Types((DataType.VERDICT,))


# --- the common parts, built once ---------------------------------------------------------------------


def saddr(family: AddressFamily) -> Address:
    return Address(family, AddrField.SADDR)


def daddr(family: AddressFamily) -> Address:
    return Address(family, AddrField.DADDR)


L4PROTO = Meta(MetaKey.L4PROTO)
META_MARK = Meta(MetaKey.MARK)
DPORT = Port(PortField.DPORT)
CT_STATE = Ct(CtKey.STATE)
CT_STATUS = Ct(CtKey.STATUS)
IIFNAME = InputInterface()
ACCEPT = Verdict(VerdictKind.ACCEPT)
DROP = Verdict(VerdictKind.DROP)
RETURN = Verdict(VerdictKind.RETURN)


def concat(*parts: Expr) -> Concat:
    return Concat(parts)


@cache
def jump(chain: str) -> Verdict:
    return Verdict(VerdictKind.JUMP, chain)


@cache
def goto(chain: str) -> Verdict:
    """`goto chain`, one shared object per chain (verdict maps hold 10k of them)."""
    return Verdict(VerdictKind.GOTO, chain)


def member(expr: Expr, set_name: str) -> Match:
    """`expr @set`."""
    return Match(expr, SetRef(set_name))


def not_member(expr: Expr, set_name: str) -> Match:
    """`expr != @set`."""
    return Match(expr, SetRef(set_name), Op.NE)


def vmap(key: Expr, map_name: str) -> Vmap:
    """`key vmap @map`."""
    return Vmap(key, SetRef(map_name))
