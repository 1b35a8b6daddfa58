"""The expressions of nftables rules, and the base of every node of a rule (`Node`).

    ip saddr / ip6 daddr (`Address`), meta l4proto / meta mark (`Meta`), th dport (`Port`), ct state / ct
    status (`Ct`), numgen random mod N (`Numgen`), `a . b` (`Concat`), `meta mark & 0x4000` (`BitAnd`),
    `@set` (`SetRef`), `{ a, b }` (`AnonSet`), `{ 0 : goto a, 1 : goto b }` (`AnonVmap`), iifname
    (`InputInterface`); values: `Integer`, `Mark` (hex), `Range`, `Symbol` (tcp, dnat, invalid), `Flags`
    (established,related), `Network` (an address or a prefix), `InterfaceName` (`"cbr0"`, or a prefix
    `"veth*"`); and `Verdict` (accept, drop, return, jump, goto), a statement that is also the value of an
    anonymous verdict map.

`statements.py` builds the statements of rules from them and is where the rest of netcompile imports
them from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import FrozenInstanceError, dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from ..values import Value, field_values
from .types import AddressFamily, IRError

_SYMBOL_RE = re.compile(r"[a-z][a-z0-9-]*")  # protocol names, ct states and statuses
_set = object.__setattr__  # how a node's __init__ sets its fields (`Node.__setattr__` refuses)


class Node(Value):
    """Base of every expression and statement: `walk` and `references` look through their fields.

    Nodes are dataclasses (`fields`, `dataclasses.replace`, `__match_args__`) that behave as frozen ones:
    `==` for the same class and equal fields, the hash of the fields' tuple, `Name(field=value, ...)`
    (`values.Value`), no field assigned or deleted once made (`FrozenInstanceError`), pickled and copied
    by their fields. Each class writes its own `__init__` (checking its values, then setting its fields
    with `_set`): a frozen dataclass generates five methods per class with `exec`, which made importing
    the IR cost about 10 ms (`init=False, eq=False, repr=False` and not `frozen`: none is generated)."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[type[Node], tuple[object, ...]]:
        return self.__class__, field_values(self.__class__)(self)


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


@dataclass(init=False, slots=True, eq=False, repr=False)
class Address(Node):
    """The source or destination address of the network header: `ip saddr`, `ip6 daddr`."""

    family: AddressFamily
    field: AddrField

    def __init__(self, family: AddressFamily, field: AddrField) -> None:
        _set(self, "family", family)
        _set(self, "field", field)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Meta(Node):
    """Packet metadata: `meta l4proto`, `meta mark`."""

    key: MetaKey

    def __init__(self, key: MetaKey) -> None:
        _set(self, "key", key)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Ct(Node):
    """Connection tracking state: `ct state`, `ct status`."""

    key: CtKey

    def __init__(self, key: CtKey) -> None:
        _set(self, "key", key)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Port(Node):
    """A transport header port, whatever the protocol (`th dport`)."""

    field: PortField

    def __init__(self, field: PortField) -> None:
        _set(self, "field", field)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Numgen(Node):
    """`numgen random mod N`: 0..N-1, each with probability 1/N."""

    modulus: int

    def __init__(self, modulus: int) -> None:
        if modulus < 1:
            raise IRError(f"numgen modulus {modulus} < 1")
        _set(self, "modulus", modulus)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Integer(Node):
    """A non-negative number: a `numgen` value, an index."""

    value: int

    def __init__(self, value: int) -> None:
        if value < 0:
            raise IRError(f"negative integer {value}")
        _set(self, "value", value)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Mark(Node):
    """A packet mark or mask, written in hex with 8 digits."""

    value: int

    def __init__(self, value: int) -> None:
        if not 0 <= value < 2**32:
            raise IRError(f"mark {value:#x} is not 32 bits")
        _set(self, "value", value)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Range(Node):
    """An inclusive integer range, `low-high` (ports)."""

    low: int
    high: int

    def __init__(self, low: int, high: int) -> None:
        if not 0 <= low <= high:
            raise IRError(f"invalid range {low}-{high}")
        _set(self, "low", low)
        _set(self, "high", high)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Symbol(Node):
    """A symbolic constant: a protocol (`tcp`), a ct state (`invalid`) or status (`dnat`)."""

    name: str

    def __init__(self, name: str) -> None:
        if not _SYMBOL_RE.fullmatch(name):
            raise IRError(f"invalid symbol {name!r}")
        _set(self, "name", name)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Flags(Node):
    """Several flags at once, any of which matches: `established,related`."""

    names: tuple[str, ...]

    def __init__(self, names: tuple[str, ...]) -> None:
        if not names or not all(_SYMBOL_RE.fullmatch(n) for n in names):
            raise IRError(f"invalid flags {names!r}")
        _set(self, "names", names)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Network(Node):
    """An address or a prefix as a value: `10.0.0.0/8`, `fd00::1`."""

    value: IPv4Address | IPv6Address | IPv4Network | IPv6Network

    def __init__(self, value: IPv4Address | IPv6Address | IPv4Network | IPv6Network) -> None:
        _set(self, "value", value)


@dataclass(init=False, slots=True, eq=False, repr=False)
class SetRef(Node):
    """A named set or map of the table: `@name`."""

    name: str

    def __init__(self, name: str) -> None:
        _set(self, "name", name)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Concat(Node):
    """`a . b . c`: a concatenation, as a key or a value."""

    parts: tuple[Expr, ...]

    def __init__(self, parts: tuple[Expr, ...]) -> None:
        if len(parts) < 2:
            raise IRError("a concatenation needs two parts or more")
        _set(self, "parts", parts)


@dataclass(init=False, slots=True, eq=False, repr=False)
class BitAnd(Node):
    """`left & mask`, e.g. `meta mark & 0x00004000`."""

    left: Expr
    mask: Expr

    def __init__(self, left: Expr, mask: Expr) -> None:
        _set(self, "left", left)
        _set(self, "mask", mask)


@dataclass(init=False, slots=True, eq=False, repr=False)
class AnonSet(Node):
    """An anonymous set: `{ tcp . 80, udp . 53-60 }`."""

    elements: tuple[Expr, ...]

    def __init__(self, elements: tuple[Expr, ...]) -> None:
        if not elements:
            raise IRError("an anonymous set needs elements")
        _set(self, "elements", elements)


@dataclass(init=False, slots=True, eq=False, repr=False)
class InputInterface(Node):
    """`iifname`: the name of the interface a packet arrived on ("" for the node's own packets)."""


_IFNAME_RE = re.compile(r"[!-~]{1,15}")  # printable ASCII: a Linux interface name nftables can quote ...
_IFNAME_BAD = re.compile(r"[/:\"\\*]")  # ... without what neither allows, nor nft's wildcard `*`


@dataclass(init=False, slots=True, eq=False, repr=False)
class InterfaceName(Node):
    """An interface name as a value: `"cbr0"`; with `prefix`, every name that starts so: `"veth*"`."""

    name: str
    prefix: bool = False

    def __init__(self, name: str, prefix: bool = False) -> None:
        if not _IFNAME_RE.fullmatch(name) or _IFNAME_BAD.search(name):
            raise IRError(f"invalid interface name {name!r}")
        _set(self, "name", name)
        _set(self, "prefix", prefix)


# --- verdicts --------------------------------------------------------------------------------------------


class VerdictKind(StrEnum):
    ACCEPT = "accept"
    DROP = "drop"
    RETURN = "return"
    CONTINUE = "continue"
    JUMP = "jump"
    GOTO = "goto"


@dataclass(init=False, slots=True, eq=False, repr=False)
class Verdict(Node):
    """A verdict; `jump` and `goto` (and only they) name a regular chain of the table."""

    kind: VerdictKind
    chain: str | None = None

    def __init__(self, kind: VerdictKind, chain: str | None = None) -> None:
        if (chain is not None) != (kind in (VerdictKind.JUMP, VerdictKind.GOTO)):
            raise IRError(f"verdict {kind} with chain {chain!r}")
        _set(self, "kind", kind)
        _set(self, "chain", chain)


@dataclass(init=False, slots=True, eq=False, repr=False)
class AnonVmap(Node):
    """An anonymous verdict map: `{ 0 : goto a, 1 : goto b }`."""

    entries: tuple[tuple[Expr, Verdict], ...]

    def __init__(self, entries: tuple[tuple[Expr, Verdict], ...]) -> None:
        if not entries:
            raise IRError("an anonymous verdict map needs entries")
        _set(self, "entries", entries)


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


# The expressions whose fields hold no node (addresses, numbers, names, enumerations): `references` does
# not look inside them (tests/test_ir.py checks that their fields' types name no node).
LEAVES: frozenset[type[Node]] = frozenset(
    {Address, Meta, Ct, Port, Numgen, Integer, Mark, Range, Symbol, Flags, Network, InputInterface, InterfaceName}
)


def walk(node: Node) -> Iterator[Node]:
    """`node` and every node inside it, depth first."""
    pending: list[object] = [node]  # what is left to visit, the next on top
    while pending:
        item = pending.pop()
        if isinstance(item, Node):
            yield item
            pending.extend(reversed(field_values(item.__class__)(item)))
        elif isinstance(item, tuple):
            pending.extend(reversed(item))


def references(node: Node) -> list[SetRef | Verdict]:
    """The sets (`SetRef`) and verdicts `node` names, itself included, in `walk`'s order: what a table
    checks of a rule (both are leaves: they hold no node)."""
    found: list[SetRef | Verdict] = []
    _collect(node, found)
    return found


def _collect(value: object, found: list[SetRef | Verdict]) -> None:
    if isinstance(value, Node):
        if isinstance(value, SetRef | Verdict):
            found.append(value)
        elif value.__class__ not in LEAVES:
            for item in field_values(value.__class__)(value):
                _collect(item, found)
    elif isinstance(value, tuple):
        for item in value:
            _collect(item, found)
