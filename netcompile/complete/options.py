"""What the simulated cluster looks like where the input does not say: the defaults are kind's layout
(https://kind.sigs.k8s.io), the local cluster most users know.

- Services: 10.96.0.0/12 (and fd00:10:96::/112 for the IPv6 family a Service asks for);
- pods: 10.244.0.0/16, node i (from 0) gets 10.244.i.0/24 (IPv4 only unless `pod_cidrs` has an IPv6
  network: fd00:10:244::/56 gives node i fd00:10:244:i::/64);
- nodes: `nodes` synthetic Nodes named `kind-worker`, `kind-worker2`, ... with InternalIP 172.18.0.(i+2)
  (kind's docker network), made only when the input has no Node and something needs a node;
- nodePorts: 30000-32767 (the API server's --service-node-port-range default);
- LoadBalancer ingress IPs: 172.18.255.0/24, the top /24 of kind's docker network 172.18.0.0/16, as kind
  users give MetalLB (its kind guide takes 172.18.255.200-250 from it) and where cloud-provider-kind's IPs
  come from too (that network); network and broadcast addresses are not handed out (MetalLB's
  avoidBuggyIPs). An IPv6 pool only when `load_balancer_cidrs` has one (kind's IPv6 network differs from
  host to host), so a Service of IPv6 only gets no ingress IP by default (a notice says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network

from ..model import IPNetwork
from ..values import Frozen, set_field

DEFAULT_SERVICE_CIDRS: tuple[IPNetwork, ...] = (ip_network("10.96.0.0/12"), ip_network("fd00:10:96::/112"))
DEFAULT_POD_CIDRS: tuple[IPNetwork, ...] = (ip_network("10.244.0.0/16"),)
DEFAULT_NODE_NETWORK = ip_network("172.18.0.0/16")
DEFAULT_NODE_PORT_RANGE = (30000, 32767)
DEFAULT_LOAD_BALANCER_CIDRS: tuple[IPNetwork, ...] = (ip_network("172.18.255.0/24"),)
NODE_NAME_PREFIX = "kind-worker"


@dataclass(init=False, slots=True, eq=False, repr=False)
class CompleteOptions(Frozen):
    """How `complete()` fills in what the input leaves to the cluster.

    `simulate`: None (the default) simulates only an input that needs it: workloads whose pods are not in
    the input, Pods without status, Services without their clusterIP or nodePorts. A snapshot of a
    running cluster needs nothing and passes through as before. True always, False never.

    `service_cidrs_configured`: the user gave `service_cidrs` (`--service-cidr`): a given clusterIP outside
    them is an error, as the API server refuses it; otherwise (the defaults) a notice, as the input may come
    from a cluster with another range. `load_balancer_cidrs`: the pools LoadBalancer ingress IPs come from
    (`--load-balancer-cidr`), any number of each IP family.
    """

    nodes: int = 1
    service_cidrs: tuple[IPNetwork, ...] = DEFAULT_SERVICE_CIDRS
    pod_cidrs: tuple[IPNetwork, ...] = DEFAULT_POD_CIDRS
    node_network: IPv4Network | IPv6Network = DEFAULT_NODE_NETWORK
    node_port_range: tuple[int, int] = DEFAULT_NODE_PORT_RANGE
    simulate: bool | None = None
    load_balancer_cidrs: tuple[IPNetwork, ...] = DEFAULT_LOAD_BALANCER_CIDRS
    service_cidrs_configured: bool = False

    def __init__(
        self,
        nodes: int = 1,
        service_cidrs: tuple[IPNetwork, ...] = DEFAULT_SERVICE_CIDRS,
        pod_cidrs: tuple[IPNetwork, ...] = DEFAULT_POD_CIDRS,
        node_network: IPv4Network | IPv6Network = DEFAULT_NODE_NETWORK,
        node_port_range: tuple[int, int] = DEFAULT_NODE_PORT_RANGE,
        simulate: bool | None = None,
        load_balancer_cidrs: tuple[IPNetwork, ...] = DEFAULT_LOAD_BALANCER_CIDRS,
        service_cidrs_configured: bool = False,
    ) -> None:
        set_field(self, "nodes", nodes)
        set_field(self, "service_cidrs", service_cidrs)
        set_field(self, "pod_cidrs", pod_cidrs)
        set_field(self, "node_network", node_network)
        set_field(self, "node_port_range", node_port_range)
        set_field(self, "simulate", simulate)
        set_field(self, "load_balancer_cidrs", load_balancer_cidrs)
        set_field(self, "service_cidrs_configured", service_cidrs_configured)
        self.__post_init__()

    def __post_init__(self) -> None:
        """A ValueError (a usage error for the CLI) for options no cluster could have."""
        if self.nodes < 0:
            raise ValueError(f"the number of nodes must be 0 or more, not {self.nodes}")
        for network in self.pod_cidrs:
            self.node_pod_cidr(network, max(self.nodes - 1, 0))
        if self.nodes + 2 > self.node_network.num_addresses:
            raise ValueError(f"node network {self.node_network} has no room for {self.nodes} nodes")
        low, high = self.node_port_range
        if not 0 < low <= high <= 65535:
            raise ValueError(f"node-port range {low}-{high} is not a range of ports")
        if len({c.version for c in self.service_cidrs}) != len(self.service_cidrs):
            raise ValueError("at most one service CIDR per IP family")
        for i, one in enumerate(self.load_balancer_cidrs):
            for other in self.load_balancer_cidrs[i + 1 :]:
                if one.version == other.version and one.overlaps(other):
                    raise ValueError(f"load-balancer CIDRs {one} and {other} overlap")

    def node_pod_cidr(self, network: IPNetwork, index: int) -> IPNetwork:
        """Node `index`'s share of the pod network: a /24 of an IPv4 network, a /64 of an IPv6 one (the
        whole network when it is smaller); None when the network has no room for that many nodes."""
        bits = 32 if network.version == 4 else 128
        prefix = max(24 if network.version == 4 else 64, network.prefixlen)
        if index >= 1 << (prefix - network.prefixlen):
            raise ValueError(f"pod network {network} has room for {1 << (prefix - network.prefixlen)} nodes")
        return ip_network((int(network.network_address) + (index << (bits - prefix)), prefix))
