"""What a probe should observe, from the reference evaluator, across the nodes the packet crosses.

The reference answers for one node. A lab packet may cross two: a pod on node A talking to a pod on
node B is forwarded by A (its egress policy, Service DNAT, masquerade) and then by B (the ingress
policy of B's pod). So the expectation is composed hop by hop: evaluate on the node the packet enters,
and for each delivered result whose destination lives behind another node, evaluate again there with
the (possibly masqueraded) source, origin NETWORK. Probabilities multiply.

The oracle is pluggable (`Oracle`): the lab uses `netcompile.reference.evaluate` when it exists; tests
can pass their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from ..compile.index import Cluster
from ..model import IPAddress, Protocol
from ..verify.packet import Origin, Outcome, Packet, Verdict
from .plan import LabPlan

Oracle = Callable[[Cluster, Packet], Outcome]

MAX_HOPS = 3


def default_oracle() -> Oracle | None:
    """`netcompile.reference.evaluate`, or None while the reference evaluator is not there."""
    try:
        from ..verify.reference import evaluate
    except ImportError:
        return None
    return evaluate


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


def first_node(plan: LabPlan, source_node: str | None, dst: IPAddress) -> str:
    """The node a probe's packet enters first: the source's own node, or for outside clients the node
    their route to `dst` points at (the owner of dst, else their entry node)."""
    if source_node is not None:
        return source_node
    routed = plan.node_routing(dst)
    return routed.name if routed is not None else plan.clients[0].entry if plan.clients else plan.nodes[0].name


def expect(
    plan: LabPlan,
    clusters: dict[str, Cluster],
    oracle: Oracle,
    *,
    src: IPAddress,
    dst: IPAddress,
    protocol: Protocol,
    port: int,
    origin: Origin,
    node: str,
) -> Expectation:
    """The composed reference expectation for one probe entering at `node`."""
    distribution: dict[Final, Fraction] = {}
    reasons: list[str] = []

    def add(final: Final, p: Fraction) -> None:
        distribution[final] = distribution.get(final, Fraction(0)) + p

    def hop(node_name: str, packet: Packet, prob: Fraction, depth: int) -> None:
        here = plan.node(node_name)
        outcome = oracle(clusters[node_name], packet)
        prefix = f"{node_name}: " if len(plan.nodes) > 1 else ""
        reasons.extend(prefix + r for r in outcome.reasons if prefix + r not in reasons)
        for result, p in outcome.distribution.items():
            if p == 0:
                continue
            share = prob * p
            if result.verdict != Verdict.DELIVERED:
                add(Final(result.verdict), share)
                continue
            assert result.dst is not None and result.dport is not None
            dst_addr = result.dst
            source = here.primary_of(dst_addr.version) if result.masquerade else packet.src
            where = f"{dst_addr}:{result.dport}"
            if source is None:  # masqueraded by a node without an address of the family: nothing arrives
                add(Final(Verdict.DELIVERED, None, result.dport, None, where, dst_addr), share)
                continue
            here_or_behind = dst_addr in here.addresses or (
                (pod := plan.pod_at(dst_addr)) is not None and pod.node == node_name
            )
            nxt = None if here_or_behind else plan.node_routing(dst_addr)
            if nxt is not None and nxt.name != node_name:
                if depth < MAX_HOPS:
                    forwarded = Packet(source, dst_addr, packet.protocol, result.dport, packet.sport, Origin.NETWORK)
                    hop(nxt.name, forwarded, share, depth + 1)
                else:
                    add(Final(Verdict.DELIVERED, None, result.dport, source, where, dst_addr), share)
                continue
            # this node itself (or its hostNetwork pods), one of its pods, an outside host, or nowhere
            server = plan.server_at(dst_addr, packet.protocol, result.dport)
            add(Final(Verdict.DELIVERED, server, result.dport, source, where, dst_addr), share)

    hop(node, Packet(src, dst, protocol, port, origin=origin), Fraction(1), 1)
    return Expectation(distribution, reasons)
