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
    """Which of the input's CIDRs hold an address (and whether the pod networks do), cached per address."""

    def __init__(self, cidrs: Iterable[IPNetwork], pod_networks: Iterable[IPNetwork]) -> None:
        self.cidrs = sorted(set(cidrs), key=lambda n: (n.version, int(n.network_address), n.prefixlen))
        self.pod_networks = tuple(pod_networks)
        self._atoms: dict[IPAddress, tuple[bool, ...]] = {}

    def atom(self, address: IPAddress) -> tuple[bool, ...]:
        found = self._atoms.get(address)
        if found is None:
            inside = [n.version == address.version and address in n for n in self.cidrs]
            inside.append(any(n.version == address.version and address in n for n in self.pod_networks))
            found = self._atoms[address] = tuple(inside)
        return found


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
