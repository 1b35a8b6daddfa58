"""The reference's View: the pod networks it merges (P, docs/semantics.md) and one View per node index."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, collapse_addresses, ip_address, ip_network

from hypothesis import given
from hypothesis import strategies as st

from netcompile.model import IPNetwork
from netcompile.pipeline import CompileArgs, complete, load, node_clusters
from netcompile.verify.reference import reference_for
from netcompile.verify.reference.view import _cover, _merged, view_of
from tests.strategies import crowded_networks

EXAMPLES = "examples"


def collapsed(networks: list[IPNetwork]) -> tuple[IPNetwork, ...]:
    """What the standard library gives: each family collapsed, IPv4 first."""
    v4 = [n for n in networks if isinstance(n, IPv4Network)]
    v6 = [n for n in networks if isinstance(n, IPv6Network)]
    return (*collapse_addresses(v4), *collapse_addresses(v6))


# Networks crowded into a few small stretches of each family, so that they overlap, nest and touch.
v4_networks = crowded_networks([0x0A000000, 0x0A0000F0, 0xC0A80100], 40, 24)
v6_networks = crowded_networks([0x20010DB8 << 96], 600, 118, version=6)


@given(st.lists(st.one_of(v4_networks, v6_networks), max_size=30))
def test_merged_is_what_collapse_addresses_gives(networks: list[IPNetwork]) -> None:
    assert _merged(networks) == collapsed(networks)


@given(st.lists(st.integers(0, 300), max_size=60), st.lists(st.integers(0, 300), max_size=20))
def test_pod_addresses_cover_as_their_host_networks_collapse(v4: list[int], v6: list[int]) -> None:
    addresses = [ip_address(0x0A800000 + n) for n in v4] + [ip_address((0xFD00 << 112) + n) for n in v6]
    spans = [(a.version, int(a), int(a)) for a in addresses]
    assert _cover(spans) == collapsed([ip_network(a) for a in addresses])


def test_the_reference_and_the_classes_read_one_view_per_node_index() -> None:
    args = CompileArgs()
    opts, parse = args.check()
    completed = complete(load([EXAMPLES], parse=parse), args.complete_options())
    clusters = list(node_clusters(completed, opts).values())
    first = clusters[0]
    assert view_of(first) is view_of(first)
    assert reference_for(first).cluster is view_of(first)
    assert view_of(first).objects is completed
    assert view_of(first.scope) is not view_of(first.scope)  # a bare Scope: not cached
