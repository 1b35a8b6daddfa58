"""What changes the compiled output besides the manifests: the compiler's options."""

from __future__ import annotations

from dataclasses import dataclass

from ..model import IPNetwork

MASQUERADE_MARK = 0x4000  # as kube-proxy; documented in the README


@dataclass(frozen=True, slots=True)
class CompileOptions:
    """Everything that changes the compiled output besides the manifests."""

    node: str | None = None
    cluster_cidrs: tuple[IPNetwork, ...] = ()
    nodeport_addresses: tuple[IPNetwork, ...] = ()
    nodeport_primary: bool = False  # NodePorts on the node's primary address of each family only (`primary`)
    table: str = "netcompile"
    masquerade_mark: int = MASQUERADE_MARK
    detect_local_mode: str = "ClusterCIDR"  # model.DETECT_LOCAL_MODES: what counts as a pod's traffic
    masquerade_all: bool = False  # every connection to a ClusterIP masqueraded (kube-proxy's masqueradeAll)
