"""Packets and outcomes: the common language of the reference evaluator and the ruleset interpreter.

Both evaluators answer the same question — what happens to this packet on this node? — in the same
form, so they can be compared exactly: an `Outcome` is a probability distribution (exact fractions)
over `Result`s. A Result is what the node does with the packet: delivered (to its final destination
address and port, after any DNAT, with or without masquerade), dropped, or rejected. Drops and rejects
carry no address: where in the path the packet died is not part of the contract.

Only the *first packet of a new connection* is modelled (`ct state new`), as a Service client with no
session-affinity history would send it; replies are a separate packet with `ct_state="established"`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction

from ..model import IPAddress, Protocol


class Origin(StrEnum):
    """Where the packet enters the node's netfilter path."""

    NETWORK = "network"  # arrives on an interface (a local pod's veth, or the LAN): prerouting first
    NODE = "node"  # sent by a process of the node itself (or a hostNetwork pod on it): output first


class Verdict(StrEnum):
    DELIVERED = "delivered"  # accepted by every hook on the path (forwarded, or delivered locally)
    DROPPED = "dropped"
    REJECTED = "rejected"  # dropped with an ICMP error or TCP reset sent back


@dataclass(frozen=True, slots=True, order=True)
class Packet:
    src: IPAddress
    dst: IPAddress
    protocol: Protocol
    dport: int
    sport: int = 40000
    origin: Origin = Origin.NETWORK
    ct_state: str = "new"  # "new" or "established" (a reply or later packet of an allowed connection)
    # The interface it arrives on (nftables' `iifname`): a local pod's veth, or the bridge its veths are
    # ports of; "" for any other (the node's uplink, or none: the node's own packets). Only kube-proxy's
    # interface detect-local modes read it (docs/semantics.md §1).
    iif: str = ""

    def __str__(self) -> str:
        def hostport(addr: IPAddress, port: int) -> str:
            return f"[{addr}]:{port}" if addr.version == 6 else f"{addr}:{port}"

        via = f" via {self.iif}" if self.iif else ""
        return (
            f"{self.protocol.value.lower()} {hostport(self.src, self.sport)} -> {hostport(self.dst, self.dport)}"
            f" ({self.origin.value}{via}, {self.ct_state})"
        )


@dataclass(frozen=True, slots=True)  # hashed and compared in volume: generated methods (values.py)
class Result:
    """One possible fate of a packet. For DROPPED/REJECTED, `dst`/`dport` are None and `masquerade` False."""

    verdict: Verdict
    dst: IPAddress | None = None
    dport: int | None = None
    masquerade: bool = False

    @staticmethod
    def dropped() -> Result:
        return Result(Verdict.DROPPED)

    @staticmethod
    def rejected() -> Result:
        return Result(Verdict.REJECTED)

    def sort_key(self) -> tuple[str, int, str, int, bool]:
        dst = self.dst
        return (self.verdict.value, dst.version if dst else 0, str(dst or ""), self.dport or 0, self.masquerade)

    def __str__(self) -> str:
        if self.verdict != Verdict.DELIVERED:
            return self.verdict.value
        assert self.dst is not None
        host = f"[{self.dst}]" if self.dst.version == 6 else str(self.dst)
        return f"delivered to {host}:{self.dport}" + (" (masqueraded)" if self.masquerade else "")


@dataclass(slots=True)
class Outcome:
    """A distribution over Results (probabilities sum to 1), with the explanation of how it came about.

    `reasons` are human-readable (the Service port, the policies that allowed or the isolation that
    denied); `path` is, for the interpreter, the rules that matched, with their comments. Neither takes
    part in comparisons: two outcomes agree when their distributions are equal.
    """

    distribution: dict[Result, Fraction]
    reasons: list[str] = field(default_factory=list)
    path: list[str] = field(default_factory=list)

    @staticmethod
    def certain(result: Result, reason: str | None = None) -> Outcome:
        return Outcome({result: Fraction(1)}, [reason] if reason else [])

    def agrees_with(self, other: Outcome) -> bool:
        return self.distribution == other.distribution

    @property
    def total(self) -> Fraction:
        return sum(self.distribution.values(), Fraction(0))

    def describe(self) -> list[str]:
        """One line per result, most likely first, e.g. `1/3 delivered to 10.244.1.5:8080 (masqueraded)`."""
        items = sorted(self.distribution.items(), key=lambda kv: (-kv[1], kv[0].sort_key()))
        return [f"{p} {r}" for r, p in items]
