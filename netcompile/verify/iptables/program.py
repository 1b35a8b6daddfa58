"""The program: what the linker makes of the syntax, and the machine runs.

Every match becomes a test, a function of the packet's state (`Run`) that says whether it matches; the
kernel tests a rule's matches in order and stops at the first that fails, and so does the machine (which
matters for the matches with an effect: `-m recent --set`, and the draws of `-m statistic`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from .sets import IpSet, port_key
from .state import Run
from .syntax import (
    AddrMatch,
    AddrtypeMatch,
    ConntrackMatch,
    IfaceMatch,
    MarkMatch,
    Match,
    PortMatch,
    ProtoMatch,
    RecentMatch,
    SetMatch,
    StatisticMatch,
    Target,
)
from .vocabulary import STATISTIC_SCALE

__all__ = ["LinkedChain", "LinkedRule", "Test", "test_of"]

Test = Callable[[Run], bool]


@dataclass(frozen=True, slots=True)
class LinkedRule:
    tests: tuple[Test, ...]
    target: Target
    label: str  # "table/chain: rule text  # comment"
    comment: str | None


@dataclass(slots=True)
class LinkedChain:
    name: str
    table: str
    builtin: bool
    policy: str
    rules: list[LinkedRule]


def test_of(match: Match, sets: dict[str, IpSet]) -> Test:
    """The test of one match; set names are resolved already (the linker checked them)."""
    if isinstance(match, AddrMatch):
        return _address(match)
    if isinstance(match, IfaceMatch):
        name, invert = match.name, match.invert
        if match.prefix:
            return lambda r: r.iif.startswith(name) != invert
        return lambda r: (r.iif == name) != invert
    if isinstance(match, ProtoMatch):
        proto, invert = match.proto, match.invert
        return lambda r: (proto == 0 or r.proto == proto) != invert
    if isinstance(match, PortMatch):
        return _ports(match)
    if isinstance(match, SetMatch):
        return _set(match, sets[match.name])
    if isinstance(match, MarkMatch):
        value, mask, invert = match.value, match.mask, match.invert
        return lambda r: ((r.mark & mask) == value) != invert
    if isinstance(match, ConntrackMatch):
        return _conntrack(match)
    if isinstance(match, StatisticMatch):
        return _statistic(match)
    if isinstance(match, RecentMatch):
        return _recent(match)
    assert isinstance(match, AddrtypeMatch)
    return _addrtype(match)


def _address(match: AddrMatch) -> Test:
    lo, hi, invert = match.lo, match.hi, match.invert
    if match.field == "src":
        return lambda r: (lo <= r.src <= hi) != invert
    return lambda r: (lo <= r.dst <= hi) != invert


def _ports(match: PortMatch) -> Test:
    ranges, invert, proto = match.ranges, match.invert, match.proto
    read_sport, read_dport = "sport" in match.fields, "dport" in match.fields

    def ports(r: Run) -> bool:
        if r.proto != proto:
            return False
        hit = any((read_sport and lo <= r.sport <= hi) or (read_dport and lo <= r.dport <= hi) for lo, hi in ranges)
        return hit != invert

    return ports


def _set(match: SetMatch, ipset: IpSet) -> Test:
    """xt_set: fewer flags than the set has dimensions never match (ip_set_test); extra flags are ignored."""
    invert = match.invert
    if len(match.flags) < len(ipset.dims):
        return lambda r: invert
    readers: list[Callable[[Run], int | None]] = []
    for dim, flag in zip(ipset.dims, match.flags, strict=False):
        src = flag == "src"
        if dim in ("ip", "net"):
            readers.append((lambda r: r.src) if src else (lambda r: r.dst))
        elif dim == "port":
            readers.append((lambda r: port_key(r.proto, r.sport)) if src else (lambda r: port_key(r.proto, r.dport)))
        else:  # bitmap:port reads the port of TCP and UDP packets only (ip_set_get_ip_port)
            readers.append(
                (lambda r: r.sport if r.proto in (6, 17) else None)
                if src
                else (lambda r: r.dport if r.proto in (6, 17) else None)
            )

    def member(r: Run) -> bool:
        values = [read(r) for read in readers]
        found = None
        if None not in values:
            found = ipset.test(tuple(v for v in values if v is not None))
        if found is not None and found.comment and not invert:
            r.notes.append(found.comment)
        return (found is not None) != invert

    return member


def _conntrack(match: ConntrackMatch) -> Test:
    states, states_invert = match.states, match.states_invert
    statuses, statuses_invert = match.statuses, match.statuses_invert

    def conntrack(r: Run) -> bool:
        if states is not None and bool(r.state_bits() & states) == states_invert:
            return False
        return statuses is None or bool(r.ct_status & statuses) != statuses_invert

    return conntrack


def _statistic(match: StatisticMatch) -> Test:
    hit = Fraction(match.threshold, STATISTIC_SCALE)
    weights = (hit, 1 - hit)
    invert = match.invert
    return lambda r: (r.choose(weights) == 0) != invert


def _recent(match: RecentMatch) -> Test:
    """xt_recent: `--set` records the address and matches; `--rcheck` matches an address recorded before.
    Lists start empty: the packet's client has no history (as the nftables interpreter's affinity sets)."""
    name, invert, src = match.name, match.invert, match.side == "src"
    if match.mode == "set":

        def remember(r: Run) -> bool:
            r.recent.setdefault(name, set()).add((r.version, r.src if src else r.dst))
            return not invert

        return remember

    def check(r: Run) -> bool:
        return ((r.version, r.src if src else r.dst) in r.recent.get(name, ())) != invert

    return check


def _addrtype(match: AddrtypeMatch) -> Test:
    """xt_addrtype with the node's addresses as the only LOCAL ones; every other address is UNICAST."""
    src, src_invert, dst, dst_invert = match.src, match.src_invert, match.dst, match.dst_invert

    def addrtype(r: Run) -> bool:
        if src is not None and (("LOCAL" if r.is_local(r.src) else "UNICAST") in src) == src_invert:
            return False
        return dst is None or (("LOCAL" if r.is_local(r.dst) else "UNICAST") in dst) != dst_invert

    return addrtype
