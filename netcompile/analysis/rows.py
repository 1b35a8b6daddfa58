"""The matrix's rows and columns: its pods (running, with an address, not hostNetwork), its sources (those
pods from their first address, then outside clients) and the pods' addresses of an IP family, as the
journeys (journeys.py) place them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..journeys import EndpointError, Network, Place
from ..model import IPAddress, Pod
from ..values import Value


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Source(Value):
    """A row: a pod (its index among the matrix's pods) or an outside client (pod None)."""

    place: Place
    pod: int | None
    outside: int = -1  # for an outside client, its index among them


def left_out_because(net: Network, pod: Pod) -> str | None:
    """Why the matrix has no row or column for `pod` (None: it has them)."""
    if pod.host_network:
        return "hostNetwork: it uses its node's addresses (probe the node: trace --from node:NAME)"
    if pod.phase in ("Succeeded", "Failed"):
        return f"completed (phase {pod.phase}): its containers no longer run"
    if not pod.running:
        return f"not running (phase {pod.phase or 'unknown'})"
    if not net.any_cluster.pod_ips(pod):
        return "no address (status.podIP is not set)"
    return None


def matrix_pods(net: Network) -> tuple[list[Pod], list[tuple[Pod, str]]]:
    """The pods of the matrix (running, with an address, not hostNetwork; by key), and the others with why."""
    pods: list[Pod] = []
    left_out: list[tuple[Pod, str]] = []
    for pod in sorted(net.objects.pods, key=lambda p: p.meta.key):
        reason = left_out_because(net, pod)
        if reason is None:
            pods.append(pod)
        else:
            left_out.append((pod, reason))
    return pods, left_out


def sources_of(net: Network, pods: Sequence[Pod], externals: Sequence[IPAddress]) -> list[Source]:
    out = [Source(net.place_of_pod(p), i) for i, p in enumerate(pods)]
    return out + [Source(Place(a, f"external {a}", None), None, n) for n, a in enumerate(externals)]


def destination(net: Network, pod: Pod, source: Source) -> IPAddress | None:
    """The destination pod's address of the source's family (None: it has none)."""
    return address_of(net, pod, source.place.address.version)


def address_of(net: Network, pod: Pod, version: int) -> IPAddress | None:
    """The pod's address of IP `version` (None: it has none)."""
    try:
        return net.place_of_pod(pod, version).address
    except EndpointError:  # a single-stack pod, from a source of the other family
        return None
