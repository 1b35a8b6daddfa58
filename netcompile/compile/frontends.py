"""Which frontends a Service answers on, and which endpoints each may use (docs/semantics.md §2.1, §2.2),
and how the ruleset tells a pod's traffic from other traffic (§1, kube-proxy's detectLocalMode).

A frontend is one (address, protocol, port) of a Service port: its ClusterIPs, its NodePort on each of
this node's addresses, its externalIPs and LoadBalancer IPs. Each draws from endpoint lists: the usable
endpoints, those the topology hints leave for this node's zone, the local ones, and the internal list
(local under internalTrafficPolicy Local). `services.py` turns both into map elements, and writes the
matches of `local_detector` where the Service stage asks whether a packet comes from a pod.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import ip_network

from ..model import IPAddress, IPNetwork, Service, ServicePort, ServiceType, TrafficPolicy
from ..nft.names import family_name
from ..nft.statements import IIFNAME, InterfaceName, Match, Op, member, not_member, saddr
from ..nft.types import ADDRESS_FAMILIES
from ..values import Frozen, set_field
from .index import Cluster, Endpoint
from .options import CompileOptions


class Kind(StrEnum):
    """Which address of a Service a frontend is (§2.1); the order is the collision priority."""

    CLUSTER_IP = "ClusterIP"
    NODE_PORT = "NodePort"
    EXTERNAL_IP = "externalIP"
    LOAD_BALANCER = "LoadBalancer"

    @property
    def external(self) -> bool:
        """NodePorts and external addresses follow externalTrafficPolicy; ClusterIPs do not."""
        return self is not Kind.CLUSTER_IP


@dataclass(init=False, slots=True, eq=False, repr=False)
class Frontend(Frozen):
    """One (address, protocol, port) a Service port answers on."""

    address: IPAddress
    port: int
    kind: Kind
    service: Service
    service_port: ServicePort
    source_ranges: tuple[IPNetwork, ...] = ()  # loadBalancerSourceRanges that apply to it
    key: tuple[str, str, str] = field(init=False)  # the map key atoms: address . protocol . port
    label: str = field(init=False)  # `ns/name:port` as cited in comments

    def __init__(
        self,
        address: IPAddress,
        port: int,
        kind: Kind,
        service: Service,
        service_port: ServicePort,
        source_ranges: tuple[IPNetwork, ...] = (),
    ) -> None:
        set_field(self, "address", address)
        set_field(self, "port", port)
        set_field(self, "kind", kind)
        set_field(self, "service", service)
        set_field(self, "service_port", service_port)
        set_field(self, "source_ranges", source_ranges)
        self.__post_init__()

    def __post_init__(self) -> None:
        protocol = self.service_port.protocol.value.lower()
        set_field(self, "key", (str(self.address), protocol, str(self.port)))
        set_field(self, "label", f"{self.service.meta.key}:{self.service_port.label}")

    @property
    def element_comment(self) -> str:
        return self.label if self.kind is Kind.CLUSTER_IP else f"{self.label} {self.kind.value}"

    def describe(self) -> str:
        host = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{self.kind.value} {host}:{self.port}/{self.service_port.protocol.value}"


# --- which endpoints (§2.2) -----------------------------------------------------------------------------


def usable(endpoints: Iterable[Endpoint]) -> tuple[Endpoint, ...]:
    """The ready endpoints; if there are none, the serving and terminating ones. Never a non-serving one."""
    endpoints = tuple(endpoints)
    ready = tuple(e for e in endpoints if e.ready and e.serving)
    if ready:
        return ready
    return tuple(e for e in endpoints if e.serving and e.terminating)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Lists(Frozen):
    """The endpoint lists of one Service port in one address family."""

    usable: tuple[Endpoint, ...]
    cluster: tuple[Endpoint, ...]  # usable, filtered by topology hints
    local: tuple[Endpoint, ...]  # usable among the endpoints on this node
    internal: tuple[Endpoint, ...]  # local under internalTrafficPolicy Local, else cluster

    def __init__(
        self,
        usable: tuple[Endpoint, ...],
        cluster: tuple[Endpoint, ...],
        local: tuple[Endpoint, ...],
        internal: tuple[Endpoint, ...],
    ) -> None:
        set_field(self, "usable", usable)
        set_field(self, "cluster", cluster)
        set_field(self, "local", local)
        set_field(self, "internal", internal)


def endpoint_lists(cluster: Cluster, service: Service, endpoints: Sequence[Endpoint], zone: str | None) -> Lists:
    all_usable = usable(endpoints)
    cluster_eps = all_usable
    if zone and all_usable and all(e.hint_zones for e in all_usable):
        hinted = tuple(e for e in all_usable if zone in (e.hint_zones or ()))
        if hinted:
            cluster_eps = hinted
    local = all_usable if cluster.single_node else usable(e for e in endpoints if cluster.is_local(e.node_name))
    internal = local if service.internal_traffic_policy is TrafficPolicy.LOCAL else cluster_eps
    return Lists(all_usable, cluster_eps, local, internal)


# --- frontends (§2.1) -----------------------------------------------------------------------------------


def dns_only(service: Service) -> str | None:
    """Why a Service gets no DNAT, or None when it is programmed."""
    if service.type is ServiceType.EXTERNAL_NAME:
        return "ExternalName Service: DNS only, no DNAT"
    if service.headless:
        return "headless Service (clusterIP: None): DNS only, no DNAT"
    if not service.cluster_ips:
        return "no clusterIP in the input (allocated by the API server): not programmed"
    return None


def node_port_addresses(cluster: Cluster, opts: CompileOptions) -> tuple[IPAddress, ...]:
    """This node's addresses, restricted to --nodeport-addresses when given; each once. With kube-proxy's
    `nodePortAddresses: [primary]`, the node's primary address of each family: as the Node lists them,
    the first InternalIP of the family, else its first address of the family (GetNodeHostIPs)."""
    if opts.nodeport_primary:
        return primary_addresses(cluster)
    out: dict[IPAddress, None] = {}
    for address in cluster.node_addresses:
        if not opts.nodeport_addresses or any(address in net for net in opts.nodeport_addresses):
            out.setdefault(address)
    return tuple(out)


def primary_addresses(cluster: Cluster) -> tuple[IPAddress, ...]:
    """The node's primary address of each family, as kube-proxy takes them from the Node (GetNodeHostIPs):
    the first InternalIP of the family, else the family's first address."""
    if cluster.node is None:
        return ()
    internal = [a.address for a in cluster.node.addresses if a.type == "InternalIP"]
    others = [a.address for a in cluster.node.addresses if a.type != "InternalIP"]
    found = [next((a for a in [*internal, *others] if a.version == version), None) for version in (4, 6)]
    return tuple(a for a in found if a is not None)


def firewall_sources(fe: Frontend, node_primary: Sequence[IPAddress]) -> tuple[IPNetwork, ...]:
    """The sources a LoadBalancer IP frontend with loadBalancerSourceRanges accepts, as kube-proxy's
    firewall chain: the ranges of the frontend's family (none of them: no filtering, an empty tuple), and,
    when one of them holds the node's primary address of the family, the Service's own LoadBalancer IPs of
    the family (a VIP configured on the node: its requests come back from the VIP)."""
    ranges = tuple(n for n in fe.source_ranges if n.version == fe.address.version)
    if not ranges or not any(a in n for a in node_primary for n in ranges):
        return ranges
    family = fe.address.version
    vips = [i.ip for i in fe.service.load_balancer_ingress if i.ip_mode != "Proxy" and i.ip.version == family]
    return ranges + tuple(ip_network(vip) for vip in vips)


def service_frontends(service: Service, node_addresses: Sequence[IPAddress]) -> list[Frontend]:
    """Every frontend of a programmed Service: ClusterIPs, then NodePorts, then external addresses."""
    lb_ips: list[IPAddress] = []
    if service.type is ServiceType.LOAD_BALANCER:
        lb_ips = [ingress.ip for ingress in service.load_balancer_ingress if ingress.ip_mode != "Proxy"]
    ranges = service.load_balancer_source_ranges
    out = [
        Frontend(address, sp.port, Kind.CLUSTER_IP, service, sp)
        for sp in service.ports
        for address in service.cluster_ips
    ]
    if service.type in (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER):
        for sp in service.ports:
            if sp.node_port is not None:
                out.extend(Frontend(a, sp.node_port, Kind.NODE_PORT, service, sp) for a in node_addresses)
    for sp in service.ports:
        for address in service.external_ips:
            # An externalIP that is also a LoadBalancer IP stays behind the source ranges.
            filtered = ranges if address in lb_ips else ()
            out.append(Frontend(address, sp.port, Kind.EXTERNAL_IP, service, sp, filtered))
        out.extend(Frontend(address, sp.port, Kind.LOAD_BALANCER, service, sp, ranges) for address in lb_ips)
    return out


# --- pods' traffic (§1) ---------------------------------------------------------------------------------


@dataclass(init=False, slots=True, eq=False, repr=False)
class LocalDetector(Frozen):
    """How the ruleset tells a pod's traffic, as kube-proxy's local detector of its detectLocalMode
    (pkg/proxy/util/localdetector.go: IfLocalNFT / IfNotLocalNFT): by source address, in the `pod-cidrs`
    sets (ClusterCIDR, NodeCIDR: one rule per family), or by the interface a packet arrives on
    (BridgeInterface: `iifname "cbr0"`; InterfaceNamePrefix: `iifname "veth*"`: one rule for both)."""

    interface: InterfaceName | None  # None: by source address

    def __init__(self, interface: InterfaceName | None) -> None:
        set_field(self, "interface", interface)

    def if_local(self) -> list[tuple[Match, ...]]:
        """The matches of a pod's packet: one rule's worth per entry."""
        if self.interface is not None:
            return [(Match(IIFNAME, self.interface),)]
        return [(member(saddr(fam), family_name("pod-cidrs", fam)),) for fam in ADDRESS_FAMILIES]

    def if_not_local(self) -> list[tuple[Match, ...]]:
        """The matches of any other packet (the node's own too: it arrives on no interface)."""
        if self.interface is not None:
            return [(Match(IIFNAME, self.interface, Op.NE),)]
        return [(not_member(saddr(fam), family_name("pod-cidrs", fam)),) for fam in ADDRESS_FAMILIES]

    @property
    def outside(self) -> str:
        """What `if_not_local` matches, for a rule's comment."""
        if self.interface is None:
            return "from outside the pod networks"
        if self.interface.prefix:
            return f"not from an interface named {self.interface.name}*"
        return f"not from bridge {self.interface.name}"


def local_detector(cluster: Cluster, opts: CompileOptions) -> LocalDetector | None:
    """The detector of the options' detectLocalMode; None when nothing tells pods apart (None, NodeCIDR on
    a node without podCIDRs, an interface mode whose configuration names no interface)."""
    mode, config = opts.detect_local_mode, cluster.objects.proxy_config
    if mode == "BridgeInterface":
        bridge = config.bridge_interface if config is not None else ""
        return LocalDetector(InterfaceName(bridge)) if bridge else None
    if mode == "InterfaceNamePrefix":
        prefix = config.interface_name_prefix if config is not None else ""
        return LocalDetector(InterfaceName(prefix, prefix=True)) if prefix else None
    return LocalDetector(None) if cluster.local_networks(mode) is not None else None
