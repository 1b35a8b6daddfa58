"""The typed statements of nftables rules, and the key and value types of sets and maps.

A rule is a tuple of statements; a statement is built from expressions. The compiler builds these
objects and never writes nftables text: `syntax.py` is the one place that turns them into text (for
the templates). What the compiler needs, and no more:

    expressions   ip saddr / ip6 daddr (`Address`), meta l4proto / meta mark (`Meta`), th dport (`Port`),
                  ct state / ct status (`Ct`), numgen random mod N (`Numgen`), `a . b` (`Concat`),
                  `meta mark & 0x4000` (`BitAnd`), `@set` (`SetRef`), `{ a, b }` (`AnonSet`),
                  `{ 0 : goto a, 1 : goto b }` (`AnonVmap`), iifname (`InputInterface`); values:
                  `Integer`, `Mark` (hex), `Range`, `Symbol` (tcp, dnat, invalid), `Flags`
                  (established,related), `Network` (an address or a prefix), `InterfaceName`
                  (`"cbr0"`, or a prefix `"veth*"`)
    statements    `Match` (implicit, ==, !=: membership when the right side is a set), `Verdict`
                  (accept, drop, return, jump, goto), `Vmap` (a verdict-map lookup), `MarkSet`
                  (`meta mark set meta mark | X` or `^ X`), `Dnat` (to an address and port), `DnatMap`
                  (to a map lookup), `Masquerade`, `Reject`, `SetUpdate` (`update @set { ip saddr }`)
    declarations  `Types` (`type ipv4_addr . inet_proto`) and `TypeOf` (`typeof ip daddr . th dport`)

Objects check what they can alone when built (symbols are words, numbers in range, a verdict names a
chain exactly when it jumps); the table checks names and that every reference exists (`ir.Table`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from enum import StrEnum
from functools import cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from operator import attrgetter

from .types import AddressFamily, DataType, IRError

_SYMBOL_RE = re.compile(r"[a-z][a-z0-9-]*")  # protocol names, ct states and statuses


class Node:
    """Base of every expression and statement: `walk` and `references` look through their fields.

    Nodes are frozen dataclasses that compare, hash and print as dataclasses do (`==` for the same class
    and equal fields, the hash of the fields' tuple, `Name(field=value, ...)`), by the methods here
    rather than by methods generated for each class (`eq=False, repr=False`), which cost import time."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            values = _values_of(self.__class__)
            return values(self) == values(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(_values_of(self.__class__)(self))

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={getattr(self, name)!r}" for name in _field_names(type(self)))
        return f"{type(self).__qualname__}({values})"


# --- expressions --------------------------------------------------------------------------------------


class AddrField(StrEnum):
    SADDR = "saddr"
    DADDR = "daddr"


class MetaKey(StrEnum):
    L4PROTO = "l4proto"
    MARK = "mark"


class CtKey(StrEnum):
    STATE = "state"
    STATUS = "status"


class PortField(StrEnum):
    SPORT = "sport"
    DPORT = "dport"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Address(Node):
    """The source or destination address of the network header: `ip saddr`, `ip6 daddr`."""

    family: AddressFamily
    field: AddrField


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Meta(Node):
    key: MetaKey


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Ct(Node):
    key: CtKey


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Port(Node):
    """A transport header port, whatever the protocol (`th dport`)."""

    field: PortField


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Numgen(Node):
    """`numgen random mod N`: 0..N-1, each with probability 1/N."""

    modulus: int

    def __post_init__(self) -> None:
        if self.modulus < 1:
            raise IRError(f"numgen modulus {self.modulus} < 1")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Integer(Node):
    value: int

    def __post_init__(self) -> None:
        if self.value < 0:
            raise IRError(f"negative integer {self.value}")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Mark(Node):
    """A packet mark or mask, written in hex with 8 digits."""

    value: int

    def __post_init__(self) -> None:
        if not 0 <= self.value < 2**32:
            raise IRError(f"mark {self.value:#x} is not 32 bits")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Range(Node):
    """An inclusive integer range, `low-high` (ports)."""

    low: int
    high: int

    def __post_init__(self) -> None:
        if not 0 <= self.low <= self.high:
            raise IRError(f"invalid range {self.low}-{self.high}")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Symbol(Node):
    """A symbolic constant: a protocol (`tcp`), a ct state (`invalid`) or status (`dnat`)."""

    name: str

    def __post_init__(self) -> None:
        if not _SYMBOL_RE.fullmatch(self.name):
            raise IRError(f"invalid symbol {self.name!r}")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Flags(Node):
    """Several flags at once, any of which matches: `established,related`."""

    names: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.names or not all(_SYMBOL_RE.fullmatch(n) for n in self.names):
            raise IRError(f"invalid flags {self.names!r}")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Network(Node):
    """An address or a prefix as a value: `10.0.0.0/8`, `fd00::1`."""

    value: IPv4Address | IPv6Address | IPv4Network | IPv6Network


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class SetRef(Node):
    """A named set or map of the table: `@name`."""

    name: str


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Concat(Node):
    """`a . b . c`: a concatenation, as a key or a value."""

    parts: tuple[Expr, ...]

    def __post_init__(self) -> None:
        if len(self.parts) < 2:
            raise IRError("a concatenation needs two parts or more")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class BitAnd(Node):
    """`left & mask`, e.g. `meta mark & 0x00004000`."""

    left: Expr
    mask: Expr


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class AnonSet(Node):
    """An anonymous set: `{ tcp . 80, udp . 53-60 }`."""

    elements: tuple[Expr, ...]

    def __post_init__(self) -> None:
        if not self.elements:
            raise IRError("an anonymous set needs elements")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class InputInterface(Node):
    """`iifname`: the name of the interface a packet arrived on ("" for the node's own packets)."""


_IFNAME_RE = re.compile(r"[!-~]{1,15}")  # printable ASCII: a Linux interface name nftables can quote ...
_IFNAME_BAD = re.compile(r"[/:\"\\*]")  # ... without what neither allows, nor nft's wildcard `*`


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class InterfaceName(Node):
    """An interface name as a value: `"cbr0"`; with `prefix`, every name that starts so: `"veth*"`."""

    name: str
    prefix: bool = False

    def __post_init__(self) -> None:
        if not _IFNAME_RE.fullmatch(self.name) or _IFNAME_BAD.search(self.name):
            raise IRError(f"invalid interface name {self.name!r}")


# --- statements ---------------------------------------------------------------------------------------


class VerdictKind(StrEnum):
    ACCEPT = "accept"
    DROP = "drop"
    RETURN = "return"
    CONTINUE = "continue"
    JUMP = "jump"
    GOTO = "goto"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Verdict(Node):
    """A verdict; `jump` and `goto` (and only they) name a regular chain of the table."""

    kind: VerdictKind
    chain: str | None = None

    def __post_init__(self) -> None:
        if (self.chain is not None) != (self.kind in (VerdictKind.JUMP, VerdictKind.GOTO)):
            raise IRError(f"verdict {self.kind} with chain {self.chain!r}")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class AnonVmap(Node):
    """An anonymous verdict map: `{ 0 : goto a, 1 : goto b }`."""

    entries: tuple[tuple[Expr, Verdict], ...]

    def __post_init__(self) -> None:
        if not self.entries:
            raise IRError("an anonymous verdict map needs entries")


class Op(StrEnum):
    IMPLICIT = ""  # `ip saddr @set`, `ct state invalid`: equality, or membership of a set
    EQ = "=="
    NE = "!="


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Match(Node):
    """`left right` (equality or membership), `left == right`, `left != right`."""

    left: Expr
    right: Expr
    op: Op = Op.IMPLICIT


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Vmap(Node):
    """`key vmap @map` or `key vmap { ... }`: the verdict the key maps to (none: go on)."""

    key: Expr
    map: SetRef | AnonVmap


class MarkOp(StrEnum):
    OR = "|"  # set the bits
    XOR = "^"  # flip them (clears bits known to be set)
    AND = "&"  # keep only the bits of X (with the complement of a bit: clear it, set or not)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class MarkSet(Node):
    """`meta mark set meta mark | X` (or `^ X`): changes only the bits of X; `& X` keeps only them."""

    op: MarkOp
    mark: Mark


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Dnat(Node):
    """`dnat ip to 10.0.0.1:80`, `dnat ip6 to [fd00::1]:80`."""

    family: AddressFamily
    address: IPv4Address | IPv6Address
    port: int

    def __post_init__(self) -> None:
        if self.address.version != self.family.version or not 0 < self.port < 65536:
            raise IRError(f"invalid DNAT target {self.address} port {self.port} for {self.family.keyword}")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class DnatMap(Node):
    """`dnat ip to <key> map @map`: the address and port the key maps to."""

    family: AddressFamily
    key: Expr
    map: SetRef


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Masquerade(Node):
    fully_random: bool = False


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Reject(Node):
    """`reject with tcp reset` (TCP only), or `reject` (ICMP port unreachable)."""

    tcp_reset: bool = False


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class SetUpdate(Node):
    """`update @set { key }`: adds the key (or refreshes its timeout) from the packet path."""

    set: SetRef
    key: Expr


Expr = (
    Address
    | Meta
    | Ct
    | Port
    | Numgen
    | Integer
    | Mark
    | Range
    | Symbol
    | Flags
    | Network
    | SetRef
    | Concat
    | BitAnd
    | AnonSet
    | AnonVmap
    | InputInterface
    | InterfaceName
)
Statement = Match | Verdict | Vmap | MarkSet | Dnat | DnatMap | Masquerade | Reject | SetUpdate
STATEMENT_TYPES = (Match, Verdict, Vmap, MarkSet, Dnat, DnatMap, Masquerade, Reject, SetUpdate)
TERMINAL_TYPES = (Verdict, Vmap, Dnat, DnatMap, Masquerade, Reject)  # nothing may follow them in a rule


def walk(node: Node) -> Iterator[Node]:
    """`node` and every node inside it, depth first."""
    pending: list[object] = [node]  # what is left to visit, the next on top
    while pending:
        item = pending.pop()
        if isinstance(item, Node):
            yield item
            pending.extend(reversed(_values_of(item.__class__)(item)))
        elif isinstance(item, tuple):
            pending.extend(reversed(item))


def references(node: Node) -> list[SetRef | Verdict]:
    """The sets (`SetRef`) and verdicts `node` names, itself included, in `walk`'s order: what a table
    checks of a rule (both are leaves: they hold no node)."""
    found: list[SetRef | Verdict] = []
    _collect(node, found)
    return found


def _collect(value: object, found: list[SetRef | Verdict]) -> None:
    if isinstance(value, SetRef | Verdict):
        found.append(value)
    elif isinstance(value, Node):
        for item in _values_of(value.__class__)(value):
            _collect(item, found)
    elif isinstance(value, tuple):
        for item in value:
            _collect(item, found)


def _field_names(kind: type[Node]) -> tuple[str, ...]:
    names = _FIELDS.get(kind)
    if names is None:  # every Node is a dataclass
        names = _FIELDS[kind] = tuple(f.name for f in fields(kind))  # type: ignore[arg-type]
    return names


def _values_of(kind: type[Node]) -> Callable[[Node], tuple[object, ...]]:
    """What gives a node of `kind` the values of its fields, in order."""
    found = _VALUES.get(kind)
    if found is None:
        names = _field_names(kind)
        if len(names) > 1:
            found = attrgetter(*names)
        elif names:
            one = attrgetter(names[0])
            found = lambda node: (one(node),)  # noqa: E731
        else:
            found = lambda node: ()  # noqa: E731
        _VALUES[kind] = found
    return found


_FIELDS: dict[type[Node], tuple[str, ...]] = {}  # the names of each Node type's fields, in order
_VALUES: dict[type[Node], Callable[[Node], tuple[object, ...]]] = {}


# --- set and map declarations ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Types:
    """A key or value given by datatypes: `type ipv4_addr . inet_proto . inet_service`, `verdict`."""

    datatypes: tuple[DataType, ...]


@dataclass(frozen=True, slots=True)
class TypeOf:
    """A key or value given by the expressions it is matched with: `typeof ip daddr . th dport`."""

    expr: Expr


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
