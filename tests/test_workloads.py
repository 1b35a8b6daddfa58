"""Workloads read and validated as the API server reads them (load/workloads.py, model/workloads.py).

The messages are the API server's (`pkg/apis/apps/validation`, `pkg/apis/batch/validation`,
`pkg/apis/core/validation`): `spec.selector: Required value`, `empty selector is invalid for ...`,
`` `selector` does not match template `labels` ``, `must be greater than or equal to 0`, restartPolicy.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from netcompile.errors import InputError
from netcompile.load.manifests import load
from netcompile.load.workloads import fnv1a_32
from netcompile.model import Protocol
from netcompile.model.workloads import WorkloadKind
from tests.conftest import WriteYaml

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app.kubernetes.io/name: web}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec:
      nodeSelector: {disk: ssd}
      containers:
      - name: web
        image: web:1
        ports: [{name: http, containerPort: 8080}, {containerPort: 53, protocol: UDP}]
"""


LONG = "cj-with-a-name-that-is-too-long-for-the-jobs-it-makes-0"


def errors_of(directory: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        load([str(directory)])
    return [str(d).removeprefix(f"{directory}/input.yaml:") for d in info.value.diagnostics]


def test_a_deployment_is_read_with_what_shapes_the_network(write_yaml: WriteYaml) -> None:
    (web,) = load([str(write_yaml(DEPLOYMENT))]).workloads
    assert web.kind == WorkloadKind.DEPLOYMENT and web.meta.key == "shop/web"
    assert web.replicas == 3 and web.selector is not None and web.selector.match_labels == (("app", "web"),)
    assert dict(web.template.labels) == {"app": "web", "tier": "front"}
    assert dict(web.template.node_selector) == {"disk": "ssd"}
    assert [(p.name, p.port, p.protocol) for p in web.template.ports] == [
        ("http", 8080, Protocol.TCP),
        (None, 53, Protocol.UDP),
    ]


def test_defaults_as_the_api_server(write_yaml: WriteYaml) -> None:
    text = DEPLOYMENT.replace("  replicas: 3\n", "") + dedent(
        """
    ---
    apiVersion: v1
    kind: ReplicationController
    metadata: {name: rc}
    spec:
      template:
        metadata: {labels: {app: rc}}
        spec: {containers: [{name: c, image: x}]}
    ---
    apiVersion: batch/v1
    kind: Job
    metadata: {name: once}
    spec:
      template:
        spec: {restartPolicy: Never, containers: [{name: c, image: x}]}
    ---
    apiVersion: batch/v1
    kind: Job
    metadata: {name: wide}
    spec:
      parallelism: 4
      completions: 2
      completionMode: Indexed
      template:
        spec: {restartPolicy: OnFailure, containers: [{name: c, image: x}]}
    """
    )
    web, rc, once, wide = load([str(write_yaml(text))]).workloads
    assert web.replicas == 1
    assert rc.replicas == 1 and rc.selector is not None and rc.selector.match_labels == (("app", "rc"),)
    assert rc.meta.namespace == "default"
    assert (once.replicas, once.selector, once.indexed) == (1, None, False)
    assert (wide.replicas, wide.indexed) == (2, True)  # min(parallelism, completions)


def test_selector_and_replicas_errors_all_at_once(write_yaml: WriteYaml) -> None:
    bad = DEPLOYMENT.replace("replicas: 3", "replicas: -1").replace("app: web, tier: front", "app: api, tier: front")
    text = bad + dedent(
        """
    ---
    apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: db, namespace: shop}
    spec:
      template:
        metadata: {labels: {app: db}}
        spec: {containers: [{name: c, image: x}]}
    ---
    apiVersion: apps/v1
    kind: DaemonSet
    metadata: {name: agent, namespace: shop}
    spec:
      selector: {}
      template:
        metadata: {labels: {app: agent}}
        spec: {restartPolicy: OnFailure, containers: [{name: c, image: x}]}
    """
    )
    assert errors_of(write_yaml(text)) == [
        '6:13: Deployment "shop/web": spec.replicas: Invalid value: -1: must be greater than or equal to 0',
        '9:24: Deployment "shop/web": spec.template.metadata.labels: Invalid value: {"app": "api", "tier": '
        '"front"}: `selector` does not match template `labels`',
        '22:3: StatefulSet "shop/db": spec.selector: Required value',
        '30:13: DaemonSet "shop/agent": spec.selector: Invalid value: {}: empty selector is invalid for daemonset',
        '33:27: DaemonSet "shop/agent": spec.template.spec.restartPolicy: Unsupported value: "OnFailure": '
        'supported values: "Always"',
    ]


def test_job_and_cron_job_errors(write_yaml: WriteYaml) -> None:
    cj = f'CronJob "default/{LONG}"'
    text = """
    apiVersion: batch/v1
    kind: Job
    metadata: {name: j}
    spec:
      selector: {matchLabels: {a: b}}
      parallelism: -2
      template:
        spec: {containers: [{name: c, image: x}]}
    ---
    apiVersion: batch/v1
    kind: CronJob
    metadata: {name: cj-with-a-name-that-is-too-long-for-the-jobs-it-makes-0}
    spec:
      jobTemplate:
        spec:
          template:
            spec: {restartPolicy: Always, containers: []}
    """
    assert errors_of(write_yaml(text)) == [
        '6:13: Job "default/j": spec.selector: Invalid value: {"matchLabels": {"a": "b"}}: `selector` will be '
        "auto-generated",
        '7:16: Job "default/j": spec.parallelism: Invalid value: -2: must be greater than or equal to 0',
        '9:11: Job "default/j": spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"',
        f'13:18: {cj}: metadata.name: Invalid value: "{LONG}": must be no more than 52 characters',
        f"15:3: {cj}: spec.schedule: Required value",
        f"18:31: {cj}: spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: "
        '"Always": supported values: "OnFailure", "Never"',
        f"18:51: {cj}: spec.jobTemplate.spec.template.spec.containers: Required value",
    ]


def test_duplicate_names_of_a_kind_in_a_namespace(write_yaml: WriteYaml) -> None:
    d = write_yaml(DEPLOYMENT + "---" + DEPLOYMENT.replace("replicas: 3", "replicas: 1"))
    (error,) = errors_of(d)
    assert error.startswith('19:11: Deployment "shop/web": metadata.name: Duplicate value: "web": already defined at')
    # a StatefulSet of the same name is another object
    other = DEPLOYMENT.replace("kind: Deployment", "kind: StatefulSet")
    assert len(load([str(write_yaml(DEPLOYMENT + "---" + other))]).workloads) == 2


def test_unknown_fields_are_errors(write_yaml: WriteYaml) -> None:
    d = write_yaml(DEPLOYMENT.replace("  replicas: 3", "  replica: 3"))
    assert errors_of(d) == [
        '6:12: Deployment "shop/web": spec.replica: unknown field "replica", did you mean "replicas"?'
    ]


def test_pods_keep_their_owner_references(write_yaml: WriteYaml) -> None:
    text = """
    apiVersion: v1
    kind: Pod
    metadata:
      name: web-1
      ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5c7f9, uid: u1, controller: true}]
    spec: {containers: [{name: c, image: x}]}
    """
    (pod,) = load([str(write_yaml(text))]).pods
    ((owner),) = pod.owners
    assert (owner.kind, owner.name, owner.uid, owner.controller) == ("ReplicaSet", "web-5c7f9", "u1", True)


def test_services_keep_the_families_they_ask_for(write_yaml: WriteYaml) -> None:
    text = """
    apiVersion: v1
    kind: Service
    metadata: {name: s}
    spec:
      ipFamilyPolicy: PreferDualStack
      ipFamilies: [IPv6]
      ports: [{port: 80}]
    """
    (service,) = load([str(write_yaml(text))]).services
    assert (service.ip_family_policy, service.ip_families, service.cluster_ips) == ("PreferDualStack", ("IPv6",), ())


def test_fnv1a_32_test_vectors() -> None:
    """FNV-1a 32 as Go's hash/fnv New32a (the reference vectors)."""
    assert fnv1a_32(b"") == 0x811C9DC5
    assert fnv1a_32(b"a") == 0xE40C292C
    assert fnv1a_32(b"foobar") == 0xBF9CF968
