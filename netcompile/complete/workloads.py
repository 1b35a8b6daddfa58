"""The Pods that workloads' controllers would create, named and labelled as they name and label them.

- A workload with anything in the input that it owns (a Pod, or a ReplicaSet of a Deployment, a Job of a
  CronJob, by `ownerReferences` kind and name, and uid when both have one) is represented by it: a dump
  of a live cluster (`kubectl get all -o yaml`) has both, and the controller creates nothing more.
- Deployment: its ReplicaSet `<deployment>-<pod-template-hash>`, whose pods are `<replicaset>-<suffix>`
  with the label `pod-template-hash`. ReplicaSet, ReplicationController: `<name>-<suffix>`.
- StatefulSet: `<name>-<ordinal>` (from `spec.ordinals.start`, default 0), labels `statefulset.kubernetes.io/pod-name`,
  `apps.kubernetes.io/pod-index` and `controller-revision-hash` (`<name>-<hash>`).
- DaemonSet: one pod per node its nodeSelector allows, `<name>-<suffix>`, labels
  `controller-revision-hash` and `pod-template-generation: "1"`.
- Job: `<job>-<suffix>` (Indexed: `<job>-<index>-<suffix>` and `batch.kubernetes.io/job-completion-index`),
  labels `batch.kubernetes.io/job-name` and `job-name`; `controller-uid` and
  `batch.kubernetes.io/controller-uid` only when the Job has a uid in the input. A CronJob runs one Job,
  `<cronjob>-<n>` (n stands for the scheduled time in minutes: a deterministic number from its identity).

pod-template-hash: Kubernetes' `controller.ComputeHash` is FNV-1a (32 bits) of the template, its decimal
digits mapped through `rand.SafeEncodeString`. Here it is the same over the template as written in
canonical JSON (`load.workloads.template_digest`): the same shape, deterministic, not the same digits as
a live cluster's. The random 5-character suffixes are, likewise, SHA-256 of the pod's identity in the
same alphabet. Simulated pods are Running and Ready.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from hashlib import sha256

from ..model import Labels, Meta, Node, Objects, Pod
from ..model.naming import PodNaming
from ..model.workloads import WORKLOAD_API_VERSIONS, OwnerReference, Workload, WorkloadKind
from ..values import Frozen, set_field
from .nodes import eligible

ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand: no vowels, no 0/1/3
TEMPLATE_HASH_LABEL = "pod-template-hash"
_SUFFIX_TABLE = bytes(ord(ALPHANUMS[b % len(ALPHANUMS)]) for b in range(256))  # a byte -> its character
REVISION_LABEL = "controller-revision-hash"


@dataclass(init=False, slots=True, eq=False, repr=False)
class Planned(Frozen):
    """A pod to create: the Pod without node or address yet, and what places it."""

    pod: Pod
    identity: str  # stable across edits of the workload's template: where it goes and which IP it gets
    node_selector: Labels
    point: int | None = None  # the identity's point on the placement ring (nodes.py), when hashed already

    def __init__(self, pod: Pod, identity: str, node_selector: Labels, point: int | None = None) -> None:
        set_field(self, "pod", pod)
        set_field(self, "identity", identity)
        set_field(self, "node_selector", node_selector)
        set_field(self, "point", point)


def safe_encode(text: str) -> str:
    """`rand.SafeEncodeString`: each byte of `text` as one of ALPHANUMS."""
    return "".join(ALPHANUMS[ord(c) % len(ALPHANUMS)] for c in text)


def template_hash(workload: Workload) -> str:
    return safe_encode(str(workload.template.digest))


def suffix(identity: str, length: int = 5) -> str:
    """A stand-in for the controllers' random suffix: deterministic, in the same alphabet."""
    return sha256(identity.encode()).digest()[:length].translate(_SUFFIX_TABLE).decode()


def suffix_and_point(identity: str) -> tuple[str, int]:
    """`suffix(identity)` and the identity's placement point (`nodes.point`), from one SHA-256 of it."""
    digest = sha256(identity.encode()).digest()
    return digest[:5].translate(_SUFFIX_TABLE).decode(), int.from_bytes(digest[:8], "big")


def represented(objects: Objects) -> set[tuple[str, str, str]]:
    """(namespace, kind, name) of the workloads that something in the input stands for."""
    uids = {(w.meta.namespace, w.meta.kind, w.meta.name): w.uid for w in objects.workloads}
    out: set[tuple[str, str, str]] = set()
    owned = [(p.meta.namespace, p.owners) for p in objects.pods]
    owned += [(w.meta.namespace, w.owners) for w in objects.workloads]
    for namespace, owners in owned:
        for owner in owners:
            key = (namespace, owner.kind, owner.name)
            if key in uids and (owner.uid is None or uids[key] is None or owner.uid == uids[key]):
                out.add(key)
            elif key not in uids and (parent := _parent(key, uids)) is not None:
                out.add(parent)
    return out


def _parent(
    key: tuple[str, str, str], workloads: dict[tuple[str, str, str], str | None]
) -> tuple[str, str, str] | None:
    """A Deployment's ReplicaSet (`<deployment>-<hash>`) or a CronJob's Job (`<cronjob>-<minutes>`) that is
    not in the input (`kubectl get pods,deployments` leaves them out): the workload it belongs to."""
    namespace, kind, name = key
    parent_kind = {"ReplicaSet": "Deployment", "Job": "CronJob"}.get(kind)
    head, _, tail = name.rpartition("-")
    if parent_kind is None or not head or not tail:
        return None
    if kind == "Job" and not tail.isdigit():
        return None
    parent = (namespace, parent_kind, head)
    return parent if parent in workloads else None


def _labels(workload: Workload, extra: dict[str, str]) -> Labels:
    """The template's labels with what the controller adds (sorted pairs)."""
    labels = dict(workload.template.labels)
    labels.update(extra)
    return tuple(sorted(labels.items()))


def _pod(
    workload: Workload,
    name: str,
    labels: Labels,
    owner: OwnerReference,
    node: str | None,
    naming: PodNaming | None = None,
) -> Pod:
    meta = Meta("Pod", workload.meta.namespace, name, labels, workload.meta.position)
    template = workload.template
    naming = template.naming if naming is None else naming
    return Pod(meta, node, template.host_network, "Running", (), template.ports, False, True, (owner,), naming)


def _owner(workload: Workload, kind: str | None = None, name: str | None = None) -> OwnerReference:
    kind = kind or workload.meta.kind
    return OwnerReference(WORKLOAD_API_VERSIONS[kind], kind, name or workload.meta.name, workload.uid, True)


def _job_pods(workload: Workload, job_name: str, ident: str) -> list[Planned]:
    owner = _owner(workload, "Job", job_name)
    labels = {"batch.kubernetes.io/job-name": job_name, "job-name": job_name}
    if workload.uid and workload.kind == WorkloadKind.JOB:
        labels |= {"batch.kubernetes.io/controller-uid": workload.uid, "controller-uid": workload.uid}
    out: list[Planned] = []
    shared = _labels(workload, labels)
    for index in range(workload.replicas or 0):
        identity = f"{ident}/{index}"
        tail, point = suffix_and_point(identity)
        if workload.indexed:
            pod_labels = _labels(workload, labels | {"batch.kubernetes.io/job-completion-index": str(index)})
            name = f"{job_name}-{index}-{tail}"
        else:
            pod_labels, name = shared, f"{job_name}-{tail}"
        pod = _pod(workload, name, pod_labels, owner, workload.template.node_name)
        out.append(Planned(pod, identity, workload.template.node_selector, point))
    return out


def cron_job_name(workload: Workload) -> str:
    """The Job a CronJob runs: `<name>-<scheduled time in minutes>`, here a fixed number in 2023-2028."""
    digest = int.from_bytes(sha256(f"{workload.meta.namespace}/{workload.meta.name}".encode()).digest()[:4], "big")
    return f"{workload.meta.name}-{28_000_000 + digest % 2_000_000}"


def workload_pods(workload: Workload, nodes: Sequence[Node]) -> list[Planned]:
    """The pods `workload`'s controller would create (DaemonSets: on `nodes`)."""
    kind, name, ns = workload.kind, workload.meta.name, workload.meta.namespace
    ident = f"{kind}/{ns}/{name}"
    hash_ = template_hash(workload)
    own = _owner(workload)
    template = workload.template
    selector = template.node_selector
    if kind == WorkloadKind.JOB:
        return _job_pods(workload, name, ident)
    if kind == WorkloadKind.CRON_JOB:
        return _job_pods(workload, cron_job_name(workload), ident)
    out: list[Planned] = []
    if kind == WorkloadKind.DAEMON_SET:
        labels = _labels(workload, {REVISION_LABEL: hash_, "pod-template-generation": "1"})
        for node in eligible(nodes, dict(selector)):
            identity = f"{ident}/{node.meta.name}"
            tail, point = suffix_and_point(identity)
            pod = _pod(workload, f"{name}-{tail}", labels, own, node.meta.name)
            out.append(Planned(pod, identity, selector, point))
        return out
    if kind == WorkloadKind.STATEFUL_SET:
        for index in range(workload.replicas or 0):
            ordinal = workload.ordinal_start + index
            pod_name = f"{name}-{ordinal}"
            extra = {
                "statefulset.kubernetes.io/pod-name": pod_name,
                "apps.kubernetes.io/pod-index": str(ordinal),
                REVISION_LABEL: f"{name}-{hash_}",
            }
            # The controller's identity (stateful_set_utils.go updateIdentity): hostname, and the governing Service
            naming = replace(template.naming, hostname=pod_name, subdomain=workload.service_name)
            pod = _pod(workload, pod_name, _labels(workload, extra), own, template.node_name, naming)
            out.append(Planned(pod, f"{ident}/{index}", selector))
        return out
    prefix, labels = name, _labels(workload, {})  # ReplicaSet, ReplicationController
    if kind == WorkloadKind.DEPLOYMENT:
        prefix = f"{name}-{hash_}"
        own, labels = _owner(workload, "ReplicaSet", prefix), _labels(workload, {TEMPLATE_HASH_LABEL: hash_})
    for index in range(workload.replicas or 0):  # the same labels and owner for every pod: made once
        identity = f"{ident}/{index}"
        tail, point = suffix_and_point(identity)
        pod = _pod(workload, f"{prefix}-{tail}", labels, own, template.node_name)
        out.append(Planned(pod, identity, selector, point))
    return out


def planned_pods(
    objects: Objects, nodes: Sequence[Node], skip: set[tuple[str, str, str]] | None = None
) -> list[Planned]:
    """Every pod the input's workloads would add, in input order, but for the workloads in `skip`
    (default: `represented`). A generated name already taken (by a pod of the input or an earlier one)
    gets another suffix, as the controller retries `generateName`."""
    skip = represented(objects) if skip is None else skip
    taken = {(p.meta.namespace, p.meta.name) for p in objects.pods}
    out: list[Planned] = []
    for workload in objects.workloads:
        if (workload.meta.namespace, workload.meta.kind, workload.meta.name) in skip:
            continue
        for plan in workload_pods(workload, nodes):
            meta = plan.pod.meta
            name, attempt = meta.name, 0
            if (meta.namespace, name) in taken:
                tail = suffix(plan.identity)
                while (meta.namespace, name) in taken and name.endswith(tail):
                    attempt += 1
                    name = name[: -len(tail)] + (tail := suffix(f"{plan.identity}#{attempt}"))
            if name != meta.name:
                plan = replace(plan, pod=replace(plan.pod, meta=replace(meta, name=name)))
            taken.add((meta.namespace, name))
            out.append(plan)
    return out
