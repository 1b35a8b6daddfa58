"""kube-proxy's configuration, as far as it changes the rules a node runs (KubeProxyConfiguration of
`kubeproxy.config.k8s.io/v1alpha1`, read by load/proxy.py from the manifests, from the `kube-proxy`
ConfigMap of `kube-system`, or from `--proxy-config FILE`).

pipeline.py turns it into compile options (command-line options override it); the compiler and the
reference evaluator read those options, each on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network

from ..errors import Position

PROXY_KIND = "KubeProxyConfiguration"
PROXY_VERSION = "kubeproxy.config.k8s.io/v1alpha1"

# kube-proxy's defaults (pkg/proxy/apis/config/v1alpha1/defaults.go): bit 14 of the mark, 0x4000.
DEFAULT_MASQUERADE_BIT = 14


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    """What netcompile honours of a KubeProxyConfiguration, and where it was read.

    `detect_local_mode` is ClusterCIDR or NodeCIDR (model.DETECT_LOCAL_MODES); `cluster_cidrs` is the
    clusterCIDR field (empty: not given, and then ClusterCIDR mode has nothing to tell pods by);
    `nodeport_primary` is `nodePortAddresses: [primary]`; `masquerade_all` and `masquerade_bit` come from
    the section of the proxy mode (`nftables`, else `iptables`). `ignored` names the fields given that
    change nothing in the rules, with why (for one notice).
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
