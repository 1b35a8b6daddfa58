"""Targets of --from/--to (issue 13, point 4): one grammar, unambiguous; trace never prints None; matrix
says which pods it leaves out."""

from __future__ import annotations

import json
from ipaddress import ip_address
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcompile.cli import app
from netcompile.compile.compiler import CompileOptions
from netcompile.journeys import Network
from netcompile.lab.expectations import expectation_probes, read_expectations
from netcompile.lab.plan import make_plan
from netcompile.lab.probes import ExpectError
from netcompile.load.manifests import load
from netcompile.pipeline import compile_nodes, complete
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


# --- workloads (issue 15): ns/kind/name means one of its pods -----------------------------------------

WORKLOADS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: client, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: client}}
  template:
    metadata: {labels: {app: client}}
    spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: idle, namespace: shop}
spec:
  replicas: 0
  selector: {matchLabels: {app: idle}}
  template:
    metadata: {labels: {app: idle}}
    spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: postgres, ports: [{containerPort: 5432}]}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: shop}
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: backup}}
        spec: {restartPolicy: OnFailure, containers: [{name: b, image: busybox}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: http}]
"""
# db-0 alone lets the clients in: the StatefulSet's pods no longer behave alike
DB0_FROM_CLIENT = """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db0, namespace: shop}
spec:
  podSelector: {matchLabels: {statefulset.kubernetes.io/pod-name: db-0}}
  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}]}]
"""


def _pods_of(d: Path, owner: str) -> list[str]:
    result = runner.invoke(app, ["get", str(d), "pods"])
    assert result.exit_code == 0, result.output
    return sorted(line.split()[1] for line in result.stdout.splitlines()[1:] if line.split()[-1] == owner)


@pytest.mark.parametrize(
    ("text", "owner"),
    [
        ("shop/deployment/web", "Deployment/web"),
        ("shop/deploy/web", "Deployment/web"),
        ("shop/Deployments.apps/web", "Deployment/web"),
        ("deploy:shop/web", "Deployment/web"),
        ("shop/sts/db", "StatefulSet/db"),
        ("shop/statefulset/db", "StatefulSet/db"),
        ("shop/cj/backup", "CronJob/backup"),
        ("shop/cronjob/backup", "CronJob/backup"),
        ("shop/client", "Deployment/client"),  # ns/name: the one object of that name is a Deployment
    ],
)
def test_a_workload_means_its_first_pod_by_name(write_yaml: WriteYaml, text: str, owner: str) -> None:
    d = write_yaml(WORKLOADS)
    first = _pods_of(d, owner)[0]
    code, doc, stderr = trace(d, text, "shop/svc/web")
    assert code == 0, stderr
    assert doc is not None
    kind, _, name = owner.partition("/")
    assert doc["from"] == f"pod shop/{first} of shop/{kind.lower()}/{name}"
    objects = load([str(d)])
    target = resolve(text, complete(objects))
    assert (target.kind, target.key, target.workload) == ("Pod", f"shop/{first}", f"shop/{kind.lower()}/{name}")


def test_workload_errors_name_the_explicit_forms(write_yaml: WriteYaml) -> None:
    d = write_yaml(WORKLOADS)
    cases = {
        "shop/web": 'a Service and a Deployment are both named "shop/web": say which with shop/service/web or '
        "shop/deployment/web",
        "shop/deploy/idle": "Deployment shop/idle: it has no pods (replicas: 0?): name a pod (shop/pod/NAME) or a "
        "Service (shop/svc/NAME) instead",
        "shop/deploy/wbe": "no Deployment 'wbe' in namespace shop in the input; did you mean \"web\"?",
        "shop/ds/web": "no DaemonSet 'web' in namespace shop in the input",
        "other/deploy/web": "no Deployment 'web' in namespace other in the input",
    }
    for text, message in cases.items():
        code, _, stderr = trace(d, "shop/deploy/client", text)
        assert code == 2 and message in stderr, (text, stderr)


def test_a_snapshot_of_pods_names_its_deployments(write_yaml: WriteYaml) -> None:
    """`kubectl get pods -o yaml` has no Deployment: its pods' ReplicaSet and pod-template-hash name it."""
    d = write_yaml(WORKLOADS)
    manifests = runner.invoke(app, ["get", str(d), "pods,svc", "--format", "yaml"]).stdout
    snapshot = write_yaml(manifests, "snapshot.yaml").parent / "snap"
    snapshot.mkdir()
    (snapshot / "pods.yaml").write_text(manifests)
    code, doc, stderr = trace(snapshot, "shop/deploy/client", "shop/web")  # ns/name: the Service alone now
    assert code == 0, stderr
    assert doc is not None and str(doc["from"]).endswith(" of shop/deployment/client")


def _matrix(d: Path, *more: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["matrix", str(d), *more])
    return result.exit_code, result.stdout, result.stderr


def test_matrix_shows_a_row_per_workload_whose_pods_behave_alike(write_yaml: WriteYaml) -> None:
    d = write_yaml(WORKLOADS)
    code, out, stderr = _matrix(d)
    assert code == 0, stderr
    rows = [line.split("  ")[0] for line in out.splitlines()[1:] if line and not line.startswith(" ")]
    assert rows[:4] == [
        "shop/cronjob/backup (1 pod)",
        "shop/deployment/client (2 pods)",
        "shop/statefulset/db (2 pods)",
        "shop/deployment/web (3 pods)",
    ]
    assert "  1 = shop/statefulset/db (2 pods):5432/tcp" in out
    assert "  2 = shop/deployment/web (3 pods):8080/tcp" in out
    cells = {line.split("  ")[0]: line.split()[-2:] for line in out.splitlines()[1:5]}
    assert cells["shop/deployment/client (2 pods)"] == ["ok", "ok"]
    assert cells["shop/deployment/web (3 pods)"] == ["ok", "--"]  # web to web: not from a client
    assert "pod by pod" not in stderr
    # --pods: every pod, as before
    code, out, _ = _matrix(d, "--pods")
    assert code == 0
    assert sum(1 for line in out.splitlines() if line.startswith("shop/web-")) == 3


def test_matrix_splits_a_workload_whose_pods_differ(write_yaml: WriteYaml) -> None:
    d = write_yaml(WORKLOADS + DB0_FROM_CLIENT)
    code, out, stderr = _matrix(d, "--external", "203.0.113.9")
    assert code == 0, stderr
    assert "notice: matrix shows shop/statefulset/db pod by pod: its pods do not behave alike" in stderr
    lines = out.splitlines()
    assert any(line.startswith("shop/db-0 ") for line in lines) and any(line.startswith("shop/db-1 ") for line in lines)
    assert any(line.startswith("shop/deployment/client (2 pods)") for line in lines)
    assert any(line.startswith("external 203.0.113.9") for line in lines)
    assert "  1 = shop/db-0:5432/tcp" in out and "  2 = shop/db-1:5432/tcp" in out
    web = next(line for line in lines if line.startswith("shop/deployment/web"))
    assert web.split()[-3:] == ["--", "ok", "--"]  # db-0 lets only the clients in, db-1 (no policy) anyone
    doc = json.loads(runner.invoke(app, ["matrix", str(d), "--format", "json"]).stdout)
    alike = {w["workload"]: w["alike"] for w in doc["workloads"]}
    assert next(w["pods"] for w in doc["workloads"] if not w["alike"]) == ["shop/db-0", "shop/db-1"]
    assert alike == {
        "shop/cronjob/backup": True,
        "shop/deployment/client": True,
        "shop/statefulset/db": False,
        "shop/deployment/web": True,
    }


def test_lab_expectations_name_workloads_as_trace_does(write_yaml: WriteYaml) -> None:
    """A lab file's from/to take workloads too: the same pod as trace's, planned in the lab (no kernel)."""
    d = write_yaml(WORKLOADS)
    objects = complete(load([str(d)]))
    plan = make_plan(Network(compile_nodes(objects, CompileOptions()), CompileOptions()), [], "nc0a1b40")
    entries = (
        "- {from: shop/deploy/client, to: shop/deployment/web, port: http, expect: allow}\n"
        "- {from: shop/sts/db, to: shop/svc/web, port: 80, expect: deny}\n"
    )
    path = write_yaml(entries, "e.yaml")
    probes = expectation_probes(plan, objects, read_expectations(path / "e.yaml"), "e.yaml")
    client = _pods_of(d, "Deployment/client")[0]
    web = _pods_of(d, "Deployment/web")[0]
    assert [(p.source.label, p.target, p.port) for p in probes] == [
        (f"shop/{client}", f"shop/{web}", 8080),
        ("shop/db-0", "service:shop/web", 80),
    ]
    idle = write_yaml("- {from: shop/deploy/idle, to: shop/svc/web, port: 80, expect: deny}\n", "e.yaml")
    with pytest.raises(ExpectError, match=r"e.yaml: entry 1: from: shop/deploy/idle: Deployment shop/idle: it has no"):
        expectation_probes(plan, objects, read_expectations(idle / "e.yaml"), "e.yaml")
