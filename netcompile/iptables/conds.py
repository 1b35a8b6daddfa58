"""The conditions of one iptables rule: the slots iptables allows once (`-s`, `-d`, `-i`, `-p`, a port
match) and the other matches in order. A rule's nftables matches may need several iptables rules (an
anonymous set of protocols and ports, a set lowered one element per rule): those are alternatives, and
each is one `Conds`. Alternatives come from set elements or protocols, which never overlap, so at most
one of them matches a packet.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from functools import lru_cache

from .model import UnsupportedIR

IPNet = ipaddress.IPv4Network | ipaddress.IPv6Network
MULTIPORT_MAX = 15  # xt_multiport: 15 ports, a range counts twice
PORT_PROTOCOLS = ("tcp", "udp", "sctp")


@dataclass(frozen=True, slots=True)
class Conds:
    src: tuple[bool, str] | None = None  # (negated, CIDR)
    dst: tuple[bool, str] | None = None
    iface: tuple[bool, str] | None = None
    proto: tuple[bool, str] | None = None
    ports: tuple[str, ...] | None = None  # destination ports ("80", "1000:2000"); needs a positive proto
    extra: tuple[str, ...] = ()

    def address(self, field: str, negated: bool, prefix: str) -> Conds | None:
        """`-s` / `-d` of a prefix (`10.0.0.1/32`); None when it contradicts a positive one already there."""
        value = (negated, prefix)
        old = self.src if field == "saddr" else self.dst
        if old is None:
            if field == "saddr":
                return Conds(value, self.dst, self.iface, self.proto, self.ports, self.extra)
            return Conds(self.src, value, self.iface, self.proto, self.ports, self.extra)
        if old == value:
            return self
        if not old[0] and not negated:
            mine, net = ipaddress.ip_network(old[1]), ipaddress.ip_network(prefix)
            if mine.version != net.version or not mine.overlaps(net):
                return None  # a packet's address is in neither both
            if mine.subnet_of(net):  # type: ignore[arg-type]  # same version
                return self
            if net.subnet_of(mine):  # type: ignore[arg-type]
                return replace(self, src=value) if field == "saddr" else replace(self, dst=value)
        raise UnsupportedIR(f"two matches of {field} in one rule: {old} and {value}")

    def protocol(self, negated: bool, name: str) -> Conds | None:
        value = (negated, name)
        if self.proto is None:
            return Conds(self.src, self.dst, self.iface, value, self.ports, self.extra)
        if self.proto == value:
            return self
        if not self.proto[0] and not negated:
            return None  # tcp and udp at once
        if not self.proto[0] and negated:
            return None if self.proto[1] == name else self
        raise UnsupportedIR(f"protocol matches {self.proto} and {value} in one rule")

    def port_list(self, ports: tuple[str, ...]) -> Conds:
        if self.proto is None or self.proto[0] or self.proto[1] not in PORT_PROTOCOLS:
            raise UnsupportedIR(f"a port match without tcp, udp or sctp: {ports}")
        if self.ports is not None and self.ports != ports:
            raise UnsupportedIR(f"two port matches in one rule: {self.ports} and {ports}")
        return Conds(self.src, self.dst, self.iface, self.proto, ports, self.extra)

    def interface(self, negated: bool, name: str) -> Conds:
        if self.iface is not None and self.iface != (negated, name):
            raise UnsupportedIR(f"two interface matches in one rule: {self.iface} and {name}")
        return Conds(self.src, self.dst, (negated, name), self.proto, self.ports, self.extra)

    def more(self, *items: str) -> Conds:
        return Conds(self.src, self.dst, self.iface, self.proto, self.ports, self.extra + items)

    @property
    def tokens(self) -> tuple[str, ...]:
        out: list[str] = []
        for flag, slot in (("-s", self.src), ("-d", self.dst), ("-i", self.iface), ("-p", self.proto)):
            if slot is not None:
                out += ["!", flag, slot[1]] if slot[0] else [flag, slot[1]]
        if self.ports is not None and self.proto is not None:
            if len(self.ports) == 1:
                out += ["-m", self.proto[1], "--dport", self.ports[0]]
            else:
                out += ["-m", "multiport", "--dports", ",".join(self.ports)]
        return (*out, *self.extra)


def port_text(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}:{high}"


def port_chunks(spans: list[tuple[int, int]]) -> list[tuple[str, ...]]:
    """Port spans as `--dport`/`--dports` lists that xt_multiport takes (15 slots, a range takes 2);
    an empty list for every port (0-65535: no port match at all)."""
    if any(low <= 0 and high >= 65535 for low, high in spans):
        return []
    chunks: list[tuple[str, ...]] = []
    current: list[str] = []
    used = 0
    for low, high in spans:
        cost = 1 if low == high else 2
        if used + cost > MULTIPORT_MAX:
            chunks.append(tuple(current))
            current, used = [], 0
        current.append(port_text(low, high))
        used += cost
    if current:
        chunks.append(tuple(current))
    return chunks


def address_nets(atom: str) -> tuple[str, ...]:
    """An address, a prefix or a range `a-b` of a set element as prefixes (`10.0.0.1/32`; never /0: a
    family is two /1). The compiler writes addresses as `ipaddress` does, so a plain one is taken as it is."""
    if "/" not in atom and "-" not in atom:
        return (f"{atom}/128" if ":" in atom else f"{atom}/32",)
    return _prefixes(atom)


@lru_cache(maxsize=4096)
def _prefixes(atom: str) -> tuple[str, ...]:
    if "-" in atom:
        low_text, high_text = atom.split("-", 1)
        low, high = ipaddress.ip_address(low_text), ipaddress.ip_address(high_text)
        nets: list[IPNet] = list(ipaddress.summarize_address_range(low, high))
    else:
        nets = [ipaddress.ip_network(atom, strict=False)]
    out: list[str] = []
    for net in nets:
        out.extend(str(n) for n in (net.subnets(1) if net.prefixlen == 0 else (net,)))
    return tuple(out)


def is_host(prefix: str) -> bool:
    """A prefix of one address: /128 in IPv6, /32 in IPv4 (an IPv6 /32 is not one)."""
    return prefix.endswith("/128") if ":" in prefix else prefix.endswith("/32")


def port_span(atom: str) -> tuple[int, int]:
    low, _, high = atom.partition("-")
    return int(low), int(high or low)
