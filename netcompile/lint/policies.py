"""What a policy's rules admit, read rule by rule: rules that admit everything, ipBlocks that hold pod
addresses, an `except` another rule admits again (docs/semantics.md §3 and docs/policies.md: an ipBlock
matches by address alone, pods' addresses included)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from ipaddress import ip_network

from ..model import IPNetwork, NetworkPolicy, PolicyPeer, PolicyPort, PolicyRule
from .findings import Finding, finding

EVERYWHERE = (ip_network("0.0.0.0/0"), ip_network("::/0"))


def _rules(policy: NetworkPolicy) -> Iterator[tuple[str, str, int, PolicyRule]]:
    for direction, key, rules in (("ingress", "from", policy.ingress), ("egress", "to", policy.egress)):
        for i, rule in enumerate(rules):
            yield direction, key, i, rule


def _every_pod(peer: PolicyPeer) -> bool:
    """`namespaceSelector: {}` (with no podSelector, or `podSelector: {}`): every pod of every namespace."""
    return (
        peer.ip_block is None
        and peer.namespace_selector is not None
        and peer.namespace_selector.is_empty
        and (peer.pod_selector is None or peer.pod_selector.is_empty)
    )


def _every_address(peer: PolicyPeer) -> bool:
    return peer.ip_block is not None and peer.ip_block.cidr in EVERYWHERE and not peer.ip_block.except_


def allows_everything(policy: NetworkPolicy) -> Iterator[Finding]:
    """A rule without ports whose peers admit every source (destination): the rule makes the policy's
    isolation, in that direction, a no-op for the pods it selects."""
    selected = "every pod of the namespace" if policy.pod_selector.is_empty else f"pods {policy.pod_selector}"
    for direction, key, i, rule in _rules(policy):
        if rule.ports:
            continue
        towards = "from" if direction == "ingress" else "to"
        if not rule.peers:
            yield finding(
                "allows-everything",
                policy.meta,
                f"spec.{direction}[{i}]",
                f"allows {direction} {towards} any address (every pod, node and outside client) on every port and "
                f"protocol, for {selected}: this rule admits everything",
            )
            continue
        for j, peer in enumerate(rule.peers):
            if _every_pod(peer):
                what = f"every pod of every namespace, on every port and protocol, for {selected}"
            elif _every_address(peer):
                assert peer.ip_block is not None
                family = "IPv4" if peer.ip_block.cidr.version == 4 else "IPv6"
                what = (
                    f"any {family} address ({peer.ip_block.cidr}: every pod, node and outside client), on every port "
                    f"and protocol, for {selected}"
                )
            else:
                continue
            yield finding(
                "allows-everything",
                policy.meta,
                f"spec.{direction}[{i}].{key}[{j}]",
                f"allows {direction} {towards} {what}",
            )


Span = tuple[int, int, IPNetwork]  # a network's first and last address as numbers, and the network


def _span(net: IPNetwork) -> Span:
    return int(net.network_address), int(net.broadcast_address), net


class PodNetworks:
    """The pod network as lint reads it (a few CIDRs, or every running pod's own address), with each
    network's first and last address as numbers: ipBlocks are met with integers, not address objects."""

    def __init__(self, networks: Sequence[IPNetwork]) -> None:
        self.networks = tuple(networks)
        self.spans = {v: [_span(n) for n in self.networks if n.version == v] for v in (4, 6)}
        self.addresses_only = all(n.prefixlen == n.max_prefixlen for n in self.networks)


def _subtract(held: list[Span], cut: IPNetwork) -> list[Span]:
    lo, hi, _ = _span(cut)
    out: list[Span] = []
    for span in held:
        first, last, net = span
        if last < lo or first > hi:
            out.append(span)
        elif not (lo <= first and last <= hi):  # the cut lies inside the network: what is left of it
            out.extend(_span(n) for n in net.address_exclude(cut))  # type: ignore[arg-type]  # same family
    return out


def _intersection(a: IPNetwork, b: IPNetwork) -> IPNetwork | None:
    if a.version != b.version or not a.overlaps(b):
        return None
    return a if a.prefixlen >= b.prefixlen else b


def ipblock_pod_network(policy: NetworkPolicy, pod_networks: PodNetworks) -> Iterator[Finding]:
    """An ipBlock whose CIDR, less its excepts, still holds part of the pod network: it matches those
    pods by address (whatever their labels or namespace)."""
    for direction, key, i, rule in _rules(policy):
        for j, peer in enumerate(rule.peers or ()):
            block = peer.ip_block
            if block is None or (_every_address(peer) and not rule.ports):
                continue  # 0.0.0.0/0 on every port: allows-everything says it
            lo, hi, cidr = _span(block.cidr)
            held: list[Span] = []
            for span in pod_networks.spans[cidr.version]:
                first, last, _ = span
                if first <= hi and last >= lo:  # two CIDRs that meet: one inside the other, the narrower shared
                    held.append(span if last - first <= hi - lo else (lo, hi, cidr))
            for cut in block.except_:
                if cut.version == cidr.version:
                    held = _subtract(held, cut)
            if not held:
                continue
            yield finding(
                "ipblock-pod-network",
                policy.meta,
                f"spec.{direction}[{i}].{key}[{j}].ipBlock.cidr",
                f"ipBlock {block.cidr} holds pod addresses ({_held(held, pod_networks)}): it matches those pods by "
                "address, whatever their labels; except the pod network if the rule means outside the cluster",
            )


def _held(held: Sequence[Span], pod_networks: PodNetworks) -> str:
    """`10.244.0.0/24 of the pod network 10.244.0.0/16`; with no pod network known but the pods' own
    addresses, `the addresses of 3 pods: 10.244.0.11, ...`."""
    ordered = [net for _, _, net in sorted(held, key=lambda s: (s[0], s[2].prefixlen))]  # one family
    more = ", ..." if len(ordered) > 3 else ""
    if pod_networks.addresses_only:
        addresses = ", ".join(str(n.network_address) for n in ordered[:3])
        return f"{'the address of 1 pod' if len(ordered) == 1 else f'the addresses of {len(ordered)} pods'}: " + (
            addresses + more
        )
    shown = ", ".join(str(n) for n in ordered[:3])
    return f"{shown}{more} of the pod network {', '.join(str(p) for p in pod_networks.networks)}"


def _ports_meet(a: tuple[PolicyPort, ...] | None, b: tuple[PolicyPort, ...] | None) -> bool:
    """Could a packet match a port entry of both lists? (No ports: every port. A named port meets only the
    same name, or a protocol-wide entry: what a name resolves to is each pod's own.)"""
    if not a or not b:
        return True
    for x in a:
        for y in b:
            if x.protocol != y.protocol:
                continue
            if x.port is None or y.port is None:
                return True
            if isinstance(x.port, str) or isinstance(y.port, str):
                if x.port == y.port:
                    return True
                continue
            x_end = x.end_port if x.end_port is not None else x.port
            y_end = y.end_port if y.end_port is not None else y.port
            if x.port <= y_end and y.port <= x_end:
                return True
    return False


def _admits(peer: PolicyPeer, cut: IPNetwork) -> IPNetwork | None:
    """The part of `cut` an ipBlock peer admits in full, if any (selector peers admit pods, not ranges)."""
    block = peer.ip_block
    if block is None:
        return None
    inside = _intersection(block.cidr, cut)
    if inside is None:
        return None
    if any(_intersection(e, inside) is not None and e.supernet_of(inside) for e in block.except_):  # type: ignore[arg-type]
        return None
    return inside


def except_readmitted(policy: NetworkPolicy) -> Iterator[Finding]:
    """An `except` range that another peer (of this rule or of another rule of the same direction, whose
    ports meet this rule's) admits again: the except does not keep those addresses out."""
    for direction, key, i, rule in _rules(policy):
        for j, peer in enumerate(rule.peers or ()):
            if peer.ip_block is None:
                continue
            for k, cut in enumerate(peer.ip_block.except_):
                by = _readmitted_by(policy, direction, i, j, rule, cut)
                if by is None:
                    continue
                yield finding(
                    "except-readmitted",
                    policy.meta,
                    f"spec.{direction}[{i}].{key}[{j}].ipBlock.except[{k}]",
                    f"except {cut} is admitted again by {by}: these addresses are not kept out",
                )


def _readmitted_by(
    policy: NetworkPolicy, direction: str, i: int, j: int, rule: PolicyRule, cut: IPNetwork
) -> str | None:
    rules = policy.ingress if direction == "ingress" else policy.egress
    key = "from" if direction == "ingress" else "to"
    for m, other in enumerate(rules):
        if not _ports_meet(rule.ports, other.ports):
            continue
        if not other.peers:
            if m != i:
                return f"spec.{direction}[{m}] (no `{key}`: every address)"
            continue
        for n, peer in enumerate(other.peers):
            if (m, n) == (i, j):
                continue
            inside = _admits(peer, cut)
            if inside is not None:
                assert peer.ip_block is not None
                held = "" if inside == peer.ip_block.cidr else f", which holds {inside} of it"
                return f"spec.{direction}[{m}].{key}[{n}] (ipBlock {peer.ip_block.cidr}{held})"
    return None
