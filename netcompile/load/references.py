"""References that resolve to nothing: the input is valid, but something it names is not there.

A typo in a label, a port name or a node name does not make a manifest invalid; it changes what the
manifest means, silently (a policy that selects no pod protects nothing; a pod on a node that is not in
the input is on no node's ruleset). `dangling_references` finds each such reference once and reports it
as a `Diagnostic` at the referencing field (one line; cut here):

    shop.yaml:14:15: NetworkPolicy "shop/web": spec.ingress[0].ports[0].port: named port "http" is
    declared by no container of a selected pod

The CLI prints them as warnings (exit code unchanged), or as errors with `--strict`.

What is checked, and when it is sound to say so:
- Only against what the input holds: pod references only when the input has pods or workloads at all
  (a workload's pod template stands for the pods its controller creates, so manifests kept in Git,
  Deployments without Pods, are checked, and a Helm chart's test Pod beside its Deployments does not
  make the Deployments' pods look missing), node names
  only when it has Nodes, namespaces only when it declares Namespaces (then the namespaces every cluster
  has, `default`, `kube-system`, `kube-public`, `kube-node-lease`, need no declaration).
- A NetworkPolicy whose podSelector selects no pod of its namespace (any phase counts).
- A named policy port that no container declares with that name and protocol, among the pods the name
  is resolved on (docs/semantics.md §3): for ingress the policy's own selected pods (not reported again
  when it selects none); for egress the pods the rule's peers select (every pod for a rule without
  peers or with an ipBlock peer, whose addresses may be pods').
- A Service with a selector that selects no pod, and a Service port whose targetPort no selected pod
  declares: by name, when no selected pod has a container port of that name and protocol; by number,
  only when every selected pod declares container ports and none declares that one (containers need
  not declare the ports they listen on: a pod that declares none may well serve it). Services whose
  endpoints the input gives (EndpointSlices or Endpoints of the Service's name) are not checked: their
  selector plays no part here.
- A pod whose `spec.nodeName` is not a Node of the input: no node's ruleset enforces its policies.
- An object in a namespace that no Namespace of the input declares (`namespace: defualt`); that its
  selectors then select nothing follows from it and is not reported again.

Checks are pure functions of the model objects. Each diagnostic is at its referencing field: the loader
kept those fields' positions in the model (`Meta.fields`, load/positions.py) when it read the object,
so nothing is read twice, and input read from stdin has exact positions too.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import NamedTuple

from ..errors import Diagnostic
from ..model import ContainerPort, Labels, Meta, NetworkPolicy, Objects, PolicyRule, Protocol, Service, ServiceType
from ..model.selectors import LabelSelector, Operator

BUILTIN_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def dangling_references(objects: Objects) -> list[Diagnostic]:
    """Every reference of `objects` that resolves to nothing in `objects`, each once, in input order, at
    the referencing field (or the nearest enclosing field the object spells out)."""
    found: list[Diagnostic] = [*_namespaces(objects), *_node_names(objects)]
    if objects.pods or objects.workloads:
        index = _Pods(objects)
        # in an undeclared namespace, selecting nothing is a consequence, not another reference to report
        undeclared = {d.obj for d in found if d.path == "metadata.namespace"}
        found += (d for d in _policies(objects, index) if d.obj not in undeclared)
        found += (d for d in _services(objects, index) if d.obj not in undeclared)
    return _in_place_order(found)


def _in_place_order(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Each once, by position; at one position (an object read from stdin) in the order found."""
    return sorted(dict.fromkeys(diagnostics), key=lambda d: d.sort_key()[:3])


def _diagnostic(meta: Meta, path: str, message: str) -> Diagnostic:
    return Diagnostic(meta.field_position(path), meta.ref, path, message)


def _selects(selector: LabelSelector, labels: Mapping[str, str]) -> bool:
    """Label selection for reference checks (model/selectors.py holds data only)."""
    if not all(labels.get(key) == value for key, value in selector.match_labels):
        return False
    for req in selector.match_expressions:
        value = labels.get(req.key)
        ok = {
            Operator.IN: value is not None and value in req.values,
            Operator.NOT_IN: value is None or value not in req.values,
            Operator.EXISTS: value is not None,
            Operator.DOES_NOT_EXIST: value is None,
        }[req.operator]
        if not ok:
            return False
    return True


def _did_you_mean(name: str, names: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(set(names)), n=1)
    return f'; did you mean "{close[0]}"?' if close else ""


# --- namespaces and nodes ---------------------------------------------------------------------------


def _namespaced(objects: Objects) -> Iterator[Meta]:
    for group in (objects.pods, objects.workloads, objects.services, objects.endpoint_slices, objects.endpoints):
        for obj in group:
            yield obj.meta
    for policy in objects.network_policies:
        yield policy.meta


def _namespaces(objects: Objects) -> Iterator[Diagnostic]:
    if not objects.namespaces:
        return
    known = {n.meta.name for n in objects.namespaces} | set(BUILTIN_NAMESPACES)
    for meta in _namespaced(objects):
        if meta.namespace not in known:
            yield _diagnostic(
                meta,
                "metadata.namespace",
                f'namespace "{meta.namespace}" is declared by no Namespace of the input'
                + _did_you_mean(meta.namespace, known),
            )


def _node_names(objects: Objects) -> Iterator[Diagnostic]:
    if not objects.nodes:
        return
    known = {n.meta.name for n in objects.nodes}
    for pod in objects.pods:
        if pod.node_name is not None and pod.node_name not in known:
            yield _diagnostic(
                pod.meta,
                "spec.nodeName",
                f'Node "{pod.node_name}" is not in the input: no node\'s ruleset enforces policies for this pod'
                + _did_you_mean(pod.node_name, known),
            )


# --- pods, selected ---------------------------------------------------------------------------------


class _Pod(NamedTuple):
    """A pod of the input, or a workload's pod template standing for the pods its controller creates."""

    key: str  # `ns/name` of a pod, `ns/Kind/name` of a workload
    ports: tuple[ContainerPort, ...]
    workload: str | None = None  # a workload's pod template: the workload, `Deployment "ns/name"`


class _Pods:
    """The input's pods and workloads' pod templates by namespace, and what selectors pick of them
    (remembered: policies and Services share selectors, and a large input has thousands of them). A
    selector is asked once per distinct set of labels of a namespace, as most pods share theirs with
    others (a workload's, an app's)."""

    def __init__(self, objects: Objects) -> None:
        # per namespace: its members in input order, each with the index of its label set in `label_sets`
        self.by_ns: dict[str, list[tuple[_Pod, int]]] = defaultdict(list)
        self.label_sets: dict[str, list[dict[str, str]]] = defaultdict(list)
        indices: dict[tuple[str, Labels], int] = {}
        members = [(pod.meta.namespace, _Pod(pod.meta.key, pod.ports), pod.meta.labels) for pod in objects.pods]
        for workload in objects.workloads:
            meta, template = workload.meta, workload.template
            member = _Pod(f"{meta.namespace}/{meta.kind}/{meta.name}", template.ports, f'{meta.kind} "{meta.key}"')
            members.append((meta.namespace, member, template.labels))
        for namespace, member, given in members:
            index = indices.get((namespace, given))
            if index is None:
                sets = self.label_sets[namespace]
                index = indices[namespace, given] = len(sets)
                sets.append(dict(given))
            self.by_ns[namespace].append((member, index))
        self.all: list[_Pod] = [member for members in self.by_ns.values() for member, _ in members]
        labels = {n.meta.name: n.meta.label_dict() for n in objects.namespaces}
        self.ns_labels = {ns: labels.get(ns) or {NAMESPACE_NAME_LABEL: ns} for ns in self.by_ns}
        self._selected: dict[tuple[str, LabelSelector], list[_Pod]] = {}
        self._namespaces: dict[LabelSelector, list[str]] = {}

    def select(self, namespace: str, selector: LabelSelector) -> list[_Pod]:
        """The members of `namespace` that `selector` selects, in input order."""
        key = (namespace, selector)
        found = self._selected.get(key)
        if found is None:
            chosen = [_selects(selector, labels) for labels in self.label_sets.get(namespace, ())]
            found = self._selected[key] = [p for p, index in self.by_ns.get(namespace, ()) if chosen[index]]
        return found

    def namespaces(self, selector: LabelSelector) -> list[str]:
        found = self._namespaces.get(selector)
        if found is None:
            found = self._namespaces[selector] = [
                ns for ns, labels in self.ns_labels.items() if _selects(selector, labels)
            ]
        return found

    def peers(self, policy: NetworkPolicy, rule: PolicyRule) -> Sequence[_Pod]:
        """The pods an egress rule's peers can be (every pod: no peers, or an ipBlock among them)."""
        if not rule.peers or any(peer.ip_block is not None for peer in rule.peers):
            return self.all
        out: dict[str, _Pod] = {}
        for peer in rule.peers:
            if peer.namespace_selector is None:
                namespaces = [policy.meta.namespace]
            else:
                namespaces = self.namespaces(peer.namespace_selector)
            for ns in namespaces:
                for pod in self.select(ns, peer.pod_selector or LabelSelector()):
                    out.setdefault(pod.key, pod)
        return list(out.values())


def _named_port_problem(name: str, protocol: Protocol, pods: Sequence[_Pod], whose: str) -> str | None:
    """Why no pod of `pods` resolves the named port (None: one does)."""
    if any(c.name == name and c.protocol == protocol for p in pods for c in p.ports):
        return None
    text = f'named port "{name}" is declared by no container of {whose}'
    if not pods:
        return text
    other = sorted({c.protocol.value for p in pods for c in p.ports if c.name == name})
    if other:
        return text + f" with protocol {protocol.value} (it is declared with {', '.join(other)})"
    names = [c.name for p in pods for c in p.ports if c.name is not None and c.protocol == protocol]
    return text + _did_you_mean(name, names)


# --- NetworkPolicies --------------------------------------------------------------------------------


def _policies(objects: Objects, pods: _Pods) -> Iterator[Diagnostic]:
    for policy in objects.network_policies:
        selected = pods.select(policy.meta.namespace, policy.pod_selector)
        if not selected:
            yield _diagnostic(
                policy.meta,
                "spec.podSelector",
                f"selects no pod of the input (namespace {policy.meta.namespace}, selector {policy.pod_selector}):"
                " the policy applies to nothing",
            )
        for direction, peers_key, rules in (("ingress", "from", policy.ingress), ("egress", "to", policy.egress)):
            for i, rule in enumerate(rules):
                for j, port in enumerate(rule.ports or ()):
                    if not isinstance(port.port, str):
                        continue
                    if direction == "ingress":
                        if not selected:
                            continue  # reported once, as the policy selecting nothing
                        problem = _named_port_problem(port.port, port.protocol, selected, "a selected pod")
                    else:
                        peers = pods.peers(policy, rule)
                        whose = "a peer pod" if peers else f"a peer pod (the rule's `{peers_key}` selects no pod)"
                        problem = _named_port_problem(port.port, port.protocol, peers, whose)
                    if problem is not None:
                        yield _diagnostic(policy.meta, f"spec.{direction}[{i}].ports[{j}].port", problem)


# --- Services ---------------------------------------------------------------------------------------


def _services(objects: Objects, pods: _Pods) -> Iterator[Diagnostic]:
    given = {(s.meta.namespace, s.service_name) for s in objects.endpoint_slices if s.service_name}
    given |= {(e.meta.namespace, e.meta.name) for e in objects.endpoints}
    for service in objects.services:
        if service.selector is None or service.type == ServiceType.EXTERNAL_NAME:
            continue
        if (service.meta.namespace, service.meta.name) in given:
            continue
        selected = pods.select(service.meta.namespace, service.selector)
        if not selected:
            yield _diagnostic(
                service.meta,
                "spec.selector",
                f"selects no pod of the input (namespace {service.meta.namespace}, selector {service.selector}):"
                " the Service has no endpoints",
            )
            continue
        yield from _target_ports(service, selected)


def _target_ports(service: Service, selected: list[_Pod]) -> Iterator[Diagnostic]:
    for i, port in enumerate(service.ports):
        path = f"spec.ports[{i}].targetPort"
        target = port.target_port
        if isinstance(target, str):
            problem = _named_port_problem(target, port.protocol, selected, "a selected pod")
            if problem is not None:
                yield _diagnostic(service.meta, path, problem)
            continue
        if not all(p.ports for p in selected):
            continue  # a pod that declares no ports may serve any
        declared = sorted({(c.port, c.protocol.value) for p in selected for c in p.ports})
        if (target, port.protocol.value) in declared:
            continue
        shown = ", ".join(f"{n}/{proto}" for n, proto in declared[:5]) + (", ..." if len(declared) > 5 else "")
        count = _selected_text(selected)
        yield _diagnostic(
            service.meta,
            path,
            f"port {target}/{port.protocol.value} is declared by no container of {count} {shown}",
        )


def _selected_text(selected: Sequence[_Pod]) -> str:
    """What a Service selects, for a message that goes on with "which declare(s) ..."."""
    if len(selected) == 1:
        only = selected[0].workload
        return f"the pod template of {only}, which declares" if only else "the selected pod, which declares"
    templates = sum(1 for p in selected if p.workload)
    pods = len(selected) - templates
    if not templates:
        return f"the {pods} selected pods, which declare"
    if not pods:
        return f"the {templates} selected pod templates, which declare"
    return f"the {pods} selected pods and {templates} pod templates, which declare"
