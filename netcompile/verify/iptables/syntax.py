"""Syntax: what the parsers make of the text: ipsets with their elements, tables of chains, rules as typed
matches and one target. Values are already numbers (addresses as integers, ranges as closed intervals);
nothing is resolved: set and chain names stay names until the linker looks them up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "AddrMatch",
    "AddrtypeMatch",
    "Chain",
    "ConntrackMatch",
    "IfaceMatch",
    "MarkMatch",
    "Match",
    "PortMatch",
    "ProtoMatch",
    "RecentMatch",
    "Rule",
    "SetMatch",
    "StatisticMatch",
    "Table",
    "Target",
]


@dataclass(frozen=True, slots=True)
class AddrMatch:
    """`[!] -s/-d ADDR[/PREFIX]`: the packet's source or destination inside [lo, hi]."""

    field: str  # "src" or "dst"
    lo: int
    hi: int
    invert: bool


@dataclass(frozen=True, slots=True)
class IfaceMatch:
    """`[!] -i NAME` (exactly that interface) or `[!] -i PREFIX+` (any whose name starts with PREFIX)."""

    name: str
    prefix: bool
    invert: bool


@dataclass(frozen=True, slots=True)
class ProtoMatch:
    """`[!] -p PROTO`; protocol 0 (`all`) matches every packet."""

    proto: int
    invert: bool


@dataclass(frozen=True, slots=True)
class PortMatch:
    """`-m tcp|udp|sctp [!] --dport/--sport N[:M]` and `-m multiport [!] --dports/--sports/--ports LIST`."""

    fields: tuple[str, ...]  # ("dport",), ("sport",) or ("sport", "dport") for multiport --ports
    ranges: tuple[tuple[int, int], ...]
    invert: bool
    proto: int  # the rule's `-p`: the port is read only from a packet of that protocol


@dataclass(frozen=True, slots=True)
class SetMatch:
    """`-m set [!] --match-set NAME src,dst,...`: the flags say which packet field each dimension reads."""

    name: str
    flags: tuple[str, ...]  # "src" or "dst", one per dimension (at least the set's)
    invert: bool


@dataclass(frozen=True, slots=True)
class MarkMatch:
    """`-m mark [!] --mark V[/M]`: (mark & M) == V."""

    value: int
    mask: int
    invert: bool


@dataclass(frozen=True, slots=True)
class ConntrackMatch:
    """`-m conntrack [!] --ctstate S,... [!] --ctstatus S,...` (bit sets of vocabulary.CT_STATES/CT_STATUSES)."""

    states: int | None
    states_invert: bool
    statuses: int | None
    statuses_invert: bool


@dataclass(frozen=True, slots=True)
class StatisticMatch:
    """`-m statistic --mode random [!] --probability P`: matches with probability `threshold / 2^31`."""

    threshold: int  # lround(P * 2^31), as libxt_statistic stores it
    invert: bool


@dataclass(frozen=True, slots=True)
class RecentMatch:
    """`-m recent --name N [--rsource|--rdest] (--set | --rcheck [--seconds S] [--reap])`."""

    name: str
    side: str  # "src" (--rsource, the default) or "dst"
    mode: str  # "set" or "rcheck"
    seconds: int
    invert: bool


@dataclass(frozen=True, slots=True)
class AddrtypeMatch:
    """`-m addrtype [!] --src-type T,... [!] --dst-type T,...`."""

    src: frozenset[str] | None
    src_invert: bool
    dst: frozenset[str] | None
    dst_invert: bool


Match = (
    AddrMatch
    | IfaceMatch
    | ProtoMatch
    | PortMatch
    | SetMatch
    | MarkMatch
    | ConntrackMatch
    | StatisticMatch
    | RecentMatch
    | AddrtypeMatch
)


@dataclass(frozen=True, slots=True)
class Target:
    """What a rule does when it matches.

    kind: "" (no target: the rule only counts), ACCEPT, DROP, RETURN, REJECT, DNAT, MASQUERADE, MARK,
    "jump" or "goto" (to `chain`).
    """

    kind: str
    chain: str = ""
    address: int = 0  # DNAT --to-destination
    port: int | None = None
    mark: int = 0  # MARK, as --set-xmark: mark = (mark & ~mask) ^ value
    mask: int = 0


@dataclass(slots=True)
class Rule:
    """One `-A CHAIN ...` line: its matches in order (the kernel tests them in that order) and its target."""

    line: int
    text: str  # the rule as written, without `-A CHAIN` and without the comment match
    matches: list[Match]
    target: Target
    comment: str | None


@dataclass(slots=True)
class Chain:
    name: str
    line: int  # where declared (0 for a built-in chain the text does not declare)
    builtin: bool
    policy: str  # ACCEPT or DROP for a built-in chain ("-" for a user chain)
    rules: list[Rule] = field(default_factory=list)


@dataclass(slots=True)
class Table:
    """One `*nat` or `*filter` block of one IP version's section."""

    name: str
    version: int
    line: int
    chains: dict[str, Chain] = field(default_factory=dict)
