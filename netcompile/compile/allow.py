"""What the policies selecting a group of pods allow, as the disjoint elements of interval sets.

A policy rule allows boxes: peer addresses (an interval of one family) x a protocol and a port range
(a named port: as the protected pods, or the peer pod, resolve it), or x every port (a rule without
ports). `compile/policies.py` gathers them as `Grant`s (the boxes of one peer of a rule and one port
range: its addresses x the ports); here they become set elements.
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
from functools import lru_cache

from ..model import IPBlock
from ..nft.ir import Element
from ..values import Frozen, set_field

Interval = tuple[int, int]  # inclusive
ALL_PORTS: Interval = (0, 65535)
_BITS = {4: 32, 6: 128}
_PROTO_ORDER = {"tcp": 0, "udp": 1, "sctp": 2}


@dataclass(init=False, slots=True, eq=False, repr=False)
class Grant(Frozen):
    """Boxes a rule allows: each of `peers` (addresses, never none) x `proto` `ports` (every port when
    `proto` is None)."""

    peers: tuple[Interval, ...]
    label: str
    proto: str | None = None
    ports: Interval = ALL_PORTS

    def __init__(
        self, peers: tuple[Interval, ...], label: str, proto: str | None = None, ports: Interval = ALL_PORTS
    ) -> None:
        set_field(self, "peers", peers)
        set_field(self, "label", label)
        set_field(self, "proto", proto)
        set_field(self, "ports", ports)


def grant_kind(grant: Grant) -> str:
    """Which set a grant goes to: `allow` (peer . protocol . port) or `any` (peer)."""
    return "any" if grant.proto is None else "allow"


def everything(version: int) -> Interval:
    return (0, (1 << _BITS[version]) - 1)


def block_intervals(block: IPBlock) -> tuple[Interval, ...]:
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
    return tuple(out)


@lru_cache(maxsize=1 << 16)  # a pod's address is an element of many sets
def address_text(interval: Interval, version: int) -> str:
    """`10.0.0.1`, `10.0.0.0/8` when the interval is a prefix, else `10.0.0.1-10.0.0.5`."""
    low, high = interval
    text = ipv4_text if version == 4 else _ipv6_text
    if low == high:
        return text(low)
    size = high - low + 1
    if size & (size - 1) == 0 and low % size == 0:
        return f"{text(low)}/{_BITS[version] - size.bit_length() + 1}"
    return f"{text(low)}-{text(high)}"


_OCTETS = [str(octet) for octet in range(256)]


def ipv4_text(number: int) -> str:
    """`str(ipaddress.IPv4Address(number))` (dotted decimal) of a number in 0 .. 2**32 - 1, without making the
    address object (tests/test_compile_shortcuts.py holds the two to the same text)."""
    if not 0 <= number <= 0xFFFFFFFF:
        raise ValueError(f"not an IPv4 address: {number}")
    octets = _OCTETS
    return f"{octets[number >> 24]}.{octets[number >> 16 & 255]}.{octets[number >> 8 & 255]}.{octets[number & 255]}"


def _ipv6_text(number: int) -> str:
    return str(ipaddress.IPv6Address(number))


@lru_cache(maxsize=1 << 12)  # a few ranges, in many elements
def _port_text(ports: Interval) -> str:
    return str(ports[0]) if ports[0] == ports[1] else f"{ports[0]}-{ports[1]}"


def _united(items: list[tuple[Interval, str]]) -> list[tuple[Interval, tuple[str, ...]]]:
    """Intervals, those that overlap made one; each with the labels of what it was made of, in order."""
    merged: list[tuple[Interval, tuple[str, ...]]] = []
    low = high = -2  # the interval being made (none yet: before every address), and its labels
    labels: list[str] = []
    for (start, end), label in sorted(items):
        if start <= high:
            if end > high:
                high = end
            if label not in labels:
                labels.append(label)
        else:
            if labels:
                merged.append(((low, high), tuple(sorted(labels))))
            low, high, labels = start, end, [label]
    if labels:
        merged.append(((low, high), tuple(sorted(labels))))
    joined = merged[:1]  # then neighbours allowed by the same rules: pods next to each other
    for interval, ordered in merged[1:]:
        last, rules = joined[-1]
        if last[1] + 1 == interval[0] and rules == ordered:
            joined[-1] = ((last[0], interval[1]), ordered)
        else:
            joined.append((interval, ordered))
    return joined


Part = tuple[tuple[Interval, ...], str]  # a grant's peers, and its label


def united_parts(parts: list[Part]) -> list[tuple[Interval, tuple[str, ...]]]:
    """`_united` of each peer of `parts` with its part's label. Grants of one set of peers and ports mostly
    have the same peers, in order and disjoint (a selector's pods, an ipBlock's pieces: as `Peers.intervals`
    gives them): then they are its elements at once, each named by every label, neighbours joined."""
    first = parts[0][0] if parts else ()
    if all(peers == first for peers, _ in parts):
        joined: list[Interval] = []
        last = -2  # the end of the last interval (none yet: before every address)
        for low, high in first:
            if low <= last:  # not in order, or overlapping: the general way
                break
            if low == last + 1:
                joined[-1] = (joined[-1][0], high)
            else:
                joined.append((low, high))
            last = high
        else:
            labels = tuple(sorted({label for _, label in parts}))
            return [(interval, labels) for interval in joined]
    return _united([(peer, label) for peers, label in parts for peer in peers])


def _comment(labels: tuple[str, ...], made: dict[tuple[str, ...], str]) -> str:
    """An element's comment: the labels of the rules that allow it. The elements of a set mostly share one
    set of labels: `made` keeps the text of each, so that they share one string (hashed once, rendered)."""
    text = made.get(labels)
    if text is None:
        text = made[labels] = ", ".join(labels)
    return text


def any_port_elements(grants: Iterable[Grant], version: int) -> list[Element]:
    """`peer` elements: the peers allowed on every port."""
    united = united_parts([(g.peers, g.label) for g in grants if g.proto is None])
    made: dict[tuple[str, ...], str] = {}
    return [Element((address_text(peer, version),), None, _comment(labels, made)) for peer, labels in united]


def port_elements(grants: Iterable[Grant], version: int) -> list[Element]:
    """`peer . protocol . ports` elements, disjoint, for the grants with a protocol."""
    boxes: dict[str, dict[Interval, list[Part]]] = {}  # protocol -> ports -> the grants' peers, labels
    for grant in grants:
        if grant.proto is not None:
            boxes.setdefault(grant.proto, {}).setdefault(grant.ports, []).append((grant.peers, grant.label))
    # peer, the protocol's rank and name, ports, labels
    out: list[tuple[Interval, int, str, Interval, tuple[str, ...]]] = []
    joined: dict[tuple[str, Interval, tuple[str, ...]], list[Interval]] = defaultdict(list)
    for proto, by_ports in boxes.items():
        if len(by_ports) == 1:  # one port range: one piece, nothing to cut or join again
            [(ports, peers)] = by_ports.items()
            rank = _PROTO_ORDER.get(proto, 9)
            out += [(peer, rank, proto, ports, labels) for peer, labels in united_parts(peers)]
            continue
        cuts = sorted({p[0] for p in by_ports} | {p[1] + 1 for p in by_ports})
        pieces: dict[int, list[Part]] = defaultdict(list)  # index of the piece's start
        for ports, peers in by_ports.items():
            index = bisect_left(cuts, ports[0])
            while cuts[index] <= ports[1]:
                pieces[index] += peers
                index += 1
        for index in sorted(pieces):
            piece = (cuts[index], cuts[index + 1] - 1)
            for peer, labels in united_parts(pieces[index]):
                runs = joined[(proto, peer, labels)]
                if runs and runs[-1][1] + 1 == piece[0]:
                    runs[-1] = (runs[-1][0], piece[1])
                else:
                    runs.append(piece)
    out += [
        (peer, _PROTO_ORDER.get(proto, 9), proto, ports, labels)
        for (proto, peer, labels), runs in joined.items()
        for ports in runs
    ]
    out.sort()  # by peer, protocol and ports (never equal for two elements: the labels are not compared)
    made: dict[tuple[str, ...], str] = {}
    return [
        Element((address_text(peer, version), proto, _port_text(ports)), None, _comment(labels, made))
        for peer, _, proto, ports, labels in out
    ]
