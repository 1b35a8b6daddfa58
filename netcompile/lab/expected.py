"""What a probe should observe: the reference's journey across the nodes (journeys.py), seen by the lab.

The reference answers for one node; a lab packet may cross two (a pod on node A talking to a pod on node
B is forwarded by A — egress policy, Service DNAT, masquerade — and then by B, the ingress policy of B's
pod). The hops are composed where trace and matrix compose them, by `journeys.Network`; the lab only
tells it where packets go in the lab (`LabRoutes`: the namespaces it built, the addresses it invented
for nodes without one of a family) and turns each final result into what the prober can observe
(`Final`: the verdict, the lab server that answers, the source address it sees).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..journeys import Arrival, Network, Place
from ..model import IPAddress, Protocol
from ..verify.packet import Origin, Verdict
from .plan import LabPlan


@dataclass(frozen=True, slots=True)
class Final:
    """What the prober can observe: the verdict and, when delivered, who answers and the source it sees."""

    verdict: Verdict
    server: str | None = None  # the pod (node, host) answering; None: delivered where no lab server listens
    port: int | None = None
    source: IPAddress | None = None  # the source address the server sees
    where: str = ""  # for delivered results: address:port, for messages
    address: IPAddress | None = None  # for delivered results: the address delivered to (after DNAT)

    def __str__(self) -> str:
        if self.verdict != Verdict.DELIVERED:
            return self.verdict.value
        if self.server is None:
            return f"no lab server at {self.where} from {self.source}"
        return f"{self.server}:{self.port} from {self.source}"

    @property
    def key(self) -> tuple[str, str, int, str, str]:
        """For sorting (None and mixed address families do not compare)."""
        return (self.verdict.value, self.server or "", self.port or 0, str(self.source or ""), self.where)


@dataclass(slots=True)
class Expectation:
    distribution: dict[Final, Fraction]
    reasons: list[str]

    def possible(self) -> list[Final]:
        return sorted((f for f, p in self.distribution.items() if p > 0), key=lambda f: f.key)

    def unserved(self) -> list[Final]:
        """Possible deliveries where no lab server listens (the lab cannot observe them)."""
        return [f for f in self.possible() if f.verdict == Verdict.DELIVERED and f.server is None]

    def describe(self, original_source: IPAddress) -> str:
        parts = []
        for final, p in sorted(self.distribution.items(), key=lambda kv: (-kv[1], kv[0].key)):
            if p == 0:
                continue
            share = "" if p == 1 else f"{p} "
            if final.verdict != Verdict.DELIVERED:
                parts.append(f"{share}{final.verdict.value}")
            else:
                masq = "" if final.source == original_source else f" (masq {final.source})"
                who = f"{final.server}:{final.port}" if final.server else f"no lab server at {final.where}"
                parts.append(f"{share}{who}{masq}")
        return ", ".join(parts)


class LabJourneys:
    """The reference's journeys in the lab: `network` routed as the lab's LAN and veths carry packets
    (journeys.Routes: `next_node`, `masquerade_source`). Nodes are named as the Network names them (None:
    the implied node of an input without Nodes), and as the plan names them (`lab_name`)."""

    def __init__(self, plan: LabPlan, network: Network) -> None:
        self.plan = plan
        self.implied = next(iter(network.views))  # the Network's name of the lab's one undeclared node
        self.network = network.routed(self)

    def lab_name(self, node: str | None) -> str:
        declared = [n.name for n in self.plan.nodes if n.declared]
        return node if node is not None and node in declared else self.plan.nodes[0].name

    def network_name(self, lab_name: str) -> str | None:
        return lab_name if self.plan.node(lab_name).declared else self.implied

    def next_node(self, node: str | None, dst: IPAddress) -> str | None:
        """Nowhere, for the node's own addresses (and its hostNetwork pods) and its pods; else the node
        the LAN routes `dst` to (its owner, or the node of its pod network), if that is another."""
        here = self.plan.node(self.lab_name(node))
        pod = self.plan.pod_at(dst)
        if dst in here.addresses or (pod is not None and pod.node == here.name):
            return None
        routed = self.plan.node_routing(dst)
        return self.network_name(routed.name) if routed is not None and routed.name != here.name else None

    def masquerade_source(self, node: str | None, version: int) -> IPAddress | None:
        """The node's primary address of the family (one the lab invented, if the input gives none)."""
        return self.plan.node(self.lab_name(node)).primary_of(version)

    def expect(
        self, *, src: IPAddress, dst: IPAddress, protocol: Protocol, port: int, origin: Origin, node: str
    ) -> Expectation:
        """The reference's expectation for one probe entering the lab's node `node`: its journey by the
        reference alone, seen as the prober sees it."""
        place = Place(src, str(src), self.network_name(node), is_node=origin == Origin.NODE)
        journey = self.network.journey(place, dst, port, protocol, compiled=False)
        distribution: dict[Final, Fraction] = {}
        for arrival, p in journey.arrivals["reference"].items():
            if p:
                f = final(self.plan, arrival, protocol)
                distribution[f] = distribution.get(f, Fraction(0)) + p
        reasons: list[str] = []
        for hop in journey.hops:
            prefix = f"{hop.node}: " if len(self.plan.nodes) > 1 else ""
            reasons.extend(prefix + r for r in hop.reference.reasons if prefix + r not in reasons)
        return Expectation(distribution, reasons)


def first_node(plan: LabPlan, source_node: str | None, dst: IPAddress) -> str:
    """The node a probe's packet enters first: the source's own node, or for outside clients the node
    their route to `dst` points at (the owner of dst, else their entry node)."""
    if source_node is not None:
        return source_node
    routed = plan.node_routing(dst)
    return routed.name if routed is not None else plan.clients[0].entry if plan.clients else plan.nodes[0].name


def final(plan: LabPlan, arrival: Arrival, protocol: Protocol) -> Final:
    """What the prober observes of one result of a journey."""
    result = arrival.result
    if result.verdict != Verdict.DELIVERED or result.dst is None or result.dport is None:
        return Final(result.verdict)
    where = f"{result.dst}:{result.dport}"
    # masqueraded by a node without an address of the family (nothing arrives), or not followed further
    reached = arrival.source is not None and arrival.followed
    server = plan.server_at(result.dst, protocol, result.dport) if reached else None
    return Final(Verdict.DELIVERED, server, result.dport, arrival.source, where, result.dst)
