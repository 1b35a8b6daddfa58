"""NetworkPolicies -> the filter part of the ruleset, in a layout whose per-packet cost is flat.

Policies are enforced for this node's pods on the forward path, after Service DNAT (so they see the
endpoint address and port) and before masquerade (so they see the original source). Traffic the node
sends itself never traverses `forward`, so kubelet probes and hostNetwork pods are never filtered, and
traffic to the node's own addresses (`input`) is not either. Two base chains share the forward hook;
`accept` in the first ends only that chain, so a packet must be let through by both:

    filter-forward-egress       ct state established,related accept; ct state invalid drop
      (priority 0, filter)      ip saddr vmap @egress-isolated-v4     -> goto egress-pods-<hash>
    filter-forward-ingress      ct state established,related accept; ct state invalid drop
      (priority 1, filter + 1)  ip daddr vmap @ingress-isolated-v4    -> goto ingress-pods-<hash>

    ingress-pods-<hash>         the pods isolated by the same set of policies (and, for ingress, giving
                                their named ports the same numbers) share this chain, which looks up
                                what those policies allow, whatever their number:
                                  ip saddr . meta l4proto . th dport @ingress-allow-<hash>-v4 accept
                                  ip saddr @ingress-any-<hash>-v4 accept              (rules without ports)
                                  ip saddr . meta l4proto . th dport @ingress-named-<hash>-v4 accept
                                  drop                                                (nothing else is)
    ingress-allow-<hash>-v4     interval set: peer . protocol . port, one element per allowed box,
                                  10.244.1.0/24 . tcp . 8000-8100 comment "ns/name ingress[0] from[1]"

Only isolated pods are in the verdict maps; a pod that is not isolated in a direction is not looked at.
A rule's peers become address intervals: a selector's pods (consecutive addresses as one range), an
ipBlock's CIDR cut around its excepts, every address when the rule has no peers; times its ports. The
elements are made disjoint, as nftables wants (`allow.py`), and each names the rules that allow it. A
set of peers and ports is named after the policies whose rules fill it, so groups of pods that differ
only by policies adding nothing to it (a default deny) share it, and a small change of the input (a pod,
a port, a policy) changes few elements. Named ports are resolved per pod: for ingress on the protected
pod, whose group is then also told apart by the numbers it gives them, so the group's `named` set holds
`peer . protocol . port` as a numeric rule would; for egress on each peer pod, whose address and
resolved port are elements of the `allow` set. Egress is the mirror image, the peer
being the destination. A packet costs one verdict-map lookup per direction and at most three set
lookups per family; the text grows with the peers and ports each set of selecting policies allows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from ..model import NetworkPolicy, Pod, PolicyPeer, PolicyRule, PolicyType, Protocol
from ..nft import names as naming
from ..nft.ir import BaseChain, Element, Rule, Set, Table
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
    Symbol,
    Types,
    Verdict,
    goto,
    member,
    vmap,
)
from ..nft.types import ADDRESS_FAMILIES, AddressFamily, ChainType, DataType, Hook, SetFlag, family
from ..values import Frozen, set_field
from .allow import (
    Grant,
    any_port_elements,
    grant_kind,
    port_elements,
)
from .index import Cluster, named_port, selector_matches
from .options import CompileOptions
from .peers import Peers
from .ports import named_ports, numeric_spans
from .protected import Protected
from .reuse import reuse_for

# The sets of a group of pods, in the order its chain looks them up: the name's middle, the elements,
# the set's comment.
_Kind = tuple[str, Callable[[Iterable[Grant], int], list[Element]], str]
_PORTS: _Kind = ("allow", port_elements, "peer . protocol . port a policy allows (the elements name the rules)")
_ANY: _Kind = ("any", any_port_elements, "peers a policy allows on every port (the elements name the rules)")
_POD_PORTS: _Kind = ("named", port_elements, "peer . protocol . named port, as these pods resolve it, a policy allows")
_PORT_TYPES = (DataType.INET_PROTO, DataType.INET_SERVICE)
_Names = tuple[tuple[Protocol, str], ...]  # named ports (`ports.named_ports`)
_Numbers = tuple[int | None, ...]  # the numbers a pod gives named ports (None: it has no such port)
_Key = tuple[str, ...]  # a group of pods: the policies isolating them, and how they resolve named ports
_Spans = tuple[tuple[str, tuple[int, int]], ...]  # numeric ports (`ports.numeric_spans`)
Labels = tuple[tuple[str, str], ...]  # a pod's (`Meta.labels`)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Direction(Frozen):
    """Ingress or egress: which address is the protected pod's and which the peer's."""

    name: str  # "ingress" / "egress": chain prefixes and comments
    policy_type: PolicyType
    own: AddrField  # the protected pod's address: daddr for ingress, saddr for egress
    peer: AddrField  # the other side: saddr for ingress, daddr for egress
    peers_field: str  # "from" / "to"
    base_chain: str
    priority: str

    def __init__(
        self,
        name: str,
        policy_type: PolicyType,
        own: AddrField,
        peer: AddrField,
        peers_field: str,
        base_chain: str,
        priority: str,
    ) -> None:
        set_field(self, "name", name)
        set_field(self, "policy_type", policy_type)
        set_field(self, "own", own)
        set_field(self, "peer", peer)
        set_field(self, "peers_field", peers_field)
        set_field(self, "base_chain", base_chain)
        set_field(self, "priority", priority)

    def rules(self, policy: NetworkPolicy) -> tuple[PolicyRule, ...]:
        return policy.ingress if self.policy_type == PolicyType.INGRESS else policy.egress


_SADDR, _DADDR = AddrField.SADDR, AddrField.DADDR
EGRESS = Direction("egress", PolicyType.EGRESS, _SADDR, _DADDR, "to", "filter-forward-egress", "filter")
INGRESS = Direction("ingress", PolicyType.INGRESS, _DADDR, _SADDR, "from", "filter-forward-ingress", "filter + 1")
DIRECTIONS = (EGRESS, INGRESS)


class PolicyCompiler:
    """Adds every NetworkPolicy that isolates a local pod to one table; see the module docstring."""

    def __init__(self, cluster: Cluster, table: Table, opts: CompileOptions) -> None:
        self.cluster = cluster
        self.table = table
        self.opts = opts
        self.notices: list[str] = []
        # What does not depend on the node (peers, what each policy allows, the elements of a set of what
        # some policies allow) is kept for every node's compile of the same objects: compile/reuse.py.
        kept = reuse_for(cluster, opts).policies
        self._grants_cache = kept.grants  # direction, version, policy -> grants
        self._kind_grants = kept.kind_grants  # direction, kind, version, policy -> grants of that kind
        self._named_grants = kept.named_grants  # direction, version, policy, named ports -> grants
        self._elements = kept.elements  # the `_shared` key -> the set's elements (none: no set)
        self.peers = Peers(cluster, kept)
        # the protected pods' labels in each namespace (each as a dict too), and those a policy selects
        self._labels_in: dict[str, dict[Labels, dict[str, str]]] | None = None
        self._selected: dict[int, list[Labels]] = {}  # index of the policy -> labels
        self._shared: dict[tuple[str, ...], str | None] = {}  # direction, kind, version, policies -> set
        self._names: dict[str, tuple[str, ...]] = {}  # generated name -> the key it was made from
        self._ports: dict[int, tuple[_Spans, _Names]] = {}  # id of a rule -> its numeric and named ports
        # the rules the groups' chains share (`_accept_members`, `_drop_rest`): by set name, by direction
        self._accepts: dict[str, Rule] = {}
        self._drops: dict[str, Rule] = {}
        self.policies = sorted(cluster.policies, key=lambda p: (p.meta.namespace, p.meta.name))
        self._policy_keys = [p.meta.key for p in self.policies]
        protected = Protected(cluster)
        self.notices += protected.notices
        self.protected = protected.pods
        self._owned = protected.owned  # version, number, (text,), the pod's key and id: in address order
        self._versions = protected.versions  # id(pod) -> the families it owns addresses of
        self._classes = protected.classes  # a namespace and labels: pods a podSelector picks alike
        self._class_pods = protected.class_pods  # the pods of each class

    # --- who is protected, and by what ---------------------------------------------------------------

    def _isolating(self, direction: Direction) -> list[tuple[int, ...]]:
        """For each of `_classes` (a namespace, and labels of protected pods there), the indexes in
        `self.policies` (so in namespace/name order) of the policies isolating its pods in `direction`
        (a podSelector looks at nothing else: such pods are selected alike, checked once for them all)."""
        number = {cls: n for n, cls in enumerate(self._classes)}
        out: list[list[int]] = [[] for _ in self._classes]
        for index, policy in enumerate(self.policies):
            if direction.policy_type in policy.policy_types:
                for labels in self._selected_labels(index):
                    out[number[(policy.meta.namespace, labels)]].append(index)
        return [tuple(indexes) for indexes in out]

    def _selected_labels(self, index: int) -> list[Labels]:
        """The labels of the protected pods of its namespace that policy `index`'s podSelector picks."""
        found = self._selected.get(index)
        if found is None:
            if self._labels_in is None:
                self._labels_in = defaultdict(dict)
                for namespace, labels in self._classes:
                    self._labels_in[namespace][labels] = dict(labels)
            policy = self.policies[index]
            known = self._labels_in.get(policy.meta.namespace, {})
            found = self._selected[index] = [k for k, v in known.items() if selector_matches(policy.pod_selector, v)]
        return found

    def _name(self, prefix: str, key: tuple[str, ...], digest: str | None = None) -> str:
        """`<prefix>-<hash of key>`, stable across runs; on a collision with another key, more digits.
        `digest`: the key's hash (`hex_hash(*key, length=DIGEST_WIDTH)`), when it is known already."""
        digest = digest or naming.hex_hash(*key, length=naming.DIGEST_WIDTH)
        for length in range(naming.HEX_WIDTH, naming.DIGEST_WIDTH + 1, 2):
            name = f"{prefix}-{digest[:length]}"
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
        groups: dict[tuple[str, ...], list[Pod]] = {}  # policies, then named port resolutions -> pods
        by_key: dict[tuple[str, ...], list[NetworkPolicy]] = {}
        # the same policies isolate many pods: their keys and named ports worked out once for them all, and
        # the group key of each way of resolving those named ports (the ports' numbers: `_resolution`)
        by_indexes: dict[tuple[int, ...], tuple[list[NetworkPolicy], tuple[str, ...], _Names, dict[_Numbers, _Key]]]
        by_indexes = {}
        for cls, pods in enumerate(self._class_pods):
            indexes = isolating[cls]
            if not indexes:
                continue
            known = by_indexes.get(indexes)
            if known is None:
                policies = [self.policies[i] for i in indexes]
                keys = tuple(self._policy_keys[i] for i in indexes)
                known = by_indexes[indexes] = (policies, keys, self._named(direction, policies), {})
            policies, keys, names, resolved = known
            for pod in pods:
                key = keys
                if names:
                    numbers = tuple([named_port(pod, name, proto) for proto, name in names])
                    known_key = resolved.get(numbers)
                    if known_key is None:
                        known_key = resolved[numbers] = keys + _resolution(names, numbers)
                    key = known_key
                group = groups.get(key)
                if group is None:
                    group = groups[key] = []
                    by_key[key] = policies
                group.append(pod)
        goto_of: dict[int, tuple[Verdict]] = {}  # id(pod) -> the verdict to its group's chain
        digests = {key: naming.hex_hash(*key, length=naming.DIGEST_WIDTH) for key in groups}
        for key in sorted(groups, key=lambda k: digests[k][: naming.HEX_WIDTH]):
            pods = groups[key]
            chain = self._name(f"{direction.name}-pods", key, digests[key])
            self._group_chain(direction, chain, key, by_key[key], pods)
            value = (goto(chain),)
            for pod in pods:
                goto_of[id(pod)] = value
        elements: dict[int, list[Element]] = {fam.version: [] for fam in ADDRESS_FAMILIES}
        for version, _, atoms, pod_key, pod_id in self._owned:  # in address order
            if pod_id in goto_of:
                elements[version].append(Element(atoms, goto_of[pod_id], pod_key))
        for fam in ADDRESS_FAMILIES:
            self.table.add_elements(family_name(f"{direction.name}-isolated", fam), elements[fam.version])

    @staticmethod
    def _named(direction: Direction, policies: list[NetworkPolicy]) -> _Names:
        """For ingress, the named ports of the policies' rules, sorted: how the pods they isolate resolve
        them tells their groups apart (for egress, named ports are resolved on the peers: none)."""
        if direction is EGRESS:
            return ()
        return tuple(sorted({n for p in policies for rule in p.ingress for n in named_ports(rule.ports or ())}))

    # --- one group of pods -----------------------------------------------------------------------------

    def _group_chain(
        self, direction: Direction, chain: str, key: tuple[str, ...], policies: list[NetworkPolicy], pods: list[Pod]
    ) -> None:
        """`chain`, of the pods isolated by the policies `key`: a few lookups in sets of what they allow.

        A set of peers and ports is named after the policies that put elements in it, so groups of pods
        whose other policies add nothing of its kind (a default deny, rules only without ports) share
        it; the set of named ports resolved on the protected pods is the group's own."""
        count = f"{len(pods)} pod{'s' if len(pods) > 1 else ''}"
        keys, resolved = key[: len(policies)], key[len(policies) :]  # the policies', and their named ports
        ports = f" (named ports {', '.join(resolved)})" if resolved else ""
        self.table.add_chain(chain, f"{direction.name} of {count} isolated by {', '.join(keys)}{ports}")
        for version in sorted({version for pod in pods for version in self._versions[id(pod)]}):
            fam = family(version)
            peer, ported = _lookups(direction, fam)
            for kind, lookup, more in ((_PORTS, ported, _PORT_TYPES), (_ANY, peer, ())):
                mine = [
                    self._grants_of_kind(direction, kind[0], p, k, version) for p, k in zip(policies, keys, strict=True)
                ]
                contributing = tuple(k for k, grants in zip(keys, mine, strict=True) if grants)
                cache = (direction.name, kind[0], fam.suffix, *contributing)
                if cache not in self._shared:
                    grants = [g for part in mine for g in part]
                    self._shared[cache] = self._allow_set(direction, kind, contributing, fam, more, grants, cache)
                name = self._shared[cache]
                if name is not None:
                    self._accept_members(chain, lookup, name)  # the element says which rule
            if direction is INGRESS:  # the named ports, as these pods resolve them
                named = [
                    self._named_port_grants(direction, p, k, version, pods[0], resolved)
                    for p, k in zip(policies, keys, strict=True)
                ]
                contributing = tuple(k for k, grants in zip(keys, named, strict=True) if grants)
                cache = (direction.name, _POD_PORTS[0], fam.suffix, *contributing, *resolved)
                if cache not in self._shared:
                    grants = [g for part in named for g in part]
                    stem_key = (*contributing, *resolved)
                    self._shared[cache] = self._allow_set(
                        direction, _POD_PORTS, stem_key, fam, _PORT_TYPES, grants, cache
                    )
                name = self._shared[cache]
                if name is not None:
                    self._accept_members(chain, ported, name)
        self._drop_rest(chain, direction)

    def _accept_members(self, chain: str, lookup: Address | Concat, name: str) -> None:
        """`<lookup> @name accept` at the end of `chain`: one rule for every group's chain that looks up
        the set `name` (each set is looked up one way: its kind says how)."""
        rule = self._accepts.get(name)
        if rule is None:
            self._accepts[name] = self.table.add_rule(chain, member(lookup, name), ACCEPT)
        else:
            self.table.append_rule(chain, rule)

    def _drop_rest(self, chain: str, direction: Direction) -> None:
        """The end of a group's chain: what no lookup accepted is dropped (one rule for every group's chain of
        `direction`)."""
        rule = self._drops.get(direction.name)
        if rule is None:
            comment = f"{direction.name} not allowed by any policy selecting these pods"
            self._drops[direction.name] = self.table.add_rule(chain, DROP, comment=comment)
        else:
            self.table.append_rule(chain, rule)

    def _policy_grants(self, direction: Direction, policy: NetworkPolicy, key: str, version: int) -> list[Grant]:
        """What a policy (`key`: its namespace/name) allows in one direction and family, but named ports on
        protected pods."""
        cache = (direction.name, str(version), key)
        grants = self._grants_cache.get(cache)
        if grants is None:
            grants = self._grants_cache[cache] = self._all_grants(direction, [policy], version, None)
        return grants

    def _grants_of_kind(
        self, direction: Direction, kind: str, policy: NetworkPolicy, key: str, version: int
    ) -> list[Grant]:
        """`_policy_grants` of one kind (`allow.grant_kind`)."""
        cache = (direction.name, kind, str(version), key)
        grants = self._kind_grants.get(cache)
        if grants is None:
            everything = self._policy_grants(direction, policy, key, version)
            grants = self._kind_grants[cache] = [g for g in everything if grant_kind(g) == kind]
        return grants

    def _named_port_grants(
        self, direction: Direction, policy: NetworkPolicy, key: str, version: int, pod: Pod, resolved: tuple[str, ...]
    ) -> list[Grant]:
        """What a policy's ingress rules allow on the named ports of the protected pods, resolved as `pod`
        resolves them (`resolved`, as `_resolution` says it, stands for it: kept under it)."""
        cache = (direction.name, str(version), key, *resolved)
        grants = self._named_grants.get(cache)
        if grants is None:
            grants = self._named_grants[cache] = self._all_grants(direction, [policy], version, pod)
        return grants

    def _allow_set(
        self,
        direction: Direction,
        kind: _Kind,
        key: tuple[str, ...],
        fam: AddressFamily,
        more: tuple[DataType, ...],
        grants: list[Grant],
        cache: tuple[str, ...],
    ) -> str | None:
        """The interval set `<direction>-<kind>-<hash of key>-<family>` of what `grants` allow; None if
        they allow nothing of its kind. Its elements are kept under `cache` (what decides them) for the
        next node's compile."""
        middle, make, comment = kind
        elements = self._elements.get(cache)
        if elements is None:
            elements = self._elements[cache] = make(grants, fam.version)
        if not elements:
            return None
        name = family_name(self._name(f"{direction.name}-{middle}", key), fam)
        self.table.add_set(Set(name, Types((fam.addr_type, *more)), flags=(SetFlag.INTERVAL,), comment=comment))
        self.table.add_elements(name, elements)
        return name

    def _all_grants(
        self, direction: Direction, policies: list[NetworkPolicy], version: int, pod: Pod | None
    ) -> list[Grant]:
        return [
            grant
            for policy in policies
            for index, rule in enumerate(direction.rules(policy))
            for grant in self._grants(direction, policy, index, rule, version, pod)
        ]

    def _grants(
        self,
        direction: Direction,
        policy: NetworkPolicy,
        index: int,
        rule: PolicyRule,
        version: int,
        pod: Pod | None,
    ) -> list[Grant]:
        """What one ingress/egress rule allows in one address family: with `pod`, only the named ports it
        allows on the protected pods, resolved as `pod` (and its group) does (ingress); without, the rest."""
        label = f"{policy.meta.key} {direction.name}[{index}]"
        ports = rule.ports or ()
        known = self._ports.get(id(rule))
        if known is None:  # (the rule's ports hash as values: looked up once per rule)
            known = self._ports[id(rule)] = (numeric_spans(ports), named_ports(ports))
        spans, names = known
        out: list[Grant] = []
        peers: Sequence[PolicyPeer | None] = rule.peers or (None,)
        for peer_index, peer in enumerate(peers):
            where = label if peer is None else f"{label} {direction.peers_field}[{peer_index}]"
            intervals = self.peers.intervals(policy.meta.namespace, peer, version)
            if pod is not None:  # ingress named ports: the protected pod's own port
                for proto, name in names:
                    port = named_port(pod, name, proto)
                    if port is not None and intervals:
                        out.append(Grant(intervals, f"{where} port {name}", proto.value.lower(), (port, port)))
                continue
            if intervals:  # (none: an ipBlock of the other family)
                if not ports:
                    out.append(Grant(intervals, where))
                out += [Grant(intervals, where, l4, span) for l4, span in spans]
            if not names or direction is INGRESS:
                continue
            for ip, target in self.peers.egress_targets(policy.meta.namespace, peer):
                if ip.version != version:  # egress named ports: each peer pod's; the element stands for it
                    continue
                for proto, name in names:
                    port = named_port(target, name, proto)
                    if port is not None:
                        point = ((int(ip), int(ip)),)
                        out.append(Grant(point, f"{where} port {name}", proto.value.lower(), (port, port)))
        return out


@cache
def _lookups(direction: Direction, fam: AddressFamily) -> tuple[Address, Concat]:
    """What a group's chain looks up in its sets: the peer's address, and with the protocol and port."""
    peer = Address(fam, direction.peer)
    return peer, Concat((peer, L4PROTO, DPORT))


def _resolution(names: _Names, numbers: _Numbers) -> tuple[str, ...]:
    """A pod's numbers for the named ports `names` of the policies isolating it (`TCP/http=8080`): pods
    isolated by the same policies share a chain when these agree too."""
    return tuple(
        f"{proto.value}/{name}={'none' if port is None else port}"
        for (proto, name), port in zip(names, numbers, strict=True)
    )


def compile_policies(cluster: Cluster, table: Table, opts: CompileOptions) -> list[str]:
    """Add every NetworkPolicy to `table`; returns notices for the user."""
    return PolicyCompiler(cluster, table, opts).compile()
