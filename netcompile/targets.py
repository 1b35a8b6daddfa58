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

`parse` reads the text (syntax only); `resolve` finds the object in the input. Both raise
`TargetError` with a message for the user (the CLI exits 2 with it). Workload kinds are part of the
grammar already; they resolve once the input model has workloads (see `_CANDIDATES`).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import ip_address

from .model import IPAddress, Node, Objects, Pod, Service

DEFAULT_NAMESPACE = "default"


class TargetError(ValueError):
    """A target that is malformed, names nothing, or names more than one thing."""


@dataclass(frozen=True, slots=True)
class Kind:
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

# The objects of each kind that targets can name, from the input. Kinds not listed here are part of the
# grammar but not of the input model yet (workloads): naming one is an error that says so. When the model
# gains workloads, add them here; `ns/name` then considers them too.
Named = Pod | Service | Node
_CANDIDATES: dict[str, Callable[[Objects], Iterable[Named]]] = {
    "Pod": lambda objects: objects.pods,
    "Service": lambda objects: objects.services,
    "Node": lambda objects: objects.nodes,
}


def kind_named(text: str) -> Kind | None:
    """The kind for a kubectl kind name (`svc`, `Pods`, `deployments.apps`), or None."""
    name, _, group = text.lower().partition(".")
    kind = _BY_NAME.get(name)
    if kind is None or (group and group != kind.group):
        return None
    return kind


@dataclass(frozen=True, slots=True)
class TargetSpec:
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


@dataclass(frozen=True, slots=True)
class Target:
    """A resolved target: an address, or one object of the input."""

    spec: TargetSpec
    kind: str  # "address", "Pod", "Service", "Node"
    obj: Named | None = None
    address: IPAddress | None = None

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
        return f"{what} {self.key}"


def resolve(text: str | TargetSpec, objects: Objects) -> Target:
    """The one thing `text` names in `objects`; TargetError when it names nothing or is ambiguous."""
    spec = parse(text) if isinstance(text, str) else text
    if spec.address is not None:
        return Target(spec, "address", address=spec.address)
    if spec.kind is not None:
        found = _find(spec.kind, spec.namespace, spec.name, objects)
        if found is None:
            raise TargetError(f"{spec.text}: {_missing(spec.kind, spec.namespace, spec.name, objects)}")
        return Target(spec, spec.kind.name, obj=found)
    matches = [
        (kind, obj)
        for kind in KINDS
        if kind.namespaced
        for obj in [_find(kind, spec.namespace, spec.name, objects)]
        if obj is not None
    ]
    if spec.bare:
        node = _find(_KIND["Node"], "", spec.name, objects)
        if node is not None:
            matches.append((_KIND["Node"], node))
    if len(matches) == 1:
        kind, obj = matches[0]
        return Target(spec, kind.name, obj=obj)
    if matches:
        raise TargetError(f"{spec.text}: {_ambiguous(spec, [kind for kind, _ in matches])}")
    raise TargetError(f"{spec.text}: {_nothing(spec, objects)}")


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
    if kind.name not in _CANDIDATES:
        return (
            f"netcompile does not read {kind.name}s yet: name one of its pods (ns/pod/NAME) or a Service (ns/svc/NAME)"
        )
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
