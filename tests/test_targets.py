"""Targets of --from/--to (issue 13, point 4): one grammar, unambiguous; trace never prints None; matrix
says which pods it leaves out."""

from __future__ import annotations

import json
from ipaddress import ip_address
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcompile.cli import app
from netcompile.load.manifests import load
from netcompile.targets import TargetError, kind_named, parse, resolve
from tests.conftest import ROOT, WriteYaml

runner = CliRunner()
EXAMPLES = str(ROOT / "examples")

# What `kubectl run web --image=nginx --port=80 --expose` makes: a pod and a Service, both "default/web".
EXPOSED = """\
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {run: web}}
spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]}
status: {phase: Running, podIP: 10.244.0.5}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {run: web}
  clusterIP: 10.96.0.50
  ports: [{port: 80, targetPort: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: default}
spec: {containers: [{name: c, image: busybox}]}
status: {phase: Running, podIP: 10.244.0.6}
"""


def trace(d: Path, source: str, destination: str, *more: str) -> tuple[int, dict[str, object] | None, str]:
    result = runner.invoke(
        app, ["trace", str(d), "--from", source, "--to", destination, "--port", "80", "--format", "json", *more]
    )
    doc = json.loads(result.stdout) if result.exit_code == 0 else None
    return result.exit_code, doc, result.stderr


def test_a_pod_and_a_service_sharing_a_name_is_an_error_naming_both(write_yaml: WriteYaml) -> None:
    d = write_yaml(EXPOSED)
    for text in ("default/web", "web"):
        code, _, stderr = trace(d, "default/client", text)
        assert code == 2
        assert stderr == (
            f'netcompile: {text}: a Pod and a Service are both named "default/web": say which with '
            "default/pod/web or default/service/web\n"
        )


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("default/svc/web", "Service default/web"),
        ("default/service/web", "Service default/web"),
        ("default/SERVICES/web", "Service default/web"),
        ("default/services.core/web", None),  # no such group for Services: an unknown kind
        ("svc:default/web", "Service default/web"),
        ("service:web", "Service default/web"),
        ("default/po/web", "pod default/web"),
        ("default/Pod/web", "pod default/web"),
        ("default/pods/web", "pod default/web"),
        ("10.96.0.50", "Service default/web"),
        ("10.244.0.5", "pod default/web"),
    ],
)
def test_explicit_kinds_choose(write_yaml: WriteYaml, text: str, label: str | None) -> None:
    code, doc, stderr = trace(write_yaml(EXPOSED), "client", text)
    if label is None:
        assert code == 2 and 'unknown kind "services.core"' in stderr
        return
    assert code == 0, stderr
    assert doc is not None and doc["to"] == label and doc["from"] == "pod default/client"


def test_a_bare_name_is_in_namespace_default(write_yaml: WriteYaml) -> None:
    code, doc, stderr = trace(write_yaml(EXPOSED), "client", "default/svc/web")
    assert code == 0, stderr
    assert doc is not None and doc["from"] == "pod default/client"
    code, _, stderr = trace(write_yaml(EXPOSED), "clinet", "default/svc/web")
    assert code == 2
    assert (
        "clinet: no pod or Service of that name in namespace default, and no Node of that name, in the input; "
        'did you mean "client"?'
    ) in stderr


def test_nodes_by_node_prefix_and_by_bare_name() -> None:
    for source in ("node:node-a", "node-a", "no:node-a"):
        result = runner.invoke(
            app, ["trace", EXAMPLES, "--from", source, "--to", "shop/api", "--port", "9000", "--format", "json"]
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["from"] == "node node-a"
    result = runner.invoke(app, ["trace", EXAMPLES, "--from", "node:node-z", "--to", "shop/api", "--port", "9000"])
    assert result.exit_code == 2
    assert "node:node-z: no Node 'node-z' in the input; did you mean \"node-a\"?" in result.stderr


def test_helpful_errors(write_yaml: WriteYaml) -> None:
    d = write_yaml(EXPOSED)
    cases = {
        "default/svcs/web": 'unknown kind "svcs"; did you mean "svc"?',
        "default/deploy/web": "no Deployment 'web' in namespace default in the input",
        "svc/web": "(for a Service in namespace default, write default/service/web)",  # kubectl's KIND/NAME
        "default/node/x": "a Node has no namespace: write node:x",
        "a/b/c/d": "too many '/'",
        "default/": "a namespace and a name are needed",
        "node:x": "the input has no Node objects",
    }
    for text, message in cases.items():
        code, _, stderr = trace(d, "client", text)
        assert code == 2 and message in stderr, (text, stderr)
        assert stderr.startswith(f"netcompile: {text}: ")


def test_the_grammar_is_one_function() -> None:
    assert parse("10.0.0.1").address == ip_address("10.0.0.1")
    assert parse("2001:db8::1").address == ip_address("2001:db8::1")
    spec = parse("shop/sts/db")
    assert (spec.kind and spec.kind.name, spec.namespace, spec.name) == ("StatefulSet", "shop", "db")
    spec = parse("web")
    assert (spec.kind, spec.namespace, spec.name, spec.bare) == (None, "default", "web", True)
    spec = parse("node:node-a")
    assert (spec.kind and spec.kind.name, spec.namespace, spec.name) == ("Node", "", "node-a")
    assert [k and k.name for k in map(kind_named, ["DS", "deploy", "deployments.apps", "deploy.batch", "x"])] == [
        "DaemonSet",
        "Deployment",
        "Deployment",
        None,
        None,
    ]
    with pytest.raises(TargetError, match="empty target"):
        parse(" ")


def test_resolve_is_usable_without_a_network() -> None:
    """What lab expectations can call: the object a target names, from the loaded input alone."""
    objects = load([EXAMPLES])
    target = resolve("shop/svc/api", objects)
    assert (target.kind, target.key, target.label) == ("Service", "shop/api", "Service shop/api")
    assert resolve("shop/frontend-1", objects).kind == "Pod"
    assert resolve("node:node-a", objects).label == "node node-a"
    assert resolve("198.51.100.7", objects).kind == "address"


def test_trace_never_prints_none(write_yaml: WriteYaml) -> None:
    """No Node objects: the implied node is named as compile names it."""
    d = write_yaml(EXPOSED)
    result = runner.invoke(app, ["trace", str(d), "--from", "client", "--to", "default/svc/web", "--port", "80"])
    assert result.exit_code == 0, result.output
    assert "None" not in result.stdout
    assert "entering (single node)" in result.stdout
    assert "\nat (single node): tcp 10.244.0.6:40000 -> 10.96.0.50:80" in result.stdout
    code, doc, _ = trace(d, "client", "default/svc/web")
    assert doc is not None and doc["entry"] == "(single node)"
    assert [hop["node"] for hop in doc["hops"]] == ["(single node)"]  # type: ignore[attr-defined]
    # --node names the implied node, as compile's header does
    code, doc, _ = trace(d, "client", "default/svc/web", "--node", "only")
    assert code == 0 and doc is not None and doc["entry"] == "only"


def test_trace_help_documents_the_forms() -> None:
    result = runner.invoke(app, ["trace", "--help"], terminal_width=120)
    assert result.exit_code == 0
    for form in ("ns/name", "ns/kind/name", "node:NAME", "ADDRESS", "default/name", "svc"):
        assert form in result.stdout


LEFT_OUT = """\
apiVersion: v1
kind: Pod
metadata: {name: done, namespace: jobs}
spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
status: {phase: Succeeded, podIP: 10.244.0.7}
---
apiVersion: v1
kind: Pod
metadata: {name: failed, namespace: jobs}
spec: {containers: [{name: c}]}
status: {phase: Failed}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: kube-system}
spec: {hostNetwork: true, containers: [{name: c, ports: [{containerPort: 9100}]}]}
status: {phase: Running}
---
apiVersion: v1
kind: Pod
metadata: {name: new, namespace: default}
spec: {containers: [{name: c}]}
status: {phase: Pending}
---
apiVersion: v1
kind: Pod
metadata: {name: starting, namespace: default}
spec: {containers: [{name: c}]}
status: {phase: Running}
"""


def test_matrix_says_which_pods_it_leaves_out(write_yaml: WriteYaml) -> None:
    d = write_yaml(EXPOSED + "---\n" + LEFT_OUT)
    result = runner.invoke(app, ["matrix", str(d), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    reasons = {entry["pod"]: entry["reason"] for entry in doc["left_out"]}
    assert reasons == {
        "default/new": "not running (phase Pending)",
        "default/starting": "no address (status.podIP is not set)",
        "jobs/done": "completed (phase Succeeded): its containers no longer run",
        "jobs/failed": "completed (phase Failed): its containers no longer run",
        "kube-system/agent": "hostNetwork: it uses its node's addresses (probe the node: trace --from node:NAME)",
    }
    notices = [line for line in result.stderr.splitlines() if line.startswith("notice: matrix leaves out")]
    assert notices == [f"notice: matrix leaves out pod {pod}: {reason}" for pod, reason in reasons.items()]
    # the pod and the Service named default/web do not confuse the matrix: its rows and columns are pods
    assert [(c["from"], c["to"], c["delivered"]) for c in doc["cells"]] == [
        ("pod default/client", "default/web:80/tcp", "1")
    ]
    text = runner.invoke(app, ["matrix", str(d)])
    assert text.exit_code == 0 and "notice: matrix leaves out pod jobs/done" in text.stderr
