"""The reference evaluator against docs/semantics.md, one table row per packet.

Each row is (source, destination, "protocol/port", origin, expected). Expected outcomes are written
compactly: `rejected`, `dropped`, `ADDR:PORT` (delivered there), `ADDR:PORT masq` (and masqueraded),
several separated by `;` (equal shares unless a share such as `1/3` leads the entry).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest

from netcompile.compile.compiler import CompileOptions, compile_cluster
from netcompile.compile.index import Cluster
from netcompile.load.manifests import load
from netcompile.model import IPNetwork, Protocol
from netcompile.pipeline import complete
from netcompile.verify.interpreter import Ruleset
from netcompile.verify.packet import Origin, Outcome, Packet, Result, Verdict
from netcompile.verify.reference import evaluate, reference_for

WriteYaml = Callable[[str, str], Path]
Row = tuple[str, str, str, str, str]

# --- helpers ----------------------------------------------------------------------------------------------


def make_cluster(write_yaml: WriteYaml, *texts: str, node: str | None = "node-a", cidrs: str = "") -> Cluster:
    directory = write_yaml("\n---\n".join(texts), "input.yaml")
    objects = complete(load([str(directory)]))
    return Cluster(objects, node, tuple(ip_network(c) for c in cidrs.split()))


def packet(src: str, dst: str, port: str, origin: str = "net", state: str = "new") -> Packet:
    protocol, _, number = port.partition("/")
    return Packet(
        ip_address(src),
        ip_address(dst),
        Protocol(protocol.upper()),
        int(number),
        origin=Origin.NODE if origin == "node" else Origin.NETWORK,
        ct_state=state,
    )


def expected(spec: str) -> dict[Result, Fraction]:
    entries = [e.split() for e in spec.split(";")]
    out: dict[Result, Fraction] = {}
    for words in entries:
        share = Fraction(1, len(entries))
        if "/" in words[0] and ":" not in words[0]:
            share = Fraction(words.pop(0))
        what, flags = words[0], words[1:]
        if what in ("dropped", "rejected"):
            result = Result(Verdict(what))
        else:
            host, _, port = what.rpartition(":")
            result = Result(Verdict.DELIVERED, ip_address(host.strip("[]")), int(port), masquerade="masq" in flags)
        out[result] = out.get(result, Fraction(0)) + share
    assert sum(out.values()) == 1, spec
    return out


def check(cluster: Cluster, row: Row, nodeport_addresses: tuple[IPNetwork, ...] = ()) -> Outcome:
    src, dst, port, origin, want = row
    outcome = evaluate(cluster, packet(src, dst, port, origin), nodeport_addresses)
    assert outcome.total == 1
    assert outcome.distribution == expected(want), "\n".join(
        [f"{src} -> {dst} {port} ({origin}): want {want}", *outcome.describe(), *outcome.reasons]
    )
    return outcome


NODES = """
apiVersion: v1
kind: Node
metadata: {name: node-a, labels: {topology.kubernetes.io/zone: z1}}
spec: {podCIDRs: [10.244.1.0/24, "fd00:1::/64"]}
status:
  addresses:
  - {type: InternalIP, address: 192.168.1.10}
  - {type: ExternalIP, address: 203.0.113.10}
  - {type: InternalIP, address: "2001:db8::10"}
  - {type: Hostname, address: node-a}
---
apiVersion: v1
kind: Node
metadata: {name: node-b, labels: {topology.kubernetes.io/zone: z2}}
spec: {podCIDRs: [10.244.2.0/24, "fd00:2::/64"]}
status:
  addresses:
  - {type: InternalIP, address: 192.168.1.11}
  - {type: InternalIP, address: "2001:db8::11"}
"""


def service(name: str, spec: str, status: str = "") -> str:
    text = f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\nspec: {spec}\n"
    return text + (f"status: {status}\n" if status else "")


def endpoints(service_name: str, port: str, *eps: str, family: str = "IPv4", slice_name: str = "") -> str:
    """An EndpointSlice; each endpoint `ADDR@node [unready|terminating|dead] [hint=z1,z2]`."""
    lines = [
        "apiVersion: discovery.k8s.io/v1",
        "kind: EndpointSlice",
        f"metadata: {{name: {slice_name or service_name}, labels: {{kubernetes.io/service-name: {service_name}}}}}",
        f"addressType: {family}",
        f"ports: [{port}]",
        "endpoints:",
    ]
    for ep in eps:
        address, _, rest = ep.partition("@")
        words = rest.split()
        node = words.pop(0)
        conditions = {
            "unready": "{ready: false, serving: false}",
            "terminating": "{ready: false, serving: true, terminating: true}",
            "dead": "{ready: false, serving: false, terminating: true}",
        }
        cond = next((conditions[w] for w in words if w in conditions), "{ready: true}")
        hints = next((w.split("=")[1] for w in words if w.startswith("hint=")), None)
        entry = f'- addresses: ["{address}"]\n  nodeName: {node}\n  conditions: {cond}'
        if hints is not None:
            zones = ", ".join(f"{{name: {z}}}" for z in hints.split(",") if z)
            entry += f"\n  hints: {{forZones: [{zones}]}}"
        lines.append(entry)
    return "\n".join(lines)


HTTP = "{name: http, port: 8080}"

# --- §2: Services -----------------------------------------------------------------------------------------

SERVICES = [
    NODES,
    service("web", "{clusterIP: 10.96.0.10, ports: [{name: http, port: 80, targetPort: 8080}]}"),
    endpoints("web", HTTP, "10.244.1.5@node-a", "10.244.2.5@node-b"),
    service(
        "np",
        "{type: NodePort, clusterIP: 10.96.0.11, ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30080}]}",
    ),
    endpoints("np", HTTP, "10.244.1.6@node-a", "10.244.2.6@node-b"),
    service(
        "np-local",
        "{type: NodePort, clusterIP: 10.96.0.12, externalTrafficPolicy: Local,"
        " ports: [{name: http, port: 80, nodePort: 30081}]}",
    ),
    endpoints("np-local", HTTP, "10.244.1.7@node-a", "10.244.2.7@node-b"),
    service(
        "np-local-none",
        "{type: NodePort, clusterIP: 10.96.0.13, externalTrafficPolicy: Local,"
        " ports: [{name: http, port: 80, nodePort: 30082}]}",
    ),
    endpoints("np-local-none", HTTP, "10.244.2.8@node-b"),
    service(
        "np-both-local",
        "{type: NodePort, clusterIP: 10.96.0.23, externalTrafficPolicy: Local, internalTrafficPolicy: Local,"
        " ports: [{name: http, port: 80, nodePort: 30083}]}",
    ),
    endpoints("np-both-local", HTTP, "10.244.2.23@node-b"),
    service("itp", "{clusterIP: 10.96.0.14, internalTrafficPolicy: Local, ports: [{name: http, port: 80}]}"),
    endpoints("itp", HTTP, "10.244.1.9@node-a", "10.244.2.9@node-b"),
    service("itp-none", "{clusterIP: 10.96.0.15, internalTrafficPolicy: Local, ports: [{name: http, port: 80}]}"),
    endpoints("itp-none", HTTP, "10.244.2.10@node-b"),
    service("empty", "{clusterIP: 10.96.0.16, ports: [{port: 80}]}"),
    service(
        "lb",
        "{type: LoadBalancer, clusterIP: 10.96.0.17, externalIPs: [198.51.100.50],"
        " loadBalancerSourceRanges: [192.0.2.0/24],"
        " ports: [{name: https, port: 443, targetPort: 8443, nodePort: 30443}]}",
        "{loadBalancer: {ingress: [{ip: 198.51.100.1}, {ip: 198.51.100.2, ipMode: Proxy}]}}",
    ),
    endpoints("lb", "{name: https, port: 8443}", "10.244.1.10@node-a"),
    service(
        "ext",
        "{clusterIP: 10.96.0.18, externalIPs: [198.51.100.60], externalTrafficPolicy: Local,"
        " ports: [{name: http, port: 80}]}",
    ),
    endpoints("ext", HTTP, "10.244.1.11@node-a", "10.244.2.11@node-b"),
    service("term", "{clusterIP: 10.96.0.19, ports: [{name: http, port: 80}]}"),
    endpoints("term", HTTP, "10.244.1.12@node-a terminating", "10.244.2.12@node-b dead"),
    service("term-mixed", "{clusterIP: 10.96.0.20, ports: [{name: http, port: 80}]}"),
    endpoints("term-mixed", HTTP, "10.244.1.13@node-a terminating", "10.244.2.13@node-b", "10.244.2.14@node-b unready"),
    service("dead", "{clusterIP: 10.96.0.21, ports: [{name: http, port: 80}]}"),
    endpoints("dead", HTTP, "10.244.1.15@node-a dead", "10.244.2.15@node-b unready"),
    service(
        "term-local",
        "{type: NodePort, clusterIP: 10.96.0.22, externalTrafficPolicy: Local,"
        " ports: [{name: http, port: 80, nodePort: 30084}]}",
    ),
    endpoints("term-local", HTTP, "10.244.1.16@node-a terminating", "10.244.2.16@node-b"),
    service("v4only", "{type: NodePort, clusterIP: 10.96.0.24, ports: [{name: http, port: 80, nodePort: 30085}]}"),
    endpoints("v4only", HTTP, "10.244.1.17@node-a"),
    service("named", "{clusterIP: 10.96.0.25, ports: [{name: dns, port: 53, protocol: UDP}, {name: http, port: 80}]}"),
    endpoints("named", "{name: dns, port: 5353, protocol: UDP}", "10.244.1.18@node-a"),
    endpoints("named", HTTP, "10.244.1.18@node-a", slice_name="named-http"),
    # Services that get no DNAT
    "apiVersion: v1\nkind: Service\nmetadata: {name: extname}\nspec: {type: ExternalName, externalName: a.example}",
    service("headless", "{clusterIP: None, ports: [{name: http, port: 80}]}"),
    endpoints("headless", HTTP, "10.244.1.30@node-a"),
    service("unallocated", "{type: NodePort, ports: [{name: http, port: 80, nodePort: 30099}]}"),
    endpoints("unallocated", HTTP, "10.244.1.31@node-a"),
]

POD = "10.244.1.20"  # a pod on this node
POD_B = "10.244.2.20"  # a pod on the other node (still source class pod)
NODE = "192.168.1.10"  # this node
OTHER_NODE = "192.168.1.11"  # another node's own address: source class external
OUT = "192.0.2.1"  # a client outside the cluster, inside the LoadBalancer's source ranges
FAR = "192.0.3.1"  # a client outside the cluster and outside the source ranges

SERVICE_ROWS: list[Row] = [
    # §2.3 ClusterIP: pods keep their source, node and external sources are masqueraded
    (POD, "10.96.0.10", "tcp/80", "net", "10.244.1.5:8080; 10.244.2.5:8080"),
    (POD_B, "10.96.0.10", "tcp/80", "net", "10.244.1.5:8080; 10.244.2.5:8080"),
    (NODE, "10.96.0.10", "tcp/80", "node", "10.244.1.5:8080 masq; 10.244.2.5:8080 masq"),
    (OUT, "10.96.0.10", "tcp/80", "net", "10.244.1.5:8080 masq; 10.244.2.5:8080 masq"),
    (OTHER_NODE, "10.96.0.10", "tcp/80", "net", "10.244.1.5:8080 masq; 10.244.2.5:8080 masq"),
    # hairpin: the endpoint reaching itself through its Service is masqueraded
    ("10.244.1.5", "10.96.0.10", "tcp/80", "net", "10.244.1.5:8080 masq; 10.244.2.5:8080"),
    # NodePort, externalTrafficPolicy Cluster: cluster endpoints, always masqueraded, on every local address
    (OUT, NODE, "tcp/30080", "net", "10.244.1.6:8080 masq; 10.244.2.6:8080 masq"),
    (OUT, "203.0.113.10", "tcp/30080", "net", "10.244.1.6:8080 masq; 10.244.2.6:8080 masq"),
    (POD, NODE, "tcp/30080", "net", "10.244.1.6:8080 masq; 10.244.2.6:8080 masq"),
    (NODE, NODE, "tcp/30080", "node", "10.244.1.6:8080 masq; 10.244.2.6:8080 masq"),
    (OUT, OTHER_NODE, "tcp/30080", "net", "192.168.1.11:30080"),  # another node's NodePort: not ours
    (OUT, NODE, "udp/30080", "net", "192.168.1.10:30080"),  # wrong protocol on a node address: untouched
    (OUT, NODE, "tcp/22", "net", "192.168.1.10:22"),
    # NodePort, externalTrafficPolicy Local
    (OUT, NODE, "tcp/30081", "net", "10.244.1.7:8080"),  # external: local endpoints, source kept
    (POD, NODE, "tcp/30081", "net", "10.244.1.7:8080; 10.244.2.7:8080"),  # pod: internal list, source kept
    (NODE, NODE, "tcp/30081", "node", "10.244.1.7:8080 masq; 10.244.2.7:8080 masq"),  # node: internal list, masq
    (OUT, "10.96.0.12", "tcp/80", "net", "10.244.1.7:8080 masq; 10.244.2.7:8080 masq"),  # its ClusterIP: the usual
    (OUT, NODE, "tcp/30082", "net", "dropped"),  # no local endpoint, but usable ones elsewhere
    (POD, NODE, "tcp/30082", "net", "10.244.2.8:8080"),
    (NODE, NODE, "tcp/30082", "node", "10.244.2.8:8080 masq"),
    (POD, NODE, "tcp/30083", "net", "dropped"),  # ETP and ITP Local: the internal list is the local one
    (NODE, NODE, "tcp/30083", "node", "dropped"),
    (POD, "10.96.0.23", "tcp/80", "net", "dropped"),
    # internalTrafficPolicy Local
    (POD, "10.96.0.14", "tcp/80", "net", "10.244.1.9:8080"),
    (NODE, "10.96.0.14", "tcp/80", "node", "10.244.1.9:8080 masq"),
    (POD, "10.96.0.15", "tcp/80", "net", "dropped"),
    # §2.4 no usable endpoints, wrong ports
    (POD, "10.96.0.16", "tcp/80", "net", "rejected"),
    (NODE, "10.96.0.16", "tcp/80", "node", "rejected"),
    (POD, "10.96.0.10", "tcp/81", "net", "rejected"),
    (POD, "10.96.0.10", "udp/80", "net", "rejected"),
    (POD, "10.96.0.10", "sctp/80", "net", "rejected"),
    (OUT, "10.96.0.10", "tcp/81", "net", "rejected"),
    # an address of the Service range no Service holds: dropped, as kube-proxy (§2.4); the range is known
    # here because the simulated cluster handed out a ClusterIP from it (the Service without one, below)
    (POD, "10.96.0.99", "tcp/80", "net", "dropped"),
    (POD, "10.95.0.99", "tcp/80", "net", "10.95.0.99:80"),  # outside it, and no frontend: untouched
    # LoadBalancer: ingress IPs (not ipMode Proxy), source ranges only on them
    (OUT, "198.51.100.1", "tcp/443", "net", "10.244.1.10:8443 masq"),
    (FAR, "198.51.100.1", "tcp/443", "net", "dropped"),
    (POD, "198.51.100.1", "tcp/443", "net", "dropped"),
    (NODE, "198.51.100.1", "tcp/443", "node", "dropped"),
    (OUT, "198.51.100.1", "tcp/444", "net", "198.51.100.1:444"),  # another port: not a frontend
    (FAR, "198.51.100.2", "tcp/443", "net", "198.51.100.2:443"),  # ipMode Proxy: not programmed
    (FAR, NODE, "tcp/30443", "net", "10.244.1.10:8443 masq"),  # NodePorts are not filtered
    (FAR, "198.51.100.50", "tcp/443", "net", "10.244.1.10:8443 masq"),  # nor externalIPs
    (FAR, "10.96.0.17", "tcp/443", "net", "10.244.1.10:8443 masq"),  # nor the ClusterIP
    # externalIPs with externalTrafficPolicy Local
    (OUT, "198.51.100.60", "tcp/80", "net", "10.244.1.11:8080"),
    (POD, "198.51.100.60", "tcp/80", "net", "10.244.1.11:8080; 10.244.2.11:8080"),
    (NODE, "198.51.100.60", "tcp/80", "node", "10.244.1.11:8080 masq; 10.244.2.11:8080 masq"),
    (OUT, "198.51.100.60", "tcp/81", "net", "198.51.100.60:81"),  # external addresses on other ports: untouched
    # §2.2 terminating endpoints: used only when no endpoint is ready; never non-serving ones
    (POD, "10.96.0.19", "tcp/80", "net", "10.244.1.12:8080"),
    (POD, "10.96.0.20", "tcp/80", "net", "10.244.2.13:8080"),
    (POD, "10.96.0.21", "tcp/80", "net", "rejected"),
    (OUT, NODE, "tcp/30084", "net", "10.244.1.16:8080"),  # the local list falls back on its own
    (POD, NODE, "tcp/30084", "net", "10.244.2.16:8080"),
    # families never mix: no IPv6 endpoints behind an IPv6 NodePort of an IPv4 Service
    (OUT, NODE, "tcp/30085", "net", "10.244.1.17:8080 masq"),
    ("2001:db8:ff::1", "2001:db8::10", "tcp/30085", "net", "rejected"),
    # per port and protocol
    (POD, "10.96.0.25", "udp/53", "net", "10.244.1.18:5353"),
    (POD, "10.96.0.25", "tcp/53", "net", "rejected"),
    (POD, "10.96.0.25", "tcp/80", "net", "10.244.1.18:8080"),
    # ExternalName and headless Services: no DNAT anywhere
    (POD, "10.244.1.30", "tcp/8080", "net", "10.244.1.30:8080"),
    # a Service without clusterIP gets one (issue 15: the simulated cluster allocates it), and its NodePort works
    (OUT, NODE, "tcp/30099", "net", "10.244.1.31:8080 masq"),
]


@pytest.mark.parametrize("row", SERVICE_ROWS, ids=lambda r: f"{r[0]}->{r[1]}:{r[2]}:{r[3]}")
def test_services(write_yaml: WriteYaml, row: Row) -> None:
    check(make_cluster(write_yaml, *SERVICES), row)


def test_service_reasons(write_yaml: WriteYaml) -> None:
    cluster = make_cluster(write_yaml, *SERVICES)
    out = check(cluster, (POD, "10.96.0.10", "tcp/80", "net", "10.244.1.5:8080; 10.244.2.5:8080"))
    assert out.reasons[0] == 'Service "default/web" port http (TCP 80) -> 2 endpoints'
    out = check(cluster, ("10.244.1.5", "10.96.0.10", "tcp/80", "net", "10.244.1.5:8080 masq; 10.244.2.5:8080"))
    assert any(r.startswith("hairpin: endpoint 10.244.1.5") for r in out.reasons)
    out = check(cluster, (POD, "10.96.0.16", "tcp/80", "net", "rejected"))
    assert out.reasons == [
        'Service "default/empty" port 80 (TCP 80) via ClusterIP 10.96.0.16:80 has no usable IPv4 endpoints: rejected'
    ]
    out = check(cluster, (POD, "10.96.0.10", "udp/80", "net", "rejected"))
    assert "has no port UDP 80" in out.reasons[0]
    out = check(cluster, (FAR, "198.51.100.1", "tcp/443", "net", "dropped"))
    assert "outside loadBalancerSourceRanges (192.0.2.0/24)" in out.reasons[0]
    out = check(cluster, (OUT, NODE, "tcp/30082", "net", "dropped"))
    assert "local endpoints (externalTrafficPolicy Local)" in out.reasons[0]
    out = check(cluster, (POD, "10.96.0.19", "tcp/80", "net", "10.244.1.12:8080"))
    assert "no ready endpoints: using 1 serving and terminating endpoint" in out.reasons


def test_established_packets_are_delivered_unchanged(write_yaml: WriteYaml) -> None:
    cluster = make_cluster(write_yaml, *SERVICES)
    for dst, port in (("10.96.0.10", "tcp/80"), ("10.96.0.16", "tcp/80"), ("198.51.100.1", "tcp/443")):
        out = evaluate(cluster, packet(FAR, dst, port, state="established"))
        assert out.distribution == {Result(Verdict.DELIVERED, ip_address(dst), int(port[4:])): 1}
    with pytest.raises(ValueError, match="ct_state"):
        evaluate(cluster, packet(POD, "10.96.0.10", "tcp/80", state="invalid"))


def test_nodeport_addresses_restrict_node_ports(write_yaml: WriteYaml) -> None:
    cluster = make_cluster(write_yaml, *SERVICES)
    only_internal = (ip_network("192.168.1.0/24"),)
    check(cluster, (OUT, NODE, "tcp/30080", "net", "10.244.1.6:8080 masq; 10.244.2.6:8080 masq"), only_internal)
    check(cluster, (OUT, "203.0.113.10", "tcp/30080", "net", "203.0.113.10:30080"), only_internal)
    check(cluster, ("2001:db8:ff::1", "2001:db8::10", "tcp/30085", "net", "[2001:db8::10]:30085"), only_internal)
    # the default is still every local address
    check(cluster, (OUT, "203.0.113.10", "tcp/30080", "net", "10.244.1.6:8080 masq; 10.244.2.6:8080 masq"))


def test_no_node_objects_means_no_node_ports_and_every_pod_local(write_yaml: WriteYaml) -> None:
    cluster = make_cluster(
        write_yaml,
        service(
            "np",
            "{type: NodePort, clusterIP: 10.96.0.11, externalTrafficPolicy: Local,"
            " externalIPs: [198.51.100.9], ports: [{name: http, port: 80, nodePort: 30080}]}",
        ),
        endpoints("np", HTTP, "10.244.1.6@node-x", "10.244.2.6@node-y"),
        node=None,
        cidrs="10.244.0.0/16",
    )
    check(cluster, (OUT, NODE, "tcp/30080", "net", "192.168.1.10:30080"))
    check(cluster, (OUT, "198.51.100.9", "tcp/80", "net", "10.244.1.6:8080; 10.244.2.6:8080"))


MISC = [
    NODES,
    service(
        "sticky",
        "{clusterIP: 10.96.0.60, sessionAffinity: ClientIP, ports: [{name: sig, port: 3868, protocol: SCTP}]}",
    ),
    endpoints("sticky", "{name: sig, port: 3868, protocol: SCTP}", "10.244.1.60@node-a", "10.244.2.60@node-b"),
    service("legacy", "{clusterIP: 10.96.0.61, ports: [{port: 80, targetPort: 8080}]}"),
    "apiVersion: v1\nkind: Endpoints\nmetadata: {name: legacy}\n"
    "subsets: [{addresses: [{ip: 10.244.1.61, nodeName: node-a}],"
    " notReadyAddresses: [{ip: 10.244.2.61, nodeName: node-b}], ports: [{port: 8080}]}]",
    service("legacy-unready", "{clusterIP: 10.96.0.62, ports: [{port: 80}]}"),
    "apiVersion: v1\nkind: Endpoints\nmetadata: {name: legacy-unready}\n"
    "subsets: [{notReadyAddresses: [{ip: 10.244.2.62, nodeName: node-b}], ports: [{port: 80}]}]",
]

MISC_ROWS: list[Row] = [
    (POD, "10.96.0.60", "sctp/3868", "net", "10.244.1.60:3868; 10.244.2.60:3868"),  # a new client: balanced
    (POD, "10.96.0.60", "tcp/3868", "net", "rejected"),
    (POD, "10.96.0.61", "tcp/80", "net", "10.244.1.61:8080"),  # legacy Endpoints: notReadyAddresses unused
    (POD, "10.96.0.62", "tcp/80", "net", "rejected"),
]


@pytest.mark.parametrize("row", MISC_ROWS, ids=lambda r: f"{r[1]}:{r[2]}:{r[3]}")
def test_affinity_sctp_and_legacy_endpoints(write_yaml: WriteYaml, row: Row) -> None:
    check(make_cluster(write_yaml, *MISC), row)


# Choices where docs/semantics.md leaves room, pinned (listed in netcompile/verify/reference/__init__.py).
CHOICES = [
    NODES,
    service(
        "lbx",
        "{type: LoadBalancer, clusterIP: 10.96.0.70, externalIPs: [198.51.100.70],"
        " loadBalancerSourceRanges: [192.0.2.0/24, '2001:db8:aa::/48'],"
        " ports: [{name: http, port: 80, nodePort: 30700}]}",
        "{loadBalancer: {ingress: [{ip: 198.51.100.70}, {ip: '2001:db8:bb::70'}]}}",
    ),
    endpoints("lbx", HTTP, "10.244.1.70@node-a"),
    endpoints("lbx", HTTP, "fd00:1::70@node-a", family="IPv6", slice_name="lbx-v6"),
    service(
        "lbv6",
        "{type: LoadBalancer, clusterIP: 10.96.0.71, loadBalancerSourceRanges: ['2001:db8:aa::/48'],"
        " ports: [{name: http, port: 80, nodePort: 30701}]}",
        "{loadBalancer: {ingress: [{ip: 198.51.100.71}]}}",
    ),
    endpoints("lbv6", HTTP, "10.244.1.71@node-a"),
    service(
        "lbnode",
        "{type: LoadBalancer, clusterIP: 10.96.0.75, loadBalancerSourceRanges: [192.168.0.0/16],"
        " ports: [{name: http, port: 80, nodePort: 30705}]}",
        "{loadBalancer: {ingress: [{ip: 198.51.100.75}, {ip: '2001:db8:bb::75'}]}}",
    ),
    endpoints("lbnode", HTTP, "10.244.1.75@node-a"),
    endpoints("lbnode", HTTP, "fd00:1::75@node-a", family="IPv6", slice_name="lbnode-v6"),
    service(
        "status-only",
        "{clusterIP: 10.96.0.72, ports: [{name: http, port: 80}]}",
        "{loadBalancer: {ingress: [{ip: 198.51.100.72}]}}",
    ),
    endpoints("status-only", HTTP, "10.244.1.72@node-a"),
    service("rdy", "{clusterIP: 10.96.0.74, ports: [{name: http, port: 80}]}"),
    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
    "metadata: {name: rdy, labels: {kubernetes.io/service-name: rdy}}\n"
    "addressType: IPv4\nports: [{name: http, port: 8080}]\n"
    "endpoints: [{addresses: [10.244.1.74], nodeName: node-a, conditions: {ready: true, serving: false}},"
    " {addresses: [10.244.2.74], nodeName: node-b}]",
]

CHOICE_ROWS: list[Row] = [
    # an address that is both an externalIP and a LoadBalancer IP of the Service is filtered by source ranges
    (FAR, "198.51.100.70", "tcp/80", "net", "dropped"),
    (OUT, "198.51.100.70", "tcp/80", "net", "10.244.1.70:8080 masq"),
    ("2001:db8:aa::1", "2001:db8:bb::70", "tcp/80", "net", "[fd00:1::70]:8080 masq"),
    ("2001:db8:cc::1", "2001:db8:bb::70", "tcp/80", "net", "dropped"),
    # ranges of the other family only: as kube-proxy (its ranges are per family), no range of the frontend's
    # family means no filtering (pkg/proxy/nftables/proxier.go: usesFWChain needs ranges of the family)
    (OUT, "198.51.100.71", "tcp/80", "net", "10.244.1.71:8080 masq"),
    # a range holding the node's primary address of the family lets the Service's own LoadBalancer IPs in
    # as sources too (kube-proxy's allowFromNode: a VIP configured on the node); only of that family
    (FAR, "198.51.100.75", "tcp/80", "net", "dropped"),
    ("192.168.7.7", "198.51.100.75", "tcp/80", "net", "10.244.1.75:8080 masq"),
    ("198.51.100.75", "198.51.100.75", "tcp/80", "net", "10.244.1.75:8080 masq"),
    ("198.51.100.70", "198.51.100.70", "tcp/80", "net", "dropped"),  # lbx: its ranges do not hold the node
    ("2001:db8:cc::1", "2001:db8:bb::75", "tcp/80", "net", "[fd00:1::75]:8080 masq"),  # no IPv6 range
    # status.loadBalancer of a Service that is not a LoadBalancer is not programmed (as kube-proxy)
    (OUT, "198.51.100.72", "tcp/80", "net", "198.51.100.72:80"),
    # ready but explicitly not serving: never used
    (POD, "10.96.0.74", "tcp/80", "net", "10.244.2.74:8080"),
]


@pytest.mark.parametrize("row", CHOICE_ROWS, ids=lambda r: f"{r[0]}->{r[1]}:{r[2]}:{r[3]}")
def test_choices(write_yaml: WriteYaml, row: Row) -> None:
    check(make_cluster(write_yaml, *CHOICES), row)


def test_the_compiled_ruleset_makes_the_same_choices(write_yaml: WriteYaml) -> None:
    """The rows above, asked of the interpreter of the compiled ruleset too (source ranges per family, the
    node's own LoadBalancer IPs as sources)."""
    cluster = make_cluster(write_yaml, *CHOICES)
    ruleset = Ruleset.parse(compile_cluster(cluster, CompileOptions(node="node-a")).text)
    for row in CHOICE_ROWS:
        probe = packet(*row[:4])
        assert ruleset.evaluate(probe, cluster.node_addresses).agrees_with(evaluate(cluster, probe)), row


TOPOLOGY = [
    NODES,
    service("topo", "{clusterIP: 10.96.0.30, ports: [{name: http, port: 80}]}"),
    endpoints("topo", HTTP, "10.244.1.1@node-a hint=z1", "10.244.2.1@node-b hint=z2", "10.244.2.2@node-b hint=z1"),
    service("partial", "{clusterIP: 10.96.0.31, ports: [{name: http, port: 80}]}"),
    endpoints("partial", HTTP, "10.244.1.1@node-a hint=z1", "10.244.2.1@node-b"),
    service("elsewhere", "{clusterIP: 10.96.0.32, ports: [{name: http, port: 80}]}"),
    endpoints("elsewhere", HTTP, "10.244.1.1@node-a hint=z3", "10.244.2.1@node-b hint=z2"),
    service("unready-unhinted", "{clusterIP: 10.96.0.33, ports: [{name: http, port: 80}]}"),
    endpoints(
        "unready-unhinted", HTTP, "10.244.1.1@node-a hint=z2", "10.244.2.1@node-b hint=z1", "10.244.2.9@node-b unready"
    ),
    service(
        "topo-np",
        "{type: NodePort, clusterIP: 10.96.0.34, externalTrafficPolicy: Local,"
        " ports: [{name: http, port: 80, nodePort: 30090}]}",
    ),
    endpoints("topo-np", HTTP, "10.244.1.1@node-a hint=z2", "10.244.2.1@node-b hint=z2"),
    service("topo-term", "{clusterIP: 10.96.0.35, ports: [{name: http, port: 80}]}"),
    endpoints("topo-term", HTTP, "10.244.1.1@node-a terminating hint=z1", "10.244.2.1@node-b terminating hint=z2"),
    service("empty-hints", "{clusterIP: 10.96.0.36, ports: [{name: http, port: 80}]}"),
    endpoints("empty-hints", HTTP, "10.244.1.1@node-a hint=z1", "10.244.2.1@node-b hint="),
]

TOPOLOGY_ROWS: list[Row] = [
    (POD, "10.96.0.30", "tcp/80", "net", "10.244.1.1:8080; 10.244.2.2:8080"),  # hinted for z1, wherever they run
    (POD, "10.96.0.31", "tcp/80", "net", "10.244.1.1:8080; 10.244.2.1:8080"),  # one without hints: all
    (POD, "10.96.0.32", "tcp/80", "net", "10.244.1.1:8080; 10.244.2.1:8080"),  # none hinted for z1: all
    (POD, "10.96.0.33", "tcp/80", "net", "10.244.2.1:8080"),  # only usable endpoints need hints
    (OUT, NODE, "tcp/30090", "net", "10.244.1.1:8080"),  # local endpoints are not filtered by topology
    (POD, NODE, "tcp/30090", "net", "10.244.1.1:8080; 10.244.2.1:8080"),  # (none is hinted for z1)
    (POD, "10.96.0.35", "tcp/80", "net", "10.244.1.1:8080"),  # terminating fallback, then topology
    (POD, "10.96.0.36", "tcp/80", "net", "10.244.1.1:8080; 10.244.2.1:8080"),  # forZones: [] is no hint
]


@pytest.mark.parametrize("row", TOPOLOGY_ROWS, ids=lambda r: f"{r[1]}:{r[2]}:{r[3]}")
def test_topology(write_yaml: WriteYaml, row: Row) -> None:
    check(make_cluster(write_yaml, *TOPOLOGY), row)


def test_topology_needs_a_known_zone(write_yaml: WriteYaml) -> None:
    texts = [t.replace("topology.kubernetes.io/zone: z1", "other: x") for t in TOPOLOGY]
    check(
        make_cluster(write_yaml, *texts),
        (POD, "10.96.0.30", "tcp/80", "net", "10.244.1.1:8080; 10.244.2.1:8080; 10.244.2.2:8080"),
    )


COLLISIONS = [
    NODES,
    # "default/web" is first in (namespace, name) order... but "a/zzz" comes before "default/..."
    service("web", "{clusterIP: 10.96.0.10, ports: [{name: http, port: 80}]}"),
    endpoints("web", HTTP, "10.244.1.5@node-a"),
    "apiVersion: v1\nkind: Service\nmetadata: {name: zzz, namespace: a}\n"
    "spec: {clusterIP: 10.96.0.40, externalIPs: [10.96.0.10], ports: [{name: http, port: 80}]}",
    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
    "metadata: {name: zzz, namespace: a, labels: {kubernetes.io/service-name: zzz}}\n"
    "addressType: IPv4\nports: [{name: http, port: 8080}]\nendpoints: [{addresses: [10.244.1.40], nodeName: node-a}]",
    # "default/aaa" comes before "default/web": its externalIP on web's ClusterIP port 81 is no collision
    service("aaa", "{clusterIP: 10.96.0.41, externalIPs: [10.96.0.10], ports: [{name: http, port: 81}]}"),
    endpoints("aaa", HTTP, "10.244.1.41@node-a"),
    # within one Service, ClusterIP before NodePort before External
    service(
        "self",
        "{type: NodePort, clusterIP: 10.96.0.42, externalTrafficPolicy: Local,"
        " externalIPs: [10.96.0.42, 192.168.1.10], ports: [{name: http, port: 30100, nodePort: 30100}]}",
    ),
    endpoints("self", HTTP, "10.244.1.42@node-a", "10.244.2.42@node-b"),
]

COLLISION_ROWS: list[Row] = [
    (POD, "10.96.0.10", "tcp/80", "net", "10.244.1.40:8080 masq"),  # a/zzz's externalIP (ETP Cluster) wins
    (POD, "10.96.0.10", "tcp/81", "net", "10.244.1.41:8080 masq"),  # default/aaa's externalIP on a free port
    (POD, "10.96.0.10", "tcp/82", "net", "rejected"),  # still a ClusterIP
    (OUT, "10.96.0.42", "tcp/30100", "net", "10.244.1.42:8080 masq; 10.244.2.42:8080 masq"),  # as a ClusterIP
    (OUT, NODE, "tcp/30100", "net", "10.244.1.42:8080"),  # NodePort and externalIP agree (ETP Local)
]


@pytest.mark.parametrize("row", COLLISION_ROWS, ids=lambda r: f"{r[1]}:{r[2]}:{r[3]}")
def test_collisions(write_yaml: WriteYaml, row: Row) -> None:
    check(make_cluster(write_yaml, *COLLISIONS), row)


def test_collisions_are_recorded(write_yaml: WriteYaml) -> None:
    stage = reference_for(make_cluster(write_yaml, *COLLISIONS)).services
    lost = sorted(
        f"{w.service.meta.key} {w.kind} beats {loser.service.meta.key} {loser.kind}" for w, loser in stage.collisions
    )
    assert lost == [
        "a/zzz externalIP beats default/web ClusterIP",
        "default/self ClusterIP beats default/self externalIP",
        "default/self NodePort beats default/self externalIP",
    ]


# --- §3: NetworkPolicy ------------------------------------------------------------------------------------


def pod(
    key: str, ips: str, node: str, labels: str, ports: str = "", *, host: bool = False, phase: str = "Running"
) -> str:
    """A Pod `ns/name` with space-separated addresses, flow-style labels and container ports."""
    namespace, _, name = key.partition("/")
    pod_ips = ", ".join(f'{{ip: "{ip}"}}' for ip in ips.split())
    return (
        "apiVersion: v1\nkind: Pod\n"
        f"metadata: {{name: {name}, namespace: {namespace}, labels: {{{labels}}}}}\n"
        f"spec: {{nodeName: {node}, hostNetwork: {str(host).lower()}, containers: [{{name: c, ports: [{ports}]}}]}}\n"
        f"status: {{phase: {phase}" + (f", podIPs: [{pod_ips}]" if ips else "") + "}"
    )


def namespace(name: str, labels: str = "") -> str:
    return f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {{{labels}}}}}"


def policy(key: str, spec: str) -> str:
    namespace, _, name = key.partition("/")
    return (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n" + spec
    )


PODS = [
    NODES,
    namespace("prod", "team: a, env: prod"),
    namespace("dev", "env: dev"),
    namespace("ops"),
    pod(
        "prod/web-1",
        "10.244.1.101 fd00:1::101",
        "node-a",
        "app: web",
        "{name: http, containerPort: 8080}, {name: metrics, containerPort: 9090},"
        " {name: sig, containerPort: 7777, protocol: SCTP}, {name: dns, containerPort: 53, protocol: UDP}",
    ),
    pod("prod/web-2", "10.244.2.102", "node-b", "app: web", "{name: http, containerPort: 8081}"),
    pod("prod/db", "10.244.1.103", "node-a", "app: db, tier: data", "{name: sql, containerPort: 5432}"),
    pod("prod/client", "10.244.1.104 fd00:1::104", "node-a", "app: client"),
    pod("dev/client", "10.244.1.105", "node-a", "app: client"),
    pod("dev/api", "10.244.2.106", "node-b", "app: api, tier: edge", "{name: http, containerPort: 9000}"),
    pod("ops/monitor", "10.244.2.107", "node-b", "app: monitor"),
    pod("prod/agent", "", "node-b", "app: agent", "{name: http, containerPort: 10250}", host=True),
    pod("prod/free", "10.244.1.108", "node-a", "app: free", "{name: http, containerPort: 8080}"),
    pod("prod/pending", "10.244.1.109", "node-a", "app: client", phase="Pending"),
    pod("prod/hostweb", "192.168.1.10", "node-a", "app: web", "{name: http, containerPort: 8080}", host=True),
]

WEB = "10.244.1.101"  # prod/web-1, on this node
WEB6 = "fd00:1::101"
WEB2 = "10.244.2.102"  # prod/web-2, on the other node: never protected here
DB = "10.244.1.103"
CLIENT = "10.244.1.104"  # prod/client
CLIENT6 = "fd00:1::104"
DEV_CLIENT = "10.244.1.105"
DEV_API = "10.244.2.106"
MONITOR = "10.244.2.107"
AGENT = "192.168.1.11"  # prod/agent: hostNetwork on node-b
FREE = "10.244.1.108"
PENDING = "10.244.1.109"

# Each case: the policies, and rows judged against PODS plus those policies.
POLICY_CASES: dict[str, tuple[list[str], list[Row]]] = {
    "no policy: everything allowed": (
        [],
        [
            (CLIENT, WEB, "tcp/8080", "net", f"{WEB}:8080"),
            (OUT, WEB, "udp/53", "net", f"{WEB}:53"),
            (WEB, OUT, "tcp/443", "net", f"{OUT}:443"),
        ],
    ),
    "ingress isolation only (policyTypes defaulted, egress: [])": (
        [policy("prod/deny-in", "  podSelector: {matchLabels: {app: web}}\n  egress: []\n")],
        [
            (CLIENT, WEB, "tcp/8080", "net", "dropped"),
            (WEB, CLIENT, "tcp/8080", "net", f"{CLIENT}:8080"),  # egress is not isolated
            (WEB, OUT, "tcp/443", "net", f"{OUT}:443"),
            (CLIENT, DB, "tcp/5432", "net", f"{DB}:5432"),  # db is not selected
            (CLIENT, WEB2, "tcp/8081", "net", f"{WEB2}:8081"),  # web-2 is not on this node
            (CLIENT6, WEB6, "tcp/8080", "net", "dropped"),
            (NODE, WEB, "tcp/8080", "node", f"{WEB}:8080"),  # node exemption (kubelet probes)
            (NODE, WEB, "tcp/8080", "net", "dropped"),  # the node's address arriving from outside is not the node
            (CLIENT, NODE, "tcp/8080", "net", f"{NODE}:8080"),  # traffic to the node is not filtered
        ],
    ),
    "egress isolation only": (
        [policy("prod/deny-out", "  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Egress]\n")],
        [
            (CLIENT, WEB, "tcp/8080", "net", f"{WEB}:8080"),
            (WEB, CLIENT, "tcp/8080", "net", "dropped"),
            (WEB, OUT, "tcp/443", "net", "dropped"),
            (WEB, WEB2, "tcp/8081", "net", "dropped"),  # egress to a pod on another node
            (WEB, NODE, "tcp/10250", "net", f"{NODE}:10250"),  # to the node itself: not filtered
            (WEB, AGENT, "tcp/10250", "net", "dropped"),  # another node's address is filtered
            (WEB2, OUT, "tcp/443", "net", f"{OUT}:443"),  # web-2 is not on this node
        ],
    ),
    "egress section ignored when policyTypes is [Ingress]": (
        [
            policy(
                "prod/in-only",
                "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress: [{}]\n"
                "  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}]}]\n",
            )
        ],
        [(WEB, OUT, "tcp/443", "net", f"{OUT}:443"), (OUT, WEB, "tcp/1", "net", f"{WEB}:1")],
    ),
    "union across policies": (
        [
            policy(
                "prod/a",
                "  podSelector: {matchLabels: {app: web}}\n"
                "  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}], ports: [{port: 8080}]}]\n",
            ),
            policy(
                "prod/b",
                "  podSelector: {matchExpressions: [{key: app, operator: In, values: [web, db]}]}\n"
                "  ingress: [{from: [{namespaceSelector: {matchLabels: {env: dev}}}], ports: [{port: 9090}]}]\n",
            ),
        ],
        [
            (CLIENT, WEB, "tcp/8080", "net", f"{WEB}:8080"),
            (CLIENT, WEB, "tcp/9090", "net", "dropped"),
            (DEV_CLIENT, WEB, "tcp/9090", "net", f"{WEB}:9090"),
            (DEV_CLIENT, WEB, "tcp/8080", "net", "dropped"),  # podSelector alone: the policy's namespace only
            (CLIENT, DB, "tcp/8080", "net", "dropped"),  # db is isolated by b only
            (DEV_API, DB, "tcp/9090", "net", f"{DB}:9090"),
        ],
    ),
    "peers: namespaceSelector, both selectors, {} and expressions": (
        [
            policy(
                "prod/peers",
                "  podSelector: {matchLabels: {app: web}}\n"
                "  ingress:\n"
                "  - from: [{namespaceSelector: {matchLabels: {env: dev}},"
                " podSelector: {matchLabels: {app: client}}}]\n"
                "    ports: [{port: 1}]\n"
                "  - from: [{namespaceSelector: {}}]\n"
                "    ports: [{port: 2}]\n"
                "  - from: [{namespaceSelector: {matchExpressions: [{key: env, operator: DoesNotExist}]}}]\n"
                "    ports: [{port: 3}]\n"
                "  - from: [{podSelector: {matchExpressions: [{key: tier, operator: Exists},"
                " {key: app, operator: NotIn, values: [api]}]}}]\n"
                "    ports: [{port: 4}]\n"
                "  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ops}}}]\n"
                "    ports: [{port: 5}]\n",
            )
        ],
        [
            (DEV_CLIENT, WEB, "tcp/1", "net", f"{WEB}:1"),
            (DEV_API, WEB, "tcp/1", "net", "dropped"),  # in dev, but not app=client
            (CLIENT, WEB, "tcp/1", "net", "dropped"),  # app=client, but not in dev
            (CLIENT, WEB, "tcp/2", "net", f"{WEB}:2"),  # {}: every namespace
            (MONITOR, WEB, "tcp/2", "net", f"{WEB}:2"),
            (OUT, WEB, "tcp/2", "net", "dropped"),  # but only pods
            (PENDING, WEB, "tcp/2", "net", "dropped"),  # and only running ones
            (MONITOR, WEB, "tcp/3", "net", f"{WEB}:3"),  # ops has no env label
            (DEV_CLIENT, WEB, "tcp/3", "net", "dropped"),
            (DB, WEB, "tcp/4", "net", f"{WEB}:4"),
            (DEV_API, WEB, "tcp/4", "net", "dropped"),  # another namespace (and app=api)
            (MONITOR, WEB, "tcp/5", "net", f"{WEB}:5"),  # the name label every namespace carries
            (AGENT, WEB, "tcp/2", "net", f"{WEB}:2"),  # a hostNetwork pod stands for its node's address
            (OTHER_NODE, WEB, "tcp/4", "net", "dropped"),
        ],
    ),
    "ipBlock with except, IPv4 and IPv6": (
        [
            policy(
                "prod/blocks",
                "  podSelector: {matchLabels: {app: web}}\n"
                "  ingress:\n"
                "  - from: [{ipBlock: {cidr: 10.244.0.0/16, except: [10.244.2.0/24, 10.244.1.105/32]}},"
                ' {ipBlock: {cidr: "fd00::/16", except: ["fd00:1::104/128"]}}, {ipBlock: {cidr: 192.0.2.0/24}}]\n',
            )
        ],
        [
            (CLIENT, WEB, "tcp/8080", "net", f"{WEB}:8080"),  # pod addresses match by address
            (DEV_CLIENT, WEB, "tcp/8080", "net", "dropped"),
            (DEV_API, WEB, "tcp/8080", "net", "dropped"),
            (OUT, WEB, "udp/53", "net", f"{WEB}:53"),
            (FAR, WEB, "tcp/8080", "net", "dropped"),
            (CLIENT6, WEB6, "tcp/8080", "net", "dropped"),
            ("fd00:2::9", WEB6, "tcp/8080", "net", f"[{WEB6}]:8080"),
            ("2001:db8:ff::1", WEB6, "tcp/8080", "net", "dropped"),
        ],
    ),
    "named ports, ingress: resolved on the protected pod": (
        [
            policy(
                "prod/named-in",
                "  podSelector: {matchExpressions: [{key: app, operator: In, values: [web, free]}]}\n"
                "  ingress: [{ports: [{port: http}, {port: dns, protocol: UDP}, {port: sql}]}]\n",
            )
        ],
        [
            (CLIENT, WEB, "tcp/8080", "net", f"{WEB}:8080"),
            (CLIENT, WEB, "tcp/9090", "net", "dropped"),
            (CLIENT, WEB, "udp/53", "net", f"{WEB}:53"),
            (CLIENT, WEB, "tcp/53", "net", "dropped"),  # the name belongs to a UDP port
            (CLIENT, WEB, "tcp/5432", "net", "dropped"),  # sql is db's port, not web-1's
            (CLIENT, FREE, "tcp/8080", "net", f"{FREE}:8080"),
        ],
    ),
    "named ports, egress: resolved on each destination pod": (
        [
            policy(
                "prod/named-out",
                "  podSelector: {matchLabels: {app: client}}\n"
                "  policyTypes: [Egress]\n"
                "  egress:\n"
                "  - to: [{podSelector: {matchLabels: {app: web}}},"
                " {namespaceSelector: {}, podSelector: {matchLabels: {app: api}}}]\n"
                "    ports: [{port: http}]\n"
                "  - to: [{ipBlock: {cidr: 0.0.0.0/0}}]\n"
                "    ports: [{port: sql}]\n",
            )
        ],
        [
            (CLIENT, WEB, "tcp/8080", "net", f"{WEB}:8080"),  # http is 8080 on web-1...
            (CLIENT, WEB2, "tcp/8081", "net", f"{WEB2}:8081"),  # ...8081 on web-2...
            (CLIENT, DEV_API, "tcp/9000", "net", f"{DEV_API}:9000"),  # ...and 9000 on dev/api
            (CLIENT, WEB, "tcp/8081", "net", "dropped"),
            (CLIENT, WEB2, "tcp/8080", "net", "dropped"),
            (CLIENT, FREE, "tcp/8080", "net", "dropped"),  # free has http, but is no peer
            (CLIENT, DB, "tcp/5432", "net", f"{DB}:5432"),  # an ipBlock peer: the pod at the address
            (CLIENT, OUT, "tcp/5432", "net", "dropped"),  # a named port never matches a non-pod
            (CLIENT, NODE, "tcp/5432", "net", f"{NODE}:5432"),  # the node itself is not filtered
            (DEV_CLIENT, OUT, "tcp/1", "net", f"{OUT}:1"),  # dev/client is not selected
        ],
    ),
    "endPort ranges and protocols": (
        [
            policy(
                "prod/ranges",
                "  podSelector: {matchLabels: {app: web}}\n"
                "  ingress:\n"
                "  - ports: [{port: 8000, endPort: 8100}, {port: 7777, protocol: SCTP}, {protocol: UDP}]\n"
                "  - from: [{podSelector: {matchLabels: {app: client}}}]\n"
                "    ports: [{}]\n",
            )
        ],
        [
            (OUT, WEB, "tcp/8000", "net", f"{WEB}:8000"),
            (OUT, WEB, "tcp/8100", "net", f"{WEB}:8100"),
            (OUT, WEB, "tcp/8101", "net", "dropped"),
            (OUT, WEB, "tcp/7999", "net", "dropped"),
            (OUT, WEB, "udp/8050", "net", f"{WEB}:8050"),  # {protocol: UDP}: every UDP port
            (OUT, WEB, "sctp/7777", "net", f"{WEB}:7777"),
            (OUT, WEB, "tcp/7777", "net", "dropped"),  # an SCTP rule never opens TCP
            (OUT, WEB, "sctp/8000", "net", "dropped"),
            (CLIENT, WEB, "tcp/1", "net", f"{WEB}:1"),  # {}: every TCP port...
            (CLIENT, WEB, "sctp/1", "net", "dropped"),  # ...and only TCP
        ],
    ),
    "rules without ports or peers; ingress: [] and egress: []": (
        [
            policy("prod/allow-all", "  podSelector: {matchLabels: {app: web}}\n  ingress: [{}]\n"),
            policy("prod/deny-db", "  podSelector: {matchLabels: {app: db}}\n  policyTypes: [Ingress, Egress]\n"),
            policy(
                "prod/clients",
                "  podSelector: {matchLabels: {app: client}}\n  policyTypes: [Egress]\n  egress: []\n",
            ),
            policy(
                "prod/empty-lists",
                "  podSelector: {matchLabels: {app: free}}\n  ingress: [{from: [], ports: []}]\n",
            ),
        ],
        [
            (FAR, WEB, "sctp/9", "net", f"{WEB}:9"),
            (FAR, DB, "tcp/5432", "net", "dropped"),
            (DB, OUT, "tcp/443", "net", "dropped"),
            (CLIENT, OUT, "tcp/443", "net", "dropped"),
            (CLIENT, WEB, "tcp/8080", "net", "dropped"),  # egress denies, although ingress allows
            (DEV_CLIENT, WEB, "tcp/8080", "net", f"{WEB}:8080"),
            (FAR, FREE, "udp/7", "net", f"{FREE}:7"),
            (CLIENT, WEB, "tcp/8080", "net", "dropped"),
            (NODE, DB, "tcp/5432", "node", f"{DB}:5432"),  # node exemption
        ],
    ),
    "hostNetwork pods are never isolated": (
        [policy("prod/deny-all", "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n")],
        [
            (OUT, NODE, "tcp/8080", "net", f"{NODE}:8080"),  # prod/hostweb lives on the node's address
            (NODE, OUT, "tcp/443", "node", f"{OUT}:443"),  # its traffic has origin node
            (OUT, WEB, "tcp/8080", "net", "dropped"),
            (WEB, DEV_CLIENT, "tcp/1", "net", "dropped"),  # egress denied (dev/client's ingress is open)
            (DEV_CLIENT, WEB, "tcp/1", "net", "dropped"),
            (DEV_CLIENT, DEV_API, "tcp/1", "net", f"{DEV_API}:1"),
        ],
    ),
}


@pytest.mark.parametrize(
    ("case", "row"),
    [(case, row) for case, (_, rows) in POLICY_CASES.items() for row in rows],
    ids=lambda v: v if isinstance(v, str) else f"{v[0]}->{v[1]}:{v[2]}:{v[3]}",
)
def test_policies(write_yaml: WriteYaml, case: str, row: Row) -> None:
    check(make_cluster(write_yaml, *PODS, *POLICY_CASES[case][0]), row)


def test_policy_established_replies_pass(write_yaml: WriteYaml) -> None:
    cluster = make_cluster(write_yaml, *PODS, *POLICY_CASES["hostNetwork pods are never isolated"][0])
    out = evaluate(cluster, packet(WEB, CLIENT, "tcp/40000", state="established"))
    assert out.distribution == {Result(Verdict.DELIVERED, ip_address(CLIENT), 40000): 1}


def test_policy_reasons(write_yaml: WriteYaml) -> None:
    cluster = make_cluster(write_yaml, *PODS, *POLICY_CASES["union across policies"][0])
    out = check(cluster, (DEV_CLIENT, WEB, "tcp/9090", "net", f"{WEB}:9090"))
    assert out.reasons == [
        f"TCP {WEB}:9090 is no Service frontend: no DNAT",
        "pod dev/client is not isolated for egress",
        f'NetworkPolicy "prod/b" ingress[0] allows {DEV_CLIENT} -> {WEB} TCP 9090',
    ]
    out = check(cluster, (CLIENT, WEB, "tcp/9090", "net", "dropped"))
    assert out.reasons[2:] == [
        'pod prod/web-1 is isolated for ingress by NetworkPolicy "prod/a", "prod/b"; '
        f"no rule allows {CLIENT} -> {WEB} TCP 9090: dropped"
    ]
    cluster = make_cluster(write_yaml, *PODS, *POLICY_CASES["egress isolation only"][0])
    out = check(cluster, (WEB, OUT, "tcp/443", "net", "dropped"))
    assert out.reasons[1].startswith('pod prod/web-1 is isolated for egress by NetworkPolicy "prod/deny-out"')


# --- Services and policies together -----------------------------------------------------------------------

WEB_SERVICE = service(
    "websvc",
    "{type: NodePort, clusterIP: 10.96.1.1, selector: {app: web},"
    " ports: [{name: http, port: 80, targetPort: http, nodePort: 30200}]}",
).replace("metadata: {name: websvc}", "metadata: {name: websvc, namespace: prod}")

TOGETHER: dict[str, tuple[list[str], list[Row]]] = {
    "ingress judged on the endpoint address and targetPort": (
        [
            policy(
                "prod/web-in",
                "  podSelector: {matchLabels: {app: web}}\n"
                "  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}], ports: [{port: 8080}]}]\n",
            )
        ],
        [
            # endpoints: web-1 (8080, this node, protected), web-2 (8081, elsewhere), hostweb (node-a's address)
            (CLIENT, "10.96.1.1", "tcp/80", "net", f"{WEB}:8080; {WEB2}:8081; {NODE}:8080"),
            (DEV_CLIENT, "10.96.1.1", "tcp/80", "net", f"dropped; {WEB2}:8081; {NODE}:8080"),
            (CLIENT6, "fd00:96::1", "tcp/80", "net", "fd00:96::1:80"),  # no IPv6 ClusterIP: untouched
            # policy judges the original source; an endpoint on the node's own address is never masqueraded
            (OUT, NODE, "tcp/30200", "net", f"dropped; {WEB2}:8081 masq; {NODE}:8080"),
            (NODE, "10.96.1.1", "tcp/80", "node", f"{WEB}:8080 masq; {WEB2}:8081 masq; {NODE}:8080"),
        ],
    ),
    "an egress rule that allows the pod allows its Service": (
        [
            policy(
                "prod/client-out",
                "  podSelector: {matchLabels: {app: client}}\n  policyTypes: [Egress]\n"
                "  egress: [{to: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: http}]}]\n",
            ),
            policy(
                "dev/client-out",
                "  podSelector: {matchLabels: {app: client}}\n  policyTypes: [Egress]\n"
                "  egress: [{ports: [{port: 80}]}]\n",
            ),
        ],
        [
            # web-1:8080 and web-2:8081 both resolve http; hostweb stands for node-a's address (not filtered)
            (CLIENT, "10.96.1.1", "tcp/80", "net", f"{WEB}:8080; {WEB2}:8081; {NODE}:8080"),
            (DEV_CLIENT, "10.96.1.1", "tcp/80", "net", f"dropped; dropped; {NODE}:8080"),  # port 80 is not the target
        ],
    ),
}


@pytest.mark.parametrize(
    ("case", "row"),
    [(case, row) for case, (_, rows) in TOGETHER.items() for row in rows],
    ids=lambda v: v if isinstance(v, str) else f"{v[0]}->{v[1]}:{v[2]}:{v[3]}",
)
def test_services_and_policies(write_yaml: WriteYaml, case: str, row: Row) -> None:
    check(make_cluster(write_yaml, *PODS, WEB_SERVICE, *TOGETHER[case][0]), row)


def test_service_and_policy_reasons(write_yaml: WriteYaml) -> None:
    texts = TOGETHER["ingress judged on the endpoint address and targetPort"][0]
    cluster = make_cluster(write_yaml, *PODS, WEB_SERVICE, *texts)
    out = check(cluster, (DEV_CLIENT, "10.96.1.1", "tcp/80", "net", f"dropped; {WEB2}:8081; {NODE}:8080"))
    assert out.reasons[0] == 'Service "prod/websvc" port http (TCP 80) -> 3 endpoints'
    assert f"{WEB}:8080 (prod/web-1): pod prod/web-1 is isolated for ingress" in "\n".join(out.reasons)


# --- dual stack -------------------------------------------------------------------------------------------

DUAL = [
    NODES,
    pod("default/ds-1", "10.244.1.40 fd00:1::40", "node-a", "app: ds", "{name: http, containerPort: 8080}"),
    pod("default/ds-2", "10.244.2.40", "node-b", "app: ds", "{name: http, containerPort: 8080}"),
    pod("default/ds-3", "fd00:2::40", "node-b", "app: ds", "{name: http, containerPort: 8080}"),
    service(
        "ds",
        '{type: NodePort, clusterIPs: [10.96.0.50, "fd00:96::50"], selector: {app: ds},'
        " ports: [{name: http, port: 80, targetPort: http, nodePort: 30300}]}",
    ),
    service(
        "v6", '{clusterIPs: ["fd00:96::51"], selector: {app: ds}, ports: [{name: http, port: 80, targetPort: 8080}]}'
    ),
    policy(
        "default/ds-in",
        "  podSelector: {matchLabels: {app: ds}}\n"
        '  ingress: [{from: [{ipBlock: {cidr: "2001:db8:ff::/48"}}, {ipBlock: {cidr: 192.0.2.0/24}},'
        ' {ipBlock: {cidr: 10.244.1.0/24}}, {ipBlock: {cidr: "fd00:1::/64"}}]}]\n',
    ),
]

DUAL_ROWS: list[Row] = [
    (POD, "10.96.0.50", "tcp/80", "net", "10.244.1.40:8080 ; 10.244.2.40:8080"),
    ("fd00:1::9", "fd00:96::50", "tcp/80", "net", "[fd00:1::40]:8080 ; [fd00:2::40]:8080"),
    ("2001:db8:ff::1", "fd00:96::50", "tcp/80", "net", "[fd00:1::40]:8080 masq; [fd00:2::40]:8080 masq"),
    ("2001:db8:ff::1", "2001:db8::10", "tcp/30300", "net", "[fd00:1::40]:8080 masq; [fd00:2::40]:8080 masq"),
    (OUT, "203.0.113.10", "tcp/30300", "net", "10.244.1.40:8080 masq; 10.244.2.40:8080 masq"),
    ("2001:db8:ee::1", "2001:db8::10", "tcp/30300", "net", "dropped; [fd00:2::40]:8080 masq"),  # ds-1 protected
    (FAR, "203.0.113.10", "tcp/30300", "net", "dropped; 10.244.2.40:8080 masq"),
    ("fd00:1::9", "fd00:96::51", "tcp/80", "net", "[fd00:1::40]:8080 ; [fd00:2::40]:8080"),
    ("fd00:1::9", "fd00:96::51", "tcp/81", "net", "rejected"),
]


@pytest.mark.parametrize("row", DUAL_ROWS, ids=lambda r: f"{r[0]}->{r[1]}:{r[2]}:{r[3]}")
def test_dual_stack(write_yaml: WriteYaml, row: Row) -> None:
    check(make_cluster(write_yaml, *DUAL), row)


# --- the API ----------------------------------------------------------------------------------------------


def test_reference_is_built_once_per_cluster_and_options(write_yaml: WriteYaml) -> None:
    cluster = make_cluster(write_yaml, *SERVICES)
    assert reference_for(cluster) is reference_for(cluster)
    assert reference_for(cluster, (ip_network("192.168.1.0/24"),)) is not reference_for(cluster)


def test_evaluation_at_scale(write_yaml: WriteYaml) -> None:
    """2 000 pods, 400 policies, 200 Services: every packet has one whole outcome (per-packet cost as the
    cluster grows is measured in bench/evaluate.py, not asserted here)."""
    texts = [NODES, namespace("big", "env: big")]
    for i in range(2000):
        node = "node-a" if i % 2 else "node-b"
        texts.append(pod(f"big/p{i}", f"10.244.{1 + i % 2}.{i // 2 % 250 + 1}", node, f"app: a{i % 200}"))
    for i in range(400):
        texts.append(
            policy(
                f"big/pol{i}",
                f"  podSelector: {{matchLabels: {{app: a{i % 200}}}}}\n"
                f"  ingress: [{{from: [{{podSelector: {{matchLabels: {{app: a{(i + 1) % 200}}}}}}}]}}]\n",
            )
        )
    for i in range(200):
        texts.append(
            service(f"s{i}", f"{{clusterIP: 10.96.2.{i + 1}, selector: {{app: a{i}}}, ports: [{{port: 80}}]}}")
        )
    cluster = make_cluster(write_yaml, *texts)
    reference = reference_for(cluster)
    reference.evaluate(packet(POD, "10.96.2.1", "tcp/80"))  # indexes built here
    for i in range(2000):
        out = reference.evaluate(packet(f"10.244.1.{i % 250 + 1}", f"10.96.2.{i % 200 + 1}", "tcp/80"))
        assert out.total == 1


# --- kube-proxy's interface detect-local modes (docs/semantics.md §1) ---------------------------------------

INTERFACE_CLUSTER = """
apiVersion: v1
kind: Node
metadata: {name: node-a}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.0.1}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-b}
spec: {podCIDR: 10.244.2.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.0.2}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec: {nodeName: node-a, containers: [{name: c, ports: [{containerPort: 8080}]}]}
status: {phase: Running, podIP: 10.244.1.5}
---
apiVersion: v1
kind: Pod
metadata: {name: web-b, labels: {app: web}}
spec: {nodeName: node-b, containers: [{name: c, ports: [{containerPort: 8080}]}]}
status: {phase: Running, podIP: 10.244.2.5}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {clusterIP: 10.96.0.10, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: local}
spec:
  type: NodePort
  clusterIP: 10.96.0.11
  externalTrafficPolicy: Local
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, nodePort: 30080}]
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
detectLocalMode: MODE
detectLocal: {bridgeInterface: cbr0, interfaceNamePrefix: veth}
"""
BOTH = "10.244.1.5:8080; 10.244.2.5:8080"

# (mode, source, interface it arrives on, destination, expected): only the interface tells pods apart
INTERFACE_ROWS = [
    ("BridgeInterface", "10.244.1.7", "cbr0", "10.96.0.10", BOTH),  # a pod's: source kept
    ("BridgeInterface", "10.244.1.7", "eth0", "10.96.0.10", BOTH.replace(";", " masq;") + " masq"),
    ("BridgeInterface", "10.244.1.7", "cbr01", "10.96.0.10", BOTH.replace(";", " masq;") + " masq"),  # not cbr0
    ("BridgeInterface", "203.0.113.9", "cbr0", "10.96.0.10", BOTH),  # the interface, not the address
    ("InterfaceNamePrefix", "10.244.1.7", "veth1a2b", "10.96.0.10", BOTH),
    ("InterfaceNamePrefix", "10.244.1.7", "veth", "10.96.0.10", BOTH),  # the prefix alone matches too
    ("InterfaceNamePrefix", "10.244.1.7", "vet", "10.96.0.10", BOTH.replace(";", " masq;") + " masq"),
    ("InterfaceNamePrefix", "10.244.1.7", "cbr0", "10.96.0.10", BOTH.replace(";", " masq;") + " masq"),
    # externalTrafficPolicy Local: a pod's packet gets the internal list, any other the local endpoint
    ("BridgeInterface", "10.244.2.7", "cbr0", "192.168.0.1", BOTH),
    ("BridgeInterface", "10.244.2.7", "eth0", "192.168.0.1", "10.244.1.5:8080"),
    ("InterfaceNamePrefix", "10.244.2.7", "veth0", "192.168.0.1", BOTH),
    ("InterfaceNamePrefix", "10.244.2.7", "", "192.168.0.1", "10.244.1.5:8080"),
]


@pytest.mark.parametrize("row", INTERFACE_ROWS, ids=lambda r: f"{r[0]}-{r[1]}-{r[2] or 'none'}-{r[3]}")
def test_interface_modes(write_yaml: WriteYaml, row: tuple[str, str, str, str, str]) -> None:
    mode, src, iif, dst, want = row
    directory = write_yaml(INTERFACE_CLUSTER.replace("MODE", mode), "input.yaml")
    cluster = Cluster(complete(load([str(directory)])), "node-a", detect_local_mode=mode)
    port = 30080 if dst == "192.168.0.1" else 80
    outcome = evaluate(cluster, Packet(ip_address(src), ip_address(dst), Protocol.TCP, port, iif=iif))
    assert outcome.distribution == expected(want), (row, outcome.describe(), outcome.reasons)
    assert str(Packet(ip_address(src), ip_address(dst), Protocol.TCP, port, iif=iif)).endswith(
        f"(network via {iif}, new)" if iif else "(network, new)"
    )
