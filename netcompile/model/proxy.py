"""kube-proxy's configuration, as far as it changes the rules a node runs (KubeProxyConfiguration of
`kubeproxy.config.k8s.io/v1alpha1`, read by load/proxy.py from the manifests, from the `kube-proxy`
ConfigMap of `kube-system`, or from `--proxy-config FILE`).

pipeline.py turns it into compile options (command-line options override it); the compiler and the
reference evaluator read those options, each on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha1
from ipaddress import IPv4Network, IPv6Network

from ..errors import Position
from ..values import Frozen, set_field

PROXY_KIND = "KubeProxyConfiguration"
PROXY_VERSION = "kubeproxy.config.k8s.io/v1alpha1"

# kube-proxy's defaults (pkg/proxy/apis/config/v1alpha1/defaults.go): bit 14 of the mark, 0x4000.
DEFAULT_MASQUERADE_BIT = 14


@dataclass(init=False, slots=True, eq=False, repr=False)
class ProxyConfig(Frozen):
    """What netcompile honours of a KubeProxyConfiguration, and where it was read.

    `detect_local_mode` is ClusterCIDR, NodeCIDR, BridgeInterface or InterfaceNamePrefix; `cluster_cidrs` is the
    clusterCIDR field (empty: not given, and then ClusterCIDR mode has nothing to tell pods by);
    `nodeport_primary` is `nodePortAddresses: [primary]`; `masquerade_all` and `masquerade_bit` come from
    the section of the proxy mode (`nftables`, else `iptables`). `bridge_interface` and
    `interface_name_prefix` are `detectLocal`'s, read when the mode uses them (BridgeInterface: pods'
    traffic arrives on that bridge; InterfaceNamePrefix: on interfaces whose names start so). `ignored`
    names the fields given that change nothing in the rules, with why (for one notice).
    """

    position: Position
    source: str  # `KubeProxyConfiguration` or `ConfigMap "kube-system/kube-proxy"`, for messages
    mode: str
    cluster_cidrs: tuple[IPv4Network | IPv6Network, ...] = ()
    detect_local_mode: str = "ClusterCIDR"
    nodeport_addresses: tuple[IPv4Network | IPv6Network, ...] = ()
    nodeport_primary: bool = False
    masquerade_all: bool = False
    masquerade_bit: int = DEFAULT_MASQUERADE_BIT
    ignored: tuple[str, ...] = ()
    bridge_interface: str = ""
    interface_name_prefix: str = ""

    def __init__(
        self,
        position: Position,
        source: str,
        mode: str,
        cluster_cidrs: tuple[IPv4Network | IPv6Network, ...] = (),
        detect_local_mode: str = "ClusterCIDR",
        nodeport_addresses: tuple[IPv4Network | IPv6Network, ...] = (),
        nodeport_primary: bool = False,
        masquerade_all: bool = False,
        masquerade_bit: int = DEFAULT_MASQUERADE_BIT,
        ignored: tuple[str, ...] = (),
        bridge_interface: str = "",
        interface_name_prefix: str = "",
    ) -> None:
        set_field(self, "position", position)
        set_field(self, "source", source)
        set_field(self, "mode", mode)
        set_field(self, "cluster_cidrs", cluster_cidrs)
        set_field(self, "detect_local_mode", detect_local_mode)
        set_field(self, "nodeport_addresses", nodeport_addresses)
        set_field(self, "nodeport_primary", nodeport_primary)
        set_field(self, "masquerade_all", masquerade_all)
        set_field(self, "masquerade_bit", masquerade_bit)
        set_field(self, "ignored", ignored)
        set_field(self, "bridge_interface", bridge_interface)
        set_field(self, "interface_name_prefix", interface_name_prefix)


# The detectLocalMode values that tell pods' traffic by the interface it arrives on.
INTERFACE_MODES = ("BridgeInterface", "InterfaceNamePrefix")
IFNAMSIZ = 15  # the longest Linux interface name, in bytes


def pod_interface(config: ProxyConfig | None, detect_local_mode: str, pod_key: str) -> str:
    """The interface a pod's packets arrive on at its node, as netcompile's pictures of a node name it
    (journeys, the lab): with detectLocalMode BridgeInterface the bridge itself (the pods' veths are its
    ports); with InterfaceNamePrefix the prefix and a suffix drawn from the pod's `ns/name` (as many hex
    digits as fit in 15 bytes, up to 8); "" in every other mode, where no rule reads it."""
    if config is None or detect_local_mode not in INTERFACE_MODES:
        return ""
    if detect_local_mode == "BridgeInterface":
        return config.bridge_interface
    prefix = config.interface_name_prefix
    room = min(8, IFNAMSIZ - len(prefix))
    return prefix + sha1(pod_key.encode()).hexdigest()[:room] if room > 0 else prefix
