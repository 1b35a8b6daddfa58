"""The Cluster model: frozen, typed Kubernetes objects as netcompile understands them.

Objects are built (and validated) by `load/`, completed by `complete/`; the compiler and the reference
evaluator each index them and answer questions of them on their own. Nothing here knows nftables.
Addresses are `ipaddress` objects, normalized as Kubernetes normalizes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import TYPE_CHECKING, TypeAlias

from ..errors import Position
from ..values import Value
from .naming import NO_NAMING, PodNaming
from .proxy import ProxyConfig
from .selectors import LabelSelector
from .workloads import OwnerReference, Workload  # it names this module's types in annotations only

if TYPE_CHECKING:  # imported with the first Ingress read (load/manifests.py): only inputs with Ingresses need it
    from .ingress import Ingress

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


class PolicyType(StrEnum):
    INGRESS = "Ingress"
    EGRESS = "Egress"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Meta(Value):
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


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Namespace(Value):
    """A Namespace: its name and labels (what namespaceSelectors see)."""

    meta: Meta


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class NodeAddress(Value):
    """One of a Node's `status.addresses` that is an IP address."""

    type: str  # InternalIP, ExternalIP, Hostname, ...
    address: IPAddress


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Node(Value):
    """A Node: its pod networks (`spec.podCIDRs`) and its IP addresses."""

    meta: Meta
    pod_cidrs: tuple[IPNetwork, ...]
    addresses: tuple[NodeAddress, ...]  # IP addresses only (InternalIP and ExternalIP)

    @property
    def zone(self) -> str | None:
        return self.meta.label_dict().get("topology.kubernetes.io/zone")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ContainerPort(Value):
    """A container's `ports[]` entry: what named ports resolve to."""

    name: str | None
    port: int
    protocol: Protocol


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Pod(Value):
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

    @property
    def running(self) -> bool:
        return self.phase == "Running"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ServicePort(Value):
    """One of a Service's `spec.ports`, defaulted."""

    name: str  # "" when the Service has a single unnamed port
    protocol: Protocol
    port: int
    target_port: int | str  # number, or the name of a container port
    node_port: int | None

    @property
    def label(self) -> str:
        return self.name or str(self.port)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class LoadBalancerIngress(Value):
    """One of a LoadBalancer Service's `status.loadBalancer.ingress` addresses."""

    ip: IPAddress
    ip_mode: str  # "VIP" (default) or "Proxy"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Service(Value):
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

    @property
    def has_selector(self) -> bool:
        return self.selector is not None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class EndpointPort(Value):
    """A port of an EndpointSlice (or of an Endpoints subset)."""

    name: str
    port: int
    protocol: Protocol


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class EndpointConditions(Value):
    """EndpointSlice conditions; absent `ready`/`serving` mean true, absent `terminating` false."""

    ready: bool = True
    serving: bool = True
    terminating: bool = False


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class SliceEndpoint(Value):
    """One endpoint of an EndpointSlice: its addresses, conditions, node and zone hints."""

    addresses: tuple[IPAddress, ...]
    conditions: EndpointConditions
    node_name: str | None
    zone: str | None
    hint_zones: tuple[str, ...] | None  # hints.forZones; None when there are no hints
    hostname: str | None = None  # the endpoint's DNS name under a headless Service (cluster DNS reads it)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class EndpointSlice(Value):
    """An EndpointSlice (discovery.k8s.io/v1), given or derived from pods."""

    meta: Meta
    service_name: str | None  # the kubernetes.io/service-name label
    address_type: str  # IPv4, IPv6, FQDN
    ports: tuple[EndpointPort, ...]
    endpoints: tuple[SliceEndpoint, ...]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class EndpointAddress(Value):
    """An address of an Endpoints subset (core/v1 Endpoints)."""

    ip: IPAddress
    node_name: str | None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class EndpointSubset(Value):
    """A subset of core/v1 Endpoints: ready and not-ready addresses, and their ports."""

    addresses: tuple[EndpointAddress, ...]
    not_ready_addresses: tuple[EndpointAddress, ...]
    ports: tuple[EndpointPort, ...]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Endpoints(Value):
    """core/v1 Endpoints: the older form of a Service's endpoints (read when it has no EndpointSlice)."""

    meta: Meta
    subsets: tuple[EndpointSubset, ...]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class IPBlock(Value):
    """A policy peer's `ipBlock`: a CIDR less its exceptions."""

    cidr: IPNetwork
    except_: tuple[IPNetwork, ...]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PolicyPeer(Value):
    """One `from`/`to` entry: pod and/or namespace selectors, or an ipBlock."""

    pod_selector: LabelSelector | None
    namespace_selector: LabelSelector | None
    ip_block: IPBlock | None


@dataclass(frozen=True, slots=True)  # hashed and compared in volume: generated methods (values.py)
class PolicyPort:
    """One of a policy rule's `ports`: a protocol, and a port (number, name or none) or a range."""

    protocol: Protocol
    port: int | str | None  # None: every port of the protocol
    end_port: int | None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PolicyRule(Value):
    """An ingress or egress rule; `peers` None means every peer, `ports` None every port and protocol."""

    peers: tuple[PolicyPeer, ...] | None
    ports: tuple[PolicyPort, ...] | None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class NetworkPolicy(Value):
    """A NetworkPolicy (networking.k8s.io/v1), defaulted (`policyTypes`)."""

    meta: Meta
    pod_selector: LabelSelector
    policy_types: tuple[PolicyType, ...]
    ingress: tuple[PolicyRule, ...]
    egress: tuple[PolicyRule, ...]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ServiceCIDR(Value):
    """networking.k8s.io/v1 ServiceCIDR: a range the API server hands out ClusterIPs from."""

    meta: Meta
    cidrs: tuple[IPNetwork, ...]


# For annotations only (model/ingress.py is imported when an input has an Ingress).
KubeObject: TypeAlias = (
    "Namespace | Node | Pod | Service | EndpointSlice | Endpoints | NetworkPolicy | Workload | Ingress | ServiceCIDR"
)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Objects(Value):
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


# kube-proxy's ways to tell local (pod) traffic, as netcompile reads them: its detectLocalMode values
# ClusterCIDR and NodeCIDR, and None, where it has no way (a mode without its CIDRs).
DETECT_LOCAL_MODES = ("ClusterCIDR", "NodeCIDR", "None")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Scope(Value):
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
