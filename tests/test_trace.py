"""`trace` and `matrix`: real answers on the bundled example, multi-node journeys, and loud disagreement."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import netcompile.compile.compiler
import netcompile.pipeline
from netcompile.cli import app
from tests.conftest import ROOT, WriteYaml

runner = CliRunner()
EXAMPLES = str(ROOT / "examples")


def test_trace_service_through_policy_json() -> None:
    result = runner.invoke(
        app, ["trace", EXAMPLES, "--from", "shop/frontend-1", "--to", "shop/api", "--port", "9000", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["agree"] is True
    assert doc["from"] == "pod shop/frontend-1" and doc["to"] == "Service shop/api"
    assert doc["reference"] == [
        {"verdict": "delivered", "destination": "10.244.0.21", "port": 9000, "masquerade": False, "probability": "1/2"},
        {"verdict": "delivered", "destination": "10.244.0.22", "port": 9001, "masquerade": False, "probability": "1/2"},
    ]
    assert doc["compiled"] == doc["reference"]
    (hop,) = doc["hops"]
    assert 'Service "shop/api" port api (TCP 9000) -> 2 endpoints' in hop["reasons"]
    assert any('NetworkPolicy "shop/api-from-frontend" ingress[0] allows' in r for r in hop["reasons"])
    assert any(step.strip() == "nat-prerouting: jump services" for step in hop["path"])


def test_trace_denied_by_policy_text() -> None:
    result = runner.invoke(app, ["trace", EXAMPLES, "--from", "default/debug", "--to", "shop/db-0", "--port", "5432"])
    assert result.exit_code == 0, result.output
    assert "verdict     dropped" in result.stdout
    assert "isolated for ingress" in result.stdout
    assert result.stdout.rstrip().endswith("reference and compiled ruleset agree")


def test_trace_from_outside_to_node_port_is_masqueraded() -> None:
    result = runner.invoke(
        app,
        ["trace", EXAMPLES, "--from", "203.0.113.9", "--to", "192.168.50.10", "--port", "30080", "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {(r["destination"], r["port"], r["masquerade"], r["probability"]) for r in doc["reference"]} == {
        ("10.244.0.11", 8080, True, "1/2"),
        ("10.244.0.12", 8080, True, "1/2"),
    }
    assert doc["agree"]


def test_trace_usage_errors() -> None:
    result = runner.invoke(app, ["trace", EXAMPLES, "--from", "shop/nobody", "--to", "shop/api", "--port", "1"])
    assert result.exit_code == 2
    assert "shop/nobody: no pod or Service of that name in the input" in result.stderr
    result = runner.invoke(
        app, ["trace", EXAMPLES, "--from", "shop/api-1", "--to", "shop/api", "--port", "1", "--protocol", "icmp"]
    )
    assert result.exit_code == 2 and "--protocol 'icmp'" in result.stderr


def test_a_broken_ruleset_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove the policy rules that allow frontend -> api by hand: trace must say so and exit 1."""
    real = netcompile.compile.compiler.compile_cluster

    def broken(*args: object, **kwargs: object) -> object:
        output = real(*args, **kwargs)  # type: ignore[arg-type]
        output.text = (
            "\n".join(line for line in output.text.splitlines() if "shop/api-from-frontend ingress[0]" not in line)
            + "\n"
        )
        return output

    monkeypatch.setattr(netcompile.compile.compiler, "compile_cluster", broken)
    result = runner.invoke(app, ["trace", EXAMPLES, "--from", "shop/frontend-1", "--to", "shop/api", "--port", "9000"])
    assert result.exit_code == 1
    assert "DISAGREEMENT: the compiled ruleset does something else:" in result.stdout
    assert result.stdout.endswith("something else:\n                1  dropped\n")
    matrix = runner.invoke(app, ["matrix", EXAMPLES])
    assert matrix.exit_code == 1
    assert "ok !ok  -- !ok" in matrix.stdout  # frontend -> api: allowed by the reference, dropped by the ruleset
    assert "cells where the compiled ruleset disagrees with the reference" in matrix.stderr


TWO_NODES = """
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
metadata: {name: client, namespace: default, labels: {app: client}}
spec: {nodeName: node-b}
status: {phase: Running, podIP: 10.244.2.5}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: default, labels: {app: server}}
spec: {nodeName: node-a, containers: [{name: s, ports: [{containerPort: 80}, {containerPort: 81}]}]}
status: {phase: Running, podIP: 10.244.1.5}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-80-only}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress: [{ports: [{port: 80}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client-egress}
spec:
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 10.244.0.0/16}}], ports: [{port: 80}, {port: 81}]}]
"""


# A pod of node-b that no policy isolates.
FREE = """
---
apiVersion: v1
kind: Pod
metadata: {name: free, namespace: default, labels: {app: free}}
spec: {nodeName: node-b}
status: {phase: Running, podIP: 10.244.2.6}
"""


def test_matrix_across_two_nodes(write_yaml: WriteYaml) -> None:
    """client (node-b) -> server (node-a): egress judged on node-b, ingress on node-a."""
    d = write_yaml(TWO_NODES)
    result = runner.invoke(app, ["matrix", str(d), "--ports", "80,81,82", "--format", "json"])
    assert result.exit_code == 0, result.output
    cells = {(c["from"], c["to"]): c["delivered"] for c in json.loads(result.stdout)["cells"]}
    assert cells[("pod default/client", "default/server:80/tcp")] == "1"
    assert cells[("pod default/client", "default/server:81/tcp")] == "0"  # node-a's ingress policy
    assert cells[("pod default/client", "default/server:82/tcp")] == "0"  # node-b's egress policy
    trace = runner.invoke(
        app, ["trace", str(d), "--from", "default/client", "--to", "default/server", "--port", "81", "--format", "json"]
    )
    hops = json.loads(trace.stdout)["hops"]
    assert [h["node"] for h in hops] == ["node-b", "node-a"]


def test_trace_to_another_nodes_node_port_takes_two_hops(write_yaml: WriteYaml) -> None:
    """free (node-b, no egress policy) -> node-a's NodePort: node-b forwards, node-a DNATs and masquerades."""
    d = write_yaml(
        TWO_NODES
        + FREE
        + """---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  clusterIP: 10.96.0.5
  selector: {app: server}
  ports: [{port: 80, nodePort: 30080}]
"""
    )
    result = runner.invoke(
        app, ["trace", str(d), "--from", "default/free", "--to", "node-a", "--port", "30080", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [h["node"] for h in doc["hops"]] == ["node-b", "node-a"]
    assert doc["reference"] == [
        {"verdict": "delivered", "destination": "10.244.1.5", "port": 80, "masquerade": True, "probability": "1"}
    ]


ETP_LOCAL = """
---
apiVersion: v1
kind: Pod
metadata: {name: web-b, namespace: default, labels: {app: web}}
spec: {nodeName: node-b, containers: [{name: s, ports: [{containerPort: 80}]}]}
status: {phase: Running, podIP: 10.244.2.7}
---
apiVersion: v1
kind: Pod
metadata: {name: web-a, namespace: default, labels: {app: web}}
spec: {nodeName: node-a, containers: [{name: s, ports: [{containerPort: 80}]}]}
status: {phase: Running, podIP: 10.244.1.7}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  clusterIP: 10.96.0.6
  externalTrafficPolicy: Local
  selector: {app: web}
  ports: [{port: 80, nodePort: 30081}]
"""


def test_a_reply_that_bypasses_the_dnat_node_fails(write_yaml: WriteYaml) -> None:
    """free (node-b) -> node-a's externalTrafficPolicy Local NodePort: node-a DNATs without masquerade (a
    pod's traffic takes the cluster-wide list, source kept). To web-a (on node-a) the reply passes node-a
    and the connection works; to web-b, on the client's own node, the reply goes straight back to the
    client, which never sent to web-b: the connection fails, by both evaluators (the kernel agrees:
    tests/test_lab_repo.py, two nodes)."""
    d = write_yaml(TWO_NODES + FREE + ETP_LOCAL)
    result = runner.invoke(
        app, ["trace", str(d), "--from", "default/free", "--to", "node-a", "--port", "30081", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["reference"] == [
        {"verdict": "delivered", "destination": "10.244.1.7", "port": 80, "masquerade": False, "probability": "1/2"},
        {"verdict": "dropped", "destination": None, "port": None, "masquerade": False, "probability": "1/2"},
    ]
    assert doc["agree"]
    text = runner.invoke(app, ["trace", str(d), "--from", "default/free", "--to", "node-a", "--port", "30081"])
    assert "the reply: node-a DNATed 192.168.0.1:30081 to 10.244.2.7:80 without masquerade" in text.stdout
    # From node-a's own pod the DNAT node is the client's: both endpoints answer.
    local = runner.invoke(
        app, ["trace", str(d), "--from", "default/server", "--to", "node-a", "--port", "30081", "--format", "json"]
    )
    assert {r["verdict"] for r in json.loads(local.stdout)["reference"]} == {"delivered"}


def test_trace_and_matrix_print_the_compilers_notices_once(write_yaml: WriteYaml) -> None:
    """As compile does: a Service without DNAT is told about, once, though both nodes' rulesets say it."""
    d = write_yaml(
        TWO_NODES
        + "---\napiVersion: v1\nkind: Service\nmetadata: {name: db}\n"
        + "spec: {clusterIP: None, selector: {app: server}, ports: [{port: 5432}]}\n"
    )
    notice = 'notice: Service "default/db": headless Service (clusterIP: None): DNS only, no DNAT'
    for args in (["trace", str(d), "--from", "default/client", "--to", "default/server", "--port", "80"],
                 ["matrix", str(d), "--ports", "80"]):  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert result.stderr.count(notice) == 1, result.stderr


def test_matrix_ports_flag_is_checked() -> None:
    result = runner.invoke(app, ["matrix", EXAMPLES, "--ports", "80,x/udp"])
    assert result.exit_code == 2 and "--ports 'x/udp'" in result.stderr


BRIDGE = """
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {clusterIP: 10.96.0.5, selector: {app: server}, ports: [{port: 80}]}
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
detectLocalMode: BridgeInterface
detectLocal: {bridgeInterface: cbr0}
"""


def test_trace_gives_a_pods_packet_its_interface(write_yaml: WriteYaml) -> None:
    """detectLocalMode BridgeInterface: the client pod's packet arrives at node-b on the bridge (`via cbr0`),
    so kube-proxy takes it for a pod's and its ClusterIP connection keeps its source; node-b's own
    connection arrives on no interface and is masqueraded."""
    d = write_yaml(TWO_NODES + BRIDGE)
    for source, via, masquerade in (("default/client", " via cbr0", False), ("node:node-b", "", True)):
        argv = ["trace", str(d), "--from", source, "--to", "default/web", "--port", "80", "--format", "json"]
        result = runner.invoke(app, argv)
        assert result.exit_code in (0, 1), result.output
        doc = json.loads(result.stdout)
        first = doc["hops"][0]
        origin = "network" if via else "node"
        assert first["node"] == "node-b" and f"({origin}{via}, new)" in first["packet"], first
        assert [r["masquerade"] for r in doc["reference"]] == [masquerade], doc["reference"]
        assert doc["agree"]
