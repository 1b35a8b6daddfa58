"""The reference evaluator's own view of the completed objects (docs/semantics.md, terms and §2.2).

Written from docs/semantics.md, not from the compiler: the node and its addresses (L), the pod
networks (P), locality, pod addresses, label selection, named container ports, and the endpoints of a
Service port as its EndpointSlices (or a legacy Endpoints object) state them. The objects arrive
completed (`model.Scope`): EndpointSlices of Services with selectors are already derived from pods.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, summarize_address_range
from typing import Protocol as TypingProtocol
from weakref import WeakKeyDictionary

from ...model import (
    IPAddress,
    IPNetwork,
    Node,
    Objects,
    Pod,
    Protocol,
    Scope,
    Service,
    ServicePort,
)
from ...model.selectors import LabelSelector, Operator
from ...values import Value

NAME_LABEL = "kubernetes.io/metadata.name"


class HasScope(TypingProtocol):
    """Anything that carries the completed objects it was built from (e.g. the compiler's index)."""

    @property
    def scope(self) -> Scope: ...


def labels_select(selector: LabelSelector, labels: Mapping[str, str]) -> bool:
    """A label selector: every matchLabels pair and every matchExpressions requirement holds."""
    for key, value in selector.match_labels:
        if labels.get(key) != value:  # (a value is a string: a missing key never holds)
            return False
    expressions = selector.match_expressions
    return not expressions or all(_holds(r.operator, r.key, r.values, labels) for r in expressions)


def _holds(operator: Operator, key: str, values: frozenset[str], labels: Mapping[str, str]) -> bool:
    if operator == Operator.EXISTS:
        return key in labels
    if operator == Operator.DOES_NOT_EXIST:
        return key not in labels
    inside = key in labels and labels[key] in values
    return inside if operator == Operator.IN else not inside


def container_port(pod: Pod, name: str, protocol: Protocol) -> int | None:
    """The number of the pod's container port called `name` for `protocol`, if it has one."""
    numbers = [c.port for c in pod.ports if c.protocol == protocol and c.name == name]
    return numbers[0] if numbers else None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Endpoint(Value):
    """One endpoint of one Service port, with the conditions its EndpointSlice states."""

    address: IPAddress
    port: int
    ready: bool
    serving: bool
    terminating: bool
    node_name: str | None
    hint_zones: tuple[str, ...] | None
    target: str  # "ns/pod" when a pod has the address, else the address


def _merged(networks: Iterable[IPNetwork]) -> tuple[IPNetwork, ...]:
    """The fewest CIDRs that hold exactly the addresses of `networks`, IPv4 first, each family in address
    order (what `ipaddress.collapse_addresses` gives per family)."""
    return _cover((n.version, int(n.network_address), int(n.broadcast_address)) for n in networks)


def _cover(spans: Iterable[tuple[int, int, int]]) -> tuple[IPNetwork, ...]:
    """`_merged` of address ranges (IP version, first, last), as integers: the ranges sorted and joined
    where they overlap or touch, then each cut into CIDRs."""
    out: list[IPNetwork] = []
    ordered = sorted(spans)
    for version, address in ((4, IPv4Address), (6, IPv6Address)):
        joined: list[list[int]] = []
        for _, first, last in (s for s in ordered if s[0] == version):
            if joined and first <= joined[-1][1] + 1:
                joined[-1][1] = max(joined[-1][1], last)
            else:
                joined.append([first, last])
        for first, last in joined:
            out += summarize_address_range(address(first), address(last))
    return tuple(out)


class View:
    """The completed objects as the reference evaluator reads them, for one node."""

    def __init__(self, source: Scope | HasScope) -> None:
        scope = source if isinstance(source, Scope) else source.scope
        self.objects: Objects = scope.objects
        self.nodes: dict[str, Node] = {}
        for node in scope.objects.nodes:
            self.nodes.setdefault(node.meta.name, node)
        name = scope.node_name
        if name is None and len(self.nodes) == 1:
            name = next(iter(self.nodes))
        self.node_name = name
        self.node: Node | None = self.nodes.get(name) if name is not None else None
        self.services: dict[str, Service] = {s.meta.key: s for s in scope.objects.services}
        self.policies = scope.objects.network_policies
        self.node_addresses: tuple[IPAddress, ...] = (
            tuple(a.address for a in self.node.addresses) if self.node is not None else ()
        )
        self.cluster_cidrs = self._pod_networks(scope.cluster_cidrs)
        self.masquerade_all = scope.masquerade_all
        self.nodeport_primary = scope.nodeport_primary
        # The node's primary address of each family (kube-proxy's GetNodeHostIPs): InternalIPs first.
        ranked = sorted(self.node.addresses, key=lambda a: a.type != "InternalIP") if self.node else []
        firsts = {a.address.version: a.address for a in reversed(ranked)}
        self.primary_addresses = tuple(firsts[v] for v in (4, 6) if v in firsts)
        self.detect_local_mode = scope.detect_local_mode
        # L, the sources kube-proxy takes for pods (§1): the pod networks with detectLocalMode ClusterCIDR,
        # this node's own with NodeCIDR; None when nothing tells pods apart (None, or a node without any).
        self.pod_sources: tuple[IPNetwork, ...] | None = None
        if scope.detect_local_mode == "ClusterCIDR":
            self.pod_sources = self.cluster_cidrs
        elif scope.detect_local_mode == "NodeCIDR" and self.node is not None and self.node.pod_cidrs:
            self.pod_sources = _merged(self.node.pod_cidrs)
        # With BridgeInterface and InterfaceNamePrefix, pods are told by the interface their packets arrive
        # on: that bridge exactly, or any name starting with the prefix (`pod_interface`: name, is a prefix).
        config = scope.objects.proxy_config
        self.pod_interface: tuple[str, bool] | None = None
        if config is not None and scope.detect_local_mode == "BridgeInterface" and config.bridge_interface:
            self.pod_interface = (config.bridge_interface, False)
        elif config is not None and scope.detect_local_mode == "InterfaceNamePrefix" and config.interface_name_prefix:
            self.pod_interface = (config.interface_name_prefix, True)
        self._pod_at: dict[IPAddress, str] = {}
        for pod in scope.objects.pods:
            if pod.phase == "Running" and not pod.host_network:
                for address in pod.ips:
                    self._pod_at.setdefault(address, pod.meta.key)
        self._ns_labels = {n.meta.name: dict(n.meta.labels) for n in scope.objects.namespaces}

    def _pod_networks(self, given: tuple[IPNetwork, ...]) -> tuple[IPNetwork, ...]:
        """P: --cluster-cidr, else the Nodes' podCIDRs, else every running pod's address."""
        if given:
            return _merged(given)
        cidrs = [c for node in self.objects.nodes for c in node.pod_cidrs]
        if cidrs:
            return _merged(cidrs)
        running = [p for p in self.objects.pods if p.phase == "Running" and not p.host_network]
        return _cover((a.version, int(a), int(a)) for pod in running for a in pod.ips)

    def is_local(self, node_name: str | None) -> bool:
        """With no Node objects every pod is local; otherwise a pod on this node's name is."""
        if not self.nodes:
            return True
        return node_name is not None and node_name == self.node_name

    def pod_ips(self, pod: Pod) -> tuple[IPAddress, ...]:
        """A pod's addresses; a hostNetwork pod without any has its node's first address of each family,
        InternalIPs preferred."""
        if not pod.host_network or pod.ips:
            return pod.ips
        node = self.nodes.get(pod.node_name) if pod.node_name else None
        if node is None:
            return ()
        found: dict[int, IPAddress] = {}
        internal = [a.address for a in node.addresses if a.type == "InternalIP"]
        for address in internal + [a.address for a in node.addresses]:
            if address.version not in found:
                found[address.version] = address
        return tuple(found[v] for v in (4, 6) if v in found)

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        """A declared namespace's labels; an undeclared one has only its name label."""
        labels = self._ns_labels.get(namespace)
        return dict(labels) if labels is not None else {NAME_LABEL: namespace}

    def endpoints(self, service: Service, sp: ServicePort) -> list[Endpoint]:
        """The endpoints of one Service port: from the EndpointSlices labelled with the Service's name (ports
        matched by name and protocol; an endpoint is its first address; a duplicate address and port keeps
        the first, slices taken by name), else from an Endpoints object of the Service's name."""
        namespace, name = service.meta.namespace, service.meta.name
        slices = [
            s
            for s in self.objects.endpoint_slices
            if s.meta.namespace == namespace and s.service_name == name and s.address_type in ("IPv4", "IPv6")
        ]
        seen: dict[tuple[IPAddress, int], Endpoint] = {}
        if slices:
            for eps in sorted(slices, key=lambda s: s.meta.name):
                numbers = [p.port for p in eps.ports if p.name == sp.name and p.protocol == sp.protocol]
                for number in numbers:
                    for ep in eps.endpoints:
                        if not ep.addresses:
                            continue
                        address, c = ep.addresses[0], ep.conditions
                        if (address, number) not in seen:
                            seen[(address, number)] = Endpoint(
                                address,
                                number,
                                c.ready,
                                c.serving,
                                c.terminating,
                                ep.node_name,
                                ep.hint_zones,
                                self._pod_at.get(address, str(address)),
                            )
        else:
            legacy = next(
                (e for e in self.objects.endpoints if (e.meta.namespace, e.meta.name) == (namespace, name)), None
            )
            for subset in legacy.subsets if legacy is not None else ():
                for port in subset.ports:
                    if (port.name, port.protocol) != (sp.name, sp.protocol):
                        continue
                    for is_ready, addresses in ((True, subset.addresses), (False, subset.not_ready_addresses)):
                        for a in addresses:
                            if (a.ip, port.port) not in seen:
                                seen[(a.ip, port.port)] = Endpoint(
                                    a.ip,
                                    port.port,
                                    is_ready,
                                    is_ready,
                                    False,
                                    a.node_name,
                                    None,
                                    self._pod_at.get(a.ip, str(a.ip)),
                                )
        return sorted(seen.values(), key=lambda e: (e.address.version, int(e.address), e.port))


_views: WeakKeyDictionary[HasScope, View] = WeakKeyDictionary()


def view_of(source: Scope | HasScope) -> View:
    """The View of a scope's holder (e.g. the compiler's index of a node), built on first use and kept as
    long as the holder lives: what reads the same node reads one View (a bare Scope is not cached)."""
    if isinstance(source, Scope):
        return View(source)
    found = _views.get(source)
    if found is None:
        found = _views[source] = View(source)
    return found
