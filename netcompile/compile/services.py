"""Services → the NAT part of the ruleset, in a layout whose chains do not grow with the cluster.

kube-proxy's nftables mode writes a chain per Service port and per endpoint; loading 10k Services takes
minutes. Here Services are *elements* of a few maps (one per address family) and the chains are shared;
docs/semantics.md §2 is what they implement. A new connection to a Service walks:

    nat-prerouting / nat-output (the node's own traffic: marked for masquerade first)
      services        ip daddr . meta l4proto . th dport @lb-firewall-v4  ... . ip saddr != @lb-source-ranges-v4 drop
                      ip daddr . meta l4proto . th dport vmap @service-ips-v4      which kind of frontend:
                          → goto clusterip        masquerade unless the source is a pod
                          → goto external         NodePort/externalIP/LB IP, externalTrafficPolicy Cluster: masquerade
                          → goto external-local   externalTrafficPolicy Local: node and pods as ClusterIP,
                                                  external clients to local endpoints only, source kept
                      ip daddr @cluster-ips-v4 goto service-reject             a ClusterIP on a port it lacks
      service-pick    ip daddr . meta l4proto . th dport vmap @service-picks-v4   (local-pick: @local-picks-v4)
                          → goto endpoints-3      a list of 3 endpoints
                          → goto service-reject   no usable endpoint at all          (§2.4)
                          → goto service-drop     usable endpoints, none in this list (a Local policy)
                          → goto service-<hash>-ns/name/port    sessionAffinity ClientIP (per-Service chains)
      endpoints-3     dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 3 map @service-endpoints-v4
    nat-postrouting
      masquerading    hairpin (ct status dnat, ip saddr . ip daddr @hairpin-v4) marks too; marked → masquerade

One `endpoints-N` (and `local-endpoints-N`) chain exists per distinct list length N, so the number of
chains depends on the spread of endpoint counts, never on the number of Services; `numgen random mod N`
picks each of the N map elements with probability exactly 1/N. Per packet: a constant number of set and
map lookups. Only session affinity needs per-Service state (as kube-proxy): per endpoint list of a
Service port, a chain that sends known clients to their endpoint and balances new ones; per endpoint of
that list, a dynamic set of the clients sticking to it (timeout = timeoutSeconds) and a chain that
refreshes it and DNATs. Lists do not share sets: the local list an externalTrafficPolicy Local frontend
uses for outside clients keeps its own memory, so it never overrides the ClusterIP's choice.

Marks: the Service stage owns one bit (CompileOptions.masquerade_mark, 0x4000 as kube-proxy). nat-output
sets it before looking for a Service (the node's own traffic is always masqueraded; `external-local`
reads it to tell the node from outside clients) and clears it again when no Service matched.
Rejects: TCP gets a reset (not subject to the kernel's ICMP rate limits), other protocols ICMP
port-unreachable.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from ipaddress import IPv4Address

from ..model import IPAddress, IPNetwork, Service, ServicePort, ServiceType, TrafficPolicy
from ..nft.ir import Element, Set, Table
from ..nft.names import object_name
from .compiler import CompileOptions
from .index import Cluster, Endpoint, collapse


@dataclass(frozen=True, slots=True)
class Family:
    version: int
    suffix: str  # set and map names end in -v4 / -v6
    ip: str  # the nftables protocol keyword: ip / ip6
    addr_type: str  # the nftables datatype of an address


V4 = Family(4, "v4", "ip", "ipv4_addr")
V6 = Family(6, "v6", "ip6", "ipv6_addr")
FAMILIES = (V4, V6)


def family_of(address: IPAddress) -> Family:
    return V4 if isinstance(address, IPv4Address) else V6


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


@dataclass(frozen=True, slots=True)
class Frontend:
    """One (address, protocol, port) a Service port answers on."""

    address: IPAddress
    port: int
    kind: Kind
    service: Service
    service_port: ServicePort
    source_ranges: tuple[IPNetwork, ...] = ()  # loadBalancerSourceRanges that apply to it
    key: tuple[str, str, str] = field(init=False)  # the map key atoms: address . protocol . port
    label: str = field(init=False)  # `ns/name:port` as cited in comments

    def __post_init__(self) -> None:
        protocol = self.service_port.protocol.value.lower()
        object.__setattr__(self, "key", (str(self.address), protocol, str(self.port)))
        object.__setattr__(self, "label", f"{self.service.meta.key}:{self.service_port.label}")

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


@dataclass(frozen=True, slots=True)
class Lists:
    """The endpoint lists of one Service port in one address family."""

    usable: tuple[Endpoint, ...]
    cluster: tuple[Endpoint, ...]  # usable, filtered by topology hints
    local: tuple[Endpoint, ...]  # usable among the endpoints on this node
    internal: tuple[Endpoint, ...]  # local under internalTrafficPolicy Local, else cluster


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
    """This node's addresses, restricted to --nodeport-addresses when given; each once."""
    out: dict[IPAddress, None] = {}
    for address in cluster.node_addresses:
        if not opts.nodeport_addresses or any(address in net for net in opts.nodeport_addresses):
            out.setdefault(address)
    return tuple(out)


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


# --- the ruleset ----------------------------------------------------------------------------------------


@cache
def _num(n: int) -> str:
    """Indexes and ports as text, one shared string each (100k map elements repeat a few values)."""
    return str(n)


# Shared chains, in the order they are written.
SERVICES = "services"
CLUSTER_IP_CHAIN = "clusterip"
EXTERNAL_CHAIN = "external"
EXTERNAL_LOCAL_CHAIN = "external-local"
PICK = "service-pick"
LOCAL_PICK = "local-pick"
REJECT = "service-reject"
DROP = "service-drop"
MASQUERADING = "masquerading"


@dataclass(frozen=True, slots=True)
class ListRole:
    """One kind of endpoint list a frontend draws from: the primary one or, for external clients of an
    externalTrafficPolicy Local frontend, the local one. Each has its own maps and endpoints-N chains."""

    picks: str  # verdict map prefix: frontend -> how to pick
    endpoints: str  # map prefix: frontend . index -> endpoint
    chain_prefix: str  # endpoints-N chains
    affinity_tail: str  # suffix of affinity chain tails


PRIMARY = ListRole("service-picks", "service-endpoints", "endpoints", "")
LOCAL = ListRole("local-picks", "local-endpoints", "local-endpoints", "/local")


@dataclass(slots=True)
class _Builder:
    cluster: Cluster
    table: Table
    opts: CompileOptions
    mark: str = ""
    counts: dict[str, set[int]] = field(default_factory=dict)  # chain prefix -> list lengths used
    hairpin: dict[str, IPAddress] = field(default_factory=dict)  # every endpoint address: text -> address
    affinity_lists: dict[tuple[object, ...], str] = field(default_factory=dict)  # list identity -> chain
    affinity_endpoints: dict[tuple[object, ...], tuple[str, str]] = field(default_factory=dict)
    pending_chains: list[tuple[str, str, list[tuple[str, str | None]]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.mark = f"0x{self.opts.masquerade_mark:08x}"

    # --- the fixed skeleton ----------------------------------------------------------------------

    def declare(self) -> None:
        t = self.table
        key = "{a} . inet_proto . inet_service"
        declarations: list[tuple[str, str, str | None, tuple[str, ...], str]] = [
            ("service-ips", "type " + key, "verdict", (), "Service frontends (address . protocol . port) -> kind"),
            ("service-picks", "type " + key, "verdict", (), "frontend -> its endpoint list (length, or why empty)"),
            (
                "service-endpoints",
                "typeof {ip} daddr . meta l4proto . th dport . numgen random mod 1",
                "{ip} daddr . th dport",
                (),
                "frontend . index -> endpoint; the endpoints-N chains draw the index from 0..N-1",
            ),
            ("local-picks", "type " + key, "verdict", (), "externalTrafficPolicy Local, external clients: local list"),
            (
                "local-endpoints",
                "typeof {ip} daddr . meta l4proto . th dport . numgen random mod 1",
                "{ip} daddr . th dport",
                (),
                "frontend . index -> local endpoint; drawn by the local-endpoints-N chains",
            ),
            (
                "cluster-ips",
                "type {a}",
                None,
                (),
                "every ClusterIP: traffic to one on a port its Service lacks is rejected",
            ),
            ("lb-firewall", "type " + key, None, (), "LoadBalancer IP frontends with loadBalancerSourceRanges"),
            (
                "lb-source-ranges",
                "type " + key + " . {a}",
                None,
                ("interval",),
                "frontend . allowed source range: other sources are dropped",
            ),
            ("hairpin", "type {a} . {a}", None, (), "endpoint . endpoint: a connection DNATed back to its source"),
        ]
        for name, key_spec, value, flags, comment in declarations:
            for fam in FAMILIES:
                t.add_set(
                    Set(
                        f"{name}-{fam.suffix}",
                        key_spec.format(a=fam.addr_type, ip=fam.ip),
                        value.format(ip=fam.ip) if value else None,
                        flags=flags,
                        comment=comment,
                    )
                )
        mark = self.mark
        t.add_rule("nat-prerouting", f"jump {SERVICES}")
        t.add_rule("nat-output", f"meta mark set meta mark | {mark}", "from the node itself: masquerade if a Service")
        t.add_rule("nat-output", f"jump {SERVICES}")
        t.add_rule("nat-output", f"meta mark set meta mark ^ {mark}", "not a Service: unmark")
        t.add_rule("nat-postrouting", f"jump {MASQUERADING}")

        t.add_chain(SERVICES, "find the Service frontend a new connection is addressed to")
        for fam in FAMILIES:
            frontend = f"{fam.ip} daddr . meta l4proto . th dport"
            t.add_rule(
                SERVICES,
                f"{frontend} @lb-firewall-{fam.suffix} "
                f"{frontend} . {fam.ip} saddr != @lb-source-ranges-{fam.suffix} drop",
                "loadBalancerSourceRanges: a source outside every range",
            )
        for fam in FAMILIES:
            t.add_rule(SERVICES, f"{fam.ip} daddr . meta l4proto . th dport vmap @service-ips-{fam.suffix}")
        for fam in FAMILIES:
            t.add_rule(
                SERVICES,
                f"{fam.ip} daddr @cluster-ips-{fam.suffix} goto {REJECT}",
                "a ClusterIP on a port its Service lacks",
            )

        t.add_chain(CLUSTER_IP_CHAIN, "ClusterIP: the internal list; masquerade unless the source is a pod")
        for fam in FAMILIES:
            t.add_rule(
                CLUSTER_IP_CHAIN,
                f"{fam.ip} saddr != @pod-cidrs-{fam.suffix} meta mark set meta mark | {mark}",
                "from outside the pod networks: masquerade",
            )
        t.add_rule(CLUSTER_IP_CHAIN, f"goto {PICK}")

        t.add_chain(EXTERNAL_CHAIN, "NodePort/externalIP/LoadBalancer, externalTrafficPolicy Cluster: masquerade")
        t.add_rule(EXTERNAL_CHAIN, f"meta mark set meta mark | {mark}")
        t.add_rule(EXTERNAL_CHAIN, f"goto {PICK}")

        t.add_chain(EXTERNAL_LOCAL_CHAIN, "NodePort/externalIP/LoadBalancer, externalTrafficPolicy Local: which list")
        t.add_rule(
            EXTERNAL_LOCAL_CHAIN,
            f"meta mark & {mark} == {mark} goto {PICK}",
            "from the node: internal list, masquerade",
        )
        for fam in FAMILIES:
            t.add_rule(
                EXTERNAL_LOCAL_CHAIN,
                f"{fam.ip} saddr @pod-cidrs-{fam.suffix} goto {PICK}",
                "from a pod: internal list, source kept",
            )
        t.add_rule(EXTERNAL_LOCAL_CHAIN, f"goto {LOCAL_PICK}", "external: local endpoints only, source kept")

        for chain, role, comment in (
            (PICK, PRIMARY, "the frontend's endpoint list: how many, or why none"),
            (LOCAL_PICK, LOCAL, "the frontend's local endpoints: how many, or why none"),
        ):
            t.add_chain(chain, comment)
            for fam in FAMILIES:
                t.add_rule(chain, f"{fam.ip} daddr . meta l4proto . th dport vmap @{role.picks}-{fam.suffix}")

        t.add_chain(REJECT, "no usable endpoint, or a ClusterIP port that does not exist")
        # A TCP reset is not subject to the kernel's ICMP rate limits; other protocols get ICMP unreachable.
        t.add_rule(REJECT, "meta l4proto tcp reject with tcp reset")
        t.add_rule(REJECT, "reject")
        t.add_chain(DROP, "usable endpoints exist, but none in the list this traffic may use")
        t.add_rule(DROP, "drop")

        t.add_chain(MASQUERADING, "source NAT for what the Service stage marked, and for hairpin connections")
        for fam in FAMILIES:
            t.add_rule(
                MASQUERADING,
                f"ct status dnat {fam.ip} saddr . {fam.ip} daddr @hairpin-{fam.suffix} "
                f"meta mark set meta mark | {mark}",
                "hairpin: DNATed to its own source",
            )
        t.add_rule(MASQUERADING, f"meta mark & {mark} == 0 return")
        t.add_rule(MASQUERADING, f"meta mark set meta mark ^ {mark}")
        t.add_rule(MASQUERADING, "masquerade fully-random")

    # --- one frontend ------------------------------------------------------------------------------

    def frontend(self, fe: Frontend, lists: Lists) -> None:
        suffix = family_of(fe.address).suffix
        t = self.table
        if not fe.kind.external:
            kind, primary = CLUSTER_IP_CHAIN, lists.internal
        elif fe.service.external_traffic_policy is TrafficPolicy.CLUSTER:
            kind, primary = EXTERNAL_CHAIN, lists.cluster
        else:
            kind, primary = EXTERNAL_LOCAL_CHAIN, lists.internal
        t.add_element(f"service-ips-{suffix}", Element(fe.key, (f"goto {kind}",), fe.element_comment))
        self.pick(fe, PRIMARY, primary, lists)
        if kind == EXTERNAL_LOCAL_CHAIN:
            self.pick(fe, LOCAL, lists.local, lists)
        if fe.source_ranges:
            t.add_element(f"lb-firewall-{suffix}", Element(fe.key, comment=fe.element_comment))
            for net in collapse(n for n in fe.source_ranges if n.version == fe.address.version):
                t.add_element(f"lb-source-ranges-{suffix}", Element((*fe.key, str(net)), comment=fe.label))

    def pick(self, fe: Frontend, role: ListRole, endpoints: tuple[Endpoint, ...], lists: Lists) -> None:
        suffix = family_of(fe.address).suffix
        picks = f"{role.picks}-{suffix}"
        if not endpoints:
            verdict = f"goto {DROP}" if lists.usable else f"goto {REJECT}"
            self.table.add_element(picks, Element(fe.key, (verdict,), fe.label))
            return
        texts = [str(ep.address) for ep in endpoints]
        self.hairpin.update(zip(texts, (ep.address for ep in endpoints), strict=True))
        if fe.service.session_affinity_timeout is not None:
            chain = self.affinity_chain(fe, role, endpoints)
            self.table.add_element(picks, Element(fe.key, (f"goto {chain}",), f"{fe.label}: ClientIP affinity"))
            return
        n = len(endpoints)
        self.counts.setdefault(role.chain_prefix, set()).add(n)
        self.table.add_element(picks, Element(fe.key, (f"goto {role.chain_prefix}-{n}",), fe.label))
        target, (address, protocol, port), label = f"{role.endpoints}-{suffix}", fe.key, fe.label
        # The comment names the pod behind the endpoint when the input has it; the address is the value.
        self.table.add_elements(
            target,
            [
                Element(
                    (address, protocol, port, _num(index)),
                    (texts[index], _num(ep.port)),
                    f"{label} -> {ep.pod}" if ep.pod else label,
                )
                for index, ep in enumerate(endpoints)
            ],
        )

    # --- session affinity: per-Service state ---------------------------------------------------------

    def affinity_chain(self, fe: Frontend, role: ListRole, endpoints: tuple[Endpoint, ...]) -> str:
        """The chain that keeps known clients on their endpoint and balances new ones over `endpoints`."""
        svc, sp = fe.service, fe.service_port
        base = f"{svc.meta.namespace}/{svc.meta.name}/{sp.protocol.value.lower()}/{sp.port}"
        identity = (base, tuple((e.address, e.port) for e in endpoints))
        found = self.affinity_lists.get(identity)
        if found is not None:
            return found
        fam = family_of(fe.address)
        tail = f"{svc.meta.namespace}/{svc.meta.name}/{sp.label}"
        ids = ",".join(f"{e.address}/{e.port}" for e in endpoints)
        list_id = f"{base}/list:{ids}"
        chain = object_name("service", list_id, tail + role.affinity_tail)
        self.affinity_lists[identity] = chain
        rules: list[tuple[str, str | None]] = []
        targets: list[str] = []
        for ep in endpoints:
            ep_chain, ep_set = self.affinity_endpoint(fe, ep, list_id, tail + role.affinity_tail)
            rules.append((f"{fam.ip} saddr @{ep_set} goto {ep_chain}", f"{fe.label}: a client of {ep.target}"))
            targets.append(ep_chain)
        if len(targets) == 1:
            rules.append((f"goto {targets[0]}", f"{fe.label}: a new client"))
        else:
            branches = ", ".join(f"{i} : goto {c}" for i, c in enumerate(targets))
            rules.append(
                (f"numgen random mod {len(targets)} vmap {{ {branches} }}", f"{fe.label}: a new client, uniformly")
            )
        self.pending_chains.append(
            (chain, f"{fe.label}: sessionAffinity ClientIP over {len(targets)} endpoint(s)", rules)
        )
        return chain

    def affinity_endpoint(self, fe: Frontend, ep: Endpoint, list_id: str, tail: str) -> tuple[str, str]:
        """The chain that remembers the client and DNATs to `ep`, and the set of clients sticking to it.

        Per endpoint *of one list*: a client that an externalTrafficPolicy Local frontend had to send to a
        local endpoint keeps its own choice on the ClusterIP (whose list is wider), and the other way round.
        """
        key = (list_id, ep.address, ep.port)
        found = self.affinity_endpoints.get(key)
        if found is not None:
            return found
        fam = family_of(ep.address)
        identity = f"{list_id}/{ep.address}/{ep.port}"
        ep_tail = f"{tail}__{ep.address}/{ep.port}"
        chain = object_name("endpoint", identity, ep_tail)
        members = object_name("affinity", identity, ep_tail)
        timeout = fe.service.session_affinity_timeout
        self.table.add_set(
            Set(
                members,
                f"type {fam.addr_type}",
                flags=("dynamic", "timeout"),
                timeout=timeout,
                comment=f"{fe.label}: clients sticking to {ep.target}",
            )
        )
        host = f"[{ep.address}]" if fam is V6 else str(ep.address)
        proto = fe.service_port.protocol.value.lower()
        self.pending_chains.append(
            (
                chain,
                f"{fe.label} -> {ep.target}",
                [
                    (f"update @{members} {{ {fam.ip} saddr }}", f"{fe.label}: remember the client for {timeout}s"),
                    (f"meta l4proto {proto} dnat {fam.ip} to {host}:{ep.port}", f"{fe.label} -> {ep.target}"),
                ],
            )
        )
        self.affinity_endpoints[key] = (chain, members)
        return chain, members

    # --- what depends on the whole cluster ----------------------------------------------------------

    def finish(self) -> None:
        t = self.table
        for role in (PRIMARY, LOCAL):
            for n in sorted(self.counts.get(role.chain_prefix, ())):
                chain = f"{role.chain_prefix}-{n}"
                which = "local endpoint" if role is LOCAL else "endpoint"
                t.add_chain(chain, f"pick one of {n} {which}{'s' if n > 1 else ''} uniformly at random")
                for fam in FAMILIES:
                    t.add_rule(
                        chain,
                        f"dnat {fam.ip} to {fam.ip} daddr . meta l4proto . th dport . numgen random mod {n} "
                        f"map @{role.endpoints}-{fam.suffix}",
                    )
        for chain, comment, rules in self.pending_chains:
            t.add_chain(chain, comment)
            for text, rule_comment in rules:
                t.add_rule(chain, text, rule_comment)
        # No element comments here: 100k endpoints make 100k elements, and `a . a` speaks for itself.
        pairs = sorted(self.hairpin.items(), key=lambda item: (item[1].version, int(item[1])))
        for fam in FAMILIES:
            t.add_elements(f"hairpin-{fam.suffix}", [Element((a, a)) for a, ip in pairs if ip.version == fam.version])


def compile_services(cluster: Cluster, table: Table, opts: CompileOptions) -> list[str]:
    """Add every Service to `table`; returns notices for the user (Services given no DNAT, collisions)."""
    notices: list[str] = []
    builder = _Builder(cluster, table, opts)
    builder.declare()
    node_addresses = node_port_addresses(cluster, opts)
    zone = cluster.node.zone if cluster.node else None
    winners: dict[tuple[str, str, str], Frontend] = {}
    cluster_ips: dict[IPAddress, Service] = {}
    for service in sorted(cluster.services.values(), key=lambda s: (s.meta.namespace, s.meta.name)):
        why = dns_only(service)
        if why is not None:
            notices.append(f"{service.meta.ref}: {why}")
            continue
        for address in service.cluster_ips:
            if cluster_ips.setdefault(address, service) is service:
                table.add_element(
                    f"cluster-ips-{family_of(address).suffix}", Element((str(address),), comment=service.meta.key)
                )
        lists: dict[tuple[str, int], Lists] = {}
        for fe in service_frontends(service, node_addresses):
            winner = winners.setdefault(fe.key, fe)
            if winner is not fe:
                notices.append(
                    f"{service.meta.ref} port {fe.service_port.label}: {fe.describe()} is already a frontend of "
                    f"{winner.service.meta.ref} port {winner.service_port.label} ({winner.kind.value}): not programmed"
                )
                continue
            list_key = (fe.service_port.label, fe.address.version)
            if list_key not in lists:
                endpoints = [
                    e for e in cluster.endpoints(service, fe.service_port) if e.address.version == fe.address.version
                ]
                lists[list_key] = endpoint_lists(cluster, service, endpoints, zone)
            builder.frontend(fe, lists[list_key])
    builder.finish()
    return notices
