"""What a change does to who reaches whom: the matrix of each version, by workload, compared.

Each version's matrix is computed by classes (analysis/: every cell by both evaluators), then summed up
by source and destination *group* — a workload (`shop/deployment/web`), a pod no controller owns
(`shop/web-1`), an outside client — and port: open (every pod pair delivered), closed, or partly open.
Groups, not pods, are compared, so that a change of replicas or of a pod template (new pod names) reads
as what it does to connections, not as pods coming and going. A port that closes where another opens
between the same groups is one change (`8080 → 8443`). For each change, one pod pair of it is asked again
(a journey on each version) for the policy rules responsible: the reference evaluator's reasons.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv6Address, ip_address

from ..analysis import ClassMatrix, block_cells, matrix_pods
from ..journeys import Network, Place
from ..model import IPAddress, IPNetwork, Pod, Protocol
from ..targets import Workloads

Key = tuple[str, str, int, Protocol]  # (source group, destination group, port, protocol)


@dataclass(slots=True)
class Tally:
    """The cells of one key in one version: how many, how many delivered, one of each kind to ask again."""

    cells: int = 0
    open: int = 0
    disagree: int = 0  # cells where the interpreter of the compiled rulesets and the reference differ
    sample_open: tuple[Place, IPAddress] | None = None
    sample_closed: tuple[Place, IPAddress] | None = None

    @property
    def state(self) -> str:
        if self.open == 0:
            return "closed"
        return "open" if self.open == self.cells else f"partly open ({self.open} of {self.cells} pod pairs)"


@dataclass(slots=True)
class Version:
    """One version's matrix by groups."""

    net: Network
    tallies: dict[Key, Tally] = field(default_factory=dict)
    pods: dict[str, int] = field(default_factory=dict)  # group -> pods in it


def group_of(workloads: Workloads, pod: Pod) -> str:
    return workloads.label(pod) or pod.meta.key


Outside = tuple[IPAddress, str]  # an outside address standing for the part of a CIDR it is in, and that part


def outside_destinations(*nets: Network) -> tuple[list[Outside], list[tuple[int, Protocol]]]:
    """The outside addresses the policies' ipBlocks tell apart, in every version compared (so that both
    ask the same): one address per part of the address space that the CIDRs and excepts cut, named by
    the user's own CIDRs (`198.51.100.0/24 less 198.51.100.128/25`); and the port numbers the policies
    name. Addresses of the pod networks are pods, not outside."""
    blocks: set[IPNetwork] = set()
    ports: set[tuple[int, Protocol]] = set()
    pod_networks: list[IPNetwork] = []
    for net in nets:
        pod_networks += net.any_cluster.cluster_cidrs
        for policy in net.objects.network_policies:
            for rule in (*policy.ingress, *policy.egress):
                ports.update((p.port, p.protocol) for p in rule.ports or () if isinstance(p.port, int))
                for peer in rule.peers or ():
                    if peer.ip_block is not None:
                        blocks.update((peer.ip_block.cidr, *peer.ip_block.except_))
    ordered = sorted(blocks, key=lambda n: (n.version, n.network_address, n.prefixlen))
    found: dict[tuple[bool, ...], Outside] = {}
    for candidate in sorted({a for n in ordered for a in _around(n)}, key=lambda a: (a.version, a)):
        inside = tuple(candidate in n for n in ordered)
        if not any(inside) or inside in found or any(candidate in n for n in pod_networks):
            continue
        inner = max((n for n in ordered if candidate in n), key=lambda n: n.prefixlen)
        holes = [str(m) for m in ordered if m != inner and _within(m, inner) and candidate not in m]
        found[inside] = (candidate, f"outside {inner}" + (f" less {', '.join(holes)}" if holes else ""))
    outside = sorted(found.values(), key=lambda o: (o[0].version, o[0]))
    return outside, sorted(ports, key=lambda p: (p[1].value, p[0]))


def _within(inner: IPNetwork, outer: IPNetwork) -> bool:
    return inner.version == outer.version and inner.network_address in outer and inner.prefixlen >= outer.prefixlen


def _around(network: IPNetwork) -> list[IPAddress]:
    """Addresses at the edges of `network`, inside and just outside it: together, for every CIDR, one
    address in each part of the space the CIDRs cut."""
    size, bits = network.num_addresses, network.max_prefixlen
    first, last = int(network.network_address), int(network.broadcast_address)
    picks = {first + 1 if size > 2 else first, last - 1 if size > 2 else last, first - 1, last + 1}
    return [ip_address(v) if network.version == 4 else IPv6Address(v) for v in picks if 0 <= v < 2**bits]


def version(
    net: Network,
    externals: list[IPAddress],
    outside: Sequence[Outside] = (),
    ports: Sequence[tuple[int, Protocol]] = (),
    wanted: Sequence[tuple[int, Protocol]] | None = None,
) -> Version:
    """The matrix of `net` by groups and ports (declared container ports), outside clients included; and
    each group's pods' connections to the `outside` addresses on `ports` (one journey per class of pods)."""
    pods, _ = matrix_pods(net)
    matrix = ClassMatrix(net, pods, externals, wanted)
    workloads = Workloads(net.objects)
    groups = [group_of(workloads, pod) for pod in pods]
    out = Version(net)
    for name in groups:
        out.pods[name] = out.pods.get(name, 0) + 1
    tallies: dict[Key, Tally] = defaultdict(Tally)
    _to_outside(matrix, groups, outside, ports, tallies)
    by_group = groups.__getitem__  # rows of one class and one group have the same cells (block_cells)
    for row, dst, count, port, protocol, cell in block_cells(matrix, by_group):
        if not cell.evaluated:
            continue  # a pod to itself, or no address of the source's family
        source = matrix.sources[row]
        src = groups[source.pod] if source.pod is not None else f"outside {source.place.address}"
        tally = tallies[(src, groups[dst], port, protocol)]
        tally.cells += count
        if not cell.agrees:
            tally.disagree += count
        address = matrix.destination(dst, source)
        if cell.delivered > 0:
            tally.open += count
            if tally.sample_open is None and address is not None:
                tally.sample_open = (source.place, address)
        elif tally.sample_closed is None and address is not None:
            tally.sample_closed = (source.place, address)
    out.tallies = dict(tallies)
    return out


def _to_outside(
    matrix: ClassMatrix,
    groups: list[str],
    outside: Sequence[Outside],
    ports: Sequence[tuple[int, Protocol]],
    tallies: dict[Key, Tally],
) -> None:
    """Each pod's connections to the outside addresses, asked once per role of source pods: a journey to
    an address no Service, node or pod holds reads of its source only the pod's place and egress rules
    (`Keys.egress_role`); to another outside address (an externalIP, a node's), as a cell does
    (`Keys.source_role`). Pods at special addresses are asked one by one."""
    asked: dict[tuple[int | str, IPAddress, int, Protocol], tuple[bool, bool]] = {}
    keys, net = matrix.keys, matrix.net
    nobody = {a for a, _ in outside if a not in matrix.facts.special and net.pod_by_address(a) is None}
    for source in matrix.sources:
        if source.pod is None:
            continue
        version = source.place.address.version
        cls = matrix.class_of[source.pod]
        alone = keys.special[source.pod]
        for address, label in outside:
            if address.version != version:
                continue
            role: int | str
            if alone:
                role = f"pod {source.pod}"
            elif address in nobody:
                role = keys.egress_role(cls, version)
            else:
                role = keys.source_role(cls, version)
            for port, protocol in ports:
                key = (role, address, port, protocol)
                answer = asked.get(key)
                if answer is None:
                    journey = net.journey(source.place, address, port, protocol, hops=False)
                    answer = asked[key] = (journey.delivered() > 0, journey.agrees)
                tally = tallies[(groups[source.pod], label, port, protocol)]
                tally.cells += 1
                tally.disagree += not answer[1]
                if answer[0]:
                    tally.open += 1
                    tally.sample_open = tally.sample_open or (source.place, address)
                else:
                    tally.sample_closed = tally.sample_closed or (source.place, address)


@dataclass(frozen=True, slots=True)
class Change:
    """One change of reachability between two groups: `opens`, `closes`, `changes` (partly open, or a
    port moved: `port` is then `8080 → 8443`), with why on each side."""

    kind: str
    source: str
    destination: str
    protocol: Protocol
    port: str
    before: str
    after: str
    why_before: tuple[str, ...] = ()
    why_after: tuple[str, ...] = ()


def changes(old: Version, new: Version) -> list[Change]:
    """Every change of reachability between groups that exist in both versions, ports merged where one
    closes and another opens between the same groups and protocol."""
    out: list[Change] = []
    pairs: dict[tuple[str, str, Protocol], list[tuple[int, str, str]]] = defaultdict(list)
    for key in sorted(set(old.tallies) | set(new.tallies), key=_order):
        src, dst, port, protocol = key
        if not all(g in side.pods or g.startswith("outside") for g in (src, dst) for side in (old, new)):
            continue  # a group of one version only: it is added or removed, not a change of reachability
        before = old.tallies[key].state if key in old.tallies else "no such port"
        after = new.tallies[key].state if key in new.tallies else "no such port"
        if before != after:
            pairs[(src, dst, protocol)].append((port, before, after))
    for (src, dst, protocol), moved in pairs.items():
        gone = [m for m in moved if m[1] != "closed" and m[2] in ("closed", "no such port")]
        came = [m for m in moved if m[2] != "closed" and m[1] in ("closed", "no such port")]
        merged: set[int] = set()
        if len(gone) == 1 and len(came) == 1 and gone[0][1] == came[0][2]:
            (port_a, before, _), (port_b, _, after) = gone[0], came[0]
            merged = {port_a, port_b}
            out.append(
                Change("changes", src, dst, protocol, f"{port_a} → {port_b}", before, after,
                       _why(old, (src, dst, port_a, protocol), True), _why(new, (src, dst, port_b, protocol), True))
            )  # fmt: skip
        for port, before, after in moved:
            if port in merged:
                continue
            opened = before in ("closed", "no such port") and after not in ("closed", "no such port")
            closed = after in ("closed", "no such port") and before not in ("closed", "no such port")
            kind = "opens" if opened else "closes" if closed else "changes"
            key = (src, dst, port, protocol)
            out.append(
                Change(kind, src, dst, protocol, str(port), before, after,
                       _why(old, key, kind != "opens"), _why(new, key, kind != "closes"))
            )  # fmt: skip
    whole = _namespaces(old, new)
    out = _by_namespace(_by_namespace(out, whole, "destination"), whole, "source")
    return sorted(out, key=lambda c: (c.destination, c.source, c.protocol.value, c.port))


def _namespaces(old: Version, new: Version) -> dict[str, set[str]]:
    """The groups of each namespace that both versions have (outside clients are no namespace's)."""
    out: dict[str, set[str]] = defaultdict(set)
    for group in set(old.pods) & set(new.pods):
        if "/" in group:
            out[group.split("/", 1)[0]].add(group)
    return out


def _by_namespace(changes: list[Change], whole: dict[str, set[str]], side: str) -> list[Change]:
    """The same change for every group of a namespace (of two groups or more), on one `side`, as one
    change naming the namespace: a policy that opens a namespace to another reads as one line."""
    buckets: dict[tuple[object, ...], tuple[str | None, list[Change]]] = {}
    for c in changes:
        other = c.source if side == "destination" else c.destination
        name = getattr(c, side)
        namespace = name.split("/", 1)[0] if "/" in name and not name.startswith("namespace ") else None
        buckets.setdefault((c.kind, c.protocol, c.port, c.before, c.after, other, namespace), (namespace, []))[
            1
        ].append(c)
    out: list[Change] = []
    for namespace, found in buckets.values():
        names = {getattr(c, side) for c in found}
        members = whole.get(namespace or "", set())
        if namespace is None or len(members) < 2 or names != members:
            out += found
            continue
        first = found[0]
        merged = f"namespace {namespace} (all {len(members)} workloads)"
        out.append(
            Change(first.kind, merged if side == "source" else first.source,
                   merged if side == "destination" else first.destination, first.protocol, first.port,
                   first.before, first.after, first.why_before, first.why_after)
        )  # fmt: skip
    return out


def _order(key: Key) -> tuple[str, str, int, str]:
    return (key[1], key[0], key[2], key[3].value)


def why(side: Version, key: Key) -> tuple[str, ...]:
    """The policy rules that decide `key` in `side` (one pod pair of it, open if any is)."""
    tally = side.tallies.get(key)
    return _why(side, key, tally is not None and tally.open > 0)


def _why(side: Version, key: Key, was_open: bool) -> tuple[str, ...]:
    """The reference's reasons for one pod pair of `key` (open or closed as asked): the policy rules."""
    tally = side.tallies.get(key)
    if tally is None:
        return ()
    sample = tally.sample_open if was_open else tally.sample_closed
    if sample is None:
        return ()
    place, address = sample
    journey = side.net.journey(place, address, key[2], key[3], compiled=False)
    reasons = [r for hop in journey.hops for r in hop.reference.reasons]
    return tuple(dict.fromkeys(r for r in reasons if _about_policy(r)))


def _about_policy(reason: str) -> bool:
    return "NetworkPolicy" in reason or "isolated" in reason


def disagreements(*versions: Version) -> Iterator[tuple[Key, int]]:
    """Keys where the compiled rulesets and the reference differ on some cell (loudly reported)."""
    for side in versions:
        for key, tally in side.tallies.items():
            if tally.disagree:
                yield key, tally.disagree


def added_and_removed(old: Version, new: Version) -> tuple[list[str], list[str], list[tuple[str, int, int]]]:
    """Groups only in the new version, only in the old one, and groups whose number of pods changed."""
    added = sorted(set(new.pods) - set(old.pods))
    removed = sorted(set(old.pods) - set(new.pods))
    resized = sorted((g, old.pods[g], new.pods[g]) for g in set(old.pods) & set(new.pods) if old.pods[g] != new.pods[g])
    return added, removed, resized
