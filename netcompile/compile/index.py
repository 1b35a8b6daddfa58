"""The compiler's Cluster: the completed objects, indexed, and the questions the compiler asks of them.

The compiler's own (the reference evaluator has its own index in verify/reference/): the node and its
addresses, the pod networks, who a selector picks, what a named port resolves to, and the endpoints of a
Service port as its EndpointSlices (or legacy Endpoints) carry them. It is given objects already
completed (`pipeline.complete`: EndpointSlices derived from pods, once per input, not once per node), so
pods never stand for endpoints here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, collapse_addresses, summarize_address_range

from ..gcpause import paused_gc
from ..model import (
    EndpointSlice,
    IPAddress,
    IPNetwork,
    Namespace,
    NetworkPolicy,
    Node,
    Objects,
    Pod,
    Protocol,
    Scope,
    Service,
    ServicePort,
)
from ..model.selectors import LabelSelector, Operator, Requirement


class ClusterError(Exception):
    """A problem with the question asked (e.g. `--node` names no Node), not with one object."""


@dataclass(slots=True)  # not frozen: 100k are made per compile, and a frozen __init__ is 3x slower
class Endpoint:
    """One backend of one Service port, with the conditions the EndpointSlice carries."""

    address: IPAddress
    port: int
    ready: bool
    serving: bool
    terminating: bool
    node_name: str | None
    zone: str | None
    hint_zones: tuple[str, ...] | None
    pod: str | None  # "ns/pod" when a pod in the input has the address

    @property
    def target(self) -> str:
        """The pod, else the address: for comments and reasons."""
        return self.pod or str(self.address)


def requirement_holds(req: Requirement, labels: Mapping[str, str]) -> bool:
    match req.operator:
        case Operator.IN:
            return req.key in labels and labels[req.key] in req.values
        case Operator.NOT_IN:
            return req.key not in labels or labels[req.key] not in req.values
        case Operator.EXISTS:
            return req.key in labels
        case Operator.DOES_NOT_EXIST:
            return req.key not in labels


def selector_matches(selector: LabelSelector, labels: Mapping[str, str]) -> bool:
    """matchLabels and matchExpressions, ANDed; the empty selector matches everything."""
    for key, value in selector.match_labels:
        if labels.get(key) != value:
            return False
    return all(requirement_holds(req, labels) for req in selector.match_expressions)


def named_port(pod: Pod, name: str, protocol: Protocol) -> int | None:
    """The container port called `name` with `protocol` (Service targetPorts, policy ports)."""
    for port in pod.ports:
        if port.name == name and port.protocol == protocol:
            return port.port
    return None


def collapse(networks: Iterable[IPNetwork]) -> tuple[IPNetwork, ...]:
    """Sorted, merged networks, IPv4 first (deterministic set contents)."""
    networks = list(networks)
    v4 = [n for n in networks if isinstance(n, IPv4Network)]
    v6 = [n for n in networks if isinstance(n, IPv6Network)]
    return (*collapse_addresses(v4), *collapse_addresses(v6))


def collapse_points(addresses: Iterable[IPAddress]) -> tuple[IPNetwork, ...]:
    """`collapse` of the addresses' /32 and /128 networks, without making them: each run of consecutive
    addresses as the prefixes that cover exactly it."""
    points: dict[int, set[int]] = {4: set(), 6: set()}
    for address in addresses:
        points[address.version].add(int(address))
    out: list[IPNetwork] = []
    for version, make in ((4, IPv4Address), (6, IPv6Address)):
        ordered = sorted(points[version])
        start = 0
        for index, value in enumerate(ordered):
            if index + 1 == len(ordered) or ordered[index + 1] != value + 1:  # the end of a run
                out += summarize_address_range(make(ordered[start]), make(value))
                start = index + 1
    return tuple(out)


class Shared:
    """What the indexes of one set of completed objects hold whatever the node: pods by namespace and by
    address, Services, slices, and each Service port's endpoints once resolved. Every `Cluster` of the
    same objects uses one (`shared`), so `compile --all-nodes` builds it once; warmed before the workers
    fork (`warm`), they inherit it instead of resolving 100k endpoints each."""

    def __init__(self, objects: Objects) -> None:
        self.objects = objects
        self.pods_by_ns: dict[str, list[Pod]] = defaultdict(list)
        for pod in objects.pods:
            self.pods_by_ns[pod.meta.namespace].append(pod)
        self.services: dict[str, Service] = {s.meta.key: s for s in objects.services}
        self.slices_by_service: dict[tuple[str, str], list[EndpointSlice]] = defaultdict(list)
        for eps in objects.endpoint_slices:
            if eps.service_name and eps.address_type in ("IPv4", "IPv6"):
                self.slices_by_service[(eps.meta.namespace, eps.service_name)].append(eps)
        self.endpoints_by_name = {(e.meta.namespace, e.meta.name): e for e in objects.endpoints}
        self.endpoints: dict[tuple[str, str, str | None, Protocol], tuple[Endpoint, ...]] = {}
        self.pods_by_ip: dict[IPAddress, Pod] = {}
        # Whether several nodes' rulesets are compiled from these objects (`pipeline.share_across_nodes`):
        # then a node's compile keeps what the next can replay (compile/reuse.py), which a single node's
        # compile would only pay for, in time and memory.
        self.several_nodes = False
        for pod in objects.pods:
            if pod.host_network or not pod.running:
                continue
            for ip in pod.ips:
                self.pods_by_ip.setdefault(ip, pod)


_SHARED: list[Shared] = []  # the last one made: a compile works on one set of objects at a time


def shared(objects: Objects) -> Shared:
    """The node-independent indexes of `objects`, made on first use and kept for the next `Cluster`."""
    if _SHARED and _SHARED[0].objects is objects:
        return _SHARED[0]
    with paused_gc():
        made = Shared(objects)
    _SHARED[:] = [made]
    return made


class Cluster:
    """The completed objects (`pipeline.complete`), indexed, and the node the ruleset is written for.

    `scope` is what the reference evaluator is given: the same completed objects and the question as asked.
    """

    def __init__(
        self,
        objects: Objects,
        node_name: str | None = None,
        cluster_cidrs: tuple[IPNetwork, ...] = (),
        detect_local_mode: str = "ClusterCIDR",
        masquerade_all: bool = False,
        nodeport_primary: bool = False,
    ) -> None:
        self.scope = Scope(objects, node_name, cluster_cidrs, detect_local_mode, masquerade_all, nodeport_primary)
        with paused_gc():  # indexes of 100k objects: see source.paused_gc
            self._index(objects, node_name, cluster_cidrs)

    def _index(self, objects: Objects, node_name: str | None, cluster_cidrs: tuple[IPNetwork, ...]) -> None:
        self.objects = objects
        self.nodes: dict[str, Node] = {n.meta.name: n for n in objects.nodes}
        if node_name is None and len(self.nodes) > 1:
            raise ClusterError(f"the input has {len(self.nodes)} Nodes; choose one with --node")
        if node_name is not None and self.nodes and node_name not in self.nodes:
            known = ", ".join(sorted(self.nodes))
            raise ClusterError(f"--node {node_name}: no such Node in the input (known: {known})")
        if node_name is None and self.nodes:
            node_name = next(iter(self.nodes))
        self.node_name = node_name
        self.node: Node | None = self.nodes.get(node_name) if node_name else None
        self._cluster_cidrs = cluster_cidrs
        self.namespaces: dict[str, Namespace] = {n.meta.name: n for n in objects.namespaces}
        self._shared = shared(objects)
        self.pods_by_ns = self._shared.pods_by_ns
        self.services = self._shared.services
        self.slices_by_service = self._shared.slices_by_service
        self.endpoints_by_name = self._shared.endpoints_by_name
        self.policies: tuple[NetworkPolicy, ...] = objects.network_policies

    @property
    def shared_indexes(self) -> Shared:
        """The indexes of these objects that do not depend on the node (one for every node's Cluster)."""
        return self._shared

    # --- the node and the network ----------------------------------------------------------------

    @property
    def single_node(self) -> bool:
        """No Node objects: a one-node cluster where every pod is local."""
        return not self.nodes

    def is_local(self, node_name: str | None) -> bool:
        """Is a pod or endpoint on `node_name` on the node this ruleset is for?"""
        if self.single_node:
            return True
        return node_name is not None and node_name == self.node_name

    @cached_property
    def node_addresses(self) -> tuple[IPAddress, ...]:
        """This node's addresses (InternalIP, ExternalIP), in the order the Node lists them."""
        return tuple(a.address for a in self.node.addresses) if self.node else ()

    @cached_property
    def cluster_cidrs(self) -> tuple[IPNetwork, ...]:
        """The pod networks: --cluster-cidr, else every Node's podCIDRs, else every pod's address."""
        if self._cluster_cidrs:
            return collapse(self._cluster_cidrs)
        from_nodes = [c for n in self.objects.nodes for c in n.pod_cidrs]
        if from_nodes:
            return collapse(from_nodes)
        return collapse_points(ip for p in self.objects.pods if not p.host_network and p.running for ip in p.ips)

    def local_networks(self, detect_local_mode: str) -> tuple[IPNetwork, ...] | None:
        """Where a pod's traffic comes from, as kube-proxy's detectLocalMode tells it: the cluster's pod
        networks (ClusterCIDR), this node's podCIDRs (NodeCIDR); None when nothing tells it (None, or
        NodeCIDR on a node without podCIDRs, where kube-proxy does without)."""
        if detect_local_mode == "ClusterCIDR":
            return self.cluster_cidrs
        if detect_local_mode == "NodeCIDR" and self.node is not None and self.node.pod_cidrs:
            return collapse(self.node.pod_cidrs)
        return None

    def pod_ips(self, pod: Pod) -> tuple[IPAddress, ...]:
        """A pod's addresses. A hostNetwork pod without status IPs has what the kubelet would report:
        its node's primary address of each family (the first InternalIP, else the first address)."""
        if pod.ips or not pod.host_network:
            return pod.ips
        node = self.nodes.get(pod.node_name or "")
        if node is None:
            return ()
        ordered = [a for a in node.addresses if a.type == "InternalIP"] + list(node.addresses)
        primary: dict[int, IPAddress] = {}
        for a in ordered:
            primary.setdefault(a.address.version, a.address)
        return tuple(primary[v] for v in sorted(primary))

    # --- selection ---------------------------------------------------------------------------------

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        """A namespace's labels; one that is only referred to still has its name label."""
        ns = self.namespaces.get(namespace)
        if ns is not None:
            return ns.meta.label_dict()
        return {"kubernetes.io/metadata.name": namespace}

    @cached_property
    def namespace_names(self) -> tuple[str, ...]:
        """Every namespace: declared ones and those objects live in."""
        names = set(self.namespaces) | set(self.pods_by_ns)
        names |= {s.meta.namespace for s in self.objects.services}
        names |= {p.meta.namespace for p in self.objects.network_policies}
        return tuple(sorted(names))

    def select_pods(self, namespace: str, selector: LabelSelector) -> list[Pod]:
        return [p for p in self.pods_by_ns.get(namespace, ()) if selector_matches(selector, p.meta.label_dict())]

    # --- Service endpoints -------------------------------------------------------------------------

    def endpoints(self, service: Service, port: ServicePort) -> tuple[Endpoint, ...]:
        """The endpoints of one Service port, as the EndpointSlice controller publishes them.

        From EndpointSlices labelled with the Service's name (ports matched by name and protocol), else
        from a legacy Endpoints object of the same name (for a Service with a selector, completion has
        derived its slices from pods). Sorted by address and port, duplicates removed (the first slice,
        by name, wins). Resolved once per set of objects (`Shared`): nothing here depends on the node.
        """
        cache_key = (service.meta.namespace, service.meta.name, port.name, port.protocol)
        cached = self._shared.endpoints.get(cache_key)
        if cached is None:
            cached = self._shared.endpoints[cache_key] = self._resolve_endpoints(service, port)
        return cached

    def _resolve_endpoints(self, service: Service, port: ServicePort) -> tuple[Endpoint, ...]:
        key = (service.meta.namespace, service.meta.name)
        slices = self.slices_by_service.get(key)
        found: dict[tuple[int, int, int], Endpoint] = {}  # (version, address, port): sorts in C, hashes fast
        if slices:
            for eps in sorted(slices, key=lambda s: s.meta.name):
                for slice_port in eps.ports:
                    if slice_port.name != port.name or slice_port.protocol != port.protocol:
                        continue
                    for ep in eps.endpoints:
                        if not ep.addresses:
                            continue
                        address = ep.addresses[0]  # as kube-proxy: the first address is the endpoint
                        found.setdefault(
                            (address.version, int(address), slice_port.port),
                            Endpoint(
                                address,
                                slice_port.port,
                                ep.conditions.ready,
                                ep.conditions.serving,
                                ep.conditions.terminating,
                                ep.node_name,
                                ep.zone,
                                ep.hint_zones,
                                self._pod_key(address),
                            ),
                        )
        elif key in self.endpoints_by_name:
            for subset in self.endpoints_by_name[key].subsets:
                for ep_port in subset.ports:
                    if ep_port.name != port.name or ep_port.protocol != port.protocol:
                        continue
                    for ready, addresses in ((True, subset.addresses), (False, subset.not_ready_addresses)):
                        for a in addresses:
                            found.setdefault(
                                (a.ip.version, int(a.ip), ep_port.port),
                                Endpoint(
                                    a.ip,
                                    ep_port.port,
                                    ready,
                                    ready,
                                    False,
                                    a.node_name,
                                    self._node_zone(a.node_name),
                                    None,
                                    self._pod_key(a.ip),
                                ),
                            )
        return tuple(found[key] for key in sorted(found))

    @staticmethod
    def target_port(pod: Pod, target: int | str, protocol: Protocol) -> int | None:
        """A Service targetPort on one pod: a number as is, a name through the pod's container ports."""
        if isinstance(target, int):
            return target
        return named_port(pod, target, protocol)

    def _node_zone(self, node_name: str | None) -> str | None:
        node = self.nodes.get(node_name or "")
        return node.zone if node else None

    @property
    def _pods_by_ip(self) -> dict[IPAddress, Pod]:
        return self._shared.pods_by_ip

    def pod_by_ip(self, address: IPAddress) -> Pod | None:
        return self._pods_by_ip.get(address)

    def _pod_key(self, address: IPAddress) -> str | None:
        pod = self._pods_by_ip.get(address) if self._pods_by_ip else None
        return pod.meta.key if pod is not None else None
