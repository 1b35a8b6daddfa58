"""Shortcuts of the loader against the plain definitions they stand for.

- `source._has_directive` answers what a multiline regex search for `^%` answers (whether a text is cut
  into pieces depends on it);
- a name claimed twice is an error at the second object's metadata naming where the first is defined,
  the same object read twice (a file given twice) is not;
- the fields kept for diagnostics after loading (`positions.reference_fields`, found in one walk) are
  where the walk from the body along their paths finds them;
- the quick pass over an object's fields (`schema._clean`) agrees with the walk that reports them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netcompile.errors import InputError
from netcompile.load import positions, schema, source
from netcompile.load.manifests import load
from netcompile.load.source import Limits, Piece, RawObject, raw_objects
from tests.test_hostile import structural_mutations


@given(st.text(st.sampled_from("%\n\r a-")))
def test_a_directive_is_a_line_starting_with_percent(text: str) -> None:
    assert source._has_directive(text) == bool(re.search("^%", text, re.MULTILINE))


def test_a_name_claimed_twice(tmp_path: Path) -> None:
    pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"
    (tmp_path / "a.yaml").write_text(pod)
    (tmp_path / "b.yaml").write_text("# another\n" + pod)
    with pytest.raises(InputError) as raised:
        load([str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")])
    assert [str(d) for d in raised.value.diagnostics] == [
        f'{tmp_path}/b.yaml:5:3: Pod "default/web": metadata.name: Duplicate value: "web": already defined at'
        f" {tmp_path}/a.yaml:1:1"
    ]
    objects = load([str(tmp_path / "a.yaml"), str(tmp_path / "a.yaml")])  # the same object, read twice
    assert [pod.meta.key for pod in objects.pods] == ["default/web", "default/web"]


def _raw_objects(text: str) -> list[RawObject]:
    return raw_objects([Piece("f.yaml", text)], Limits(), [])


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(structural_mutations())
def test_the_fields_kept_are_where_packed_position_says(text: str) -> None:
    """`positions.reference_fields` walks each object once; every position it keeps is the one that the
    walk from the body along the path (`packed_position`, the definition) finds, on mutated objects."""
    for raw in _raw_objects(text):
        fields = positions.reference_fields(raw)
        assert [(path, positions.packed_position(raw.body, path)) for path, _ in fields] == list(fields)


def test_the_fields_kept_of_each_kind() -> None:
    text = """\
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}, 443, {port: 53}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: shop}
spec:
  podSelector: {}
  ingress:
  - from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}, {podSelector: {}}]
    ports: [{port: http}, {port: 80}]
  - x
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    metadata: {labels: {app: d}}
    spec: {containers: [{name: c, env: [{name: A}, -]}]}
"""
    paths = [[path for path, _ in positions.reference_fields(raw)] for raw in _raw_objects(text)]
    assert paths == [
        ["metadata.namespace", "spec.selector", "metadata.name", "spec.ports[0].targetPort",
         "spec.ports[1].targetPort", "spec.ports[2].targetPort", "metadata.labels"],
        ["metadata.namespace", "spec.podSelector", "spec.ingress[0]", "spec.ingress[0].from[0]",
         "spec.ingress[0].from[0].ipBlock.cidr", "spec.ingress[0].from[0].ipBlock.except[0]",
         "spec.ingress[0].from[1]", "spec.ingress[0].ports[0].port", "spec.ingress[1]", "metadata.labels"],
        ["metadata.namespace", "spec.template.metadata.labels", "spec.template.spec.containers[0].env[0].name",
         "spec.template.spec.containers[0].env[1].name"],
    ]  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(structural_mutations())
def test_the_quick_pass_over_fields_agrees_with_the_walk(text: str) -> None:
    """`schema._clean` (the quick pass, lists of objects looked at inline) says an object is clean exactly
    when the walk that spells out the paths (`schema._walk`) finds no unknown field in it."""
    for raw in _raw_objects(text):
        table = schema.kind_table(raw.api_version, raw.kind)
        if table is None:
            continue
        found: list[Any] = []
        schema._walk(raw.body, table, None, found)
        assert schema._clean(raw.body, table) == (not found)
