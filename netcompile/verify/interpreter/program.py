"""The program: what the linker makes of the syntax tree, and the machine runs.

Every expression becomes a function of the packet's state (`Run`), every step of a rule a function
that returns nothing (go on), `BREAK` (the rule does not match) or a verdict. An expression whose
implicit dependency fails (`ip daddr` of an IPv6 packet, `tcp dport` of a UDP one) yields None, so the
rule does not match: nft adds that dependency in front of such an expression.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter

from ...values import Record
from .lookup import Lookup
from .state import Run
from .syntax import ACCEPT, BREAK, REJECT, Expr, Step, Verdict
from .vocabulary import BITMASK, CT_STATUSES, FIBTYPES, NFPROTOS, PROTO_NAMES, Key

__all__ = [
    "ExprFn",
    "KeyFn",
    "LinkedChain",
    "LinkedRule",
    "StepFn",
    "compare",
    "concatenation",
    "dnat",
    "key_fn",
    "map_target",
    "mark",
    "masquerade",
    "member",
    "only_version",
    "primary_fn",
    "reject",
    "update",
    "vmap",
]

ExprFn = Callable[[Run], int | None]
KeyFn = Callable[[Run], Key | None]
StepFn = Callable[[Run], Verdict | None]


class LinkedRule(Record):
    """A rule ready to run: its steps as functions, how a path names it, and the IP version of the only
    packets it can match (0: any; `only_version`)."""

    _fields = ("fns", "label", "comment", "version")
    __slots__ = _fields

    def __init__(self, fns: tuple[StepFn, ...], label: str, comment: str | None, version: int = 0) -> None:
        self.fns = fns
        self.label = label  # "chain: rule text  # comment"
        self.comment = comment
        self.version = version


class LinkedChain(Record):
    """A chain ready to run; regular chains have no hook. `runs[4]` and `runs[6]` are its rules that a packet
    of that IP version can match (the others end at their first step for it, and are left out)."""

    _fields = ("name", "table", "type", "hook", "priority", "policy", "rules", "runs")
    __slots__ = _fields

    def __init__(
        self, name: str, table: str, type: str, hook: str, priority: int, policy: str, rules: list[LinkedRule]
    ) -> None:
        self.name = name
        self.table = table
        self.type = type
        self.hook = hook
        self.priority = priority
        self.policy = policy
        self.rules = rules
        self.runs = {version: [r for r in rules if r.version in (0, version)] for version in (4, 6)}

    @property
    def is_base(self) -> bool:
        return bool(self.hook)


_VERSION_OF = {"ip_saddr": 4, "ip_daddr": 4, "ip6_saddr": 6, "ip6_daddr": 6}


def only_version(steps: list[Step]) -> int:
    """4 or 6 when a rule cannot match a packet of the other IP version, else 0: its first step matches or
    looks up a key that starts with `ip saddr/daddr` (`ip6 ...`). For the other version that expression is
    None (nft's implicit `meta nfproto` dependency), so the step ends the rule at once (BREAK), before any
    other expression is evaluated (a numgen's choice) and without a trace in the path: leaving the rule out
    changes nothing (tests/test_interp_machine.py runs rulesets both ways)."""
    if not steps:
        return 0
    first = steps[0]
    if first.kind not in ("compare", "lookup", "vmap") or not first.expr:
        return 0
    return _VERSION_OF.get(first.expr[0].kind, 0)


def primary_fn(expr: Expr) -> ExprFn:
    """What an expression reads of the state (an attribute as it is: by attrgetter)."""
    kind = expr.kind
    fn: ExprFn
    if kind in ("ip_saddr", "ip6_saddr", "ip_daddr", "ip6_daddr"):
        version = 4 if kind.startswith("ip_") else 6
        if kind.endswith("saddr"):
            fn = lambda r: r.src if r.version == version else None  # noqa: E731
        else:
            fn = lambda r: r.dst if r.version == version else None  # noqa: E731
    elif kind == "l4proto":
        fn = attrgetter("proto")
    elif kind == "nfproto":
        fn = lambda r: NFPROTOS["ipv4"] if r.version == 4 else NFPROTOS["ipv6"]  # noqa: E731
    elif kind == "mark":
        fn = attrgetter("mark")
    elif kind == "th_dport":
        fn = attrgetter("dport")
    elif kind == "th_sport":
        fn = attrgetter("sport")
    elif kind in ("tcp_dport", "udp_dport", "sctp_dport"):
        proto = PROTO_NAMES[kind.split("_")[0]]
        fn = lambda r: r.dport if r.proto == proto else None  # noqa: E731
    elif kind == "ct_state":
        fn = attrgetter("ct_state")
    elif kind == "ct_status":
        fn = attrgetter("ct_status")
    elif kind == "fib_saddr":
        fn = lambda r: FIBTYPES["local"] if (r.version, r.src) in r.local else FIBTYPES["unicast"]  # noqa: E731
    elif kind == "fib_daddr":
        fn = lambda r: FIBTYPES["local"] if (r.version, r.dst) in r.local else FIBTYPES["unicast"]  # noqa: E731
    elif kind == "iifname":
        fn = attrgetter("iif")
    elif kind == "numgen":
        modulus = expr.arg
        fn = lambda r: r.choose(modulus)  # noqa: E731
    else:  # pragma: no cover - the parser only builds the kinds above
        raise AssertionError(kind)
    if expr.binop is None:
        return fn
    op, operand = expr.binop
    inner = fn
    if op == "&":
        return lambda r: None if (v := inner(r)) is None else v & operand
    if op == "|":
        return lambda r: None if (v := inner(r)) is None else v | operand
    return lambda r: None if (v := inner(r)) is None else v ^ operand


# The expressions that read one attribute of the state as it is, and the IP version they need (0: any).
_FIELDS = {
    "ip_saddr": ("src", 4),
    "ip_daddr": ("dst", 4),
    "ip6_saddr": ("src", 6),
    "ip6_daddr": ("dst", 6),
    "l4proto": ("proto", 0),
    "th_dport": ("dport", 0),
    "th_sport": ("sport", 0),
    "ct_state": ("ct_state", 0),
    "ct_status": ("ct_status", 0),
    "iifname": ("iif", 0),
    "mark": ("mark", 0),
}


def key_fn(exprs: tuple[Expr, ...]) -> KeyFn:
    """The key of a lookup: one expression's value, or a concatenation's (None when one is None). A
    concatenation of attributes of one IP version, or of none (`ip daddr . meta l4proto . th dport`), is
    read with one attrgetter (tests/test_interp_concat_keys.py holds it to `concatenation`)."""
    if len(exprs) == 1:
        return primary_fn(exprs[0])
    fields = [_FIELDS.get(e.kind) if e.binop is None else None for e in exprs]
    versions = {field[1] for field in fields if field is not None and field[1]}
    if None in fields or len(versions) > 1:
        return concatenation(exprs)
    get = attrgetter(*[field[0] for field in fields if field is not None])
    if not versions:
        return get
    (version,) = versions
    return lambda r: get(r) if r.version == version else None


def concatenation(exprs: tuple[Expr, ...]) -> KeyFn:
    """A concatenation's key, expression by expression (None at the first that is None)."""
    fns = [primary_fn(e) for e in exprs]

    def concat(r: Run) -> Key | None:
        out: list[int] = []
        for fn in fns:
            value = fn(r)
            if value is None:
                return None  # an implicit dependency (ip vs ip6, tcp vs udp) failed: the rule ends here
            out.append(value)
        return tuple(out)

    return concat


# ───────────────────────────── steps ─────────────────────────────


def compare(step: Step) -> StepFn:
    fn = primary_fn(step.expr[0])
    dtype = step.expr[0].dtype
    negate = step.op == "!="
    if dtype in BITMASK and step.op != "==":
        bits = 0
        for ((lo, _),) in step.values:
            bits |= lo
        if negate:
            return lambda r: None if (v := fn(r)) is not None and not v & bits else BREAK
        return lambda r: None if (v := fn(r)) is not None and v & bits else BREAK
    ((lo, hi),) = step.values[0]
    if negate:
        return lambda r: None if (v := fn(r)) is not None and not lo <= v <= hi else BREAK
    return lambda r: None if (v := fn(r)) is not None and lo <= v <= hi else BREAK


def member(lookup: Lookup, ident: int, keys: KeyFn, negate: bool) -> StepFn:
    """`KEY @set` / `KEY != @set`, counting the keys `update` added to the set `ident` in this pass."""
    find = lookup.find

    def member(r: Run) -> Verdict | None:
        key = keys(r)
        if key is None:
            return BREAK
        entry = find(key)
        added = r.dynamic.get(ident)
        found = entry is not None or (added is not None and key in added)
        if found == negate:
            return BREAK
        if entry is not None and entry.comment and not negate:
            r.notes.append(entry.comment)
        return None

    return member


def vmap(lookup: Lookup, keys: KeyFn) -> StepFn:
    find = lookup.find

    def vmap(r: Run) -> Verdict:
        key = keys(r)
        entry = None if key is None else find(key)
        if entry is None:
            return BREAK
        if entry.comment:
            r.notes.append(entry.comment)
        assert isinstance(entry.value, Verdict)
        return entry.value

    return vmap


def mark(step: Step) -> StepFn:
    op, value = step.mark_op, step.number

    def mark(r: Run) -> None:
        if op == "set":
            r.mark = value
        elif op == "|":
            r.mark |= value
        elif op == "^":
            r.mark ^= value
        else:
            r.mark &= value

    return mark


def dnat(family: int, target: Callable[[Run], tuple[int, int | None] | None]) -> StepFn:
    def dnat(r: Run) -> Verdict | None:
        to = target(r)
        if to is None:
            return BREAK  # map lookup miss (or `ip daddr` of an IPv6 packet): the rule does not match
        if r.version != family:
            return None  # `dnat ip to ADDR` on an IPv6 packet does nothing (nft_nat_inet_eval)
        r.dst = to[0]
        if to[1] is not None:
            r.dport = to[1]
        r.ct_status |= CT_STATUSES["dnat"]
        r.nat_hooks.add("dnat")
        return ACCEPT

    return dnat


def reject(family: int, proto: int) -> StepFn:
    def reject(r: Run) -> Verdict:
        if (family and r.version != family) or (proto and r.proto != proto):
            return BREAK  # nft adds `meta nfproto ...`/`meta l4proto tcp` in front of such a reject
        return REJECT

    return reject


def masquerade(r: Run) -> Verdict:
    r.masquerade = True
    r.ct_status |= CT_STATUSES["snat"]
    r.nat_hooks.add("postrouting")
    return ACCEPT


def map_target(lookup: Lookup, keys: KeyFn) -> Callable[[Run], tuple[int, int | None] | None]:
    """The `addr [. port]` a data map gives the packet, for `dnat ... to KEY map @m`."""
    find = lookup.find

    def target(r: Run) -> tuple[int, int | None] | None:
        key = keys(r)
        entry = None if key is None else find(key)
        if entry is None:
            return None
        if entry.comment:
            r.notes.append(entry.comment)
        value = entry.value
        assert isinstance(value, tuple)
        return (value[0], value[1] if len(value) > 1 else None)

    return target


def update(ident: int, keys: KeyFn) -> StepFn:
    """`update @set { KEY }`: the key joins the set for the rest of this pass (`ident` names the set)."""

    def update(r: Run) -> Verdict | None:
        key = keys(r)
        if key is None:
            return BREAK
        r.dynamic.setdefault(ident, set()).add(key)
        return None

    return update
