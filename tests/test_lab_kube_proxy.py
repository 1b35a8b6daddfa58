"""kube-proxy's configuration with real packets (issue 21): each detectLocalMode, masqueradeAll, the drop
of unallocated Service addresses, and LoadBalancer source ranges per family, in the lab's network
namespaces. Every probe of the full matrix is compared with the reference (a mismatch fails); the rows
asserted here are the ones each setting changes, so a lab that ignored the setting would fail them.

The interface modes need the lab to build what kube-proxy's configuration describes: with
BridgeInterface the node's pod veths are ports of a bridge of that name; with InterfaceNamePrefix they
are named with the prefix (lab/plan.py, lab/topology.py), and the journeys give pods' packets the same
interface (journeys.Network.arrives_on), so the reference and the kernel see the same `iifname`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest

from netcompile.journeys import Network
from netcompile.lab import LabOptions, LabReport, run_lab
from netcompile.lab.backend import Backend
from netcompile.lab.plan import IFNAMSIZ, LabPlan, PlanError, make_plan
from netcompile.model import IPAddress
from netcompile.pipeline import CompileArgs, compile_nodes, complete, load

WriteYaml = Callable[[str, str], Path]

# Two nodes; web-a (node-a) and web-b (node-b) serve app=web behind a ClusterIP and behind a NodePort
# with externalTrafficPolicy Local, web-a alone behind another ClusterIP; client-a and client-b are plain
# pods.
CLUSTER = """\
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
metadata: {name: web-a, labels: {app: web, only: a}}
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
kind: Pod
metadata: {name: client-a}
spec: {nodeName: node-a, containers: [{name: c}]}
status: {phase: Running, podIP: 10.244.1.7}
---
apiVersion: v1
kind: Pod
metadata: {name: client-b}
spec: {nodeName: node-b, containers: [{name: c}]}
status: {phase: Running, podIP: 10.244.2.7}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: 10.96.0.10
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-a}
spec:
  clusterIP: 10.96.0.12
  selector: {only: a}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-local}
spec:
  type: NodePort
  clusterIP: 10.96.0.11
  externalTrafficPolicy: Local
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, nodePort: 30080}]
"""

CONFIG = """\
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
"""

# the rules the lab's nodes run: nftables, and the iptables back end (iptables-nft) for the rules that
# differ by configuration (tests/test_lab_iptables.py has the rest, with iptables-legacy too)
NFTABLES = Backend()
BACKENDS = [NFTABLES, Backend("iptables", "nft")]
CLIENT = "198.51.100.7"
PORTS = (80, 8080, 30080)
NODE_A = "192.168.1.10"


def run(
    write_yaml: WriteYaml,
    text: str,
    clients: tuple[IPAddress, ...] = (IPv4Address(CLIENT),),
    edit: Callable[[str, str], str] | None = None,
    expect_file: Path | None = None,
    args: dict[str, object] | None = None,
    backend: Backend = NFTABLES,
) -> LabReport:
    """The lab on `text`, compiled as `netcompile lab` compiles it (the input's configuration, overridden
    by `args` as by command-line options); no mismatch with the reference, nothing left behind."""
    given = CompileArgs(**(args or {}))  # type: ignore[arg-type]
    objects = complete(load([str(write_yaml(text, "input.yaml"))]), given.complete_options())
    compile_options = given.compile_options(objects.proxy_config)
    options = LabOptions(
        clients=list(clients),
        timeout=1.0,
        compile=compile_options,
        edit_ruleset=edit,
        expect_file=expect_file,
        backend=backend,
    )
    report = run_lab(objects, options, completed=True)
    assert not [n for n in report.namespaces if Path("/run/netns", n).exists()]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    assert report.prefix not in links
    return report


def answers(report: LabReport, source: str, target: str) -> set[str]:
    """What `source` observed of `target` on its Service port or the pod's (80, 30080, 8080), e.g.
    {"default/web-a:8080 saw 10.244.1.7"}."""
    key = (source, target)
    found = {
        str(r.observed) for r in report.rows if (r.probe.source.label, r.probe.target) == key and r.probe.port in PORTS
    }
    assert found, sorted({(r.probe.source.label, r.probe.target) for r in report.rows})
    return found


def seen_as(report: LabReport, source: str, target: str) -> set[str]:
    """The source addresses the answering pods saw (`saw X`), or the failures."""
    return {text.split(" saw ")[-1] for text in answers(report, source, target)}


def clean(report: LabReport) -> None:
    assert report.reference_used
    assert report.mismatches == [], [r.to_json() for r in report.mismatches]


# --- detectLocalMode ------------------------------------------------------------------------------------

# Per mode: (configuration, what client-b's packet to node-a's NodePort (externalTrafficPolicy Local) is
# there: a pod's, whose internal list holds web-b too, or an external client's, sent to web-a only)
MODES = {
    "ClusterCIDR": ("detectLocalMode: ClusterCIDR\nclusterCIDR: 10.244.0.0/16\n", "pod"),
    "NodeCIDR": ("detectLocalMode: NodeCIDR\n", "external"),  # node-b's pod network is not node-a's
    "BridgeInterface": ("detectLocalMode: BridgeInterface\ndetectLocal: {bridgeInterface: cbr0}\n", "external"),
    "InterfaceNamePrefix": (
        "detectLocalMode: InterfaceNamePrefix\ndetectLocal: {interfaceNamePrefix: veth}\n", "external"
    ),
    "none": ("detectLocalMode: ClusterCIDR\n", "external"),  # no clusterCIDR: kube-proxy's no-op detector
}  # fmt: skip


@pytest.mark.kernel
@pytest.mark.parametrize(
    "mode",
    [
        "ClusterCIDR",
        "NodeCIDR",
        "BridgeInterface",
        "InterfaceNamePrefix",
        "none",
    ],
)
@pytest.mark.parametrize("backend", BACKENDS, ids=str)
def test_detect_local_modes(write_yaml: WriteYaml, mode: str, backend: Backend) -> None:
    config, remote_pod = MODES[mode]
    report = run(write_yaml, CLUSTER + CONFIG + config, backend=backend)
    clean(report)
    # a pod's connection to a ClusterIP keeps its source (the detector takes it for a pod's) ...
    assert seen_as(report, "default/client-a", "service:default/web") == {"10.244.1.7"}
    # ... an outside client's is masqueraded to its node's address, unless nothing tells pods apart
    assert seen_as(report, CLIENT, "service:default/web-a") == ({CLIENT} if mode == "none" else {NODE_A})
    # node-b's pod at node-a's Local NodePort: from node-a's pod network (NodeCIDR), from its LAN
    # interface (the interface modes) or with no detector, it is external: node-a's own endpoint only
    to_a = answers(report, "default/client-b", "nodeport:default/web-local@node-a")
    if remote_pod == "external":
        assert to_a == {"default/web-a:8080 saw 10.244.2.7"}


@pytest.mark.kernel
@pytest.mark.parametrize(
    ("mode", "old", "new"),
    [("BridgeInterface", 'iifname != "cbr0"', 'iifname != "cbr9"'), ("InterfaceNamePrefix", '"veth*"', '"vxth*"')],
)
def test_the_kernel_reads_the_interface(write_yaml: WriteYaml, mode: str, old: str, new: str) -> None:
    """Renaming the interface in the applied rulesets makes the kernel masquerade pods' ClusterIP traffic,
    which the reference (reading the configuration) does not: the lab sees the difference. So the rows
    above pass because the real `iifname` matched, not by accident."""

    def rename(node: str, text: str) -> str:
        assert old in text
        return text.replace(old, new)

    report = run(write_yaml, CLUSTER + CONFIG + MODES[mode][0], edit=rename)
    wrong = {(r.probe.source.label, r.probe.target) for r in report.mismatches}
    assert ("default/client-a", "service:default/web") in wrong
    assert seen_as(report, "default/client-a", "service:default/web") == {NODE_A}


# --- masqueradeAll ----------------------------------------------------------------------------------------


@pytest.mark.kernel
@pytest.mark.parametrize("backend", BACKENDS, ids=str)
def test_masquerade_all(write_yaml: WriteYaml, backend: Backend) -> None:
    config = "clusterCIDR: 10.244.0.0/16\nnftables: {masqueradeAll: true}\n"
    report = run(write_yaml, CLUSTER + CONFIG + config, backend=backend)
    clean(report)
    # every connection to a ClusterIP is masqueraded, a pod's too; a pod's own address is not touched
    assert seen_as(report, "default/client-a", "service:default/web") == {NODE_A}
    assert seen_as(report, "default/client-a", "default/web-a") == {"10.244.1.7"}


# --- unallocated Service addresses ----------------------------------------------------------------------

SERVICE_CIDR = """\
---
apiVersion: networking.k8s.io/v1
kind: ServiceCIDR
metadata: {name: kubernetes}
spec: {cidrs: [10.96.0.0/24]}
"""
UNALLOCATED = IPv4Address("10.96.0.99")  # in the range, held by no Service; an outside host of the lab


def expect(write_yaml: WriteYaml, verdict: str) -> Path:
    entry = f"- {{from: default/client-a, to: {UNALLOCATED}, port: 80, expect: {verdict}}}\n"
    return write_yaml(entry, "expect.yaml") / "expect.yaml"


@pytest.mark.kernel
@pytest.mark.parametrize(
    ("documents", "args", "dropped"),
    [(SERVICE_CIDR, {}, True), ("", {"service_cidr": ("10.96.0.0/24",)}, True), ("", {}, False)],
    ids=["ServiceCIDR", "--service-cidr", "range unknown"],
)
def test_unallocated_service_addresses(
    write_yaml: WriteYaml, documents: str, args: dict[str, object], dropped: bool
) -> None:
    """A host at an address of the Service range that no Service holds (an outside host of the lab, named
    by an expectation): reached while the range is not known, dropped before any DNAT once it is, as
    kube-proxy's cluster-ips-check does."""
    expected = expect(write_yaml, "deny" if dropped else "allow")
    report = run(write_yaml, CLUSTER + documents, expect_file=expected, args=args)
    clean(report)
    assert all(r.status == "ok" for r in report.rows), [r.to_json() for r in report.rows]
    observed = {str(r.observed) for r in report.rows}
    assert (observed == {"timeout"}) == dropped, observed


# --- loadBalancerSourceRanges per family ------------------------------------------------------------------

DUAL_STACK_LB = """\
apiVersion: v1
kind: Node
metadata: {name: node-a}
spec: {podCIDRs: [10.244.1.0/24, "fd00:244:1::/64"]}
status: {addresses: [{type: InternalIP, address: 192.168.1.10}, {type: InternalIP, address: "fd00:192::10"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-a, labels: {app: web}}
spec: {nodeName: node-a, containers: [{name: c, ports: [{containerPort: 8080}]}]}
status:
  phase: Running
  podIP: 10.244.1.5
  podIPs: [{ip: 10.244.1.5}, {ip: "fd00:244:1::5"}]
---
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  ipFamilyPolicy: RequireDualStack
  ipFamilies: [IPv4, IPv6]
  clusterIPs: [10.96.0.12, "fd00:96::12"]
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, nodePort: 30081}]
  loadBalancerSourceRanges: [203.0.113.0/24]
status: {loadBalancer: {ingress: [{ip: 198.51.100.50}, {ip: "2001:db8:50::50"}]}}
"""


@pytest.mark.kernel
def test_load_balancer_source_ranges_per_family(write_yaml: WriteYaml) -> None:
    """The ranges are IPv4 only: an IPv4 client outside them is dropped at the IPv4 LoadBalancer IP, one
    inside is served; the IPv6 LoadBalancer IP is not filtered at all (kube-proxy ignores ranges of the
    other family)."""
    inside, outside, v6 = IPv4Address("203.0.113.9"), IPv4Address(CLIENT), IPv6Address("2001:db8::7")
    report = run(write_yaml, DUAL_STACK_LB, clients=(inside, outside, v6))
    clean(report)
    assert answers(report, str(outside), "external:default/lb") == {"timeout"}
    assert seen_as(report, str(inside), "external:default/lb") == {NODE_A}  # externalTrafficPolicy Cluster
    assert answers(report, str(v6), "external:default/lb") == {"default/web-a:8080 saw fd00:192::10"}


# --- plans (no kernel) ------------------------------------------------------------------------------------


def plan_for(write_yaml: WriteYaml, text: str) -> tuple[LabPlan, Network]:
    objects = complete(load([str(write_yaml(text, "input.yaml"))]))
    options = CompileArgs().compile_options(objects.proxy_config)
    network = Network(compile_nodes(objects, options), options)
    return make_plan(network, [IPv4Address(CLIENT)], prefix="nc000000"), network


def test_plans_build_the_interfaces_the_journeys_expect(write_yaml: WriteYaml) -> None:
    """InterfaceNamePrefix: each pod's veth on its node has the name its packets arrive on in the journeys;
    BridgeInterface: every node gets the bridge, and the pods' packets arrive on it; other modes: neither."""
    plan, network = plan_for(write_yaml, CLUSTER + CONFIG + MODES["InterfaceNamePrefix"][0])
    pods = [p for p in plan.pods if not p.host_network]
    assert pods and plan.pod_bridge == ""
    for pod in pods:
        assert pod.node_if.startswith("veth") and len(pod.node_if) <= IFNAMSIZ
        assert network.arrives_on(network.place_of_address(pod.address)) == pod.node_if
    assert len({p.node_if for p in pods}) == len(pods)
    plan, network = plan_for(write_yaml, CLUSTER + CONFIG + MODES["BridgeInterface"][0])
    assert plan.pod_bridge == "cbr0"
    assert {network.arrives_on(network.place_of_address(p.address)) for p in plan.pods} == {"cbr0"}
    plan, network = plan_for(write_yaml, CLUSTER + CONFIG + MODES["NodeCIDR"][0])
    assert plan.pod_bridge == "" and all(p.node_if.startswith("nc000000v") for p in plan.pods)
    assert {network.arrives_on(network.place_of_address(p.address)) for p in plan.pods} == {""}


def test_a_prefix_without_room_for_names_is_refused(write_yaml: WriteYaml) -> None:
    """A 15-byte prefix leaves no room for a suffix: two pods of one node would share a name."""
    config = CONFIG + "detectLocalMode: InterfaceNamePrefix\ndetectLocal: {interfaceNamePrefix: abcdefghijklmno}\n"
    with pytest.raises(PlanError, match="leaves too little room"):
        plan_for(write_yaml, CLUSTER.replace("nodeName: node-b", "nodeName: node-a") + config)
