"""Phase 2, complete: what the cluster's controllers and API server would add to the loaded objects.

The result is model objects again (today: the EndpointSlices the EndpointSlice controller derives from
pods), so that the compiler and the reference evaluator share the completed objects and nothing else:
each indexes them and implements the semantics over them on its own.
"""

from __future__ import annotations

from ..model import Objects
from .endpointslices import complete_endpoint_slices


def complete(objects: Objects) -> Objects:
    """The objects as the cluster would hold them; idempotent (completing twice adds nothing)."""
    return complete_endpoint_slices(objects)


__all__ = ["complete"]
