"""Atoms: the pieces the input cuts addresses and ports into.

Two addresses inside exactly the same CIDRs of the input (policies' ipBlocks and their excepts, the Nodes'
pod networks, the cluster's pod networks) are one atom: no rule written from that input can tell them
apart by a prefix. Two port numbers that no port, endPort, container port or Service port of the input
names, and that no range of the input separates, are one atom too.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

from ..model import IPAddress, IPNetwork


class AddressAtoms:
    """Which of the input's CIDRs hold an address (and whether the pod networks do), cached per address.

    The CIDRs' first and past-the-last addresses cut each family's address space into pieces that every
    CIDR holds whole or not at all: an address's answer is its piece's, worked out once per piece."""

    def __init__(self, cidrs: Iterable[IPNetwork], pod_networks: Iterable[IPNetwork]) -> None:
        self.cidrs = sorted(set(cidrs), key=lambda n: (n.version, int(n.network_address), n.prefixlen))
        self.pod_networks = tuple(pod_networks)
        self._spans = [_span(n) for n in self.cidrs]
        self._pod_spans = [_span(n) for n in self.pod_networks]
        self._bounds = {
            version: sorted(
                {b for v, first, last in (*self._spans, *self._pod_spans) if v == version for b in (first, last + 1)}
            )
            for version in (4, 6)
        }
        self._atoms: dict[IPAddress, tuple[bool, ...]] = {}
        self._pieces: dict[tuple[int, int], tuple[bool, ...]] = {}

    def atom(self, address: IPAddress) -> tuple[bool, ...]:
        found = self._atoms.get(address)
        if found is None:
            version, number = address.version, int(address)
            piece = (version, bisect_right(self._bounds[version], number))
            found = self._pieces.get(piece)
            if found is None:
                inside = [v == version and first <= number <= last for v, first, last in self._spans]
                inside.append(any(v == version and first <= number <= last for v, first, last in self._pod_spans))
                found = self._pieces[piece] = tuple(inside)
            self._atoms[address] = found
        return found


def _span(network: IPNetwork) -> tuple[int, int, int]:
    """A network's IP version, first and last address, as integers."""
    return network.version, int(network.network_address), int(network.broadcast_address)


class PortAtoms:
    """Port numbers cut at every number and range bound of the input: `atom(p) == atom(q)` when no port
    of the input tells p and q apart."""

    def __init__(self, singles: Iterable[int], ranges: Iterable[tuple[int, int]]) -> None:
        bounds: set[int] = set()
        for port in singles:
            bounds |= {port, port + 1}
        for first, last in ranges:
            bounds |= {first, last + 1}
        self.bounds = sorted(bounds)

    def atom(self, port: int) -> int:
        return bisect_right(self.bounds, port)
