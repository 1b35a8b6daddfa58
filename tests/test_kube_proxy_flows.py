"""kube-proxy's own packet-flow tests, ported (issue 21.6).

kubernetes/kubernetes `pkg/proxy/nftables/proxier_test.go` proves its rules with `runPacketFlowTests`: a
fake proxier (`NewFakeProxier`) is given Services and EndpointSlices, and a tracer (`helpers_test.go`)
follows one packet through the rules it wrote, answering the endpoints the packet may be DNATed to (every
branch of the `numgen` vmap), or DROP / REJECT, or "" (no rule touched it), and whether it was marked for
masquerade. Every such case is a row here, named `GoTest/subtest/case` as `go test -run` names it (with
spaces kept), written in tests/test_reference.py's notation: `ADDR:PORT` or `ADDR:PORT masq` per endpoint
(equal shares), `dropped`, `rejected`.

Each scenario is the Go fixture written as manifests, compiled for kube-proxy's test node, and each row is
asked of both the reference evaluator and the interpreter of the compiled ruleset: both must give
kube-proxy's answer. The fixture, as manifests and options:

- the node `test-node` with every address the fake proxier gives its interfaces (`testNodeIPs`: 192.168.0.2,
  192.168.1.2, 192.168.99.11, 2001:db8::1, 2001:db8:1::2), 192.168.0.2 its primary (kube-proxy's `nodeIP`);
- `nodePortAddresses` 192.168.0.2/32 and 2001:db8::1/128 unless a test sets others;
- the local detector by CIDR: 10.0.0.0/8 (fd00:10::/64 for the IPv6 proxier), `detectLocalMode:
  ClusterCIDR`; the tests that replace it with `NewNoOpLocalDetector` are `detectLocalMode: None`;
- the Service range 172.30.0.0/16 (fd00:10:96::/112): a ServiceCIDR object;
- nodePorts such as 3001 lie outside the API server's default range: the input is read with
  `--service-node-port-range 3000-32767`, as a cluster with such nodePorts would be configured;
- the tracer follows every packet from prerouting, deciding `fib saddr type local` by `testNodeIPs`: a
  source that is a node address is the node's own traffic (origin `node` here), any other source arrives
  from the network (origin `net`); a source in the pod CIDR is a pod's.

Below the 207 packet-flow cases, `TRACED` rows take the tests that assert a whole ruleset instead
(TestOverallNFTablesRules, TestBadIPs, TestLoadBalancerIngressRouteTypeProxy, TestSyncProxyRulesRepeated,
TestSyncProxyRulesStartup) and follow packets through the rules they assert, as the tracer would: ids
`GoTest [rules]/case`, the case names ours.

Known differences are rows of `DIFFERENCES` (strict xfail with the reason, so a change that removes one is
noticed); docs/semantics.md, "kube-proxy's packet-flow tests", lists them with the counts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import cache
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

import pytest

from netcompile.compile.compiler import CompileOptions, compile_cluster
from netcompile.compile.index import Cluster
from netcompile.load.manifests import load
from netcompile.load.parse_common import ParseOptions
from netcompile.model import IPNetwork, Protocol
from netcompile.pipeline import complete
from netcompile.verify.interpreter import Ruleset
from netcompile.verify.packet import Origin, Outcome, Packet, Result, Verdict
from netcompile.verify.reference import evaluate

# --- kube-proxy's test fixture (proxier_test.go, NewFakeProxier) ------------------------------------------

NODE_NAME = "test-node"
NODE_IP = "192.168.0.2"  # testNodeIP
NODE_IP_ALT = "192.168.1.2"  # testNodeIPAlt
EXTERNAL_IP = "192.168.99.11"  # testExternalIP: an address of the node, and the externalIP of some tests
NODE_IPV6 = "2001:db8::1"  # testNodeIPv6
NODE_IPV6_ALT = "2001:db8:1::2"  # testNodeIPv6Alt
CLIENT = "203.0.113.2"  # testExternalClient
CLIENT_BLOCKED = "203.0.113.130"  # testExternalClientBlocked
POD = "10.0.0.2"  # the pods' source in most cases
POD_CIDRS = (ip_network("10.0.0.0/8"), ip_network("fd00:10::/64"))
SERVICE_CIDRS = ("172.30.0.0/16", "fd00:10:96::/112")
NODEPORT_ADDRESSES = (f"{NODE_IP}/32", f"{NODE_IPV6}/128")
NODE_PORT_RANGE = (3000, 32767)

Doc = dict[str, Any]


def node() -> Doc:
    addresses = [
        {"type": "InternalIP", "address": NODE_IP},
        {"type": "InternalIP", "address": NODE_IP_ALT},
        {"type": "ExternalIP", "address": EXTERNAL_IP},
        {"type": "InternalIP", "address": NODE_IPV6},
        {"type": "InternalIP", "address": NODE_IPV6_ALT},
        {"type": "Hostname", "address": NODE_NAME},
    ]
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE_NAME}, "status": {"addresses": addresses}}


def service_cidr() -> Doc:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "ServiceCIDR",
        "metadata": {"name": "kubernetes"},
        "spec": {"cidrs": list(SERVICE_CIDRS)},
    }


def port(name: str, number: int, protocol: str = "TCP", **more: Any) -> Doc:
    out: Doc = {"port": number, "protocol": protocol, **more}
    if name:
        out["name"] = name
    return out


def service(namespace: str, name: str, spec: Doc, ingress: Sequence[str] = ()) -> Doc:
    doc: Doc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace}}
    doc["spec"] = spec
    if ingress:
        doc["status"] = {"loadBalancer": {"ingress": [{"ip": ip} for ip in ingress]}}
    return doc


def endpoint(address: str, node_name: str | None = None, conditions: str | None = None) -> Doc:
    """One endpoint as the Go test writes it: `conditions` None leaves them out (kube-proxy, as the API,
    reads a missing `ready` as ready); "ready" / "ready-serving" / "terminating" (serving and terminating) /
    "dead" (terminating, not serving) / "serving" (ready false, serving true, terminating false)."""
    out: Doc = {"addresses": [address]}
    if node_name is not None:
        out["nodeName"] = node_name
    table = {
        "ready": {"ready": True},
        "ready-serving": {"ready": True, "serving": True, "terminating": False},
        "terminating": {"ready": False, "serving": True, "terminating": True},
        "dead": {"ready": False, "serving": False, "terminating": True},
        "serving": {"ready": False, "serving": True, "terminating": False},
    }
    if conditions is not None:
        out["conditions"] = table[conditions]
    return out


def endpoint_slice(
    namespace: str, service_name: str, ports: Sequence[Doc], endpoints: Sequence[Doc], family: str = "IPv4"
) -> Doc:
    """makeTestEndpointSlice's slice: `NAME-1`, labelled with its Service."""
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{service_name}-1",
            "namespace": namespace,
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": family,
        "ports": list(ports),
        "endpoints": list(endpoints),
    }


def slice_port(name: str, number: int, protocol: str = "TCP") -> Doc:
    return {"name": name, "port": number, "protocol": protocol}


# --- scenarios: one fake proxier each -----------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """The objects a Go test (or subtest) gives its fake proxier, and the proxier's settings."""

    documents: tuple[Doc, ...]
    nodeport_addresses: tuple[str, ...] = NODEPORT_ADDRESSES
    detect_local_mode: str = "ClusterCIDR"  # "None": fp.localDetector = NewNoOpLocalDetector()
    masquerade_all: bool = False


@dataclass(frozen=True)
class Flow:
    """One packetFlowTest: `id` is `GoTest/subtest/case`; `want` kube-proxy's answer in row notation."""

    id: str
    src: str
    dst: str
    port: str  # "tcp/80"
    want: str
    iif: str = ""  # the interface it arrives on (the interface detect-local rows below); "": none said

    def packet(self) -> Packet:
        """The packet the tracer follows: from the node itself when the source is a node address (the
        tracer's `fib saddr type local`), else arriving from the network."""
        protocol, _, number = self.port.partition("/")
        return Packet(
            ip_address(self.src),
            ip_address(self.dst),
            Protocol(protocol.upper()),
            int(number),
            origin=Origin.NODE if self.src in NODE_ADDRESSES else Origin.NETWORK,
            iif=self.iif,
        )


NODE_ADDRESSES = (NODE_IP, NODE_IP_ALT, EXTERNAL_IP, NODE_IPV6, NODE_IPV6_ALT)
SCENARIOS: dict[str, Scenario] = {}
FLOWS: list[tuple[str, Flow]] = []  # (scenario, flow): the packetFlowTest cases
TRACED: list[tuple[str, Flow]] = []  # rows read off a ruleset a test asserts (below the packet flows)


def add(
    scenario_name: str,
    scenario: Scenario,
    test: str,
    *rows: tuple[str, str, str, str, str],
    into: list[tuple[str, Flow]] = FLOWS,
) -> None:
    """Register `scenario` and its rows `(case, src, dst, "tcp/80", want)` under the Go test `test`; a case
    name that repeats within the test gets `#01`, `#02`, as `go test` names it."""
    SCENARIOS[scenario_name] = scenario
    seen: dict[str, int] = {}
    for case, src, dst, proto_port, want in rows:
        count = seen.get(case, 0)
        seen[case] = count + 1
        suffix = f"#{count:02d}" if count else ""
        into.append((scenario_name, Flow(f"{test}/{case}{suffix}", src, dst, proto_port, want)))


# TestNoEndpointsReject: a LoadBalancer Service with no endpoints rejects at each of its addresses.
add(
    "NoEndpointsReject",
    Scenario(
        (
            service(
                "ns1",
                "svc1",
                {
                    "type": "LoadBalancer",
                    "clusterIP": "172.30.0.41",
                    "externalIPs": [EXTERNAL_IP],
                    "ports": [port("p80", 80, nodePort=3001)],
                },
                ["1.2.3.4"],
            ),
        )
    ),
    "TestNoEndpointsReject",
    ("pod to cluster IP with no endpoints", POD, "172.30.0.41", "tcp/80", "rejected"),
    ("external to external IP with no endpoints", CLIENT, EXTERNAL_IP, "tcp/80", "rejected"),
    ("pod to NodePort with no endpoints", POD, NODE_IP, "tcp/3001", "rejected"),
    ("external to NodePort with no endpoints", CLIENT, NODE_IP, "tcp/3001", "rejected"),
    ("pod to LoadBalancer IP with no endpoints", POD, "1.2.3.4", "tcp/80", "rejected"),
    ("external to LoadBalancer IP with no endpoints", CLIENT, "1.2.3.4", "tcp/80", "rejected"),
)

# TestClusterIPGeneral: ports, target ports, protocols, hairpin, and the Service range.
add(
    "ClusterIPGeneral",
    Scenario(
        (
            service("ns1", "svc1", {"clusterIP": "172.30.0.41", "ports": [port("http", 80)]}),
            service(
                "ns2",
                "svc2",
                {
                    "clusterIP": "172.30.0.42",
                    "ports": [
                        port("http", 80),
                        port("https", 443, targetPort=8443),
                        port("dns-udp", 53, "UDP"),
                        port("dns-tcp", 53, targetPort=5353),
                        port("dns-sctp", 53, "SCTP"),
                    ],
                },
            ),
            endpoint_slice("ns1", "svc1", [slice_port("http", 80)], [endpoint("10.180.0.1", NODE_NAME)]),
            endpoint_slice(
                "ns2",
                "svc2",
                [
                    slice_port("http", 80),
                    slice_port("https", 8443),
                    slice_port("dns-udp", 53, "UDP"),
                    slice_port("dns-tcp", 5353),
                    slice_port("dns-sctp", 53, "SCTP"),
                ],
                [endpoint("10.180.0.1", NODE_NAME), endpoint("10.180.2.1", "node2")],
            ),
        )
    ),
    "TestClusterIPGeneral",
    ("simple clusterIP", "10.180.0.2", "172.30.0.41", "tcp/80", "10.180.0.1:80"),
    ("hairpin to cluster IP", "10.180.0.1", "172.30.0.41", "tcp/80", "10.180.0.1:80 masq"),
    ("clusterIP with multiple endpoints", "10.180.0.2", "172.30.0.42", "tcp/80", "10.180.0.1:80; 10.180.2.1:80"),
    ("clusterIP with TargetPort", "10.180.0.2", "172.30.0.42", "tcp/443", "10.180.0.1:8443; 10.180.2.1:8443"),
    (
        "clusterIP with TCP, UDP, and SCTP on same port (TCP)",
        "10.180.0.2",
        "172.30.0.42",
        "tcp/53",
        "10.180.0.1:5353; 10.180.2.1:5353",
    ),
    # (the Go test names its UDP case "(TCP)" too: go test calls the second one "...(TCP)#01")
    (
        "clusterIP with TCP, UDP, and SCTP on same port (TCP)",
        "10.180.0.2",
        "172.30.0.42",
        "udp/53",
        "10.180.0.1:53; 10.180.2.1:53",
    ),
    (
        "clusterIP with TCP, UDP, and SCTP on same port (SCTP)",
        "10.180.0.2",
        "172.30.0.42",
        "sctp/53",
        "10.180.0.1:53; 10.180.2.1:53",
    ),
    ("TCP-only port does not match UDP traffic", "10.180.0.2", "172.30.0.42", "udp/80", "rejected"),
    ("svc1 does not accept svc2's ports", "10.180.0.2", "172.30.0.41", "tcp/443", "rejected"),
    ("packet to unallocated cluster ip", "10.180.0.2", "172.30.0.50", "tcp/80", "dropped"),
)

# TestLoadBalancer: loadBalancerSourceRanges (with the node's range, and a range written with a space).
LB_EP = "10.180.0.1:80 masq"
add(
    "LoadBalancer",
    Scenario(
        (
            service(
                "ns1",
                "svc1",
                {
                    "type": "LoadBalancer",
                    "clusterIP": "172.30.0.41",
                    "ports": [port("p80", 80, nodePort=3001)],
                    "loadBalancerSourceRanges": ["192.168.0.0/24", " 203.0.113.0/25"],
                },
                ["1.2.3.4", "5.6.7.8"],
            ),
            endpoint_slice("ns1", "svc1", [slice_port("p80", 80)], [endpoint("10.180.0.1")]),
        )
    ),
    "TestLoadBalancer",
    ("pod to cluster IP", POD, "172.30.0.41", "tcp/80", "10.180.0.1:80"),
    ("external to nodePort", CLIENT, NODE_IP, "tcp/3001", LB_EP),
    ("nodePort bypasses LoadBalancerSourceRanges", CLIENT_BLOCKED, NODE_IP, "tcp/3001", LB_EP),
    ("accepted external to LB1", CLIENT, "1.2.3.4", "tcp/80", LB_EP),
    ("accepted external to LB2", CLIENT, "5.6.7.8", "tcp/80", LB_EP),
    ("blocked external to LB1", CLIENT_BLOCKED, "1.2.3.4", "tcp/80", "dropped"),
    ("blocked external to LB2", CLIENT_BLOCKED, "5.6.7.8", "tcp/80", "dropped"),
    ("pod to LB1 (blocked by LoadBalancerSourceRanges)", POD, "1.2.3.4", "tcp/80", "dropped"),
    ("pod to LB2 (blocked by LoadBalancerSourceRanges)", POD, "5.6.7.8", "tcp/80", "dropped"),
    ("node to LB1 (allowed by LoadBalancerSourceRanges)", NODE_IP, "1.2.3.4", "tcp/80", LB_EP),
    ("node to LB2 (allowed by LoadBalancerSourceRanges)", NODE_IP, "5.6.7.8", "tcp/80", LB_EP),
    # the source is the LB IP itself, not a node address: the tracer takes it as arriving from outside
    ("same node to LB1, SNATted to LB1 (implicitly allowed)", "1.2.3.4", "1.2.3.4", "tcp/80", LB_EP),
    ("same node to LB2, SNATted to LB2 (implicitly allowed)", "5.6.7.8", "5.6.7.8", "tcp/80", LB_EP),
)


# TestNodePorts: NodePorts on the node's addresses that nodePortAddresses allows, in each family.
def node_ports(
    family: str, nodeport_addresses: tuple[str, ...] | None, alt_allowed: bool
) -> tuple[Scenario, list[tuple[str, str, str, str, str]]]:
    v4 = family == "IPv4"
    svc_ip = "172.30.0.41" if v4 else "fd00:172:30::41"
    ep1, ep2 = ("10.180.0.1", "10.180.2.1") if v4 else ("fd00:10:180::1", "fd00:10:180::2:1")
    node_ip, alt_ip = (NODE_IP, NODE_IP_ALT) if v4 else (NODE_IPV6, NODE_IPV6_ALT)
    pod, client = (POD, CLIENT) if v4 else ("fd00:10::2", "2600:5200::1")
    spec: Doc = {"type": "NodePort", "clusterIP": svc_ip, "ports": [port("p80", 80, nodePort=3001)]}
    if not v4:
        spec["ipFamilies"] = ["IPv6"]
    scenario = Scenario(
        (
            service("ns1", "svc1", spec),
            endpoint_slice("ns1", "svc1", [slice_port("p80", 80)], [endpoint(ep1), endpoint(ep2, NODE_NAME)], family),
        ),
        nodeport_addresses=nodeport_addresses or NODEPORT_ADDRESSES,
    )
    both = f"{hostport(ep1, 80)}; {hostport(ep2, 80)}"
    masq = f"{hostport(ep1, 80)} masq; {hostport(ep2, 80)} masq"
    rows = [
        ("pod to cluster IP", pod, svc_ip, "tcp/80", both),
        ("external to nodePort", client, node_ip, "tcp/3001", masq),
        ("node to nodePort", node_ip, node_ip, "tcp/3001", masq),
    ]
    if alt_allowed:
        rows.append(("external to nodePort on secondary IP", client, alt_ip, "tcp/3001", masq))
    else:  # output "": no rule touches it
        rows.append(("secondary nodeIP ignores NodePorts", client, alt_ip, "tcp/3001", f"{hostport(alt_ip, 3001)}"))
    return scenario, rows


def hostport(address: str, number: int) -> str:
    return f"[{address}]:{number}" if ":" in address else f"{address}:{number}"


for _sub, _family, _addresses, _alt in (
    ("ipv4", "IPv4", None, False),
    ("ipv4, multiple nodeport-addresses", "IPv4", ("192.168.0.0/24", "192.168.1.0/24", "2001:db8::/64"), True),
    ("ipv6", "IPv6", None, False),
    (
        "ipv6, multiple nodeport-addresses",
        "IPv6",
        ("192.168.0.0/24", "192.168.1.0/24", "2001:db8::/64", "2001:db8:1::2/128"),
        True,
    ),
):
    _scenario, _rows = node_ports(_family, _addresses, _alt)
    add(f"NodePorts {_sub}", _scenario, f"TestNodePorts/{_sub}", *_rows)


# TestExternalTrafficPolicyLocal / TestExternalTrafficPolicyCluster: one endpoint without a node, one local.
def traffic_policy(policy: str) -> Scenario:
    spec: Doc = {
        "type": "LoadBalancer",
        "externalTrafficPolicy": policy,
        "clusterIP": "172.30.0.41",
        "externalIPs": [EXTERNAL_IP],
        "ports": [port("p80", 80, nodePort=3001, targetPort=80)],
    }
    if policy == "Local":
        spec["healthCheckNodePort"] = 30000
    return Scenario(
        (
            service("ns1", "svc1", spec, ["1.2.3.4"]),
            endpoint_slice(
                "ns1", "svc1", [slice_port("p80", 80)], [endpoint("10.180.0.1"), endpoint("10.180.2.1", NODE_NAME)]
            ),
        )
    )


BOTH = "10.180.0.1:80; 10.180.2.1:80"
BOTH_MASQ = "10.180.0.1:80 masq; 10.180.2.1:80 masq"
add(
    "ExternalTrafficPolicyLocal",
    traffic_policy("Local"),
    "TestExternalTrafficPolicyLocal",
    ("pod to cluster IP hits both endpoints, unmasqueraded", POD, "172.30.0.41", "tcp/80", BOTH),
    ("pod to external IP hits both endpoints, unmasqueraded", POD, EXTERNAL_IP, "tcp/80", BOTH),
    ("external to external IP hits only local endpoint, unmasqueraded", CLIENT, EXTERNAL_IP, "tcp/80", "10.180.2.1:80"),
    ("pod to LB IP hits only both endpoints, unmasqueraded", POD, "1.2.3.4", "tcp/80", BOTH),
    ("external to LB IP hits only local endpoint, unmasqueraded", CLIENT, "1.2.3.4", "tcp/80", "10.180.2.1:80"),
    ("pod to NodePort hits both endpoints, unmasqueraded", POD, NODE_IP, "tcp/3001", BOTH),
    ("external to NodePort hits only local endpoint, unmasqueraded", CLIENT, NODE_IP, "tcp/3001", "10.180.2.1:80"),
)
add(
    "ExternalTrafficPolicyCluster",
    traffic_policy("Cluster"),
    "TestExternalTrafficPolicyCluster",
    ("pod to cluster IP hits both endpoints, unmasqueraded", POD, "172.30.0.41", "tcp/80", BOTH),
    ("pod to external IP hits both endpoints, masqueraded", POD, EXTERNAL_IP, "tcp/80", BOTH_MASQ),
    ("external to external IP hits both endpoints, masqueraded", CLIENT, EXTERNAL_IP, "tcp/80", BOTH_MASQ),
    ("pod to LB IP hits both endpoints, masqueraded", POD, "1.2.3.4", "tcp/80", BOTH_MASQ),
    ("external to LB IP hits both endpoints, masqueraded", CLIENT, "1.2.3.4", "tcp/80", BOTH_MASQ),
    ("pod to NodePort hits both endpoints, masqueraded", POD, NODE_IP, "tcp/3001", BOTH_MASQ),
    ("external to NodePort hits both endpoints, masqueraded", CLIENT, NODE_IP, "tcp/3001", BOTH_MASQ),
)


# TestInternalTrafficPolicy: each subtest, then again once its EndpointSlice is deleted.
def itp_service(policy: str) -> Doc:
    spec: Doc = {
        "clusterIP": "172.30.1.1",
        "selector": {"foo": "bar"},
        "ports": [port("", 80)],
        "internalTrafficPolicy": policy,
    }
    return service("ns1", "svc1", spec)


for _sub, _policy, _itp_eps, _want in (
    (
        "internalTrafficPolicy is cluster",
        "Cluster",
        (("10.0.1.1", NODE_NAME), ("10.0.1.2", "node1"), ("10.0.1.3", "node2")),
        ("pod to ClusterIP hits all endpoints", "10.0.1.1:80; 10.0.1.2:80; 10.0.1.3:80"),
    ),
    (
        "internalTrafficPolicy is local and there is one local endpoint",
        "Local",
        (("10.0.1.1", NODE_NAME), ("10.0.1.2", "node1"), ("10.0.1.3", "node2")),
        ("pod to ClusterIP hits only local endpoint", "10.0.1.1:80"),
    ),
    (
        "internalTrafficPolicy is local and there are multiple local endpoints",
        "Local",
        (("10.0.1.1", NODE_NAME), ("10.0.1.2", NODE_NAME), ("10.0.1.3", "node2")),
        ("pod to ClusterIP hits all local endpoints", "10.0.1.1:80; 10.0.1.2:80"),
    ),
    (
        "internalTrafficPolicy is local and there are no local endpoints",
        "Local",
        (("10.0.1.1", "node0"), ("10.0.1.2", "node1"), ("10.0.1.3", "node2")),
        ("no endpoints", "dropped"),
    ),
):
    _slice = endpoint_slice("ns1", "svc1", [slice_port("", 80)], [endpoint(a, n, "ready") for a, n in _itp_eps])
    _test = f"TestInternalTrafficPolicy/{_sub}"
    add(
        f"ITP {_sub}",
        Scenario((itp_service(_policy), _slice)),
        _test,
        (_want[0], POD, "172.30.1.1", "tcp/80", _want[1]),
    )
    add(
        f"ITP {_sub} (deleted)",
        Scenario((itp_service(_policy),)),
        _test,
        ("endpoints deleted", POD, "172.30.1.1", "tcp/80", "rejected"),
    )


# TestTerminatingEndpointsTrafficPolicyLocal / ...Cluster: which endpoints when some are terminating.
def terminating_service(policy: str) -> Doc:
    spec: Doc = {
        "clusterIP": "172.30.1.1",
        "type": "LoadBalancer",
        "externalTrafficPolicy": policy,
        "ports": [port("", 80, targetPort=80)],
        # the Go Service has no nodePort (0): what allocateLoadBalancerNodePorts: false gives
        "allocateLoadBalancerNodePorts": False,
    }
    if policy == "Local":  # (the Go test sets it for Cluster too; the API server refuses it there)
        spec["healthCheckNodePort"] = 30000
    return service("ns1", "svc1", spec, ["1.2.3.4"])


def masqueraded(want: str) -> str:
    return "; ".join(f"{entry.strip()} masq" for entry in want.split(";"))


TERM_LOCAL, TERM_CLUSTER = "node-1", "another-node"  # the other node each Go test names
# (Go test, subtest, endpoints, pod-to-clusterIP case and want, external-to-LB case and want)
TERMINATING: list[tuple[str, str, list[Doc], str, str, str, str]] = [
    (
        "Local",
        "ready endpoints exist",
        [
            endpoint("10.0.1.1", NODE_NAME, "ready-serving"),
            endpoint("10.0.1.2", NODE_NAME, "ready-serving"),
            endpoint("10.0.1.3", NODE_NAME, "terminating"),
            endpoint("10.0.1.4", NODE_NAME, "dead"),
            endpoint("10.0.1.5", TERM_LOCAL, "ready-serving"),
        ],
        "pod to clusterIP",
        "10.0.1.1:80; 10.0.1.2:80; 10.0.1.5:80",
        "external to LB",
        "10.0.1.1:80; 10.0.1.2:80",
    ),
    (
        "Local",
        "only terminating endpoints exist",
        [
            endpoint("10.0.1.2", NODE_NAME, "terminating"),
            endpoint("10.0.1.3", NODE_NAME, "terminating"),
            endpoint("10.0.1.4", NODE_NAME, "dead"),
            endpoint("10.0.1.5", TERM_LOCAL, "ready-serving"),
        ],
        "pod to clusterIP",
        "10.0.1.5:80",
        "external to LB",
        "10.0.1.2:80; 10.0.1.3:80",
    ),
    (
        "Local",
        "terminating endpoints on remote node",
        [endpoint("10.0.1.5", TERM_LOCAL, "terminating")],
        "pod to clusterIP",
        "10.0.1.5:80",
        "external to LB, no locally-usable endpoints",
        "dropped",
    ),
    (
        "Local",
        "no usable endpoints on any node",
        # (the same address twice, on this node and another, neither serving: as the Go test has it)
        [endpoint("10.0.1.5", NODE_NAME, "dead"), endpoint("10.0.1.5", TERM_LOCAL, "dead")],
        "pod to clusterIP, no usable endpoints",
        "rejected",
        "external to LB, no usable endpoints",
        "rejected",
    ),
    (
        "Cluster",
        "ready endpoints exist",
        [
            endpoint("10.0.1.1", NODE_NAME, "ready-serving"),
            endpoint("10.0.1.2", NODE_NAME, "ready-serving"),
            endpoint("10.0.1.3", TERM_CLUSTER, "terminating"),
            endpoint("10.0.1.4", TERM_CLUSTER, "dead"),
            endpoint("10.0.1.5", TERM_CLUSTER, "ready-serving"),
        ],
        "pod to clusterIP",
        "10.0.1.1:80; 10.0.1.2:80; 10.0.1.5:80",
        "external to LB",
        masqueraded("10.0.1.1:80; 10.0.1.2:80; 10.0.1.5:80"),
    ),
    (
        "Cluster",
        "only terminating endpoints exist",
        [
            endpoint("10.0.1.2", NODE_NAME, "terminating"),
            endpoint("10.0.1.3", NODE_NAME, "terminating"),
            endpoint("10.0.1.4", TERM_CLUSTER, "dead"),
            endpoint("10.0.1.5", TERM_CLUSTER, "terminating"),
        ],
        "pod to clusterIP",
        "10.0.1.2:80; 10.0.1.3:80; 10.0.1.5:80",
        "external to LB",
        masqueraded("10.0.1.2:80; 10.0.1.3:80; 10.0.1.5:80"),
    ),
    (
        "Cluster",
        "terminating endpoints on remote node",
        [endpoint("10.0.1.5", "node-1", "terminating")],
        "pod to clusterIP",
        "10.0.1.5:80",
        "external to LB",
        "10.0.1.5:80 masq",
    ),
    (
        "Cluster",
        "no usable endpoints on any node",
        [endpoint("10.0.1.5", NODE_NAME, "dead"), endpoint("10.0.1.5", "node-1", "dead")],
        "pod to clusterIP",
        "rejected",
        "external to LB",
        "rejected",
    ),
]
for _policy, _sub, _endpoints, _case1, _want1, _case2, _want2 in TERMINATING:
    _test = f"TestTerminatingEndpointsTrafficPolicy{_policy}/{_sub}"
    _svc = terminating_service(_policy)
    add(
        f"Terminating{_policy} {_sub}",
        Scenario((_svc, endpoint_slice("ns1", "svc1", [slice_port("", 80)], _endpoints))),
        _test,
        (_case1, POD, "172.30.1.1", "tcp/80", _want1),
        (_case2, CLIENT, "1.2.3.4", "tcp/80", _want2),
    )
    add(
        f"Terminating{_policy} {_sub} (deleted)",
        Scenario((_svc,)),
        _test,
        ("pod to clusterIP after endpoints deleted", POD, "172.30.1.1", "tcp/80", "rejected"),
        ("external to LB after endpoints deleted", CLIENT, "1.2.3.4", "tcp/80", "rejected"),
    )


# TestInternalExternalMasquerade: the same 27 flows under each proxier configuration, with the Go test's
# overrides. svc1: plain LoadBalancer; svc2: eTP:Local; svc3: iTP:Local; each a local and a remote endpoint.
def masquerade_services() -> tuple[Doc, ...]:
    docs: list[Doc] = []
    for number, lb_ip, extra in (
        (1, "1.2.3.4", {}),
        (2, "5.6.7.8", {"externalTrafficPolicy": "Local", "healthCheckNodePort": 30002}),
        (3, "9.10.11.12", {"internalTrafficPolicy": "Local"}),
    ):
        # (the Go test gives svc1 and svc3 healthCheckNodePorts too; the API server refuses them without eTP:Local)
        spec: Doc = {
            "type": "LoadBalancer",
            "clusterIP": f"172.30.0.4{number}",
            "ports": [port("p80", 80, nodePort=3000 + number)],
            **extra,
        }
        docs.append(service(f"ns{number}", f"svc{number}", spec, [lb_ip]))
        docs.append(
            endpoint_slice(
                f"ns{number}",
                f"svc{number}",
                [slice_port("p80", 80)],
                [endpoint(f"10.180.0.{number}", NODE_NAME), endpoint(f"10.180.1.{number}", "remote")],
            )
        )
    return tuple(docs)


def m(want: str) -> str:
    return masqueraded(want)


S1, S2, S3 = ("10.180.0.1:80; 10.180.1.1:80", "10.180.0.2:80; 10.180.1.2:80", "10.180.0.3:80; 10.180.1.3:80")
MASQUERADE_FLOWS: list[tuple[str, str, str, str, str]] = [
    ("pod to ClusterIP", POD, "172.30.0.41", "tcp/80", S1),
    ("pod to NodePort", POD, NODE_IP, "tcp/3001", m(S1)),
    ("pod to LB", POD, "1.2.3.4", "tcp/80", m(S1)),
    ("node to ClusterIP", NODE_IP, "172.30.0.41", "tcp/80", m(S1)),
    ("node to NodePort", NODE_IP, NODE_IP, "tcp/3001", m(S1)),
    ("node to LB", NODE_IP, "1.2.3.4", "tcp/80", m(S1)),
    ("external to ClusterIP", CLIENT, "172.30.0.41", "tcp/80", m(S1)),
    ("external to NodePort", CLIENT, NODE_IP, "tcp/3001", m(S1)),
    ("external to LB", CLIENT, "1.2.3.4", "tcp/80", m(S1)),
    ("pod to ClusterIP with eTP:Local", POD, "172.30.0.42", "tcp/80", S2),
    ("pod to NodePort with eTP:Local", POD, NODE_IP, "tcp/3002", S2),
    ("pod to LB with eTP:Local", POD, "5.6.7.8", "tcp/80", S2),
    ("node to ClusterIP with eTP:Local", NODE_IP, "172.30.0.42", "tcp/80", m(S2)),
    # (the Go case sends to 3001, svc1's NodePort, and expects svc1's endpoints)
    ("node to NodePort with eTP:Local", NODE_IP, NODE_IP, "tcp/3001", m(S1)),
    ("node to LB with eTP:Local", NODE_IP, "5.6.7.8", "tcp/80", m(S2)),
    ("external to ClusterIP with eTP:Local", CLIENT, "172.30.0.42", "tcp/80", m(S2)),
    ("external to NodePort with eTP:Local", CLIENT, NODE_IP, "tcp/3002", "10.180.0.2:80"),
    ("external to LB with eTP:Local", CLIENT, "5.6.7.8", "tcp/80", "10.180.0.2:80"),
    ("pod to ClusterIP with iTP:Local", POD, "172.30.0.43", "tcp/80", "10.180.0.3:80"),
    ("pod to NodePort with iTP:Local", POD, NODE_IP, "tcp/3003", m(S3)),
    ("pod to LB with iTP:Local", POD, "9.10.11.12", "tcp/80", m(S3)),
    ("node to ClusterIP with iTP:Local", NODE_IP, "172.30.0.43", "tcp/80", "10.180.0.3:80 masq"),
    ("node to NodePort with iTP:Local", NODE_IP, NODE_IP, "tcp/3003", m(S3)),
    ("node to LB with iTP:Local", NODE_IP, "9.10.11.12", "tcp/80", m(S3)),
    ("external to ClusterIP with iTP:Local", CLIENT, "172.30.0.43", "tcp/80", "10.180.0.3:80 masq"),
    ("external to NodePort with iTP:Local", CLIENT, NODE_IP, "tcp/3003", m(S3)),
    ("external to LB with iTP:Local", CLIENT, "9.10.11.12", "tcp/80", m(S3)),
]
NO_DETECTOR_OVERRIDES = {
    # no local detector: ClusterIP traffic is taken to be a pod's, never masqueraded
    "node to ClusterIP": S1,
    "node to ClusterIP with eTP:Local": S2,
    "node to ClusterIP with iTP:Local": "10.180.0.3:80",
    "external to ClusterIP": S1,
    "external to ClusterIP with eTP:Local": S2,
    "external to ClusterIP with iTP:Local": "10.180.0.3:80",
    # and no short-circuit for pods: eTP:Local gives them the local endpoint only
    "pod to NodePort with eTP:Local": "10.180.0.2:80",
    "pod to LB with eTP:Local": "10.180.0.2:80",
}
MASQUERADE_ALL_OVERRIDES = {
    "pod to ClusterIP": m(S1),
    "pod to ClusterIP with eTP:Local": m(S2),
    "pod to ClusterIP with iTP:Local": "10.180.0.3:80 masq",
}
BOTH_OVERRIDES = {
    **MASQUERADE_ALL_OVERRIDES,
    "pod to NodePort with eTP:Local": "10.180.0.2:80",
    "pod to LB with eTP:Local": "10.180.0.2:80",
}
for _sub, _mode, _all, _overrides in (
    ("base", "ClusterCIDR", False, {}),
    ("no LocalTrafficDetector", "None", False, NO_DETECTOR_OVERRIDES),
    ("masqueradeAll", "ClusterCIDR", True, MASQUERADE_ALL_OVERRIDES),
    ("masqueradeAll, no LocalTrafficDetector", "None", True, BOTH_OVERRIDES),
):
    assert set(_overrides) <= {f[0] for f in MASQUERADE_FLOWS}, _overrides
    add(
        f"InternalExternalMasquerade {_sub}",
        Scenario(masquerade_services(), detect_local_mode=_mode, masquerade_all=_all),
        f"TestInternalExternalMasquerade/{_sub}",
        *[(c, s, d, p, _overrides.get(c, w)) for c, s, d, p, w in MASQUERADE_FLOWS],
    )


# --- the interface detect-local modes (ours: no packet-flow test of proxier_test.go uses them) ---------------
# kube-proxy's NewDetectLocalByBridgeInterface / NewDetectLocalByInterfaceNamePrefix (pkg/proxy/util/
# localdetector.go) match `iifname "cbr0"` / `iifname "veth*"` where the CIDR detector matches the pod CIDR.
# With the pods' packets arriving on that interface, TestInternalExternalMasquerade's flows keep their base
# answers; the pods' address arriving on any other interface is an external client's, answered as kube-proxy
# answers `external to ...`. Rows `TestInternalExternalMasquerade [MODE]/case`; not among the 207.
INTERFACE_FLOWS: list[tuple[str, Flow]] = []
_EXTERNAL = {c.removeprefix("external to "): w for c, s, _d, _p, w in MASQUERADE_FLOWS if s == CLIENT}
for _mode, _key, _iif, _elsewhere in (
    ("BridgeInterface", "bridgeInterface", "cbr0", "eth0"),
    ("InterfaceNamePrefix", "interfaceNamePrefix", "veth0a1b", "vet0"),
):
    _name = _iif.removesuffix("0a1b")
    _config = {"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
               "detectLocalMode": _mode, "detectLocal": {_key: _name}}  # fmt: skip
    _rows = [*MASQUERADE_FLOWS]
    _rows += [
        (f"pod arriving on {_elsewhere} to {c.removeprefix('pod to ')}", s, d, p, _EXTERNAL[c.removeprefix("pod to ")])
        for c, s, d, p, _w in MASQUERADE_FLOWS
        if s == POD
    ]
    _first = len(INTERFACE_FLOWS)
    add(
        f"InternalExternalMasquerade {_mode}",
        Scenario((*masquerade_services(), _config), detect_local_mode=_mode),
        f"TestInternalExternalMasquerade [{_mode}]",
        *_rows,
        into=INTERFACE_FLOWS,
    )
    for _index in range(_first, len(INTERFACE_FLOWS)):
        _in, _flow = INTERFACE_FLOWS[_index]
        if _flow.src == POD:
            _arrives = _elsewhere if "/pod arriving on" in _flow.id else _iif
            INTERFACE_FLOWS[_index] = (_in, replace(_flow, iif=_arrives))


# --- rulesets the tests assert, traced ----------------------------------------------------------------------
# Tests without packet flows assert the exact ruleset (or a map's elements) kube-proxy writes. Their
# packets' fates are read off that asserted text, rule by rule, as helpers_test.go's tracer reads rules:
# these expectations are kube-proxy's rules, traced by hand here (the case names are ours), and are
# counted apart from the 207 packet-flow cases. Row ids: `GoTest [rules]/case`.


def overall_services() -> tuple[Doc, ...]:
    """TestOverallNFTablesRules' six Services and their EndpointSlices."""
    svc2 = {
        "type": "LoadBalancer",
        "externalTrafficPolicy": "Local",
        "clusterIP": "172.30.0.42",
        "ports": [port("p80", 80, nodePort=3001)],
        "externalIPs": ["192.168.99.22"],
        "healthCheckNodePort": 30000,
    }
    # svc4 is a NodePort Service whose port has no nodePort: kube-proxy writes no NodePort rule for it;
    # the API server (and the simulated cluster here) hands one out; no row sends to it.
    svc4 = {
        "type": "NodePort",
        "clusterIP": "172.30.0.44",
        "externalIPs": ["192.168.99.33"],
        "ports": [port("p80", 80, targetPort=80)],
    }
    svc5 = {  # (the Go Service also has healthCheckNodePort 30000: refused by the API server with eTP:Cluster)
        "type": "LoadBalancer",
        "externalTrafficPolicy": "Cluster",
        "clusterIP": "172.30.0.45",
        "ports": [port("p80", 80, nodePort=3002)],
        "loadBalancerSourceRanges": [" 203.0.113.0/25"],
        "sessionAffinity": "ClientIP",
        "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
    }
    p80 = [slice_port("p80", 80)]
    return (
        service("ns1", "svc1", {"clusterIP": "172.30.0.41", "ports": [port("p80", 80)]}),
        service("ns2", "svc2", svc2, ["1.2.3.4"]),
        service(
            "ns3", "svc3", {"type": "NodePort", "clusterIP": "172.30.0.43", "ports": [port("p80", 80, nodePort=3003)]}
        ),
        service("ns4", "svc4", svc4),
        service("ns5", "svc5", svc5, ["5.6.7.8"]),
        service(
            "ns6", "svc6", {"type": "ClusterIP", "clusterIP": "172.30.0.46", "ports": [port("p80", 80, targetPort=80)]}
        ),
        endpoint_slice("ns1", "svc1", p80, [endpoint("10.180.0.1")]),
        endpoint_slice("ns2", "svc2", p80, [endpoint("10.180.0.2")]),  # no nodeName: not local
        endpoint_slice("ns3", "svc3", p80, [endpoint("10.180.0.3")]),
        endpoint_slice("ns4", "svc4", p80, [endpoint("10.180.0.4"), endpoint("10.180.0.5", NODE_NAME)]),
        endpoint_slice("ns5", "svc5", p80, [endpoint("10.180.0.3")]),
    )


add(
    "OverallNFTablesRules",
    Scenario(overall_services()),
    "TestOverallNFTablesRules [rules]",
    ("svc1: pod to ClusterIP", POD, "172.30.0.41", "tcp/80", "10.180.0.1:80"),
    ("svc1: external to ClusterIP", CLIENT, "172.30.0.41", "tcp/80", "10.180.0.1:80 masq"),
    ("svc1: hairpin", "10.180.0.1", "172.30.0.41", "tcp/80", "10.180.0.1:80 masq"),
    ("svc1: another port of the ClusterIP", POD, "172.30.0.41", "tcp/81", "rejected"),
    ("svc2: pod to ClusterIP", POD, "172.30.0.42", "tcp/80", "10.180.0.2:80"),
    ("svc2: pod to LB IP, short-circuited", POD, "1.2.3.4", "tcp/80", "10.180.0.2:80"),
    ("svc2: pod to external IP, short-circuited", POD, "192.168.99.22", "tcp/80", "10.180.0.2:80"),
    ("svc2: pod to NodePort, short-circuited", POD, NODE_IP, "tcp/3001", "10.180.0.2:80"),
    ("svc2: node to LB IP, masqueraded", NODE_IP, "1.2.3.4", "tcp/80", "10.180.0.2:80 masq"),
    ("svc2: node to NodePort, masqueraded", NODE_IP, NODE_IP, "tcp/3001", "10.180.0.2:80 masq"),
    ("svc2: external to LB IP, no local endpoint", CLIENT, "1.2.3.4", "tcp/80", "dropped"),
    ("svc2: external to external IP, no local endpoint", CLIENT, "192.168.99.22", "tcp/80", "dropped"),
    ("svc2: external to NodePort, no local endpoint", CLIENT, NODE_IP, "tcp/3001", "dropped"),
    ("svc3: external to NodePort", CLIENT, NODE_IP, "tcp/3003", "10.180.0.3:80 masq"),
    ("svc3: pod to NodePort", POD, NODE_IP, "tcp/3003", "10.180.0.3:80 masq"),
    ("svc3: NodePort not on the secondary node IP", CLIENT, NODE_IP_ALT, "tcp/3003", "192.168.1.2:3003"),
    ("svc4: pod to ClusterIP", POD, "172.30.0.44", "tcp/80", "10.180.0.4:80; 10.180.0.5:80"),
    ("svc4: external to external IP", CLIENT, "192.168.99.33", "tcp/80", "10.180.0.4:80 masq; 10.180.0.5:80 masq"),
    ("svc4: pod to external IP", POD, "192.168.99.33", "tcp/80", "10.180.0.4:80 masq; 10.180.0.5:80 masq"),
    ("svc5: allowed external to LB IP", CLIENT, "5.6.7.8", "tcp/80", "10.180.0.3:80 masq"),
    ("svc5: blocked external to LB IP", CLIENT_BLOCKED, "5.6.7.8", "tcp/80", "dropped"),
    ("svc5: pod to LB IP, outside the source ranges", POD, "5.6.7.8", "tcp/80", "dropped"),
    ("svc5: node to LB IP, outside the source ranges", NODE_IP, "5.6.7.8", "tcp/80", "dropped"),
    ("svc5: blocked external to NodePort", CLIENT_BLOCKED, NODE_IP, "tcp/3002", "10.180.0.3:80 masq"),
    ("svc5: pod to ClusterIP", POD, "172.30.0.45", "tcp/80", "10.180.0.3:80"),
    ("svc6: pod to ClusterIP, no endpoints", POD, "172.30.0.46", "tcp/80", "rejected"),
    ("unallocated ClusterIP", POD, "172.30.0.99", "tcp/80", "dropped"),
    ("an address outside the Service range", POD, "172.31.0.1", "tcp/80", "172.31.0.1:80"),
    into=TRACED,
)

# TestBadIPs: addresses and ranges with leading zeros, read as the legacy parsers read them (decimal).
add(
    "BadIPs",
    Scenario(
        (
            service(
                "ns1",
                "svc1",
                {
                    "type": "LoadBalancer",
                    "clusterIP": "172.30.0.041",
                    "ports": [port("p80", 80, nodePort=3001)],
                    "externalIPs": ["192.168.099.022"],
                    "loadBalancerSourceRanges": ["203.0.113.000/025"],
                },
                ["1.2.3.004"],
            ),
            endpoint_slice("ns1", "svc1", [slice_port("p80", 80)], [endpoint("10.180.00.001")]),
        )
    ),
    "TestBadIPs [rules]",
    ("pod to ClusterIP 172.30.0.41", POD, "172.30.0.41", "tcp/80", "10.180.0.1:80"),
    ("external to external IP 192.168.99.22", CLIENT, "192.168.99.22", "tcp/80", "10.180.0.1:80 masq"),
    ("allowed external to LB IP 1.2.3.4", CLIENT, "1.2.3.4", "tcp/80", "10.180.0.1:80 masq"),
    ("blocked external to LB IP 1.2.3.4", CLIENT_BLOCKED, "1.2.3.4", "tcp/80", "dropped"),
    ("external to NodePort", CLIENT, NODE_IP, "tcp/3001", "10.180.0.1:80 masq"),
    into=TRACED,
)

# TestLoadBalancerIngressRouteTypeProxy: an ingress IP with ipMode Proxy is no service-ips element.
IPMODE_CASES: list[tuple[str, str, str, str | None, str]] = [
    ("ipMode Proxy", "10.20.30.41", "1.2.3.4", "Proxy", "1.2.3.4:80"),
    ("ipMode VIP", "10.20.30.42", "1.2.3.5", "VIP", "10.180.0.1:80 masq"),
    ("ipMode nil", "10.20.30.43", "1.2.3.6", None, "10.180.0.1:80 masq"),
]
for _ipmode_case, _ipmode_cluster_ip, _ipmode_lb_ip, _ipmode, _ipmode_want in IPMODE_CASES:
    _ipmode_svc = service(
        "ns1",
        "svc1",
        {"type": "LoadBalancer", "clusterIP": _ipmode_cluster_ip, "ports": [port("p80", 80, nodePort=3001)]},
    )
    _ipmode_svc["status"] = {
        "loadBalancer": {"ingress": [{"ip": _ipmode_lb_ip, **({"ipMode": _ipmode} if _ipmode else {})}]}
    }
    add(
        f"LoadBalancerIngressRouteTypeProxy {_ipmode_case}",
        Scenario((_ipmode_svc, endpoint_slice("ns1", "svc1", [slice_port("p80", 80)], [endpoint("10.180.0.1")]))),
        f"TestLoadBalancerIngressRouteTypeProxy [rules]/{_ipmode_case}",
        ("external to the LB IP", CLIENT, _ipmode_lb_ip, "tcp/80", _ipmode_want),
        into=TRACED,
    )


# TestSyncProxyRulesRepeated / TestSyncProxyRulesStartup: ClusterIP Services changed between syncs; each
# state the test asserts is a snapshot here (a deleted Service's address is an unallocated one: dropped).
# (namespace/name, clusterIP, port, endpoints; None = no EndpointSlice, [] = an empty one)
SyncState = list[tuple[str, str, int, list[str] | None]]
SVC1 = ("ns1/svc1", "172.30.0.41", 80, ["10.0.1.1"])
SVC2 = ("ns2/svc2", "172.30.0.42", 8080, ["10.0.2.1"])
SVC4 = ("ns4/svc4", "172.30.0.44", 80, ["10.0.4.1"])
SYNC_STATES: list[tuple[str, str, SyncState, tuple[str, ...]]] = [
    ("TestSyncProxyRulesRepeated", "initial", [SVC1, SVC2], ()),
    ("TestSyncProxyRulesRepeated", "svc3 added", [SVC1, SVC2, ("ns3/svc3", "172.30.0.43", 80, ["10.0.3.1"])], ()),
    (
        "TestSyncProxyRulesRepeated",
        "svc2 deleted",
        [SVC1, ("ns3/svc3", "172.30.0.43", 80, ["10.0.3.1"])],
        ("172.30.0.42:8080",),
    ),
    (
        "TestSyncProxyRulesRepeated",
        "svc4 added without endpoints",
        [SVC1, ("ns3/svc3", "172.30.0.43", 80, ["10.0.3.1"]), ("ns4/svc4", "172.30.0.44", 80, None)],
        ("172.30.0.42:8080",),
    ),
    (
        "TestSyncProxyRulesRepeated",
        "svc4's endpoints added",
        [SVC1, ("ns3/svc3", "172.30.0.43", 80, ["10.0.3.1"]), SVC4],
        ("172.30.0.42:8080",),
    ),
    (
        "TestSyncProxyRulesRepeated",
        "svc3's endpoint changed",
        [SVC1, ("ns3/svc3", "172.30.0.43", 80, ["10.0.3.2"]), SVC4],
        ("172.30.0.42:8080",),
    ),
    (
        "TestSyncProxyRulesRepeated",
        "an endpoint added to svc3",
        [SVC1, ("ns3/svc3", "172.30.0.43", 80, ["10.0.3.2", "10.0.3.3"]), SVC4],
        ("172.30.0.42:8080",),
    ),
    (
        "TestSyncProxyRulesRepeated",
        "svc3's endpoints emptied",
        [SVC1, ("ns3/svc3", "172.30.0.43", 80, []), SVC4],
        ("172.30.0.42:8080",),
    ),
    (
        "TestSyncProxyRulesStartup",
        "after the first sync",
        [
            ("ns1/svc1", "172.30.0.41", 80, ["10.0.1.1", "10.0.1.2"]),
            SVC2,
            ("ns3/svc3", "172.30.0.43", 80, None),
        ],
        (),
    ),
]
for _sync_test, _state, _services, _gone in SYNC_STATES:
    _docs: list[Doc] = []
    _sync_rows: list[tuple[str, str, str, str, str]] = []
    for _ref, _ip, _number, _eps in _services:
        _ns, _, _name = _ref.partition("/")
        _docs.append(
            service(_ns, _name, {"type": "ClusterIP", "clusterIP": _ip, "ports": [port(f"p{_number}", _number)]})
        )
        if _eps is not None:
            _docs.append(endpoint_slice(_ns, _name, [slice_port(f"p{_number}", _number)], [endpoint(e) for e in _eps]))
        _answer = "; ".join(f"{e}:{_number}" for e in _eps or ()) or "rejected"
        _sync_rows.append((f"pod to {_name}", POD, _ip, f"tcp/{_number}", _answer))
    for _gone_address in _gone:
        _gone_ip, _, _gone_port = _gone_address.partition(":")
        _sync_rows.append((f"pod to deleted {_gone_address}", POD, _gone_ip, f"tcp/{_gone_port}", "dropped"))
    add(f"{_sync_test} {_state}", Scenario(tuple(_docs)), f"{_sync_test} [rules]/{_state}", *_sync_rows, into=TRACED)


# --- known differences: (row id, reason) -------------------------------------------------------------------

DIFFERENCES: dict[str, str] = {}


# --- the check ----------------------------------------------------------------------------------------------


def expected(want: str) -> dict[Result, Fraction]:
    entries = [entry.split() for entry in want.split(";")]
    out: dict[Result, Fraction] = {}
    for words in entries:
        what, flags = words[0], words[1:]
        if what in ("dropped", "rejected"):
            result = Result(Verdict(what))
        else:
            host, _, number = what.rpartition(":")
            result = Result(Verdict.DELIVERED, ip_address(host.strip("[]")), int(number), masquerade="masq" in flags)
        out[result] = out.get(result, Fraction(0)) + Fraction(1, len(entries))
    return out


@dataclass(frozen=True)
class Built:
    cluster: Cluster
    ruleset: Ruleset
    nodeport_addresses: tuple[IPNetwork, ...]


@cache
def built(name: str, directory: Path) -> Built:
    scenario = SCENARIOS[name]
    path = directory / name.replace("/", "_").replace(" ", "_").replace(",", "")
    path.mkdir(parents=True, exist_ok=True)
    documents = (node(), service_cidr(), *scenario.documents)
    (path / "input.yaml").write_text("\n---\n".join(json.dumps(d) for d in documents))
    objects = complete(load([str(path)], opts=ParseOptions(node_port_range=NODE_PORT_RANGE)))
    nodeports = tuple(ip_network(a) for a in scenario.nodeport_addresses)
    cluster = Cluster(objects, NODE_NAME, POD_CIDRS, scenario.detect_local_mode, scenario.masquerade_all)
    options = CompileOptions(
        node=NODE_NAME,
        cluster_cidrs=POD_CIDRS,
        nodeport_addresses=nodeports,
        detect_local_mode=scenario.detect_local_mode,
        masquerade_all=scenario.masquerade_all,
    )
    return Built(cluster, Ruleset.parse(compile_cluster(cluster, options).text), nodeports)


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kube-proxy-flows")


def params() -> list[Any]:
    out = []
    for scenario, flow in FLOWS + TRACED:
        marks = [pytest.mark.xfail(strict=True, reason=DIFFERENCES[flow.id])] if flow.id in DIFFERENCES else []
        out.append(pytest.param(scenario, flow, id=flow.id, marks=marks))
    return out


def describe(outcome: Outcome) -> str:
    return "; ".join(outcome.describe())


@pytest.mark.parametrize(("scenario", "flow"), params())
def test_kube_proxy_packet_flow(directory: Path, scenario: str, flow: Flow) -> None:
    setup = built(scenario, directory)
    probe = flow.packet()
    want = expected(flow.want)
    reference = evaluate(setup.cluster, probe, setup.nodeport_addresses)
    interpreter = setup.ruleset.evaluate(probe, setup.cluster.node_addresses)
    problems = []
    if reference.distribution != want:
        problems.append(f"reference: {describe(reference)}; {' / '.join(reference.reasons)}")
    if interpreter.distribution != want:
        problems.append(f"interpreter: {describe(interpreter)}")
    assert not problems, f"{probe}: kube-proxy: {flow.want}\n" + "\n".join(problems)


@pytest.mark.parametrize(("scenario", "flow"), [pytest.param(s, f, id=f.id) for s, f in INTERFACE_FLOWS])
def test_interface_detect_local_flow(directory: Path, scenario: str, flow: Flow) -> None:
    """The interface modes' rows, asked of both evaluators like kube-proxy's own."""
    setup = built(scenario, directory)
    reference = evaluate(setup.cluster, flow.packet(), setup.nodeport_addresses)
    assert reference.distribution == expected(flow.want), f"reference: {describe(reference)}"
    test_kube_proxy_packet_flow(directory, scenario, flow)


def test_the_interface_rows() -> None:
    """Each interface mode: the 27 flows, and the pod's 9 from another interface; pods' rows say where
    they arrive, no other row does."""
    assert len(INTERFACE_FLOWS) == 2 * (27 + 9)
    for _, flow in INTERFACE_FLOWS:
        assert bool(flow.iif) == (flow.src == POD), flow


def test_every_case_is_a_row() -> None:
    """The 207 packet-flow assertions of proxier_test.go: each is one row, each id once; the traced rows
    as many as docs/semantics.md says; the known differences name rows that exist."""
    ids = [flow.id for _, flow in FLOWS]
    assert len(ids) == 207
    assert len(set(ids)) == len(ids)
    traced = [flow.id for _, flow in TRACED]
    assert len(traced) == 67 and len(set(traced)) == 67  # docs/semantics.md §6 says so
    assert set(DIFFERENCES) <= set(ids) | set(traced)
