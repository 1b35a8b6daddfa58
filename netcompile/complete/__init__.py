"""Phase 2, complete: what the cluster's controllers and API server would add to the loaded objects.

The result is model objects again, so that the compiler and the reference evaluator share the completed
objects and nothing else: each indexes them and implements the semantics over them on its own. Two steps:

- the simulated cluster (`complete/cluster.py`), for an input that leaves things to the cluster (the
  manifests kept in Git): Nodes, the pods of workloads, pod IPs, ClusterIPs, nodePorts, namespaces;
  a snapshot of a running cluster leaves nothing and passes through unchanged (`CompleteOptions`);
- the EndpointSlices the EndpointSlice controller derives from pods (`complete/endpointslices.py`).
"""

from __future__ import annotations

from dataclasses import replace

from ..gcpause import paused_gc
from ..model import Objects
from .endpointslices import complete_endpoint_slices
from .ingress import with_ingress_notices
from .options import CompleteOptions
from .wanted import needs_simulation

DEFAULTS = CompleteOptions()


def complete(objects: Objects, options: CompleteOptions = DEFAULTS) -> Objects:
    """The objects as the cluster would hold them; idempotent (completing twice adds nothing)."""
    with paused_gc():  # 100k pods are a batch of acyclic allocations: see gcpause.paused_gc
        wanted = needs_simulation(objects) if options.simulate is None else options.simulate
        without = {s.meta.key for s in objects.services if not s.cluster_ips}
        if wanted:
            from .cluster import simulate  # the simulation and what it uses: only for an input that needs it

            objects = simulate(objects, options)
        completed = complete_endpoint_slices(objects)
    # The ranges ClusterIPs come from: the input's ServiceCIDRs, else --service-cidr, else the simulated
    # cluster's range when it handed out a ClusterIP (an input that gives them all does not say its range).
    ranges = tuple(c for o in objects.service_cidr_objects for c in o.cidrs)
    allocated = any(s.cluster_ips for s in objects.services if s.meta.key in without)
    if not ranges and (allocated or options.service_cidrs_configured):
        ranges = options.service_cidrs
    if ranges != completed.service_cidrs:
        completed = replace(completed, service_cidrs=ranges)
    return with_ingress_notices(completed)  # complete/ingress.py: backends that lead nowhere


__all__ = ["CompleteOptions", "complete"]
