"""Where the fields that diagnostics after loading point at are, kept in the model when an object is read.

Dangling references (references.py) are found after loading, from the model objects alone; they are
reported at the referencing field. The loader records those fields' positions in `Meta.fields` while it
has the object's body, so that no input is read twice and input from stdin gets exact positions too.

Recorded, by kind (paths as references.py reports them; the indices are the model's, which are the
input's for an object that loaded):
- every namespaced object: `metadata.namespace`;
- Pod: `spec.nodeName`;
- Service: `spec.selector`, `spec.ports[i].targetPort`;
- NetworkPolicy: `spec.podSelector`, `spec.ingress[i].ports[j].port` and `spec.egress[i].ports[j].port`
  where that port is a name; for lint (netcompile/lint/), each rule `spec.ingress[i]`, its peers
  `spec.ingress[i].from[j]` and their `ipBlock.cidr` and `ipBlock.except[k]` (egress: `to`);
- Service: `spec.externalName` when given, and `metadata.name` (lint);
- Pods and workloads: the pod's labels (`metadata.labels`, `spec.template.metadata.labels`) and each
  container's `env[j].name` (lint), under the pod spec
  (`spec.containers[i]`, `spec.template.spec.containers[i]`, a CronJob's `spec.jobTemplate...`).

A field the object does not spell out (a defaulted namespace or targetPort) is placed at the nearest
enclosing field it has.
"""

from __future__ import annotations

import functools
import re
import sys
from typing import Any

from ..errors import Position
from .source import RawObject, YList, YMap

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
CLUSTER_SCOPED = frozenset({"Namespace", "Node"})


@functools.lru_cache(maxsize=4096)
def _steps(path: str) -> tuple[str | int, ...]:
    """`spec.ports[0].targetPort` as ("spec", "ports", 0, "targetPort"); paths repeat across objects."""
    return tuple(key or int(index) for key, index in _STEP.findall(path))


def packed_position(body: YMap, path: str) -> int:
    """The packed position (line << 20 | column) of `path` in an object's body, or of the nearest
    enclosing field the body has: a mapping's or list's own position, else its value's in its parent."""
    value: Any = body
    packed: int = body.pos
    for step in _steps(path):
        if step.__class__ is str and isinstance(value, YMap) and step in value:
            packed, value = value.positions.get(step, value.pos), value[step]
        elif step.__class__ is int and isinstance(value, YList) and step < len(value):
            positions = value.positions
            packed, value = (positions[step] if step < len(positions) else value.pos), value[step]
        else:
            break
        if isinstance(value, YMap | YList):
            packed = value.pos
    return packed


def field_position(body: YMap, path: str) -> Position:
    """The position of `path` (`spec.ports[0].targetPort`) in an object's body, or of the nearest
    enclosing field the body has."""
    packed = packed_position(body, path)
    return Position(body.file, packed >> 20, packed & 0xFFFFF)


# The walk below gives, for each path, what `packed_position` gives, without starting again from the
# body for every path: `_child` and `_item` take one step from a mapping or list the walk has reached.


def _child(mapping: YMap, key: str) -> int:
    """`packed_position` of `key` in a mapping it has reached: the value's own position when it is a
    mapping or a list, else where it stands; the mapping's when the key is absent."""
    if key not in mapping:
        return mapping.pos
    value = mapping[key]
    if value.__class__ is YMap or value.__class__ is YList:
        return int(value.pos)
    return mapping.positions.get(key, mapping.pos)


def _item(items: YList, index: int) -> int:
    """`packed_position` of an item (that exists) of a list it has reached."""
    value = items[index]
    if value.__class__ is YMap or value.__class__ is YList:
        return int(value.pos)
    positions = items.positions
    return positions[index] if index < len(positions) else items.pos


@functools.lru_cache(maxsize=4096)
def _target_port(index: int) -> str:
    return sys.intern(f"spec.ports[{index}].targetPort")


@functools.lru_cache(maxsize=4096)
def _policy_port(direction: str, rule: int, port: int) -> str:
    return sys.intern(f"spec.{direction}[{rule}].ports[{port}].port")


@functools.lru_cache(maxsize=4096)
def _rule(direction: str, rule: int) -> str:
    return sys.intern(f"spec.{direction}[{rule}]")


@functools.lru_cache(maxsize=4096)
def _peer(direction: str, rule: int, peers_key: str, peer: int) -> str:
    return sys.intern(f"spec.{direction}[{rule}].{peers_key}[{peer}]")


@functools.lru_cache(maxsize=4096)
def _env_name(prefix: str, group: str, container: int, env: int) -> str:
    return sys.intern(f"{prefix}.{group}[{container}].env[{env}].name")


def _fields(kind: str, body: YMap) -> list[tuple[str, int]]:
    """(path, packed position) of the fields of `body` that a diagnostic after loading may point at."""
    fields = [] if kind in CLUSTER_SCOPED else [(_NAMESPACE, _namespace_position(body))]
    spec = body.get("spec")
    if spec.__class__ is not YMap:
        return fields
    assert isinstance(spec, YMap)
    if kind == "Pod":
        fields.append(("spec.nodeName", _child(spec, "nodeName")))
    elif kind == "Service":
        fields += (
            ("spec.selector", _child(spec, "selector")),
            ("metadata.name", packed_position(body, "metadata.name")),
        )
        ports = spec.get("ports")
        if ports.__class__ is YList:
            for i, port in enumerate(ports):
                here = _child(port, "targetPort") if port.__class__ is YMap else _item(ports, i)
                fields.append((_target_port(i), here))
    elif kind == "NetworkPolicy":
        fields.append(("spec.podSelector", _child(spec, "podSelector")))
        for direction in ("ingress", "egress"):
            rules = spec.get(direction)
            if rules.__class__ is YList:
                _rule_fields(direction, rules, fields)
    if kind == "Service" and "externalName" in spec:
        fields.append(("spec.externalName", _child(spec, "externalName")))
    template: Any = spec
    for step in _TEMPLATE_STEPS.get(kind, ()):
        template = template.get(step) if template.__class__ is YMap else None
    if template.__class__ is YMap:  # a pod's labels and containers (lint: pods without DNS, their env)
        prefix, labels = _TEMPLATE_PATHS.get(kind, _SPEC_PATHS)
        metadata = body.get("metadata") if labels == _POD_LABELS else None
        if metadata.__class__ is YMap:  # a pod's own labels, the common case: one step from its metadata
            fields.append((labels, _child(metadata, "labels")))
        else:
            fields.append((labels, packed_position(body, labels)))
        for group in ("initContainers", "containers"):
            containers = template.get(group)
            if containers.__class__ is not YList:
                continue
            for i, container in enumerate(containers):
                env = container.get("env") if container.__class__ is YMap else None
                if env.__class__ is YList:
                    for j, var in enumerate(env):
                        here = _child(var, "name") if var.__class__ is YMap else _item(env, j)
                        fields.append((_env_name(prefix, group, i, j), here))
    return fields


def _rule_fields(direction: str, rules: YList, fields: list[tuple[str, int]]) -> None:
    """A policy's rules, their peers and ipBlocks (lint points at them) and named ports (references)."""
    peers_key = "from" if direction == "ingress" else "to"
    for i, rule in enumerate(rules):
        fields.append((_rule(direction, i), _item(rules, i)))
        if rule.__class__ is not YMap:
            continue
        peers = rule.get(peers_key)
        if peers.__class__ is YList:
            for j, peer in enumerate(peers):
                here = _peer(direction, i, peers_key, j)
                fields.append((here, _item(peers, j)))
                block = peer.get("ipBlock") if peer.__class__ is YMap else None
                if block.__class__ is YMap:
                    fields.append((f"{here}.ipBlock.cidr", _child(block, "cidr")))
                    excepts = block.get("except")
                    if excepts.__class__ is YList:
                        fields += ((f"{here}.ipBlock.except[{k}]", _item(excepts, k)) for k in range(len(excepts)))
        ports = rule.get("ports")
        if ports.__class__ is YList:
            for j, port in enumerate(ports):
                if port.__class__ is YMap and isinstance(port.get("port"), str):
                    fields.append((_policy_port(direction, i, j), _child(port, "port")))


# Where a kind holds its pod spec, below `spec` (Pod: `spec` itself); lint reports containers' env there.
_TEMPLATE_STEPS: dict[str, tuple[str, ...]] = {
    "Pod": (),
    **{kind: ("template", "spec") for kind in ("Deployment", "ReplicaSet", "ReplicationController", "StatefulSet")},
    "DaemonSet": ("template", "spec"),
    "Job": ("template", "spec"),
    "CronJob": ("jobTemplate", "spec", "template", "spec"),
}
# For each, the path of the pod spec, and of the pod's labels.
_TEMPLATE_PATHS: dict[str, tuple[str, str]] = {
    kind: (prefix, prefix.removesuffix("spec") + "metadata.labels" if kind != "Pod" else "metadata.labels")
    for kind, steps in _TEMPLATE_STEPS.items()
    for prefix in [".".join(("spec", *steps))]
}
_SPEC_PATHS = ("spec", "metadata.labels")  # any other kind: its spec is looked at as a pod spec
_POD_LABELS = "metadata.labels"


def reference_fields(raw: RawObject) -> tuple[tuple[str, int], ...]:
    """(path, packed position) of each field of `raw` that a diagnostic after loading may point at, for
    `Meta.fields`."""
    return tuple(_fields(raw.kind, raw.body))


_NAMESPACE = "metadata.namespace"


def _namespace_position(body: YMap) -> int:
    """`packed_position(body, "metadata.namespace")`, the one path of every namespaced object, in short."""
    metadata = body.get("metadata")
    if metadata.__class__ is not YMap:
        return packed_position(body, _NAMESPACE)
    if "namespace" not in metadata:
        return metadata.pos
    namespace = metadata["namespace"]
    if namespace is None or namespace.__class__ is YMap or namespace.__class__ is YList:
        return packed_position(body, _NAMESPACE)
    return metadata.positions.get("namespace", metadata.pos)
