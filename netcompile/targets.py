"""What `--from`/`--to` (and lab expectations) may name: one grammar, one resolver.

The forms, tried in this order:

    ADDRESS          an IPv4 or IPv6 address (10.244.0.11, 2001:db8::1)
    node:NAME        the Node NAME
    KIND:NS/NAME     the same as NS/KIND/NAME (`service:shop/web`, `svc:shop/web`, as lab files write)
    NS/KIND/NAME     the object of that kind: kubectl's kind names, plurals and short names, any case
                     (`pod`/`pods`/`po`, `service`/`services`/`svc`, `deployment`/`deploy`,
                     `statefulset`/`sts`, `daemonset`/`ds`, ...), optionally with the API group
                     (`deployments.apps`)
    NS/NAME          the one object of namespace NS called NAME (a pod or a Service); when several
                     kinds share the name (every `kubectl run --expose`), an error naming the
                     candidates and the explicit forms
    NAME             as `default/NAME` (kubectl's default namespace), or the Node NAME; when both
                     exist, an error naming `default/NAME`'s explicit form and `node:NAME`

A workload (`shop/deployment/web`, `shop/deploy/web`, `shop/sts/db`, kubectl's kind/name) means one of
its pods: the first by name of those running with an address (deterministic). Its pods are those whose
controller chain leads to it (`Workloads`: a Deployment's pods are owned by its ReplicaSet, a CronJob's
by its Job), in the input or simulated (complete/). `ns/name` considers the workloads of the input too.

`parse` reads the text (syntax only); `resolve` finds the object in the input. Both raise
`TargetError` with a message for the user (the CLI exits 2 with it).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import ip_address

from .model import IPAddress, Node, Objects, Pod, Service
from .values import Value

DEFAULT_NAMESPACE = "default"


class TargetError(ValueError):
    """A target that is malformed, names nothing, or names more than one thing."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Kind(Value):
    """A kind a target may name, with the names kubectl accepts for it (lowercase)."""

    name: str  # "Service"
    group: str  # "" for the core group, "apps", "batch"
    names: tuple[str, ...]  # singular, plural, short names: the first is the canonical form
    namespaced: bool = True


KINDS: tuple[Kind, ...] = (
    Kind("Pod", "", ("pod", "pods", "po")),
    Kind("Service", "", ("service", "services", "svc")),
    Kind("Node", "", ("node", "nodes", "no"), namespaced=False),
    Kind("Deployment", "apps", ("deployment", "deployments", "deploy")),
    Kind("StatefulSet", "apps", ("statefulset", "statefulsets", "sts")),
    Kind("DaemonSet", "apps", ("daemonset", "daemonsets", "ds")),
    Kind("ReplicaSet", "apps", ("replicaset", "replicasets", "rs")),
    Kind("ReplicationController", "", ("replicationcontroller", "replicationcontrollers", "rc")),
    Kind("Job", "batch", ("job", "jobs")),
    Kind("CronJob", "batch", ("cronjob", "cronjobs", "cj")),
)
_BY_NAME: dict[str, Kind] = {name: kind for kind in KINDS for name in kind.names}
_KIND = {kind.name: kind for kind in KINDS}

# The objects of each kind that targets can name, from the input; the workload kinds (WORKLOAD_KINDS)
# through `Workloads`, which also knows the workloads only the pods' owner references name.
Named = Pod | Service | Node
_CANDIDATES: dict[str, Callable[[Objects], Iterable[Named]]] = {
    "Pod": lambda objects: objects.pods,
    "Service": lambda objects: objects.services,
    "Node": lambda objects: objects.nodes,
}
WORKLOAD_KINDS = frozenset(k.name for k in KINDS if k.group or k.name == "ReplicationController")
_PARENT_KIND = {"ReplicaSet": "Deployment", "Job": "CronJob"}  # what owns the controller that owns the pods
TEMPLATE_HASH_LABEL = "pod-template-hash"


class Workloads:
    """Which workload each pod belongs to: its controller's chain of owners up to the top (a Deployment
    for the pods of its ReplicaSets, a CronJob for those of its Jobs), by owner references. An owner that
    is not in the input is found by name as the controllers name it (`<deployment>-<pod-template-hash>`,
    `<cronjob>-<n>` when the CronJob is in the input), so a snapshot of pods alone names its Deployments."""

    def __init__(self, objects: Objects) -> None:
        self.objects = objects
        self.declared = {(w.meta.namespace, w.meta.kind, w.meta.name): w for w in objects.workloads}
        self.pods: dict[tuple[str, str, str], list[Pod]] = {}  # (namespace, kind, name): its pods, by name
        self.owner: dict[tuple[str, str], tuple[str, str]] = {}  # a pod's key: (kind, name) of its workload
        for pod in sorted(objects.pods, key=lambda p: p.meta.name):
            top = self._top(pod)
            if top is not None:
                self.owner[(pod.meta.namespace, pod.meta.name)] = top
                self.pods.setdefault((pod.meta.namespace, *top), []).append(pod)

    def _top(self, pod: Pod) -> tuple[str, str] | None:
        ref = next((o for o in pod.owners if o.controller), pod.owners[0] if pod.owners else None)
        if ref is None:
            return None
        namespace, kind, name = pod.meta.namespace, ref.kind, ref.name
        parent = _PARENT_KIND.get(kind)
        if parent is None:
            return kind, name
        owner = self.declared.get((namespace, kind, name))
        if owner is not None:
            up = next((o for o in owner.owners if o.kind == parent), None)
            return (parent, up.name) if up is not None else (kind, name)
        head = name.rpartition("-")[0]
        if head and (namespace, parent, head) in self.declared:
            return parent, head
        template_hash = pod.meta.label_dict().get(TEMPLATE_HASH_LABEL)
        if kind == "ReplicaSet" and template_hash and head and name == f"{head}-{template_hash}":
            return parent, head  # the Deployment controller's ReplicaSet (it alone adds the label)
        return kind, name

    def of(self, pod: Pod) -> tuple[str, str] | None:
        """(kind, name) of the workload `pod` belongs to, None for a pod no controller owns."""
        return self.owner.get((pod.meta.namespace, pod.meta.name))

    def label(self, pod: Pod) -> str | None:
        """`shop/deployment/web`: the workload of `pod` as a target names it (None: a bare pod, or an owner
        of a kind targets do not name)."""
        top = self.of(pod)
        if top is None or top[0] not in WORKLOAD_KINDS:
            return None
        return explicit(_KIND[top[0]], pod.meta.namespace, top[1])

    def exists(self, kind: str, namespace: str, name: str) -> bool:
        return (namespace, kind, name) in self.declared or (namespace, kind, name) in self.pods

    def names(self, kind: str, namespace: str) -> list[str]:
        found = {n for ns, k, n in [*self.declared, *self.pods] if k == kind and ns == namespace}
        return sorted(found)

    def member(self, kind: str, namespace: str, name: str) -> Pod | None:
        """The pod a workload target means: the first by name of its pods that run with an address."""
        pods = self.pods.get((namespace, kind, name), [])
        return next((p for p in pods if p.running and (p.ips or p.host_network)), None)


def _workloads(objects: Objects) -> Workloads:
    cached = _WORKLOADS.get(id(objects))
    if cached is None or cached.objects is not objects:
        cached = _WORKLOADS[id(objects)] = Workloads(objects)
        while len(_WORKLOADS) > 8:  # a few inputs at once (tests): never a leak
            del _WORKLOADS[next(iter(_WORKLOADS))]
    return cached


_WORKLOADS: dict[int, Workloads] = {}


def kind_named(text: str) -> Kind | None:
    """The kind for a kubectl kind name (`svc`, `Pods`, `deployments.apps`), or None."""
    name, _, group = text.lower().partition(".")
    kind = _BY_NAME.get(name)
    if kind is None or (group and group != kind.group):
        return None
    return kind


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TargetSpec(Value):
    """A target as written, parsed but not looked up: an address, or a (kind, namespace, name)."""

    text: str
    address: IPAddress | None = None
    kind: Kind | None = None  # None: any kind (`ns/name`, `name`)
    namespace: str = ""  # "" for Nodes
    name: str = ""
    bare: bool = False  # written as NAME alone: default/NAME, or the Node NAME


def parse(text: str) -> TargetSpec:
    """The target `text` means, by syntax alone (see the module docstring for the forms)."""
    text = text.strip()
    if not text:
        raise TargetError("empty target: write ns/name, ns/kind/name, name, an address, or node:NAME")
    try:
        return TargetSpec(text, address=ip_address(text))
    except ValueError:
        pass
    prefix, colon, rest = text.partition(":")
    if colon and "/" not in prefix:
        kind = kind_named(prefix)
        if kind is None:
            raise TargetError(f"{text}: {_unknown_kind(prefix)}")
        if not kind.namespaced:
            if not rest or "/" in rest:
                raise TargetError(f"{text}: write node:NAME")
            return TargetSpec(text, kind=kind, name=rest)
        pieces = rest.split("/")
        if len(pieces) > 2:
            raise TargetError(f"{text}: write {prefix}:NS/NAME or {prefix}:NAME")
        return _named(text, kind, pieces[0] if len(pieces) == 2 else DEFAULT_NAMESPACE, pieces[-1])
    parts = text.split("/")
    if len(parts) == 1:
        return TargetSpec(text, namespace=DEFAULT_NAMESPACE, name=text, bare=True)
    if len(parts) == 2:
        return _named(text, None, parts[0], parts[1])
    if len(parts) == 3:
        kind = kind_named(parts[1])
        if kind is None:
            raise TargetError(f"{text}: {_unknown_kind(parts[1])}")
        if not kind.namespaced:
            raise TargetError(f"{text}: a {kind.name} has no namespace: write node:{parts[2]}")
        return _named(text, kind, parts[0], parts[2])
    raise TargetError(f"{text}: too many '/': write ns/name, ns/kind/name, name, an address, or node:NAME")


def _named(text: str, kind: Kind | None, namespace: str, name: str) -> TargetSpec:
    if not namespace or not name:
        raise TargetError(f"{text}: a namespace and a name are needed: write ns/name or ns/kind/name")
    return TargetSpec(text, kind=kind, namespace=namespace, name=name)


def _unknown_kind(text: str) -> str:
    names = sorted(_BY_NAME)
    close = difflib.get_close_matches(text.lower(), names, n=1)
    hint = f'; did you mean "{close[0]}"?' if close else ""
    shown = ", ".join(f"{k.names[0]} ({', '.join(k.names[2:])})" if k.names[2:] else k.names[0] for k in KINDS)
    return f'unknown kind "{text}"{hint} (kinds: {shown})'


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Target(Value):
    """A resolved target: an address, or one object of the input."""

    spec: TargetSpec
    kind: str  # "address", "Pod", "Service", "Node" (a workload's: "Pod", its chosen pod)
    obj: Named | None = None
    address: IPAddress | None = None
    workload: str | None = None  # `shop/deployment/web` when a workload was named (obj: its chosen pod)

    @property
    def key(self) -> str:
        """`ns/name` of a pod or Service, the name of a Node, the address."""
        if self.obj is not None:
            return self.obj.meta.key
        return str(self.address)

    @property
    def label(self) -> str:
        """`pod shop/web-1`, `Service shop/web`, `node node-a`: as trace and matrix print it."""
        if self.kind == "address":
            return str(self.address)
        what = {"Pod": "pod", "Node": "node"}.get(self.kind, self.kind)
        return f"{what} {self.key}" + (f" of {self.workload}" if self.workload else "")


def resolve(text: str | TargetSpec, objects: Objects) -> Target:
    """The one thing `text` names in `objects`; TargetError when it names nothing or is ambiguous."""
    spec = parse(text) if isinstance(text, str) else text
    if spec.address is not None:
        return Target(spec, "address", address=spec.address)
    if spec.kind is not None and spec.kind.name in WORKLOAD_KINDS:
        return _workload_target(spec, spec.kind, objects)
    if spec.kind is not None:
        found = _find(spec.kind, spec.namespace, spec.name, objects)
        if found is None:
            raise TargetError(f"{spec.text}: {_missing(spec.kind, spec.namespace, spec.name, objects)}")
        return Target(spec, spec.kind.name, obj=found)
    declared = _workloads(objects).declared
    matches: list[tuple[Kind, Named | None]] = [
        (kind, obj)
        for kind in KINDS
        if kind.namespaced and kind.name not in WORKLOAD_KINDS
        for obj in [_find(kind, spec.namespace, spec.name, objects)]
        if obj is not None
    ]
    matches += [(k, None) for k in KINDS if (spec.namespace, k.name, spec.name) in declared]
    if spec.bare:
        node = _find(_KIND["Node"], "", spec.name, objects)
        if node is not None:
            matches.append((_KIND["Node"], node))
    if len(matches) == 1:
        kind, obj = matches[0]
        if obj is None:  # a workload of the input
            return _workload_target(spec, kind, objects)
        return Target(spec, kind.name, obj=obj)
    if matches:
        raise TargetError(f"{spec.text}: {_ambiguous(spec, [kind for kind, _ in matches])}")
    raise TargetError(f"{spec.text}: {_nothing(spec, objects)}")


def _workload_target(spec: TargetSpec, kind: Kind, objects: Objects) -> Target:
    """One pod of the workload: the first by name of those running with an address."""
    workloads = _workloads(objects)
    form = explicit(kind, spec.namespace, spec.name)
    if not workloads.exists(kind.name, spec.namespace, spec.name):
        names = workloads.names(kind.name, spec.namespace)
        raise TargetError(
            f"{spec.text}: no {kind.name} {spec.name!r} in namespace {spec.namespace} in the input"
            + _did_you_mean(spec.name, names)
        )
    pod = workloads.member(kind.name, spec.namespace, spec.name)
    if pod is None:
        pods = workloads.pods.get((spec.namespace, kind.name, spec.name), [])
        why = f"none of its {len(pods)} pods runs with an address" if pods else "it has no pods (replicas: 0?)"
        raise TargetError(
            f"{spec.text}: {kind.name} {spec.namespace}/{spec.name}: {why}: name a pod ({spec.namespace}/pod/NAME) "
            f"or a Service ({spec.namespace}/svc/NAME) instead (`netcompile get PATH pods` lists them)"
        )
    return Target(spec, "Pod", obj=pod, workload=form)


def workload_of(pod: Pod, objects: Objects) -> str | None:
    """`shop/deployment/web`: the workload `pod` belongs to, as a target names it (None: none)."""
    return _workloads(objects).label(pod)


def _find(kind: Kind, namespace: str, name: str, objects: Objects) -> Named | None:
    candidates = _CANDIDATES.get(kind.name)
    if candidates is None:
        return None
    for obj in candidates(objects):
        if obj.meta.name == name and obj.meta.namespace == (namespace if kind.namespaced else ""):
            return obj
    return None


def explicit(kind: Kind, namespace: str, name: str) -> str:
    """The explicit form of a target: `shop/svc/web`, `node:node-a`."""
    return f"node:{name}" if kind.name == "Node" else f"{namespace}/{kind.names[0]}/{name}"


def _ambiguous(spec: TargetSpec, kinds: list[Kind]) -> str:
    what = " and ".join(f"a {k.name}" for k in kinds)
    forms = " or ".join(explicit(k, spec.namespace, spec.name) for k in kinds)
    named = spec.name if spec.bare and any(not k.namespaced for k in kinds) else f"{spec.namespace}/{spec.name}"
    return f'{what} are both named "{named}": say which with {forms}'


def _missing(kind: Kind, namespace: str, name: str, objects: Objects) -> str:
    if kind.name == "Node" and not objects.nodes:
        return "the input has no Node objects"
    where = "" if not kind.namespaced else f" in namespace {namespace}"
    names = sorted(
        o.meta.name for o in _CANDIDATES[kind.name](objects) if not kind.namespaced or o.meta.namespace == namespace
    )
    return f"no {kind.name} {name!r}{where} in the input" + _did_you_mean(name, names)


def _nothing(spec: TargetSpec, objects: Objects) -> str:
    names = sorted(
        {o.meta.name for k in ("Pod", "Service") for o in _CANDIDATES[k](objects) if o.meta.namespace == spec.namespace}
        | {w.meta.name for w in objects.workloads if w.meta.namespace == spec.namespace}
    )
    if spec.bare:
        nodes = sorted(n.meta.name for n in objects.nodes)
        return (
            "no pod or Service of that name in namespace default, and no Node of that name, in the input"
            + _did_you_mean(spec.name, names + nodes)
            + " (a bare NAME means default/NAME, as in kubectl; write ns/NAME for another namespace)"
        )
    text = f"no pod or Service of that name in the input (namespace {spec.namespace})"
    text += _did_you_mean(spec.name, names)
    kind = kind_named(spec.namespace)
    in_namespace = any(p.meta.namespace == spec.namespace for p in objects.pods) or any(
        s.meta.namespace == spec.namespace for s in objects.services
    )
    if kind is not None and not in_namespace:
        # `svc/web` is kubectl's KIND/NAME: here the first part is the namespace
        text += f" (for a {kind.name} in namespace default, write {explicit(kind, DEFAULT_NAMESPACE, spec.name)})"
    return text


def _did_you_mean(name: str, names: list[str]) -> str:
    close = difflib.get_close_matches(name, names, n=1)
    return f'; did you mean "{close[0]}"?' if close else ""
