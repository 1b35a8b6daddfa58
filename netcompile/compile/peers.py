"""Who the peers of NetworkPolicy rules stand for (`policies.py`): every address, an ipBlock without its
excepts, or the running pods a selector picks in the namespaces a selector picks, and their addresses."""

from __future__ import annotations

from collections import defaultdict

from ..model import IPAddress, IPBlock, Pod, PolicyPeer
from ..model.selectors import LabelSelector
from .allow import Interval, block_intervals, everything
from .index import Cluster, selector_matches
from .reuse import PeerKey, PolicyReuse

_EVERY_POD = LabelSelector()


def block_contains(block: IPBlock, address: IPAddress) -> bool:
    return (
        address.version == block.cidr.version and address in block.cidr and not any(address in e for e in block.except_)
    )


class Peers:
    """Who the peers of policy rules stand for, and the pods a selector picks; kept for every node's
    compile of the same objects (`reuse.PolicyReuse`: none of it depends on the node)."""

    def __init__(self, cluster: Cluster, kept: PolicyReuse) -> None:
        self.cluster = cluster
        self._kept = kept
        # a peer's addresses by the peer object itself (id: the policies outlive the compile), before the
        # kept ones by what decides them (whose selectors hash and compare as values, field by field)
        self._of_peer: dict[tuple[int, str, int], tuple[Interval, ...]] = {}

    @property
    def pods_at(self) -> dict[IPAddress, list[Pod]]:
        """Every running pod by the addresses it stands for (a hostNetwork pod: its node's), in input
        order: the pods a packet to that address goes to, for named ports of ipBlock and "every address"
        egress peers."""
        if self._kept.pods_at is None:
            self._kept.pods_at = defaultdict(list)
            for pod in self.cluster.objects.pods:
                if pod.running:
                    for ip in self.cluster.pod_ips(pod):
                        self._kept.pods_at[ip].append(pod)
        return self._kept.pods_at

    def pods_in(self, namespace: str, selector: LabelSelector) -> list[Pod]:
        """Pods of `namespace` matching `selector` (kept: policies and peers share selectors)."""
        key = (namespace, selector)
        found = self._kept.matching.get(key)
        if found is None:
            found = self._kept.matching[key] = self._match(namespace, selector)
        return found

    def _match(self, namespace: str, selector: LabelSelector) -> list[Pod]:
        """`pods_in`, through a label index: the pods of the rarest of the selector's matchLabels, then
        those that have the others (a pod's labels hold each key once) and match its expressions."""
        index = self._kept.label_index.get(namespace)
        pods = self.cluster.pods_by_ns.get(namespace, [])
        if index is None:
            index = defaultdict(list)
            for pod in pods:
                for item in pod.meta.labels:
                    index[item].append(pod)
            self._kept.label_index[namespace] = index
        candidates = pods
        for item in selector.match_labels:
            found = index.get(item, [])
            if len(found) < len(candidates):
                candidates = found
        if selector.match_expressions:
            return [p for p in candidates if selector_matches(selector, p.meta.label_dict())]
        wanted = selector.match_labels
        if len(wanted) == 1 and candidates is not pods:
            return list(candidates)  # the index's pods of that label: all match
        return [p for p in candidates if all(item in p.meta.labels for item in wanted)]

    def intervals(self, namespace: str, peer: PolicyPeer | None, version: int) -> tuple[Interval, ...]:
        """The addresses of `version` a peer stands for: every one, an ipBlock without its excepts, or the
        addresses of the pods a selector picks."""
        if peer is None:
            return (everything(version),)
        if peer.ip_block is not None:
            return block_intervals(peer.ip_block) if peer.ip_block.cidr.version == version else ()
        mine = (id(peer), namespace, version)
        found = self._of_peer.get(mine)
        if found is not None:
            return found
        key = (self._key(namespace, peer), version)
        cached = self._kept.peer_addresses.get(key)
        if cached is None:
            pods = self.pods(namespace, peer)
            points = sorted({int(ip) for pod in pods for ip in self.cluster.pod_ips(pod) if ip.version == version})
            cached = self._kept.peer_addresses[key] = tuple((p, p) for p in points)
        self._of_peer[mine] = cached
        return cached

    def egress_targets(self, namespace: str, peer: PolicyPeer | None) -> list[tuple[IPAddress, Pod]]:
        """The pods (with the addresses they stand for) whose named ports an egress peer reaches."""
        if peer is None:
            return [(ip, pod) for ip, pods in self.pods_at.items() for pod in pods]
        if peer.ip_block is not None:
            block = peer.ip_block
            return [(ip, pod) for ip, pods in self.pods_at.items() if block_contains(block, ip) for pod in pods]
        return [(ip, pod) for pod in self.pods(namespace, peer) for ip in self.cluster.pod_ips(pod)]

    @staticmethod
    def _key(namespace: str, peer: PolicyPeer) -> PeerKey:
        """What decides the pods a selector peer stands for: its namespace (when it has no namespace
        selector) or its namespace selector, and its pod selector."""
        pods = peer.pod_selector or _EVERY_POD
        if peer.namespace_selector is None:
            return (namespace, None, pods)
        return (None, peer.namespace_selector, pods)

    def pods(self, namespace: str, peer: PolicyPeer) -> list[Pod]:
        """Running pods a selector peer stands for, in namespace/name order."""
        key = self._key(namespace, peer)
        cached = self._kept.peer_pods.get(key)
        if cached is not None:
            return cached
        if peer.namespace_selector is None:
            namespaces = [namespace]
        else:
            ns_selector = peer.namespace_selector
            labels = self.cluster.namespace_labels
            namespaces = [n for n in self.cluster.namespace_names if selector_matches(ns_selector, labels(n))]
        selector = peer.pod_selector or _EVERY_POD
        pods = [
            p for n in namespaces for p in sorted(self.pods_in(n, selector), key=lambda p: p.meta.name) if p.running
        ]
        self._kept.peer_pods[key] = pods
        return pods
