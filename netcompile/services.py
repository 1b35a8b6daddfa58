"""Services → the DNAT part of the ruleset, in a layout whose chains do not grow with the cluster.

kube-proxy's nftables mode writes a chain per Service port and per endpoint; loading 10k Services takes
minutes. Here the Services become *elements* of a few maps, and the chains are shared:

    services                    ip daddr . meta l4proto . th dport vmap @service-ips-v4
                                  → goto clusterip-3        (a Service port with 3 usable endpoints)
                                  → goto service-reject     (a Service port without usable endpoints)
                                ip daddr @cluster-ips-v4 reject      (a ClusterIP on a port it lacks)
    clusterip-3                 mark off-cluster sources for masquerade, then goto endpoints-3
    endpoints-3                 dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 3
                                  map @service-endpoints-v4
                                  (elements: 10.96.0.10 . tcp . 80 . 0 : 10.244.1.5 . 8080, ... . 1 ..., . 2 ...)

One `endpoints-N` chain exists per distinct endpoint count N, so the number of chains depends on the
spread of endpoint counts, never on the number of Services; `numgen random mod N` picks each of the N
elements with probability exactly 1/N.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .cluster import Cluster, Endpoint
from .compiler import CompileOptions
from .ir import Element, Set, Table
from .model import IPAddress, Service, ServicePort, ServiceType

FAMILIES = ((4, "v4", "ip", "ipv4_addr"), (6, "v6", "ip6", "ipv6_addr"))


@dataclass(frozen=True, slots=True)
class Frontend:
    """One address and port a Service answers on, and the endpoints traffic to it may go to."""

    address: IPAddress
    port: ServicePort
    service: Service
    endpoints: tuple[Endpoint, ...]

    @property
    def label(self) -> str:
        """`ns/name:port` as cited in comments."""
        return f"{self.service.meta.key}:{self.port.label}"

    @property
    def key(self) -> tuple[str, str, str]:
        return (str(self.address), self.port.protocol.value.lower(), str(self.port.port))


def usable(endpoints: Iterable[Endpoint]) -> list[Endpoint]:
    """The endpoints traffic may go to: the ready ones; if none, the serving and terminating ones."""
    endpoints = list(endpoints)
    ready = [e for e in endpoints if e.ready]
    if ready:
        return ready
    return [e for e in endpoints if e.serving and e.terminating]


def cluster_ip_frontends(cluster: Cluster, service: Service) -> list[Frontend]:
    out: list[Frontend] = []
    for port in service.ports:
        candidates = usable(cluster.endpoints(service, port))
        for address in service.cluster_ips:
            eps = tuple(e for e in candidates if e.address.version == address.version)
            out.append(Frontend(address, port, service, eps))
    return out


def _declare(table: Table, opts: CompileOptions) -> None:
    for _, fam, proto, addr_type in FAMILIES:
        table.add_set(
            Set(
                f"service-ips-{fam}",
                f"type {addr_type} . inet_proto . inet_service",
                "verdict",
                comment="Service frontends (address . protocol . port) and where their traffic goes",
            )
        )
        table.add_set(
            Set(
                f"service-endpoints-{fam}",
                f"typeof {proto} daddr . meta l4proto . th dport . numgen random mod 1",
                f"{proto} daddr . th dport",
                comment="frontend . index -> endpoint; the endpoints-N chains draw the index from 0..N-1",
            )
        )
        table.add_set(
            Set(
                f"cluster-ips-{fam}",
                f"type {addr_type}",
                comment="every ClusterIP: traffic to one on a port its Service lacks is rejected",
            )
        )
    table.add_chain("services", "find the Service port a packet is addressed to")
    for _, fam, proto, _ in FAMILIES:
        table.add_rule("services", f"{proto} daddr . meta l4proto . th dport vmap @service-ips-{fam}")
    for _, fam, proto, _ in FAMILIES:
        table.add_rule(
            "services", f"{proto} daddr @cluster-ips-{fam} reject", "a ClusterIP on a port its Service does not have"
        )
    table.add_chain("service-reject", "a Service port without usable endpoints")
    table.add_rule("service-reject", "reject", "no usable endpoints")
    for chain in ("nat-prerouting", "nat-output"):
        table.add_rule(chain, "jump services")
    mark = f"0x{opts.masquerade_mark:08x}"
    table.add_chain("masquerading", "source NAT for traffic the Service stage marked")
    table.add_rule("masquerading", f"meta mark & {mark} == 0 return")
    table.add_rule("masquerading", f"meta mark set meta mark ^ {mark}")
    table.add_rule("masquerading", "masquerade fully-random")
    table.add_rule("nat-postrouting", "jump masquerading")


def compile_services(cluster: Cluster, table: Table, opts: CompileOptions) -> list[str]:
    """Add every Service to `table`; returns notices for the user (Services given no DNAT, and why)."""
    notices: list[str] = []
    _declare(table, opts)
    frontends: list[Frontend] = []
    for service in sorted(cluster.services.values(), key=lambda s: (s.meta.namespace, s.meta.name)):
        if service.type == ServiceType.EXTERNAL_NAME:
            notices.append(f"{service.meta.ref}: ExternalName Service: DNS only, no DNAT")
            continue
        if service.headless:
            notices.append(f"{service.meta.ref}: headless Service (clusterIP: None): DNS only, no DNAT")
            continue
        if not service.cluster_ips:
            notices.append(
                f"{service.meta.ref}: no clusterIP in the input (allocated by the API server): not programmed"
            )
            continue
        for address in service.cluster_ips:
            fam = "v4" if address.version == 4 else "v6"
            table.add_element(f"cluster-ips-{fam}", Element((str(address),), comment=service.meta.key))
        frontends.extend(cluster_ip_frontends(cluster, service))

    mark = f"0x{opts.masquerade_mark:08x}"
    counts = sorted({len(f.endpoints) for f in frontends if f.endpoints})
    for n in counts:
        chain = f"clusterip-{n}"
        table.add_chain(chain, f"ClusterIP ports with {n} endpoint{'s' if n > 1 else ''}")
        for _, fam, proto, _ in FAMILIES:
            table.add_rule(
                chain,
                f"{proto} saddr != @pod-cidrs-{fam} meta mark set meta mark | {mark}",
                "from outside the pod networks: masquerade",
            )
        table.add_rule(chain, f"goto endpoints-{n}")
    for n in counts:
        chain = f"endpoints-{n}"
        table.add_chain(chain, f"pick one of {n} endpoint{'s' if n > 1 else ''} uniformly at random")
        for _, fam, proto, _ in FAMILIES:
            table.add_rule(
                chain,
                f"dnat {proto} to {proto} daddr . meta l4proto . th dport . numgen random mod {n} "
                f"map @service-endpoints-{fam}",
            )

    for frontend in frontends:
        fam = "v4" if frontend.address.version == 4 else "v6"
        n = len(frontend.endpoints)
        verdict = f"goto clusterip-{n}" if n else "goto service-reject"
        table.add_element(f"service-ips-{fam}", Element(frontend.key, (verdict,), frontend.label))
        for index, ep in enumerate(frontend.endpoints):
            table.add_element(
                f"service-endpoints-{fam}",
                Element(
                    (*frontend.key, str(index)),
                    (str(ep.address), str(ep.port)),
                    f"{frontend.label} -> {ep.target}",
                ),
            )
    return notices
