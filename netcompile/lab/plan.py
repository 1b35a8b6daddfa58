"""What the lab builds, decided before anything touches the kernel: nodes, pods, clients, names, addresses.

Pure data from the Cluster model (unit-testable without root). `topology.py` turns a LabPlan into
namespaces and veths; `probes.py` and `expected.py` read it to know who is where.

Names: every namespace and interface starts with the run's prefix (`nc` + 6 hex digits), so two labs
can run side by side and teardown finds everything. Interface names are at most 15 bytes (IFNAMSIZ-1):
prefix (8) + one letter + index (up to 6 digits).

Addresses: pods keep their status IPs; nodes their InternalIP/ExternalIP addresses (the first one is
the *primary*: the source of the node's own traffic and of masquerade). A node without addresses in the
input, the LAN gateway, and nothing else, get addresses from 198.18.0.0/15 (RFC 2544, benchmarking)
that collide with nothing in the input. The lab is IPv4-only for now; IPv6 addresses are noted and
skipped.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from ..cluster import Cluster
from ..model import IPAddress, Node, Objects, Pod, Protocol

POOL = IPv4Network("198.18.0.0/15")
POD_GATEWAY = IPv4Address("169.254.1.1")  # the node side of every pod veth (DESIGN.md §3)
IFNAMSIZ = 15
PREFIX_LEN = 8  # "nc" + 6 hex digits
NETNS_DIR = Path("/run/netns")


class PlanError(Exception):
    """The lab cannot be built from this input (a bad --client, nothing to run, ...)."""


@dataclass(frozen=True, slots=True)
class LabNode:
    name: str  # the Node's name, or "node" when the input has no Node objects
    index: int
    netns: str
    lan_if: str  # its end of the LAN veth (in netns); the other end is in the LAN bridge
    bridge_port: str
    addresses: tuple[IPv4Address, ...]  # first = primary
    invented: bool  # the input gave no IPv4 address: the lab chose one
    pod_networks: tuple[IPv4Network, ...]  # routed to this node by the others and by clients
    declared: bool  # a Node object exists (the ruleset is compiled with --node name)

    @property
    def primary(self) -> IPv4Address:
        return self.addresses[0]

    @property
    def label(self) -> str:
        return f"node:{self.name}"


@dataclass(frozen=True, slots=True)
class LabPod:
    key: str  # ns/name
    index: int
    node: str
    host_network: bool
    address: IPv4Address  # its own address, or its node's primary for hostNetwork pods
    netns: str  # its own namespace, or its node's
    pod_if: str  # in the pod namespace ("" for hostNetwork pods)
    node_if: str  # the node side of its veth ("" for hostNetwork pods)
    ports: tuple[tuple[Protocol, int], ...]  # where its server listens


@dataclass(frozen=True, slots=True)
class LabClient:
    address: IPv4Address
    index: int
    netns: str
    client_if: str
    bridge_port: str
    entry: str  # the node whose address is the client's default route

    @property
    def label(self) -> str:
        return str(self.address)


@dataclass(slots=True)
class LabPlan:
    prefix: str
    lan_netns: str
    bridge: str
    gateway: IPv4Address
    nodes: list[LabNode]
    pods: list[LabPod]
    clients: list[LabClient]
    objects: Objects
    notes: list[str] = field(default_factory=list)

    @property
    def namespaces(self) -> list[str]:
        return [
            self.lan_netns,
            *(n.netns for n in self.nodes),
            *(p.netns for p in self.pods if not p.host_network),
            *(c.netns for c in self.clients),
        ]

    def node(self, name: str) -> LabNode:
        return next(n for n in self.nodes if n.name == name)

    def pod(self, key: str) -> LabPod | None:
        return next((p for p in self.pods if p.key == key), None)

    def pod_at(self, address: IPv4Address) -> LabPod | None:
        """The (non-hostNetwork) pod with this address."""
        return next((p for p in self.pods if p.address == address and not p.host_network), None)

    def node_at(self, address: IPv4Address) -> LabNode | None:
        """The node that owns this address (one of its addresses)."""
        return next((n for n in self.nodes if address in n.addresses), None)

    def node_routing(self, address: IPv4Address) -> LabNode | None:
        """The node a packet to `address` is routed to on the LAN: its owner, or the node of its pod network."""
        owner = self.node_at(address)
        if owner is not None:
            return owner
        pod = self.pod_at(address)
        if pod is not None:
            return self.node(pod.node)
        return next((n for n in self.nodes if any(address in net for net in n.pod_networks)), None)

    def client_at(self, address: IPv4Address) -> LabClient | None:
        return next((c for c in self.clients if c.address == address), None)

    def host_server(self, node: str, protocol: Protocol, port: int) -> LabPod | None:
        """The hostNetwork pod of `node` that serves (protocol, port)."""
        return next((p for p in self.pods if p.host_network and p.node == node and (protocol, port) in p.ports), None)

    def lab_addresses(self) -> set[IPv4Address]:
        """Every address that lives in a namespace of this lab."""
        out = {self.gateway}
        out.update(a for n in self.nodes for a in n.addresses)
        out.update(p.address for p in self.pods)
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
    """Addresses from POOL that collide with nothing the input mentions."""

    def __init__(self, taken: set[IPv4Address], networks: list[IPv4Network]) -> None:
        self.taken = taken
        self.networks = networks
        self.hosts = POOL.hosts()

    def take(self) -> IPv4Address:
        for address in self.hosts:
            if address in self.taken or any(address in n for n in self.networks):
                continue
            self.taken.add(address)
            return address
        raise PlanError(f"no free address left in {POOL}")


def _v4(addresses: Iterable[IPAddress]) -> list[IPv4Address]:
    return [a for a in addresses if isinstance(a, IPv4Address)]


def pod_ports(cluster: Cluster, pod: Pod, address: IPv4Address) -> tuple[set[tuple[Protocol, int]], list[str]]:
    """Where a pod's server listens: every declared container port, plus every Service endpoint port at
    its address (a targetPort the pod does not declare still reaches it in Kubernetes). SCTP is noted."""
    ports: set[tuple[Protocol, int]] = {(p.protocol, p.port) for p in pod.ports}
    for service in cluster.services.values():
        for sp in service.ports:
            for ep in cluster.endpoints(service, sp):
                if ep.address == address:
                    ports.add((sp.protocol, ep.port))
    notes = []
    sctp = sorted(port for proto, port in ports if proto == Protocol.SCTP)
    if sctp:
        notes.append(
            f"pod {pod.meta.key}: SCTP port(s) {', '.join(map(str, sctp))} not served: this kernel has no SCTP sockets"
        )
    return {pp for pp in ports if pp[0] != Protocol.SCTP}, notes


def make_plan(objects: Objects, clients: list[IPv4Address], prefix: str | None = None) -> LabPlan:
    """Decide the lab for these objects and outside clients (no side effects)."""
    prefix = prefix or new_prefix()
    if len(prefix) > PREFIX_LEN:
        raise PlanError(f"prefix {prefix!r} longer than {PREFIX_LEN}")
    notes: list[str] = []
    some = Cluster(objects, next((n.meta.name for n in objects.nodes), None))

    taken: set[IPv4Address] = set()
    networks: list[IPv4Network] = [n for n in some.cluster_cidrs if isinstance(n, IPv4Network)]
    for node in objects.nodes:
        taken.update(_v4(a.address for a in node.addresses))
    for pod in objects.pods:
        taken.update(_v4(pod.ips))
    for service in objects.services:
        taken.update(_v4(service.cluster_ips))
        taken.update(_v4(service.external_ips))
        taken.update(_v4(i.ip for i in service.load_balancer_ingress))
    taken.update(clients)
    alloc = _Allocator(taken, networks)

    # nodes
    declared = sorted(objects.nodes, key=lambda n: n.meta.name)
    nodes: list[LabNode] = []
    node_specs: list[tuple[str, Node | None, bool]] = [(n.meta.name, n, True) for n in declared]
    node_specs = node_specs or [("node", None, False)]
    for index, (name, node_obj, is_declared) in enumerate(node_specs):
        addresses = _v4(a.address for a in node_obj.addresses) if node_obj else []
        invented = not addresses
        if invented:
            addresses = [alloc.take()]
            if node_obj is not None:
                notes.append(f"node {name}: no IPv4 address in the input; the lab gives it {addresses[0]}")
        pod_networks = [n for n in node_obj.pod_cidrs if isinstance(n, IPv4Network)] if node_obj else []
        nodes.append(
            LabNode(
                name=name,
                index=index,
                netns=f"{prefix}-n{index}",
                lan_if=_ifname(prefix, "l", index),
                bridge_port=_ifname(prefix, "b", index),
                addresses=tuple(dict.fromkeys(addresses)),
                invented=invented,
                pod_networks=tuple(pod_networks),
                declared=is_declared,
            )
        )
    by_name = {n.name: n for n in nodes}

    # pods
    pods: list[LabPod] = []
    seen_ips: dict[IPv4Address, str] = {}
    host_ports: dict[tuple[str, Protocol, int], str] = {}
    extra_networks: dict[str, list[IPv4Network]] = {n.name: [] for n in nodes}
    for pod in sorted(objects.pods, key=lambda p: p.meta.key):
        key = pod.meta.key
        if not pod.running:
            continue
        node_name = pod.node_name if declared else "node"
        if node_name is None or node_name not in by_name:
            notes.append(f"pod {key}: not on a Node of the input (spec.nodeName {pod.node_name!r}); not in the lab")
            continue
        lab_node = by_name[node_name]
        if pod.host_network:
            address = lab_node.primary
        else:
            v4 = _v4(pod.ips)
            if not v4:
                notes.append(f"pod {key}: no IPv4 address; not in the lab (the lab is IPv4-only)")
                continue
            address = v4[0]
            if len(pod.ips) > 1:
                notes.append(f"pod {key}: only its IPv4 address {address} is in the lab")
            if address in seen_ips:
                notes.append(f"pod {key}: address {address} already belongs to {seen_ips[address]}; not in the lab")
                continue
            if any(address in n.addresses for n in nodes):
                notes.append(f"pod {key}: address {address} is a node's address; not in the lab")
                continue
            seen_ips[address] = key
            if not any(address in net for net in lab_node.pod_networks):
                extra_networks[node_name].append(IPv4Network(address))
        ports, port_notes = pod_ports(some, pod, address)
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
                address=address,
                netns=lab_node.netns if pod.host_network else f"{prefix}-p{index}",
                pod_if="" if pod.host_network else _ifname(prefix, "p", index),
                node_if="" if pod.host_network else _ifname(prefix, "v", index),
                ports=tuple(sorted(ports)),
            )
        )
    nodes = [
        LabNode(
            n.name,
            n.index,
            n.netns,
            n.lan_if,
            n.bridge_port,
            n.addresses,
            n.invented,
            n.pod_networks + tuple(extra_networks[n.name]),
            n.declared,
        )
        for n in nodes
    ]

    # outside clients
    lab_clients: list[LabClient] = []
    owned = {a for n in nodes for a in n.addresses} | {p.address for p in pods}
    for address in dict.fromkeys(clients):
        if address in owned:
            continue  # a pod or node address: that pod or node is the source
        inside = next((net for n in nodes for net in n.pod_networks if address in net), None)
        if inside is not None:
            raise PlanError(f"client {address} is inside the pod network {inside}: not an outside client")
        index = len(lab_clients)
        lab_clients.append(
            LabClient(
                address=address,
                index=index,
                netns=f"{prefix}-c{index}",
                client_if=_ifname(prefix, "c", index),
                bridge_port=_ifname(prefix, "k", index),
                entry=nodes[0].name,
            )
        )
    return LabPlan(
        prefix=prefix,
        lan_netns=f"{prefix}-lan",
        bridge=f"{prefix}br",
        gateway=alloc.take(),
        nodes=nodes,
        pods=pods,
        clients=lab_clients,
        objects=objects,
        notes=notes,
    )
