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


@functools.lru_cache(maxsize=4096)
def _target_port(index: int) -> str:
    return sys.intern(f"spec.ports[{index}].targetPort")


@functools.lru_cache(maxsize=4096)
def _policy_port(direction: str, rule: int, port: int) -> str:
    return sys.intern(f"spec.{direction}[{rule}].ports[{port}].port")


def _paths(kind: str, body: YMap) -> list[str]:
    """The fields of `body` that a diagnostic after loading may point at."""
    paths = [] if kind in CLUSTER_SCOPED else [_NAMESPACE]
    spec = body.get("spec")
    if spec.__class__ is not YMap:
        return paths
    if kind == "Pod":
        paths.append("spec.nodeName")
    elif kind == "Service":
        paths += ("spec.selector", "metadata.name")  # the name: what Service variables are made of (lint)
        ports = spec.get("ports")
        if ports.__class__ is YList:
            paths += (_target_port(i) for i in range(len(ports)))
    elif kind == "NetworkPolicy":
        paths.append("spec.podSelector")
        for direction in ("ingress", "egress"):
            rules = spec.get(direction)
            if rules.__class__ is not YList:
                continue
            for i, rule in enumerate(rules):
                paths.append(f"spec.{direction}[{i}]")
                if rule.__class__ is YMap:
                    paths += _peer_paths(direction, i, rule)
                ports = rule.get("ports") if rule.__class__ is YMap else None
                if ports.__class__ is not YList:
                    continue
                for j, port in enumerate(ports):
                    if port.__class__ is YMap and isinstance(port.get("port"), str):
                        paths.append(_policy_port(direction, i, j))
    if kind == "Service" and "externalName" in spec:
        paths.append("spec.externalName")
    template: Any = spec
    for step in _TEMPLATE_STEPS.get(kind, ()):
        template = template.get(step) if template.__class__ is YMap else None
    if template.__class__ is YMap:  # a pod's labels and containers (lint: pods without DNS, their env)
        prefix = ".".join(("spec", *_TEMPLATE_STEPS.get(kind, ())))
        paths.append(prefix.removesuffix("spec") + "metadata.labels" if kind != "Pod" else "metadata.labels")
        for group in ("initContainers", "containers"):
            containers = template.get(group)
            if containers.__class__ is not YList:
                continue
            for i, container in enumerate(containers):
                env = container.get("env") if container.__class__ is YMap else None
                if env.__class__ is YList:
                    paths += (f"{prefix}.{group}[{i}].env[{j}].name" for j in range(len(env)))
    return paths


# Where a kind holds its pod spec, below `spec` (Pod: `spec` itself); lint reports containers' env there.
_TEMPLATE_STEPS: dict[str, tuple[str, ...]] = {
    "Pod": (),
    **{kind: ("template", "spec") for kind in ("Deployment", "ReplicaSet", "ReplicationController", "StatefulSet")},
    "DaemonSet": ("template", "spec"),
    "Job": ("template", "spec"),
    "CronJob": ("jobTemplate", "spec", "template", "spec"),
}


def _peer_paths(direction: str, rule: int, body: YMap) -> list[str]:
    """A policy rule's peers and their ipBlocks (lint points at them)."""
    peers = body.get("from" if direction == "ingress" else "to")
    if peers.__class__ is not YList:
        return []
    out = []
    for j, peer in enumerate(peers):
        here = f"spec.{direction}[{rule}].{'from' if direction == 'ingress' else 'to'}[{j}]"
        out.append(here)
        block = peer.get("ipBlock") if peer.__class__ is YMap else None
        if block.__class__ is YMap:
            out.append(f"{here}.ipBlock.cidr")
            excepts = block.get("except")
            if excepts.__class__ is YList:
                out += (f"{here}.ipBlock.except[{k}]" for k in range(len(excepts)))
    return out


def reference_fields(raw: RawObject) -> tuple[tuple[str, int], ...]:
    """(path, packed position) of each field of `raw` that a diagnostic after loading may point at, for
    `Meta.fields`."""
    body = raw.body
    return tuple(
        [
            (path, _namespace_position(body) if path == _NAMESPACE else packed_position(body, path))
            for path in _paths(raw.kind, body)
        ]
    )


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
