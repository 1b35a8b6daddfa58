"""The ports of a NetworkPolicy rule: numeric ports and ranges merged per protocol, named ports listed
for `policies.py` to resolve on each pod."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache

from ..model import PolicyPort, Protocol

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


@lru_cache(maxsize=1 << 10)  # policies repeat their ports
def numeric_spans(ports: tuple[PolicyPort, ...]) -> tuple[tuple[str, tuple[int, int]], ...]:
    """The numeric (and port-less) entries as `(protocol, (low, high))`, merged per protocol, in order."""
    by_proto: dict[Protocol, list[tuple[int, int]]] = defaultdict(list)
    for p in ports:
        if isinstance(p.port, str):
            continue
        if p.port is None:
            by_proto[p.protocol].append(ALL_PORTS)
        else:
            by_proto[p.protocol].append((p.port, p.end_port if p.end_port is not None else p.port))
    return tuple(
        (proto.value.lower(), span) for proto in PROTOCOL_ORDER for span in merge_ranges(by_proto.get(proto, ()))
    )


@lru_cache(maxsize=1 << 10)
def named_ports(ports: tuple[PolicyPort, ...]) -> tuple[tuple[Protocol, str], ...]:
    """The named entries of a rule's ports, deduplicated and sorted."""
    return tuple(sorted({(p.protocol, p.port) for p in ports if isinstance(p.port, str)}))
