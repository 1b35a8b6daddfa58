"""What a change does to Services: each frontend's answer to a new connection, compared version to version.

For every node and every frontend of the reference evaluator (ClusterIPs, NodePorts, externalIPs,
LoadBalancer IPs), the Service stage's decision for a first packet from each kind of client — a pod, the
node itself, an outside client — is described: the endpoints (each with its probability) and whether the
source is masqueraded, or dropped, or rejected. Frontends that appear or go, and decisions that differ,
are the changes; the same change on several nodes is reported once, with the nodes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address

from ..journeys import Network
from ..model import IPAddress, IPNetwork
from ..model.proxy import pod_interface
from ..verify.packet import Origin, Packet
from ..verify.reference import evaluate, reference_for
from ..verify.reference.services import Frontend, FrontendKind, ServiceDecision

OUTSIDE = {4: ip_address("203.0.113.254"), 6: ip_address("2001:db8:ffff::254")}  # documentation ranges

FrontendKey = tuple[str, str, str]  # (Service "ns/name", port label, frontend as "ClusterIP 10.96.0.5:80")


@dataclass(frozen=True, slots=True)
class Decision:
    """What a frontend does with a first packet: `verdict` ("dropped", "rejected"), or DNAT to
    `endpoints` (`ns/pod:port`, each with an equal share) with the source masqueraded or kept (`how`)."""

    endpoints: tuple[str, ...] = ()
    how: str = ""  # "1/2 each; masqueraded"
    verdict: str | None = None

    def __str__(self) -> str:
        return self.verdict if self.verdict is not None else f"{', '.join(self.endpoints)} ({self.how})"


@dataclass(frozen=True, slots=True)
class ServiceChange:
    """A frontend added (`before` None) or removed (`after` None), or its decision for one kind of client
    changed, on `nodes`."""

    service: str
    port: str
    frontend: str
    client: str  # "pods", "the node", "outside clients"; "" for a frontend added or removed
    before: Decision | None
    after: Decision | None
    nodes: tuple[str, ...]


def decisions(
    net: Network, disagreements: list[str] | None = None
) -> dict[str, dict[FrontendKey, dict[str, Decision]]]:
    """node -> frontend -> client kind -> the decision, described. Each packet is also asked of the
    interpreter of the node's compiled ruleset; where it disagrees with the reference, `disagreements`
    says so (a bug of netcompile's, reported loudly)."""
    out: dict[str, dict[FrontendKey, dict[str, Decision]]] = {}
    node_pod_cidrs = [c for n in net.objects.nodes for c in n.pod_cidrs]
    for name, view in net.views.items():
        cluster = view.cluster
        stage = reference_for(cluster, net.opts.nodeport_addresses).services
        pod_sources = stage.cluster.pod_sources or ()
        per: dict[FrontendKey, dict[str, Decision]] = {}
        for frontend in stage.frontends.values():
            family = frontend.address.version
            clients: dict[str, Packet] = {"outside clients": _packet(frontend, OUTSIDE[family], Origin.NETWORK)}
            pod_address = _pod_address([*pod_sources, *node_pod_cidrs], family)
            if pod_address is not None:
                # a pod's packets arrive on its interface (what kube-proxy's interface detect-local modes read)
                iif = pod_interface(net.objects.proxy_config, net.opts.detect_local_mode, "pods")
                clients["pods"] = _packet(frontend, pod_address, Origin.NETWORK, iif)
            node_address = next((a for a in cluster.node_addresses if a.version == family), None)
            if node_address is not None:
                clients["the node"] = _packet(frontend, node_address, Origin.NODE)
            per[_key(frontend)] = {client: _describe(stage.decide(packet)) for client, packet in clients.items()}
            if disagreements is None:
                continue
            for client, packet in clients.items():
                expected = evaluate(cluster, packet, net.opts.nodeport_addresses)
                if not view.ruleset.evaluate(packet, cluster.node_addresses).agrees_with(expected):
                    disagreements.append(f"node {name}: {' '.join(_key(frontend))}, from {client}: {packet}")
        out[str(name)] = per
    return out


def _pod_address(pod_networks: Sequence[IPNetwork], family: int) -> IPAddress | None:
    """An address of a pod of the family, none of the Services' endpoints: the first host of the pod networks
    kube-proxy tells pods by, else (when it tells them by interface, or not at all) of a node's pod CIDR."""
    pod_net = next((n for n in pod_networks if n.version == family and n.num_addresses > 2), None)
    return pod_net[1] if isinstance(pod_net, IPv4Network | IPv6Network) else None


def _packet(frontend: Frontend, source: IPAddress, origin: Origin, iif: str = "") -> Packet:
    return Packet(source, frontend.address, frontend.protocol, frontend.port, origin=origin, iif=iif)


def _key(frontend: Frontend) -> FrontendKey:
    service = frontend.service.meta.key
    port = frontend.service_port.name or str(frontend.service_port.port)
    where = f"{frontend.protocol.value} {frontend.port}"
    if frontend.kind != FrontendKind.NODE_PORT:  # a NodePort is on every node address: named by its port
        host = f"[{frontend.address}]" if frontend.address.version == 6 else str(frontend.address)
        where = f"{host}:{frontend.port}/{frontend.protocol.value}"
    return service, port, f"{frontend.kind.value} {where}"


def _describe(decision: ServiceDecision | None) -> Decision:
    if decision is None:
        return Decision(verdict="not a frontend")
    if decision.verdict is not None:
        return Decision(verdict=str(decision.verdict.value))
    targets = sorted(decision.targets, key=lambda t: (t.name, t.port))
    share = f"1/{len(targets)} each" if len(targets) > 1 else "all"
    masquerade = {t.masquerade for t in targets}
    how = "masqueraded" if masquerade == {True} else "source kept" if masquerade == {False} else "masqueraded to some"
    return Decision(tuple(f"{t.name}:{t.port}" for t in targets), f"{share}; {how}")


def changes(old: Network, new: Network, disagreements: list[str] | None = None) -> list[ServiceChange]:
    """Every frontend added, removed or deciding otherwise, the same change on several nodes once; the
    decisions confirmed by the interpreter of the compiled rulesets (`disagreements` otherwise)."""
    before, after = decisions(old, disagreements), decisions(new, disagreements)
    found: dict[tuple[str, str, str, str, Decision | None, Decision | None], list[str]] = defaultdict(list)
    for node in sorted(set(before) | set(after)):
        was, now = before.get(node, {}), after.get(node, {})
        for key in sorted(set(was) | set(now)):
            if key not in now:
                found[(*key, "", Decision(), None)].append(node)
            elif key not in was:
                found[(*key, "", None, Decision())].append(node)
            else:
                for client in sorted(set(was[key]) | set(now[key])):
                    a, b = was[key].get(client), now[key].get(client)
                    if a != b:
                        found[(*key, client, a, b)].append(node)
    return [ServiceChange(*key, nodes=tuple(nodes)) for key, nodes in found.items()]
