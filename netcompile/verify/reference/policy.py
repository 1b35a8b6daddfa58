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

_WORDS = {PolicyType.INGRESS: "ingress", PolicyType.EGRESS: "egress"}  # a direction as the reasons say it
_NOBODY: list[Pod] = []  # no pod stands for an address (never changed)
_Selected = tuple[list[NetworkPolicy], list[str]]  # policies selecting a pod, and their `meta.ref`s


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
        self._selecting: dict[tuple[str, tuple[tuple[str, str], ...], PolicyType], _Selected] = {}
        self._ns_labels: dict[str, dict[str, str]] = {}
        self._label_dicts: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}

    # --- selection -------------------------------------------------------------------------------------

    def selecting(self, pod: Pod, direction: PolicyType) -> list[NetworkPolicy]:
        """The policies of the pod's namespace that select it and have `direction` among their types."""
        return self._selected(pod, direction)[0]

    def _selected(self, pod: Pod, direction: PolicyType) -> _Selected:
        """`selecting`, and each policy's `meta.ref` (as the reasons name it), worked out once."""
        key = (pod.meta.namespace, pod.meta.labels, direction)
        found = self._selecting.get(key)
        if found is None:
            labels = self._labels(pod.meta.labels)
            chosen = [
                p
                for p in self.policies_by_ns.get(pod.meta.namespace, ())
                if direction in p.policy_types and labels_select(p.pod_selector, labels)
            ]
            found = self._selecting[key] = (chosen, [p.meta.ref for p in chosen])
        return found

    def peer_selects(self, policy: NetworkPolicy, peer: PolicyPeer, pod: Pod) -> bool:
        """Does a selector peer (podSelector and/or namespaceSelector) pick `pod`?"""
        if peer.pod_selector is None and peer.namespace_selector is None:
            return False
        meta = pod.meta
        if peer.namespace_selector is None:
            if meta.namespace != policy.meta.namespace:
                return False
        elif not labels_select(peer.namespace_selector, self._namespace_labels(meta.namespace)):
            return False
        return peer.pod_selector is None or labels_select(peer.pod_selector, self._labels(meta.labels))

    def _namespace_labels(self, namespace: str) -> dict[str, str]:
        """`View.namespace_labels`, read once per namespace (not to be changed: it is kept)."""
        found = self._ns_labels.get(namespace)
        if found is None:
            found = self._ns_labels[namespace] = self.cluster.namespace_labels(namespace)
        return found

    def _labels(self, labels: tuple[tuple[str, str], ...]) -> dict[str, str]:
        """A pod's labels as a mapping, made once per set of labels (not to be changed: it is kept)."""
        found = self._label_dicts.get(labels)
        if found is None:
            found = self._label_dicts[labels] = dict(labels)
        return found

    def peer_match(self, policy: NetworkPolicy, rule: PolicyRule, address: IPAddress) -> tuple[bool, list[Pod]]:
        """Does some peer of `rule` match `address`, and through which pods at that address?

        No peers: every address (and every pod at it). An ipBlock matches by address alone (pods at the
        address included); a selector peer matches when it selects a running pod standing for the address.
        """
        return self._peer_match(policy, rule, address, self.pods_at.get(address, _NOBODY))

    def _peer_match(
        self, policy: NetworkPolicy, rule: PolicyRule, address: IPAddress, here: list[Pod]
    ) -> tuple[bool, list[Pod]]:
        """`peer_match`, with the pods standing for the address (`pods_at`) given."""
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

    def _picked(self, policy: NetworkPolicy, rule: PolicyRule, address: IPAddress, here: list[Pod]) -> bool:
        """`peer_match`'s first answer alone: whether some peer of `rule` matches `address`."""
        if not rule.peers:
            return True
        for peer in rule.peers:
            if peer.ip_block is not None:
                if in_block(address, peer.ip_block):
                    return True
            elif any(self.peer_selects(policy, peer, p) for p in here):
                return True
        return False

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
        here = self.pods_at.get(peer_address, _NOBODY)
        return self._rule_matches(policy, rule, peer_address, here, protocol, port, protected)

    def _rule_matches(
        self,
        policy: NetworkPolicy,
        rule: PolicyRule,
        peer_address: IPAddress,
        here: list[Pod],
        protocol: Protocol,
        port: int,
        protected: Pod | None,
    ) -> bool:
        """`rule_matches`, with the pods standing for the peer's address (`pods_at`) given. Both the peers
        and the ports must match: the ports are judged first when they need no peer's pods (no ports, or
        ingress, where they resolve on the protected pod)."""
        entries = rule.ports
        if not entries:
            return self._picked(policy, rule, peer_address, here)
        if protected is not None:
            pods = [protected]
            return any(port_matches(e, protocol, port, pods) for e in entries) and self._picked(
                policy, rule, peer_address, here
            )
        matched, through = self._peer_match(policy, rule, peer_address, here)
        return matched and any(port_matches(entry, protocol, port, through) for entry in entries)

    # --- judgement -------------------------------------------------------------------------------------

    def direction(
        self, pod: Pod, direction: PolicyType, peer: IPAddress, protocol: Protocol, port: int, what: str
    ) -> Judgement:
        """Judge one direction for one protected pod; `what` describes the packet for the reasons."""
        word = _WORDS[direction]
        policies, refs = self._selected(pod, direction)
        if not policies:
            return Judgement(True, [f"pod {pod.meta.key} is not isolated for {word}"])
        ingress = direction == PolicyType.INGRESS
        protected = pod if ingress else None
        here = self.pods_at.get(peer, _NOBODY)  # the pods standing for the peer's address, looked up once
        allowing: list[str] = []
        for policy, ref in zip(policies, refs, strict=True):
            for index, rule in enumerate(policy.ingress if ingress else policy.egress):
                if self._rule_matches(policy, rule, peer, here, protocol, port, protected):
                    allowing.append(f"{ref} {word}[{index}] allows {what}")
        if allowing:
            return Judgement(True, allowing)
        return Judgement(
            False,
            [f"pod {pod.meta.key} is isolated for {word} by {policy_names(policies)}; no rule allows {what}: dropped"],
        )

    def judge(self, src: IPAddress, origin: Origin, dst: IPAddress, protocol: Protocol, dport: int) -> Judgement:
        """Both directions for a packet from `src` to its final (post-DNAT) destination `dst`:`dport`."""
        if self.node_addresses and dst in self.node_addresses:
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
