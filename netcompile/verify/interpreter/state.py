"""The state of one packet as the rules see it, during one deterministic pass through the ruleset.

`numgen random mod N` forks the evaluation: a pass replays a given sequence of choices and records the
size of every choice it made, so the machine can enumerate every sequence (backtracking).
"""

from __future__ import annotations

import ipaddress

from ..packet import Packet, Result, Verdict
from .typed import ifname_value
from .vocabulary import CT_STATES, CT_STATUSES, NEW, PACKET_PROTO, Key

__all__ = ["Run"]


class Run:
    """One deterministic pass of a packet through the ruleset, given the numgen choices to replay."""

    __slots__ = (
        "choices",
        "ct_state",
        "ct_status",
        "dport",
        "dst",
        "dynamic",
        "iif",
        "local",
        "mark",
        "masquerade",
        "nat_hooks",
        "notes",
        "path",
        "pos",
        "proto",
        "sizes",
        "sport",
        "src",
        "version",
    )

    def __init__(self, packet: Packet, local: frozenset[tuple[int, int]], choices: list[int]) -> None:
        self.version = version = packet.dst.version
        if packet.src.version != version:
            raise ValueError(f"packet {packet}: source and destination of different IP versions")
        self.src = int(packet.src)
        self.dst = int(packet.dst)
        self.proto = PACKET_PROTO[packet.protocol]
        self.sport = packet.sport
        self.dport = packet.dport
        self.iif = ifname_value(packet.iif)  # `iifname`: "" (all NULs) for the node's own packets
        if packet.ct_state not in ("new", "established", "related"):
            raise ValueError(f"packet {packet}: unknown ct_state {packet.ct_state!r}")
        self.ct_state = CT_STATES[packet.ct_state]
        self.ct_status = 0 if self.ct_state == NEW else CT_STATUSES["confirmed"] | CT_STATUSES["seen-reply"]
        self.mark = 0
        self.masquerade = False
        self.local = local
        self.choices = choices
        self.sizes: list[int] = []
        self.pos = 0
        self.dynamic: dict[int, set[Key]] = {}
        self.path: list[str] = []
        self.notes: list[str] = []
        self.nat_hooks: set[str] = set()

    def choose(self, n: int) -> int:
        pos = self.pos
        self.pos += 1
        self.sizes.append(n)
        if pos < len(self.choices):
            return self.choices[pos]
        self.choices.append(0)
        return 0

    def dst_is_local(self) -> bool:
        return (self.version, self.dst) in self.local

    def result(self) -> Result:
        dst = ipaddress.IPv4Address(self.dst) if self.version == 4 else ipaddress.IPv6Address(self.dst)
        return Result(Verdict.DELIVERED, dst, self.dport, self.masquerade)
