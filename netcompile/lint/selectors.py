"""Selectors that select nothing, ports nobody declares: load/references.py's dangling references, asked of
the pods the cluster will run, plus the policy peers that select no pod.

`dangling_references` checks what the input says against the input's pods and workloads' pod
templates; lint asks it of the pods the cluster will run, the completed ones (a workload scaled to zero
runs none), without the templates. The
rest is as the input gave it: its Namespaces, Nodes, EndpointSlices and Endpoints (a Service whose
endpoints the input gives is not judged by its selector; the slices completion derives from a selector
would hide every Service that selects nothing).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from ..load.references import dangling_references
from ..model import Meta, NetworkPolicy, Objects, PolicyPeer
from ..verify.reference.view import labels_select
from .findings import Finding, finding

NAME_LABEL = "kubernetes.io/metadata.name"


def _check_of(path: str) -> str:
    if path in ("spec.podSelector", "spec.selector"):
        return "selects-nothing"
    if path.endswith(".port") or path.endswith(".targetPort"):
        return "undeclared-port"
    return "dangling-reference"


def references(loaded: Objects, completed: Objects) -> list[Finding]:
    """The dangling references of the input, against the completed pods."""
    asked = replace(
        completed,
        workloads=(),  # their pods are among the completed pods: their templates would count them twice
        namespaces=loaded.namespaces,
        nodes=loaded.nodes,
        endpoint_slices=loaded.endpoint_slices,
        endpoints=loaded.endpoints,
    )
    by_ref = {meta.ref: meta for meta in _metas(completed)}
    out = []
    for d in dangling_references(asked):
        meta = by_ref.get(d.obj)
        if meta is None:  # every dangling reference is of an object of the input
            continue
        out.append(finding(_check_of(d.path), meta, d.path, d.message))
    return out


def _metas(objects: Objects) -> Iterator[Meta]:
    for group in (objects.pods, objects.services, objects.endpoint_slices, objects.endpoints):
        yield from (obj.meta for obj in group)
    yield from (policy.meta for policy in objects.network_policies)


def _namespace_labels(objects: Objects) -> dict[str, dict[str, str]]:
    labels = {n.meta.name: n.meta.label_dict() for n in objects.namespaces}
    for pod in objects.pods:
        labels.setdefault(pod.meta.namespace, {NAME_LABEL: pod.meta.namespace})
    return labels


def empty_peers(completed: Objects) -> Iterator[Finding]:
    """Each selector peer (podSelector and/or namespaceSelector) of a policy rule that selects no pod of the
    input (any phase): the rule admits nothing through it. Only when the input has pods at all."""
    if not completed.pods:
        return
    namespaces = _namespace_labels(completed)
    for policy in completed.network_policies:
        for direction, key, rules in (("ingress", "from", policy.ingress), ("egress", "to", policy.egress)):
            for i, rule in enumerate(rules):
                for j, peer in enumerate(rule.peers or ()):
                    if peer.ip_block is not None or _selects_some(policy, peer, completed, namespaces):
                        continue
                    yield finding(
                        "selects-nothing",
                        policy.meta,
                        f"spec.{direction}[{i}].{key}[{j}]",
                        f"selects no pod of the input ({_describe(policy, peer)}): this peer admits nothing",
                    )


def _selects_some(policy: NetworkPolicy, peer: PolicyPeer, objects: Objects, ns: dict[str, dict[str, str]]) -> bool:
    for pod in objects.pods:
        if peer.namespace_selector is None:
            if pod.meta.namespace != policy.meta.namespace:
                continue
        elif not labels_select(peer.namespace_selector, ns.get(pod.meta.namespace, {})):
            continue
        if peer.pod_selector is None or labels_select(peer.pod_selector, pod.meta.label_dict()):
            return True
    return False


def _describe(policy: NetworkPolicy, peer: PolicyPeer) -> str:
    parts = []
    if peer.namespace_selector is None:
        parts.append(f"namespace {policy.meta.namespace}")
    else:
        parts.append(f"namespaceSelector {peer.namespace_selector}")
    if peer.pod_selector is not None:
        parts.append(f"podSelector {peer.pod_selector}")
    return ", ".join(parts)
