"""Service semantics (docs/semantics.md §1, §2), straight from the completed model objects.

The Service stage answers one question for a new packet: is it addressed to a Service frontend, and if
so, which endpoints may it be DNATed to (each with probability 1/n), is it masqueraded, or does it die
here (rejected: no usable endpoint or a ClusterIP's missing port; dropped: a Local traffic policy with no
local endpoint, or a LoadBalancer source range)? It knows nothing of nftables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import IPv4Address

from ...model import IPAddress, IPNetwork, Protocol, Service, ServicePort, ServiceType, TrafficPolicy
from ...values import Value
from ..packet import Origin, Packet, Verdict
from .view import Endpoint, View

ZONE_LABEL = "topology.kubernetes.io/zone"


def hostport(address: IPAddress, port: int) -> str:
    return f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"


def family_name(address: IPAddress) -> str:
    return "IPv4" if isinstance(address, IPv4Address) else "IPv6"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# --- source classes (§1) ------------------------------------------------------------------------------


class SourceClass(StrEnum):
    NODE = "node"  # origin NODE
    POD = "pod"  # origin NETWORK, source inside the pod networks P
    EXTERNAL = "external"  # everything else


def source_class(cluster: View, packet: Packet) -> SourceClass:
    """NODE for the node's own traffic; POD for a packet that kube-proxy's local detector takes for a pod's:
    its source inside L (the pod networks, or this node's, as detectLocalMode says), or, in the interface
    modes, arriving on the pods' bridge or an interface named with the pods' prefix; none without a detector."""
    if packet.origin == Origin.NODE:
        return SourceClass.NODE
    if cluster.pod_interface is not None:
        name, is_prefix = cluster.pod_interface
        arrived = packet.iif.startswith(name) if is_prefix else packet.iif == name
        return SourceClass.POD if arrived else SourceClass.EXTERNAL
    if cluster.pod_sources is not None and any(packet.src in network for network in cluster.pod_sources):
        return SourceClass.POD
    return SourceClass.EXTERNAL


# --- frontends (§2.1) ---------------------------------------------------------------------------------


class FrontendKind(StrEnum):
    CLUSTER_IP = "ClusterIP"
    NODE_PORT = "NodePort"
    EXTERNAL_IP = "externalIP"
    LOAD_BALANCER = "LoadBalancer IP"

    @property
    def external(self) -> bool:
        """NodePorts and external addresses follow externalTrafficPolicy; ClusterIPs do not."""
        return self != FrontendKind.CLUSTER_IP


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Frontend(Value):
    """One (address, protocol, port) a Service answers on."""

    address: IPAddress
    protocol: Protocol
    port: int
    kind: FrontendKind
    service: Service
    service_port: ServicePort
    source_ranges: tuple[IPNetwork, ...]  # non-empty: only sources inside one of them may use it

    @property
    def key(self) -> tuple[IPAddress, Protocol, int]:
        return (self.address, self.protocol, self.port)

    def describe(self) -> str:
        """`Service "ns/name" port http (TCP 80)`"""
        sp = self.service_port
        return f"{self.service.meta.ref} port {sp.label} ({sp.protocol.value} {sp.port})"


def ignored_reason(service: Service) -> str | None:
    """Why a Service gets no DNAT at all, or None when it is programmed."""
    if service.type == ServiceType.EXTERNAL_NAME:
        return "ExternalName Service: DNS only, no DNAT"
    if service.headless:
        return "headless Service (clusterIP: None): DNS only, no DNAT"
    if not service.cluster_ips:
        return "no clusterIP in the input: not programmed"
    return None


def service_frontends(cluster: View, service: Service, nodeport_addresses: tuple[IPNetwork, ...]) -> list[Frontend]:
    """Every frontend of one programmed Service, ClusterIPs first, then NodePorts, then external addresses."""
    node_port_addresses = [
        a for a in cluster.node_addresses if not nodeport_addresses or any(a in net for net in nodeport_addresses)
    ]
    if cluster.nodeport_primary:  # `nodePortAddresses: [primary]`: the Node's primary IP of each family
        node_port_addresses = list(cluster.primary_addresses)
    lb_ips: list[IPAddress] = []
    if service.type == ServiceType.LOAD_BALANCER:  # as kube-proxy: status.loadBalancer only for LoadBalancers
        lb_ips = [ing.ip for ing in service.load_balancer_ingress if ing.ip_mode != "Proxy"]
    ranges = service.load_balancer_source_ranges

    out: list[Frontend] = []
    for sp in service.ports:
        for address in service.cluster_ips:
            out.append(Frontend(address, sp.protocol, sp.port, FrontendKind.CLUSTER_IP, service, sp, ()))
    if service.type in (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER):
        for sp in service.ports:
            if sp.node_port is None:
                continue
            for address in node_port_addresses:
                out.append(Frontend(address, sp.protocol, sp.node_port, FrontendKind.NODE_PORT, service, sp, ()))
    for sp in service.ports:
        for address in service.external_ips:
            # An address that is also one of the Service's LoadBalancer IPs is still filtered by source ranges.
            filtered = ranges if address in lb_ips else ()
            out.append(Frontend(address, sp.protocol, sp.port, FrontendKind.EXTERNAL_IP, service, sp, filtered))
        for address in lb_ips:
            out.append(Frontend(address, sp.protocol, sp.port, FrontendKind.LOAD_BALANCER, service, sp, ranges))
    return out


# --- endpoint lists (§2.2) ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class EndpointLists(Value):
    """The endpoints of one Service port in one IP family, as §2.2 defines the lists."""

    usable: tuple[Endpoint, ...]
    cluster: tuple[Endpoint, ...]
    local: tuple[Endpoint, ...]
    internal: tuple[Endpoint, ...]
    notes: tuple[str, ...]  # how the cluster list came about (terminating fallback, topology filtering)


def ready_or_terminating(endpoints: list[Endpoint]) -> tuple[tuple[Endpoint, ...], bool]:
    """The ready endpoints; if none, the serving-and-terminating ones (second value True). Never non-serving."""
    ready = [e for e in endpoints if e.ready and e.serving]
    if ready:
        return tuple(ready), False
    return tuple(e for e in endpoints if e.serving and e.terminating), True


def endpoint_lists(cluster: View, service: Service, sp: ServicePort, version: int) -> EndpointLists:
    endpoints = [e for e in cluster.endpoints(service, sp) if e.address.version == version]
    notes: list[str] = []

    usable, fallback = ready_or_terminating(endpoints)
    if fallback and usable:
        notes.append(f"no ready endpoints: using {plural(len(usable), 'serving and terminating endpoint')}")

    cluster_eps = usable
    zone = cluster.node.meta.label_dict().get(ZONE_LABEL) if cluster.node else None
    # An endpoint "carries hints" when hints.forZones names at least one zone (an empty list is no hint).
    if usable and zone and all(e.hint_zones for e in usable):
        hinted = tuple(e for e in usable if zone in (e.hint_zones or ()))
        if hinted:
            cluster_eps = hinted
            notes.append(f"topology: {len(hinted)} of {len(usable)} usable endpoints are hinted for zone {zone}")

    local_all = [e for e in endpoints if cluster.is_local(e.node_name)]
    local, _ = ready_or_terminating(local_all)

    internal = local if service.internal_traffic_policy == TrafficPolicy.LOCAL else cluster_eps
    return EndpointLists(usable, cluster_eps, local, internal, tuple(notes))


# --- the decision (§2.3, §2.4) ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Target(Value):
    """One DNAT target of a new connection (each of n targets has probability 1/n)."""

    address: IPAddress
    port: int
    masquerade: bool
    name: str  # "ns/pod" or the address


@dataclass(slots=True)
class ServiceDecision:
    """What the Service stage does with a packet addressed to a frontend or a ClusterIP."""

    verdict: Verdict | None  # DROPPED or REJECTED: the packet dies here; None: one of `targets`
    targets: tuple[Target, ...] = ()
    reasons: list[str] = field(default_factory=list)


def choose(
    frontend: Frontend, cls: SourceClass, lists: EndpointLists, cluster: View
) -> tuple[tuple[Endpoint, ...], bool, str]:
    """The table of §2.3: (endpoints, masquerade, which list and why)."""
    service = frontend.service
    itp = f"internalTrafficPolicy {service.internal_traffic_policy.value}"
    if not frontend.kind.external:
        if cluster.masquerade_all:
            return lists.internal, True, f"internal list ({itp}), source is {cls.value}, masqueradeAll"
        if cluster.pod_sources is None and cluster.pod_interface is None:
            why = f"detectLocalMode {cluster.detect_local_mode} tells no pod apart: no ClusterIP traffic masqueraded"
            return lists.internal, False, f"internal list ({itp}), source is {cls.value}; {why}"
        return lists.internal, cls != SourceClass.POD, f"internal list ({itp}), source is {cls.value}"
    if service.external_traffic_policy == TrafficPolicy.CLUSTER:
        return lists.cluster, True, f"cluster endpoints (externalTrafficPolicy Cluster), source is {cls.value}"
    etp = "externalTrafficPolicy Local"
    if cls == SourceClass.NODE:
        return lists.internal, True, f"internal list ({etp}, {itp}), source is the node"
    if cls == SourceClass.POD:
        return lists.internal, False, f"internal list ({etp}, {itp}), source is a pod"
    return lists.local, False, f"local endpoints ({etp}), source is external"


class ServiceStage:
    """The frontends of a cluster, indexed, and the decision for each packet that reaches one."""

    def __init__(self, cluster: View, nodeport_addresses: tuple[IPNetwork, ...] = ()) -> None:
        self.cluster = cluster
        self.frontends: dict[tuple[IPAddress, Protocol, int], Frontend] = {}
        self.cluster_ips: dict[IPAddress, Service] = {}
        self.ignored: dict[str, str] = {}  # Service key -> why it has no DNAT
        self.collisions: list[tuple[Frontend, Frontend]] = []  # (winner, loser)
        self._lists: dict[tuple[str, str, int], EndpointLists] = {}
        for service in sorted(cluster.services.values(), key=lambda s: (s.meta.namespace, s.meta.name)):
            why = ignored_reason(service)
            if why is not None:
                self.ignored[service.meta.key] = why
                continue
            for address in service.cluster_ips:
                self.cluster_ips.setdefault(address, service)
            for frontend in service_frontends(cluster, service, nodeport_addresses):
                winner = self.frontends.setdefault(frontend.key, frontend)
                if winner is not frontend:
                    self.collisions.append((winner, frontend))

    def lists(self, frontend: Frontend) -> EndpointLists:
        key = (frontend.service.meta.key, frontend.service_port.label, frontend.address.version)
        if key not in self._lists:
            self._lists[key] = endpoint_lists(
                self.cluster, frontend.service, frontend.service_port, frontend.address.version
            )
        return self._lists[key]

    def own_vips(self, frontend: Frontend, ranges: list[IPNetwork]) -> list[IPAddress]:
        """The Service's LoadBalancer IPs of the frontend's family, which are sources its ranges allow too
        when one of them holds the node's primary address of that family (§2.4)."""
        if not any(address in net for address in self.cluster.primary_addresses for net in ranges):
            return []
        service, family = frontend.service, frontend.address.version
        return [i.ip for i in service.load_balancer_ingress if i.ip_mode != "Proxy" and i.ip.version == family]

    def decide(self, packet: Packet) -> ServiceDecision | None:
        """None when the packet is no business of the Service stage (not a frontend, not a ClusterIP)."""
        service_ranges = self.cluster.objects.service_cidrs
        held = bool(self.cluster_ips) and packet.dst in self.cluster_ips  # (an address hashes slowly: not in vain)
        if not held and service_ranges and any(packet.dst in net for net in service_ranges):
            shown = ", ".join(str(net) for net in service_ranges)
            return ServiceDecision(
                Verdict.DROPPED,
                reasons=[f"{packet.dst} is in the Service range ({shown}) but no Service holds it: dropped"],
            )
        frontend = self.frontends.get((packet.dst, packet.protocol, packet.dport)) if self.frontends else None
        if frontend is None:
            if not held:
                return None
            service = self.cluster_ips[packet.dst]
            return ServiceDecision(
                Verdict.REJECTED,
                reasons=[
                    f"{packet.dst} is a ClusterIP of {service.meta.ref}, which has no port "
                    f"{packet.protocol.value} {packet.dport}: rejected"
                ],
            )
        head = frontend.describe()
        where = f"{frontend.kind.value} {hostport(frontend.address, frontend.port)}"

        # loadBalancerSourceRanges: before anything else; those of the frontend's family only (§2.4).
        ranges = [net for net in frontend.source_ranges if net.version == frontend.address.version]
        if ranges and not any(packet.src in net for net in ranges):
            shown = ", ".join(str(r) for r in ranges)
            vips = self.own_vips(frontend, ranges)
            if packet.src not in vips:
                also = f" nor one of its own LoadBalancer IPs ({', '.join(map(str, vips))})" if vips else ""
                return ServiceDecision(
                    Verdict.DROPPED,
                    reasons=[
                        f"{head} via {where}: source {packet.src} is outside loadBalancerSourceRanges ({shown}){also}: "
                        "dropped"
                    ],
                )

        cls = source_class(self.cluster, packet)
        lists = self.lists(frontend)
        chosen, masquerade, which = choose(frontend, cls, lists, self.cluster)
        family = family_name(frontend.address)
        if not chosen:
            if not lists.usable:
                return ServiceDecision(
                    Verdict.REJECTED,
                    reasons=[f"{head} via {where} has no usable {family} endpoints: rejected"],
                )
            return ServiceDecision(
                Verdict.DROPPED,
                reasons=[
                    f"{head} via {where}: {which}: no endpoints in that list "
                    f"({plural(len(lists.usable), 'usable endpoint')} elsewhere): dropped"
                ],
            )
        reasons = [
            f"{head} -> {plural(len(chosen), 'endpoint')}",
            f"via {where}: {which}; " + ("masqueraded" if masquerade else "source kept"),
            *(lists.notes if chosen is lists.cluster else ()),  # the notes explain the cluster list
        ]
        targets: list[Target] = []
        node_addresses = set(self.cluster.node_addresses)
        for ep in chosen:
            if ep.address in node_addresses:
                # Delivered to the node itself (§1: prerouting/output → input): no postrouting, no masquerade.
                reasons.append(f"endpoint {ep.target} ({ep.address}) is this node: delivered locally, not masqueraded")
                targets.append(Target(ep.address, ep.port, False, ep.target))
                continue
            hairpin = ep.address == packet.src
            if hairpin:
                reasons.append(f"hairpin: endpoint {ep.target} ({ep.address}) is the source: masqueraded")
            targets.append(Target(ep.address, ep.port, masquerade or hairpin, ep.target))
        return ServiceDecision(None, tuple(targets), reasons)
