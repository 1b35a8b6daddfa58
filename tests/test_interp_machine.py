"""The machine leaves out the rules a packet's IP version cannot match (program.only_version), and
`evaluate` takes a packet's one walk as its outcome when it meets no numgen: the same outcomes, paths
included, as running every rule and summing every branch (`branches.outcome`).

A rule whose first step matches or looks up a key starting with `ip saddr/daddr` (or `ip6 ...`) ends at
that step (BREAK) for a packet of the other version, before anything else is evaluated and without a
trace in the path. Here each golden ruleset, and hand-written ones where such a step stands among numgen
choices and set updates, run packets of both versions twice: as linked, and with no rule bound to a
version (every rule run). The outcomes must be equal, probabilities and paths included.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from ipaddress import ip_address
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netcompile.model import IPAddress, Protocol
from netcompile.verify.branches import outcome
from netcompile.verify.interpreter import Ruleset, program
from netcompile.verify.packet import Origin, Outcome, Packet
from tests.conftest import ROOT

GOLDEN = sorted((ROOT / "golden").glob("*/expected.nft"))
OUTSIDE = {4: ip_address("203.0.113.7"), 6: ip_address("2001:db8::7")}


@contextmanager
def every_rule_run() -> Iterator[None]:
    """Link with no rule bound to an IP version: the machine runs every rule, as before the shortcut."""
    with mock.patch.object(program, "only_version", lambda steps: 0):
        yield


@cache
def rulesets(path: Path) -> tuple[Ruleset, Ruleset]:
    text = path.read_text()
    fast = Ruleset.parse(text)
    with every_rule_run():
        plain = Ruleset.parse(text)
    return fast, plain


@cache
def addresses(path: Path) -> dict[int, list[IPAddress]]:
    """The addresses a ruleset names (without their prefix lengths), and one outside it, by version."""
    found: dict[int, list[IPAddress]] = {4: [OUTSIDE[4]], 6: [OUTSIDE[6]]}
    for word in sorted(set(re.findall(r"[0-9a-fA-F.:]*[.:][0-9a-fA-F.:]+", path.read_text()))):
        try:
            address = ip_address(word)
        except ValueError:
            continue
        found[address.version].append(address)
    return found


def same(fast: Outcome, plain: Outcome) -> None:
    assert fast.distribution == plain.distribution
    assert fast.path == plain.path


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(GOLDEN),
    st.sampled_from([4, 6]),
    st.data(),
)
def test_golden_rulesets_give_the_same_outcomes_with_and_without_the_rules_left_out(
    path: Path, version: int, data: st.DataObject
) -> None:
    fast, plain = rulesets(path)
    pool = addresses(path)[version]
    packet = Packet(
        data.draw(st.sampled_from(pool), "src"),
        data.draw(st.sampled_from(pool), "dst"),
        data.draw(st.sampled_from(list(Protocol)), "protocol"),
        data.draw(st.sampled_from([53, 80, 443, 8080, 30080, 9100]), "dport"),
        origin=data.draw(st.sampled_from(list(Origin)), "origin"),
        ct_state=data.draw(st.sampled_from(["new", "new", "established"]), "ct_state"),
        iif=data.draw(st.sampled_from(["", "eth0", "cali1234"]), "iif"),
    )
    local = data.draw(st.lists(st.sampled_from(addresses(path)[4] + addresses(path)[6]), max_size=2), "local")
    same(fast.evaluate(packet, local), plain.evaluate(packet, local))
    same(fast.evaluate(packet, local), outcome(fast.branches(packet, local)))  # evaluate's shortcut


def test_the_golden_rulesets_do_leave_rules_out() -> None:
    """Not vacuous: rules are left out for each version, and none when nothing is bound to one."""
    left_out = {4: 0, 6: 0}
    for path in GOLDEN:
        fast, plain = rulesets(path)
        for chains in fast._tables.values():
            for chain in chains.values():
                for version in (4, 6):
                    left_out[version] += len(chain.rules) - len(chain.runs[version])
        for chains in plain._tables.values():
            assert all(chain.runs[4] == chain.runs[6] == chain.rules for chain in chains.values())
    assert left_out[4] > 0 and left_out[6] > 0


CHOICES = """
table inet t {
  set seen { type ipv4_addr; flags dynamic, timeout; timeout 1m; }
  chain pick {
    ip daddr . meta l4proto . th dport { 10.0.0.1 . tcp . 80 } numgen random mod 2 vmap { 0 : jump a, 1 : jump b }
    ip6 daddr . meta l4proto . th dport { fd00::1 . tcp . 80 } numgen random mod 3 vmap { 0 : jump a, 2 : drop }
    numgen random mod 2 . ip daddr { 0 . 10.0.0.1 } accept
  }
  chain a {
    ip6 saddr != { fd00::9 } update @seen { ip saddr } comment "never for IPv6 packets: ip saddr is None"
    ip saddr @seen return
    meta mark set 0x1
  }
  chain b {
    ip saddr 10.0.0.9 drop
    ip6 saddr fd00::9 drop
  }
  chain input {
    type filter hook input priority 0; policy accept;
    jump pick
    ip daddr vmap { 10.0.0.1 : accept }
    ip6 daddr vmap { fd00::1 : accept }
    drop
  }
}
"""


@pytest.mark.parametrize(
    ("src", "dst"),
    [("10.0.0.9", "10.0.0.1"), ("10.0.0.8", "10.0.0.1"), ("fd00::9", "fd00::1"), ("fd00::8", "fd00::1")],
)
@pytest.mark.parametrize("protocol", [Protocol.TCP, Protocol.UDP])
def test_numgen_choices_and_set_updates_give_the_same_outcomes(src: str, dst: str, protocol: Protocol) -> None:
    fast = Ruleset.parse(CHOICES)
    with every_rule_run():
        plain = Ruleset.parse(CHOICES)
    local = [ip_address(dst)]
    packet = Packet(ip_address(src), ip_address(dst), protocol, 80)
    same(fast.evaluate(packet, local), plain.evaluate(packet, local))
    same(fast.evaluate(packet, local), outcome(fast.branches(packet, local)))
    assert len(list(fast.branches(packet, local))) == len(list(plain.branches(packet, local)))


def test_a_rule_is_left_out_only_for_the_other_version() -> None:
    chains = Ruleset.parse(CHOICES)._tables["t"]
    texts = {version: [rule.label for rule in chains["pick"].runs[version]] for version in (4, 6)}
    assert [label.split(" ")[1] for label in texts[4]] == ["ip", "numgen"]
    assert [label.split(" ")[1] for label in texts[6]] == ["ip6", "numgen"]  # numgen first: never bound
    assert [label.split(" ")[1] for label in (r.label for r in chains["a"].runs[4])] == ["ip", "meta"]
    assert [label.split(" ")[1] for label in (r.label for r in chains["a"].runs[6])] == ["ip6", "meta"]
