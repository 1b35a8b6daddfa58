"""A lookup's key read with one attrgetter (netcompile.verify.interpreter.program `key_fn`) against the
concatenation read expression by expression (`concatenation`).

A concatenation whose expressions all read one attribute of the packet's state as it is, needing one IP
version or none (`ip daddr . meta l4proto . th dport`), is read at once, None for a packet of the other
version; any other is read expression by expression, None at the first expression that is None (one
expression alone is its value, as ever). For random concatenations of every expression the grammar knows
(numgen aside: it chooses) and random packets of both versions, both must give the same key.
"""

from __future__ import annotations

from ipaddress import ip_address

from hypothesis import given, settings
from hypothesis import strategies as st

from netcompile.model import Protocol
from netcompile.verify.interpreter.program import concatenation, key_fn
from netcompile.verify.interpreter.state import Run
from netcompile.verify.interpreter.syntax import Expr
from netcompile.verify.interpreter.vocabulary import CT_STATUSES, INTEGER
from netcompile.verify.packet import Origin, Packet

KINDS = [
    "ip_saddr",
    "ip_daddr",
    "ip6_saddr",
    "ip6_daddr",
    "l4proto",
    "nfproto",
    "mark",
    "th_dport",
    "th_sport",
    "tcp_dport",
    "udp_dport",
    "sctp_dport",
    "ct_state",
    "ct_status",
    "fib_saddr",
    "fib_daddr",
    "iifname",
]
ADDRESSES = {4: ["10.0.0.1", "10.0.0.2", "192.168.1.9"], 6: ["fd00::1", "fd00::2", "2001:db8::9"]}


@st.composite
def exprs(draw: st.DrawFn) -> Expr:
    kind = draw(st.sampled_from(KINDS))
    binop = draw(st.sampled_from([None, None, None, ("&", 0x4000), ("|", 1), ("^", 3)])) if kind == "mark" else None
    return Expr(kind, INTEGER, 0, binop)


@st.composite
def runs(draw: st.DrawFn) -> Run:
    version = draw(st.sampled_from([4, 6]))
    src, dst = (ip_address(draw(st.sampled_from(ADDRESSES[version]))) for _ in range(2))
    packet = Packet(
        src,
        dst,
        draw(st.sampled_from(list(Protocol))),
        draw(st.integers(0, 65535)),
        draw(st.integers(0, 65535)),
        draw(st.sampled_from(list(Origin))),
        draw(st.sampled_from(["new", "established", "related"])),
        draw(st.sampled_from(["", "eth0", "veth1"])),
    )
    local = frozenset((version, int(ip_address(a))) for a in draw(st.lists(st.sampled_from(ADDRESSES[version]))))
    run = Run(packet, local, [])
    run.mark = draw(st.sampled_from([0, 0x4000, 0x4001, 7]))
    run.ct_status |= draw(st.sampled_from([0, CT_STATUSES["dnat"], CT_STATUSES["snat"]]))
    return run


@settings(max_examples=3000, deadline=None)
@given(st.lists(exprs(), min_size=2, max_size=4).map(tuple), runs())
def test_a_key_read_at_once_is_the_key_read_expression_by_expression(key: tuple[Expr, ...], run: Run) -> None:
    assert key_fn(key)(run) == concatenation(key)(run)


def test_the_keys_netcompile_writes_are_read_at_once() -> None:
    """`ip daddr . meta l4proto . th dport` is one attrgetter behind a version test, not a concatenation."""
    key = (Expr("ip_daddr", INTEGER), Expr("l4proto", INTEGER), Expr("th_dport", INTEGER))
    assert key_fn(key).__name__ == "<lambda>"
    assert key_fn(key[1:]).__class__.__name__ == "attrgetter"
    assert key_fn((Expr("ip_daddr", INTEGER), Expr("ip6_saddr", INTEGER))).__name__ == "concat"
