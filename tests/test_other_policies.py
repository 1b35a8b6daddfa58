"""Policies of other network-policy engines (Calico, Cilium, Antrea, SIG Network's AdminNetworkPolicy API):
netcompile does not model them, and what they allow or deny changes what reaches whom. Each is a warning
at its apiVersion, never silently skipped nor folded into the summary of kinds netcompile does not read;
the rest of the input compiles as it would without them. A Calico `NetworkPolicy` is not refused as a
Kubernetes NetworkPolicy of an unsupported version."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcompile.cli import app
from tests.conftest import WriteYaml

runner = CliRunner()

K8S_POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}}
"""

FOREIGN = """\
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: allow-db, namespace: shop}
spec: {selector: role == 'db', types: [Ingress]}
---
apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata: {name: default-deny}
spec: {selector: all()}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: l3, namespace: shop}
spec: {endpointSelector: {matchLabels: {role: db}}}
---
apiVersion: crd.antrea.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: acnp}
spec: {priority: 5}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: cluster-control}
spec: {priority: 34, subject: {namespaces: {}}}
"""


def run(directory: Path) -> tuple[str, list[str], list[str]]:
    result = runner.invoke(app, ["compile", str(directory)])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    return result.stdout, [w.removeprefix("warning: ") for w in lines if w.startswith("warning: ")], lines


def test_each_foreign_policy_is_a_warning_at_its_api_version(write_yaml: WriteYaml) -> None:
    d = write_yaml(K8S_POLICY + FOREIGN)
    _, warnings, _ = run(d)
    tail = (
        ", which netcompile does not model: the ruleset and every answer (matrix, trace, diff, lint) leave this "
        "policy out"
    )
    assert warnings == [
        f'{d}/input.yaml:6:13: NetworkPolicy "shop/allow-db": apiVersion: projectcalico.org/v3 is Calico\'s policy API'
        + tail,
        f'{d}/input.yaml:11:13: GlobalNetworkPolicy "default-deny": apiVersion: crd.projectcalico.org/v1 is Calico\'s '
        "policy API" + tail,
        f'{d}/input.yaml:16:13: CiliumNetworkPolicy "shop/l3": apiVersion: cilium.io/v2 is Cilium\'s policy API' + tail,
        f'{d}/input.yaml:21:13: ClusterNetworkPolicy "acnp": apiVersion: crd.antrea.io/v1beta1 is Antrea\'s policy API'
        + tail,
        f'{d}/input.yaml:26:13: AdminNetworkPolicy "cluster-control": apiVersion: policy.networking.k8s.io/v1alpha1 is '
        "SIG Network's AdminNetworkPolicy API" + tail,
    ]
    for warning in warnings:  # each points at its apiVersion's value
        position = warning.split(": ", 1)[0]
        row, col = (int(n) for n in position.rsplit(":", 2)[1:])
        line = (d / "input.yaml").read_text().splitlines()[row - 1]
        assert line[col - 1 :].startswith(warning.split("apiVersion: ")[1].split(" ")[0])


def test_the_rest_compiles_as_without_them(write_yaml: WriteYaml, tmp_path: Path) -> None:
    alone, _, _ = run(write_yaml(K8S_POLICY))
    other = tmp_path / "other"
    other.mkdir()
    (other / "input.yaml").write_text(K8S_POLICY + FOREIGN)
    together, _, stderr = run(other)
    assert together == alone
    assert not any("skipped" in line for line in stderr)  # warned about, not summed up with ConfigMaps


def test_other_kinds_of_those_groups_are_only_counted(write_yaml: WriteYaml) -> None:
    pool = "---\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: pool}\nspec: {cidr: 10.0.0.0/16}\n"
    _, warnings, stderr = run(write_yaml(K8S_POLICY + pool))
    assert warnings == []
    assert "notice: skipped 1 object of 1 kind netcompile does not read: IPPool.projectcalico.org (1)" in stderr


@pytest.mark.parametrize("version", ["networking.k8s.io/v1beta1", "extensions/v1beta1"])
def test_a_kubernetes_policy_of_another_version_is_still_an_error(write_yaml: WriteYaml, version: str) -> None:
    result = runner.invoke(app, ["compile", str(write_yaml(K8S_POLICY.replace("networking.k8s.io/v1", version)))])
    assert result.exit_code == 2
    assert "apiVersion: Unsupported value" in result.stderr
