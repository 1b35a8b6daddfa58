"""The key of a matrix cell: everything its journey depends on, so that cells with one key share one journey.

A cell is a packet from a source (a pod's first address, or an outside address) to a destination pod's
address of the same family, on a port. Its journey is decided by Kubernetes semantics from:
- where it goes: the source's and the destination's nodes, readiness, endpoints, the atoms of both
  addresses, the destination's container ports, the protocol and the atom of the port;
- egress at the source: whether the source is isolated for egress, and which egress rules of the
  policies selecting it allow this destination on this port (a rule allows when a peer picks the
  destination's address, or it has none, and a port entry matches, named ports resolved on the
  destination pod, or it has none);
- ingress at the destination: the same, for the ingress rules of the policies selecting the destination
  and the source's address.
The allowing rules are named in the key (policy and rule), not only the verdict they lead to, so the
key is the cell's explanation. A source or destination at a special address (a node's, a Service's,
shared by pods) gets a key of its own: its cells are evaluated one by one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from ..model import IPAddress, NetworkPolicy, Pod, PolicyPort, PolicyRule, PolicyType, Protocol
from ..verify.reference.policy import in_block, port_matches
from ..verify.reference.view import labels_select
from .atoms import PortAtoms
from .classes import Facts, PodClass, PortKey

Party = int  # a class (index >= 0) or outside client n (index -1 - n) with one IP version, as one number


def party(index: int, version: int) -> Party:
    """The party of class `index` (or outside client -1 - index) at its address of IP `version`."""
    return index * 2 + (1 if version == 6 else 0)


# `Keys.pair`'s parts: of a source (where and whether isolated for egress, as a number shifted 32 bits left; its
# egress rules; the rules picking it) and of a destination (where, its container ports and whether isolated for
# ingress, as a number; its ingress rules; the rules picking it). Rules are bit masks (`Rules`).
SourceSide = tuple[int, int, int]
TargetSide = tuple[int, int, int]


class Rules:
    """The NetworkPolicies' rules as sets of parties their peers pick, and the rules selecting each class."""

    def __init__(
        self, facts: Facts, pods: Sequence[Pod], classes: Sequence[PodClass], externals: Sequence[IPAddress]
    ) -> None:
        self.facts = facts
        self.pods = pods
        self.classes = classes
        self.policies: list[NetworkPolicy] = sorted(
            facts.view.objects.network_policies, key=lambda p: (p.meta.namespace, p.meta.name)
        )
        self.by_ns: dict[str, list[int]] = defaultdict(list)
        for i, policy in enumerate(self.policies):
            self.by_ns[policy.meta.namespace].append(i)
        self.classes_by_ns: dict[str, list[PodClass]] = defaultdict(list)
        for cls in classes:
            if not cls.special:
                self.classes_by_ns[cls.namespace].append(cls)
        # read once: each class's labels as a mapping and its parties, each namespace's labels
        self._labels = [dict(cls.labels) for cls in classes]
        self._parties = [[party(cls.index, a.version) for a in pods[cls.pods[0]].ips] for cls in classes]
        self._ns_labels = {ns: facts.view.namespace_labels(ns) for ns in self.classes_by_ns}
        # parties by atom, for ipBlocks: an atom is inside or outside every block as a whole
        self.by_atom: dict[tuple[int, tuple[bool, ...]], tuple[IPAddress, list[Party]]] = {}
        for cls in classes:
            if not cls.special:
                for address in pods[cls.pods[0]].ips:
                    self._add_atom(address, party(cls.index, address.version))
        for n, address in enumerate(externals):
            self._add_atom(address, party(-1 - n, address.version))
        self.rules: list[tuple[int, PolicyType, int, PolicyRule]] = []
        self.peers: list[frozenset[Party] | None] = []
        self._rules_of: dict[tuple[int, PolicyType], list[int]] = defaultdict(list)  # a policy's, by direction
        for i, policy in enumerate(self.policies):
            for direction, rules in ((PolicyType.INGRESS, policy.ingress), (PolicyType.EGRESS, policy.egress)):
                for r, rule in enumerate(rules):
                    self._rules_of[(i, direction)].append(len(self.rules))
                    self.rules.append((i, direction, r, rule))
                    self.peers.append(self._peer_set(policy, rule))
        # Sets of rules are bit masks (bit n: rule n): a cell's allowing rules are two ANDs of integers.
        self._open = sum(1 << n for n, picked in enumerate(self.peers) if picked is None)
        self._picking: dict[Party, int] = defaultdict(int)  # the rules whose peers pick a party
        for n, picked in enumerate(self.peers):
            for who in picked or ():
                self._picking[who] |= 1 << n
        self._any_port = sum(1 << n for n, (_, _, _, rule) in enumerate(self.rules) if not rule.ports)
        self._by_ports: dict[tuple[PolicyPort, ...], int] = defaultdict(int)  # rules with ports, by their entries
        for n, (_, _, _, rule) in enumerate(self.rules):
            if rule.ports:
                self._by_ports[rule.ports] |= 1 << n
        self._selecting: dict[tuple[int, PolicyType], tuple[int, ...]] = {}
        self._port_bits: dict[tuple[int, int, Protocol], int] = {}
        ids: dict[PortKey, int] = {}
        self.port_ids = [ids.setdefault(c.ports, len(ids)) for c in classes]
        self._isolated: dict[tuple[int, PolicyType], bool] = {}
        self.port_atoms = PortAtoms(*_port_numbers(facts))

    def _add_atom(self, address: IPAddress, who: Party) -> None:
        key = (address.version, self.facts.atoms.atom(address))
        self.by_atom.setdefault(key, (address, []))[1].append(who)

    def _peer_set(self, policy: NetworkPolicy, rule: PolicyRule) -> frozenset[Party] | None:
        """The parties some peer of `rule` picks (None: the rule has no peers, so it picks every address)."""
        if not rule.peers:
            return None
        out: set[Party] = set()
        for peer in rule.peers:
            if peer.ip_block is not None:
                for address, parties in self.by_atom.values():
                    if in_block(address, peer.ip_block):
                        out.update(parties)
                continue
            if peer.pod_selector is None and peer.namespace_selector is None:
                continue
            if peer.namespace_selector is None:
                namespaces = [policy.meta.namespace]
            else:
                selector = peer.namespace_selector
                namespaces = [ns for ns, labels in self._ns_labels.items() if labels_select(selector, labels)]
            for ns in namespaces:
                for cls in self.classes_by_ns.get(ns, ()):
                    if peer.pod_selector is None or labels_select(peer.pod_selector, self._labels[cls.index]):
                        out.update(self._parties[cls.index])
        return frozenset(out)

    def selecting(self, cls: PodClass, direction: PolicyType) -> tuple[int, ...]:
        """The rules (indices into `rules`) of the policies that select the class for `direction`."""
        found = self._selecting.get((cls.index, direction))
        if found is None:
            labels = self._labels[cls.index]
            chosen = {
                i
                for i in self.by_ns.get(cls.namespace, ())
                if direction in self.policies[i].policy_types and labels_select(self.policies[i].pod_selector, labels)
            }
            found = tuple(n for i in sorted(chosen) for n in self._rules_of.get((i, direction), ()))
            self._selecting[(cls.index, direction)] = found
            self._isolated[(cls.index, direction)] = bool(chosen)
        return found

    def isolated(self, cls: PodClass, direction: PolicyType) -> bool:
        self.selecting(cls, direction)
        return self._isolated[(cls.index, direction)]

    def port_bits(self, dst: PodClass, port: int, protocol: Protocol) -> int:
        """The rules (a bit mask) with a `ports` entry that matches `port` on the class's pods, or with
        none. Named ports resolve on the container ports alone, so the answer is kept per set of container
        ports; rules with the same entries are judged once."""
        key = (self.port_ids[dst.index], port, protocol)
        found = self._port_bits.get(key)
        if found is None:
            pods = [self.pods[dst.pods[0]]]
            found = self._any_port
            for entries, rules in self._by_ports.items():
                if any(port_matches(e, protocol, port, pods) for e in entries):
                    found |= rules
            self._port_bits[key] = found
        return found

    def reach(self, peer: Party) -> int:
        """The rules (a bit mask, of either direction) whose peers pick the party `peer`, or that have no peers."""
        return self._open | self._picking.get(peer, 0)


def _port_numbers(facts: Facts) -> tuple[list[int], list[tuple[int, int]]]:
    """Every port number of the input, and every range of one (policy ports with endPort)."""
    objects = facts.view.objects
    singles: list[int] = []
    ranges: list[tuple[int, int]] = []
    for policy in objects.network_policies:
        for rule in (*policy.ingress, *policy.egress):
            for entry in rule.ports or ():
                if isinstance(entry.port, int):
                    ranges.append((entry.port, entry.end_port if entry.end_port is not None else entry.port))
    for pod in objects.pods:
        singles += [c.port for c in pod.ports]
    for svc in objects.services:
        for sp in svc.ports:
            singles += [sp.port] + ([sp.target_port] if isinstance(sp.target_port, int) else [])
            singles += [sp.node_port] if sp.node_port is not None else []
    for eps in objects.endpoint_slices:
        singles += [p.port for p in eps.ports if p.port is not None]
    return singles, ranges


class Keys:
    """Cell keys, cached per (source role, destination role, port, protocol).

    A key depends on its source class only through the source's place, its egress rules and the ingress
    rules whose peers pick it: classes alike in those three are one *source role*. It depends on its
    destination class only through the destination's place, container ports, ingress rules and the
    egress rules whose peers pick it: one *destination role*. Every cell between a source role and a
    destination role on one port has one key, by construction, so a key is made once per role pair
    (an outside client is a source role of its own)."""

    def __init__(
        self, facts: Facts, rules: Rules, pods: Sequence[Pod], classes: Sequence[PodClass], class_of: Sequence[int]
    ) -> None:
        self.facts, self.rules, self.pods, self.classes, self.class_of = facts, rules, pods, classes, class_of
        self._cache: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._source_sides: dict[tuple[int, int], SourceSide] = {}  # per class and IP version: see pair
        self._target_sides: dict[tuple[int, int], TargetSide] = {}
        self._parts: dict[tuple[Any, ...], int] = {}  # each side's part that is not its rules, numbered
        self._port_atoms: dict[int, int] = {}
        self.columns: dict[tuple[int, int, Protocol], tuple[int, int]] = {}  # `column`'s answers so far
        self._places: dict[tuple[int, int], tuple[Any, ...]] = {}
        self._place_ids: dict[tuple[int, int], int] = {}
        self._places_seen: dict[tuple[Any, ...], int] = {}
        egress, ingress = PolicyType.EGRESS, PolicyType.INGRESS
        self.egress = [(rules.isolated(c, egress), rules.selecting(c, egress)) for c in classes]
        self.ingress = [(rules.isolated(c, ingress), rules.selecting(c, ingress)) for c in classes]
        self._egress_bits = [sum(1 << r for r in rules) for _, rules in self.egress]
        self._ingress_bits = [sum(1 << r for r in rules) for _, rules in self.ingress]
        view = facts.view
        # an outside client at a running pod's address is not outside: its cells are keyed alone
        self.claimed = frozenset(a for p in view.objects.pods if p.running for a in view.pod_ips(p))
        self.special = [classes[c].special for c in class_of]  # per pod: its cells are keyed alone
        # the rules whose peers pick a party: ingress rules matter of a source, egress rules of a destination
        self.picked_by: dict[PolicyType, dict[Party, list[int]]] = {d: defaultdict(list) for d in PolicyType}
        for r, parties in enumerate(rules.peers):
            for who in parties or ():
                self.picked_by[rules.rules[r][1]][who].append(r)
        self._roles: dict[tuple[Any, ...], int] = {}
        self._source_roles: dict[tuple[int, int], int] = {}
        self._target_roles: dict[tuple[int, int], int] = {}

    def _role(self, signature: tuple[Any, ...]) -> int:
        return self._roles.setdefault(signature, len(self._roles))

    def source_role(self, src: int, version: int) -> int:
        """The source role of class `src` (< 0: outside client number -1 - src) sending from IP `version`."""
        found = self._source_roles.get((src, version))
        if found is None:
            if src < 0:
                signature: tuple[Any, ...] = ("outside", src, version)
            else:
                picked = tuple(self.picked_by[PolicyType.INGRESS].get(party(src, version), ()))
                signature = ("source", self.place(src, version), self.egress[src], picked)
            found = self._source_roles[(src, version)] = self._role(signature)
        return found

    def egress_role(self, src: int, version: int) -> int:
        """The role of class `src` sending from IP `version` to an address that no Service, node or pod
        holds: such a journey reads of its source only its place and its egress rules (no ingress rule
        and no Service can see it), so classes alike in those two are one role, coarser than their source
        roles."""
        return self._role(("egress", self.place(src, version), self.egress[src]))

    def target_role(self, dst: int, version: int) -> int:
        """The destination role of class `dst` at its address of IP `version`."""
        found = self._target_roles.get((dst, version))
        if found is None:
            picked = tuple(self.picked_by[PolicyType.EGRESS].get(party(dst, version), ()))
            signature = ("target", self.place(dst, version), self.classes[dst].ports, self.ingress[dst], picked)
            found = self._target_roles[(dst, version)] = self._role(signature)
        return found

    def place(self, cls: int, version: int) -> tuple[Any, ...]:
        """Where a class's pods are, for packets of IP `version`: node, readiness, endpoints, address atom."""
        found = self._places.get((cls, version))
        if found is None:
            k = self.classes[cls].key  # namespace, labels, node, journey node, ready, terminating, ports, ...
            address = next(a for a in self.pods[self.classes[cls].pods[0]].ips if a.version == version)
            found = self._places[(cls, version)] = (k[2], k[3], k[4], k[5], k[8], self.facts.address_key(address))
        return found

    def place_id(self, cls: int, version: int) -> int:
        """`place(cls, version)` as a small number: equal numbers for equal places."""
        found = self._place_ids.get((cls, version))
        if found is None:
            place = self.place(cls, version)
            found = self._place_ids[(cls, version)] = self._places_seen.setdefault(place, len(self._places_seen))
        return found

    def alone(self, src_pod: int | None, src_address: IPAddress, dst_pod: int) -> bool:
        """Whether the cell is keyed alone: a special address at either end."""
        if self.classes[self.class_of[dst_pod]].special:
            return True
        if src_pod is not None:
            return self.classes[self.class_of[src_pod]].special
        return self.outside_alone(src_address)

    def outside_alone(self, address: IPAddress) -> bool:
        """Whether an outside client's cells are keyed alone: at a special or a pod's address."""
        return self.facts.address_key(address)[2] is not None or address in self.claimed

    def lookup(
        self, src_pod: int | None, src_address: IPAddress, external: int, dst_pod: int, port: int, protocol: Protocol
    ) -> tuple[Any, ...]:
        """What names the key of the cell from `src_pod` (None: outside client number `external`) to
        `dst_pod` cheaply: (source role, destination role, port, protocol); a cell keyed alone names
        itself. (`ClassMatrix.row` builds the same names with the source's role worked out once.)"""
        if self.special[dst_pod] or (self.special[src_pod] if src_pod is not None else self.outside_alone(src_address)):
            return ("cell", src_pod, str(src_address), dst_pod, port, protocol)
        version = src_address.version
        src = self.class_of[src_pod] if src_pod is not None else -1 - external
        return (self.source_role(src, version), self.target_role(self.class_of[dst_pod], version), port, protocol)

    def key(
        self, src_pod: int | None, src_address: IPAddress, external: int, dst_pod: int, port: int, protocol: Protocol
    ) -> tuple[Any, ...]:
        """The key of the cell from `src_pod` (None: outside client number `external`) to `dst_pod`."""
        if self.alone(src_pod, src_address, dst_pod):
            return ("cell", src_pod, str(src_address), dst_pod, port, protocol)
        src = self.class_of[src_pod] if src_pod is not None else -1 - external
        return self.class_key(src, self.class_of[dst_pod], src_address, port, protocol)

    def class_key(
        self, src: int, dst: int, src_address: IPAddress, port: int, protocol: Protocol, *, cache: bool = True
    ) -> tuple[Any, ...]:
        """The key of a cell between classes (`src` < 0: outside client number -1 - src at `src_address`);
        `cache=False` for a caller that keeps what it needs itself (by `lookup`), so memory stays flat.
        Places and container ports are named in the key by small numbers (equal when they are equal)."""
        version = src_address.version
        if cache:
            lookup = (self.source_role(src, version), self.target_role(dst, version), port, protocol)
            found = self._cache.get(lookup)
            if found is None:
                found = self._cache[lookup] = self.class_key(src, dst, src_address, port, protocol, cache=False)
            return found
        # The rules allowing the cell, as bit masks: those of the source's egress rules whose ports match and
        # whose peers pick the destination, and those of the destination's ingress rules that pick the source.
        # What does not depend on the port is made from each side's part, worked out once per class (and
        # family), and named in the key by a small number (equal numbers for equal parts).
        part, out_rules, in_rules = self.pair(src, dst, src_address)
        matching, atom = self.column(dst, port, protocol)
        return (part, protocol, atom, out_rules & matching, in_rules & matching)

    def column(self, dst: int, port: int, protocol: Protocol) -> tuple[int, int]:
        """`class_key`'s part that depends on the destination class and the port alone: the rules (a bit
        mask) whose ports match there (`Rules.port_bits`), and the port's atom."""
        found = self.columns.get((dst, port, protocol))
        if found is None:
            atom = self._port_atoms.get(port)
            if atom is None:
                atom = self._port_atoms[port] = self.rules.port_atoms.atom(port)
            matching = self.rules.port_bits(self.classes[dst], port, protocol)
            found = self.columns[(dst, port, protocol)] = (matching, atom)
        return found

    def pair(self, src: int, dst: int, src_address: IPAddress) -> tuple[int, int, int]:
        """`class_key`'s part that is the same on every port: the number of (where the source and the
        destination are, the destination's container ports, whether each side is isolated), and (bit masks)
        the source's egress rules whose peers pick the destination and the destination's ingress rules
        that pick the source. All of it is in the source's role and the destination's (`source_role`,
        `target_role`): classes of equal roles have equal pairs. Each side's part is worked out once
        (`source_side`, `target_side`)."""
        return self.joined(self.source_side(src, src_address), self.target_side(dst, src_address.version))

    def joined(self, source: SourceSide, target: TargetSide) -> tuple[int, int, int]:
        """`pair` of the source and the destination with these sides. The part that is neither side's rules is
        one number: the source's part number in the high bits, the destination's in the low ones (equal
        numbers for equal parts)."""
        where, egress_bits, picking_source = source
        place, ingress_bits, picking_target = target
        return (where | place, egress_bits & picking_target, ingress_bits & picking_source)

    def source_side(self, src: int, src_address: IPAddress) -> SourceSide:
        """What `pair` reads of its source: where it is and whether it is isolated for egress (as a number,
        `_part`), its egress rules, and the rules that pick it (`Rules.reach`)."""
        version = src_address.version
        found = self._source_sides.get((src, version))
        if found is None:
            if src >= 0:
                where: tuple[Any, ...] = ("pod", self.place_id(src, version), self.egress[src][0])
                found = (self._part(where) << 32, self._egress_bits[src], self.rules.reach(party(src, version)))
            else:  # an outside client: it has no egress rules
                where = ("outside", self.facts.address_key(src_address), False)
                found = (self._part(where) << 32, 0, self.rules.reach(party(src, version)))
            self._source_sides[(src, version)] = found
        return found

    def target_side(self, dst: int, version: int) -> TargetSide:
        """What `pair` reads of its destination: where it is, its container ports and whether it is isolated
        for ingress (as a number, `_part`), its ingress rules, and the rules that pick it."""
        found = self._target_sides.get((dst, version))
        if found is None:
            where = ("target", self.place_id(dst, version), self.rules.port_ids[dst], self.ingress[dst][0])
            found = self._target_sides[(dst, version)] = (
                self._part(where),
                self._ingress_bits[dst],
                self.rules.reach(party(dst, version)),
            )
        return found

    def _part(self, part: tuple[Any, ...]) -> int:
        """A side's part that is not its rules as a small number (below 2**32): equal numbers for equal parts."""
        return self._parts.setdefault(part, len(self._parts))
