"""The reference evaluator: Kubernetes semantics (docs/semantics.md) computed from the completed objects.

`evaluate(scope, packet)` (a `model.Scope`, or anything carrying one, as the compiler's Cluster does)
answers what happens to a packet on the scope's node — delivered (where, with which probability,
masqueraded or not), dropped or rejected — and why. It is the oracle the
compiled ruleset (read back by the interpreter) is compared with, so it shares no code with the
compiler: only the completed model objects and the Packet/Outcome types. Its indexes, label selection,
named ports, pod addresses and endpoint reading are its own (view.py).

    services.py   §1 source classes, §2 frontends, endpoint lists, the §2.3 table, §2.4 reject/drop
    policy.py     §3 isolation, rules, peers, ports (named ports resolved on the destination pod)
    view.py       the node, L, P, locality, pod addresses, selectors, named ports, endpoints of a port
    evaluator.py  `Reference(scope).evaluate(packet)`, and `evaluate()` with a per-holder cache

Choices where semantics.md leaves room (each pinned by a row of tests/test_reference.py):
- An endpoint is *ready* only if it is also serving ("never an endpoint that is not serving").
- An endpoint "carries hints" only if `hints.forZones` names at least one zone (as kube-proxy).
- Topology filtering applies to the usable list, so also to the serving-and-terminating fallback.
- `status.loadBalancer.ingress` is programmed only for Services of type LoadBalancer (as kube-proxy).
- An address that is both an externalIP and a LoadBalancer IP of one Service is filtered by its
  `loadBalancerSourceRanges`; a source of the other family than every range is outside them all.
- NodePorts answer on every address of L (both families); with no endpoint of that family: rejected.
- An endpoint on one of the node's own addresses is delivered locally (§1: no postrouting), so it is
  never masqueraded.
- Egress named ports resolve on the running pods standing for the destination address (hostNetwork
  pods included) that the rule's peers select; ipBlock and peer-less rules: every such pod.
- When two pods claim one address, the first in the input is the protected pod.
"""

from .evaluator import Reference, evaluate, reference_for
from .policy import PolicyStage
from .services import ServiceStage, SourceClass, source_class

__all__ = ["PolicyStage", "Reference", "ServiceStage", "SourceClass", "evaluate", "reference_for", "source_class"]
