"""Nodes of the simulated cluster: synthetic ones when the input has none, and where pods go.

Placement is rendezvous hashing (highest random weight): a pod without `nodeName` goes to the node,
among those its `nodeSelector` allows, with the largest SHA-256 of `<pod identity>|<node name>`. It depends
on the pod's identity and the set of nodes only: adding a node moves only the pods that now prefer it,
and nothing else in the input moves any pod. The scheduler's spreading is not simulated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from hashlib import sha256
from ipaddress import ip_address

from ..errors import Position
from ..model import Meta, Node, NodeAddress
from .options import NODE_NAME_PREFIX, CompleteOptions

SYNTHETIC = Position("<simulated>", 1, 1)
HOSTNAME_LABEL = "kubernetes.io/hostname"


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
    return [n for n in nodes if all(n.meta.label_dict().get(k) == v for k, v in node_selector.items())]


def place(identity: str, nodes: Sequence[Node]) -> Node | None:
    """The node a pod of `identity` goes to (rendezvous hashing); None when no node fits."""
    if not nodes:
        return None
    return max(nodes, key=lambda n: (sha256(f"{identity}|{n.meta.name}".encode()).digest(), n.meta.name))
