"""Nodes of the simulated cluster: synthetic ones when the input has none, and where pods go.

Placement is consistent hashing: each node has POINTS points on a ring of 64-bit hashes (SHA-256 of
`<node name>#<i>`), and a pod without `nodeName` goes to the node, among those its `nodeSelector` allows,
of the first point at or after the hash of the pod's identity. It depends on the pod's identity and the
set of nodes only: adding a node moves only the pods that land on its points, and nothing else in the
input moves any pod. The scheduler's spreading is not simulated.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from hashlib import sha256
from ipaddress import ip_address

from ..errors import Position
from ..model import Labels, Meta, Node, NodeAddress
from .options import NODE_NAME_PREFIX, CompleteOptions

SYNTHETIC = Position("<simulated>", 1, 1)
HOSTNAME_LABEL = "kubernetes.io/hostname"
POINTS = 64  # points per node on the placement ring: spreads pods within a few percent of evenly


def synthetic_name(index: int) -> str:
    """kind's worker names: kind-worker, kind-worker2, kind-worker3, ..."""
    return NODE_NAME_PREFIX if index == 0 else f"{NODE_NAME_PREFIX}{index + 1}"


def synthetic_nodes(options: CompleteOptions) -> tuple[Node, ...]:
    """`options.nodes` Nodes with kind's addresses and pod CIDRs (complete/options.py)."""
    nodes: list[Node] = []
    for index in range(options.nodes):
        name = synthetic_name(index)
        labels = {HOSTNAME_LABEL: name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
        cidrs = tuple(options.node_pod_cidr(network, index) for network in options.pod_cidrs)
        address = ip_address(int(options.node_network.network_address) + index + 2)
        meta = Meta("Node", "", name, tuple(sorted(labels.items())), SYNTHETIC)
        nodes.append(Node(meta, cidrs, (NodeAddress("InternalIP", address),)))
    return tuple(nodes)


def eligible(nodes: Sequence[Node], node_selector: Mapping[str, str]) -> list[Node]:
    """The nodes whose labels have every pair of `node_selector`."""
    if not node_selector:
        return list(nodes)
    return [n for n in nodes if all(n.meta.label_dict().get(k) == v for k, v in node_selector.items())]


def point(text: str) -> int:
    """A place on the ring: the first 8 bytes of SHA-256 of `text` (workloads.suffix_and_point: the same)."""
    return int.from_bytes(sha256(text.encode()).digest()[:8], "big")


class Placement:
    """Where pods go: consistent hashing on a ring of `POINTS` points per node, one ring per set of
    eligible nodes. A pod goes to the node of the first point at or after the hash of its identity."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        self.nodes = nodes
        self._rings: dict[tuple[tuple[str, str], ...], tuple[list[int], list[Node]]] = {}  # by nodeSelector

    def place(self, identity: str, node_selector: Labels, hashed: int | None = None) -> Node | None:
        """The node a pod of `identity` goes to (`hashed`: its point, if known); None when no node fits
        its nodeSelector."""
        ring = self._rings.get(node_selector)
        if ring is None:  # a ring per nodeSelector as written (the same pairs in another order: the same ring)
            fits = eligible(self.nodes, dict(node_selector))
            points = sorted((point(f"{n.meta.name}#{v}"), n.meta.name, n) for n in fits for v in range(POINTS))
            ring = self._rings[node_selector] = ([p for p, _, _ in points], [n for _, _, n in points])
        hashes, owners = ring
        if not owners:
            return None
        return owners[bisect_left(hashes, point(identity) if hashed is None else hashed) % len(owners)]
