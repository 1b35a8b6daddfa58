"""Who reaches whom: one packet's journey through the cluster's nodes, by both evaluators.

A ruleset is written for one node, but a connection between pods on two nodes crosses two rulesets:
the source node's (Service DNAT, egress policy) and the destination node's (ingress policy). A
`Network` holds every node's compiled ruleset (`pipeline.compile_nodes`) and follows a packet hop by
hop: it enters at the source's node (or, for outside clients, at the node chosen with --node); each
result delivered to an address behind another node continues there as a new packet from the (possibly
masqueraded) source. The reference evaluator and the interpreter of the compiled text make the same
journey independently, and `trace` and `matrix` show where they disagree.

This is the one place that composes hops: trace, matrix and the lab (lab/expected.py) all travel here.
Where a packet goes next and which source masquerade gives it are the network's `Routes`: the Nodes'
addresses and the pods' nodes by default; the lab passes its own (lab/expected.py: the namespaces it
built, with the addresses it invented for nodes that have none of a family).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cached_property
from typing import Protocol as Interface
from typing import cast

from .compile.index import Cluster
from .compile.options import CompileOptions
from .forked import Helper, cpus
from .model import IPAddress, Node, Objects, Pod, Protocol, Service
from .model.proxy import pod_interface
from .nodeview import NodeView, compile_and_parse, reference_outcome
from .pipeline import Compiled
from .targets import TargetError
from .targets import resolve as resolve_target
from .verify.packet import Origin, Outcome, Packet, Result, Verdict

MAX_HOPS = 4  # nodes a packet is followed through after the first (a routing loop ends there)
ONE = Fraction(1)  # certainty: where a result ends, when it ends at one place
IMPLIED_NODE = "(single node)"  # the node of an input without Node objects, as compile names it


# A --from/--to that names nothing, or more than one thing, in the input (the name callers catch).
EndpointError = TargetError

# The reference: what Kubernetes semantics say one node does with one packet (tests pass their own).
Oracle = Callable[[Cluster, Packet], Outcome]


class Routes(Interface):
    """Where packets go between nodes (a node is named as `Network.views` keys it: None for the implied one)."""

    def next_node(self, node: str | None, dst: IPAddress) -> str | None:
        """The node a packet delivered by `node` to `dst` goes on to; None: it ends at `node` (delivered to
        the node itself, one of its pods, or somewhere outside)."""
        ...

    def masquerade_source(self, node: str | None, version: int) -> IPAddress | None:
        """The source address `node` masquerades to, for destinations of IP `version` (None: it has none)."""
        ...


@dataclass
class Hop:
    """What one node did with one packet, according to both evaluators (compiled: None when the journey
    was asked of the reference alone)."""

    node: str
    packet: Packet
    reference: Outcome
    compiled: Outcome | None


@dataclass(frozen=True, slots=True)
class Arrival:
    """Where one final result ends: the result (masquerade set if any node on the way masqueraded), the
    node that gave it, and the source address the destination sees."""

    result: Result
    node: str | None
    source: IPAddress | None  # None for drops and rejects, and when masqueraded by a node without an address
    followed: bool = True  # False: the destination is behind another node, where the packet was not followed
    # (MAX_HOPS reached, or masqueraded by a node without an address of the family)


@dataclass
class Journey:
    """Final results of a packet across nodes, by both evaluators, with every hop taken."""

    packet: Packet
    entry: str
    reference: dict[Result, Fraction] = field(default_factory=dict)
    compiled: dict[Result, Fraction] = field(default_factory=dict)
    hops: list[Hop] = field(default_factory=list)
    # the same, result by result with where each ends (the lab tells its servers and sources from them)
    arrivals: dict[str, dict[Arrival, Fraction]] = field(default_factory=dict)
    client_node: str | None = None  # the node the client lives on (a pod's, a node's); None: outside
    notes: list[str] = field(default_factory=list)  # what the journey adds to the hops' reasons

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
    node: str | None  # the node it lives on (pods, nodes), or the node an outside client enters at
    is_node: bool = False  # the node itself (or a hostNetwork pod): sends with origin NODE


# One journey asked of `Network.journeys`: from a place to an address, on a port and protocol.
Ask = tuple[Place, IPAddress, int, Protocol]


class Network:
    """Every node's cluster view and compiled ruleset; packets travel between them."""

    def __init__(
        self,
        nodes: Mapping[str | None, Compiled | Cluster],
        opts: CompileOptions,
        *,
        routes: Routes | None = None,
        oracle: Oracle | None = None,
    ) -> None:
        """`nodes`: every node's ruleset as `pipeline.compile_nodes` gives them, compiled with `opts`, or
        their indexes (`pipeline.node_clusters`), compiled when first needed (by the helper process, when
        one runs: `start_helper`).
        `routes`: where packets go between nodes (default: this network's Nodes and pods, `next_node`,
        `masquerade_source`); `oracle`: the reference (default: the reference evaluator)."""
        self.opts = opts
        self.views: dict[str | None, NodeView] = {
            name: NodeView(c, replace(opts, node=name)) for name, c in nodes.items()
        }
        names = list(self.views)
        self.default_node: str | None = opts.node if opts.node is not None else names[0]
        if self.default_node not in self.views:
            raise EndpointError(f"--node {self.default_node}: no such Node in the input")
        self.any_cluster = self.views[self.default_node].cluster
        self.objects: Objects = self.any_cluster.objects  # the completed objects
        self.routes: Routes = routes if routes is not None else self
        self.oracle: Oracle = oracle or (
            lambda cluster, packet: reference_outcome(cluster, packet, opts.nodeport_addresses)
        )
        self._helper: Helper[Ask, tuple[dict[Result, Fraction], dict[Arrival, Fraction]]] | None = None
        self._later: list[Journey] = []  # journeys whose compiled side the helper still owes (`collect`)

    def routed(self, routes: Routes) -> Network:
        """The same nodes and rulesets (parsed once), with packets routed by `routes` (the lab's)."""
        other = copy.copy(self)
        other.routes = routes
        other._helper = None  # a helper follows this network's routes, forked with it: not the copy's
        other._later = []
        return other

    # --- naming things ---------------------------------------------------------------------------

    def node_of_address(self, address: IPAddress) -> str | None:
        for name, view in self.views.items():
            if address in view.cluster.node_addresses:
                return name
        return None

    def pod_by_address(self, address: IPAddress) -> Pod | None:
        return self._pods_at.get(address)

    @cached_property
    def _pods_at(self) -> dict[IPAddress, Pod]:
        """The first running pod (in input order) at each address: one dict, not a scan per packet."""
        found: dict[IPAddress, Pod] = {}
        for pod in self.objects.pods:
            if pod.running:
                for address in self.any_cluster.pod_ips(pod):
                    found.setdefault(address, pod)
        return found

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
        `ns/kind/name`, a workload's pod, a bare `name`) as a place; the address of `family` when one is wanted."""
        target = resolve_target(text, self.objects)
        if target.address is not None:
            return self.place_of_address(target.address)
        obj = target.obj
        if isinstance(obj, Pod):  # also a workload's (`shop/deployment/web`): its pod, labelled with both
            place = self.place_of_pod(obj, family)
            return replace(place, label=target.label) if target.workload else place
        if isinstance(obj, Service):
            address = self._pick(obj.cluster_ips, family, f"Service {obj.meta.key}")
            return Place(address, f"Service {obj.meta.key}", None)
        assert isinstance(obj, Node)
        name = obj.meta.name
        if name not in self.views:  # pragma: no cover - every Node has a view
            raise EndpointError(f"{text}: no Node {name!r} in the input")
        address = self._pick(self.views[name].cluster.node_addresses, family, f"node {name}")
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

    def journey(
        self, src: Place, dst: IPAddress, dport: int, protocol: Protocol, *, compiled: bool = True, hops: bool = True
    ) -> Journey:
        """A packet from `src` to `dst`, entering at `src.node` (else the default node), followed by the
        reference and, unless `compiled` is False, by the interpreter of the compiled rulesets. `hops=False`:
        the final results alone (no `Journey.hops`: the interpreter does not also judge each hop the reference
        takes, which the matrix and diff, counting results, do not need)."""
        entry, journey = self._begin(src, dst, dport, protocol)
        for which in ("reference", "compiled") if compiled else ("reference",):
            self._follow(entry, journey, which, compiled, hops)
        return journey

    def journeys(self, asks: Sequence[Ask], *, later: bool = False) -> list[Journey]:
        """`journey(*ask, hops=False)` of each ask: the interpreter's side in the helper process when one
        runs (`start_helper`), while this process follows the reference's. `later=True`: the journeys are
        returned with the reference's side alone when a helper makes the other, which `collect` then
        fills in (meanwhile, this process can go on with the reference's answers)."""
        helper = self._helper
        if helper is None or not asks:
            return [self.journey(*ask, hops=False) for ask in asks]
        self.collect()  # the helper answers one batch at a time
        helper.send(asks)
        out: list[Journey] = []
        for src, dst, dport, protocol in asks:
            entry, journey = self._begin(src, dst, dport, protocol)
            self._follow(entry, journey, "reference", True, False)
            out.append(journey)
        self._later = out
        if not later:
            self.collect()
        return out

    @property
    def owes_compiled(self) -> bool:
        """Whether the last `journeys(..., later=True)` still waits for its compiled side (`collect`)."""
        return bool(self._later)

    def collect(self) -> None:
        """The compiled side of the last `journeys(..., later=True)`, from the helper (waiting for it)."""
        if self._later and self._helper is not None:
            pending, self._later = self._later, []
            for journey, (dist, arrivals) in zip(pending, self._helper.receive(), strict=True):
                journey.compiled = dist
                journey.arrivals["compiled"] = arrivals

    def start_helper(self, *, always: bool = False) -> None:
        """Fork a helper process for the interpreter's side of `journeys`: now, it compiles every node's
        ruleset not compiled yet and parses them all, while this process goes on (forked.py). Only with
        more than one CPU to run on, unless `always` (tests); `stop_helper` ends it (so does this process's
        end). A node compiled by the helper is compiled again here only if its text is asked for here."""
        if self._helper is None and (always or cpus() > 1):
            views = self.views
            self._helper = Helper(lambda: compile_and_parse(views), self._compiled_side)

    def compiler_notices(self) -> list[str]:
        """The compiler's notices (Services without DNAT, frontend collisions), as compile prints them:
        each once, though every node's ruleset repeats them; from the helper process for the nodes it
        compiled (waiting for it)."""
        found: list[str] = []
        remote: dict[str | None, list[str]] = {}
        if self._helper is not None:
            remote = cast(dict[str | None, list[str]], self._helper.warmed())
        for name, view in self.views.items():
            if name in remote:  # (not `get`: a default would compile the node here)
                found += remote[name]
            else:
                found += view.compiled.output.notices
        return list(dict.fromkeys(found))

    @contextmanager
    def helping(self, wanted: bool = True) -> Iterator[None]:
        """`start_helper` (if `wanted`) for the block, `stop_helper` after it."""
        if wanted:
            self.start_helper()
        try:
            yield
        finally:
            self.stop_helper()

    def stop_helper(self) -> None:
        self._later = []  # owed and never collected: nothing read them (stopped after an error)
        if self._helper is not None:
            self._helper.close()
            self._helper = None

    def _compiled_side(self, ask: Ask) -> tuple[dict[Result, Fraction], dict[Arrival, Fraction]]:
        entry, journey = self._begin(*ask)
        self._follow(entry, journey, "compiled", True, False)
        return journey.compiled, journey.arrivals["compiled"]

    def _begin(self, src: Place, dst: IPAddress, dport: int, protocol: Protocol) -> tuple[str | None, Journey]:
        """The packet's first node, and its journey not yet followed."""
        entry = src.node if src.node is not None else self.default_node
        origin = Origin.NODE if src.is_node else Origin.NETWORK
        packet = Packet(src.address, dst, protocol, dport, origin=origin, iif=self.arrives_on(src))
        return entry, Journey(packet, self.node_label(entry), client_node=self.node_of_client(src.address))

    def _follow(self, entry: str | None, journey: Journey, which: str, compiled: bool, hops: bool) -> None:
        """Follow the journey's packet from `entry` by one evaluator (`which`), setting its results."""
        arrivals = self._travel(entry, journey.packet, which, journey, 0, compiled, hops)
        journey.arrivals[which] = arrivals
        dist: dict[Result, Fraction] = {}
        for arrival, p in arrivals.items():
            before = dist.get(arrival.result)
            dist[arrival.result] = p if before is None else before + p
        setattr(journey, which, dist)

    def _travel(
        self,
        node: str | None,
        packet: Packet,
        which: str,
        journey: Journey,
        depth: int,
        compiled: bool,
        hops: bool,
    ) -> dict[Arrival, Fraction]:
        view = self.views[node]
        if which == "reference":
            outcome = self.oracle(view.cluster, packet)
            if hops:
                interpreted = view.ruleset.evaluate(packet, view.cluster.node_addresses) if compiled else None
                journey.hops.append(Hop(self.node_label(node), packet, outcome, interpreted))
        else:
            outcome = view.ruleset.evaluate(packet, view.cluster.node_addresses)
        out: dict[Arrival, Fraction] = {}
        for result, p in outcome.distribution.items():
            for arrival, q in self._onwards(node, packet, result, which, journey, depth, compiled, hops).items():
                share = p if q is ONE else p * q  # (most results end at this node: a Fraction product saved)
                before = out.get(arrival)
                out[arrival] = share if before is None else before + share
        return out

    def _onwards(
        self,
        node: str | None,
        packet: Packet,
        result: Result,
        which: str,
        journey: Journey,
        depth: int,
        compiled: bool,
        hops: bool,
    ) -> dict[Arrival, Fraction]:
        """Where one result of `node` ends: here, or (delivered to an address behind another node) there."""
        if result.verdict != Verdict.DELIVERED or result.dst is None or result.dport is None:
            return {Arrival(result, node, None): ONE}
        source = self.routes.masquerade_source(node, result.dst.version) if result.masquerade else packet.src
        next_node = self.routes.next_node(node, result.dst)
        if next_node is None:
            return {Arrival(result, node, source): ONE}
        if source is None or depth >= MAX_HOPS:
            return {Arrival(result, node, source, followed=False): ONE}
        forwarded = Packet(source, result.dst, packet.protocol, result.dport, packet.sport, Origin.NETWORK)
        final = self._travel(next_node, forwarded, which, journey, depth + 1, compiled, hops)
        if not result.masquerade:
            if (result.dst, result.dport) != (packet.dst, packet.dport):
                return self._replies_bypassing(node, packet, final, which, journey)
            return final
        return {
            (replace(a, result=replace(a.result, masquerade=True)) if a.result.verdict == Verdict.DELIVERED else a): q
            for a, q in final.items()
        }

    def arrives_on(self, src: Place) -> str:
        """The interface a packet from `src` arrives on at its first node: a pod's own, named as kube-proxy's
        interface detect-local modes expect (model.proxy.pod_interface; the lab names its veths so); ""
        for anything else (the node itself, outside clients: the uplink), and in the other modes."""
        pod = self.pod_by_address(src.address) if not src.is_node else None
        if pod is None or pod.host_network:
            return ""
        return pod_interface(self.objects.proxy_config, self.opts.detect_local_mode, pod.meta.key)

    def node_of_client(self, address: IPAddress) -> str | None:
        """The node a client at `address` lives on: a pod's (hostNetwork too) or a node's; None outside."""
        pod = self.pod_by_address(address)
        if pod is not None:
            return self.pod_node(pod)
        return self.node_of_address(address)

    def _replies_bypassing(
        self,
        node: str | None,
        packet: Packet,
        arrivals: dict[Arrival, Fraction],
        which: str,
        journey: Journey,
    ) -> dict[Arrival, Fraction]:
        """Connections `node` DNATed, without masquerade, to a destination behind another node: the reply
        goes from the destination's node to the source's address, and only passes `node`, whose
        connection tracking undoes the DNAT, when the client lives there or the source seen is `node`'s
        own. Otherwise the client gets a reply from an address it never sent to, and the connection
        fails (the kernel drops or resets it): such a result is dropped. This is how a pod reaches an
        externalTrafficPolicy Local NodePort of another node that sends it back to an endpoint elsewhere."""
        if node == journey.client_node:
            return arrivals
        out: dict[Arrival, Fraction] = {}
        for arrival, p in arrivals.items():
            result, source = arrival.result, arrival.source
            if (
                result.verdict == Verdict.DELIVERED
                and arrival.followed
                and arrival.node != node
                and source is not None
                and source != self.routes.masquerade_source(node, source.version)
            ):
                if which == "reference":
                    journey.notes.append(
                        f"{self.node_label(node)} DNATed {packet.dst}:{packet.dport} to {result.dst}:{result.dport} "
                        f"without masquerade; the reply goes from {self.node_label(arrival.node)} to {source} "
                        f"directly, not through {self.node_label(node)}, so the client never sees it: the connection "
                        "fails"
                    )
                arrival = Arrival(Result.dropped(), arrival.node, None)
            out[arrival] = out.get(arrival, Fraction(0)) + p
        return out

    # --- Routes, from the input: the Nodes' addresses and the pods' nodes --------------------------------

    def next_node(self, node: str | None, dst: IPAddress) -> str | None:
        """The node a delivered packet goes on to, if not this one: the node its destination pod lives
        on, or the node whose address it is sent to (a NodePort of another node, say)."""
        target = self.node_of_address(dst)
        if target is None:
            pod = self.pod_by_address(dst)
            target = self.pod_node(pod) if pod is not None and not pod.host_network else None
        return target if target is not None and target != node else None

    def masquerade_source(self, node: str | None, version: int) -> IPAddress | None:
        """The node's first address of the family (its primary one)."""
        return next((a for a in self.views[node].cluster.node_addresses if a.version == version), None)
