"""Dangling references (issue 13, point 3): each reported once, at its field, as a warning or (--strict) an error.

Every case here was silent before (exit 0, no word on stderr); the tests check the message, the position
of the referencing field, and that nothing is reported where the reference resolves.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from tempfile import TemporaryDirectory

import pytest
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

from netcompile.cli import app
from netcompile.compile.index import Cluster
from netcompile.load.manifests import load
from netcompile.load.references import dangling_references
from netcompile.model import ServiceType
from tests.conftest import ROOT, WriteYaml
from tests.strategies import Scenario, scenarios

runner = CliRunner()
EXAMPLES = str(ROOT / "examples")

WEB = """\
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: default, labels: {app: web}}
spec:
  containers:
  - name: web
    ports: [{name: http, containerPort: 8080}, {name: dns, containerPort: 53, protocol: UDP}]
status: {phase: Running, podIP: 10.244.0.5}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: default, labels: {app: client}}
spec:
  containers:
  - name: c
    ports: [{name: metrics, containerPort: 9100}]
status: {phase: Running, podIP: 10.244.0.6}
"""


def warnings(directory: Path, *argv: str) -> list[str]:
    """The warnings `compile` prints for the input in `directory` (it must still succeed)."""
    result = runner.invoke(app, ["compile", str(directory), *argv])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("#!/usr/sbin/nft -f\n")
    return [line.removeprefix("warning: ") for line in result.stderr.splitlines() if line.startswith("warning: ")]


def policy(spec: str, name: str = "p", namespace: str = "default") -> str:
    body = textwrap.indent(textwrap.dedent(spec).strip(), "  ")
    return (
        f"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{body}\n"
    )


def test_a_policy_selecting_no_pod(write_yaml: WriteYaml) -> None:
    d = write_yaml(WEB + policy("podSelector: {matchLabels: {app: wbe}}\ningress: [{ports: [{port: http}]}]"))
    assert warnings(d) == [
        f'{d}/input.yaml:23:16: NetworkPolicy "default/p": spec.podSelector: selects no pod of the input '
        "(namespace default, selector app=wbe): the policy applies to nothing"
    ]  # once: its named port is not reported again


def test_an_ingress_named_port_no_selected_pod_declares(write_yaml: WriteYaml) -> None:
    spec = """
    podSelector: {matchLabels: {app: web}}
    ingress:
    - ports:
      - port: htp
      - port: dns
      - {port: dns, protocol: UDP}
      - port: metrics
    """
    d = write_yaml(WEB + policy(spec))
    assert warnings(d) == [
        f'{d}/input.yaml:26:13: NetworkPolicy "default/p": spec.ingress[0].ports[0].port: named port "htp" is '
        'declared by no container of a selected pod; did you mean "http"?',
        f'{d}/input.yaml:27:13: NetworkPolicy "default/p": spec.ingress[0].ports[1].port: named port "dns" is '
        "declared by no container of a selected pod with protocol TCP (it is declared with UDP)",
        # `metrics` is declared by the client, which the policy does not select: for ingress, only the
        # selected pods count
        f'{d}/input.yaml:29:13: NetworkPolicy "default/p": spec.ingress[0].ports[3].port: named port "metrics" is '
        "declared by no container of a selected pod",
    ]


def test_an_egress_named_port_is_looked_up_on_the_peers(write_yaml: WriteYaml) -> None:
    """For egress the name is resolved on the destination: the peers, not the policy's own pods."""
    spec = """
    podSelector: {matchLabels: {app: client}}
    policyTypes: [Egress]
    egress:
    - to: [{podSelector: {matchLabels: {app: web}}}]
      ports: [{port: http}, {port: metrics}]
    - to: [{ipBlock: {cidr: 10.0.0.0/8}}]
      ports: [{port: metrics}]
    - ports: [{port: nope}]
    - to: [{podSelector: {matchLabels: {app: nobody}}}]
      ports: [{port: http}]
    """
    d = write_yaml(WEB + policy(spec))
    assert warnings(d) == [
        # http is the web pod's: fine; metrics is only the client's own
        f'{d}/input.yaml:27:34: NetworkPolicy "default/p": spec.egress[0].ports[1].port: named port "metrics" is '
        "declared by no container of a peer pod",
        # an ipBlock can hold any pod (the client too): no warning for [1]; no peers: every pod
        f'{d}/input.yaml:30:20: NetworkPolicy "default/p": spec.egress[2].ports[0].port: named port "nope" is '
        "declared by no container of a peer pod",
        f'{d}/input.yaml:32:20: NetworkPolicy "default/p": spec.egress[3].ports[0].port: named port "http" is '
        "declared by no container of a peer pod (the rule's `to` selects no pod)",
    ]


SERVICE = """\
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: default}}
spec:
  selector: {{{selector}}}
  clusterIP: 10.96.0.10
  ports:
{ports}
"""


def service(selector: str = "app: web", ports: str = "  - {port: 80, targetPort: http}") -> str:
    return SERVICE.format(selector=selector, ports=ports)


def test_a_service_selecting_no_pod(write_yaml: WriteYaml) -> None:
    d = write_yaml(WEB + service(selector="app: webb"))
    assert warnings(d) == [
        f'{d}/input.yaml:23:13: Service "default/web": spec.selector: selects no pod of the input '
        "(namespace default, selector app=webb): the Service has no endpoints"
    ]


def test_service_target_ports_named_and_numbered(write_yaml: WriteYaml) -> None:
    ports = """\
  - {name: a, port: 80, targetPort: htp}
  - {name: b, port: 81, targetPort: 8080}
  - {name: c, port: 82, targetPort: 9090}
  - {name: d, port: 53, protocol: UDP, targetPort: dns}
  - {name: e, port: 8080}
"""
    d = write_yaml(WEB + service(ports=ports))
    assert warnings(d) == [
        f'{d}/input.yaml:26:37: Service "default/web": spec.ports[0].targetPort: named port "htp" is declared by '
        'no container of a selected pod; did you mean "http"?',
        f'{d}/input.yaml:28:37: Service "default/web": spec.ports[2].targetPort: port 9090/TCP is declared by no '
        "container of the selected pod, which declares 53/UDP, 8080/TCP",
    ]


def test_a_numbered_target_port_is_fine_when_a_pod_declares_no_ports(write_yaml: WriteYaml) -> None:
    """Containers need not declare ports: a selected pod that declares none may serve any."""
    bare = WEB.replace("    ports: [{name: metrics, containerPort: 9100}]\n", "").replace("app: client", "app: web")
    d = write_yaml(bare + service(ports="  - {port: 80, targetPort: 9090}"))
    assert warnings(d) == []


def test_services_with_given_endpoints_or_no_selector_are_not_checked(write_yaml: WriteYaml) -> None:
    slices = """\
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-abc, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{port: 80}]
endpoints: [{addresses: [10.244.0.9]}]
"""
    d = write_yaml(WEB + service(selector="app: gone") + slices)
    assert warnings(d) == []


def test_pods_on_a_node_not_in_the_input(write_yaml: WriteYaml) -> None:
    node = """\
---
apiVersion: v1
kind: Node
metadata: {name: node-a}
spec: {podCIDR: 10.244.0.0/24}
"""
    text = WEB.replace("spec:\n  containers:\n  - name: web", "spec:\n  nodeName: node-b\n  containers:\n  - name: web")
    d = write_yaml(text + node)
    assert warnings(d) == [
        f'{d}/input.yaml:5:13: Pod "default/web-1": spec.nodeName: Node "node-b" is not in the input: no node\'s '
        'ruleset enforces policies for this pod; did you mean "node-a"?'
    ]
    # without Node objects, there is nothing to compare nodeName with
    (d / "input.yaml").write_text(text)
    assert warnings(d) == []


def test_an_undeclared_namespace_when_namespaces_are_declared(write_yaml: WriteYaml) -> None:
    namespaces = "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"
    typo = WEB.replace("name: client, namespace: default", "name: client, namespace: defualt")
    d = write_yaml(typo + namespaces + policy("podSelector: {matchLabels: {app: web}}", namespace="defualt"))
    assert warnings(d) == [
        f'{d}/input.yaml:12:37: Pod "defualt/client": metadata.namespace: namespace "defualt" is declared by no '
        'Namespace of the input; did you mean "default"?',
        f'{d}/input.yaml:25:32: NetworkPolicy "defualt/p": metadata.namespace: namespace "defualt" is declared by '
        'no Namespace of the input; did you mean "default"?',
    ]  # default itself needs no declaration: every cluster has it; that the policy selects nothing follows
    (d / "input.yaml").write_text(typo)
    assert warnings(d) == []  # no Namespace objects: nothing to compare with


def test_no_pods_in_the_input_no_pod_references_checked(write_yaml: WriteYaml) -> None:
    d = write_yaml(service(selector="app: web").removeprefix("---\n") + policy("podSelector: {}"))
    assert warnings(d) == []


# Manifests as kept in Git: Deployments, no Pods. A workload's pod template stands for its pods.
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec:
      containers:
      - name: web
        ports: [{name: http, containerPort: 8080}]
"""
HELM_TEST_POD = """\
---
apiVersion: v1
kind: Pod
metadata: {name: web-test, namespace: default, annotations: {helm.sh/hook: test}}
spec:
  containers: [{name: wget, image: busybox}]
"""


def test_workloads_without_pods_are_checked(write_yaml: WriteYaml) -> None:
    """Before, references were checked only when the input had Pods: a repository of Deployments got no
    word about a misspelled selector or port name."""
    second = service(ports="  - {port: 80, targetPort: htp}").replace("name: web,", "name: web2,")
    typos = service(selector="app: wbe") + second.replace("10.96.0.10", "10.96.0.11")
    d = write_yaml(DEPLOYMENT + typos + policy("podSelector: {matchLabels: {tier: frnt}}"))
    assert warnings(d) == [
        f'{d}/input.yaml:18:13: Service "default/web": spec.selector: selects no pod of the input '
        "(namespace default, selector app=wbe): the Service has no endpoints",
        f'{d}/input.yaml:30:28: Service "default/web2": spec.ports[0].targetPort: named port "htp" is declared '
        'by no container of a selected pod; did you mean "http"?',
        f'{d}/input.yaml:36:16: NetworkPolicy "default/p": spec.podSelector: selects no pod of the input '
        "(namespace default, selector tier=frnt): the policy applies to nothing",
    ]
    (d / "input.yaml").write_text(DEPLOYMENT + service() + policy("podSelector: {matchLabels: {tier: front}}"))
    assert warnings(d) == []


def test_a_bare_pod_beside_deployments_does_not_hide_their_pods(write_yaml: WriteYaml) -> None:
    """A Helm chart's test Pod beside its Deployment: before, the Pod made references checked against the
    Pods alone, and the Service and policy selecting the Deployment's pods were said to select none."""
    d = write_yaml(DEPLOYMENT + HELM_TEST_POD + service() + policy("podSelector: {matchLabels: {app: web}}"))
    assert warnings(d) == []


def test_a_numbered_target_port_names_the_template_that_lacks_it(write_yaml: WriteYaml) -> None:
    d = write_yaml(DEPLOYMENT + service(ports="  - {port: 80, targetPort: 9090}"))
    assert warnings(d) == [
        f'{d}/input.yaml:21:28: Service "default/web": spec.ports[0].targetPort: port 9090/TCP is declared by no '
        'container of the pod template of Deployment "default/web", which declares 8080/TCP'
    ]


def test_a_workload_in_an_undeclared_namespace(write_yaml: WriteYaml) -> None:
    namespaces = "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"
    d = write_yaml(DEPLOYMENT.replace("namespace: default", "namespace: shpo") + namespaces)
    assert warnings(d) == [
        f'{d}/input.yaml:3:34: Deployment "shpo/web": metadata.namespace: namespace "shpo" is declared by no '
        'Namespace of the input; did you mean "shop"?'
    ]


def test_the_bundled_example_has_no_dangling_reference() -> None:
    result = runner.invoke(app, ["compile", EXAMPLES, "--node", "node-a"])
    assert result.exit_code == 0
    assert "warning:" not in result.stderr


def test_pure_function_over_the_model(write_yaml: WriteYaml) -> None:
    d = write_yaml(WEB + policy("podSelector: {matchLabels: {app: wbe}}"))
    (found,) = dangling_references(load([str(d)]))
    assert (found.obj, found.path) == ('NetworkPolicy "default/p"', "spec.podSelector")
    assert str(found.position) == f"{d}/input.yaml:23:16"  # the field's: the loader kept where it is


BROKEN = WEB + policy("podSelector: {matchLabels: {app: wbe}}")


@pytest.mark.parametrize(
    "argv",
    [
        ["compile", "{d}", "--strict", "-o", "{out}"],
        ["--strict", "compile", "{d}", "-o", "{out}"],
        ["trace", "{d}", "--from", "default/client", "--to", "default/web-1", "--port", "80", "--strict"],
        ["matrix", "{d}", "--strict"],
        ["--strict", "lab", "{d}"],  # refused before any namespace is built
    ],
)
def test_strict_makes_them_errors_and_writes_nothing(write_yaml: WriteYaml, tmp_path: Path, argv: list[str]) -> None:
    d = write_yaml(BROKEN)
    out = tmp_path / "out.nft"
    result = runner.invoke(app, [a.format(d=d, out=out) for a in argv])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines()[-2:] == [
        f'{d}/input.yaml:23:16: NetworkPolicy "default/p": spec.podSelector: selects no pod of the input '
        "(namespace default, selector app=wbe): the policy applies to nothing",
        "netcompile: 1 dangling reference in the input (--strict); nothing was written",
    ]
    assert not out.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["compile", "{d}"],
        ["trace", "{d}", "--from", "default/client", "--to", "default/web-1", "--port", "8080"],
        ["matrix", "{d}"],
    ],
)
def test_every_verb_warns_once_and_keeps_its_exit_code(write_yaml: WriteYaml, argv: list[str]) -> None:
    d = write_yaml(BROKEN)
    result = runner.invoke(app, [a.format(d=d) for a in argv])
    assert result.exit_code == 0, result.output
    assert result.stdout
    assert result.stderr.count("spec.podSelector: selects no pod") == 1
    assert f'warning: {d}/input.yaml:23:16: NetworkPolicy "default/p"' in result.stderr


def test_stdin_gets_the_field_position() -> None:
    """Input from stdin cannot be read twice: the loader keeps the positions the diagnostics need."""
    result = runner.invoke(app, ["compile", "-"], input=BROKEN)
    assert result.exit_code == 0, result.output
    assert (
        'warning: <stdin>:23:16: NetworkPolicy "default/p": spec.podSelector: selects no pod of the input'
        in result.stderr
    )


def test_stdin_every_kind_of_reference_at_its_field() -> None:
    """A named policy port, targetPorts by name and by number, a nodeName and a namespace, all from stdin,
    each at its field's line:col."""
    text = (
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: default}\n---\n"
        "apiVersion: v1\nkind: Node\nmetadata: {name: node-a}\n---\n"
        + WEB.replace("podIP: 10.244.0.5}", "podIP: 10.244.0.5}\n  # x").replace(
            "spec:\n  containers:\n  - name: web", "spec:\n  nodeName: node-b\n  containers:\n  - name: web", 1
        )
        + service(ports="  - {name: a, port: 80, targetPort: htp}\n  - {name: b, port: 81, targetPort: 9999}")
        + policy("podSelector: {}\negress:\n- ports:\n  - port: 53\n  - {port: dnss, protocol: UDP}")
        + "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: lost\n  namespace: defualt\n"
    )
    result = runner.invoke(app, ["compile", "-"], input=text)
    assert result.exit_code == 0, result.output
    lines = text.splitlines()
    found = [line.removeprefix("warning: ") for line in result.stderr.splitlines() if line.startswith("warning: ")]
    where = {}
    for line in found:
        position, _, rest = line.partition(": ")
        _, row, col = position.split(":")
        path = rest.split(": ")[1]
        where[path] = lines[int(row) - 1][int(col) - 1 :]
    assert where == {
        "spec.nodeName": "node-b",
        "spec.ports[0].targetPort": "htp}",
        "spec.ports[1].targetPort": "9999}",
        "spec.egress[0].ports[1].port": "dnss, protocol: UDP}",
        "metadata.namespace": "defualt",
    }, result.stderr


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_packets=1))
def test_generated_clusters_positions_at_the_field_and_selection_as_the_cluster_sees_it(scenario: Scenario) -> None:
    """On generated clusters (tests/strategies.py): never an exception; each diagnostic's position is the
    line of its field (the key is on that line, or the field is not written and the nearest one is); a
    Service is said to select no pod exactly when the cluster's own selection finds none."""
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "cluster.yaml"
        path.write_text(scenario.yaml)
        objects = load([str(path)])
        found = dangling_references(objects)
    lines = scenario.yaml.splitlines()
    for d in found:
        assert d.position is not None and d.position.file == str(path)
        assert "\n" not in str(d)
        key = d.path.rsplit(".", 1)[-1]
        written = lines[d.position.line - 1]
        assert key in written or key in ("podSelector", "targetPort", "namespace"), (str(d), written)
    cluster = Cluster(objects, "node-a")
    sliced = {(s.meta.namespace, s.service_name) for s in objects.endpoint_slices}
    said = {d.obj for d in found if d.path == "spec.selector"}
    for svc in objects.services:
        if (
            svc.selector is None
            or svc.type == ServiceType.EXTERNAL_NAME
            or (svc.meta.namespace, svc.meta.name) in sliced
        ):
            continue
        empty = not cluster.select_pods(svc.meta.namespace, svc.selector) and bool(objects.pods)
        assert (svc.meta.ref in said) == empty
