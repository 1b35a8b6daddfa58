"""The realistic application repository (examples-repo/, issue 15.8) through the whole pipeline: the
repository and its `helm template` stream are the same cluster, the golden case compiles that stream,
and `netcompile lab` sends real packets through the kernel on the simulated cluster (one synthetic
node, every pod allocated an address) that agree with the reference, with the team's expectations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcompile.cli import app
from netcompile.lab.topology import leftovers
from netcompile.model import ServiceType
from netcompile.model.workloads import WorkloadKind
from netcompile.pipeline import CompileOptions, compile_paths, complete, load
from tests.conftest import ROOT

REPO = ROOT / "examples-repo"
MANIFESTS = REPO / "manifests"
STREAM = REPO / "helm-template.yaml"
EXPECT = REPO / "lab-expect.yaml"
GOLDEN_INPUT = ROOT / "golden" / "basic-repo-shop" / "00-input.yaml"
LOAD_BALANCER_IP = "172.18.255.114"  # allocated to ingress-nginx/ingress-nginx-controller from 172.18.255.0/24
runner = CliRunner()


def test_the_golden_case_is_the_stream() -> None:
    """golden/basic-repo-shop compiles the stream as it is in examples-repo/ (a copy: the case's layout)."""
    assert GOLDEN_INPUT.read_bytes() == STREAM.read_bytes()


def test_the_stream_is_the_repository() -> None:
    """`helm template`'s one stream and the repository's files are the same objects, in the same order,
    so they compile to the same ruleset."""
    folder, stream = load([str(MANIFESTS)]), load([str(STREAM)])
    for kind in ("namespaces", "pods", "services", "network_policies", "workloads", "ingresses"):
        names = [o.meta.key for o in getattr(folder, kind)]
        assert names == [o.meta.key for o in getattr(stream, kind)], kind
    assert (
        compile_paths([str(MANIFESTS)], CompileOptions())[1].text
        == compile_paths([str(STREAM)], CompileOptions())[1].text
    )


def test_the_repository_has_what_the_issue_asks_for() -> None:
    """Ten or so Deployments with Services on named target ports, a StatefulSet with a headless Service, a
    DaemonSet, a CronJob, an Ingress, Helm labels, NodePort and LoadBalancer Services left to the cluster,
    and the policies teams write; and the simulated cluster makes something of each, without a notice of
    a backend leading nowhere."""
    objects = load([str(MANIFESTS)])
    kinds = [w.kind for w in objects.workloads]
    assert kinds.count(WorkloadKind.DEPLOYMENT) >= 10
    assert {WorkloadKind.STATEFUL_SET, WorkloadKind.DAEMON_SET, WorkloadKind.CRON_JOB} <= set(kinds)
    shop = [s for s in objects.services if s.meta.namespace == "shop"]
    assert sum(isinstance(p.target_port, str) for s in shop for p in s.ports) >= 10
    assert any(s.headless for s in shop)
    left = [s for s in objects.services if s.type in (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER)]
    assert {s.type for s in left} == {ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER}
    assert all(p.node_port is None for s in left for p in s.ports) and all(not s.cluster_ips for s in left)
    helm = {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by", "helm.sh/chart"}
    assert all(helm <= set(w.meta.label_dict()) for w in objects.workloads if w.meta.namespace == "shop")
    assert [i.meta.key for i in objects.ingresses] == ["shop/shop"]
    policies = {p.meta.name for p in objects.network_policies}
    assert {"default-deny", "allow-dns", "allow-from-ingress-nginx", "payment-to-provider"} <= policies
    done = complete(objects)
    assert len(done.nodes) == 1 and all(p.ips and p.node_name for p in done.pods)
    keys = {s.meta.key for s in left}
    allocated = [s for s in done.services if s.meta.key in keys]
    assert all(s.cluster_ips and all(p.node_port is not None for p in s.ports) for s in allocated)
    assert not [n for n in done.notices if "Ingress" in n]


def _lab(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["lab", str(MANIFESTS), "--format", "json", *args])
    assert result.exit_code == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    prefix = data["prefix"]
    assert isinstance(prefix, str) and leftovers(prefix) == []
    return data


@pytest.mark.kernel
def test_lab_full_matrix_agrees_with_the_reference() -> None:
    """`netcompile lab examples-repo/manifests`: every pod of the simulated cluster probes every pod and
    Service port; every observation agrees with the reference, every drop answered by its control."""
    data = _lab()
    summary = data["summary"]
    assert isinstance(summary, dict) and summary["mismatches"] == summary["skipped"] == 0
    assert summary["probes"] == summary["ok"] >= 1000
    probes = data["probes"]
    assert isinstance(probes, list)
    sources = {p["from"] for p in probes}
    assert len(sources) >= 17  # every pod but the hostNetwork agent (its node sends for it)
    statuses = {p["observed"]["status"] for p in probes}
    assert {"answered", "timeout"} <= statuses
    # The LoadBalancer address the simulated cluster allocates (the input gives none) is a frontend, probed.
    balancer = [p for p in probes if p["to"] == "external:ingress-nginx/ingress-nginx-controller"]
    assert balancer and {p["dst"] for p in balancer} == {LOAD_BALANCER_IP}


@pytest.mark.kernel
def test_lab_on_two_nodes_agrees_with_the_reference() -> None:
    """`--nodes 2`: pods on both synthetic nodes, and pods that reach the admin NodePort
    (externalTrafficPolicy Local) of the other node, which DNATs them back to the endpoint beside them
    without masquerade: the reply never passes the DNAT node again, and the kernel fails the connection
    as the journey says (tests/test_trace.py: test_a_reply_that_bypasses_the_dnat_node_fails)."""
    data = _lab("--nodes", "2")
    summary = data["summary"]
    assert isinstance(summary, dict) and summary["mismatches"] == summary["skipped"] == 0
    assert summary["probes"] == summary["ok"] >= 1000
    probes = data["probes"]
    assert isinstance(probes, list)
    bypassed = [
        p
        for p in probes
        if p["to"].startswith("nodeport:shop/admin@kind-worker2") and p["from"].startswith("ingress-nginx/")
    ]
    assert bypassed and {p["observed"]["status"] for p in bypassed} == {"timeout"}


@pytest.mark.kernel
def test_lab_expectations_of_the_team_hold() -> None:
    """examples-repo/lab-expect.yaml: the front door (the LoadBalancer, the ingress controller), the app's own
    calls, DNS, the external CIDRs and the admin NodePort (allocated addresses and ports) hold with real packets."""
    data = _lab("--expect", str(EXPECT))
    probes = data["probes"]
    assert isinstance(probes, list) and len(probes) == 21
    assert [p for p in probes if p["status"] != "ok"] == []
    admin = [p for p in probes if p["port"] == 32342 and p["expect"]["expect"] == "allow"]
    assert len(admin) == 1 and admin[0]["observed"]["peer"] == "192.0.2.10"  # the client's own address


def test_expectations_name_the_allocated_node_port_and_load_balancer_address() -> None:
    """The expectations file's nodePort and LoadBalancer address are those allocation gives shop/admin and
    ingress-nginx/ingress-nginx-controller (stable: each from the object's identity)."""
    done = complete(load([str(MANIFESTS)]))
    services = {s.meta.key: s for s in done.services}
    assert [p.node_port for p in services["shop/admin"].ports] == [32342]
    balancer = services["ingress-nginx/ingress-nginx-controller"]
    assert [str(i.ip) for i in balancer.load_balancer_ingress] == [LOAD_BALANCER_IP]
    text = Path(EXPECT).read_text()
    assert "port: 32342" in text and f"to: {LOAD_BALANCER_IP}," in text
