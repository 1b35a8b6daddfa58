"""The reference evaluator: what Kubernetes says happens to one packet on this node.

    Service stage (§2)        is the destination a frontend (or a ClusterIP)? → DNAT targets, each 1/n,
                              with masquerade; or rejected / dropped here
    NetworkPolicy stage (§3)  for each target: do egress (source pod) and ingress (destination pod) allow?

Computed from the completed model objects alone (`model.Scope`, read through `view.View`); it shares
no code with the compiler, so that the two can be compared (docs/semantics.md is the contract both follow).
"""

from __future__ import annotations

from fractions import Fraction
from weakref import WeakKeyDictionary

from ...model import IPNetwork, Scope
from ..packet import Outcome, Packet, Result, Verdict
from .policy import PolicyStage
from .services import ServiceStage, hostport
from .view import HasScope, view_of

_ONE = Fraction(1)  # (a Fraction is immutable: one for every certain result)


class Reference:
    """The reference semantics for one node of the completed objects (its own indexes are built once,
    packets evaluated many times). `source` is a `model.Scope`, or anything carrying one as `.scope`."""

    def __init__(self, source: Scope | HasScope, nodeport_addresses: tuple[IPNetwork, ...] = ()) -> None:
        cluster = view_of(source)
        self.cluster = cluster
        self.nodeport_addresses = nodeport_addresses
        self.services = ServiceStage(cluster, nodeport_addresses)
        self.policies = PolicyStage(cluster)

    def evaluate(self, packet: Packet) -> Outcome:
        if packet.ct_state == "established":
            return Outcome.certain(
                Result(Verdict.DELIVERED, packet.dst, packet.dport, masquerade=False),
                "established connection: delivered unchanged",
            )
        if packet.ct_state != "new":
            raise ValueError(f"unknown ct_state {packet.ct_state!r}: expected 'new' or 'established'")

        decision = self.services.decide(packet)
        if decision is None:  # no DNAT: the packet's own destination, judged by the policies alone
            reasons = [f"{packet.protocol.value} {hostport(packet.dst, packet.dport)} is no Service frontend: no DNAT"]
            judgement = self.policies.judge(packet.src, packet.origin, packet.dst, packet.protocol, packet.dport)
            if judgement.allowed:
                result = Result(Verdict.DELIVERED, packet.dst, packet.dport, False)
            else:
                result = Result.dropped()
            reasons += [r for r in judgement.reasons if r not in reasons]
            return Outcome({result: _ONE}, reasons)
        if decision.verdict is not None:
            return Outcome({Result(decision.verdict): _ONE}, decision.reasons)

        reasons = list(decision.reasons)
        distribution: dict[Result, Fraction] = {}
        share = _ONE if len(decision.targets) == 1 else Fraction(1, len(decision.targets))
        for target in decision.targets:
            judgement = self.policies.judge(packet.src, packet.origin, target.address, packet.protocol, target.port)
            if judgement.allowed:
                result = Result(Verdict.DELIVERED, target.address, target.port, target.masquerade)
            else:
                result = Result.dropped()
            found = distribution.get(result)
            distribution[result] = share if found is None else found + share
            prefix = f"{hostport(target.address, target.port)} ({target.name}): "
            reasons += [prefix + r for r in judgement.reasons if prefix + r not in reasons]
        return Outcome(distribution, reasons)


_cache: WeakKeyDictionary[HasScope, dict[tuple[IPNetwork, ...], Reference]] = WeakKeyDictionary()


def reference_for(source: Scope | HasScope, nodeport_addresses: tuple[IPNetwork, ...] = ()) -> Reference:
    """The Reference of a scope's holder, built on first use and kept as long as the holder lives (a bare
    Scope is not cached)."""
    if isinstance(source, Scope):
        return Reference(source, nodeport_addresses)
    per_cluster = _cache.setdefault(source, {})
    if nodeport_addresses not in per_cluster:
        per_cluster[nodeport_addresses] = Reference(source, nodeport_addresses)
    return per_cluster[nodeport_addresses]


def evaluate(source: Scope | HasScope, packet: Packet, nodeport_addresses: tuple[IPNetwork, ...] = ()) -> Outcome:
    """What Kubernetes semantics (docs/semantics.md) say happens to `packet` on the scope's node."""
    return reference_for(source, tuple(nodeport_addresses)).evaluate(packet)
