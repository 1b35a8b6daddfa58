"""The lab: plans (no kernel), and real labs (marker `kernel`) on small scenarios, compared with the
reference evaluator and with expectations; teardown leaves nothing behind, also on errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from fractions import Fraction
from ipaddress import IPv4Address, IPv6Address, ip_network
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcompile.cli import app
from netcompile.compile.compiler import CompileOptions
from netcompile.compile.index import Cluster
from netcompile.host.nftlib import NftRejected
from netcompile.journeys import Network
from netcompile.lab import LabOptions, LabReport, run_lab
from netcompile.lab.expectations import expectation_probes, read_expectations
from netcompile.lab.expected import LabJourneys
from netcompile.lab.plan import IFNAMSIZ, POOL, PlanError, make_plan, new_prefix
from netcompile.lab.probes import ExpectError
from netcompile.lab.run import MISMATCH, OK, SKIPPED
from netcompile.lab.topology import leftovers
from netcompile.model import Objects, Protocol
from netcompile.pipeline import compile_nodes, complete, load
from netcompile.verify.packet import Origin, Outcome, Packet, Result, Verdict

WriteYaml = Callable[[str, str], Path]
runner = CliRunner()

# One node (no Node object), two web pods behind a ClusterIP, a Service without endpoints, a client pod.
SERVICES = """\
apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: web}}
spec: {containers: [{name: c, ports: [{containerPort: 8080, name: http}, {containerPort: 53, protocol: UDP}]}]}
status: {phase: Running, podIP: 10.244.0.5}
---
apiVersion: v1
kind: Pod
metadata: {name: web-2, labels: {app: web}}
spec: {containers: [{name: c, ports: [{containerPort: 8080, name: http}, {containerPort: 53, protocol: UDP}]}]}
status: {phase: Running, podIP: 10.244.0.6}
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec: {containers: [{name: c}]}
status: {phase: Running, podIP: 10.244.0.7}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: 10.96.0.10
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}, {name: dns, port: 53, protocol: UDP}]
---
apiVersion: v1
kind: Service
metadata: {name: empty}
spec:
  clusterIP: 10.96.0.11
  selector: {app: nothing}
  ports: [{port: 80}]
"""

# Two nodes; the shop namespace denies all ingress, the web pods admit only the front pod on http.
POLICIES = """\
apiVersion: v1
kind: Node
metadata: {name: node-a}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.1.10}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-b}
spec: {podCIDR: 10.244.2.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.1.11}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}}
spec: {nodeName: node-a, containers: [{name: c, ports: [{containerPort: 8080, name: http}]}]}
status: {phase: Running, podIP: 10.244.1.5}
---
apiVersion: v1
kind: Pod
metadata: {name: front, namespace: shop, labels: {app: front}}
spec: {nodeName: node-b, containers: [{name: c, ports: [{containerPort: 9000}]}]}
status: {phase: Running, podIP: 10.244.2.6}
---
apiVersion: v1
kind: Pod
metadata: {name: other, namespace: default}
spec: {nodeName: node-a, containers: [{name: c, ports: [{containerPort: 9000, protocol: UDP}]}]}
status: {phase: Running, podIP: 10.244.1.6}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: default}
spec: {nodeName: node-b, hostNetwork: true, containers: [{name: c, ports: [{containerPort: 9100}]}]}
status: {phase: Running}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 10.96.0.20
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-front, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: front}}}]
    ports: [{port: http}]
"""

# Two nodes: NodePort with externalTrafficPolicy Local, an externalIP, UDP, ClientIP affinity over two
# endpoints, hairpin through a one-endpoint Service, and an egress ipBlock with an except.
NODEPORTS = """\
apiVersion: v1
kind: Node
metadata: {name: node-a}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.1.10}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-b}
spec: {podCIDR: 10.244.2.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.1.11}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-a, labels: {app: web}}
spec: {nodeName: node-a, containers: [{name: c, ports: [{containerPort: 8080, name: http}]}]}
status: {phase: Running, podIP: 10.244.1.5}
---
apiVersion: v1
kind: Pod
metadata: {name: web-b, labels: {app: web}}
spec: {nodeName: node-b, containers: [{name: c, ports: [{containerPort: 8080, name: http}]}]}
status: {phase: Running, podIP: 10.244.2.5}
---
apiVersion: v1
kind: Pod
metadata: {name: solo, labels: {app: solo}}
spec: {nodeName: node-a, containers: [{name: c, ports: [{containerPort: 7000, protocol: UDP}]}]}
status: {phase: Running, podIP: 10.244.1.7}
---
apiVersion: v1
kind: Service
metadata: {name: web-local}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  clusterIP: 10.96.0.30
  selector: {app: web}
  ports: [{port: 80, targetPort: http, nodePort: 30080}]
---
apiVersion: v1
kind: Service
metadata: {name: solo}
spec:
  type: NodePort
  clusterIP: 10.96.0.31
  externalIPs: [203.0.113.50]
  sessionAffinity: ClientIP
  selector: {app: solo}
  ports: [{port: 70, targetPort: 7000, protocol: UDP, nodePort: 30070}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: solo-egress}
spec:
  podSelector: {matchLabels: {app: solo}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 10.244.0.0/16, except: [10.244.2.0/24]}}]
---
apiVersion: v1
kind: Service
metadata: {name: sticky}
spec:
  clusterIP: 10.96.0.32
  sessionAffinity: ClientIP
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
"""

# Dual-stack on two nodes: a dual-stack NodePort Service, an IPv6-only pod behind an IPv6-only Service,
# an IPv6 ipBlock with an except.
DUAL_STACK = """\
apiVersion: v1
kind: Node
metadata: {name: node-a}
spec: {podCIDRs: [10.244.1.0/24, "fd00:10:244:1::/64"]}
status: {addresses: [{type: InternalIP, address: 192.168.1.10}, {type: InternalIP, address: "fd00:192:168:1::10"}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-b}
spec: {podCIDRs: [10.244.2.0/24, "fd00:10:244:2::/64"]}
status: {addresses: [{type: InternalIP, address: 192.168.1.11}, {type: InternalIP, address: "fd00:192:168:1::11"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-a, labels: {app: web}}
spec: {nodeName: node-a, containers: [{name: c, ports: [{containerPort: 8080, name: http}]}]}
status: {phase: Running, podIPs: [{ip: 10.244.1.5}, {ip: "fd00:10:244:1::5"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-b, labels: {app: web}}
spec: {nodeName: node-b, containers: [{name: c, ports: [{containerPort: 8080, name: http}]}]}
status: {phase: Running, podIPs: [{ip: 10.244.2.5}, {ip: "fd00:10:244:2::5"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: v6only, labels: {app: v6only}}
spec: {nodeName: node-b, containers: [{name: c, ports: [{containerPort: 53, protocol: UDP}]}]}
status: {phase: Running, podIPs: [{ip: "fd00:10:244:2::7"}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  ipFamilyPolicy: RequireDualStack
  clusterIP: 10.96.0.30
  clusterIPs: [10.96.0.30, "fd00:96::30"]
  selector: {app: web}
  ports: [{port: 80, targetPort: http, nodePort: 30080}]
---
apiVersion: v1
kind: Service
metadata: {name: dns6}
spec:
  clusterIP: "fd00:96::53"
  clusterIPs: ["fd00:96::53"]
  selector: {app: v6only}
  ports: [{port: 53, protocol: UDP}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-ingress}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{ipBlock: {cidr: "fd00:10:244::/48", except: ["fd00:10:244:2::7/128"]}}, {ipBlock: {cidr: 10.244.0.0/16}}]
"""

POLICY_EXPECT = """\
apiVersion: netcompile/v1
kind: LabExpectations
expectations:
- {from: shop/front, to: service:shop/web, port: 80, expect: allow, pods: [shop/web-1], source: preserved}
- {from: shop/front, to: shop/web-1, port: http, expect: allow}
- {from: default/other, to: shop/web-1, port: 8080, expect: drop}
- {from: default/other, to: service:shop/web, port: 80, expect: deny}
- {from: 203.0.113.9, to: shop/front, port: 9000, expect: deny}
- {from: 203.0.113.9, to: default/other, port: 9000, protocol: UDP, expect: allow, source: preserved}
- {from: shop/front, to: default/agent, port: 9100, expect: allow, pods: [default/agent]}
- {from: node:node-b, to: shop/front, port: 9000, expect: allow}
"""


def without_lines(text: str, marker: str) -> str:
    """`text` without the lines holding `marker` (a rule, or a set element); an `elements = { }` block left
    empty goes too, since nft refuses one."""
    out: list[str] = []
    for line in text.splitlines(keepends=True):
        if marker in line:
            continue
        if line.strip() == "}" and out and out[-1].strip() == "elements = {":
            out.pop()
            continue
        out.append(line)
    return "".join(out)


def objects_of(write_yaml: WriteYaml, text: str) -> Objects:
    return load([str(write_yaml(text, "input.yaml"))])


def network_of(objects: Objects, oracle: Callable[[Cluster, Packet], Outcome] | None = None) -> Network:
    """The pipeline for every node, as the lab runs it: completed once, every node compiled."""
    return Network(compile_nodes(complete(objects), CompileOptions()), CompileOptions(), oracle=oracle)


def assert_clean(prefix: str) -> None:
    """No namespace of the lab is left, and no interface of it ever appeared in the host's namespace."""
    assert leftovers(prefix) == []
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    assert prefix not in links


def lab(objects: Objects, **options: object) -> LabReport:
    opts = LabOptions(timeout=1.0, **options)  # type: ignore[arg-type]  # generous: CI machines are slow
    return run_lab(objects, opts)


def row(report: LabReport, source: str, target: str, port: int) -> str:
    matches = [r for r in report.rows if r.probe.source.label == source and r.probe.target == target]
    matches = [r for r in matches if r.probe.port == port]
    assert len(matches) == 1, [(r.probe.source.label, r.probe.target) for r in report.rows]
    return str(matches[0].observed)


# --- plans (no kernel) -------------------------------------------------------------------------------


def test_plan_names_are_prefixed_and_fit(write_yaml: WriteYaml) -> None:
    objects = objects_of(write_yaml, POLICIES)
    plan = make_plan(network_of(objects), [IPv4Address("203.0.113.9")], "nc0a1b2c")
    names = [n.lan_if for n in plan.nodes] + [n.bridge_port for n in plan.nodes] + [plan.bridge]
    names += [p.pod_if for p in plan.pods if p.pod_if] + [p.node_if for p in plan.pods if p.node_if]
    names += [c.client_if for c in plan.clients] + [c.bridge_port for c in plan.clients]
    assert all(n.startswith("nc0a1b2c") and len(n) <= IFNAMSIZ for n in names), names
    assert all(ns.startswith("nc0a1b2c-") for ns in plan.namespaces)
    assert len(set(plan.namespaces)) == len(plan.namespaces) == 1 + 2 + 3 + 1  # lan, nodes, pods, client
    agent = plan.pod("default/agent")
    assert agent is not None and agent.host_network and agent.netns == plan.node("node-b").netns
    assert agent.address == IPv4Address("192.168.1.11")
    assert plan.gateway in POOL and plan.gateway not in {a for n in plan.nodes for a in n.addresses}
    assert plan.node_routing(IPv4Address("10.244.2.6")) == plan.node("node-b")


def test_plan_invents_node_addresses_and_notes_what_it_skips(write_yaml: WriteYaml) -> None:
    objects = objects_of(
        write_yaml,
        SERVICES
        + """\
---
apiVersion: v1
kind: Pod
metadata: {name: v6}
spec: {containers: [{name: c}]}
status: {phase: Running, podIP: "fd00::5"}
---
apiVersion: v1
kind: Pod
metadata: {name: sctp}
spec: {containers: [{name: c, ports: [{containerPort: 9, protocol: SCTP}]}]}
status: {phase: Running, podIP: 10.244.0.9}
""",
    )
    plan = make_plan(network_of(objects), [], "nc0a1b2d")
    (node,) = plan.nodes
    assert node.invented == node.addresses and node.primary in POOL  # an IPv4 and an IPv6 address, both chosen
    assert [a.version for a in node.addresses] == [4, 6] and plan.families == (4, 6)
    v6 = plan.pod("default/v6")
    assert v6 is not None and [str(a) for a in v6.addresses] == ["fd00::5"]
    assert any("default/sctp" in n and "SCTP" in n for n in plan.notes)
    web = plan.pod("default/web-1")
    assert web is not None and web.ports == ((Protocol.TCP, 8080), (Protocol.UDP, 53))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "{from: shop/nope, to: shop/web-1, port: 80, expect: allow}",
            "from: shop/nope: no pod or Service of that name",
        ),
        ("{from: shop/svc/web, to: shop/web-1, port: 80, expect: allow}", "Service shop/web cannot send"),
        ("{from: shop/front, to: shop/web-1, port: 80, expect: maybe}", 'expect: Unsupported value: "maybe"'),
        ("{from: shop/front, to: shop/web-1, port: nope, expect: allow}", "no port named 'nope'"),
        ("{from: shop/front, to: service:shop/x, port: 80, expect: allow}", "to: service:shop/x: no Service 'x'"),
        ("{from: shop/front, to: shop/po/x, port: 80, expect: allow}", "to: shop/po/x: no Pod 'x'"),
        ("{from: shop/front, to: shop/web-1, port: 80, expect: allow, colour: red}", "unknown field(s) colour"),
        ("{from: shop/front, to: shop/web-1, port: 80, protocol: SCTP, expect: allow}", 'Unsupported value: "SCTP"'),
    ],
)
def test_expectation_errors_name_the_entry(write_yaml: WriteYaml, entry: str, message: str) -> None:
    objects = objects_of(write_yaml, POLICIES)
    path = write_yaml(f"- {{from: shop/front, to: shop/web-1, port: http, expect: allow}}\n- {entry}\n", "e.yaml")
    entries = read_expectations(path / "e.yaml")
    plan = make_plan(network_of(objects), [], "nc0a1b2e")
    with pytest.raises(ExpectError) as info:
        expectation_probes(plan, objects, entries, "e.yaml")
    assert "e.yaml: entry 2" in str(info.value) and message in str(info.value)


def test_expectations_name_targets_as_trace_does(write_yaml: WriteYaml) -> None:
    """Lab files use trace's target grammar (netcompile.targets): the explicit kinds, the old `service:`
    prefix, and an error naming the explicit forms when a pod and a Service share a name."""
    objects = objects_of(write_yaml, POLICIES)
    plan = make_plan(network_of(objects), [], "nc0a1b30")
    forms = ["shop/service/web", "shop/svc/web", "service:shop/web", "shop/web"]
    path = write_yaml(
        "".join(f"- {{from: shop/po/front, to: {f}, port: 80, expect: allow}}\n" for f in forms), "e.yaml"
    )
    probes = expectation_probes(plan, objects, read_expectations(path / "e.yaml"), "e.yaml")
    assert {(p.target, str(p.dst), p.port) for p in probes} == {("service:shop/web", "10.96.0.20", 80)}
    assert {p.source.label for p in probes} == {"shop/front"}
    clash = objects_of(
        write_yaml,
        POLICIES
        + "\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec: {containers: [{name: c}]}\n"
        + "status: {phase: Running, podIP: 10.244.0.99}\n",
    )
    path = write_yaml("- {from: shop/front, to: shop/web, port: 80, expect: allow}\n", "e.yaml")
    with pytest.raises(ExpectError, match="shop/pod/web or shop/service/web"):
        plan = make_plan(network_of(clash), [], "nc0a1b31")
        expectation_probes(plan, clash, read_expectations(path / "e.yaml"), "e.yaml")


def test_expectation_composes_hops_across_nodes(write_yaml: WriteYaml) -> None:
    """A pod on node-b to the Service: node-b DNATs (and masquerades, in this fake), node-a drops half. The
    hops are journeys.Network's (as trace's), routed through the lab's plan."""
    objects = objects_of(write_yaml, POLICIES)
    seen: list[tuple[str | None, Packet]] = []
    web = IPv4Address("10.244.1.5")

    def oracle(cluster: Cluster, packet: Packet) -> Outcome:
        seen.append((cluster.node_name, packet))
        if cluster.node_name == "node-b":
            return Outcome.certain(Result(Verdict.DELIVERED, web, 8080, masquerade=True))
        return Outcome({Result(Verdict.DELIVERED, web, 8080): Fraction(1, 2), Result.dropped(): Fraction(1, 2)})

    network = network_of(objects, oracle)
    plan = make_plan(network, [], "nc0a1b2f")
    lab = LabJourneys(plan, network)
    got = lab.expect(src=IPv4Address("10.244.2.6"), dst=IPv4Address("10.96.0.20"), protocol=Protocol.TCP, port=80,
                     origin=Origin.NETWORK, node="node-b")  # fmt: skip
    node_b = plan.node("node-b").primary
    assert [(n, p.src, p.dst, p.origin) for n, p in seen] == [
        ("node-b", IPv4Address("10.244.2.6"), IPv4Address("10.96.0.20"), Origin.NETWORK),
        ("node-a", node_b, web, Origin.NETWORK),
    ]
    assert {str(f): p for f, p in got.distribution.items()} == {
        f"shop/web-1:8080 from {node_b}": Fraction(1, 2),
        "dropped": Fraction(1, 2),
    }


def test_lab_expectations_are_trace_journeys(write_yaml: WriteYaml) -> None:
    """One journey module: every probe of the lab's full matrix expects what trace's journey (journeys.py)
    gives, with the same compile options; and the options count (--nodeport-addresses leaves node-b's
    NodePorts unanswered when its address is outside the CIDRs; --cluster-cidr makes a pod external)."""
    from netcompile.journeys import Place
    from netcompile.lab import probes as pr
    from netcompile.lab.control import reference
    from netcompile.lab.expected import first_node

    objects = complete(objects_of(write_yaml, NODEPORTS))
    client = IPv4Address("198.51.100.7")
    only_a = CompileOptions(nodeport_addresses=(ip_network("192.168.1.10/32"),))
    narrow = CompileOptions(cluster_cidrs=(ip_network("10.244.1.0/24"),))
    seen: dict[CompileOptions, dict[tuple[str, str, int], set[tuple[str, str]]]] = {}
    for opts in (CompileOptions(), only_a, narrow):
        network = Network(compile_nodes(objects, opts), opts)
        plan = make_plan(network, [client], "nc0a1b32")
        lab = LabJourneys(plan, network)
        seen[opts] = {}
        for probe in pr.matrix(plan, network.objects, []):
            expected = reference(lab, probe)
            entry = lab.network_name(first_node(plan, probe.source.node, probe.dst))
            src = Place(probe.source.address, probe.source.label, entry, probe.source.origin == Origin.NODE)
            journey = network.journey(src, probe.dst, probe.port, probe.protocol, compiled=False)
            by_trace: dict[tuple[Verdict, str, int | None], Fraction] = {}
            for result, p in journey.reference.items():
                key = (result.verdict, str(result.dst or ""), result.dport)
                by_trace[key] = by_trace.get(key, Fraction(0)) + p
            by_lab: dict[tuple[Verdict, str, int | None], Fraction] = {}
            for final, p in expected.distribution.items():
                key = (final.verdict, str(final.address or ""), final.port)
                by_lab[key] = by_lab.get(key, Fraction(0)) + p
            assert by_lab == by_trace, probe
            what = (probe.source.label, probe.target, probe.port)
            seen[opts][what] = {(f.verdict.value, f.server or "") for f in expected.possible()}
    nodeport_b = (str(client), "nodeport:default/web-local@node-b", 30080)
    assert seen[CompileOptions()][nodeport_b] == {("delivered", "default/web-b")}
    assert seen[only_a][nodeport_b] == {("delivered", "")}  # not DNATed: to node-b itself, where nobody listens
    hairpin = ("default/solo", "service:default/solo", 70)
    assert seen[CompileOptions()][hairpin] == seen[narrow][hairpin] == {("delivered", "default/solo")}
    assert seen[narrow] != seen[CompileOptions()]


# --- real labs ---------------------------------------------------------------------------------------


@pytest.mark.kernel
def test_clusterip_and_no_endpoint_reject(write_yaml: WriteYaml) -> None:
    report = lab(objects_of(write_yaml, SERVICES), clients=[IPv4Address("198.51.100.20")])
    assert_clean(report.prefix)
    assert report.reference_used
    assert [r for r in report.rows if r.status == MISMATCH] == [], [r.to_json() for r in report.mismatches]
    assert all(r.status == OK for r in report.rows)
    # through the ClusterIP, a web pod answers and sees the client pod's own address
    answer = row(report, "default/client", "service:default/web", 80)
    assert answer.split(":")[0] in ("default/web-1", "default/web-2") and answer.endswith("saw 10.244.0.7")
    assert row(report, "default/client", "service:default/web", 53).endswith("saw 10.244.0.7")  # UDP
    # a Service without endpoints rejects, from everywhere
    for source in ("default/client", "node:node", "198.51.100.20"):
        assert row(report, source, "service:default/empty", 80) == "refused"
    # an outside client reaching a ClusterIP is masqueraded to the node's address
    node = row(report, "node:node", "default/web-1", 8080).split("saw ")[1]
    assert row(report, "198.51.100.20", "service:default/web", 80).endswith(f"saw {node}")


@pytest.mark.kernel
def test_network_policy_default_deny_on_two_nodes(write_yaml: WriteYaml) -> None:
    objects = objects_of(write_yaml, POLICIES)
    expect_file = write_yaml(POLICY_EXPECT, "expect.yaml") / "expect.yaml"
    report = lab(objects, expect_file=expect_file)
    assert_clean(report.prefix)
    assert [r.to_json() for r in report.rows if r.status != OK] == []
    assert len(report.rows) == 8
    assert row(report, "default/other", "shop/web-1", 8080) == "timeout"  # dropped by node-a's policy


@pytest.mark.kernel
def test_network_policy_full_matrix_and_broken_rule_is_pinpointed(write_yaml: WriteYaml) -> None:
    objects = objects_of(write_yaml, POLICIES)
    report = lab(objects)
    assert_clean(report.prefix)
    assert report.mismatches == [], [r.to_json() for r in report.mismatches]

    def remove_allow(node: str, text: str) -> str:  # the rule admitting shop/front into shop/web-1
        if node != "node-a":
            return text
        edited = without_lines(text, "web-from-front ingress[0]")
        assert len(edited.splitlines()) < len(text.splitlines())
        return edited

    broken = lab(objects, edit_ruleset=remove_allow)
    assert_clean(broken.prefix)
    bad = sorted((r.probe.source.label, r.probe.target, r.probe.port) for r in broken.mismatches)
    assert bad == [("shop/front", "service:shop/web", 80), ("shop/front", "shop/web-1", 8080)]


@pytest.mark.kernel
def test_nodeport_local_hairpin_affinity_ipblock_on_two_nodes(write_yaml: WriteYaml) -> None:
    client = "198.51.100.7"
    report = lab(objects_of(write_yaml, NODEPORTS), clients=[IPv4Address(client)], repeat=3)
    assert_clean(report.prefix)
    assert report.mismatches == [], [r.to_json() for r in report.mismatches]
    assert {r.round for r in report.rows} == {0, 1, 2}

    def answers(source: str, target: str, port: int) -> set[str]:
        key = (source, target, port)
        rows = [r for r in report.rows if (r.probe.source.label, r.probe.target, r.probe.port) == key]
        assert len(rows) == 3
        return {str(r.observed) for r in rows}

    # externalTrafficPolicy Local: an outside client reaches only the node's own endpoint, source preserved
    assert answers(client, "nodeport:default/web-local@node-a", 30080) == {f"default/web-a:8080 saw {client}"}
    assert answers(client, "nodeport:default/web-local@node-b", 30080) == {f"default/web-b:8080 saw {client}"}
    # hairpin: the only endpoint of the Service calls it and sees its node's address
    assert answers("default/solo", "service:default/solo", 70) == {"default/solo:7000 saw 192.168.1.10"}
    # egress ipBlock 10.244.0.0/16 except 10.244.2.0/24: node-b's pod network is out of reach
    assert answers("default/solo", "default/web-a", 8080) == {"default/web-a:8080 saw 10.244.1.7"}
    assert answers("default/solo", "default/web-b", 8080) == {"timeout"}
    # session affinity holds across rounds (checked by the lab for every source)
    assert len(answers(client, "service:default/sticky", 80)) == 1


@pytest.mark.kernel
def test_dual_stack_on_two_nodes(write_yaml: WriteYaml) -> None:
    report = lab(objects_of(write_yaml, DUAL_STACK), clients=[IPv4Address("198.51.100.7"), IPv6Address("2001:db8::7")])
    assert_clean(report.prefix)
    assert report.mismatches == [], [r.to_json() for r in report.mismatches]
    v6 = [r for r in report.rows if r.probe.dst.version == 6]
    assert len(v6) > len(report.rows) / 2
    # IPv6: the ipBlock except keeps the IPv6-only pod out; its node masquerades hairpin traffic
    assert row(report, "default/v6only", "default/web-a", 8080) == "timeout"
    assert row(report, "default/v6only", "service:default/dns6", 53) == "default/v6only:53 saw fd00:192:168:1::11"
    assert row(report, "2001:db8::7", "default/v6only", 53) == "default/v6only:53 saw 2001:db8::7"


@pytest.mark.kernel
def test_teardown_after_failed_apply_and_interrupt(write_yaml: WriteYaml) -> None:
    objects = objects_of(write_yaml, SERVICES)
    first, second = new_prefix(), new_prefix()
    with pytest.raises(NftRejected):
        lab(objects, prefix=first, edit_ruleset=lambda _, text: text + "chain inet netcompile x { bogus }\n")
    assert_clean(first)

    def interrupt(done: int, total: int) -> None:  # Ctrl-C while probes run
        if done == 1:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        lab(objects, prefix=second, progress=interrupt)
    assert_clean(second)


@pytest.mark.kernel
def test_two_labs_side_by_side(write_yaml: WriteYaml) -> None:
    objects = objects_of(write_yaml, SERVICES)
    reports: list[LabReport] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            reports.append(lab(objects))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({r.prefix for r in reports}) == 2
    for report in reports:
        assert_clean(report.prefix)
        assert report.mismatches == [] and all(r.status in (OK, SKIPPED) for r in report.rows)


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.kernel
def test_examples_full_matrix_and_expectations_pass() -> None:
    """`netcompile lab examples/`: nine pods, Services and policies (selectors, named ports, endPort,
    UDP, egress); every probe agrees with the reference, and the example expectations hold."""
    objects = load([str(EXAMPLES)])
    report = lab(objects)
    assert_clean(report.prefix)
    assert report.mismatches == [], [r.to_json() for r in report.mismatches]
    assert len({r.probe.source.label for r in report.rows}) >= 9
    expected = lab(objects, expect_file=EXAMPLES / "lab-expect.yaml")
    assert_clean(expected.prefix)
    assert [r.to_json() for r in expected.rows if r.status != OK] == []


def test_outside_address_inside_a_pod_network_is_refused(
    write_yaml: WriteYaml, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An address in `to` outside the cluster becomes a host of the lab; one inside a node's pod network
    that no running pod has cannot be anyone: exit 2 with the reason, before anything is built."""
    monkeypatch.setattr("netcompile.lab.run.os.geteuid", lambda: 0)
    objects = objects_of(write_yaml, POLICIES)
    path = write_yaml("- {from: shop/front, to: 10.244.1.99, port: 53, expect: deny}\n", "e.yaml") / "e.yaml"
    with pytest.raises(PlanError, match=r"outside address 10\.244\.1\.99 is inside the pod network 10\.244\.1\.0/24"):
        lab(objects, expect_file=path)


def test_a_pods_traffic_to_itself_is_refused_as_an_expectation(write_yaml: WriteYaml) -> None:
    objects = objects_of(write_yaml, POLICIES)
    path = write_yaml("- {from: shop/web-1, to: shop/web-1, port: 8080, expect: allow}\n", "e.yaml") / "e.yaml"
    with pytest.raises(ExpectError, match=r"entry 1: from and to are the same address .* no ruleset sees it"):
        expectation_probes(make_plan(network_of(objects), [], "nc0a1b30"), objects, read_expectations(path), "e.yaml")


def test_without_root_one_line_exit_2(write_yaml: WriteYaml, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("netcompile.lab.run.os.geteuid", lambda: 1000)
    result = runner.invoke(app, ["lab", str(write_yaml(SERVICES, "input.yaml"))])
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("netcompile:")]
    assert errors == ["netcompile: the lab needs root (network namespaces and nftables): run with sudo"]


@pytest.mark.kernel
def test_cli_json_and_exit_codes(write_yaml: WriteYaml, tmp_path: Path) -> None:
    directory = write_yaml(SERVICES, "input.yaml")
    result = runner.invoke(app, ["lab", str(directory), "--format", "json", "--timeout", "0.3"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["summary"]["mismatches"] == 0 and data["summary"]["probes"] == len(data["probes"]) > 0
    assert_clean(data["prefix"])
    broken = tmp_path / "broken.nft"  # the ruleset without any Service: ClusterIPs answer nothing
    broken.write_text("table inet netcompile {\n}\n")
    result = runner.invoke(app, ["lab", str(directory), "--ruleset", str(broken), "--timeout", "0.3"])
    assert result.exit_code == 1
    assert "MISMATCH" in result.stdout and "service:default/web" in result.stdout
    assert "mismatch" in result.stderr  # the summary
    result = runner.invoke(app, ["lab", str(directory), "--client", "nope"])
    assert result.exit_code == 2 and "must be an IPv4 or IPv6 address" in result.stderr


@pytest.mark.kernel
def test_cli_compile_options_shape_rulesets_and_reference(write_yaml: WriteYaml) -> None:
    """`lab` takes every compile option, as `compile` does: each node's ruleset is compiled with them and
    the reference follows them. With --nodeport-addresses naming node-a's address only, node-b's NodePort
    is not DNATed: the outside client's packet goes to node-b itself (a lab server the reference names)."""
    directory = write_yaml(NODEPORTS, "input.yaml")
    argv = ["lab", str(directory), "--client", "198.51.100.7", "--format", "json", "--timeout", "0.5"]
    argv += ["--nodeport-addresses", "192.168.1.10/32", "--cluster-cidr", "10.244.0.0/16", "--table", "labtest"]
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert_clean(data["prefix"])
    assert data["summary"]["mismatches"] == 0
    to_b = [p for p in data["probes"] if p["to"] == "nodeport:default/web-local@node-b" and p["from"] == "198.51.100.7"]
    assert [p["observed"]["pod"] for p in to_b] == ["node:node-b"], to_b
