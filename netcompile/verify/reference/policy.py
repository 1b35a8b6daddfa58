"""NetworkPolicy semantics (docs/semantics.md §3), straight from the completed model objects.

Judged on the forward path after DNAT: the packet's original source, its final destination address and
port. Only this node's pods (running, with an address, not hostNetwork) are protected; traffic from the
node itself into them, and traffic to the node's own addresses, is never filtered.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ...model import IPAddress, IPBlock, NetworkPolicy, Pod, PolicyPeer, PolicyPort, PolicyRule, PolicyType, Protocol
from ..packet import Origin
from .view import View, container_port, labels_select


@dataclass(slots=True)
class Judgement:
    allowed: bool
    reasons: list[str] = field(default_factory=list)


def in_block(address: IPAddress, block: IPBlock) -> bool:
    """Inside `cidr` and outside every `except` (families never mix)."""
    if address.version != block.cidr.version or address not in block.cidr:
        return False
    return not any(address in net for net in block.except_)


def port_matches(entry: PolicyPort, protocol: Protocol, port: int, pods: list[Pod]) -> bool:
    """One `ports` entry; a named port is resolved on `pods` (the destination pods), never elsewhere."""
    if entry.protocol != protocol:
        return False
    if entry.port is None:
        return True
    if isinstance(entry.port, int):
        end = entry.end_port if entry.end_port is not None else entry.port
        return entry.port <= port <= end
    return any(container_port(pod, entry.port, protocol) == port for pod in pods)


def policy_names(policies: list[NetworkPolicy]) -> str:
    return "NetworkPolicy " + ", ".join(f'"{p.meta.key}"' for p in policies)


class PolicyStage:
    """The policies of a cluster, indexed for per-packet judgement."""

    def __init__(self, cluster: View) -> None:
        self.cluster = cluster
        self.node_addresses = frozenset(cluster.node_addresses)
        # This node's protected pods, by address (the first pod listed wins an address).
        self.local_pods: dict[IPAddress, Pod] = {}
        # Every running pod that stands for an address, as peers see them (hostNetwork pods: their node's).
        self.pods_at: dict[IPAddress, list[Pod]] = defaultdict(list)
        for pod in cluster.objects.pods:
            if not pod.running:
                continue
            for address in cluster.pod_ips(pod):
                self.pods_at[address].append(pod)
            if not pod.host_network and cluster.is_local(pod.node_name):
                for address in pod.ips:
                    self.local_pods.setdefault(address, pod)
        self.policies_by_ns: dict[str, list[NetworkPolicy]] = defaultdict(list)
        for policy in sorted(cluster.policies, key=lambda p: (p.meta.namespace, p.meta.name)):
            self.policies_by_ns[policy.meta.namespace].append(policy)
        # `selecting`'s answers, by what they depend on: the pod's namespace and labels, and the direction
        self._selecting: dict[tuple[str, tuple[tuple[str, str], ...], PolicyType], list[NetworkPolicy]] = {}

    # --- selection -------------------------------------------------------------------------------------

    def selecting(self, pod: Pod, direction: PolicyType) -> list[NetworkPolicy]:
        """The policies of the pod's namespace that select it and have `direction` among their types."""
        key = (pod.meta.namespace, pod.meta.labels, direction)
        found = self._selecting.get(key)
        if found is None:
            labels = pod.meta.label_dict()
            found = self._selecting[key] = [
                p
                for p in self.policies_by_ns.get(pod.meta.namespace, ())
                if direction in p.policy_types and labels_select(p.pod_selector, labels)
            ]
        return found

    def peer_selects(self, policy: NetworkPolicy, peer: PolicyPeer, pod: Pod) -> bool:
        """Does a selector peer (podSelector and/or namespaceSelector) pick `pod`?"""
        if peer.pod_selector is None and peer.namespace_selector is None:
            return False
        if peer.namespace_selector is None:
            if pod.meta.namespace != policy.meta.namespace:
                return False
        elif not labels_select(peer.namespace_selector, self.cluster.namespace_labels(pod.meta.namespace)):
            return False
        return peer.pod_selector is None or labels_select(peer.pod_selector, pod.meta.label_dict())

    def peer_match(self, policy: NetworkPolicy, rule: PolicyRule, address: IPAddress) -> tuple[bool, list[Pod]]:
        """Does some peer of `rule` match `address`, and through which pods at that address?

        No peers: every address (and every pod at it). An ipBlock matches by address alone (pods at the
        address included); a selector peer matches when it selects a running pod standing for the address.
        """
        here = self.pods_at.get(address, [])
        if not rule.peers:
            return True, list(here)
        matched = False
        through: list[Pod] = []
        for peer in rule.peers:
            if peer.ip_block is not None:
                if in_block(address, peer.ip_block):
                    matched = True
                    through.extend(p for p in here if p not in through)
                continue
            picked = [p for p in here if self.peer_selects(policy, peer, p)]
            if picked:
                matched = True
                through.extend(p for p in picked if p not in through)
        return matched, through

    def rule_matches(
        self,
        policy: NetworkPolicy,
        rule: PolicyRule,
        peer_address: IPAddress,
        protocol: Protocol,
        port: int,
        protected: Pod | None,
    ) -> bool:
        """Ingress: `protected` is the destination pod (named ports resolve on it). Egress: None, and named
        ports resolve on the pods at the destination address that the rule's peers matched."""
        matched, through = self.peer_match(policy, rule, peer_address)
        if not matched:
            return False
        if not rule.ports:
            return True
        destination_pods = [protected] if protected is not None else through
        return any(port_matches(entry, protocol, port, destination_pods) for entry in rule.ports)

    # --- judgement -------------------------------------------------------------------------------------

    def direction(
        self, pod: Pod, direction: PolicyType, peer: IPAddress, protocol: Protocol, port: int, what: str
    ) -> Judgement:
        """Judge one direction for one protected pod; `what` describes the packet for the reasons."""
        word = direction.value.lower()
        policies = self.selecting(pod, direction)
        if not policies:
            return Judgement(True, [f"pod {pod.meta.key} is not isolated for {word}"])
        allowing: list[str] = []
        for policy in policies:
            rules = policy.ingress if direction == PolicyType.INGRESS else policy.egress
            for index, rule in enumerate(rules):
                protected = pod if direction == PolicyType.INGRESS else None
                if self.rule_matches(policy, rule, peer, protocol, port, protected):
                    allowing.append(f"{policy.meta.ref} {word}[{index}] allows {what}")
        if allowing:
            return Judgement(True, allowing)
        return Judgement(
            False,
            [f"pod {pod.meta.key} is isolated for {word} by {policy_names(policies)}; no rule allows {what}: dropped"],
        )

    def judge(self, src: IPAddress, origin: Origin, dst: IPAddress, protocol: Protocol, dport: int) -> Judgement:
        """Both directions for a packet from `src` to its final (post-DNAT) destination `dst`:`dport`."""
        if dst in self.node_addresses:
            return Judgement(True, [f"{dst} is this node's address: not filtered by NetworkPolicy"])
        target = self.local_pods.get(dst)
        if origin == Origin.NODE:
            if target is not None:
                return Judgement(True, [f"from the node itself to pod {target.meta.key}: always allowed"])
            return Judgement(True)
        what = f"{src} -> {dst} {protocol.value} {dport}"
        reasons: list[str] = []
        allowed = True
        source = self.local_pods.get(src)
        if source is not None:
            egress = self.direction(source, PolicyType.EGRESS, dst, protocol, dport, what)
            reasons += egress.reasons
            allowed &= egress.allowed
        if target is not None:
            ingress = self.direction(target, PolicyType.INGRESS, src, protocol, dport, what)
            reasons += ingress.reasons
            allowed &= ingress.allowed
        return Judgement(allowed, reasons)
