"""`netcompile explain`: one pod, workload or Service, as a reviewer asks about it.

For a pod (a workload: its pods, which share a template): the NetworkPolicies selecting it in each
direction and what each rule allows, in plain words with the user's own selectors, CIDRs and ports
(named ports resolved on the pod for ingress); whether it is isolated at all; the Services that route
to it and on which frontends. For a Service: its frontends, its endpoints as the EndpointSlices state
them, and the pods behind them, each explained as above. Selection is the reference evaluator's
(`verify/reference/`), so what explain says is what the proof checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import NetworkPolicy, Objects, Pod, PolicyPeer, PolicyPort, PolicyRule, PolicyType, Service, ServiceType
from ..model.selectors import LabelSelector
from ..verify.reference.view import labels_select


@dataclass(slots=True)
class Explanation:
    """What explain prints about one target, section by section (title, lines)."""

    title: str
    sections: list[tuple[str, list[str]]] = field(default_factory=list)
    about: set[str] = field(default_factory=set)  # the objects it names (`Kind "ns/name"`): pods, policies, Services


def selecting(objects: Objects, pod: Pod, direction: PolicyType) -> list[NetworkPolicy]:
    """The policies of the pod's namespace that select it for `direction`."""
    labels = dict(pod.meta.labels)
    return [
        p
        for p in objects.network_policies
        if p.meta.namespace == pod.meta.namespace
        and direction in p.policy_types
        and labels_select(p.pod_selector, labels)
    ]


def _selector(selector: LabelSelector) -> str:
    return "every" if selector.is_empty else str(selector)


def peer_words(peer: PolicyPeer, namespace: str) -> str:
    """One `from`/`to` entry in words: `pods app=web in namespaces team=web`, `198.51.100.0/24 except ...`."""
    if peer.ip_block is not None:
        block = peer.ip_block
        excepts = f" except {', '.join(str(e) for e in block.except_)}" if block.except_ else ""
        return f"addresses in {block.cidr}{excepts}"
    pods = "every pod" if peer.pod_selector is None or peer.pod_selector.is_empty else f"pods {peer.pod_selector}"
    if peer.namespace_selector is None:
        return f"{pods} in namespace {namespace}"
    if peer.namespace_selector.is_empty:
        return f"{pods} in every namespace"
    return f"{pods} in namespaces {peer.namespace_selector}"


def port_words(port: PolicyPort, pod: Pod | None) -> str:
    """`TCP 8080`, `UDP 53`, `TCP 30000-32767`, `TCP http (8080 on this pod)`, `every TCP port`."""
    protocol = port.protocol.value
    if port.port is None:
        return f"every {protocol} port"
    if isinstance(port.port, str):
        numbers = sorted(
            {c.port for c in (pod.ports if pod else ()) if c.name == port.port and c.protocol == port.protocol}
        )
        resolved = f" ({', '.join(map(str, numbers))} on this pod)" if numbers else " (no such port on this pod)"
        return f"{protocol} {port.port}" + (resolved if pod is not None else "")
    return f"{protocol} {port.port}" + (f"-{port.end_port}" if port.end_port else "")


def rule_words(rule: PolicyRule, direction: PolicyType, namespace: str, pod: Pod | None) -> str:
    """`from pods app=web in namespace shop on TCP 8080`; `None` peers or ports: every."""
    word = "from" if direction == PolicyType.INGRESS else "to"
    if rule.peers is None:
        who = "every source" if direction == PolicyType.INGRESS else "every destination"
    else:
        who = " or ".join(peer_words(p, namespace) for p in rule.peers)
        who = f"{word} {who}"
    on_pod = pod if direction == PolicyType.INGRESS else None  # egress names ports of the destinations
    ports = "on every port" if rule.ports is None else "on " + ", ".join(port_words(p, on_pod) for p in rule.ports)
    return f"{who} {ports}"


def pod_sections(objects: Objects, pod: Pod, about: set[str]) -> list[tuple[str, list[str]]]:
    """The sections about one pod; the objects they name go to `about`."""
    about.add(pod.meta.ref)
    out: list[tuple[str, list[str]]] = []
    for direction in (PolicyType.INGRESS, PolicyType.EGRESS):
        policies = selecting(objects, pod, direction)
        title = f"{direction.value}: " + (
            f"isolated by {len(policies)} {'policy' if len(policies) == 1 else 'policies'}; allowed is the union of"
            if policies
            else "not isolated: every connection allowed"
        )
        lines: list[str] = []
        for policy in sorted(policies, key=lambda p: p.meta.key):
            about.add(policy.meta.ref)
            rules = policy.ingress if direction == PolicyType.INGRESS else policy.egress
            head = f"{policy.meta.ref} (podSelector {_selector(policy.pod_selector)})"
            if not rules:
                lines.append(f"{head}: no rule: allows nothing")
            for index, rule in enumerate(rules):
                section = direction.value.lower()
                lines.append(f"{head} {section}[{index}]: {rule_words(rule, direction, pod.meta.namespace, pod)}")
        out.append((title, lines))
    routed = routing_services(objects, pod)
    about.update(svc.meta.ref for svc in routed)
    out.append(
        ("Services routing to it", [f"{svc.meta.ref}: {', '.join(frontends(svc))}" for svc in routed] or ["none"])
    )
    return out


def routing_services(objects: Objects, pod: Pod) -> list[Service]:
    """The Services whose endpoints hold the pod's addresses."""
    addresses = set(pod.ips)
    names = {
        (s.meta.namespace, s.service_name)
        for s in objects.endpoint_slices
        if s.service_name and any(set(e.addresses) & addresses for e in s.endpoints)
    }
    return [
        svc
        for svc in sorted(objects.services, key=lambda s: s.meta.key)
        if (svc.meta.namespace, svc.meta.name) in names
    ]


def frontends(service: Service) -> list[str]:
    """Where a Service answers: ClusterIPs, NodePorts, externalIPs, LoadBalancer IPs, by port."""
    out = []
    for port in service.ports:
        target = f" -> {port.target_port}"
        for address in service.cluster_ips:
            out.append(f"ClusterIP {address}:{port.port}/{port.protocol.value}{target}")
        if port.node_port is not None and service.type in (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER):
            out.append(f"NodePort {port.node_port}/{port.protocol.value}{target}")
        for address in service.external_ips:
            out.append(f"externalIP {address}:{port.port}/{port.protocol.value}{target}")
        if service.type == ServiceType.LOAD_BALANCER:
            for ingress in service.load_balancer_ingress:
                out.append(f"LoadBalancer {ingress.ip}:{port.port}/{port.protocol.value}{target}")
    return out or ["none (DNS only)"]


def explain_pods(objects: Objects, pods: list[Pod], title: str) -> Explanation:
    """A pod, or a workload's pods (explained once per distinct set of labels: the template's)."""
    explanation = Explanation(title)
    seen: set[tuple[tuple[str, str], ...]] = set()
    for pod in pods:
        if pod.meta.labels in seen:
            continue
        seen.add(pod.meta.labels)
        addresses = ", ".join(map(str, pod.ips)) or "no address"
        ports = ", ".join(f"{c.name + '=' if c.name else ''}{c.port}/{c.protocol.value}" for c in pod.ports) or "none"
        head = f"pod {pod.meta.key} on {pod.node_name or 'no node'} ({addresses}; labels {_labels(pod)}; ports {ports})"
        explanation.sections.append((head, []))
        explanation.sections += pod_sections(objects, pod, explanation.about)
    return explanation


def _labels(pod: Pod) -> str:
    return ",".join(f"{k}={v}" for k, v in pod.meta.labels) or "none"


def explain_service(objects: Objects, service: Service) -> Explanation:
    explanation = Explanation(f"{service.meta.ref} ({service.type.value})", about={service.meta.ref})
    explanation.sections.append(("Frontends", frontends(service)))
    slices = [
        s
        for s in objects.endpoint_slices
        if s.meta.namespace == service.meta.namespace and s.service_name == service.meta.name
    ]
    pods_at = {a: p for p in objects.pods for a in p.ips}
    lines = []
    for eps in sorted(slices, key=lambda s: s.meta.name):
        ports = ", ".join(f"{p.name or '-'}={p.port}/{p.protocol.value}" for p in eps.ports)
        for endpoint in eps.endpoints:
            c = endpoint.conditions
            state = "ready" if c.ready else "serving, terminating" if c.serving and c.terminating else "not ready"
            owner = pods_at.get(endpoint.addresses[0]) if endpoint.addresses else None
            who = f" (pod {owner.meta.key})" if owner else ""
            lines.append(f"{endpoint.addresses[0] if endpoint.addresses else '-'}{who} on {endpoint.node_name or '?'}: "
                         f"{state}; ports {ports}")  # fmt: skip
    explanation.sections.append((f"Endpoints ({len(lines)})", lines or ["none: connections are rejected"]))
    behind = sorted({p.meta.key: p for line in slices for e in line.endpoints for a in e.addresses[:1]
                     if (p := pods_at.get(a)) is not None}.values(), key=lambda p: p.meta.key)  # fmt: skip
    if behind:
        pods = explain_pods(objects, behind, "")
        explanation.sections += pods.sections
        explanation.about |= pods.about
    return explanation
