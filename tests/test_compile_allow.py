"""The elements of the policy sets (compile/allow.py) and the collapsed pod networks (compile/index.py),
checked against what they must mean, point by point, on small random inputs.

A set's elements must be disjoint boxes, together holding exactly the boxes the grants allow, each
naming the rules that allow any of its points (overlapping peers are united: an element may name a rule
for a point of it that only another rule allows, never a rule that allows none of its points) and every
rule that allows one of them; prefixes are written as prefixes. The compiler
reaches these functions only through whole rulesets (golden files): here any grants they may be given.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

from netcompile.compile.allow import ALL_PORTS, Grant, any_port_elements, port_elements
from netcompile.compile.index import collapse, collapse_points
from netcompile.nft.ir import Element

ADDRESSES = 24  # addresses 0.0.0.0 .. 0.0.0.23: overlaps, neighbours and prefixes are common
PORTS = 12
PROTOS = ("tcp", "udp", "sctp")
LABELS = ("a/p ingress[0]", "a/p ingress[1]", "b/q egress[0] to[1]")

intervals = st.tuples(st.integers(0, ADDRESSES - 1), st.integers(0, 4)).map(
    lambda t: (t[0], min(t[0] + t[1], ADDRESSES - 1))
)
port_ranges = st.tuples(st.integers(1, PORTS), st.integers(0, 3)).map(lambda t: (t[0], min(t[0] + t[1], PORTS)))


@st.composite
def grants(draw: st.DrawFn, with_ports: bool) -> Grant:
    peers = tuple(draw(st.lists(intervals, min_size=1, max_size=4)))
    label = draw(st.sampled_from(LABELS))
    if not with_ports:
        return Grant(peers, label)
    return Grant(peers, label, draw(st.sampled_from(PROTOS)), draw(port_ranges))


def address_points(text: str) -> Iterator[int]:
    """The addresses an element's address atom stands for: `a`, `a/len` or `a-b`."""
    if "-" in text:
        low, high = (int(ipaddress.IPv4Address(a)) for a in text.split("-"))
        assert low < high
    elif "/" in text:
        net = ipaddress.IPv4Network(text)
        low, high = int(net.network_address), int(net.broadcast_address)
        size = high - low + 1
        assert size > 1  # a single address is written as such
    else:
        low = high = int(ipaddress.IPv4Address(text))
    if "-" in text:  # a range that is a prefix must be written as one
        size = high - low + 1
        assert not (size & (size - 1) == 0 and low % size == 0), text
    yield from range(low, high + 1)


def port_points(text: str) -> Iterator[int]:
    low, _, high = text.partition("-")
    if high:
        assert int(low) < int(high)
    yield from range(int(low), int(high or low) + 1)


def meaning(elements: list[Element]) -> dict[tuple[object, ...], int]:
    """Every point the elements hold -> the index of its element; no point held twice."""
    out: dict[tuple[object, ...], int] = {}
    for index, element in enumerate(elements):
        if len(element.key) == 1:
            points: list[tuple[object, ...]] = [(a,) for a in address_points(element.key[0])]
        else:
            address, proto, ports = element.key
            points = [(a, proto, p) for a in address_points(address) for p in port_points(ports)]
        for point in points:
            assert point not in out, f"{point} in two elements"
            out[point] = index
    return out


def labels(element: Element) -> set[str]:
    assert element.comment is not None
    named = element.comment.split(", ")
    assert named == sorted(set(named))
    return set(named)


def check(elements: list[Element], given_grants: list[Grant], with_ports: bool) -> None:
    held = meaning(elements)
    allowed = expected(given_grants, with_ports)
    assert held.keys() == allowed.keys()
    for point, rules in allowed.items():
        assert rules <= labels(elements[held[point]])
    for index, element in enumerate(elements):  # each rule it names allows one of its points
        assert labels(element) == set().union(*(allowed[p] for p, i in held.items() if i == index))


def expected(given_grants: list[Grant], with_ports: bool) -> dict[tuple[object, ...], set[str]]:
    out: dict[tuple[object, ...], set[str]] = {}
    for grant in given_grants:
        for low, high in grant.peers:
            for address in range(low, high + 1):
                if not with_ports:
                    out.setdefault((address,), set()).add(grant.label)
                    continue
                for port in range(grant.ports[0], grant.ports[1] + 1):
                    out.setdefault((address, grant.proto, port), set()).add(grant.label)
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(grants(with_ports=True), max_size=8))
def test_port_elements_are_disjoint_and_name_the_rules_of_their_points(given_grants: list[Grant]) -> None:
    elements = port_elements(given_grants, 4)
    check(elements, given_grants, True)
    keys = [(int(ipaddress.IPv4Address(e.key[0].split("/")[0].split("-")[0])), e.key[1]) for e in elements]
    assert [k[0] for k in keys] == sorted(k[0] for k in keys)  # in address order
    # neighbours allowed by the same rules on the same ports are one element
    assert len({(e.key, e.comment) for e in elements}) == len(elements)


@settings(max_examples=300, deadline=None)
@given(st.lists(grants(with_ports=False), max_size=8))
def test_any_port_elements_are_disjoint_and_name_the_rules_of_their_points(given_grants: list[Grant]) -> None:
    elements = any_port_elements(given_grants, 4)
    check(elements, given_grants, False)
    for left, right in itertools.pairwise(elements):
        before, after = list(address_points(left.key[0])), list(address_points(right.key[0]))
        assert before[-1] < after[0]
        if before[-1] + 1 == after[0]:  # touching: then allowed by different rules
            assert left.comment != right.comment


def test_grants_with_a_protocol_and_without_go_to_their_own_sets() -> None:
    everywhere = Grant(((0, 3),), LABELS[0])
    on_port = Grant(((2, 5),), LABELS[1], "tcp", (80, 80))
    assert [e.key for e in port_elements([everywhere, on_port], 4)] == [("0.0.0.2-0.0.0.5", "tcp", "80")]
    assert [e.key for e in any_port_elements([everywhere, on_port], 4)] == [("0.0.0.0/30",)]
    assert everywhere.ports == ALL_PORTS


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.integers(0, 40).map(lambda n: ipaddress.IPv4Address(0x0A000000 + n)),
            st.integers(0, 40).map(lambda n: ipaddress.IPv6Address(0xFD00 << 112 | n)),
            st.sampled_from([ipaddress.IPv4Address(0), ipaddress.IPv4Address(2**32 - 1)]),
        ),
        max_size=30,
    )
)
def test_collapse_points_is_collapse_of_the_single_address_networks(
    addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address],
) -> None:
    assert collapse_points(addresses) == collapse(ipaddress.ip_network(a) for a in addresses)
