"""Syntax tree: what the parser makes of the text: tables of sets, maps and chains; rules as steps.

Values are already typed (closed integer intervals) because the parser knows the datatype of the
expression or set each value belongs to. Nothing here is resolved: `@set` and `jump` targets are names
until the linker looks them up. The classes are plain records (`values.Record`: a dataclass's repr and
equality); nobody changes a Verdict, an Expr or an Element once made.
"""

from __future__ import annotations

from ...values import Record
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


class Verdict(Record):
    _fields = ("kind", "target")
    __slots__ = _fields

    def __init__(self, kind: str, target: str = "") -> None:
        self.kind = kind  # accept drop reject continue return jump goto; "break" = the rule stops without a verdict
        self.target = target

    def __hash__(self) -> int:
        return hash((self.kind, self.target))

    def __str__(self) -> str:
        return f"{self.kind} {self.target}" if self.target else self.kind


BREAK = Verdict("break")
ACCEPT = Verdict("accept")
DROP = Verdict("drop")
REJECT = Verdict("reject")


class Expr(Record):
    """One primary expression, e.g. `ip daddr` or `meta mark & 0x4000`."""

    _fields = ("kind", "dtype", "arg", "binop")
    __slots__ = _fields

    def __init__(self, kind: str, dtype: str, arg: int = 0, binop: tuple[str, int] | None = None) -> None:
        self.kind = kind  # ip_saddr ip_daddr ip6_saddr ip6_daddr l4proto nfproto mark th_dport th_sport
        #                   tcp_dport udp_dport sctp_dport ct_state ct_status fib_saddr fib_daddr numgen iifname
        self.dtype = dtype
        self.arg = arg  # numgen modulus
        self.binop = binop  # ("&", 0x4000) for `meta mark & 0x4000`

    def __hash__(self) -> int:
        return hash((self.kind, self.dtype, self.arg, self.binop))


class Element(Record):
    """One element of a set or map (a ruleset has 100 000s)."""

    _fields = ("key", "value", "comment", "line", "ranged")
    __slots__ = _fields

    def __init__(
        self,
        key: tuple[Interval, ...],
        value: Verdict | tuple[int, ...] | None,
        comment: str | None,
        line: int,
        ranged: bool,
    ) -> None:
        self.key = key
        self.value = value
        self.comment = comment
        self.line = line
        self.ranged = ranged  # written as a prefix or range


class SetDef(Record):
    """A named set or map, or an anonymous one written in a rule (equal and hashed by identity: the linker
    keys its lookup structures by definition)."""

    _fields = ("name", "line", "key_types", "value_types", "flags", "comment", "size", "elements", "is_map")
    __slots__ = _fields

    def __init__(
        self,
        name: str,
        line: int,
        key_types: tuple[str, ...] = (),
        value_types: tuple[str, ...] | None = None,
        *,
        is_map: bool = False,
    ) -> None:
        self.name = name
        self.line = line
        self.key_types = key_types
        self.value_types = value_types  # None: a set; ("verdict",): a verdict map
        self.flags: set[str] = set()
        self.comment: str | None = None
        self.size: int | None = None  # the most elements the set may hold
        self.elements: list[Element] = []
        self.is_map = is_map

    __eq__ = object.__eq__
    __hash__ = object.__hash__


class Step(Record):
    """One expression or statement of a rule, before linking."""

    _fields = (
        "kind",
        "line",
        "expr",
        "op",
        "values",
        "ref",
        "verdict",
        "family",
        "proto",
        "mark_op",
        "number",
        "dnat_to",
        "l4_known",
    )
    __slots__ = _fields

    def __init__(
        self,
        kind: str,
        line: int,
        *,
        expr: tuple[Expr, ...] = (),
        op: str = "",
        values: list[tuple[Interval, ...]] | None = None,
        ref: str | SetDef | None = None,
        verdict: Verdict | None = None,
        family: int = 0,
        mark_op: str = "",
        number: int = 0,
        dnat_to: tuple[int, int | None] | None = None,
        l4_known: bool = False,
    ) -> None:
        self.kind = kind
        self.line = line
        self.expr = expr
        self.op = op  # "", "==", "!="
        self.values: list[tuple[Interval, ...]] = [] if values is None else values
        self.ref = ref  # a named `@set` or an anonymous set/map
        self.verdict = verdict
        self.family = family  # dnat ip/ip6, reject with icmp/icmpv6
        self.proto = 0  # reject with tcp reset
        self.mark_op = mark_op  # "set", "|", "^", "&"
        self.number = number
        self.dnat_to = dnat_to
        self.l4_known = l4_known  # dnat: a transport protocol match precedes it (nft requires one for a port)


class Rule(Record):
    _fields = ("line", "text", "comment", "steps")
    __slots__ = _fields

    def __init__(self, line: int, text: str, comment: str | None, steps: list[Step]) -> None:
        self.line = line
        self.text = text
        self.comment = comment
        self.steps = steps


class Chain(Record):
    _fields = ("name", "line", "table", "comment", "type", "hook", "priority", "policy", "rules")
    __slots__ = _fields

    def __init__(self, name: str, line: int, table: str = "") -> None:
        self.name = name
        self.line = line
        self.table = table
        self.comment: str | None = None
        self.type = ""  # "filter" / "nat" for base chains, "" for regular chains
        self.hook = ""
        self.priority = 0
        self.policy = "accept"
        self.rules: list[Rule] = []

    @property
    def is_base(self) -> bool:
        return bool(self.hook)


class Table(Record):
    _fields = ("name", "sets", "chains")
    __slots__ = _fields

    def __init__(self, name: str) -> None:
        self.name = name
        self.sets: dict[str, SetDef] = {}
        self.chains: dict[str, Chain] = {}
