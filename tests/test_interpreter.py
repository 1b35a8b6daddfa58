"""The ruleset interpreter: every construct of the closed vocabulary (docs/semantics.md §4) on small
hand-written rulesets, the compiler's real output, the errors that keep the vocabulary closed, and speed.

Kernel tests (marker `kernel`) load the same hand-written texts with `nft -c -f`, to show that what the
interpreter accepts nft accepts, and what it refuses nft refuses too.
"""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from ipaddress import IPv4Address, ip_address
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netcompile.model import IPAddress, Protocol
from netcompile.nft.ir import BaseChain as Base
from netcompile.nft.ir import Table as IRTable
from netcompile.nft.render import render
from netcompile.nft.statements import DROP, IIFNAME, InterfaceName, MarkOp, MarkSet, Match, Op, Reject
from netcompile.nft.statements import Mark as MarkValue
from netcompile.nft.types import ChainType, Hook
from netcompile.verify.interpreter import InterpreterError, Ruleset
from netcompile.verify.packet import Origin, Outcome, Packet, Result, Verdict
from tests.conftest import ROOT, CompileYaml

NODE = ip_address("192.168.0.10")
TCP, UDP, SCTP = Protocol.TCP, Protocol.UDP, Protocol.SCTP


def table(body: str) -> str:
    return f"table inet t {{\n{body}\n}}\n"


def packet(
    src: str,
    dst: str,
    dport: int = 80,
    protocol: Protocol = TCP,
    origin: Origin = Origin.NETWORK,
    ct_state: str = "new",
    sport: int = 40000,
) -> Packet:
    return Packet(ip_address(src), ip_address(dst), protocol, dport, sport, origin, ct_state)


def run(text: str, pkt: Packet, local: tuple[IPAddress, ...] = (NODE,)) -> Outcome:
    outcome = Ruleset.parse(text).evaluate(pkt, local)
    assert outcome.total == 1
    return outcome


def only(text: str, pkt: Packet, local: tuple[IPAddress, ...] = (NODE,)) -> Result:
    outcome = run(text, pkt, local)
    assert len(outcome.distribution) == 1, outcome.describe()
    return next(iter(outcome.distribution))


def delivered(dst: str, dport: int, masquerade: bool = False) -> Result:
    return Result(Verdict.DELIVERED, ip_address(dst), dport, masquerade)


DROPPED, REJECTED = Result.dropped(), Result.rejected()


# ───────────────────────────── hand-written rulesets, one per construct ─────────────────────────────

FORWARD_POLICY = table(
    """
    chain forward-filter {
        type filter hook forward priority filter; policy drop;
        tcp dport 80 accept comment "web"
    }
"""
)


def test_policy_drop_applies_when_the_base_chain_falls_through() -> None:
    assert only(FORWARD_POLICY, packet("10.0.0.1", "10.0.0.2", 80)) == delivered("10.0.0.2", 80)
    outcome = run(FORWARD_POLICY, packet("10.0.0.1", "10.0.0.2", 81))
    assert outcome.distribution == {DROPPED: 1}
    assert outcome.path == ["forward-filter: policy drop"]


def test_path_lists_matched_rules_with_comments() -> None:
    outcome = run(FORWARD_POLICY, packet("10.0.0.1", "10.0.0.2", 80))
    assert outcome.path == ["forward-filter: tcp dport 80 accept  # web"]


TWO_FORWARD_CHAINS = table(
    """
    chain late {
        type filter hook forward priority filter + 10; policy accept;
        tcp dport 22 drop
    }
    chain early {
        type filter hook forward priority filter - 10; policy accept;
        accept
    }
"""
)


def test_accept_ends_one_base_chain_not_the_hook() -> None:
    ruleset = Ruleset.parse(TWO_FORWARD_CHAINS)
    assert ruleset.base_chains == ["forward/-10/early", "forward/10/late"]
    assert only(TWO_FORWARD_CHAINS, packet("10.0.0.1", "10.0.0.2", 22)) == DROPPED
    assert only(TWO_FORWARD_CHAINS, packet("10.0.0.1", "10.0.0.2", 23)) == delivered("10.0.0.2", 23)


def test_priorities_by_name_offset_and_number() -> None:
    ruleset = Ruleset.parse(
        table(
            """
    chain a { type filter hook prerouting priority 5; }
    chain b { type filter hook prerouting priority raw; }
    chain c { type nat hook prerouting priority dstnat + 1; }
    chain d { type filter hook prerouting priority mangle - 5; }
    chain e { type filter hook prerouting priority -200; }
    chain f { type filter hook postrouting priority security; }
    chain g { type nat hook postrouting priority srcnat; }
    chain h { type filter hook input priority filter; }
"""
        )
    )
    assert ruleset.base_chains == [
        "prerouting/-300/b",
        "prerouting/-200/e",
        "prerouting/-155/d",
        "prerouting/-99/c",
        "prerouting/5/a",
        "input/0/h",
        "postrouting/50/f",
        "postrouting/100/g",
    ]


HOOKS = table(
    """
    chain pre { type filter hook prerouting priority 0; policy accept; tcp dport 1 drop; }
    chain in { type filter hook input priority 0; policy accept; tcp dport 2 drop; }
    chain forward-filter { type filter hook forward priority 0; policy accept; tcp dport 3 drop; }
    chain out { type filter hook output priority 0; policy accept; tcp dport 4 drop; }
    chain post { type filter hook postrouting priority 0; policy accept; tcp dport 5 drop; }
"""
)


@pytest.mark.parametrize(
    ("origin", "dst", "dropped_ports"),
    [
        (Origin.NETWORK, "10.0.0.2", {1, 3, 5}),  # prerouting, forward, postrouting
        (Origin.NETWORK, str(NODE), {1, 2}),  # prerouting, input: no postrouting
        (Origin.NODE, "10.0.0.2", {4, 5}),  # output, postrouting
        (Origin.NODE, str(NODE), {4, 2}),  # output, input
    ],
)
def test_hooks_walked_for_each_path(origin: Origin, dst: str, dropped_ports: set[int]) -> None:
    for port in range(1, 6):
        result = only(HOOKS, packet("10.0.0.1", dst, port, origin=origin))
        assert (result == DROPPED) == (port in dropped_ports), (port, result)


JUMPS = table(
    """
    chain base {
        type filter hook forward priority 0; policy accept;
        jump returns
        tcp dport 1 drop
        jump falls-through
        tcp dport 2 drop
        goto gone
        drop comment "never reached: goto does not come back"
    }
    chain returns {
        tcp dport 1 return
        tcp dport 10 accept
    }
    chain falls-through {
        tcp dport 11 reject
    }
    chain gone {
        tcp dport 3 drop
        jump returns
    }
"""
)


@pytest.mark.parametrize(
    ("port", "result"),
    [
        (1, DROPPED),  # returned from `returns`, then `tcp dport 1 drop`
        (10, delivered("10.0.0.2", 10)),  # accept inside a jumped-to chain ends the base chain
        (11, REJECTED),
        (2, DROPPED),
        (3, DROPPED),  # reached through goto
        (4, delivered("10.0.0.2", 4)),  # goto's chain falls through: back to the base chain's caller: policy
    ],
)
def test_jump_goto_return(port: int, result: Result) -> None:
    assert only(JUMPS, packet("10.0.0.1", "10.0.0.2", port)) == result


def test_return_from_a_base_chain_applies_its_policy() -> None:
    text = table(
        """
    chain base {
        type filter hook forward priority 0; policy drop;
        return
        accept
    }
"""
    )
    assert only(text, packet("10.0.0.1", "10.0.0.2")) == DROPPED


VMAPS = table(
    """
    map ports {
        type inet_proto . inet_service : verdict
        flags interval
        elements = {
            tcp . 80 comment "http" : accept,
            tcp . 1000-2000 : drop,
            udp . 53 : jump dns,
        }
    }
    chain base {
        type filter hook forward priority 0; policy accept;
        meta l4proto . th dport vmap @ports
        th dport vmap { 7 : drop, 8-9 : goto denied }
        tcp dport 22 reject
    }
    chain dns {
        ip saddr 10.0.0.0/8 accept
        drop
    }
    chain denied {
        reject with icmpx admin-prohibited
    }
"""
)


@pytest.mark.parametrize(
    ("src", "port", "protocol", "result"),
    [
        ("10.0.0.1", 80, TCP, delivered("10.0.0.2", 80)),
        ("10.0.0.1", 1500, TCP, DROPPED),
        ("10.0.0.1", 1500, UDP, delivered("10.0.0.2", 1500)),  # vmap miss: next rule
        ("10.0.0.1", 53, UDP, delivered("10.0.0.2", 53)),
        ("11.0.0.1", 53, UDP, DROPPED),
        ("10.0.0.1", 7, SCTP, DROPPED),  # anonymous vmap
        ("10.0.0.1", 9, UDP, REJECTED),
        ("10.0.0.1", 22, TCP, REJECTED),
        ("10.0.0.1", 22, UDP, delivered("10.0.0.2", 22)),  # tcp dport matches only TCP
    ],
)
def test_verdict_maps(src: str, port: int, protocol: Protocol, result: Result) -> None:
    assert only(VMAPS, packet(src, "10.0.0.2", port, protocol)) == result


def test_vmap_element_comment_is_in_the_path() -> None:
    outcome = run(VMAPS, packet("10.0.0.1", "10.0.0.2", 80))
    assert outcome.path == ["base: meta l4proto . th dport vmap @ports  # http"]


SETS = table(
    """
    set blocked-v4 {
        type ipv4_addr
        flags interval
        elements = { 10.1.0.0/16, 10.2.0.5-10.2.0.9, 10.3.0.1 }
    }
    set blocked-v6 {
        type ipv6_addr
        flags interval
        elements = { fd00:1::/64, fd00:2::5 }
    }
    set pairs {
        type ipv4_addr . inet_service
        flags interval
        elements = { 10.4.0.0/24 . 1000-1999, 10.5.0.1 . 443 }
    }
    set exact {
        type ipv6_addr . inet_proto . inet_service
        elements = { fd00:3::1 . udp . 53 }
    }
    chain base {
        type filter hook forward priority 0; policy accept;
        ip saddr @blocked-v4 drop
        ip6 saddr @blocked-v6 drop
        ip saddr . th dport @pairs reject
        ip6 saddr . meta l4proto . th dport @exact reject
        ip saddr { 172.16.0.0/12, 192.0.2.1 } drop
        ip6 saddr != { fd00::/16 } drop
    }
"""
)


@pytest.mark.parametrize(
    ("src", "dst", "port", "protocol", "verdict"),
    [
        ("10.1.200.3", "10.9.0.1", 80, TCP, Verdict.DROPPED),
        ("10.2.0.4", "10.9.0.1", 80, TCP, Verdict.DELIVERED),
        ("10.2.0.5", "10.9.0.1", 80, TCP, Verdict.DROPPED),
        ("10.2.0.9", "10.9.0.1", 80, TCP, Verdict.DROPPED),
        ("10.2.0.10", "10.9.0.1", 80, TCP, Verdict.DELIVERED),
        ("10.3.0.1", "10.9.0.1", 80, TCP, Verdict.DROPPED),
        ("10.3.0.2", "10.9.0.1", 80, TCP, Verdict.DELIVERED),
        ("fd00:1::77", "fd00:9::1", 80, TCP, Verdict.DROPPED),
        ("fd00:1:0:1::77", "fd00:9::1", 80, TCP, Verdict.DELIVERED),
        ("fd00:2::5", "fd00:9::1", 80, TCP, Verdict.DROPPED),
        ("10.4.0.200", "10.9.0.1", 1999, UDP, Verdict.REJECTED),
        ("10.4.0.200", "10.9.0.1", 2000, UDP, Verdict.DELIVERED),
        ("10.4.1.200", "10.9.0.1", 1000, UDP, Verdict.DELIVERED),
        ("10.5.0.1", "10.9.0.1", 443, TCP, Verdict.REJECTED),
        ("10.5.0.1", "10.9.0.1", 444, TCP, Verdict.DELIVERED),
        ("fd00:3::1", "fd00:9::1", 53, UDP, Verdict.REJECTED),
        ("fd00:3::1", "fd00:9::1", 53, TCP, Verdict.DELIVERED),
        ("172.31.255.255", "10.9.0.1", 80, TCP, Verdict.DROPPED),
        ("192.0.2.1", "10.9.0.1", 80, TCP, Verdict.DROPPED),
        ("192.0.2.2", "10.9.0.1", 80, TCP, Verdict.DELIVERED),
        ("fe80::1", "fd00:9::1", 80, TCP, Verdict.DROPPED),  # `!=` anonymous set
    ],
)
def test_sets_prefixes_ranges_concatenations(
    src: str, dst: str, port: int, protocol: Protocol, verdict: Verdict
) -> None:
    assert only(SETS, packet(src, dst, port, protocol)).verdict == verdict


def test_ip_match_never_matches_the_other_family_even_negated() -> None:
    text = table(
        """
    set v4 { type ipv4_addr; elements = { 10.0.0.1 } }
    chain base {
        type filter hook forward priority 0; policy accept;
        ip saddr != @v4 drop
        ip daddr != 10.0.0.9 reject
    }
"""
    )
    assert only(text, packet("fd00::1", "fd00::2")) == delivered("fd00::2", 80)
    assert only(text, packet("10.0.0.2", "10.0.0.9")) == DROPPED
    assert only(text, packet("10.0.0.1", "10.0.0.8")) == REJECTED


def test_meta_nfproto_l4proto_th_and_protocol_dports() -> None:
    text = table(
        """
    chain base {
        type filter hook forward priority 0; policy accept;
        meta nfproto ipv6 meta l4proto sctp drop
        udp dport 53 reject
        sctp dport 9 reject
        th sport 1234 drop
        meta l4proto 17 th dport 5000-5010 drop
    }
"""
    )
    assert only(text, packet("fd00::1", "fd00::2", 1, SCTP)) == DROPPED
    assert only(text, packet("10.0.0.1", "10.0.0.2", 1, SCTP)) == delivered("10.0.0.2", 1)
    assert only(text, packet("10.0.0.1", "10.0.0.2", 53, UDP)) == REJECTED
    assert only(text, packet("10.0.0.1", "10.0.0.2", 53, TCP)) == delivered("10.0.0.2", 53)
    assert only(text, packet("10.0.0.1", "10.0.0.2", 9, SCTP)) == REJECTED
    assert only(text, packet("10.0.0.1", "10.0.0.2", 9, TCP, sport=1234)) == DROPPED
    assert only(text, packet("10.0.0.1", "10.0.0.2", 5005, UDP)) == DROPPED
    assert only(text, packet("10.0.0.1", "10.0.0.2", 5005, TCP)) == delivered("10.0.0.2", 5005)


def test_reject_with_icmp_or_tcp_reset_carries_its_dependency() -> None:
    text = table(
        """
    chain base {
        type filter hook forward priority 0; policy accept;
        reject with tcp reset
        reject with icmp type host-unreachable
        ip6 daddr fd00::9 reject with icmpv6 admin-prohibited
        drop
    }
"""
    )
    assert only(text, packet("10.0.0.1", "10.0.0.2", 1, TCP)) == REJECTED
    assert only(text, packet("10.0.0.1", "10.0.0.2", 1, UDP)) == REJECTED  # icmp
    assert only(text, packet("fd00::1", "fd00::9", 1, UDP)) == REJECTED  # icmpv6
    assert only(text, packet("fd00::1", "fd00::8", 1, UDP)) == DROPPED  # neither applies


NUMGEN = table(
    """
    map backends {
        typeof ip daddr . th dport . numgen random mod 1 : ip daddr . th dport
        elements = {
            10.96.0.1 . 80 . 0 comment "a" : 10.244.0.1 . 8080,
            10.96.0.1 . 80 . 1 comment "b" : 10.244.0.2 . 8080,
            10.96.0.1 . 80 . 2 comment "c" : 10.244.0.3 . 8081,
        }
    }
    chain pre {
        type nat hook prerouting priority dstnat; policy accept;
        numgen random mod 4 0 drop comment "shed a quarter"
        meta l4proto tcp dnat ip to ip daddr . th dport . numgen random mod 3 map @backends
        ip daddr 10.96.0.2 numgen random mod 2 1 dnat ip to 10.244.0.9
    }
"""
)


def test_numgen_branches_have_exact_probabilities() -> None:
    outcome = run(NUMGEN, packet("10.0.0.1", "10.96.0.1"))
    assert outcome.distribution == {
        DROPPED: Fraction(1, 4),
        delivered("10.244.0.1", 8080): Fraction(1, 4),
        delivered("10.244.0.2", 8080): Fraction(1, 4),
        delivered("10.244.0.3", 8081): Fraction(1, 4),
    }
    assert outcome.total == 1
    assert "  pre: numgen random mod 4 0 drop  # shed a quarter" in outcome.path
    assert any(line.endswith("map @backends  # c") for line in outcome.path)


def test_numgen_in_a_literal_match_and_dnat_keeping_the_port() -> None:
    outcome = run(NUMGEN, packet("10.0.0.1", "10.96.0.2", 443))
    assert outcome.distribution == {
        DROPPED: Fraction(1, 4),
        delivered("10.244.0.9", 443): Fraction(3, 8),
        delivered("10.96.0.2", 443): Fraction(3, 8),  # map miss for this address: the rule did not match
    }


def test_branches_enumerate_every_choice() -> None:
    ruleset = Ruleset.parse(NUMGEN)
    branches = list(ruleset.branches(packet("10.0.0.1", "10.96.0.1"), [NODE]))
    assert len(branches) == 1 + 3 * 3  # the drop branch (0 of 4) never reaches the second numgen
    assert sum(b.probability for b in branches) == 1


MARKS = table(
    """
    set pod-cidrs-v4 { type ipv4_addr; flags interval; elements = { 10.244.0.0/16 } }
    chain pre {
        type nat hook prerouting priority dstnat; policy accept;
        ip saddr != @pod-cidrs-v4 meta mark set meta mark | 0x00004000 comment "external"
        tcp dport 80 dnat ip to 10.244.1.1:8080
    }
    chain post {
        type nat hook postrouting priority srcnat; policy accept;
        jump masquerading
    }
    chain masquerading {
        meta mark & 0x00004000 == 0 return
        meta mark set meta mark ^ 0x00004000
        masquerade fully-random
    }
    chain check {
        type filter hook postrouting priority srcnat + 10; policy accept;
        meta mark & 0x4000 != 0 drop comment "the mark was cleared before masquerade"
        meta mark 0x10 drop
    }
"""
)


def test_marks_and_masquerade() -> None:
    assert only(MARKS, packet("192.0.2.1", "10.96.0.1")) == delivered("10.244.1.1", 8080, masquerade=True)
    assert only(MARKS, packet("10.244.2.2", "10.96.0.1")) == delivered("10.244.1.1", 8080)
    assert only(MARKS, packet("10.244.2.2", "10.96.0.1", 81)) == delivered("10.96.0.1", 81)


def test_mark_set_replaces_and_masks() -> None:
    text = table(
        """
    chain a {
        type filter hook forward priority 0; policy accept;
        meta mark set 0x000000ff
        meta mark set meta mark & 0x0000000f
        meta mark 0x0000000f tcp dport 1 drop
        meta mark set meta mark ^ 0x1
        meta mark 14 tcp dport 2 drop
    }
"""
    )
    assert only(text, packet("10.0.0.1", "10.0.0.2", 1)) == DROPPED
    assert only(text, packet("10.0.0.1", "10.0.0.2", 2)) == DROPPED
    assert only(text, packet("10.0.0.1", "10.0.0.2", 3)) == delivered("10.0.0.2", 3)


def test_statements_before_a_failing_match_still_ran() -> None:
    text = table(
        """
    chain c {
        type filter hook forward priority 0; policy accept;
        meta mark set 0x00000001 tcp dport 9 accept
        meta mark 0x00000001 drop
    }
"""
    )
    assert only(text, packet("10.0.0.1", "10.0.0.2", 9, UDP)) == DROPPED
    assert only(text, packet("10.0.0.1", "10.0.0.2", 9, TCP)) == delivered("10.0.0.2", 9)


STATEFUL = table(
    """
    chain pre {
        type nat hook prerouting priority dstnat; policy accept;
        ip daddr 10.96.0.1 tcp dport 80 dnat ip to 10.244.0.1:8080
    }
    chain forward-filter {
        type filter hook forward priority filter; policy drop;
        ct state established,related accept comment "replies"
        ct state invalid drop
        ct status dnat accept comment "a Service"
        tcp dport 8080 ct state new accept
    }
"""
)


def test_nat_is_skipped_for_established_packets() -> None:
    established = packet("10.0.0.1", "10.96.0.1", ct_state="established")
    outcome = run(STATEFUL, established)
    assert outcome.distribution == {delivered("10.96.0.1", 80): 1}
    assert outcome.path == ["forward-filter: ct state established,related accept  # replies"]


def test_ct_status_dnat_is_set_by_dnat() -> None:
    assert only(STATEFUL, packet("10.0.0.1", "10.96.0.1")) == delivered("10.244.0.1", 8080)
    assert only(STATEFUL, packet("10.0.0.1", "10.96.0.2", 80)) == DROPPED
    assert only(STATEFUL, packet("10.0.0.1", "10.96.0.2", 8080)) == delivered("10.96.0.2", 8080)


def test_later_nat_chains_of_a_hook_are_skipped_once_nat_is_set_up() -> None:
    text = table(
        """
    chain first {
        type nat hook prerouting priority dstnat; policy accept;
        tcp dport 80 dnat ip to 10.0.0.1
        accept
    }
    chain second {
        type nat hook prerouting priority dstnat + 1; policy accept;
        dnat ip to 10.0.0.2
    }
    chain filter {
        type filter hook prerouting priority dstnat + 2; policy accept;
        ip daddr 10.0.0.1 tcp dport 80 drop comment "a filter chain still runs"
    }
"""
    )
    assert only(text, packet("10.9.0.1", "10.9.0.2", 80)) == DROPPED
    assert only(text, packet("10.9.0.1", "10.9.0.2", 81)) == delivered("10.0.0.2", 81)  # accept does not set up NAT


def test_dnat_v6_literal_and_to_a_local_address_goes_to_input() -> None:
    text = table(
        """
    chain pre {
        type nat hook prerouting priority dstnat; policy accept;
        ip6 daddr fd00::10 meta l4proto tcp dnat ip6 to [fd00::20]:8443
        ip6 daddr fd00::11 dnat ip6 to fd00::21
        ip daddr 10.96.0.1 dnat ip to 192.168.0.10
    }
    chain in {
        type filter hook input priority 0; policy drop;
    }
"""
    )
    assert only(text, packet("fd00::1", "fd00::10", 443)) == delivered("fd00::20", 8443)
    assert only(text, packet("fd00::1", "fd00::11", 443)) == delivered("fd00::21", 443)
    assert only(text, packet("10.0.0.1", "10.96.0.1")) == DROPPED  # DNATed to the node: input, policy drop


def test_fib_type_local() -> None:
    text = table(
        """
    chain in {
        type filter hook input priority 0; policy drop;
        fib saddr type local accept comment "from the node itself"
    }
    chain out {
        type filter hook output priority 0; policy accept;
        fib daddr type != local tcp dport 25 reject
        fib daddr type { local } tcp dport 26 reject
    }
"""
    )
    node = str(NODE)
    assert only(text, packet(node, node, origin=Origin.NODE)) == delivered(node, 80)
    assert only(text, packet("10.0.0.1", node)) == DROPPED
    assert only(text, packet(node, "10.0.0.1", 25, origin=Origin.NODE)) == REJECTED
    assert only(text, packet(node, "10.0.0.1", 26, origin=Origin.NODE)) == delivered("10.0.0.1", 26)
    assert only(text, packet(node, node, 26, origin=Origin.NODE)) == REJECTED


def test_dynamic_set_starts_empty_and_records_updates() -> None:
    text = table(
        """
    set seen {
        type ipv4_addr . inet_service
        flags dynamic, timeout
        timeout 3h
    }
    chain forward-filter {
        type filter hook forward priority 0; policy accept;
        ip saddr . th dport @seen drop comment "not on the first packet"
        update @seen { ip saddr . th dport }
        add @seen { ip saddr . th dport timeout 10s }
        ip saddr . th dport @seen counter packets 0 bytes 0 reject comment "recorded by this packet"
    }
"""
    )
    assert only(text, packet("10.0.0.1", "10.0.0.2")) == REJECTED
    assert only(text, packet("fd00::1", "fd00::2")) == delivered("fd00::2", 80)


def test_dnat_map_miss_continues_with_the_next_rule() -> None:
    text = table(
        """
    map targets {
        type ipv4_addr : ipv4_addr
        elements = { 10.96.0.1 : 10.244.0.1 }
    }
    chain pre {
        type nat hook prerouting priority dstnat; policy accept;
        dnat ip to ip daddr map @targets
        dnat ip to 10.244.0.99
    }
"""
    )
    assert only(text, packet("10.0.0.1", "10.96.0.1")) == delivered("10.244.0.1", 80)
    assert only(text, packet("10.0.0.1", "10.96.0.2")) == delivered("10.244.0.99", 80)
    assert only(text, packet("fd00::1", "fd00::2")) == delivered("fd00::2", 80)  # `dnat ip` ignores IPv6


def test_preamble_comments_and_table_replacement() -> None:
    text = """#!/usr/sbin/nft -f
# a header comment
table inet t
delete table inet t
table inet t {  # trailing comment
\tcomment "the table"
\tchain forward-filter {  # chain comment
\t\ttype filter hook forward priority filter; policy drop;  # policy
\t}
}
"""
    assert only(text, packet("10.0.0.1", "10.0.0.2")) == DROPPED
    first = "table inet t {\n chain forward-filter { type filter hook forward priority 0; policy drop; }\n}\n"
    replaced = first + "delete table inet t\ntable inet t {\n}\n"
    assert only(replaced, packet("10.0.0.1", "10.0.0.2")) == delivered("10.0.0.2", 80)


def test_multiple_results_get_one_path_each() -> None:
    outcome = run(NUMGEN, packet("10.0.0.1", "10.96.0.1"))
    headers = [line for line in outcome.path if not line.startswith("  ")]
    assert headers == [  # most likely first, then in Result.sort_key order
        "1/4 delivered to 10.244.0.1:8080:",
        "1/4 delivered to 10.244.0.2:8080:",
        "1/4 delivered to 10.244.0.3:8081:",
        "1/4 dropped:",
    ]
    dropped = outcome.path.index("1/4 dropped:")
    assert outcome.path[dropped + 1 :] == ["  pre: numgen random mod 4 0 drop  # shed a quarter"]


def test_a_ruleset_is_reusable_across_packets() -> None:
    ruleset = Ruleset.parse(MARKS)
    first = ruleset.evaluate(packet("192.0.2.1", "10.96.0.1"), [NODE])
    second = ruleset.evaluate(packet("10.244.2.2", "10.96.0.1"), [NODE])
    assert first.distribution == {delivered("10.244.1.1", 8080, masquerade=True): 1}
    assert second.distribution == {delivered("10.244.1.1", 8080): 1}  # no mark left over from the first


# ───────────────────────────── the compiler's own output ─────────────────────────────

SERVICE_YAML = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  clusterIP: 10.96.0.10
  clusterIPs: [10.96.0.10, "fd00::10"]
  ipFamilies: [IPv4, IPv6]
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: empty, namespace: default}
spec:
  clusterIP: 10.96.0.11
  selector: {app: nothing}
  ports: [{port: 53, protocol: UDP}]
"""


def pod(name: str, ips: list[str], labels: str = "{app: web}") -> str:
    pod_ips = ", ".join(f'{{ip: "{ip}"}}' for ip in ips)
    return f"""
---
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: default, labels: {labels}}}
spec:
  containers: [{{name: c, ports: [{{containerPort: 8080}}]}}]
status:
  phase: Running
  podIP: {ips[0]}
  podIPs: [{pod_ips}]
  conditions: [{{type: Ready, status: "True"}}]
"""


def test_compiled_cluster_ip_balances_exactly(compile_yaml: CompileYaml) -> None:
    yaml = SERVICE_YAML + pod("web-1", ["10.244.1.5", "fd01::5"]) + pod("web-2", ["10.244.1.6"])
    yaml += pod("web-3", ["10.244.1.7"])
    cluster, out = compile_yaml(yaml)
    ruleset = Ruleset.parse(out.text)
    local = tuple(cluster.node_addresses)
    from_pod = ruleset.evaluate(packet("10.244.1.5", "10.96.0.10"), local)
    assert from_pod.distribution == {
        delivered("10.244.1.5", 8080, masquerade=True): Fraction(1, 3),  # hairpin
        delivered("10.244.1.6", 8080): Fraction(1, 3),
        delivered("10.244.1.7", 8080): Fraction(1, 3),
    }
    external = ruleset.evaluate(packet("192.0.2.1", "10.96.0.10"), local)
    assert set(external.distribution) == {delivered(f"10.244.1.{n}", 8080, masquerade=True) for n in (5, 6, 7)}
    v6 = ruleset.evaluate(packet("fd01::9", "fd00::10"), local)
    assert v6.distribution == {delivered("fd01::5", 8080, masquerade=True): 1}  # not from a pod network
    assert ruleset.evaluate(packet("10.244.1.5", "10.96.0.10", 81), local).distribution == {REJECTED: 1}
    assert ruleset.evaluate(packet("10.244.1.5", "10.96.0.11", 53, UDP), local).distribution == {REJECTED: 1}
    established = packet("10.244.1.5", "10.96.0.10", ct_state="established")
    assert ruleset.evaluate(established, local).distribution == {delivered("10.96.0.10", 80): 1}
    assert ruleset.evaluate(packet("10.244.1.5", "10.244.1.6", 8080), local).distribution == {
        delivered("10.244.1.6", 8080): 1
    }


def test_compiled_network_policy_isolates(compile_yaml: CompileYaml) -> None:
    yaml = pod("web-1", ["10.244.1.5"]) + pod("client", ["10.244.1.9"], "{app: client}")
    yaml += pod("other", ["10.244.1.10"], "{app: other}")
    yaml += """
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-client, namespace: default}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: 8080}]
"""
    cluster, out = compile_yaml(yaml)
    ruleset = Ruleset.parse(out.text)
    local = tuple(cluster.node_addresses)
    assert ruleset.evaluate(packet("10.244.1.9", "10.244.1.5", 8080), local).distribution == {
        delivered("10.244.1.5", 8080): 1
    }
    assert ruleset.evaluate(packet("10.244.1.9", "10.244.1.5", 8081), local).distribution == {DROPPED: 1}
    denied = ruleset.evaluate(packet("10.244.1.10", "10.244.1.5", 8080), local)
    assert denied.distribution == {DROPPED: 1}
    # the path names the rule that dropped it: the chain of the pods the policy isolates, with its reason
    assert any("ingress not allowed by any policy selecting these pods" in line for line in denied.path), denied.path
    replies = packet("10.244.1.10", "10.244.1.5", 8080, ct_state="established")
    assert ruleset.evaluate(replies, local).distribution == {delivered("10.244.1.5", 8080): 1}
    assert ruleset.evaluate(packet("10.244.1.5", "10.244.1.10", 80), local).distribution == {
        delivered("10.244.1.10", 80): 1
    }


def test_compiled_session_affinity_balances_the_first_packet(compile_yaml: CompileYaml) -> None:
    yaml = SERVICE_YAML.replace(
        "ports: [{port: 80, targetPort: 8080}]",
        "ports: [{port: 80, targetPort: 8080}]\n  "
        "sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}",
    )
    yaml += pod("web-1", ["10.244.1.5"]) + pod("web-2", ["10.244.1.6"]) + pod("client", ["10.244.1.9"], "{app: c}")
    cluster, out = compile_yaml(yaml)
    assert "update @" in out.text and "vmap {" in out.text
    outcome = Ruleset.parse(out.text).evaluate(packet("10.244.1.9", "10.96.0.10"), tuple(cluster.node_addresses))
    assert outcome.distribution == {
        delivered("10.244.1.5", 8080): Fraction(1, 2),
        delivered("10.244.1.6", 8080): Fraction(1, 2),
    }
    assert any("update @" in line for line in outcome.path)


DATATYPES = table(
    """
set marks { type mark; flags interval; elements = { 0x10-0x1f, 0x4000 } }
set protos { type inet_proto; elements = { tcp, 132 } }
set names { type ifname; elements = { "eth0", lo } }
map by-mark { typeof meta mark : verdict; elements = { 0x1 : drop } }
chain c {
    type filter hook prerouting priority raw; policy accept;
    tcp dport 1 meta mark set 0x00000001
    th dport 2 meta mark set 0x00000015
    meta mark vmap @by-mark
    meta mark @marks meta l4proto @protos reject
}
"""
)


def test_every_declarable_datatype() -> None:
    text = DATATYPES
    assert only(text, packet("10.0.0.1", "10.0.0.2", 1)) == DROPPED
    assert only(text, packet("10.0.0.1", "10.0.0.2", 2, SCTP)) == REJECTED
    assert only(text, packet("10.0.0.1", "10.0.0.2", 2, UDP)) == delivered("10.0.0.2", 2)
    assert only(text, packet("10.0.0.1", "10.0.0.2", 3)) == delivered("10.0.0.2", 3)


GOLDEN = sorted((ROOT / "golden").glob("*/expected.nft"))


@pytest.mark.parametrize("path", GOLDEN, ids=[p.parent.name for p in GOLDEN])
def test_every_golden_ruleset_parses(path: Path) -> None:
    ruleset = Ruleset.parse(path.read_text())
    assert "prerouting/-100/nat-prerouting" in ruleset.base_chains


# ───────────────────────────── the vocabulary is closed ─────────────────────────────

BAD = [
    ("unknown statement", "chain c {\nlog prefix x accept\n}", 3, "unknown statement or expression 'log'"),
    ("unknown expression", "chain c {\nip ttl 5 accept\n}", 3, "unknown expression ip 'ttl'"),
    ("unknown meta key", "chain c {\nmeta oifname lo accept\n}", 3, "unknown expression 'meta oifname'"),
    ("unknown datatype", "set s {\ntype ether_addr\n}", 3, "unknown datatype 'ether_addr'"),
    ("unknown character", "chain c {\nip saddr < 10.0.0.1 accept\n}", 3, "unexpected character '<'"),
    ("unknown table statement", "flowtable f {\n}", 2, "unknown table statement 'flowtable'"),
    ("unknown chain type", "chain c {\ntype route hook output priority 0;\n}", 3, "unknown chain type 'route'"),
    ("unknown jump target", "chain c {\njump nowhere\n}", 3, "unknown chain 'nowhere'"),
    ("unknown set", "chain c {\nip saddr @nothing drop\n}", 3, "unknown set or map @nothing"),
    (
        "datatype mismatch",
        "set s { type ipv4_addr; }\nchain c {\nip6 saddr @s drop\n}",
        4,
        "datatype mismatch: expression is ipv6_addr, @s holds ipv4_addr",
    ),
    (
        "prefix without interval",
        "set s {\ntype ipv4_addr\nelements = { 10.0.0.0/8 }\n}",
        4,
        "prefix or range element needs 'flags interval'",
    ),
    (
        "conflicting intervals",
        "set s {\ntype ipv4_addr\nflags interval\nelements = {\n10.0.0.0/8,\n10.1.0.0/16\n}\n}",
        7,
        "conflicting intervals specified",
    ),
    (
        "conflicting map values",
        "map m {\ntype ipv4_addr : verdict\nelements = {\n10.0.0.1 : accept,\n10.0.0.1 : drop }\n}",
        6,
        "element given twice with different values",
    ),
    ("statement after verdict", "chain c {\naccept counter\n}", 3, "statement after terminal statement"),
    (
        "dnat in a filter chain",
        "chain c {\ntype filter hook prerouting priority 0;\njump d\n}\nchain d {\ndnat ip to 10.0.0.1\n}",
        7,
        "dnat needs a nat chain at prerouting or output",
    ),
    (
        "masquerade outside postrouting",
        "chain c {\ntype nat hook prerouting priority dstnat;\nmasquerade\n}",
        4,
        "masquerade needs a nat chain at postrouting",
    ),
    (
        "reject at postrouting",
        "chain c {\ntype filter hook postrouting priority 0;\nreject\n}",
        4,
        "reject is not allowed at hook postrouting",
    ),
    (
        "loop",
        "chain c {\ntype filter hook input priority 0;\njump a\n}\nchain a {\njump b\n}\nchain b {\ngoto a\n}",
        10,
        "jumps back to itself",
    ),
    ("dstnat at output", "chain c {\ntype nat hook output priority dstnat;\n}", 3, "priority dstnat is not valid"),
    ("nat at forward", "chain c {\ntype nat hook forward priority 0;\n}", 3, "nat chains cannot use hook forward"),
    (
        "concatenation with a singleton",
        "chain c {\nip daddr . th dport 10.0.0.1 . 80 accept\n}",
        3,
        "use concatenations with sets and maps",
    ),
    (
        "dnat port without a protocol match",
        "chain c {\ntype nat hook prerouting priority dstnat;\nip daddr 10.0.0.1 dnat ip to 10.0.0.2:80\n}",
        4,
        "transport protocol mapping is only valid after transport protocol match",
    ),
    (
        "dnat port after th dport only",
        "chain c {\ntype nat hook prerouting priority dstnat;\nth dport 80 dnat ip to 10.0.0.2:80\n}",
        4,
        "transport protocol mapping is only valid after transport protocol match",
    ),
    (
        "dnat map to a port without a protocol match",
        "map m {\ntypeof ip daddr . th dport : ip daddr . th dport\n}\nchain c {\n"
        "type nat hook prerouting priority dstnat;\nmeta l4proto != udp dnat ip to ip daddr . th dport map @m\n}",
        7,
        "transport protocol mapping is only valid after transport protocol match",
    ),
    ("bad address", "chain c {\nip daddr 10.0.0.300 accept\n}", 3, "invalid ipv4_addr value '10.0.0.300'"),
    ("v6 value for v4", "chain c {\nip daddr fd00::1 accept\n}", 3, "invalid ipv4_addr value 'fd00::1'"),
    ("port out of range", "chain c {\nth dport 70000 accept\n}", 3, "invalid inet_service value '70000'"),
    ("unknown ct state", "chain c {\nct state bogus accept\n}", 3, "unknown ct_state value 'bogus'"),
    ("value list without set", "chain c {\nth dport 80,443 accept\n}", 3, "a list of values needs a set"),
    ("vmap on a plain set", "set s { type ipv4_addr; }\nchain c {\nip daddr vmap @s\n}", 4, "is not a verdict map"),
    ("dnat without family", "chain c {\ndnat to 10.0.0.1\n}", 3, "dnat in an inet table needs 'ip' or 'ip6'"),
    ("reject in a vmap", "chain c {\nth dport vmap { 80 : reject }\n}", 3, "'reject' is not a verdict"),
    (
        "more elements than the size",
        "set s {\ntype ipv4_addr\nsize 2\nelements = { 10.0.0.1, 10.0.0.2, 10.0.0.3 }\n}",
        2,
        "holds 3 elements, more than its size",
    ),
    ("jump to a base chain", "chain a {\ntype filter hook input priority 0;\n}\nchain b {\njump a\n}", 6, "base chain"),
]


@pytest.mark.parametrize(("name", "body", "line", "message"), BAD, ids=[b[0] for b in BAD])
def test_unknown_or_invalid_constructs_name_their_line(name: str, body: str, line: int, message: str) -> None:
    text = table(body)
    with pytest.raises(InterpreterError) as caught:
        Ruleset.parse(text)
    error = caught.value
    assert error.line == line, str(error)
    assert message in error.message, str(error)
    assert error.text == text.split("\n")[line - 1].strip()
    assert str(error).startswith(f"line {line}: ")


def test_other_families_and_commands_are_refused() -> None:
    with pytest.raises(InterpreterError, match=r"^line 1: unsupported table family 'ip'"):
        Ruleset.parse("table ip t {\n}\n")
    with pytest.raises(InterpreterError, match=r"^line 2: unknown command 'flush'"):
        Ruleset.parse("table inet t\nflush ruleset\n")
    with pytest.raises(InterpreterError, match=r"^line 1: delete of table inet t, which does not exist"):
        Ruleset.parse("delete table inet t\n")


NOISE = [
    "{",
    "}",
    ";",
    ",",
    ":",
    ".",
    "@x",
    "-",
    "0x",
    "/",
    "==",
    "!=",
    '"',
    "\n",
    "ip",
    "numgen",
    "mod",
    "0",
    "9" * 12,
]


@settings(max_examples=300, deadline=None)
@given(
    text=st.sampled_from([FORWARD_POLICY, HOOKS, JUMPS, VMAPS, SETS, NUMGEN, MARKS, STATEFUL]),
    edits=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 10_000), st.sampled_from(NOISE)), min_size=1, max_size=3
    ),
)
def test_damaged_text_raises_interpreter_error_or_parses(text: str, edits: list[tuple[int, int, str]]) -> None:
    """Never a traceback: truncated, shortened, repeated or garbled text is refused with a line, or still valid."""
    words = text.split(" ")
    for op, where, noise in edits:
        k = where % len(words)
        if op == 0:
            words = words[: max(k, 1)]
        elif op == 1 and len(words) > 1:
            del words[k]
        elif op == 2:
            words.insert(k, words[(k * 7) % len(words)])
        else:
            words[k] = noise
    damaged = " ".join(words)
    try:
        ruleset = Ruleset.parse(damaged)
    except InterpreterError as error:
        assert 1 <= error.line <= damaged.count("\n") + 1, str(error)
        return
    for pkt in (packet("10.0.0.1", "10.96.0.1"), packet("fd00::1", "fd00::2", 53, UDP, Origin.NODE)):
        assert ruleset.evaluate(pkt, [NODE]).total == 1


# ───────────────────────────── speed ─────────────────────────────


def big_ruleset(services: int) -> str:
    frontends, endpoints, ips = [], [], []
    for i in range(services):
        ip = IPv4Address(int(IPv4Address("10.96.0.0")) + i + 1)
        frontends.append(f'{ip} . tcp . 80 comment "ns/s{i}:80" : goto endpoints-2,')
        ips.append(f"{ip},")
        for k in range(2):
            endpoints.append(f"{ip} . tcp . 80 . {k} : 10.{i % 200}.{i // 200 % 250}.{k + 1} . 8080,")
    nl = "\n"
    return table(
        f"""
    set cluster-ips {{ type ipv4_addr; elements = {{ {nl.join(ips)} }} }}
    map frontends {{ type ipv4_addr . inet_proto . inet_service : verdict; elements = {{ {nl.join(frontends)} }} }}
    map endpoints {{
        typeof ip daddr . meta l4proto . th dport . numgen random mod 1 : ip daddr . th dport
        elements = {{ {nl.join(endpoints)} }}
    }}
    chain pre {{
        type nat hook prerouting priority dstnat; policy accept;
        ip daddr . meta l4proto . th dport vmap @frontends
        ip daddr @cluster-ips reject
    }}
    chain endpoints-2 {{
        dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 2 map @endpoints
    }}
"""
    )


def test_ten_thousand_services_evaluate_by_lookup() -> None:
    """Maps of 10k elements are looked up, not scanned, as the kernel does (the per-packet cost at 1k
    and 10k Services is measured side by side in bench/evaluate.py, not here)."""
    ruleset = Ruleset.parse(big_ruleset(10_000))
    packets = [packet("10.244.0.1", str(IPv4Address(int(IPv4Address("10.96.0.0")) + i))) for i in range(1, 10_001, 10)]
    outcomes = [ruleset.evaluate(p, [NODE]) for p in packets]
    assert all(o.total == 1 for o in outcomes)
    assert outcomes[-1].distribution == {  # the Service with index 9990
        delivered("10.190.49.1", 8080): Fraction(1, 2),
        delivered("10.190.49.2", 8080): Fraction(1, 2),
    }
    assert ruleset.evaluate(packet("10.244.0.1", "10.96.0.1", 81), [NODE]).distribution == {REJECTED: 1}


# ───────────────────────────── nft agrees (kernel) ─────────────────────────────

ACCEPTED_BY_BOTH = [FORWARD_POLICY, TWO_FORWARD_CHAINS, HOOKS, JUMPS, VMAPS, SETS, NUMGEN, MARKS, STATEFUL, DATATYPES]


def nft_load(text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Load `text` for real in a throwaway network namespace: `nft -c` skips the kernel's validation of
    chains reached by jumps (hooks of nat statements, loops), a real commit does not."""
    script = tmp_path / "ruleset.nft"
    script.write_text(text)
    nft, unshare = shutil.which("nft"), shutil.which("unshare")
    assert nft is not None and unshare is not None
    return subprocess.run([unshare, "--net", nft, "-f", str(script)], capture_output=True, text=True, check=False)


@pytest.mark.kernel
@pytest.mark.parametrize("text", ACCEPTED_BY_BOTH)
def test_nft_accepts_what_the_interpreter_accepts(text: str, tmp_path: Path) -> None:
    Ruleset.parse(text)
    result = nft_load(text, tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.kernel
@pytest.mark.parametrize(
    "name",
    [
        "conflicting intervals",
        "dnat in a filter chain",
        "masquerade outside postrouting",
        "reject at postrouting",
        "loop",
        "dstnat at output",
        "concatenation with a singleton",
        "dnat port without a protocol match",
        "dnat port after th dport only",
        "dnat map to a port without a protocol match",
        "statement after verdict",
        "prefix without interval",
        "more elements than the size",
    ],
)
def test_nft_refuses_what_the_interpreter_refuses(name: str, tmp_path: Path) -> None:
    body = next(b for n, b, _, _ in BAD if n == name)
    text = table(body)
    with pytest.raises(InterpreterError):
        Ruleset.parse(text)
    assert nft_load(text, tmp_path).returncode != 0


# ───────────────────────────── the input interface (iifname) ─────────────────────────────


def interface_table() -> str:
    """A ruleset built with the IR (nft/statements.py: `IIFNAME`, `InterfaceName`) and rendered by
    nft/syntax.py, as the compiler builds kube-proxy's interface detect-local matches."""
    t = IRTable("t", comment="iifname")
    t.add_chain("pre", "entry", Base(ChainType.FILTER, Hook.PREROUTING, "0"))
    t.add_rule("pre", Match(IIFNAME, InterfaceName("cbr0")), DROP, comment="the bridge exactly")
    t.add_rule("pre", Match(IIFNAME, InterfaceName("veth", prefix=True)), Reject(), comment="any veth")
    t.add_rule("pre", Match(IIFNAME, InterfaceName("eth", prefix=True), Op.NE), MarkSet(MarkOp.OR, MarkValue(1)))
    return render(t.finish(), [])


def test_iifname_exact_and_wildcard() -> None:
    text = interface_table()
    assert 'iifname "cbr0" drop' in text and 'iifname "veth*" reject' in text and 'iifname != "eth*"' in text
    ruleset = Ruleset.parse(text)
    expected = {"cbr0": DROPPED, "cbr01": None, "cbr": None, "veth": REJECTED, "veth0a1b": REJECTED}
    expected |= {"vet": None, "eth0": None, "": None}
    for iif, verdict in expected.items():
        pkt = Packet(ip_address("10.244.0.5"), ip_address("10.0.0.1"), TCP, 80, iif=iif)
        outcome = ruleset.evaluate(pkt, [NODE])
        assert list(outcome.distribution) == [verdict or delivered("10.0.0.1", 80)], (iif, outcome.describe())
    # the node's own packets have no input interface: "" matches no name and no prefix
    mine = Ruleset.parse(table(IIF_OUTPUT)).evaluate(packet(str(NODE), "10.0.0.1", origin=Origin.NODE), [NODE])
    assert list(mine.distribution) == [delivered("10.0.0.1", 80)]


IIF_OUTPUT = """\
	chain out {
		type filter hook output priority 0; policy accept;
		meta iifname "veth*" drop
		iifname "lo" drop
	}"""


@pytest.mark.parametrize(
    ("rule", "gist"),
    [
        ('iifname "a*b" drop', "invalid ifname"),
        ('iifname "an-interface-name" drop', "invalid ifname"),  # 17 bytes: longer than IFNAMSIZ
        ('iifname "*" drop', "invalid ifname"),  # a wildcard needs a prefix
        ('iifname "cbr0", "cbr1" drop', ""),  # lists need a set
    ],
)
def test_iifname_refuses_what_it_does_not_know(rule: str, gist: str) -> None:
    body = f"\tchain c {{\n\t\ttype filter hook prerouting priority 0;\n\t\t{rule}\n\t}}"
    with pytest.raises(InterpreterError) as caught:
        Ruleset.parse(table(body))
    assert gist in str(caught.value)


@pytest.mark.kernel
def test_nft_loads_the_interface_matches(tmp_path: Path) -> None:
    for text in (interface_table(), table(IIF_OUTPUT)):
        result = nft_load(text, tmp_path)
        assert result.returncode == 0, result.stderr
