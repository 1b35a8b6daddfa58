"""The pods NetworkPolicies can isolate on this node (`policies.py` compiles what isolates them): running,
with an address, not hostNetwork; the addresses each owns, and the classes of pods a podSelector picks
alike (one namespace, the same labels)."""

from __future__ import annotations

from collections import defaultdict

from ..model import Pod
from .allow import address_text
from .index import Cluster

Labels = tuple[tuple[str, str], ...]  # a pod's (`Meta.labels`)


class Protected:
    """This node's pods that policies can isolate (`pods`), sorted by namespace/name.

    When two pods claim one address, the first in the input owns it (as the reference evaluator decides)
    and the other is told about in a notice (`notices`)."""

    def __init__(self, cluster: Cluster) -> None:
        self.notices: list[str] = []
        owner: dict[tuple[int, int], Pod] = {}  # by version and number
        claims: list[tuple[int, int, Pod]] = []  # each address with the pod that owns it: version, number, pod
        out: list[Pod] = []
        every_pod_local, is_local = cluster.single_node, cluster.is_local
        for pod in cluster.objects.pods:
            if not pod.running or pod.host_network or not pod.ips:
                continue
            if not every_pod_local and not is_local(pod.node_name):
                continue
            for ip in pod.ips:
                address = (ip.version, int(ip))
                first = owner.get(address)
                if first is None:
                    owner[address] = pod
                    claims.append((*address, pod))
                else:
                    self.notices.append(
                        f"{pod.meta.ref}: address {ip} is also pod {first.meta.key}'s: "
                        f"policies isolating {first.meta.key} apply to it"
                    )
            out.append(pod)
        out.sort(key=lambda p: (p.meta.namespace, p.meta.name))
        self.pods = out
        # the addresses the pods own, in order (IPv4 first): version, number, (text,) (an element's key), the
        # pod's key and id
        claims.sort(key=_version_and_number)
        self.owned = [(v, n, (address_text((n, n), v),), p.meta.key, id(p)) for v, n, p in claims]
        self.versions: dict[int, set[int]] = defaultdict(set)  # id(pod) -> the families it owns addresses of
        for version, *_, pod_id in self.owned:
            self.versions[pod_id].add(version)
        # pods of a namespace with the same labels are selected alike: `classes` of them, and their pods
        classes: dict[tuple[str, Labels], list[Pod]] = {}
        for pod in out:
            classes.setdefault((pod.meta.namespace, pod.meta.labels), []).append(pod)
        self.classes = list(classes)
        self.class_pods = list(classes.values())


def _version_and_number(claim: tuple[int, int, Pod]) -> tuple[int, int]:
    return claim[0], claim[1]
