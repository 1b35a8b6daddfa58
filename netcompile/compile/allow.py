"""What the policies selecting a group of pods allow, as the disjoint elements of interval sets.

A policy rule allows boxes: peer addresses (an interval of one family) x a protocol and a port range
(a named port: as the protected pods, or the peer pod, resolve it), or x every port (a rule without
ports). `compile/policies.py` gathers them as `Grant`s; here they become set elements.
nftables refuses elements of one interval set that overlap, so overlapping boxes are cut: ports into
the pieces their ranges make, addresses of one port piece united where they overlap, and where they
touch when the same rules allow both (pods of consecutive addresses become one range: a node's pods
often are; a pod coming or going changes at most three elements), and pieces that then carry the same
addresses and the same rules joined again. Each element's comment names
the rules that allow it (`ns/name ingress[0] from[1]`, several when they overlapped).
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ..model import IPBlock
from ..nft.ir import Element

Interval = tuple[int, int]  # inclusive
ALL_PORTS: Interval = (0, 65535)
_BITS = {4: 32, 6: 128}
_PROTO_ORDER = {"tcp": 0, "udp": 1, "sctp": 2}


@dataclass(frozen=True, slots=True)
class Grant:
    """One box a rule allows: `peer` addresses x `proto` `ports` (every port when `proto` is None)."""

    peer: Interval
    label: str
    proto: str | None = None
    ports: Interval = ALL_PORTS


def grant_kind(grant: Grant) -> str:
    """Which set a grant goes to: `allow` (peer . protocol . port) or `any` (peer)."""
    return "any" if grant.proto is None else "allow"


def everything(version: int) -> Interval:
    return (0, (1 << _BITS[version]) - 1)


def block_intervals(block: IPBlock) -> list[Interval]:
    """An ipBlock's CIDR without its excepts, as disjoint intervals in order."""
    cidr = block.cidr
    low, high = int(cidr.network_address), int(cidr.broadcast_address)
    out: list[Interval] = []
    for hole in sorted((int(e.network_address), int(e.broadcast_address)) for e in block.except_):
        if hole[1] < low or hole[0] > high:
            continue
        if hole[0] > low:
            out.append((low, hole[0] - 1))
        low = max(low, hole[1] + 1)
    if low <= high:
        out.append((low, high))
    return out


def address_text(interval: Interval, version: int) -> str:
    """`10.0.0.1`, `10.0.0.0/8` when the interval is a prefix, else `10.0.0.1-10.0.0.5`."""
    low, high = interval
    make = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    if low == high:
        return str(make(low))
    size = high - low + 1
    if size & (size - 1) == 0 and low % size == 0:
        return f"{make(low)}/{_BITS[version] - size.bit_length() + 1}"
    return f"{make(low)}-{make(high)}"


def _port_text(ports: Interval) -> str:
    return str(ports[0]) if ports[0] == ports[1] else f"{ports[0]}-{ports[1]}"


def _united(items: Iterable[tuple[Interval, str]]) -> list[tuple[Interval, tuple[str, ...]]]:
    """Intervals, those that overlap made one; each with the labels of what it was made of, in order."""
    out: list[tuple[Interval, list[str]]] = []
    for (low, high), label in sorted(items, key=lambda item: item[0]):
        if out and low <= out[-1][0][1]:
            (first, last), labels = out[-1]
            out[-1] = ((first, max(last, high)), labels)
            if label not in labels:
                labels.append(label)
        else:
            out.append(((low, high), [label]))
    joined: list[tuple[Interval, tuple[str, ...]]] = []
    for interval, labels in out:  # then neighbours allowed by the same rules: pods next to each other
        ordered = _ordered(labels)
        if joined and joined[-1][0][1] + 1 == interval[0] and joined[-1][1] == ordered:
            joined[-1] = ((joined[-1][0][0], interval[1]), ordered)
        else:
            joined.append((interval, ordered))
    return joined


def _ordered(labels: list[str]) -> tuple[str, ...]:
    return tuple(sorted(labels))


def _comment(labels: tuple[str, ...]) -> str:
    return ", ".join(labels)


def any_port_elements(grants: Iterable[Grant], version: int) -> list[Element]:
    """`peer` elements: the peers allowed on every port."""
    united = _united((g.peer, g.label) for g in grants if g.proto is None)
    return [Element((address_text(peer, version),), comment=_comment(labels)) for peer, labels in united]


def port_elements(grants: Iterable[Grant], version: int) -> list[Element]:
    """`peer . protocol . ports` elements, disjoint, for the grants with a protocol."""
    by_proto: dict[str, list[Grant]] = defaultdict(list)
    for grant in grants:
        if grant.proto is not None:
            by_proto[grant.proto].append(grant)
    joined: dict[tuple[str, Interval, tuple[str, ...]], list[Interval]] = defaultdict(list)
    for proto, items in by_proto.items():
        cuts = sorted({g.ports[0] for g in items} | {g.ports[1] + 1 for g in items})
        pieces: dict[int, list[tuple[Interval, str]]] = defaultdict(list)  # index of the piece's start
        for grant in items:
            index = bisect_left(cuts, grant.ports[0])
            while cuts[index] <= grant.ports[1]:
                pieces[index].append((grant.peer, grant.label))
                index += 1
        for index in sorted(pieces):
            piece = (cuts[index], cuts[index + 1] - 1)
            for peer, labels in _united(pieces[index]):
                runs = joined[(proto, peer, labels)]
                if runs and runs[-1][1] + 1 == piece[0]:
                    runs[-1] = (runs[-1][0], piece[1])
                else:
                    runs.append(piece)
    out = [(peer, proto, ports, labels) for (proto, peer, labels), runs in joined.items() for ports in runs]
    out.sort(key=lambda e: (e[0], _PROTO_ORDER.get(e[1], 9), e[1], e[2]))
    return [
        Element((address_text(peer, version), proto, _port_text(ports)), comment=_comment(labels))
        for peer, proto, ports, labels in out
    ]
