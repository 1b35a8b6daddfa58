"""ipsets as lookup structures, matched as the kernel's set types match (ipset(8), net/netfilter/ipset).

An element is one key per dimension: an address with a prefix length ("ip" and "net" dimensions), a
protocol and port ("port": `tcp:80`), or a bare port (bitmap:port). Elements are grouped by their
prefix lengths; a lookup masks the packet's fields with each group's prefixes, most specific first (the
hash:net types search their CIDR sizes from the longest), and the first element found decides: an
element added `nomatch` makes the packet not match. Ranges (`tcp:80-90`, `10.0.0.1-10.0.0.9`) are added
as the kernel adds them: one element per port, the smallest covering prefixes per address range, each
counting against `maxelem`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["IpSet", "Member", "port_key"]


@dataclass(frozen=True, slots=True)
class Member:
    nomatch: bool
    comment: str | None


def port_key(proto: int, port: int) -> int:
    """A "port" dimension's value: the protocol and the port in one integer."""
    return (proto << 16) | port


@dataclass(slots=True)
class IpSet:
    """One ipset: its type's dimensions, its family (0 for bitmap:port, which serves both) and elements."""

    name: str
    type: str
    dims: tuple[str, ...]  # "ip", "net", "port", "bport" (vocabulary.SET_TYPES)
    family: int
    line: int
    maxelem: int
    comments: bool  # created with `comment`: elements may carry one
    timeouts: bool  # created with `timeout N`: elements may carry their own
    counters: bool
    port_range: tuple[int, int] | None = None  # bitmap:port's `range A-B`
    count: int = 0
    groups: dict[tuple[int, ...], dict[tuple[int, ...], Member]] = field(default_factory=dict)
    order: list[tuple[int, ...]] = field(default_factory=list)  # group prefixes, most specific first

    @property
    def bits(self) -> int:
        return 128 if self.family == 6 else 32

    def add(self, prefixes: tuple[int, ...], key: tuple[int, ...], member: Member) -> bool:
        """Add one element (address dimensions already masked); False when it is there already."""
        group = self.groups.get(prefixes)
        if group is None:
            group = self.groups[prefixes] = {}
            self.order.append(prefixes)
            self.order.sort(reverse=True)
        if key in group:
            return False
        group[key] = member
        self.count += 1
        return True

    def test(self, values: tuple[int, ...]) -> Member | None:
        """The element deciding for a packet whose fields (one per dimension) are `values`, or None."""
        bits = self.bits
        for prefixes in self.order:
            key = tuple(
                value if prefix < 0 else (value >> (bits - prefix) << (bits - prefix) if prefix else 0)
                for value, prefix in zip(values, prefixes, strict=True)
            )
            member = self.groups[prefixes].get(key)
            if member is not None:
                return None if member.nomatch else member
        return None
