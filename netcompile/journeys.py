"""Who reaches whom: one packet's journey through the cluster's nodes, by both evaluators.

A ruleset is written for one node, but a connection between pods on two nodes crosses two rulesets:
the source node's (Service DNAT, egress policy) and the destination node's (ingress policy). A
`Network` compiles every node's ruleset and follows a packet hop by hop: it enters at the source's
node (or, for outside clients, at the node chosen with --node); each result delivered to a pod on
another node continues there as a new packet from the (possibly masqueraded) source. The reference
evaluator and the interpreter of the compiled text make the same journey independently, and `trace`
and `matrix` show where they disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from fractions import Fraction

from .compile.compiler import CompileOptions, compile_cluster
from .compile.index import Cluster
from .model import IPAddress, Node, Objects, Pod, Protocol, Service
from .targets import TargetError
from .targets import resolve as resolve_target
from .verify.interpreter import Ruleset
from .verify.packet import Origin, Outcome, Packet, Result, Verdict
from .verify.reference import evaluate

MAX_HOPS = 4
IMPLIED_NODE = "(single node)"  # the node of an input without Node objects, as compile names it


# A --from/--to that names nothing, or more than one thing, in the input (the name callers catch).
EndpointError = TargetError


@dataclass
class Hop:
    """What one node did with one packet, according to both evaluators."""

    node: str
    packet: Packet
    reference: Outcome
    compiled: Outcome


@dataclass
class Journey:
    """Final results of a packet across nodes, by both evaluators, with every hop taken."""

    packet: Packet
    entry: str
    reference: dict[Result, Fraction] = field(default_factory=dict)
    compiled: dict[Result, Fraction] = field(default_factory=dict)
    hops: list[Hop] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return self.reference == self.compiled

    def delivered(self, which: str = "reference") -> Fraction:
        dist = self.reference if which == "reference" else self.compiled
        return sum((p for r, p in dist.items() if r.verdict == Verdict.DELIVERED), Fraction(0))


@dataclass(frozen=True)
class Place:
    """A resolved --from/--to: an address, and what it is."""

    address: IPAddress
    label: str  # "pod shop/web-1", "node node-a", "Service shop/web", "external 203.0.113.9"
    node: str | None  # the node it lives on (pods, nodes)
    is_node: bool = False  # the node itself (or a hostNetwork pod): sends with origin NODE


class Network:
    """Every node's cluster view and compiled ruleset; packets travel between them."""

    def __init__(self, objects: Objects, opts: CompileOptions) -> None:
        self.objects = objects
        self.opts = opts
        # with no Node objects, the one implied node (named by --node, if given, as compile does)
        names: list[str | None] = [n.meta.name for n in objects.nodes] or [opts.node]
        self.views: dict[str | None, tuple[Cluster, Ruleset]] = {}
        for name in names:
            cluster = Cluster(objects, name, opts.cluster_cidrs)
            text = compile_cluster(cluster, replace(opts, node=name)).text
            self.views[name] = (cluster, Ruleset.parse(text))
        self.default_node: str | None = opts.node if opts.node is not None else names[0]
        if self.default_node not in self.views:
            raise EndpointError(f"--node {self.default_node}: no such Node in the input")
        self.any_cluster = self.views[self.default_node][0]

    # --- naming things ---------------------------------------------------------------------------

    def node_of_address(self, address: IPAddress) -> str | None:
        for name, (cluster, _) in self.views.items():
            if address in cluster.node_addresses:
                return name
        return None

    def pod_by_address(self, address: IPAddress) -> Pod | None:
        for pod in self.objects.pods:
            if pod.running and address in self.any_cluster.pod_ips(pod):
                return pod
        return None

    def pod_node(self, pod: Pod) -> str | None:
        if self.any_cluster.single_node:
            return next(iter(self.views))
        return pod.node_name if pod.node_name in self.views else None

    def describe(self, address: IPAddress) -> str:
        pod = self.pod_by_address(address)
        if pod is not None and not pod.host_network:
            return f"pod {pod.meta.key}"
        node = self.node_of_address(address)
        if node is not None:
            return f"node {node}"
        for svc in self.objects.services:
            if address in svc.cluster_ips or address in svc.external_ips:
                return f"Service {svc.meta.key}"
            if any(i.ip == address for i in svc.load_balancer_ingress):
                return f"Service {svc.meta.key} (LoadBalancer)"
        return f"external {address}"

    def resolve(self, text: str, family: int | None = None) -> Place:
        """A --from/--to target (the grammar of `targets`: an address, `node:NAME`, `ns/name`,
        `ns/kind/name`, a bare `name`) as a place; the address of `family` when one is wanted."""
        target = resolve_target(text, self.objects)
        if target.address is not None:
            return self.place_of_address(target.address)
        obj = target.obj
        if isinstance(obj, Pod):
            return self.place_of_pod(obj, family)
        if isinstance(obj, Service):
            address = self._pick(obj.cluster_ips, family, f"Service {obj.meta.key}")
            return Place(address, f"Service {obj.meta.key}", None)
        assert isinstance(obj, Node)
        name = obj.meta.name
        if name not in self.views:  # pragma: no cover - every Node has a view
            raise EndpointError(f"{text}: no Node {name!r} in the input")
        address = self._pick(self.views[name][0].node_addresses, family, f"node {name}")
        return Place(address, f"node {name}", name, True)

    def place_of_pod(self, pod: Pod, family: int | None = None) -> Place:
        """Where a pod sends from and is reached at (its address of `family`)."""
        address = self._pick(self.any_cluster.pod_ips(pod), family, f"pod {pod.meta.key}")
        return Place(address, f"pod {pod.meta.key}", self.pod_node(pod), pod.host_network)

    def place_of_address(self, address: IPAddress) -> Place:
        pod = self.pod_by_address(address)
        if pod is not None:
            return Place(address, self.describe(address), self.pod_node(pod), pod.host_network)
        node = self.node_of_address(address)
        if node is not None:
            return Place(address, f"node {node}", node, True)
        return Place(address, self.describe(address), None)

    def _pick(self, addresses: Iterable[IPAddress], family: int | None, what: str) -> IPAddress:
        choices = [a for a in addresses if family is None or a.version == family]
        if not choices:
            raise EndpointError(f"{what} has no {'IPv' + str(family) + ' ' if family else ''}address")
        return choices[0]

    def node_label(self, node: str | None) -> str:
        """A node's name as printed: with no Node objects, the implied node's name, as compile says it."""
        return node if node is not None else IMPLIED_NODE

    # --- travelling --------------------------------------------------------------------------------

    def journey(self, src: Place, dst: IPAddress, dport: int, protocol: Protocol) -> Journey:
        entry = src.node if src.node is not None else self.default_node
        packet = Packet(src.address, dst, protocol, dport, origin=Origin.NODE if src.is_node else Origin.NETWORK)
        journey = Journey(packet, self.node_label(entry))
        for which in ("reference", "compiled"):
            dist = self._travel(entry, packet, which, journey, Fraction(1), 0)
            setattr(journey, which, dist)
        return journey

    def _travel(
        self, node: str | None, packet: Packet, which: str, journey: Journey, weight: Fraction, depth: int
    ) -> dict[Result, Fraction]:
        cluster, ruleset = self.views[node]
        if which == "reference":
            outcome = evaluate(cluster, packet, self.opts.nodeport_addresses)
            compiled = ruleset.evaluate(packet, cluster.node_addresses)
            journey.hops.append(Hop(self.node_label(node), packet, outcome, compiled))
        else:
            outcome = ruleset.evaluate(packet, cluster.node_addresses)
        out: dict[Result, Fraction] = {}
        for result, p in outcome.distribution.items():
            final = {result: Fraction(1)}
            next_node = self._next_node(node, result)
            if next_node is not None and depth < MAX_HOPS and result.dst is not None and result.dport is not None:
                src = packet.src
                if result.masquerade:
                    src = self._pick(cluster.node_addresses, result.dst.version, f"node {node}")
                forwarded = Packet(src, result.dst, packet.protocol, result.dport, packet.sport, Origin.NETWORK)
                final = self._travel(next_node, forwarded, which, journey, weight * p, depth + 1)
                final = {
                    (
                        replace(r, masquerade=r.masquerade or result.masquerade)
                        if r.verdict == Verdict.DELIVERED
                        else r
                    ): q
                    for r, q in final.items()
                }
            for r, q in final.items():
                out[r] = out.get(r, Fraction(0)) + p * q
        return out

    def _next_node(self, node: str | None, result: Result) -> str | None:
        """The node a delivered packet goes on to, if not this one: the node its destination pod lives
        on, or the node whose address it is sent to (a NodePort of another node, say)."""
        if result.verdict != Verdict.DELIVERED or result.dst is None:
            return None
        target = self.node_of_address(result.dst)
        if target is None:
            pod = self.pod_by_address(result.dst)
            target = self.pod_node(pod) if pod is not None and not pod.host_network else None
        return target if target is not None and target != node else None
