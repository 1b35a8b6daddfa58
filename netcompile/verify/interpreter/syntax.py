"""Syntax tree: what the parser makes of the text: tables of sets, maps and chains; rules as steps.

Values are already typed (closed integer intervals) because the parser knows the datatype of the
expression or set each value belongs to. Nothing here is resolved: `@set` and `jump` targets are names
until the linker looks them up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .vocabulary import Interval

__all__ = [
    "ACCEPT",
    "BREAK",
    "DROP",
    "REJECT",
    "Chain",
    "Element",
    "Expr",
    "Rule",
    "SetDef",
    "Step",
    "Table",
    "Verdict",
]


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: str  # accept drop reject continue return jump goto; "break" = the rule stops without a verdict
    target: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.target}" if self.target else self.kind


BREAK = Verdict("break")
ACCEPT = Verdict("accept")
DROP = Verdict("drop")
REJECT = Verdict("reject")


@dataclass(frozen=True, slots=True)
class Expr:
    """One primary expression, e.g. `ip daddr` or `meta mark & 0x4000`."""

    kind: str  # ip_saddr ip_daddr ip6_saddr ip6_daddr l4proto nfproto mark th_dport th_sport
    #            tcp_dport udp_dport sctp_dport ct_state ct_status fib_saddr fib_daddr numgen iifname
    dtype: str
    arg: int = 0  # numgen modulus
    binop: tuple[str, int] | None = None  # ("&", 0x4000) for `meta mark & 0x4000`


@dataclass(slots=True)  # not frozen (nobody changes one): a frozen __init__ costs 4x, and a ruleset has 100 000s
class Element:
    key: tuple[Interval, ...]
    value: Verdict | tuple[int, ...] | None
    comment: str | None
    line: int
    ranged: bool  # written as a prefix or range


@dataclass(slots=True, eq=False)
class SetDef:
    """A named set or map, or an anonymous one written in a rule (hashed by identity: the linker keys its
    lookup structures by definition)."""

    name: str
    line: int
    key_types: tuple[str, ...] = ()
    value_types: tuple[str, ...] | None = None  # None: a set; ("verdict",): a verdict map
    flags: set[str] = field(default_factory=set)
    comment: str | None = None
    size: int | None = None  # the most elements the set may hold
    elements: list[Element] = field(default_factory=list)
    is_map: bool = False


@dataclass(slots=True)
class Step:
    """One expression or statement of a rule, before linking."""

    kind: str
    line: int
    expr: tuple[Expr, ...] = ()
    op: str = ""  # "", "==", "!="
    values: list[tuple[Interval, ...]] = field(default_factory=list)
    ref: str | SetDef | None = None  # a named `@set` or an anonymous set/map
    verdict: Verdict | None = None
    family: int = 0  # dnat ip/ip6, reject with icmp/icmpv6
    proto: int = 0  # reject with tcp reset
    mark_op: str = ""  # "set", "|", "^", "&"
    number: int = 0
    dnat_to: tuple[int, int | None] | None = None
    l4_known: bool = False  # dnat: a transport protocol match precedes it (nft requires one for a port)


@dataclass(slots=True)
class Rule:
    line: int
    text: str
    comment: str | None
    steps: list[Step]


@dataclass(slots=True)
class Chain:
    name: str
    line: int
    table: str = ""
    comment: str | None = None
    type: str = ""  # "filter" / "nat" for base chains, "" for regular chains
    hook: str = ""
    priority: int = 0
    policy: str = "accept"
    rules: list[Rule] = field(default_factory=list)

    @property
    def is_base(self) -> bool:
        return bool(self.hook)


@dataclass(slots=True)
class Table:
    name: str
    sets: dict[str, SetDef] = field(default_factory=dict)
    chains: dict[str, Chain] = field(default_factory=dict)
