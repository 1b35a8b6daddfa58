"""The ports of a NetworkPolicy rule: numeric ports and ranges as one anonymous-set match, named ports
listed for the per-pod sets that resolve them (`policies.py`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from ..model import PolicyPort, Protocol
from ..nft.statements import DPORT, L4PROTO, AnonSet, Concat, Integer, Match, Range, Symbol

PROTOCOL_ORDER = (Protocol.TCP, Protocol.UDP, Protocol.SCTP)
ALL_PORTS = (0, 65535)


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping, non-adjacent inclusive ranges (nftables refuses overlapping elements)."""
    out: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if out and low <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return out


def numeric_port_match(ports: Sequence[PolicyPort]) -> Match | None:
    """`meta l4proto . th dport { tcp . 80, udp . 53-60 }` for the numeric (and port-less) entries."""
    by_proto: dict[Protocol, list[tuple[int, int]]] = defaultdict(list)
    for p in ports:
        if isinstance(p.port, str):
            continue
        if p.port is None:
            by_proto[p.protocol].append(ALL_PORTS)
        else:
            by_proto[p.protocol].append((p.port, p.end_port if p.end_port is not None else p.port))
    elements: list[Concat] = []
    for proto in PROTOCOL_ORDER:
        for low, high in merge_ranges(by_proto.get(proto, ())):
            port = Integer(low) if high == low else Range(low, high)
            elements.append(Concat((Symbol(proto.value.lower()), port)))
    if not elements:
        return None
    return Match(Concat((L4PROTO, DPORT)), AnonSet(tuple(elements)))


def named_ports(ports: Sequence[PolicyPort]) -> tuple[tuple[Protocol, str], ...]:
    """The named entries of a rule's ports, deduplicated and sorted."""
    return tuple(sorted({(p.protocol, p.port) for p in ports if isinstance(p.port, str)}))


def port_names(names: Sequence[tuple[Protocol, str]]) -> str:
    """`http, dns/UDP` for comments (TCP, the default, is not written)."""
    return ", ".join(name if proto == Protocol.TCP else f"{name}/{proto.value}" for proto, name in names)
