"""The reference evaluator: Kubernetes semantics (docs/semantics.md) computed from the Cluster model.

`evaluate(cluster, packet)` answers what happens to a packet on the cluster's node — delivered (where,
with which probability, masqueraded or not), dropped or rejected — and why. It is the oracle the
compiled ruleset (read back by the interpreter) is compared with, so it shares no code with the
compiler: only the model, the Cluster indexes, the selectors and the Packet/Outcome types.
"""

from .evaluator import Reference, evaluate, reference_for
from .policy import PolicyStage
from .services import ServiceStage, SourceClass, source_class

__all__ = ["PolicyStage", "Reference", "ServiceStage", "SourceClass", "evaluate", "reference_for", "source_class"]
