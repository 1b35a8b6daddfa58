"""The Cluster model: frozen, typed Kubernetes objects as netcompile understands them.

Objects are built (and validated) by `load/`, completed by `complete/`; the compiler and the reference
evaluator each index them and answer questions of them on their own. Nothing here knows nftables.
Endpoints are in `endpoints`, NetworkPolicies in `policies`, workloads in `workloads` (all named here too).
Addresses are `ipaddress` objects, normalized as Kubernetes normalizes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import TYPE_CHECKING, TypeAlias

from ..errors import Position
from ..values import Frozen, set_field
from .endpoints import (
    EndpointAddress,
    EndpointConditions,
    EndpointPort,
    Endpoints,
    EndpointSlice,
    EndpointSubset,
    SliceEndpoint,
)
from .naming import NO_NAMING, PodNaming
from .policies import IPBlock, NetworkPolicy, PolicyPeer, PolicyPort, PolicyRule, PolicyType
from .proxy import ProxyConfig
from .selectors import LabelSelector
from .workloads import OwnerReference, Workload  # it names this module's types in annotations only

if TYPE_CHECKING:  # imported with the first Ingress read (load/manifests.py): only inputs with Ingresses need it
    from .ingress import Ingress

__all__ = [
    "DETECT_LOCAL_MODES", "ContainerPort", "EndpointAddress", "EndpointConditions", "EndpointPort", "EndpointSlice",
    "EndpointSubset", "Endpoints", "IPAddress", "IPBlock", "IPNetwork", "KubeObject", "Labels", "LoadBalancerIngress",
    "Meta", "Namespace", "NetworkPolicy", "Node", "NodeAddress", "Objects", "Pod", "PolicyPeer", "PolicyPort",
    "PolicyRule", "PolicyType", "Protocol", "Scope", "Service", "ServiceCIDR", "ServicePort", "ServiceType",
    "SliceEndpoint", "TrafficPolicy",
]  # fmt: skip

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network
Labels = tuple[tuple[str, str], ...]  # sorted (key, value) pairs: hashable and deterministic


class Protocol(StrEnum):
    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"


class ServiceType(StrEnum):
    CLUSTER_IP = "ClusterIP"
    NODE_PORT = "NodePort"
    LOAD_BALANCER = "LoadBalancer"
    EXTERNAL_NAME = "ExternalName"


class TrafficPolicy(StrEnum):
    CLUSTER = "Cluster"
    LOCAL = "Local"


@dataclass(init=False, slots=True, eq=False, repr=False)
class Meta(Frozen):
    """What every object has: identity, labels, and where it was defined."""

    kind: str
    namespace: str  # "" for cluster-scoped kinds
    name: str
    labels: Labels
    position: Position
    # Where some fields are, in the object's file: (field path, line << 20 | column) pairs, as the loader
    # found them (load/positions.py), for the fields that diagnostics after loading point at (a
    # namespace, a selector, a targetPort). Not part of the object's value: equality ignores it.
    fields: tuple[tuple[str, int], ...] = field(default=(), compare=False, repr=False)

    def __init__(
        self,
        kind: str,
        namespace: str,
        name: str,
        labels: Labels,
        position: Position,
        fields: tuple[tuple[str, int], ...] = (),
    ) -> None:
        set_field(self, "kind", kind)
        set_field(self, "namespace", namespace)
        set_field(self, "name", name)
        set_field(self, "labels", labels)
        set_field(self, "position", position)
        set_field(self, "fields", fields)

    def field_position(self, path: str) -> Position:
        """Where the field `path` (`spec.ports[0].targetPort`) is, or the nearest enclosing field the
        object spells out; the object's own position when the loader did not record it."""
        for known, packed in self.fields:
            if known == path:
                return Position(self.position.file, packed >> 20, packed & 0xFFFFF)
        return self.position

    @property
    def ref(self) -> str:
        """`Kind "ns/name"` as used in messages and ruleset comments."""
        return f'{self.kind} "{self.key}"'

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def label_dict(self) -> dict[str, str]:
        return dict(self.labels)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Namespace(Frozen):
    """A Namespace: its name and labels (what namespaceSelectors see)."""

    meta: Meta

    def __init__(self, meta: Meta) -> None:
        set_field(self, "meta", meta)


@dataclass(init=False, slots=True, eq=False, repr=False)
class NodeAddress(Frozen):
    """One of a Node's `status.addresses` that is an IP address."""

    type: str  # InternalIP, ExternalIP, Hostname, ...
    address: IPAddress

    def __init__(self, type: str, address: IPAddress) -> None:
        set_field(self, "type", type)
        set_field(self, "address", address)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Node(Frozen):
    """A Node: its pod networks (`spec.podCIDRs`) and its IP addresses."""

    meta: Meta
    pod_cidrs: tuple[IPNetwork, ...]
    addresses: tuple[NodeAddress, ...]  # IP addresses only (InternalIP and ExternalIP)

    def __init__(self, meta: Meta, pod_cidrs: tuple[IPNetwork, ...], addresses: tuple[NodeAddress, ...]) -> None:
        set_field(self, "meta", meta)
        set_field(self, "pod_cidrs", pod_cidrs)
        set_field(self, "addresses", addresses)

    @property
    def zone(self) -> str | None:
        return self.meta.label_dict().get("topology.kubernetes.io/zone")


@dataclass(init=False, slots=True, eq=False, repr=False)
class ContainerPort(Frozen):
    """A container's `ports[]` entry: what named ports resolve to."""

    name: str | None
    port: int
    protocol: Protocol

    def __init__(self, name: str | None, port: int, protocol: Protocol) -> None:
        set_field(self, "name", name)
        set_field(self, "port", port)
        set_field(self, "protocol", protocol)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Pod(Frozen):
    """A Pod as the network sees it: where it runs, its addresses, its ports, whether it is ready."""

    meta: Meta
    node_name: str | None
    host_network: bool
    phase: str
    ips: tuple[IPAddress, ...]  # status.podIPs (or podIP); for hostNetwork pods the node's addresses
    ports: tuple[ContainerPort, ...]
    terminating: bool  # metadata.deletionTimestamp is set
    ready: bool  # the Ready condition (True when conditions are absent and the pod is Running)
    owners: tuple[OwnerReference, ...] = ()  # metadata.ownerReferences (model/workloads.py)
    naming: PodNaming = NO_NAMING  # hostname, subdomain, enableServiceLinks, containers' env (model/naming.py)

    def __init__(
        self,
        meta: Meta,
        node_name: str | None,
        host_network: bool,
        phase: str,
        ips: tuple[IPAddress, ...],
        ports: tuple[ContainerPort, ...],
        terminating: bool,
        ready: bool,
        owners: tuple[OwnerReference, ...] = (),
        naming: PodNaming = NO_NAMING,
    ) -> None:
        set_field(self, "meta", meta)
        set_field(self, "node_name", node_name)
        set_field(self, "host_network", host_network)
        set_field(self, "phase", phase)
        set_field(self, "ips", ips)
        set_field(self, "ports", ports)
        set_field(self, "terminating", terminating)
        set_field(self, "ready", ready)
        set_field(self, "owners", owners)
        set_field(self, "naming", naming)

    @property
    def running(self) -> bool:
        return self.phase == "Running"


@dataclass(init=False, slots=True, eq=False, repr=False)
class ServicePort(Frozen):
    """One of a Service's `spec.ports`, defaulted."""

    name: str  # "" when the Service has a single unnamed port
    protocol: Protocol
    port: int
    target_port: int | str  # number, or the name of a container port
    node_port: int | None

    def __init__(self, name: str, protocol: Protocol, port: int, target_port: int | str, node_port: int | None) -> None:
        set_field(self, "name", name)
        set_field(self, "protocol", protocol)
        set_field(self, "port", port)
        set_field(self, "target_port", target_port)
        set_field(self, "node_port", node_port)

    @property
    def label(self) -> str:
        return self.name or str(self.port)


@dataclass(init=False, slots=True, eq=False, repr=False)
class LoadBalancerIngress(Frozen):
    """One of a LoadBalancer Service's `status.loadBalancer.ingress` addresses."""

    ip: IPAddress
    ip_mode: str  # "VIP" (default) or "Proxy"

    def __init__(self, ip: IPAddress, ip_mode: str) -> None:
        set_field(self, "ip", ip)
        set_field(self, "ip_mode", ip_mode)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Service(Frozen):
    """A Service, defaulted as the API server defaults it."""

    meta: Meta
    type: ServiceType
    selector: LabelSelector | None  # None: no selector (endpoints are given by slices or Endpoints)
    cluster_ips: tuple[IPAddress, ...]  # empty for headless and ExternalName
    headless: bool  # clusterIP: None
    ports: tuple[ServicePort, ...]
    external_ips: tuple[IPAddress, ...]
    load_balancer_ingress: tuple[LoadBalancerIngress, ...]
    load_balancer_source_ranges: tuple[IPNetwork, ...]
    external_traffic_policy: TrafficPolicy
    internal_traffic_policy: TrafficPolicy
    session_affinity_timeout: int | None  # seconds; None when sessionAffinity is None
    external_name: str | None
    traffic_distribution: str | None
    publish_not_ready_addresses: bool = False
    ip_families: tuple[str, ...] = ()  # spec.ipFamilies as given ("IPv4", "IPv6"): for allocation
    ip_family_policy: str | None = None  # spec.ipFamilyPolicy as given: for allocation
    load_balancer_ip: IPAddress | None = None  # spec.loadBalancerIP (deprecated): the ingress IP it asks for
    allocate_load_balancer_node_ports: bool = True  # spec.allocateLoadBalancerNodePorts (LoadBalancer only)

    def __init__(
        self,
        meta: Meta,
        type: ServiceType,
        selector: LabelSelector | None,
        cluster_ips: tuple[IPAddress, ...],
        headless: bool,
        ports: tuple[ServicePort, ...],
        external_ips: tuple[IPAddress, ...],
        load_balancer_ingress: tuple[LoadBalancerIngress, ...],
        load_balancer_source_ranges: tuple[IPNetwork, ...],
        external_traffic_policy: TrafficPolicy,
        internal_traffic_policy: TrafficPolicy,
        session_affinity_timeout: int | None,
        external_name: str | None,
        traffic_distribution: str | None,
        publish_not_ready_addresses: bool = False,
        ip_families: tuple[str, ...] = (),
        ip_family_policy: str | None = None,
        load_balancer_ip: IPAddress | None = None,
        allocate_load_balancer_node_ports: bool = True,
    ) -> None:
        set_field(self, "meta", meta)
        set_field(self, "type", type)
        set_field(self, "selector", selector)
        set_field(self, "cluster_ips", cluster_ips)
        set_field(self, "headless", headless)
        set_field(self, "ports", ports)
        set_field(self, "external_ips", external_ips)
        set_field(self, "load_balancer_ingress", load_balancer_ingress)
        set_field(self, "load_balancer_source_ranges", load_balancer_source_ranges)
        set_field(self, "external_traffic_policy", external_traffic_policy)
        set_field(self, "internal_traffic_policy", internal_traffic_policy)
        set_field(self, "session_affinity_timeout", session_affinity_timeout)
        set_field(self, "external_name", external_name)
        set_field(self, "traffic_distribution", traffic_distribution)
        set_field(self, "publish_not_ready_addresses", publish_not_ready_addresses)
        set_field(self, "ip_families", ip_families)
        set_field(self, "ip_family_policy", ip_family_policy)
        set_field(self, "load_balancer_ip", load_balancer_ip)
        set_field(self, "allocate_load_balancer_node_ports", allocate_load_balancer_node_ports)

    @property
    def has_selector(self) -> bool:
        return self.selector is not None


@dataclass(init=False, slots=True, eq=False, repr=False)
class ServiceCIDR(Frozen):
    """networking.k8s.io/v1 ServiceCIDR: a range the API server hands out ClusterIPs from."""

    meta: Meta
    cidrs: tuple[IPNetwork, ...]

    def __init__(self, meta: Meta, cidrs: tuple[IPNetwork, ...]) -> None:
        set_field(self, "meta", meta)
        set_field(self, "cidrs", cidrs)


# For annotations only (model/ingress.py is imported when an input has an Ingress).
KubeObject: TypeAlias = (
    "Namespace | Node | Pod | Service | EndpointSlice | Endpoints | NetworkPolicy | Workload | Ingress | ServiceCIDR"
)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Objects(Frozen):
    """Every object of the input, by kind, in input order."""

    namespaces: tuple[Namespace, ...] = ()
    nodes: tuple[Node, ...] = ()
    pods: tuple[Pod, ...] = ()
    services: tuple[Service, ...] = ()
    endpoint_slices: tuple[EndpointSlice, ...] = ()
    endpoints: tuple[Endpoints, ...] = ()
    network_policies: tuple[NetworkPolicy, ...] = ()
    workloads: tuple[Workload, ...] = ()  # Deployments, StatefulSets, ... (model/workloads.py): by kind, in input order
    ingresses: tuple[Ingress, ...] = ()  # model/ingress.py: loaded and validated, not compiled (L7)
    proxy_config: ProxyConfig | None = None  # kube-proxy's configuration, when the input holds it
    service_cidr_objects: tuple[ServiceCIDR, ...] = ()
    # The ranges ClusterIPs come from, when known (complete/: the ServiceCIDRs of the input, else
    # --service-cidr, else the simulated cluster's range); empty for a snapshot that does not say.
    service_cidrs: tuple[IPNetwork, ...] = ()
    notices: tuple[str, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())  # problems --validate=warn lets through

    def __init__(
        self,
        namespaces: tuple[Namespace, ...] = (),
        nodes: tuple[Node, ...] = (),
        pods: tuple[Pod, ...] = (),
        services: tuple[Service, ...] = (),
        endpoint_slices: tuple[EndpointSlice, ...] = (),
        endpoints: tuple[Endpoints, ...] = (),
        network_policies: tuple[NetworkPolicy, ...] = (),
        workloads: tuple[Workload, ...] = (),
        ingresses: tuple[Ingress, ...] = (),
        proxy_config: ProxyConfig | None = None,
        service_cidr_objects: tuple[ServiceCIDR, ...] = (),
        service_cidrs: tuple[IPNetwork, ...] = (),
        notices: tuple[str, ...] = (),
        warnings: tuple[str, ...] = (),
    ) -> None:
        set_field(self, "namespaces", namespaces)
        set_field(self, "nodes", nodes)
        set_field(self, "pods", pods)
        set_field(self, "services", services)
        set_field(self, "endpoint_slices", endpoint_slices)
        set_field(self, "endpoints", endpoints)
        set_field(self, "network_policies", network_policies)
        set_field(self, "workloads", workloads)
        set_field(self, "ingresses", ingresses)
        set_field(self, "proxy_config", proxy_config)
        set_field(self, "service_cidr_objects", service_cidr_objects)
        set_field(self, "service_cidrs", service_cidrs)
        set_field(self, "notices", notices)
        set_field(self, "warnings", warnings)


# kube-proxy's ways to tell local (pod) traffic, as netcompile reads them: its detectLocalMode values
# ClusterCIDR and NodeCIDR, and None, where it has no way (a mode without its CIDRs).
DETECT_LOCAL_MODES = ("ClusterCIDR", "NodeCIDR", "None")


@dataclass(init=False, slots=True, eq=False, repr=False)
class Scope(Frozen):
    """What both evaluators are given: the completed objects and the question's node and pod networks.

    `node_name` is as asked (`--node`, or None); `cluster_cidrs` as given (`--cluster-cidr` or kube-proxy's
    clusterCIDR, or empty).
    """

    objects: Objects
    node_name: str | None = None
    cluster_cidrs: tuple[IPNetwork, ...] = ()
    # How kube-proxy tells pods' traffic from other traffic (its detectLocalMode): by the cluster's pod
    # networks, by the node's own (its podCIDRs), or not at all (DETECT_LOCAL_MODES); and whether it
    # masquerades every connection to a ClusterIP (masqueradeAll). Each evaluator reads them on its own.
    detect_local_mode: str = "ClusterCIDR"
    masquerade_all: bool = False
    nodeport_primary: bool = False  # NodePorts on the node's primary address of each family only

    def __init__(
        self,
        objects: Objects,
        node_name: str | None = None,
        cluster_cidrs: tuple[IPNetwork, ...] = (),
        detect_local_mode: str = "ClusterCIDR",
        masquerade_all: bool = False,
        nodeport_primary: bool = False,
    ) -> None:
        set_field(self, "objects", objects)
        set_field(self, "node_name", node_name)
        set_field(self, "cluster_cidrs", cluster_cidrs)
        set_field(self, "detect_local_mode", detect_local_mode)
        set_field(self, "masquerade_all", masquerade_all)
        set_field(self, "nodeport_primary", nodeport_primary)
