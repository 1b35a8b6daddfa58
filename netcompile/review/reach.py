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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from ipaddress import IPv6Address, ip_address
from operator import itemgetter
from typing import Any

from ..analysis import ClassMatrix, matrix_pods
from ..journeys import Ask, Network, Place
from ..model import IPAddress, IPNetwork, Pod, Protocol
from ..targets import Workloads
from .tallies import Key, PodPairs, Tally, profiles

__all__ = ["Change", "Key", "Tally", "Version", "changes", "disagreements", "version", "why"]


class Version:
    """One version's matrix by groups: the tallies of outside clients and of pods to outside addresses
    (`outside`: a key per pod group, outside client and port at most), and between groups of pods, worked
    out per key when asked (`pairs`, tallies.py)."""

    def __init__(self, net: Network, pairs: PodPairs, pods: dict[str, int], outside: dict[Key, Tally]) -> None:
        self.net = net
        self.pairs = pairs
        self.pods = pods  # group -> pods in it
        self.outside = outside
        self._asked: dict[Key, Tally | None] = {}

    def tally(self, key: Key) -> Tally | None:
        """The tally of `key` (None: the version has no such key: no cell of it is evaluated)."""
        found = self.outside.get(key)
        if found is not None:
            return found
        if key not in self._asked:
            src, dst, port, protocol = key
            inside = src in self.pairs.members and dst in self.pairs.members
            self._asked[key] = self.pairs.tally(src, dst, port, protocol) if inside else None
        return self._asked[key]

    @cached_property
    def tallies(self) -> dict[Key, Tally]:
        """Every key's tally: one per pair of groups and port (the pictures draw them all)."""
        out = dict(self.outside)
        for src in self.pairs.members:
            for dst in self.pairs.members:
                for port, protocol in sorted(self.pairs.ports(dst), key=lambda p: (p[1].value, p[0])):
                    found = self.tally((src, dst, port, protocol))
                    if found is not None:
                        out[(src, dst, port, protocol)] = found
        return out


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
    shown: tuple[ClassMatrix, Sequence[str]] | None = None,
) -> Version:
    """The matrix of `net` by groups and ports (declared container ports), outside clients included; and
    each group's pods' connections to the `outside` addresses on `ports` (one journey per class of pods).
    A group is a workload or a pod no controller owns (names that stay from version to version, as `diff`
    compares them), unless `shown` gives the matrix already made and each of its pods' group (`matrix`'s
    picture: its rows, classes of pods labelled by workload, as its text has them)."""
    if shown is None:
        pods, _ = matrix_pods(net)
        matrix = ClassMatrix(net, pods, externals, wanted)
        workloads = Workloads(net.objects)
        groups = [group_of(workloads, pod) for pod in pods]
    else:
        matrix, named = shown
        pods, groups = matrix.pods, list(named)
    counts: dict[str, int] = {}
    for name in groups:
        counts[name] = counts.get(name, 0) + 1
    tallies: dict[Key, Tally] = defaultdict(Tally)
    _to_outside(matrix, groups, outside, ports, tallies)
    # outside clients' rows: every cell planned, their journeys made at once, then summed
    targets = [(dst, port, protocol) for dst in range(len(pods)) for port, protocol in matrix.ports(dst)]
    rows = [(source, matrix.plan(source, targets)) for source in matrix.sources[len(pods) :]]
    for source, planned in rows:
        src = f"outside {source.place.address}"
        for (dst, port, protocol), cell in zip(
            targets, matrix.cells(source, targets, planned, exact=False), strict=True
        ):
            if cell.evaluated:
                address = matrix.destination(dst, source)
                assert address is not None  # an evaluated cell has a destination address
                tallies[(src, groups[dst], port, protocol)].add(
                    1, cell.delivered > 0, cell.agrees, (source.place, address)
                )
    return Version(net, PodPairs(matrix, groups), counts, dict(tallies))


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
    (`Keys.source_role`). Pods at special addresses are asked one by one. The journeys are made at once
    (`Network.journeys`: the interpreter's side in the helper process, when one runs)."""
    keys, net = matrix.keys, matrix.net
    nobody = {a for a, _ in outside if a not in matrix.facts.special and net.pod_by_address(a) is None}
    numbers: dict[tuple[int | str, IPAddress, int, Protocol], int] = {}  # a journey per role, numbered
    asks: list[Ask] = []
    cells: list[tuple[Key, int, tuple[Place, IPAddress]]] = []
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
                number = numbers.setdefault((role, address, port, protocol), len(asks))
                if number == len(asks):
                    asks.append((source.place, address, port, protocol))
                cells.append(((groups[source.pod], label, port, protocol), number, (source.place, address)))
    answers = [(journey.delivered() > 0, journey.agrees) for journey in net.journeys(asks)]
    for key, number, sample in cells:
        tallies[key].add(1, *answers[number], sample)


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


def _state(side: Version, key: Key) -> str:
    found = side.outside.get(key)
    if found is not None:
        return found.state
    src, dst, port, protocol = key
    if src in side.pairs.members and dst in side.pairs.members:
        return side.pairs.state(src, dst, port, protocol)
    return "no such port"


def changed_keys(old: Version, new: Version) -> Iterator[tuple[Key, str, str]]:
    """Every key between groups that both versions have whose state differs: (key, before, after).

    Between groups of pods, by pairs of *joint profiles* (a group's profile in each version, tallies.py):
    two pairs of groups with the same joint profiles have the same tallies in both versions, so one pair
    is asked and, if it changed, every pair of those profiles has; a group with itself is asked apart."""
    both = set(old.pods) & set(new.pods)
    for key in sorted(old.outside.keys() | new.outside.keys(), key=_order):
        if all(g in both or g.startswith("outside") for g in key[:2]):
            before, after = _state(old, key), _state(new, key)
            if before != after:
                yield key, before, after
    common = [g for g in old.pairs.members if g in both]
    joint: dict[tuple[Any, ...], list[str]] = {}
    for group in common:
        joint.setdefault((old.pairs.profile(group), new.pairs.profile(group)), []).append(group)
    buckets = list(joint.values())
    # Groups of one class each, in both versions (replicas of a workload, bare pods): a pair of them is
    # open, closed or has no such port as its classes' cell (tallies.py `code`). For such a source, its
    # state bits to every such destination's ports are picked from its class's row in each version at
    # once (one tuple each, compared whole); only the ports that differ are asked as keys.
    quick = [j for j, b in enumerate(buckets) if old.pairs.single(b[0]) and new.pairs.single(b[0])]
    flat: list[tuple[int, int, Protocol, int | None, int | None]] = []
    for j in quick:
        flat += [(j, *column) for column in _columns(old, new, buckets[j][0]) or ()]
    pick_old = _picker([at_old if at_old is not None else -1 for *_, at_old, _ in flat])
    pick_new = _picker([at_new if at_new is not None else -1 for *_, at_new in flat])
    for i in quick:
        sources = buckets[i]
        old_seen, new_seen = old.pairs.seen(sources[0]), new.pairs.seen(sources[0])
        assert old_seen is not None and new_seen is not None  # groups of one class
        before_bits, after_bits = pick_old(old_seen), pick_new(new_seen)
        if before_bits == after_bits:
            continue
        for k in (k for k, (b, a) in enumerate(zip(before_bits, after_bits, strict=True)) if b != a):
            j, port, protocol, _, _ = flat[k]
            for first, pairs in _pairs_of(sources, buckets[j]):
                if first[0] != first[1]:  # (a group with itself: below)
                    yield from _compared(old, new, first, pairs, port, protocol)
    fast = set(quick)
    slow = [j for j in range(len(buckets)) if j not in fast]
    for i, sources in enumerate(buckets):
        for j in slow if i in fast else range(len(buckets)):
            destinations = buckets[j]
            ports = sorted(old.pairs.ports(destinations[0]) | new.pairs.ports(destinations[0]))
            for first, pairs in _pairs_of(sources, destinations):
                if first[0] != first[1]:  # (a group with itself: below)
                    for port, protocol in ports:
                        yield from _compared(old, new, first, pairs, port, protocol)
        ports = sorted(old.pairs.ports(sources[0]) | new.pairs.ports(sources[0]))
        for port, protocol in ports:  # each group with itself: one tally per bucket
            yield from _compared(old, new, (sources[0], sources[0]), _itself(sources), port, protocol)


def _itself(groups: list[str]) -> Callable[[], Iterator[tuple[str, str]]]:
    return lambda: ((g, g) for g in groups)


def _compared(
    old: Version,
    new: Version,
    first: tuple[str, str],
    pairs: Callable[[], Iterator[tuple[str, str]]],
    port: int,
    protocol: Protocol,
) -> Iterator[tuple[Key, str, str]]:
    """Every pair of `pairs` on the port, with both states, if the first pair's states differ."""
    key = (*first, port, protocol)
    before, after = _state(old, key), _state(new, key)
    if before != after:
        yield from (((a, b, port, protocol), before, after) for a, b in pairs())


def _picker(positions: list[int]) -> Callable[[list[int]], tuple[int, ...]]:
    """A function giving a list's items at `positions`, as a tuple (operator.itemgetter, in C)."""
    if len(positions) == 1:
        only = positions[0]
        return lambda row: (row[only],)
    if not positions:
        return lambda row: ()
    return itemgetter(*positions)


def _columns(old: Version, new: Version, group: str) -> list[tuple[int, Protocol, int | None, int | None]] | None:
    """A destination group's ports, each with where its cell is in a class's row of codes in each version
    (None: no such port there); None when the group is not of one class in both versions."""
    at_old, at_new = old.pairs.columns(group), new.pairs.columns(group)
    if at_old is None or at_new is None:
        return None
    return [
        (port, protocol, at_old.get((port, protocol)), at_new.get((port, protocol)))
        for port, protocol in sorted(at_old.keys() | at_new.keys())
    ]


def changes(old: Version, new: Version) -> list[Change]:
    """Every change of reachability between groups that exist in both versions, ports merged where one
    closes and another opens between the same groups and protocol."""
    out: list[Change] = []
    pairs: dict[tuple[str, str, Protocol], list[tuple[int, str, str]]] = defaultdict(list)
    for key, before, after in sorted(changed_keys(old, new), key=lambda k: _order(k[0])):
        src, dst, port, protocol = key
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
    tally = side.tally(key)
    return _why(side, key, tally is not None and tally.open > 0)


def _why(side: Version, key: Key, was_open: bool) -> tuple[str, ...]:
    """The reference's reasons for one pod pair of `key` (open or closed as asked): the policy rules."""
    tally = side.tally(key)
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
    """Keys where the compiled rulesets and the reference differ on some cell (loudly reported), version by
    version in key order. Between groups of pods, by pairs of profiles (tallies.py): every pair of two
    groups of two profiles has the same tally, and so has every group of one profile with itself."""
    for side in versions:
        found = [(key, tally.disagree) for key, tally in side.outside.items() if tally.disagree]
        if not side.pairs.disagreeing():
            yield from sorted(found, key=lambda f: _order(f[0]))
            continue  # no journey between pods disagrees: no tally between groups of pods does
        buckets = list(profiles(side.pairs, list(side.pairs.members)).values())
        for sources in buckets:
            for destinations in buckets:
                for port, protocol in side.pairs.ports(destinations[0]):
                    for first, pairs in _pairs_of(sources, destinations):
                        _, _, disagree = side.pairs.counts(*first, port, protocol)
                        if disagree:
                            found += [((a, b, port, protocol), disagree) for a, b in pairs()]
        yield from sorted(found, key=lambda f: _order(f[0]))


def _pairs_of(
    sources: list[str], destinations: list[str]
) -> Iterator[tuple[tuple[str, str], Callable[[], Iterator[tuple[str, str]]]]]:
    """The pairs of groups of two buckets of one profile each that have one tally, as their first pair and
    all of them (when asked): the pairs of two groups, then (the same bucket) each group with itself."""
    if sources is not destinations or len(sources) > 1:
        first = (sources[0], destinations[1] if destinations[0] == sources[0] else destinations[0])
        yield first, lambda: ((a, b) for a in sources for b in destinations if a != b)
    if sources is destinations:
        yield (sources[0], sources[0]), lambda: ((a, a) for a in sources)


def added_and_removed(old: Version, new: Version) -> tuple[list[str], list[str], list[tuple[str, int, int]]]:
    """Groups only in the new version, only in the old one, and groups whose number of pods changed."""
    added = sorted(set(new.pods) - set(old.pods))
    removed = sorted(set(old.pods) - set(new.pods))
    resized = sorted((g, old.pods[g], new.pods[g]) for g in set(old.pods) & set(new.pods) if old.pods[g] != new.pods[g])
    return added, removed, resized
