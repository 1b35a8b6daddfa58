"""Pods into equivalence classes: pods that nothing in the input can tell apart.

Two pods are in one class when they share everything a rule, a reference judgement or a journey could
depend on, except their names and addresses:
- the namespace (so every namespaceSelector sees the same namespace labels);
- the values of every label key that some selector names (NetworkPolicies' podSelectors and peers,
  Services' selectors), and the absence of the others among those keys;
- the node (as the Pod names it, and as the journeys route to it), readiness and termination;
- the container ports (names, numbers, protocols: named ports resolve on them);
- per address: its family and atom (which of the input's CIDRs hold it), and the address itself when
  it is special (a node's, a Service's, or claimed by more than one running pod): such a pod is alone;
- the endpoints its addresses are, Service port by Service port, with their conditions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..model import IPAddress, IPNetwork, Pod
from ..model.selectors import LabelSelector
from ..values import Value
from ..verify.reference.view import View
from .atoms import AddressAtoms

PortKey = tuple[tuple[str, int, str], ...]  # a pod's container ports: (name, number, protocol), sorted


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PodClass(Value):
    """One class: its pods (in input order of the matrix) and what its members share."""

    index: int
    key: tuple[Any, ...]
    pods: tuple[int, ...]  # indices into the matrix's pods
    namespace: str
    labels: tuple[tuple[str, str], ...]  # the labels selectors see
    ports: PortKey
    special: bool  # an address of its pod is special: the class is that pod alone


def selector_keys(selector: LabelSelector | None) -> set[str]:
    if selector is None:
        return set()
    return {k for k, _ in selector.match_labels} | {r.key for r in selector.match_expressions}


class Facts:
    """What the input says of addresses and pods, read once: seen label keys, CIDRs, special addresses,
    endpoints by address (the reference's reading of EndpointSlices and Endpoints).

    Made from the reference's reading alone, never the compiler's: `view` (the completed objects as the
    reference evaluator reads them), the pod networks given (--cluster-cidr), and `pod_node`, the node
    a pod's packets are judged on (None: no node of the input). The matrix takes them from its Network;
    lint from its references."""

    def __init__(self, view: View, cluster_cidrs: Sequence[IPNetwork], pod_node: Callable[[Pod], str | None]) -> None:
        objects = view.objects
        self.view = view
        self.pod_node = pod_node
        seen: set[str] = set()
        cidrs: list[IPNetwork] = []
        for policy in objects.network_policies:
            seen |= selector_keys(policy.pod_selector)
            for rule in (*policy.ingress, *policy.egress):
                for peer in rule.peers or ():
                    seen |= selector_keys(peer.pod_selector)
                    if peer.ip_block is not None:
                        cidrs += [peer.ip_block.cidr, *peer.ip_block.except_]
        for node in objects.nodes:
            cidrs += node.pod_cidrs
        cidrs += cluster_cidrs
        special: set[IPAddress] = set()
        self.endpoints: dict[IPAddress, list[tuple[Any, ...]]] = {}
        for svc in objects.services:
            seen |= selector_keys(svc.selector)
            special |= {*svc.cluster_ips, *svc.external_ips, *(i.ip for i in svc.load_balancer_ingress)}
            for sp in svc.ports:
                for ep in self.view.endpoints(svc, sp):
                    entry = (
                        svc.meta.key,
                        sp.name,
                        sp.protocol.value,
                        ep.port,
                        ep.ready,
                        ep.serving,
                        ep.terminating,
                        ep.node_name,
                        ep.hint_zones,
                    )
                    self.endpoints.setdefault(ep.address, []).append(entry)
        for node in objects.nodes:
            special |= {a.address for a in node.addresses}
        claims: dict[IPAddress, int] = {}
        for pod in objects.pods:
            if pod.running:
                for address in self.view.pod_ips(pod):
                    claims[address] = claims.get(address, 0) + 1
        special |= {a for a, n in claims.items() if n > 1}
        self.special = frozenset(special)
        self.seen_keys = frozenset(seen)
        self.atoms = AddressAtoms(cidrs, self.view.cluster_cidrs)

    def address_key(self, address: IPAddress) -> tuple[Any, ...]:
        special = address if self.special and address in self.special else None
        return (address.version, self.atoms.atom(address), special)


def port_key(pod: Pod) -> PortKey:
    return tuple(sorted((c.name or "", c.port, c.protocol.value) for c in pod.ports))


def classes_of(facts: Facts, pods: Sequence[Pod]) -> tuple[list[PodClass], list[int]]:
    """The classes of `pods` (ordered by their first pod) and, for each pod, the index of its class."""
    by_key: dict[tuple[Any, ...], list[int]] = {}
    labels_of: dict[tuple[Any, ...], tuple[tuple[str, str], ...]] = {}
    seen: dict[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]] = {}  # a pod's labels: those selectors see
    endpoints, no_endpoints = facts.endpoints, ((),)
    for i, pod in enumerate(pods):
        labels = seen.get(pod.meta.labels)
        if labels is None:
            labels = seen[pod.meta.labels] = tuple(sorted((k, v) for k, v in pod.meta.labels if k in facts.seen_keys))
        addresses = tuple(facts.address_key(a) for a in pod.ips)
        key = (
            pod.meta.namespace,
            labels,
            pod.node_name,
            facts.pod_node(pod),
            pod.ready,
            pod.terminating,
            port_key(pod),
            addresses,
            tuple(tuple(sorted(endpoints.get(a, ()), key=repr)) for a in pod.ips)
            if endpoints or len(pod.ips) != 1
            else no_endpoints,
            tuple(facts.view.pod_ips(pod)) if any(a[2] is not None for a in addresses) else None,
        )
        by_key.setdefault(key, []).append(i)
        labels_of[key] = labels
    classes: list[PodClass] = []
    class_of = [0] * len(pods)
    for key, members in by_key.items():
        first = pods[members[0]]
        special = key[-1] is not None
        classes.append(
            PodClass(len(classes), key, tuple(members), first.meta.namespace, labels_of[key], key[6], special)
        )
        for i in members:
            class_of[i] = len(classes) - 1
    return classes, class_of
