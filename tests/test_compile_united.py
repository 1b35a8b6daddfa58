"""`allow.united_parts` (grants with the same peers, in order and disjoint, made elements at once) equals the
general way, `allow._united` of every peer with its label, on any parts: the same peers often (shared, or
equal), in order or not, overlapping, touching, empty."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from netcompile.compile.allow import Interval, Part, _united, united_parts

LABELS = ("a/p ingress[0]", "a/p ingress[1]", "b/q egress[0] to[1]", "b/q egress[0] to[1] port http")

intervals = st.tuples(st.integers(0, 30), st.integers(0, 3)).map(lambda t: (t[0], t[0] + t[1]))
ordered = st.lists(st.integers(0, 40), unique=True, max_size=8).map(lambda p: tuple((n, n) for n in sorted(p)))
sorted_overlapping = st.lists(intervals, max_size=6).map(lambda i: tuple(sorted(i)))
peer_tuples = st.one_of(ordered, sorted_overlapping, st.lists(intervals, max_size=6).map(tuple))


@st.composite
def parts(draw: st.DrawFn) -> list[Part]:
    shared: tuple[Interval, ...] = draw(peer_tuples)
    out: list[Part] = []
    for _ in range(draw(st.integers(0, 5))):
        peers = shared if draw(st.integers(0, 3)) else draw(peer_tuples)  # mostly the same peers
        if draw(st.booleans()):
            peers = tuple(list(peers))  # equal, another tuple
        out.append((peers, draw(st.sampled_from(LABELS))))
    return out


@settings(max_examples=500, deadline=None)
@given(parts())
def test_united_parts_is_the_union_of_every_peer(given_parts: list[Part]) -> None:
    assert united_parts(given_parts) == _united([(peer, label) for peers, label in given_parts for peer in peers])


def test_the_common_case_is_made_at_once() -> None:
    peers = ((1, 1), (2, 2), (5, 5), (7, 9), (10, 10))
    parts: list[Part] = [(peers, "b"), (peers, "a"), (peers, "b")]
    assert united_parts(parts) == [((1, 2), ("a", "b")), ((5, 5), ("a", "b")), ((7, 10), ("a", "b"))]
    assert united_parts([(((3, 4), (1, 1)), "a")]) == [((1, 1), ("a",)), ((3, 4), ("a",))]  # out of order
    assert united_parts([]) == []
    assert united_parts([(((1, 3), (3, 5)), "a")]) == [((1, 5), ("a",))]  # in order, overlapping by a point
    assert united_parts([(((1, 1), (1, 1)), "a")]) == [((1, 1), ("a",))]
