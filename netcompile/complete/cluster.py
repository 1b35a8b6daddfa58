"""The simulated cluster: what a Git repository's manifests leave to the cluster, filled in.

In order: Nodes (synthetic ones when the input has none and a pod needs a node), the pods of workloads
(complete/workloads.py) and bare Pods without status, placed on nodes (complete/nodes.py), their IPs
from their node's pod CIDRs, Services' ClusterIPs, nodePorts and LoadBalancer ingress IPs
(complete/services.py; complete/allocate.py: stable, each from the object's own identity; values given in
the input win), and the namespaces objects use without declaring them. Each thing invented that a user
may want to know of is a notice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from ..model import IPAddress, IPNetwork, Meta, Namespace, Node, Objects, Pod
from .allocate import allocate
from .nodes import SYNTHETIC, Placement, synthetic_nodes
from .options import CompleteOptions
from .services import (
    check_cluster_ips,
    cluster_ips,
    load_balancer_ingress,
    node_ports,
)
from .wanted import unstarted
from .workloads import Planned, planned_pods, represented

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def simulate(objects: Objects, options: CompleteOptions) -> Objects:
    notices: list[str] = []
    nodes = objects.nodes
    bare = [p for p in objects.pods if unstarted(p)]
    skip = represented(objects)
    has_workloads = any((w.meta.namespace, w.meta.kind, w.meta.name) not in skip for w in objects.workloads)
    if not nodes and (bare or has_workloads) and options.nodes > 0:
        nodes = synthetic_nodes(options)
        shown = ", ".join(f"{n.meta.name} ({n.addresses[0].address}, pods {_cidrs(n.pod_cidrs)})" for n in nodes)
        notices.append(f"no Node in the input: simulating {len(nodes)} ({shown})")
    existing = {(p.meta.namespace, p.meta.name) for p in objects.pods}
    planned = []
    for plan in planned_pods(objects, nodes, skip):  # a StatefulSet's pod may have the name of a Pod of the input
        if (plan.pod.meta.namespace, plan.pod.meta.name) in existing:
            notices.append(f"{plan.pod.meta.ref}: in the input already, not owned by its workload: kept as is")
        else:
            planned.append(plan)
    made = len(planned)
    planned += [Planned(_started(p), f"Pod/{p.meta.namespace}/{p.meta.name}", ()) for p in bare]
    placed = _place(planned, nodes, notices)
    given_ips = [a for p in objects.pods if not unstarted(p) for a in p.ips]
    pods = _pod_ips(placed, nodes, given_ips, notices)
    started = iter(pods[made:])  # the bare Pods, in input order
    out_pods = [next(started) if unstarted(p) else p for p in objects.pods] + pods[:made]
    check_cluster_ips(objects.services, options, notices)
    services = cluster_ips(objects.services, options, notices)
    services = node_ports(services, options, notices)
    services = load_balancer_ingress(services, nodes, options, notices)
    pod_families = {c.version for n in nodes for c in n.pod_cidrs}
    for before, after in zip(objects.services, services, strict=True):
        for family in sorted({a.version for a in after.cluster_ips} - {a.version for a in before.cluster_ips}):
            if family not in pod_families and after.selector is not None:
                notices.append(
                    f"{after.meta.ref}: an IPv{family} clusterIP, but no node has an IPv{family} pod CIDR: "
                    "no pod gets an endpoint of that family"
                )
    namespaces = _namespaces(objects, out_pods, notices)
    return replace(
        objects,
        nodes=tuple(nodes),
        pods=tuple(out_pods),
        services=tuple(services),
        namespaces=objects.namespaces + tuple(namespaces),
        notices=objects.notices + tuple(notices),
    )


def _cidrs(cidrs: Iterable[IPNetwork]) -> str:
    return ",".join(str(c) for c in cidrs)


def _started(pod: Pod) -> Pod:
    return replace(pod, phase="Running", ready=True)


def _place(planned: list[Planned], nodes: tuple[Node, ...], notices: list[str]) -> list[tuple[Planned, Node | None]]:
    known = {n.meta.name: n for n in nodes}
    placement = Placement(nodes)
    out: list[tuple[Planned, Node | None]] = []
    for plan in planned:
        pod = plan.pod
        if pod.node_name:
            node = known.get(pod.node_name)
            if node is None:
                notices.append(f'{pod.meta.ref}: spec.nodeName: no Node "{pod.node_name}": the pod stays Pending')
        else:
            node = placement.place(plan.identity, plan.node_selector, plan.point)
            if node is None:
                notices.append(f"{pod.meta.ref}: no node fits its nodeSelector: the pod stays Pending")
        out.append((plan, node))
    return out


def _pod_ips(
    placed: list[tuple[Planned, Node | None]], nodes: tuple[Node, ...], given: list[IPAddress], notices: list[str]
) -> list[Pod]:
    """Each pod on its node, with an address of each of the node's pod CIDRs (hostNetwork: the node's)."""
    requests: dict[IPNetwork, list[str]] = {}
    without: dict[str, None] = {}
    for plan, node in placed:
        if node is not None and not plan.pod.host_network:
            if not node.pod_cidrs:
                without.setdefault(node.meta.name)
            for cidr in node.pod_cidrs:
                requests.setdefault(cidr, []).append(plan.identity)
    for name in without:
        notices.append(f'Node "{name}": no spec.podCIDR(s): the pods netcompile places on it get no address')
    addresses: dict[str, tuple[IPAddress, ...]] = {}  # one address of each of the node's pod CIDRs, in order
    collided: set[str] = set()
    inside = _by_network(given + [a.address for n in nodes for a in n.addresses], requests)
    for cidr, identities in requests.items():
        base, make = int(cidr.network_address), type(cidr.network_address)
        taken = {0, 1, cidr.num_addresses - 1} | {int(a) - base for a in inside.get(cidr, ())}
        result = allocate(cidr.num_addresses, taken, identities)
        for identity in identities:
            slot = result.slots.get(identity)
            if slot is None:
                notices.append(f"pod CIDR {cidr} is full: {identity} gets no address")
                continue
            address = make(base + slot)
            addresses[identity] = (*addresses.get(identity, ()), address)
            if identity in result.contested:
                collided.add(identity)
    out: list[Pod] = []
    moved: dict[str, list[str]] = {}
    for plan, node in placed:
        pod = plan.pod
        if node is None:
            out.append(replace(pod, node_name=pod.node_name, phase="Pending", ready=False))
        elif pod.host_network:
            # what its kubelet reports: the node's first InternalIP of each family, else its first address
            ranked = [a for a in node.addresses if a.type == "InternalIP"] + list(node.addresses)
            primary: dict[int, IPAddress] = {}
            for a in ranked:
                primary.setdefault(a.address.version, a.address)
            out.append(replace(pod, node_name=node.meta.name, ips=tuple(primary[v] for v in sorted(primary))))
        else:
            ips = addresses.get(plan.identity, ())
            out.append(_on_node(pod, node.meta.name, ips))
            if plan.identity in collided:
                moved.setdefault(node.meta.name, []).append(f"{pod.meta.ref} {','.join(str(a) for a in ips)}")
    for node_name, shown in moved.items():
        notices.append(
            f'Node "{node_name}": {len(shown)} pod IPs are not their first choice (a collision: a change to '
            f"another pod of the node may move them): {', '.join(shown)}"
        )
    return out


def _on_node(pod: Pod, node_name: str, ips: tuple[IPAddress, ...]) -> Pod:
    """replace(pod, node_name=..., ips=...), field by field: a tenth of its cost, once per pod."""
    p = pod
    return Pod(p.meta, node_name, p.host_network, p.phase, ips, p.ports, p.terminating, p.ready, p.owners, p.naming)


def _by_network(addresses: Iterable[IPAddress], networks: Iterable[IPNetwork]) -> dict[IPNetwork, list[IPAddress]]:
    """The addresses in each of `networks`, in one pass per prefix length (not one per network)."""
    wanted = {(n.version, n.prefixlen, int(n.network_address)): n for n in networks}
    lengths = {(version, length) for version, length, _ in wanted}
    out: dict[IPNetwork, list[IPAddress]] = {}
    for address in addresses:
        bits = 32 if address.version == 4 else 128
        for version, length in lengths:
            if version == address.version:
                start = (int(address) >> (bits - length)) << (bits - length)
                network = wanted.get((version, length, start))
                if network is not None:
                    out.setdefault(network, []).append(address)
    return out


def _namespaces(objects: Objects, pods: list[Pod], notices: list[str]) -> list[Namespace]:
    declared = {n.meta.name for n in objects.namespaces}
    used: dict[str, None] = {}
    groups: list[Iterable[Meta]] = [
        (p.meta for p in pods),
        (s.meta for s in objects.services),
        (w.meta for w in objects.workloads),
        (p.meta for p in objects.network_policies),
        (e.meta for e in objects.endpoint_slices),
        (e.meta for e in objects.endpoints),
    ]
    for metas in groups:
        for meta in metas:
            if meta.namespace and meta.namespace not in declared:
                used.setdefault(meta.namespace)
    out: list[Namespace] = []
    for name in used:
        out.append(Namespace(Meta("Namespace", "", name, ((NAMESPACE_NAME_LABEL, name),), SYNTHETIC)))
        notices.append(f'Namespace "{name}": not in the input: it exists implicitly ({NAMESPACE_NAME_LABEL} only)')
    return out
