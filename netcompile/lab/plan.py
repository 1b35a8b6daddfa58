"""What the lab builds, decided before anything touches the kernel: nodes, pods, clients, names, addresses.

Pure data from the compiled network (journeys.Network: the completed objects and each node's index),
unit-testable without root. `topology.py` turns a LabPlan into
namespaces and veths; `probes.py` and `expected.py` read it to know who is where.

Names: every namespace and interface starts with the run's prefix (`nc` + 6 hex digits), so two labs
can run side by side and teardown finds everything. Interface names are at most 15 bytes (IFNAMSIZ-1):
prefix (8) + one letter + index (up to 6 digits).

Addresses (IPv4 and IPv6, dual-stack where the input is): pods keep their status IPs; nodes their
InternalIP/ExternalIP addresses (the first of each family is the *primary*: the source of the node's
own traffic and of masquerade). A node without an address of a family the lab uses, and the LAN
gateway, get addresses from 198.18.0.0/15 (RFC 2544) and 2001:2::/48 (RFC 5180), the benchmarking
ranges, that collide with nothing in the input.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network
from pathlib import Path

from ..compile.index import Cluster
from ..journeys import Network
from ..model import IPAddress, IPNetwork, Node, Objects, Pod, Protocol
from ..model.proxy import pod_interface

POOLS: dict[int, IPNetwork] = {4: IPv4Network("198.18.0.0/15"), 6: IPv6Network("2001:2::/48")}
POOL = POOLS[4]
# The node side of every pod veth (DESIGN.md §3): the pods' gateway, per family.
POD_GATEWAY = IPv4Address("169.254.1.1")
POD_GATEWAY6 = IPv6Address("fe80::1")
IFNAMSIZ = 15
PREFIX_LEN = 8  # "nc" + 6 hex digits
NETNS_DIR = Path("/run/netns")


class PlanError(Exception):
    """The lab cannot be built from this input (a bad --client, nothing to run, ...)."""


def of_family(addresses: Iterable[IPAddress], version: int) -> IPAddress | None:
    return next((a for a in addresses if a.version == version), None)


@dataclass(frozen=True, slots=True)
class LabNode:
    name: str  # the Node's name, or "node" when the input has no Node objects
    index: int
    netns: str
    lan_if: str  # its end of the LAN veth (in netns); the other end is in the LAN bridge
    bridge_port: str
    addresses: tuple[IPAddress, ...]  # the first of each family = that family's primary
    invented: tuple[IPAddress, ...]  # addresses the lab chose (the input gave none of that family)
    pod_networks: tuple[IPNetwork, ...]  # routed to this node by the others and by clients
    declared: bool  # a Node object exists (the ruleset is compiled with --node name)
    # where the node's own lab server listens (ports probed at its addresses that no hostNetwork pod serves)
    ports: tuple[tuple[Protocol, int], ...] = ()

    @property
    def primary(self) -> IPAddress:
        """The primary address (IPv4 if the node has one)."""
        return self.primary_of(4) or self.addresses[0]

    def primary_of(self, version: int) -> IPAddress | None:
        return of_family(self.addresses, version)

    @property
    def label(self) -> str:
        return f"node:{self.name}"


@dataclass(frozen=True, slots=True)
class LabPod:
    key: str  # ns/name
    index: int
    node: str
    host_network: bool
    addresses: tuple[IPAddress, ...]  # its own addresses, or its node's for hostNetwork pods
    netns: str  # its own namespace, or its node's
    pod_if: str  # in the pod namespace ("" for hostNetwork pods)
    node_if: str  # the node side of its veth ("" for hostNetwork pods)
    ports: tuple[tuple[Protocol, int], ...]  # where its server listens

    @property
    def address(self) -> IPAddress:
        """Its primary address (IPv4 if it has one)."""
        return of_family(self.addresses, 4) or self.addresses[0]


@dataclass(frozen=True, slots=True)
class LabClient:
    address: IPAddress
    index: int
    netns: str
    client_if: str
    bridge_port: str
    entry: str  # the node whose address is the client's default route
    sends: bool = True  # a source of the full matrix (--client); False: only a destination (a host outside)
    ports: tuple[tuple[Protocol, int], ...] = ()  # where its lab server listens

    @property
    def label(self) -> str:
        return str(self.address)


@dataclass(slots=True)
class LabPlan:
    prefix: str
    lan_netns: str
    bridge: str
    gateways: tuple[IPAddress, ...]  # the LAN gateway, one address per family in use
    nodes: list[LabNode]
    pods: list[LabPod]
    clients: list[LabClient]
    objects: Objects
    notes: list[str] = field(default_factory=list)
    # kube-proxy's detectLocalMode BridgeInterface: every node's pod veths are ports of a bridge of this
    # name, which holds the pods' gateway (their packets arrive on it); "": each veth routed on its own
    pod_bridge: str = ""

    @property
    def families(self) -> tuple[int, ...]:
        return tuple(sorted({a.version for a in self.gateways}))

    @property
    def gateway(self) -> IPAddress:
        return self.gateways[0]

    def gateway_of(self, version: int) -> IPAddress | None:
        return of_family(self.gateways, version)

    @property
    def namespaces(self) -> list[str]:
        return [self.lan_netns, *(n.netns for n in self.nodes), *(p.netns for p in self.pods if not p.host_network),
                *(c.netns for c in self.clients)]  # fmt: skip

    def node(self, name: str) -> LabNode:
        return next(n for n in self.nodes if n.name == name)

    def pod(self, key: str) -> LabPod | None:
        return next((p for p in self.pods if p.key == key), None)

    def pod_at(self, address: IPAddress) -> LabPod | None:
        """The (non-hostNetwork) pod with this address."""
        return next((p for p in self.pods if address in p.addresses and not p.host_network), None)

    def node_at(self, address: IPAddress) -> LabNode | None:
        """The node that owns this address (one of its addresses)."""
        return next((n for n in self.nodes if address in n.addresses), None)

    def node_routing(self, address: IPAddress) -> LabNode | None:
        """The node a packet to `address` is routed to on the LAN: its owner, or the node of its pod network."""
        owner = self.node_at(address)
        if owner is not None:
            return owner
        pod = self.pod_at(address)
        if pod is not None:
            return self.node(pod.node)
        return next((n for n in self.nodes if any(address in net for net in n.pod_networks)), None)

    def client_at(self, address: IPAddress) -> LabClient | None:
        return next((c for c in self.clients if c.address == address), None)

    def host_server(self, node: str, protocol: Protocol, port: int) -> str | None:
        """Who answers (protocol, port) at `node`'s addresses: a hostNetwork pod, or the node's own server."""
        pod = next((p for p in self.pods if p.host_network and p.node == node and (protocol, port) in p.ports), None)
        if pod is not None:
            return pod.key
        lab_node = self.node(node)
        return lab_node.label if (protocol, port) in lab_node.ports else None

    def server_at(self, address: IPAddress, protocol: Protocol, port: int) -> str | None:
        """The label of whoever answers (protocol, port) at `address` in the lab, if anyone does."""
        node = self.node_at(address)
        if node is not None:
            return self.host_server(node.name, protocol, port)
        pod = self.pod_at(address)
        if pod is not None:
            return pod.key if (protocol, port) in pod.ports else None
        client = self.client_at(address)
        return client.label if client is not None and (protocol, port) in client.ports else None

    def serve(self, wanted: Iterable[tuple[IPAddress, Protocol, int]]) -> list[str]:
        """Make the lab answer at each (address, protocol, port) that a pod, node or outside host of the
        lab owns and nobody serves yet: so that every delivery the reference predicts, and every port an
        expectation names, is observed as an answer rather than guessed from a kernel's reset. Returns
        notes on the ports added to pods (those the input does not declare). SCTP is not served."""
        add: dict[str, set[tuple[Protocol, int]]] = {}
        for address, protocol, port in sorted(set(wanted), key=lambda w: (w[0].version, str(w[0]), w[1].value, w[2])):
            if protocol == Protocol.SCTP or self.server_at(address, protocol, port) is not None:
                continue
            node = self.node_at(address)
            pod = self.pod_at(address)
            client = self.client_at(address)
            owner = node.label if node else pod.key if pod else client.label if client else None
            if owner is not None:
                add.setdefault(owner, set()).add((protocol, port))
        notes = []
        for i, pod in enumerate(self.pods):
            if pod.key in add and not pod.host_network:
                extra = sorted(add[pod.key])
                notes.append(
                    f"pod {pod.key}: also serves {', '.join(f'{p.value.lower()}/{n}' for p, n in extra)} "
                    "(probed, not declared by the pod)"
                )
                self.pods[i] = replace(pod, ports=tuple(sorted({*pod.ports, *extra})))
        for i, node in enumerate(self.nodes):
            if node.label in add:
                self.nodes[i] = replace(node, ports=tuple(sorted({*node.ports, *add[node.label]})))
        for i, client in enumerate(self.clients):
            if client.label in add:
                self.clients[i] = replace(client, ports=tuple(sorted({*client.ports, *add[client.label]})))
        return notes

    def lab_addresses(self) -> set[IPAddress]:
        """Every address that lives in a namespace of this lab."""
        out: set[IPAddress] = set(self.gateways)
        out.update(a for n in self.nodes for a in n.addresses)
        out.update(a for p in self.pods for a in p.addresses)
        out.update(c.address for c in self.clients)
        return out


def new_prefix() -> str:
    """A run-unique prefix: `nc` + 6 random hex digits, not used by any existing namespace."""
    existing = {p.name for p in NETNS_DIR.iterdir()} if NETNS_DIR.is_dir() else set()
    while True:
        prefix = "nc" + secrets.token_hex(3)
        if not any(name.startswith(prefix) for name in existing):
            return prefix


def _ifname(prefix: str, letter: str, index: int) -> str:
    name = f"{prefix}{letter}{index}"
    if len(name) > IFNAMSIZ:
        raise PlanError(f"too many lab objects: interface name {name!r} would exceed {IFNAMSIZ} bytes")
    return name


class _Allocator:
    """Addresses from POOLS that collide with nothing the input mentions."""

    def __init__(self, taken: set[IPAddress], networks: list[IPNetwork]) -> None:
        self.taken = taken
        self.networks = networks
        self.hosts = {version: pool.hosts() for version, pool in POOLS.items()}

    def take(self, version: int) -> IPAddress:
        for address in self.hosts[version]:
            if address in self.taken or any(address in n for n in self.networks):
                continue
            self.taken.add(address)
            return address
        raise PlanError(f"no free address left in {POOLS[version]}")


def pod_ports(
    cluster: Cluster, pod: Pod, addresses: tuple[IPAddress, ...]
) -> tuple[set[tuple[Protocol, int]], list[str]]:
    """Where a pod's server listens: every declared container port, plus every Service endpoint port at
    its addresses (a targetPort the pod does not declare still reaches it in Kubernetes). SCTP is noted."""
    ports: set[tuple[Protocol, int]] = {(p.protocol, p.port) for p in pod.ports}
    for service in cluster.services.values():
        for sp in service.ports:
            for ep in cluster.endpoints(service, sp):
                if ep.address in addresses:
                    ports.add((sp.protocol, ep.port))
    notes = []
    sctp = sorted(port for proto, port in ports if proto == Protocol.SCTP)
    if sctp:
        notes.append(
            f"pod {pod.meta.key}: SCTP port(s) {', '.join(map(str, sctp))} not served: this kernel has no SCTP sockets"
        )
    return {pp for pp in ports if pp[0] != Protocol.SCTP}, notes


def _host(address: IPAddress) -> IPNetwork:
    return ip_network(f"{address}/{address.max_prefixlen}")


def make_plan(
    network: Network, clients: Sequence[IPAddress], prefix: str | None = None, hosts: Sequence[IPAddress] = ()
) -> LabPlan:
    """Decide the lab for the network's (completed) objects, outside clients (sources of the full matrix)
    and outside hosts (only destinations: addresses outside the cluster that expectations or Services send
    to). No side effects."""
    prefix = prefix or new_prefix()
    if len(prefix) > PREFIX_LEN:
        raise PlanError(f"prefix {prefix!r} longer than {PREFIX_LEN}")
    notes: list[str] = []
    objects = network.objects
    some = network.any_cluster

    taken: set[IPAddress] = set(clients) | set(hosts)
    for node in objects.nodes:
        taken.update(a.address for a in node.addresses)
    for pod in objects.pods:
        taken.update(pod.ips)
    for service in objects.services:
        taken.update(service.cluster_ips)
        taken.update(service.external_ips)
        taken.update(i.ip for i in service.load_balancer_ingress)
    alloc = _Allocator(taken, list(some.cluster_cidrs))
    families = {4} | {a.version for p in objects.pods if p.running and not p.host_network for a in p.ips}
    families |= {a.version for a in (*clients, *hosts)}

    # nodes
    declared = sorted(objects.nodes, key=lambda n: n.meta.name)
    nodes: list[LabNode] = []
    node_specs: list[tuple[str, Node | None, bool]] = [(n.meta.name, n, True) for n in declared]
    node_specs = node_specs or [("node", None, False)]
    for index, (name, node_obj, is_declared) in enumerate(node_specs):
        addresses = list(dict.fromkeys(a.address for a in node_obj.addresses)) if node_obj else []
        invented = []
        for version in sorted(families):
            if of_family(addresses, version) is None:
                invented.append(alloc.take(version))
                if node_obj is not None:
                    notes.append(f"node {name}: no IPv{version} address in the input; the lab gives it {invented[-1]}")
        nodes.append(
            LabNode(
                name=name,
                index=index,
                netns=f"{prefix}-n{index}",
                lan_if=_ifname(prefix, "l", index),
                bridge_port=_ifname(prefix, "b", index),
                addresses=(*addresses, *invented),
                invented=tuple(invented),
                pod_networks=node_obj.pod_cidrs if node_obj else (),
                declared=is_declared,
            )
        )
    by_name = {n.name: n for n in nodes}

    # pods: the node side of their veths named as kube-proxy's InterfaceNamePrefix expects them
    named = _pod_veth_names(network, by_name)
    pods: list[LabPod] = []
    seen_ips: dict[IPAddress, str] = {}
    host_ports: dict[tuple[str, Protocol, int], str] = {}
    extra_networks: dict[str, list[IPNetwork]] = {n.name: [] for n in nodes}
    node_addresses = {a for n in nodes for a in n.addresses}
    for pod in sorted(objects.pods, key=lambda p: p.meta.key):
        key = pod.meta.key
        if not pod.running:
            continue
        node_name = pod.node_name if declared else "node"
        if node_name is None or node_name not in by_name:
            notes.append(f"pod {key}: not on a Node of the input (spec.nodeName {pod.node_name!r}); not in the lab")
            continue
        lab_node = by_name[node_name]
        pod_addresses: tuple[IPAddress, ...]
        if pod.host_network:
            pod_addresses = lab_node.addresses
        else:
            if not pod.ips:
                notes.append(f"pod {key}: no address in the input; not in the lab")
                continue
            clash = [a for a in pod.ips if a in seen_ips or a in node_addresses]
            if clash:
                owner = seen_ips.get(clash[0], "a node")
                notes.append(f"pod {key}: address {clash[0]} already belongs to {owner}; not in the lab")
                continue
            pod_addresses = pod.ips
            for address in pod_addresses:
                seen_ips[address] = key
                if not any(address in net for net in lab_node.pod_networks):
                    extra_networks[node_name].append(_host(address))
        ports, port_notes = pod_ports(some, pod, pod_addresses)
        notes.extend(port_notes)
        if pod.host_network:
            for proto, port in sorted(ports):
                owner = host_ports.setdefault((node_name, proto, port), key)
                if owner != key:
                    notes.append(f"pod {key}: {proto} {port} on node {node_name} already served by {owner}; skipped")
                    ports.discard((proto, port))
        index = len(pods)
        pods.append(
            LabPod(
                key=key,
                index=index,
                node=node_name,
                host_network=pod.host_network,
                addresses=pod_addresses,
                netns=lab_node.netns if pod.host_network else f"{prefix}-p{index}",
                pod_if="" if pod.host_network else _ifname(prefix, "p", index),
                node_if="" if pod.host_network else named.get(key) or _ifname(prefix, "v", index),
                ports=tuple(sorted(ports)),
            )
        )
    nodes = [replace(n, pod_networks=n.pod_networks + tuple(extra_networks[n.name])) for n in nodes]

    # outside clients and hosts
    lab_clients: list[LabClient] = []
    owned = {a for n in nodes for a in n.addresses} | {a for p in pods for a in p.addresses}
    absent = {a: pod.meta.key for pod in objects.pods for a in pod.ips if a not in owned}
    sending = dict.fromkeys(clients)
    for address in [*sending, *(h for h in dict.fromkeys(hosts) if h not in sending)]:
        if address in owned:
            continue  # a pod or node address: that pod or node is the source
        what = "client" if address in sending else "outside address"
        if address in absent:
            raise PlanError(
                f"{what} {address} is the address of pod {absent[address]}, which is not in the lab "
                "(not Running, or not on a Node of the input): it cannot stand for an outside host"
            )
        inside = next((net for n in nodes for net in n.pod_networks if address in net), None)
        if inside is not None:
            raise PlanError(
                f"{what} {address} is inside the pod network {inside} but no running pod has it: "
                "not an outside host, and no pod of the lab to probe"
            )
        index = len(lab_clients)
        lab_clients.append(
            LabClient(
                address=address,
                index=index,
                netns=f"{prefix}-c{index}",
                client_if=_ifname(prefix, "c", index),
                bridge_port=_ifname(prefix, "k", index),
                entry=nodes[0].name,
                sends=address in sending,
            )
        )
    return LabPlan(
        prefix=prefix,
        lan_netns=f"{prefix}-lan",
        bridge=f"{prefix}br",
        gateways=tuple(alloc.take(v) for v in sorted(families)),
        nodes=nodes,
        pods=pods,
        clients=lab_clients,
        objects=objects,
        notes=notes,
        pod_bridge=_pod_bridge(network),
    )


def _pod_bridge(network: Network) -> str:
    config = network.objects.proxy_config
    mode = network.opts.detect_local_mode
    return config.bridge_interface if config is not None and mode == "BridgeInterface" else ""


def _pod_veth_names(network: Network, nodes: dict[str, LabNode]) -> dict[str, str]:
    """With detectLocalMode InterfaceNamePrefix, each pod's veth on its node is named as the journeys
    expect its packets to arrive (model.proxy.pod_interface: the prefix and a suffix of the pod's name);
    two pods of one node with the same name (a long prefix leaves little room) cannot be built."""
    config, mode = network.objects.proxy_config, network.opts.detect_local_mode
    if config is None or mode != "InterfaceNamePrefix":
        return {}
    out: dict[str, str] = {}
    taken: dict[tuple[str | None, str], str] = {}
    for pod in network.objects.pods:
        if not pod.running or pod.host_network:
            continue
        name = pod_interface(config, mode, pod.meta.key)
        node = pod.node_name if len(nodes) > 1 or pod.node_name in nodes else None
        other = taken.setdefault((node, name), pod.meta.key)
        if other != pod.meta.key:
            raise PlanError(
                f"pods {other} and {pod.meta.key} would both have interface {name!r} on their node: "
                f"interfaceNamePrefix {config.interface_name_prefix!r} leaves too little room for a suffix"
            )
        out[pod.meta.key] = name
    return out
