"""NetworkPolicies → the filter part of the ruleset, in a layout whose per-packet cost is flat.

Policies are enforced for this node's pods on the forward path, after Service DNAT (so they see the
endpoint address and port) and before masquerade (so they see the original source). Traffic the node
sends itself never traverses `forward`, so kubelet probes and hostNetwork pods are never filtered, and
traffic to the node's own addresses (`input`) is not either. Two base chains share the forward hook;
`accept` in the first ends only that chain, so a packet must be let through by both:

    filter-forward-egress       ct state established,related accept; ct state invalid drop
      (priority 0, filter)      ip saddr vmap @egress-isolated-v4     → goto egress-pods-<hash>
    filter-forward-ingress      ct state established,related accept; ct state invalid drop
      (priority 1, filter + 1)  ip daddr vmap @ingress-isolated-v4    → goto ingress-pods-<hash>

    ingress-pods-<hash>         the pods isolated by the same set of policies share this chain:
                                  jump ingress/<ns>/<policy>   (one per selecting policy with rules)
                                  drop                         (nothing else is allowed)
    ingress/<ns>/<policy>       one policy's rules, each ending in `accept`, commented `ns/name ingress[i]`:
                                  ip saddr @sel-<hash>-v4 meta l4proto . th dport { tcp . 80 } accept

Only isolated pods are in the verdict maps; a pod that is not isolated in a direction is not looked at.
Peer selectors become named address sets (`sel-<hash>-v4/-v6`), one per distinct selector, shared by
every rule that uses it. Named ports are resolved per pod through sets of `address . protocol . port`
(`named-<hash>-v4/-v6`): for ingress the protected pod's own port, for egress each peer pod's port, so
pods with different resolutions still share their chains. The text grows with pods + policies + peers;
a packet costs one verdict-map lookup per direction plus the rules of the policies selecting its pod.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..model import IPAddress, IPBlock, NetworkPolicy, Pod, PolicyPeer, PolicyRule, PolicyType, Protocol
from ..model.selectors import LabelSelector
from ..nft import names as naming
from ..nft.ir import BaseChain, Element, Set, Table
from ..nft.names import family_name
from ..nft.statements import (
    ACCEPT,
    CT_STATE,
    DPORT,
    DROP,
    L4PROTO,
    VERDICTS,
    Address,
    AddrField,
    Concat,
    Flags,
    Match,
    Network,
    Op,
    Statement,
    Symbol,
    Types,
    daddr,
    goto,
    jump,
    member,
    vmap,
)
from ..nft.types import ADDRESS_FAMILIES, AddressFamily, ChainType, DataType, Hook, family
from .index import Cluster, named_port, selector_matches
from .options import CompileOptions
from .ports import named_ports, numeric_port_match, port_names

_PORT_TYPES = (DataType.INET_PROTO, DataType.INET_SERVICE)  # named-port sets: address . protocol . port


@dataclass(frozen=True, slots=True)
class Direction:
    """Ingress or egress: which address is the protected pod's and which the peer's."""

    name: str  # "ingress" / "egress": chain prefixes and comments
    policy_type: PolicyType
    own: AddrField  # the protected pod's address: daddr for ingress, saddr for egress
    peer: AddrField  # the other side: saddr for ingress, daddr for egress
    peers_field: str  # "from" / "to"
    base_chain: str
    priority: str

    def rules(self, policy: NetworkPolicy) -> tuple[PolicyRule, ...]:
        return policy.ingress if self.policy_type == PolicyType.INGRESS else policy.egress


_SADDR, _DADDR = AddrField.SADDR, AddrField.DADDR
EGRESS = Direction("egress", PolicyType.EGRESS, _SADDR, _DADDR, "to", "filter-forward-egress", "filter")
INGRESS = Direction("ingress", PolicyType.INGRESS, _DADDR, _SADDR, "from", "filter-forward-ingress", "filter + 1")
# A rule's numeric ports: `meta l4proto . th dport { ... }`, or nothing when it has no ports (all match).
_NO_PORTS: tuple[Statement, ...] = ()
DIRECTIONS = (EGRESS, INGRESS)


def block_contains(block: IPBlock, address: IPAddress) -> bool:
    return (
        address.version == block.cidr.version and address in block.cidr and not any(address in e for e in block.except_)
    )


def describe_block(block: IPBlock) -> str:
    return str(block.cidr) + "".join(f" except {e}" for e in block.except_)


class PolicyCompiler:
    """Adds every NetworkPolicy that isolates a local pod to one table; see the module docstring."""

    def __init__(self, cluster: Cluster, table: Table, opts: CompileOptions) -> None:
        self.cluster = cluster
        self.table = table
        self.opts = opts
        self.notices: list[str] = []
        self._selector_sets: dict[tuple[str, ...], str] = {}  # canonical selector key -> set name stem
        self._named_sets: dict[tuple[str, ...], str] = {}
        self._peer_pods_cache: dict[tuple[str, ...], list[Pod]] = {}
        self._label_index: dict[str, dict[tuple[str, str], list[Pod]]] = {}
        self._names: dict[str, tuple[str, ...]] = {}  # generated name -> the key it was made from
        self.policies = sorted(cluster.policies, key=lambda p: (p.meta.namespace, p.meta.name))
        self.protected = self._protected_pods()
        # every running pod by the addresses it stands for (a hostNetwork pod: its node's), in input
        # order: the pods a packet to that address goes to, for named ports of ipBlock and "every
        # address" egress peers
        self.pods_at: dict[IPAddress, list[Pod]] = defaultdict(list)
        for pod in cluster.objects.pods:
            if pod.running:
                for ip in cluster.pod_ips(pod):
                    self.pods_at[ip].append(pod)

    # --- who is protected, and by what ---------------------------------------------------------------

    def _protected_pods(self) -> list[Pod]:
        """This node's pods that policies can isolate: running, with an address, not hostNetwork.

        Sorted by namespace/name. When two pods claim one address, the first in the input owns it (as
        the reference evaluator decides) and the other is told about in a notice.
        """
        owner: dict[IPAddress, Pod] = {}
        out: list[Pod] = []
        for pod in self.cluster.objects.pods:
            if not pod.running or pod.host_network or not pod.ips or not self.cluster.is_local(pod.node_name):
                continue
            for ip in pod.ips:
                if ip in owner:
                    self.notices.append(
                        f"{pod.meta.ref}: address {ip} is also pod {owner[ip].meta.key}'s: "
                        f"policies isolating {owner[ip].meta.key} apply to it"
                    )
                owner.setdefault(ip, pod)
            out.append(pod)
        self._owner = owner
        return sorted(out, key=lambda p: (p.meta.namespace, p.meta.name))

    def _pods_in(self, namespace: str, selector: LabelSelector) -> list[Pod]:
        """Pods of `namespace` matching `selector`, through a label index (matchLabels narrow first)."""
        index = self._label_index.get(namespace)
        pods = self.cluster.pods_by_ns.get(namespace, [])
        if index is None:
            index = defaultdict(list)
            for pod in pods:
                for item in pod.meta.labels:
                    index[item].append(pod)
            self._label_index[namespace] = index
        candidates = pods
        for item in selector.match_labels:
            found = index.get(item, [])
            if len(found) < len(candidates):
                candidates = found
        return [p for p in candidates if selector_matches(selector, p.meta.label_dict())]

    def _isolating(self, direction: Direction) -> dict[int, list[NetworkPolicy]]:
        """id(pod) -> the policies (sorted by namespace/name) isolating it in `direction`."""
        protected = {id(p) for p in self.protected}
        out: dict[int, list[NetworkPolicy]] = defaultdict(list)
        for policy in self.policies:
            if direction.policy_type not in policy.policy_types:
                continue
            for pod in self._pods_in(policy.meta.namespace, policy.pod_selector):
                if id(pod) in protected:
                    out[id(pod)].append(policy)
        return out

    def _name(self, prefix: str, key: tuple[str, ...]) -> str:
        """`<prefix>-<hash of key>`, stable across runs; on a collision with another key, more digits."""
        for length in range(naming.HEX_WIDTH, 65, 2):
            name = f"{prefix}-{naming.hex_hash(*key, length=length)}"
            if self._names.setdefault(name, key) == key:
                return name
        raise AssertionError(f"sha256 collision for {key}")  # pragma: no cover

    # --- the layout ----------------------------------------------------------------------------------

    def declare(self) -> None:
        for direction in DIRECTIONS:
            self.table.add_chain(
                direction.base_chain,
                f"NetworkPolicy {direction.name} of this node's pods (after Service DNAT, before masquerade)",
                BaseChain(ChainType.FILTER, Hook.FORWARD, direction.priority),
            )
            self.table.add_rule(
                direction.base_chain,
                Match(CT_STATE, Flags(("established", "related"))),
                ACCEPT,
                comment="replies of allowed connections",
            )
            self.table.add_rule(
                direction.base_chain,
                Match(CT_STATE, Symbol("invalid")),
                DROP,
                comment="not part of any known connection",
            )
            for fam in ADDRESS_FAMILIES:
                isolated = family_name(f"{direction.name}-isolated", fam)
                self.table.add_set(
                    Set(
                        isolated,
                        Types((fam.addr_type,)),
                        VERDICTS,
                        comment=f"pods isolated for {direction.name} -> the chain of the policies selecting them",
                    )
                )
                self.table.add_rule(direction.base_chain, vmap(Address(fam, direction.own), isolated))

    def compile(self) -> list[str]:
        self.declare()
        for direction in DIRECTIONS:
            self._compile_direction(direction)
        return self.notices

    def _compile_direction(self, direction: Direction) -> None:
        isolating = self._isolating(direction)
        groups: dict[tuple[str, ...], list[Pod]] = defaultdict(list)
        by_key: dict[tuple[str, ...], list[NetworkPolicy]] = {}
        for pod in self.protected:
            policies = isolating.get(id(pod))
            if not policies:
                continue
            key = tuple(p.meta.key for p in policies)
            groups[key].append(pod)
            by_key[key] = policies
        # policy chains first (in policy order), then the group chains that jump to them
        selected: dict[str, list[Pod]] = defaultdict(list)
        for key, pods in groups.items():
            for policy_key in key:
                selected[policy_key].extend(pods)
        policy_chains: dict[str, str] = {}
        for policy in self.policies:
            isolated = selected.get(policy.meta.key)
            if isolated and direction.rules(policy):
                policy_chains[policy.meta.key] = self._policy_chain(direction, policy, isolated)
        entries: list[tuple[IPAddress, str, str]] = []
        for key in sorted(groups, key=lambda k: naming.hex_hash(*k)):
            pods = groups[key]
            chain = self._name(f"{direction.name}-pods", key)
            count = f"{len(pods)} pod{'s' if len(pods) > 1 else ''}"
            self.table.add_chain(chain, f"{direction.name} of {count} isolated by {', '.join(key)}")
            for policy in by_key[key]:
                target = policy_chains.get(policy.meta.key)
                if target is not None:
                    self.table.add_rule(chain, jump(target), comment=policy.meta.key)
            self.table.add_rule(chain, DROP, comment=f"{direction.name} not allowed by any policy selecting these pods")
            for pod in pods:
                for ip in pod.ips:
                    if self._owner.get(ip) is pod:
                        entries.append((ip, pod.meta.key, chain))
        for ip, pod_key, chain in sorted(entries, key=lambda e: (e[0].version, e[0])):
            vmap_name = family_name(f"{direction.name}-isolated", family(ip.version))
            self.table.add_element(vmap_name, Element((str(ip),), (goto(chain),), pod_key))

    # --- one policy ----------------------------------------------------------------------------------

    def _policy_chain(self, direction: Direction, policy: NetworkPolicy, pods: list[Pod]) -> str:
        """The chain of one policy's rules in one direction, for the local pods it isolates."""
        name = naming.chain_name(direction.name, policy.meta.key)
        self.table.add_chain(name, f"NetworkPolicy {policy.meta.key}: {direction.name} rules")
        families: list[int] = sorted({ip.version for pod in pods for ip in pod.ips if self._owner.get(ip) is pod})
        for index, rule in enumerate(direction.rules(policy)):
            self._rule(direction, policy, index, rule, families, pods)
        return name

    def _rule(
        self,
        direction: Direction,
        policy: NetworkPolicy,
        index: int,
        rule: PolicyRule,
        families: list[int],
        pods: list[Pod],
    ) -> None:
        """One ingress/egress rule: one nftables rule per peer, family and kind of port (numeric, named)."""
        chain = naming.chain_name(direction.name, policy.meta.key)
        comment = f"{policy.meta.key} {direction.name}[{index}]"
        ports = rule.ports or ()
        numeric: tuple[Statement, ...] | None = _NO_PORTS
        if ports:
            port_match = numeric_port_match(ports)
            numeric = None if port_match is None else (port_match,)
        names = named_ports(ports)
        peers: Sequence[PolicyPeer | None] = rule.peers or (None,)
        for peer_index, peer in enumerate(peers):
            where = comment if peer is None else f"{comment} {direction.peers_field}[{peer_index}]"
            if peer is None and numeric is not None:
                self.table.add_rule(chain, *numeric, ACCEPT, comment=where)
            for version in families:
                fam = family(version)
                if peer is not None and peer.ip_block is not None and peer.ip_block.cidr.version != version:
                    continue  # an ipBlock of the other family
                if peer is not None and numeric is not None:
                    match = self._peer_match(direction, policy.meta.namespace, peer, fam)
                    self.table.add_rule(chain, *match, *numeric, ACCEPT, comment=where)
                if not names:
                    continue
                lookup = Concat((daddr(fam), L4PROTO, DPORT))
                if direction is INGRESS:
                    # the protected pod's own port: the set holds `pod address . protocol . port`
                    named = self._ingress_named_set(policy, pods, names)
                    match = [] if peer is None else self._peer_match(direction, policy.meta.namespace, peer, fam)
                else:
                    # each peer pod's port: the set holds `peer pod address . protocol . port`, so it
                    # also stands for the peer itself
                    named = self._egress_named_set(policy.meta.namespace, peer, names)
                    match = []
                lookup_match = member(lookup, family_name(named, fam))
                self.table.add_rule(chain, *match, lookup_match, ACCEPT, comment=where + " named ports")

    def _peer_match(self, direction: Direction, namespace: str, peer: PolicyPeer, fam: AddressFamily) -> list[Match]:
        """`ip saddr @sel-...-v4`, or the ipBlock's `ip saddr CIDR ip saddr != EXCEPT ...`."""
        address = Address(fam, direction.peer)
        if peer.ip_block is not None:
            block = peer.ip_block
            return [Match(address, Network(block.cidr)), *(Match(address, Network(e), Op.NE) for e in block.except_)]
        return [member(address, family_name(self._selector_set(namespace, peer), fam))]

    # --- shared sets ---------------------------------------------------------------------------------

    @staticmethod
    def _peer_key(namespace: str, peer: PolicyPeer) -> tuple[str, ...]:
        pods = str(peer.pod_selector or LabelSelector())
        if peer.namespace_selector is None:
            return ("namespace", namespace, pods)
        return ("namespaces", str(peer.namespace_selector), pods)

    @staticmethod
    def _describe_peer(key: tuple[str, ...]) -> str:
        scope, where, pods = key
        if scope == "namespace":
            return f"pods {pods} in namespace {where}"
        return f"pods {pods} in namespaces {where}"

    def _peer_pods(self, namespace: str, peer: PolicyPeer) -> list[Pod]:
        """Running pods a selector peer stands for, in namespace/name order."""
        key = self._peer_key(namespace, peer)
        cached = self._peer_pods_cache.get(key)
        if cached is not None:
            return cached
        if peer.namespace_selector is None:
            namespaces = [namespace]
        else:
            ns_selector = peer.namespace_selector
            labels = self.cluster.namespace_labels
            namespaces = [n for n in self.cluster.namespace_names if selector_matches(ns_selector, labels(n))]
        selector = peer.pod_selector or LabelSelector()
        pods = [
            p for n in namespaces for p in sorted(self._pods_in(n, selector), key=lambda p: p.meta.name) if p.running
        ]
        self._peer_pods_cache[key] = pods
        return pods

    def _family_sets(
        self,
        stem: str,
        more: tuple[DataType, ...],
        comment: str,
        elements: Iterable[tuple[IPAddress, tuple[str, ...]]],
    ) -> None:
        """`<stem>-v4` and `<stem>-v6`: elements (an address, then more atoms) deduplicated and sorted.

        Their type is the family's address, then the datatypes `more` (e.g. `inet_proto, inet_service`).
        """
        unique = sorted(set(elements), key=lambda e: (e[0].version, int(e[0]), e[1]))
        for fam in ADDRESS_FAMILIES:
            name = family_name(stem, fam)
            self.table.add_set(Set(name, Types((fam.addr_type, *more)), comment=comment))
            for address, rest in unique:
                if address.version == fam.version:
                    self.table.add_element(name, Element((str(address), *rest)))

    def _selector_set(self, namespace: str, peer: PolicyPeer) -> str:
        """The stem of the address sets a selector peer stands for (created on first use)."""
        key = self._peer_key(namespace, peer)
        stem = self._selector_sets.get(key)
        if stem is None:
            stem = self._name("sel", key)
            addresses = [(ip, ()) for pod in self._peer_pods(namespace, peer) for ip in self.cluster.pod_ips(pod)]
            self._family_sets(stem, (), self._describe_peer(key), addresses)
            self._selector_sets[key] = stem
        return stem

    def _ingress_named_set(
        self, policy: NetworkPolicy, pods: list[Pod], names: tuple[tuple[Protocol, str], ...]
    ) -> str:
        """`pod address . protocol . port` for the named ports on the pods the policy protects here."""
        key = ("ingress", policy.meta.namespace, str(policy.pod_selector), *(f"{p.value}/{n}" for p, n in names))
        stem = self._named_sets.get(key)
        if stem is None:
            stem = self._name("named", key)
            elements = [
                (ip, (proto.value.lower(), str(port)))
                for pod in pods
                for proto, name in names
                if (port := named_port(pod, name, proto)) is not None
                for ip in pod.ips
                if self._owner.get(ip) is pod
            ]
            comment = f"ports {port_names(names)} of pods {policy.pod_selector} in namespace {policy.meta.namespace}"
            self._family_sets(stem, _PORT_TYPES, comment, elements)
            self._named_sets[key] = stem
        return stem

    def _egress_named_set(
        self, namespace: str, peer: PolicyPeer | None, names: tuple[tuple[Protocol, str], ...]
    ) -> str:
        """`peer address . protocol . port` for the named ports on every pod a peer stands for."""
        wanted = tuple(f"{p.value}/{n}" for p, n in names)
        targets: list[tuple[IPAddress, Pod]]
        if peer is None:
            key: tuple[str, ...] = ("egress", "every pod", *wanted)
            description = "every pod"
        elif peer.ip_block is not None:
            block = peer.ip_block
            key = ("egress", "block", describe_block(block), *wanted)
            description = f"pods in {describe_block(block)}"
        else:
            peer_key = self._peer_key(namespace, peer)
            key = ("egress", *peer_key, *wanted)
            description = self._describe_peer(peer_key)
        stem = self._named_sets.get(key)
        if stem is not None:
            return stem
        if peer is None:
            targets = [(ip, pod) for ip, pods in self.pods_at.items() for pod in pods]
        elif peer.ip_block is not None:
            block = peer.ip_block
            targets = [(ip, pod) for ip, pods in self.pods_at.items() if block_contains(block, ip) for pod in pods]
        else:
            targets = [(ip, pod) for pod in self._peer_pods(namespace, peer) for ip in self.cluster.pod_ips(pod)]
        elements = [
            (ip, (proto.value.lower(), str(port)))
            for ip, pod in targets
            for proto, name in names
            if (port := named_port(pod, name, proto)) is not None
        ]
        stem = self._name("named", key)
        comment = f"ports {port_names(names)} of {description}"
        self._family_sets(stem, _PORT_TYPES, comment, elements)
        self._named_sets[key] = stem
        return stem


def compile_policies(cluster: Cluster, table: Table, opts: CompileOptions) -> list[str]:
    """Add every NetworkPolicy to `table`; returns notices for the user."""
    return PolicyCompiler(cluster, table, opts).compile()
