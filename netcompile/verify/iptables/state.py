"""The state of one packet as the rules see it, during one deterministic pass through the tables.

`-m statistic --mode random` forks the evaluation: a pass replays a given sequence of choices and records
the options of every choice it made (only those with a non-zero probability), so the machine can
enumerate every sequence, each with its exact probability (the product of its choices' probabilities).
"""

from __future__ import annotations

import ipaddress
from fractions import Fraction

from ..packet import Origin, Packet, Result, Verdict
from .vocabulary import CT_STATES, CT_STATUSES, PACKET_CT_STATE, PACKET_PROTO

__all__ = ["Run"]


class Run:
    """One deterministic pass of a packet, given the statistic choices to replay."""

    __slots__ = (
        "choices",
        "ct_state",
        "ct_status",
        "dnat",
        "dport",
        "dst",
        "iif",
        "local",
        "mark",
        "masquerade",
        "new",
        "notes",
        "path",
        "pos",
        "probability",
        "proto",
        "recent",
        "sizes",
        "snat",
        "sport",
        "src",
        "version",
    )

    def __init__(self, packet: Packet, local: frozenset[tuple[int, int]], choices: list[int]) -> None:
        if packet.src.version != packet.dst.version:
            raise ValueError(f"packet {packet}: source and destination of different IP versions")
        if packet.ct_state not in PACKET_CT_STATE:
            raise ValueError(f"packet {packet}: unknown ct_state {packet.ct_state!r}")
        self.version = packet.dst.version
        self.src = int(packet.src)
        self.dst = int(packet.dst)
        self.proto = PACKET_PROTO[packet.protocol]
        self.sport = packet.sport
        # the input interface (`-i`): "" for the node's own packets, which have none
        self.iif: str = "" if packet.origin == Origin.NODE else packet.iif
        self.dport = packet.dport
        self.new = packet.ct_state == "new"
        self.ct_state = CT_STATES[PACKET_CT_STATE[packet.ct_state]]
        # the nftables interpreter's model: a later packet of a connection is confirmed and has seen a reply
        self.ct_status = 0 if self.new else CT_STATUSES["CONFIRMED"] | CT_STATUSES["SEEN_REPLY"]
        self.dnat = self.snat = False
        self.mark = 0
        self.masquerade = False
        self.local = local
        self.choices = choices
        self.sizes: list[int] = []
        self.pos = 0
        self.probability = Fraction(1)
        self.recent: dict[str, set[tuple[int, int]]] = {}
        self.path: list[str] = []
        self.notes: list[str] = []

    def choose(self, weights: tuple[Fraction, ...]) -> int:
        """The index of the option taken at this choice point (options of probability 0 never are)."""
        options = [i for i, w in enumerate(weights) if w]
        pos = self.pos
        self.pos += 1
        self.sizes.append(len(options))
        if pos < len(self.choices):
            index = options[self.choices[pos]]
        else:
            self.choices.append(0)
            index = options[0]
        self.probability *= weights[index]
        return index

    def state_bits(self) -> int:
        """--ctstate's view: the connection's state, and the virtual SNAT/DNAT states once NAT is set up."""
        bits = self.ct_state
        if self.snat:
            bits |= CT_STATES["SNAT"]
        if self.dnat:
            bits |= CT_STATES["DNAT"]
        return bits

    def is_local(self, address: int) -> bool:
        return (self.version, address) in self.local

    def result(self) -> Result:
        dst = ipaddress.IPv4Address(self.dst) if self.version == 4 else ipaddress.IPv6Address(self.dst)
        return Result(Verdict.DELIVERED, dst, self.dport, self.masquerade)
