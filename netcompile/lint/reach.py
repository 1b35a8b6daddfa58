"""Reachability findings, asked of the reference evaluator (netcompile/verify/reference/): pods isolated for
egress that cannot reach cluster DNS, Ingress backends the ingress controller's pods may not reach.

Each question is a packet, evaluated on the node that enforces it (a pod's policies are enforced on its
own node: the source's node judges egress, the destination's node ingress), so that no policy semantics
are derived here.

Questions are asked once per class of pods (netcompile/analysis/classes.py: pods that nothing in the
input tells apart, by the reference's own reading), not once per pod: a pod's answer is its class's,
and only the words of a finding (the first pair it names) are asked of that pod itself. tests/test_lint.py
proves that the findings by classes are the findings pod by pod.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

from ..analysis.classes import Facts, classes_of
from ..model import (
    IPAddress,
    IPNetwork,
    Meta,
    NetworkPolicy,
    Objects,
    Pod,
    PolicyType,
    Protocol,
    Scope,
    Service,
    ServiceType,
)
from ..model.ingress import Ingress, IngressBackend
from ..model.proxy import pod_interface
from ..targets import Workloads
from ..verify.packet import Origin, Packet, Verdict
from ..verify.reference import Reference
from ..verify.reference.policy import policy_names, port_matches
from .findings import Finding, at, finding

DNS_SERVICE = ("kube-system", "kube-dns")
DNS_PORT = 53
CLUSTER_DNS = ("ClusterFirst", "ClusterFirstWithHostNet")  # the dnsPolicy values that use cluster DNS
# Ingress controllers, by the name their charts give their pods (app.kubernetes.io/name, or app).
CONTROLLER_NAMES = frozenset(
    {"ingress-nginx", "nginx-ingress", "traefik", "haproxy-ingress", "kong", "contour", "emissary-ingress"}
)


@dataclass(frozen=True)
class ScopeArgs:
    """What the reference is told besides the objects (as `model.Scope`)."""

    cluster_cidrs: tuple[IPNetwork, ...] = ()
    detect_local_mode: str = "ClusterCIDR"
    masquerade_all: bool = False
    nodeport_primary: bool = False


class Nodes:
    """One Reference per node (built when first asked): each pod's policies are judged on its own node.
    With `by_classes`, the running pods' classes (analysis/classes.py), computed when first asked."""

    def __init__(self, objects: Objects, args: ScopeArgs, *, by_classes: bool = True) -> None:
        self.objects = objects
        self.args = args
        self.by_classes = by_classes
        self.names = {n.meta.name for n in objects.nodes}
        self._refs: dict[str | None, Reference] = {}
        self.pod_at: dict[IPAddress, Pod] = {}  # the first running pod at each address (not hostNetwork)
        for pod in objects.pods:
            if pod.running and not pod.host_network:
                for address in pod.ips:
                    self.pod_at.setdefault(address, pod)
        self._class_of: dict[int, int] | None = None

    def class_of(self, pod: Pod) -> int | None:
        """The class of a running pod with an address (not hostNetwork), by the reference's reading: pods of
        one class get one answer to every question here. None: no class (or `by_classes` is off)."""
        if not self.by_classes:
            return None
        if self._class_of is None:
            pods = [p for p in self.objects.pods if p.running and not p.host_network and p.ips]
            view = self.at(min(self.names) if self.names else None).cluster
            facts = Facts(view, self.args.cluster_cidrs, lambda p: p.node_name if p.node_name in self.names else None)
            _, of = classes_of(facts, pods)
            self._class_of = {id(p): c for p, c in zip(pods, of, strict=True)}
        return self._class_of.get(id(pod))

    def iif(self, pod: Pod) -> str:
        """The interface `pod`'s packets arrive on at its node, as kube-proxy's interface detect-local modes
        read it ("" in the other modes, and for hostNetwork pods: they send from the node)."""
        if pod.host_network:
            return ""
        return pod_interface(self.objects.proxy_config, self.args.detect_local_mode, pod.meta.key)

    def of(self, pod: Pod) -> Reference | None:
        """The reference of the node that enforces `pod`'s policies (None: the pod is on no node of the input)."""
        if not self.names:
            return self.at(None)
        if pod.node_name not in self.names:
            return None
        return self.at(pod.node_name)

    def at(self, name: str | None) -> Reference:
        ref = self._refs.get(name)
        if ref is None:
            a = self.args
            scope = Scope(
                self.objects, name, a.cluster_cidrs, a.detect_local_mode, a.masquerade_all, a.nodeport_primary
            )
            ref = self._refs[name] = Reference(scope)
        return ref


def _dropped(nodes: Nodes, ref: Reference, packet: Packet) -> tuple[Fraction, list[str]]:
    """The share of `packet`'s connections that are dropped, on its node and then, for a packet delivered to
    a pod of another node, on that node (its ingress policies), with the reasons given for the drops."""
    outcome = ref.evaluate(packet)
    share = Fraction(0)
    reasons = [r for r in outcome.reasons if "dropped" in r]
    for result, p in outcome.distribution.items():
        if result.verdict == Verdict.DROPPED:
            share += p
            continue
        if result.verdict != Verdict.DELIVERED or result.dst is None or result.dport is None or not nodes.names:
            continue
        target = nodes.pod_at.get(result.dst)
        there = nodes.of(target) if target is not None and target.node_name != ref.cluster.node_name else None
        if there is None:
            continue  # judged here already (a pod of this node), or no policy of another node applies
        src = packet.src
        if result.masquerade or packet.origin == Origin.NODE:  # the other node sees this node's address
            src = next((a for a in ref.cluster.primary_addresses if a.version == result.dst.version), src)
        onward = there.evaluate(Packet(src, result.dst, packet.protocol, result.dport))
        dropped = sum((q for r, q in onward.distribution.items() if r.verdict == Verdict.DROPPED), Fraction(0))
        share += p * dropped
        reasons += [r for r in onward.reasons if "dropped" in r and r not in reasons]
    return share, reasons


def _source(pod: Pod, family: int) -> IPAddress | None:
    return next((a for a in pod.ips if a.version == family), None)


# --- pods without DNS -------------------------------------------------------------------------------------


def no_dns(objects: Objects, nodes: Nodes) -> Iterator[Finding]:
    """Pods (grouped by workload) isolated for egress that cannot reach cluster DNS."""
    services = {(s.meta.namespace, s.meta.name): s for s in objects.services}
    dns = services.get(DNS_SERVICE)
    if dns is not None and (dns.type == ServiceType.EXTERNAL_NAME or dns.headless or not dns.cluster_ips):
        dns = None
    workloads = Workloads(objects)
    declared = {(w.meta.namespace, w.meta.kind, w.meta.name): w.meta for w in objects.workloads}
    reported: set[tuple[str, str, str]] = set()
    problems: dict[int, str | None] = {}  # by class of pods
    allowed: dict[tuple[int, int, Protocol], bool] = {}  # _rule_problem's answers, by egress rule
    for pod in objects.pods:
        if not pod.running or pod.host_network or not pod.ips or pod.naming.dns_policy not in CLUSTER_DNS:
            continue
        ref = nodes.of(pod)
        if ref is None:
            continue
        isolating = ref.policies.selecting(pod, PolicyType.EGRESS)
        if not isolating:
            continue
        owner = workloads.of(pod)
        group = (pod.meta.namespace, *(owner or ("Pod", pod.meta.name)))
        if group in reported:
            continue
        cls = nodes.class_of(pod)
        if cls is not None and cls in problems:
            problem = problems[cls]
        elif dns is not None:
            problem = _service_problem(nodes, ref, pod, dns)
        else:
            problem = _rule_problem(ref, isolating, allowed)
        if cls is not None:
            problems[cls] = problem
        if problem is None:
            continue
        reported.add(group)
        meta, path, who = _where(pod, owner, declared)
        yield finding(
            "no-dns",
            meta,
            path,
            f"{who} isolated for egress by {policy_names(isolating)}, and cannot reach cluster DNS: {problem}; "
            "name lookups fail (allow egress to the kube-dns pods on 53/UDP and 53/TCP)",
        )


def _where(
    pod: Pod, owner: tuple[str, str] | None, declared: dict[tuple[str, str, str], Meta]
) -> tuple[Meta, str, str]:
    """Where to report a finding about a pod: its workload's pod template when the input declares it."""
    if owner is not None:
        meta = declared.get((pod.meta.namespace, *owner))
        if meta is not None:
            template = "spec.jobTemplate.spec.template" if meta.kind == "CronJob" else "spec.template"
            return meta, f"{template}.metadata.labels", f"its pods ({pod.meta.name}, ...) are"
    return pod.meta, "metadata.labels", "the pod is"


def _service_problem(nodes: Nodes, ref: Reference, pod: Pod, dns: Service) -> str | None:
    dropped: dict[tuple[str, Fraction], list[str]] = {}  # (address, share dropped): protocols
    for address in dns.cluster_ips:
        src = _source(pod, address.version)
        for protocol in (Protocol.UDP, Protocol.TCP):
            if src is None or not any(p.protocol == protocol and p.port == DNS_PORT for p in dns.ports):
                continue
            share, _ = _dropped(nodes, ref, Packet(src, address, protocol, DNS_PORT, iif=nodes.iif(pod)))
            if share:
                dropped.setdefault((str(address), share), []).append(protocol.value)
    parts = [
        f"{' and '.join(protocols)} to {address}:{DNS_PORT} "
        + ("dropped" if share == 1 else f"dropped for {share} of the endpoints")
        for (address, share), protocols in dropped.items()
    ]
    return f"{', '.join(parts)} (Service {dns.meta.key})" if parts else None


def _rule_problem(
    ref: Reference, isolating: list[NetworkPolicy], known: dict[tuple[int, int, Protocol], bool]
) -> str | None:
    """Without the kube-dns Service in the input: does some egress rule allow port 53 to any destination?
    (`known`: each rule's answer, kept across pods.)"""
    running: list[Pod] | None = None
    missing = []
    for protocol in (Protocol.UDP, Protocol.TCP):
        allowed = False
        for policy in isolating:
            for r, rule in enumerate(policy.egress):
                answer = known.get((id(policy), r, protocol))
                if answer is None:
                    running = running if running is not None else [p for p in ref.cluster.objects.pods if p.running]
                    ports = not rule.ports or any(port_matches(e, protocol, DNS_PORT, running) for e in rule.ports)
                    peers = not rule.peers or any(
                        peer.ip_block is not None or any(ref.policies.peer_selects(policy, peer, p) for p in running)
                        for peer in rule.peers
                    )
                    answer = known[(id(policy), r, protocol)] = ports and peers
                allowed = allowed or answer
        if not allowed:
            missing.append(f"{DNS_PORT}/{protocol.value}")
    if not missing:
        return None
    return f"no egress rule allows port {' or '.join(missing)} to any destination (the input has no kube-dns Service)"


# --- Ingress backends the controller cannot reach ---------------------------------------------------------


def controllers(objects: Objects) -> list[tuple[str, Pod]]:
    """The ingress controllers' running pods in the input, each with its name (CONTROLLER_NAMES)."""
    out = []
    for pod in objects.pods:
        labels = pod.meta.label_dict()
        name = labels.get("app.kubernetes.io/name", labels.get("app"))
        if name in CONTROLLER_NAMES and pod.running and (pod.ips or pod.host_network):
            out.append((name, pod))
    return out


def serving(ingress: Ingress, found: list[tuple[str, Pod]]) -> list[Pod]:
    """The controller pods that serve `ingress`: with an ingressClassName, those whose controller's name
    holds it (class `nginx`: ingress-nginx) when any does (IngressClass objects are not read); else all."""
    wanted = ingress.ingress_class_name
    chosen = [pod for name, pod in found if wanted and wanted in name]
    return chosen or [pod for _, pod in found]


def ingress_unreachable(objects: Objects, nodes: Nodes) -> Iterator[Finding]:
    found = controllers(objects)
    if not found or not objects.ingresses:
        return
    services = {(s.meta.namespace, s.meta.name): s for s in objects.services}
    for ingress in objects.ingresses:
        for backend in ingress.backends():
            problem = _backend_problem(ingress, backend, services, serving(ingress, found), nodes)
            if problem is not None:
                yield at("ingress-unreachable", backend.position or ingress.meta.position, ingress.meta.ref,
                         backend.path, problem)  # fmt: skip


def _backend_problem(
    ingress: Ingress,
    backend: IngressBackend,
    services: dict[tuple[str, str], Service],
    found: list[Pod],
    nodes: Nodes,
) -> str | None:
    if backend.service is None:
        return None
    service = services.get((ingress.meta.namespace, backend.service.name))
    if service is None or service.type == ServiceType.EXTERNAL_NAME:
        return None  # unresolved-name says it
    wanted = backend.service.port
    port = next((p for p in service.ports if (p.port if isinstance(wanted, int) else p.name) == wanted), None)
    if port is None:
        return None
    view = nodes.at(min(nodes.names) if nodes.names else None).cluster  # endpoints are the same on every node
    denied = 0
    first: str | None = None  # why the first pair dropped is, in its own words
    pairs = 0
    known: dict[tuple[int, int, int], bool] = {}  # dropped, by (controller's class, endpoint pod's class, port)
    for endpoint in view.endpoints(service, port):
        if not (endpoint.ready and endpoint.serving):
            continue  # the controller proxies to ready endpoints only
        target = nodes.pod_at.get(endpoint.address)
        to = nodes.class_of(target) if target is not None else None
        for controller in found:
            pairs += 1
            by = nodes.class_of(controller)
            key = (by, to, endpoint.port) if by is not None and to is not None else None
            dropped = known.get(key) if key is not None else None
            why = None
            if dropped is None or (dropped and first is None):
                why = _denied(controller, endpoint.address, endpoint.port, port.protocol, nodes)
                dropped = why is not None
                if key is not None:
                    known[key] = dropped
            if dropped:
                denied += 1
                first = first if first is not None else why
    if not denied:
        return None
    return (
        f"routes to {service.meta.ref} port {wanted}, but the ingress controller's pods may not reach it: "
        f"{denied} of {pairs} (controller pod, endpoint) pairs are dropped; {first}"
    )


def _denied(controller: Pod, address: IPAddress, port: int, protocol: Protocol, nodes: Nodes) -> str | None:
    """Why a connection from `controller` to an endpoint is dropped (egress on the controller's node, ingress
    on the endpoint's), or None. A hostNetwork controller sends from its node."""
    ref = nodes.of(controller)
    if ref is None:
        return None
    src = next((a for a in ref.cluster.pod_ips(controller) if a.version == address.version), None)
    if src is None:
        return None
    origin = Origin.NODE if controller.host_network else Origin.NETWORK
    packet = Packet(src, address, protocol, port, origin=origin, iif=nodes.iif(controller))
    share, reasons = _dropped(nodes, ref, packet)
    if not share:
        return None
    return reasons[-1] if reasons else f"{src} -> {address} {protocol.value} {port} is dropped"
