"""What a Service is handed in the simulated cluster, where the input leaves it without:

- by the API server: its ClusterIPs (one per IP family it gets, from `service_cidrs`) and the nodePorts
  of a NodePort or LoadBalancer Service (from `node_port_range`; none for a LoadBalancer Service with
  `allocateLoadBalancerNodePorts: false`, as the API server does);
- by a load-balancer controller (cloud-provider-kind, MetalLB): the `status.loadBalancer.ingress` IP
  of a LoadBalancer Service, `spec.loadBalancerIP` when it asks for one, else one of each of its IP
  families that `load_balancer_cidrs` has a pool of.

Each is allocated stably from the Service's own identity (complete/allocate.py); values given in the input
win and are never handed out again. A given clusterIP outside the service range of its family is what
the API server refuses ("the provided IP is not in the valid range"): an error (`ServiceRangeError`) when
the range was configured (`CompleteOptions.service_cidrs_configured`, `--service-cidr`), else a notice, so
that a snapshot of a cluster with another range than the defaults still compiles.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from ipaddress import ip_address

from ..errors import Diagnostic, InputError, invalid
from ..model import IPAddress, IPNetwork, LoadBalancerIngress, Node, Service, ServicePort, ServiceType
from .allocate import allocate
from .options import CompleteOptions
from .wanted import wants_cluster_ip, wants_node_ports

NODE_PORT_TYPES = (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER)


def wants_load_balancer_ingress(service: Service) -> bool:
    return service.type == ServiceType.LOAD_BALANCER and not service.load_balancer_ingress


def shown(identity: str) -> str:
    kind, _, rest = identity.partition("/")
    return f'{kind} "{rest}"'


def families(service: Service, options: CompleteOptions) -> list[int]:
    """The IP families a Service gets, as the API server decides them (primary first)."""
    available: list[int] = [c.version for c in options.service_cidrs]
    wanted: list[int] = [int(f[-1]) for f in service.ip_families] or [a.version for a in service.cluster_ips]
    wanted = wanted or available[:1]
    policy = service.ip_family_policy or ("SingleStack" if len(wanted) < 2 else "RequireDualStack")
    if policy != "SingleStack":
        wanted += [v for v in available if v not in wanted]
    return wanted[:1] if policy == "SingleStack" else wanted[:2]


def check_cluster_ips(services: Iterable[Service], options: CompleteOptions, notices: list[str]) -> None:
    """Given clusterIPs outside the service range of their family: InputError when the range was
    configured, else one notice each (the input comes from a cluster with another range)."""
    ranges = {c.version: c for c in options.service_cidrs}
    errors: list[Diagnostic] = []
    for s in services:
        for address in s.cluster_ips:
            cidr = ranges.get(address.version)
            if cidr is not None and address in cidr:
                continue
            if cidr is None:
                why = f"IPv{address.version} is not configured on this cluster"
            else:
                why = f"the provided IP ({address}) is not in the valid range. The range of valid IPs is {cidr}"
            message = invalid([str(a) for a in s.cluster_ips], f"failed to allocate IP {address}: {why}")
            if options.service_cidrs_configured:
                errors.append(
                    Diagnostic(s.meta.field_position("spec.clusterIP"), s.meta.ref, "spec.clusterIPs", message)
                )
            else:
                notices.append(
                    f"{s.meta.ref}: spec.clusterIPs: {message} (the API server would refuse it; kept, as no "
                    "--service-cidr was given)"
                )
    if errors:
        raise InputError(errors)


def cluster_ips(services: tuple[Service, ...], options: CompleteOptions, notices: list[str]) -> list[Service]:
    given = [a for s in services for a in s.cluster_ips]
    wants: dict[str, list[int]] = {}
    for s in services:
        if wants_cluster_ip(s):
            have = {a.version for a in s.cluster_ips}
            missing = [v for v in families(s, options) if v not in have]
            if missing:
                wants[s.meta.key] = missing
    allocated: dict[tuple[str, int], IPAddress] = {}
    for cidr in options.service_cidrs:
        identities = [f"Service/{key}" for key, wanted in wants.items() if cidr.version in wanted]
        if not identities:
            continue
        base = int(cidr.network_address)
        # the network address, the first (the `kubernetes` Service's) and, in IPv4, the broadcast address
        taken = {0, 1, cidr.num_addresses - 1} | {int(a) - base for a in given if a in cidr}
        result = allocate(cidr.num_addresses, taken, identities)
        for identity in identities:
            slot = result.slots.get(identity)
            if slot is None:
                notices.append(f"service CIDR {cidr} is full: {shown(identity)} gets no clusterIP")
                continue
            allocated[(identity.partition("/")[2], cidr.version)] = ip_address(base + slot)
            if identity in result.contested:
                notices.append(f"{shown(identity)}: clusterIP {ip_address(base + slot)}: its first choice collided")
    out: list[Service] = []
    for s in services:
        if s.meta.key not in wants:
            out.append(s)
            continue
        order = families(s, options)
        ips: dict[int, IPAddress] = {a.version: a for a in s.cluster_ips}
        ips.update({v: allocated[(s.meta.key, v)] for v in wants[s.meta.key] if (s.meta.key, v) in allocated})
        out.append(replace(s, cluster_ips=tuple(ips[v] for v in order if v in ips)))
    return out


def _port_identity(service: Service, port: ServicePort) -> str:
    return f"Service/{service.meta.key}/{port.protocol}/{port.port}"


def node_ports(services: list[Service], options: CompleteOptions, notices: list[str]) -> list[Service]:
    low, high = options.node_port_range
    given = {p.node_port - low for s in services for p in s.ports if p.node_port is not None}
    identities = [_port_identity(s, p) for s in services if wants_node_ports(s) for p in s.ports if p.node_port is None]
    if not identities:
        return services
    result = allocate(high - low + 1, given, identities)
    for identity in identities:
        if identity not in result.slots:
            notices.append(f"node-port range {low}-{high} is full: {shown(identity)} gets no nodePort")
        elif identity in result.contested:
            notices.append(f"{shown(identity)}: nodePort {low + result.slots[identity]}: its first choice collided")
    out: list[Service] = []
    for s in services:
        if wants_node_ports(s) and any(p.node_port is None for p in s.ports):
            ports = []
            for p in s.ports:
                slot = result.slots.get(_port_identity(s, p)) if p.node_port is None else None
                ports.append(replace(p, node_port=low + slot) if slot is not None else p)
            s = replace(s, ports=tuple(ports))
        out.append(s)
    return out


class _Pool:
    """The load-balancer CIDRs of one IP family as one range of slots (their addresses, in order), without
    the network and broadcast addresses of IPv4 CIDRs that have them (MetalLB's avoidBuggyIPs)."""

    def __init__(self, cidrs: list[IPNetwork]) -> None:
        self.cidrs = cidrs
        self.starts: list[int] = []
        self.size = 0
        self.reserved: set[int] = set()
        for cidr in cidrs:
            self.starts.append(self.size)
            if cidr.version == 4 and cidr.num_addresses > 2:
                self.reserved |= {self.size, self.size + cidr.num_addresses - 1}
            self.size += cidr.num_addresses

    def slot(self, address: IPAddress) -> int | None:
        for start, cidr in zip(self.starts, self.cidrs, strict=True):
            if address in cidr:
                return start + int(address) - int(cidr.network_address)
        return None

    def address(self, slot: int) -> IPAddress:
        for start, cidr in zip(reversed(self.starts), reversed(self.cidrs), strict=True):
            if slot >= start:
                return ip_address(int(cidr.network_address) + slot - start)
        raise ValueError(slot)


def load_balancer_ingress(
    services: list[Service], nodes: Iterable[Node], options: CompleteOptions, notices: list[str]
) -> list[Service]:
    """LoadBalancer Services without status.loadBalancer.ingress get one: spec.loadBalancerIP, else an IP
    of each of their families from the load-balancer pool of that family (`options.load_balancer_cidrs`)."""
    wanting = [s for s in services if wants_load_balancer_ingress(s)]
    if not wanting:
        return services
    given = [i.ip for s in services for i in s.load_balancer_ingress]
    given += [s.load_balancer_ip for s in services if s.load_balancer_ip is not None]
    given += [a for s in services for a in s.external_ips] + [a.address for n in nodes for a in n.addresses]
    asked: dict[IPAddress, list[str]] = {}
    for s in wanting:
        if s.load_balancer_ip is not None:
            asked.setdefault(s.load_balancer_ip, []).append(s.meta.ref)
    for address, refs in asked.items():
        if len(refs) > 1:
            notices.append(f"{' and '.join(refs)}: the same spec.loadBalancerIP {address}: each gets it")
    ingress: dict[tuple[str, int], IPAddress] = {}
    for version in (4, 6):
        cidrs = [c for c in options.load_balancer_cidrs if c.version == version]
        identities = [
            f"Service/{s.meta.key}"
            for s in wanting
            if s.load_balancer_ip is None and version in {a.version for a in s.cluster_ips}
        ]
        if not cidrs or not identities:
            continue
        pool = _Pool(cidrs)
        taken = pool.reserved | {slot for a in given if a.version == version and (slot := pool.slot(a)) is not None}
        result = allocate(pool.size, taken, identities)
        for identity in identities:
            slot = result.slots.get(identity)
            if slot is None:
                notices.append(f"load-balancer pool {','.join(map(str, cidrs))} is full: {shown(identity)} gets no IP")
                continue
            ingress[(identity.partition("/")[2], version)] = address = pool.address(slot)
            if identity in result.contested:
                notices.append(f"{shown(identity)}: load-balancer ingress IP {address}: its first choice collided")
    out: list[Service] = []
    for s in services:
        if wants_load_balancer_ingress(s):
            if s.load_balancer_ip is not None:
                ips: list[IPAddress] = [s.load_balancer_ip]
            else:
                ips = [ingress[k] for a in s.cluster_ips if (k := (s.meta.key, a.version)) in ingress]
            if ips:
                s = replace(s, load_balancer_ingress=tuple(LoadBalancerIngress(ip, "VIP") for ip in ips))
            else:
                pools = ",".join(str(c) for c in options.load_balancer_cidrs) or "none"
                notices.append(
                    f"{s.meta.ref}: LoadBalancer without an ingress IP: no load-balancer pool of its IP families "
                    f"(pools: {pools}): stays <pending>"
                )
        out.append(s)
    return out
