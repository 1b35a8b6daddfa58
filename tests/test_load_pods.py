"""Pods read plainly (`load/pods_plain.py`) are the Pods read field by field (`core.parse_pod`).

Generated Pods, mostly of the common shape and often one or two values away from it (of another type,
invalid, repeated, a null item, a field only the field-by-field path reads), are loaded both ways: the
objects and where their fields are, or the messages, must be the same. A last test shows that the plain
path does take the common shapes, so that the property compares two paths and not one with itself.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from netcompile.errors import InputError
from netcompile.load import core, pods_plain
from netcompile.load.manifests import load
from netcompile.load.source import RawObject
from netcompile.model import KubeObject, Objects, Pod
from tests.plain_paths import field_by_field

ABSENT: Any = object()  # a field left out

# Values off the common shape (of another type, invalid, or read only field by field), by field path; a
# path into a list reaches its first items (those the generated Pod has).
OFF: dict[str, list[Any]] = {
    "metadata.name": ["Web", "x" * 254, 7, ABSENT, "web.shop"],
    "metadata.namespace": ["Shop", 5, ""],
    "metadata.labels": [{"app": "-x"}, {"app": 3}, {}],
    "metadata.deletionTimestamp": ["2024-01-01T00:00:00Z", None],
    "metadata.ownerReferences": [[{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1"}], [None]],
    "spec": [None, "x", [], {}],
    "spec.nodeName": ["", 5, "node-b", None],
    "spec.hostNetwork": ["true", 1, True, None],
    "spec.hostname": ["Web", "", 3, "web-0"],
    "spec.subdomain": ["a.b", "", "web"],
    "spec.enableServiceLinks": ["no", False, None],
    "spec.dnsPolicy": ["None", "Default", "", "Bogus", 1, "ClusterFirstWithHostNet"],
    "spec.dnsConfig": [{"searches": ["svc.local"]}, {"options": [{"name": "ndots", "value": "2"}]}, "x", None],
    "spec.containers": [None, [], "c", [None], [{"name": "c"}, {"name": "d"}], ABSENT],
    "spec.initContainers": [
        [{"name": "init", "restartPolicy": "Always", "ports": [{"containerPort": 80}]}],
        [{"name": "init", "ports": [{"containerPort": 80}]}],
        [None],
        "x",
        [],
    ],
    "spec.containers[0].name": ["", 3, None],
    "spec.containers[0].ports": [None, [], "80", [None], [5], [{"containerPort": 80}, {"containerPort": 80}]],
    "spec.containers[0].ports[0].name": ["", "HTTP", "a" * 16, "a--b", "80", 8, None, "metrics"],
    "spec.containers[0].ports[0].containerPort": [0, 65536, -1, "80", True, None, 1.5, 9100],
    "spec.containers[0].ports[0].protocol": ["ICMP", "tcp", 6, "", None, "UDP", ["TCP"]],
    "spec.containers[0].ports[1].name": ["http", "metrics"],  # maybe the name of ports[0]
    "spec.containers[0].env": [None, "x", [None], [{"value": "x"}], [{"name": "", "value": "x"}], [5]],
    "spec.containers[0].env[0].name": ["", 5, None, "B"],
    "spec.containers[0].env[0].value": [5, "", None, True, {"a": 1}],
    "spec.containers[0].env[0].valueFrom": [{"fieldRef": {"fieldPath": "status.podIP"}}, "x", {}, 3],
    "spec.containers[0].envFrom": [None, "x", [None], [{"prefix": 3}], [{"configMapRef": "x"}], [{}]],
    "spec.containers[0].envFrom[0].prefix": ["P_", "", 4],
    "spec.containers[0].envFrom[0].secretRef": [{"name": "s"}, {}, "s", None, {"name": 5}],
    "status": [None, "up", [], {}],
    "status.phase": ["Pending", "", 5, None, "Succeeded"],
    "status.podIP": ["10.0.0.300", "", 7, None, "fd00::5", "010.0.0.1", "::ffff:10.0.0.9"],
    "status.podIPs": [
        None,
        [],
        [None],
        [{"ip": "10.0.0.1"}, {"ip": "10.0.0.1"}],
        [{"ip": ""}],
        [{}],
        "x",
        [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}],
        [{"ip": 5}],
    ],
    "status.conditions": [
        None,
        [],
        [None],
        "x",
        [5],
        [{"type": "Ready", "status": "False"}],
        [{"type": "Ready", "status": True}, {"type": "Ready", "status": "True"}],
    ],
}


@st.composite
def pod_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A Pod of the common shape, with none, one or two fields off it."""
    metadata = present({
        "name": draw(st.sampled_from(["web", "db-1", "a.b"])),
        "namespace": draw(st.sampled_from([ABSENT, "shop", "default"])),
        "labels": draw(st.sampled_from([ABSENT, {"app": "web"}, {"tier": "", "app.kubernetes.io/name": "v1.2"}])),
    })  # fmt: skip
    containers = []
    for index in range(draw(st.integers(0, 2))):
        ports = [
            present({
                "name": draw(st.sampled_from([ABSENT, f"p{index}-{number}", "http"])),
                "containerPort": 8080 + number,
                "protocol": draw(st.sampled_from([ABSENT, "TCP", "UDP", "SCTP"])),
            })
            for number in range(draw(st.integers(0, 2)))
        ]  # fmt: skip
        env = [
            present({"name": f"V{number}", "value": draw(st.sampled_from([ABSENT, "x", "http://web"]))})
            for number in range(draw(st.integers(0, 2)))
        ]
        env_from = draw(
            st.sampled_from([ABSENT, [{"configMapRef": {"name": "cm"}}, {"secretRef": {}, "prefix": "S_"}]])
        )
        container = {"name": f"c{index}", "image": "x", "ports": ports if ports else ABSENT, "env": env or ABSENT}
        containers.append(present(container | {"envFrom": env_from}))
    spec = present({
        "containers": containers,
        "nodeName": draw(st.sampled_from([ABSENT, "node-a"])),
        "hostNetwork": draw(st.sampled_from([ABSENT, False])),
        "dnsPolicy": draw(st.sampled_from([ABSENT, "ClusterFirst"])),
    })  # fmt: skip
    status = present({
        "phase": draw(st.sampled_from([ABSENT, "Running"])),
        "podIP": draw(st.sampled_from([ABSENT, "10.0.0.5"])),
        "conditions": draw(st.sampled_from([ABSENT, [{"type": "Ready", "status": "True"}, {"type": "Initialized"}]])),
    })  # fmt: skip
    document = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status}
    for field in draw(st.lists(st.sampled_from(list(OFF)), max_size=2, unique=True)):
        set_field(document, field, draw(st.sampled_from(OFF[field])))
    return document


def present(mapping: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if value is not ABSENT}


def set_field(document: dict[str, Any], field: str, value: Any) -> None:
    """`document` with `field` set to `value` (left out for ABSENT), when the mappings on its way are there."""
    *path, last = re.sub(r"\[(\d+)\]", r".\1", field).split(".")
    where: Any = document
    for step in path:
        if isinstance(where, list) and step.isdigit():
            where = where[int(step)] if int(step) < len(where) else None
        else:
            where = where.get(step) if isinstance(where, dict) else None
    if not isinstance(where, dict):
        return
    if value is ABSENT:
        where.pop(last, None)
    else:
        where[last] = value


def both_ways(
    documents: list[dict[str, Any]], kind: Callable[[Objects], Sequence[KubeObject]] = lambda o: o.pods
) -> tuple[object, object]:
    """What loading the documents gives, plainly and field by field: the objects and where the fields of
    those of `kind` are (`Meta.fields`, which equality leaves out), or the messages."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.yaml"
        path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
        plain = _outcome(str(path), kind)
        with field_by_field():
            fields = _outcome(str(path), kind)
    return plain, fields


def _outcome(path: str, kind: Callable[[Objects], Sequence[KubeObject]]) -> object:
    try:
        objects = load([path])
    except InputError as error:
        return [str(diagnostic) for diagnostic in error.diagnostics]
    return objects, [(obj.meta.position, obj.meta.fields) for obj in kind(objects)]


def _pod(spec: Any, status: Any = None) -> list[dict[str, Any]]:
    return [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}, "spec": spec, "status": status}]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(pod_documents(), min_size=1, max_size=3))
@example(_pod({"containers": [{"name": "c", "ports": [{"name": "a", "containerPort": 1}, {"name": "a"}]}]}))
@example(_pod({"initContainers": [None], "containers": [{"name": "c"}]}))
@example(_pod({"initContainers": [{"name": "i", "restartPolicy": "Always", "ports": [{"containerPort": 80}]}]}))
@example(_pod({"containers": [{"name": "c", "env": [{"name": "A", "valueFrom": {"b": [1, {"c": None}]}}]}]}))
@example(_pod({"dnsPolicy": "None", "dnsConfig": {"searches": ["a.svc"]}}))
@example(_pod({"hostNetwork": True}, {"podIPs": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.1"}], "podIP": "x"}))
@example(_pod({"containers": [{"name": "c"}]}, {"phase": "Running", "conditions": [None, {"type": "Ready"}]}))
def test_plain_pods_read_as_field_by_field(documents: list[dict[str, Any]]) -> None:
    plain, fields = both_ways(documents)
    assert plain == fields


SHAPES = [
    "{containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080}, {containerPort: 53,"
    " protocol: UDP}]}]}\nstatus: {phase: Running, podIP: 10.0.0.1}",
    "{nodeName: node-a, hostNetwork: true, containers: [{name: c, env: [{name: A, value: x},"
    " {name: B, valueFrom: {fieldRef: {fieldPath: status.podIP}}}], envFrom: [{configMapRef: {name: cm}}]}]}\n"
    "status: {podIPs: [{ip: 10.0.0.1}, {ip: 'fd00::1'}], conditions: [{type: Ready, status: 'False'}]}",
    "{hostname: web-0, subdomain: web, enableServiceLinks: false, dnsPolicy: Default, initContainers:"
    " [{name: side, restartPolicy: Always, ports: [{containerPort: 9000}]}], containers: [{name: c}]}",
    "{containers: []}",
]


@pytest.mark.parametrize("spec", SHAPES)
def test_the_plain_path_takes_the_common_shapes(spec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[Pod | None] = []

    def noted(raw: RawObject) -> Pod | None:
        taken.append(pods_plain.plain_pod(raw))
        return taken[-1]

    monkeypatch.setattr(core, "plain_pod", noted)
    path = tmp_path / "pod.yaml"
    path.write_text(f"apiVersion: v1\nkind: Pod\nmetadata: {{name: web, namespace: shop}}\nspec: {spec}\n")
    objects = load([str(path)])
    assert taken == list(objects.pods) and len(taken) == 1
