"""The interpreter of the iptables back end's text (netcompile.verify.iptables): every word of its closed
vocabulary on small hand-written iptables-restore and ipset texts, the kernel's path and traversal
semantics, exact statistic probabilities, and the errors that keep the vocabulary closed.

Kernel tests (marker `kernel`, at the end) load such texts into a real node of network
namespaces and compare the interpreter's verdicts with what the kernel does to real packets.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from fractions import Fraction
from ipaddress import ip_address

import pytest

from netcompile.model import IPAddress, Protocol
from netcompile.verify.iptables import (
    InterpreterError,
    Ruleset,
    cascade,
    kube_proxy_cascade,
    quantized,
    statistic_threshold,
)
from netcompile.verify.packet import Origin, Outcome, Packet, Result, Verdict
from tests.conftest import IN_CI

NODE = ip_address("192.168.0.1")
NODE6 = ip_address("fd00::1")
TCP, UDP, SCTP = Protocol.TCP, Protocol.UDP, Protocol.SCTP
_CHAIN = re.compile(r"(?:-A|-j|-g) (NC-[A-Za-z0-9_.:+-]+)")


def block(table: str, rules: list[str], policies: dict[str, str] | None = None) -> str:
    """One `*table` block: its NC-* chains (found in the rules) declared, the rules, COMMIT."""
    chains = sorted({m.group(1) for rule in rules for m in _CHAIN.finditer(rule)})
    head = [f":{name} {policy} [0:0]" for name, policy in (policies or {}).items()]
    return "\n".join([f"*{table}", *head, *(f":{c} - [0:0]" for c in chains), *rules, "COMMIT"])


def text(ipset: str = "", nat: list[str] | None = None, filter_: list[str] | None = None, v6: str = "") -> str:
    v4 = "\n".join(block(t, rules) for t, rules in (("nat", nat), ("filter", filter_)) if rules is not None)
    return (
        "# a header comment\n# netcompile section: ipset\n"
        f"{ipset}\n# netcompile section: iptables\n{v4}\n# netcompile section: ip6tables\n{v6}\n"
    )


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


def run(rules: str, pkt: Packet, local: tuple[IPAddress, ...] = (NODE, NODE6)) -> Outcome:
    outcome = Ruleset.parse(rules).evaluate(pkt, local)
    assert outcome.total == 1
    return outcome


def only(rules: str, pkt: Packet, local: tuple[IPAddress, ...] = (NODE, NODE6)) -> Result:
    outcome = run(rules, pkt, local)
    assert len(outcome.distribution) == 1, outcome.describe()
    return next(iter(outcome.distribution))


def delivered(dst: str, dport: int, masquerade: bool = False) -> Result:
    return Result(Verdict.DELIVERED, ip_address(dst), dport, masquerade)


DROPPED, REJECTED = Result.dropped(), Result.rejected()
CLIENT, POD, VIP = "10.0.0.9", "10.244.1.5", "10.96.0.10"


def refused(rules: str, pattern: str, at: str | None = None) -> InterpreterError:
    """Parsing `rules` fails with `pattern`, naming the last line that is `at` (stripped) in the whole file."""
    with pytest.raises(InterpreterError, match=pattern) as info:
        Ruleset.parse(rules)
    if at is not None:
        lines = [raw.strip() for raw in rules.split("\n")]
        assert info.value.line == (len(lines) - lines[::-1].index(at) if at else 0), info.value  # the last such line
        assert info.value.text == at, info.value
    return info.value


# --- sections and words --------------------------------------------------------------------------------


def test_sections_and_the_separate_texts_read_the_same() -> None:
    ipset = "create nc-a hash:ip family inet\nadd nc-a 10.244.1.5"
    v4 = block("filter", ["-A FORWARD -m set --match-set nc-a dst -j DROP"])
    whole = Ruleset.parse(text(ipset, filter_=["-A FORWARD -m set --match-set nc-a dst -j DROP"]))
    separate = Ruleset.parse_sections(ipset, v4, "")
    for ruleset in (whole, separate):
        assert ruleset.evaluate(packet(CLIENT, POD), [NODE]).distribution == {DROPPED: 1}
        assert ruleset.evaluate(packet(CLIENT, "10.244.1.6"), [NODE]).distribution == {delivered("10.244.1.6", 80): 1}
    with pytest.raises(InterpreterError, match=r"^line 2: iptables: unknown option '--bogus'"):
        Ruleset.parse_sections("", "*filter\n-A FORWARD --bogus\nCOMMIT", "")


@pytest.mark.parametrize(
    ("rules", "pattern", "at"),
    [
        ("# netcompile section: iptables\n", r"out of order: 'ipset' comes next", "# netcompile section: iptables"),
        (
            "# netcompile section: ipset\n# netcompile section: ip6tables\n",
            r"out of order: 'iptables'",
            "# netcompile section: ip6tables",
        ),
        ("# netcompile section: ipset\n# netcompile section: iptables\n", r"missing section\(s\): ip6tables", ""),
        ("*filter\n# netcompile section: ipset\n", r"text before the first section", "*filter"),
        ("# netcompile section: nft\n", r"unknown section", "# netcompile section: nft"),
    ],
)
def test_sections_are_checked(rules: str, pattern: str, at: str) -> None:
    refused(rules, pattern, at)


def test_quoted_words_and_errors_name_the_line_of_the_whole_file() -> None:
    rules = text(filter_=['-A FORWARD -m comment --comment "a \\"quoted\\" comment, with  spaces" -j ACCEPT'])
    outcome = run(rules, packet(CLIENT, POD))
    assert outcome.path == ['filter/FORWARD: -j ACCEPT  # a "quoted" comment, with  spaces']
    refused(
        text(filter_=['-A FORWARD -m comment --comment "open -j ACCEPT']),
        "unterminated quote",
        '-A FORWARD -m comment --comment "open -j ACCEPT',
    )
    refused(text(filter_=["-A FORWARD -m comment --comment 'single quoted' -j ACCEPT"]), r"unknown option \"quoted'\"")


# --- the path: hooks and tables in kernel order --------------------------------------------------------

EVERY_BUILTIN = {
    "nat": ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
    "filter": ["INPUT", "FORWARD", "OUTPUT"],
}


def tracing() -> str:
    """Every built-in chain of both tables with one rule that matches and goes on."""
    rules = {t: [f"-A {c} -m comment --comment {t}-{c}" for c in chains] for t, chains in EVERY_BUILTIN.items()}
    return text(nat=rules["nat"], filter_=rules["filter"])


@pytest.mark.parametrize(
    ("pkt", "expected"),
    [
        (packet(CLIENT, POD), ["nat-PREROUTING", "filter-FORWARD", "nat-POSTROUTING"]),
        (packet(CLIENT, str(NODE)), ["nat-PREROUTING", "filter-INPUT", "nat-INPUT"]),
        (packet(str(NODE), POD, origin=Origin.NODE), ["nat-OUTPUT", "filter-OUTPUT", "nat-POSTROUTING"]),
        (
            packet(str(NODE), str(NODE), origin=Origin.NODE),
            ["nat-OUTPUT", "filter-OUTPUT", "filter-INPUT", "nat-INPUT"],
        ),
        (packet(CLIENT, POD, ct_state="established"), ["filter-FORWARD"]),
        (packet(POD, CLIENT, ct_state="related"), ["filter-FORWARD"]),
    ],
)
def test_hooks_and_tables_in_kernel_order_nat_for_new_connections_only(pkt: Packet, expected: list[str]) -> None:
    outcome = run(tracing(), pkt)
    assert [step.split("# ")[1] for step in outcome.path] == expected
    assert outcome.distribution == {Result(Verdict.DELIVERED, pkt.dst, pkt.dport): 1}


def test_ipv6_packets_meet_the_ip6tables_section_only() -> None:
    v6 = block(
        "filter", ["-A FORWARD -d fd00:244::/64 -p tcp --dport 80 -j REJECT --reject-with icmp6-port-unreachable"]
    )
    rules = text(filter_=["-A FORWARD -j DROP"], v6=v6)
    assert only(rules, packet("fd00::9", "fd00:244::5")) == REJECTED
    assert only(rules, packet("fd00::9", "fd00:244::5", 81)) == delivered("fd00:244::5", 81)
    assert only(rules, packet(CLIENT, POD)) == DROPPED


# --- traversal: ACCEPT, RETURN, jumps, gotos, policies --------------------------------------------------


def test_accept_ends_the_whole_table_at_this_hook_not_only_the_chain() -> None:
    rules = text(filter_=["-A FORWARD -j NC-A", "-A FORWARD -j DROP", "-A NC-A -p tcp -j ACCEPT"])
    assert only(rules, packet(CLIENT, POD)) == delivered(POD, 80)  # the DROP after the jump is never reached
    assert only(rules, packet(CLIENT, POD, protocol=UDP)) == DROPPED  # NC-A fell through: back after the jump


def test_return_continues_after_the_jump_and_goto_returns_past_its_caller() -> None:
    rules = text(
        filter_=[
            "-A FORWARD -j NC-A",
            "-A FORWARD -p udp -j DROP",
            "-A NC-A -d 10.244.1.0/24 -g NC-B",
            "-A NC-A -j REJECT",
            "-A NC-B -p tcp -j RETURN",
            "-A NC-B -p sctp -j REJECT",
        ]
    )
    # tcp: NC-A -g NC-B, RETURN goes back to FORWARD after `-j NC-A`, not into NC-A (which would REJECT)
    assert only(rules, packet(CLIENT, POD)) == delivered(POD, 80)
    assert only(rules, packet(CLIENT, POD, protocol=UDP)) == DROPPED  # NC-B fell through: the same place
    assert only(rules, packet(CLIENT, POD, protocol=SCTP)) == REJECTED
    assert only(rules, packet(CLIENT, "10.244.2.5")) == REJECTED  # no goto: NC-A goes on to its REJECT


def test_return_in_a_builtin_chain_and_falling_off_apply_its_policy() -> None:
    rules = text(filter_=["-A FORWARD -p udp -j RETURN", "-A FORWARD -p tcp -j NC-A", "-A NC-A -j RETURN"])
    drop_policy = rules.replace("*filter\n", "*filter\n:FORWARD DROP [0:0]\n")
    assert only(rules, packet(CLIENT, POD, protocol=UDP)) == delivered(POD, 80)
    assert only(drop_policy, packet(CLIENT, POD, protocol=UDP)) == DROPPED
    assert only(drop_policy, packet(CLIENT, POD)) == DROPPED
    assert run(drop_policy, packet(CLIENT, POD)).path[-1] == "filter/FORWARD: policy DROP"


def test_goto_from_a_builtin_chain_falls_back_to_its_policy() -> None:
    rules = text(filter_=["-A FORWARD -g NC-A", "-A FORWARD -j REJECT", "-A NC-A -p udp -j DROP"])
    assert only(rules, packet(CLIENT, POD)) == delivered(POD, 80)  # never back to the REJECT
    assert only(rules, packet(CLIENT, POD, protocol=UDP)) == DROPPED


def test_a_rule_without_target_counts_and_goes_on() -> None:
    outcome = run(text(filter_=["-A FORWARD -p tcp", "-A FORWARD -p tcp -j DROP"]), packet(CLIENT, POD))
    assert outcome.distribution == {DROPPED: 1}
    assert outcome.path == ["filter/FORWARD: -p tcp", "filter/FORWARD: -p tcp -j DROP"]


# --- NAT --------------------------------------------------------------------------------------------------


def test_dnat_then_forward_sees_the_new_destination_and_the_dnat_state() -> None:
    rules = text(
        nat=["-A PREROUTING -d 10.96.0.10 -p tcp --dport 80 -j DNAT --to-destination 10.244.1.5:8080"],
        filter_=[
            "-A FORWARD -m conntrack --ctstate DNAT -d 10.244.1.5 -p tcp --dport 8080 -j NC-SEEN",
            "-A FORWARD -j DROP",
            "-A NC-SEEN -m conntrack ! --ctstate SNAT -j ACCEPT",
        ],
    )
    assert only(rules, packet(CLIENT, VIP)) == delivered(POD, 8080)
    assert only(rules, packet(CLIENT, POD, 8080)) == DROPPED  # not DNATed: no DNAT state


def test_dnat_to_a_node_address_is_delivered_locally_and_without_port_keeps_the_port() -> None:
    rules = text(
        nat=["-A PREROUTING -d 10.96.0.10 -j DNAT --to-destination 192.168.0.1"],
        filter_=["-A INPUT -p tcp --dport 80 -j REJECT --reject-with tcp-reset", "-A FORWARD -j DROP"],
    )
    assert only(rules, packet(CLIENT, VIP)) == REJECTED  # routed to INPUT after DNAT, not FORWARD
    assert only(rules, packet(CLIENT, VIP, 81)) == delivered(str(NODE), 81)


def test_masquerade_and_the_mark_it_reads_persist_across_tables() -> None:
    rules = text(
        nat=[
            "-A PREROUTING -s 10.0.0.0/24 -j MARK --set-xmark 0x4000/0x4000",
            "-A POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
            "-A POSTROUTING -j MARK --xor-mark 0x4000",
            "-A POSTROUTING -m mark --mark 0x0/0x4000 -j MASQUERADE --random-fully",
        ],
        filter_=["-A FORWARD -m mark --mark 0x4000/0x4000 -p udp -j DROP"],
    )
    assert only(rules, packet(CLIENT, POD)) == delivered(POD, 80, masquerade=True)
    assert only(rules, packet(CLIENT, POD, protocol=UDP)) == DROPPED
    assert only(rules, packet("10.0.1.9", POD)) == delivered(POD, 80)


def test_nat_ends_its_traversal_and_established_packets_skip_nat() -> None:
    rules = text(
        nat=[
            "-A OUTPUT -p tcp -d 10.96.0.10 -j DNAT --to-destination 10.244.1.5:8080",
            "-A OUTPUT -j DNAT --to-destination 10.244.9.9",
            "-A POSTROUTING -j MASQUERADE",
            "-A POSTROUTING -j MARK --set-mark 1",
        ]
    )
    node = str(NODE)
    assert only(rules, packet(node, VIP, origin=Origin.NODE)) == delivered(POD, 8080, masquerade=True)
    assert only(rules, packet(node, VIP, origin=Origin.NODE, ct_state="established")) == delivered(VIP, 80)


# --- matches ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "hits", "misses"),
    [
        ("-s 10.0.0.0/24", [packet(CLIENT, POD)], [packet("10.0.1.1", POD)]),
        ("! -s 10.0.0.0/24", [packet("10.0.1.1", POD)], [packet(CLIENT, POD)]),
        ("-d 10.244.1.5", [packet(CLIENT, POD)], [packet(CLIENT, "10.244.1.6")]),
        ("! -d 10.244.1.0/25", [packet(CLIENT, "10.244.1.200")], [packet(CLIENT, POD)]),
        ("-p udp", [packet(CLIENT, POD, protocol=UDP)], [packet(CLIENT, POD)]),
        ("! -p tcp", [packet(CLIENT, POD, protocol=SCTP)], [packet(CLIENT, POD)]),
        ("-p all", [packet(CLIENT, POD, protocol=SCTP)], []),
        ("-p 132", [packet(CLIENT, POD, protocol=SCTP)], [packet(CLIENT, POD, protocol=UDP)]),
        ("-p tcp -m tcp --dport 80:90", [packet(CLIENT, POD, 90)], [packet(CLIENT, POD, 91)]),
        ("-p tcp --dport 80", [packet(CLIENT, POD, 80)], [packet(CLIENT, POD, 81)]),
        ("-p udp -m udp ! --dport 53", [packet(CLIENT, POD, 54, UDP)], [packet(CLIENT, POD, 53, UDP)]),
        ("-p sctp -m sctp --dport :100", [packet(CLIENT, POD, 100, SCTP)], [packet(CLIENT, POD, 101, SCTP)]),
        ("-p tcp -m tcp --sport 40000: --dport 80", [packet(CLIENT, POD)], [packet(CLIENT, POD, sport=39999)]),
        ("-p tcp -m multiport --dports 22,80:81,443", [packet(CLIENT, POD, 81)], [packet(CLIENT, POD, 82)]),
        ("-p tcp -m multiport ! --dports 80,443", [packet(CLIENT, POD, 81)], [packet(CLIENT, POD, 443)]),
        ("-p tcp -m multiport --ports 40000", [packet(CLIENT, POD, 1)], [packet(CLIENT, POD, 1, sport=1)]),
        (
            "-p udp -m multiport --sports 1000",
            [packet(CLIENT, POD, 1, UDP, sport=1000)],
            [packet(CLIENT, POD, 1000, UDP)],
        ),
        ("-m conntrack --ctstate NEW", [packet(CLIENT, POD)], [packet(CLIENT, POD, ct_state="established")]),
        (
            "-m conntrack --ctstate ESTABLISHED,RELATED",
            [packet(CLIENT, POD, ct_state="related")],
            [packet(CLIENT, POD)],
        ),
        ("-m conntrack ! --ctstate NEW", [packet(CLIENT, POD, ct_state="established")], [packet(CLIENT, POD)]),
        (
            "-m conntrack --ctstatus CONFIRMED,ASSURED",
            [packet(CLIENT, POD, ct_state="established")],
            [packet(CLIENT, POD)],
        ),
        ("-m conntrack ! --ctstatus SEEN_REPLY", [packet(CLIENT, POD)], [packet(CLIENT, POD, ct_state="established")]),
        ("-m addrtype --dst-type LOCAL", [packet(CLIENT, str(NODE))], [packet(CLIENT, POD)]),
        ("-m addrtype ! --dst-type LOCAL", [packet(CLIENT, POD)], [packet(CLIENT, str(NODE))]),
        ("-m addrtype --dst-type UNICAST,BROADCAST", [packet(CLIENT, POD)], [packet(CLIENT, str(NODE))]),
        ("-m addrtype --src-type LOCAL", [packet(str(NODE), str(NODE))], [packet(CLIENT, str(NODE))]),
        ("-m mark --mark 0", [packet(CLIENT, POD)], []),
        ("-m mark ! --mark 0x0/0x4000", [], [packet(CLIENT, POD)]),
    ],
)
def test_each_match(rule: str, hits: list[Packet], misses: list[Packet]) -> None:
    rules = text(filter_=[f"-A INPUT {rule} -j DROP", f"-A FORWARD {rule} -j DROP"])
    for pkt in hits:
        assert only(rules, pkt) == DROPPED, (rule, str(pkt))
    for pkt in misses:
        assert only(rules, pkt) != DROPPED, (rule, str(pkt))


@pytest.mark.parametrize(
    ("rule", "iif", "hits"),
    [
        ("-i veth1", "veth1", True),
        ("-i veth1", "veth12", False),
        ("-i veth+", "veth12", True),
        ("-i veth+", "eth0", False),
        ("! -i veth+", "eth0", True),
        ("-i +", "", True),
        ("-i eth0", "", False),
        ("! -i eth0", "", True),
    ],
)
def test_input_interface(rule: str, iif: str, hits: bool) -> None:
    rules = text(filter_=[f"-A FORWARD {rule} -j DROP", "-A OUTPUT -j NC-A", f"-A NC-A {rule} -j DROP"])
    pkt = Packet(ip_address(CLIENT), ip_address(POD), TCP, 80, iif=iif)
    assert (only(rules, pkt) == DROPPED) == hits
    node = Packet(NODE, ip_address(POD), TCP, 80, origin=Origin.NODE, iif=iif)  # no input interface
    assert (only(rules, node) == DROPPED) == (rule in ("-i +", "! -i eth0", "! -i veth+"))


@pytest.mark.parametrize(
    ("target", "start", "mark"),
    [
        ("--set-xmark 0x4000/0x4000", 0x1, 0x4001),
        ("--set-xmark 0x4000/0x4000", 0x4001, 0x4001),
        ("--set-xmark 0x5", 0xFFFF, 0x5),
        ("--set-mark 0x2/0xff", 0x1F0F, 0x1F02),
        ("--set-mark 0x7", 0x100, 0x7),
        ("--and-mark 0xff", 0x1234, 0x34),
        ("--or-mark 0x4000", 0x1, 0x4001),
        ("--xor-mark 0x4000", 0x4001, 0x1),
    ],
)
def test_mark_targets(target: str, start: int, mark: int) -> None:
    """Start from `start` (a first --set-xmark), apply the target, then read the mark with -m mark."""
    rules = text(
        filter_=[
            f"-A FORWARD -j MARK --set-xmark {start:#x}/0xffffffff",
            f"-A FORWARD -j MARK {target}",
            f"-A FORWARD -m mark --mark {mark:#x} -j DROP",
        ]
    )
    assert only(rules, packet(CLIENT, POD)) == DROPPED


@pytest.mark.parametrize(
    ("how", "proto"),
    [
        ("", TCP),
        ("--reject-with icmp-port-unreachable", UDP),
        ("--reject-with icmp-host-prohibited", SCTP),
        ("-p tcp --reject-with tcp-reset", TCP),
    ],
)
def test_reject_variants(how: str, proto: Protocol) -> None:
    rules = text(filter_=[f"-A FORWARD -j REJECT {how}".replace("-j REJECT -p tcp", "-p tcp -j REJECT")])
    assert only(rules, packet(CLIENT, POD, protocol=proto)) == REJECTED


# --- ipsets -----------------------------------------------------------------------------------------------


def set_rule(create: str, adds: list[str], flags: str, invert: bool = False) -> str:
    ipset = "\n".join([f"create nc-s {create}", *(f"add nc-s {a}" for a in adds)])
    negate = "! " if invert else ""
    return text(ipset, filter_=[f"-A FORWARD -m set {negate}--match-set nc-s {flags} -j DROP"])


@pytest.mark.parametrize(
    ("create", "adds", "flags", "hits", "misses"),
    [
        ("hash:ip family inet", ["10.244.1.5"], "dst", [packet(CLIENT, POD)], [packet(POD, CLIENT)]),
        (
            "hash:ip family inet",
            ["10.244.1.4/30"],
            "dst",
            [packet(CLIENT, "10.244.1.7")],
            [packet(CLIENT, "10.244.1.8")],
        ),
        ("hash:ip", ["10.244.1.1-10.244.1.5"], "src", [packet(POD, CLIENT)], [packet("10.244.1.6", CLIENT)]),
        (
            "hash:net family inet",
            ["10.244.0.0/16", "10.244.1.0/24 nomatch", "10.244.1.5/32"],
            "dst",
            [packet(CLIENT, POD), packet(CLIENT, "10.244.2.1")],
            [packet(CLIENT, "10.244.1.6"), packet(CLIENT, "10.245.0.1")],
        ),
        (
            "hash:ip,port family inet",
            ["10.244.1.5,tcp:80", "10.244.1.5,udp:53-54", "10.244.1.5,8080"],
            "dst,dst",
            [packet(CLIENT, POD), packet(CLIENT, POD, 54, UDP), packet(CLIENT, POD, 8080)],
            [packet(CLIENT, POD, 80, UDP), packet(CLIENT, POD, 53), packet(CLIENT, POD, 55, UDP)],
        ),
        (
            "hash:ip,port family inet",
            ["10.244.1.5,sctp:40000"],
            "dst,src",
            [packet(CLIENT, POD, 1, SCTP)],
            [packet(CLIENT, POD, 40000, SCTP, sport=1)],
        ),
        (
            "hash:net,port family inet",
            ["10.0.0.0/24,tcp:80"],
            "src,dst",
            [packet(CLIENT, POD)],
            [packet(POD, CLIENT), packet(CLIENT, POD, 81)],
        ),
        (
            "hash:ip,port,ip family inet",
            ["10.244.1.5,tcp:80,10.0.0.9"],
            "dst,dst,src",
            [packet(CLIENT, POD)],
            [packet("10.0.0.8", POD)],
        ),
        (
            "hash:ip,port,net family inet",
            ["10.244.1.5,tcp:80,10.0.0.0/24"],
            "dst,dst,src",
            [packet(CLIENT, POD)],
            [packet("10.0.1.9", POD)],
        ),
        (
            "hash:net,net family inet",
            ["10.0.0.0/24,10.244.0.0/16", "10.0.0.9,10.244.1.0/24 nomatch"],
            "src,dst",
            [packet(CLIENT, "10.244.2.1"), packet("10.0.0.8", POD)],
            [packet(CLIENT, POD), packet(POD, CLIENT)],
        ),
        (
            "hash:net,port,net family inet",
            ["10.0.0.0/24,udp:53,10.244.0.0/16"],
            "src,dst,dst",
            [packet(CLIENT, POD, 53, UDP)],
            [packet(CLIENT, POD, 53), packet(CLIENT, "10.245.0.1", 53, UDP)],
        ),
        (
            "bitmap:port range 0-1024",
            ["80-90", "1000"],
            "dst",
            [packet(CLIENT, POD, 85), packet(CLIENT, POD, 1000, UDP)],
            [packet(CLIENT, POD, 91), packet(CLIENT, POD, 85, SCTP)],  # bitmap:port reads TCP and UDP only
        ),
        (
            "hash:ip,port family inet",
            ["10.244.1.5,tcp:80"],
            "dst",  # fewer flags than dimensions: ip_set_test never matches
            [],
            [packet(CLIENT, POD)],
        ),
        (
            "hash:ip family inet",
            ["10.244.1.5"],
            "dst,src,dst",  # more flags than dimensions: the extra ones are ignored
            [packet(CLIENT, POD)],
            [],
        ),
    ],
)
def test_set_types_and_direction_flags(
    create: str, adds: list[str], flags: str, hits: list[Packet], misses: list[Packet]
) -> None:
    for invert in (False, True):
        rules = set_rule(create, adds, flags, invert)
        for pkt in hits:
            assert (only(rules, pkt) == DROPPED) != invert, (create, str(pkt), invert)
        for pkt in misses:
            assert (only(rules, pkt) == DROPPED) == invert, (create, str(pkt), invert)


def test_ipv6_sets_and_element_comments_in_the_path() -> None:
    ipset = 'create nc-s6 hash:ip,port family inet6 comment\nadd nc-s6 fd00:244::5,tcp:80 comment "ns/web:http"'
    v6 = block("filter", ["-A FORWARD -m set --match-set nc-s6 dst,dst -m comment --comment svc -j DROP"])
    outcome = run(text(ipset, v6=v6), packet("fd00::9", "fd00:244::5"))
    assert outcome.distribution == {DROPPED: 1}
    assert outcome.path == ["filter/FORWARD: -m set --match-set nc-s6 dst,dst -j DROP  # svc; ns/web:http"]


# --- statistic and recent ---------------------------------------------------------------------------------

CASCADE = [
    "-A PREROUTING -p tcp -d 10.96.0.10 --dport 80 -j NC-SVC",
    "-A NC-SVC -m statistic --mode random --probability 0.3333333333 -j NC-SEP-A",
    "-A NC-SVC -m statistic --mode random --probability 0.5000000000 -j NC-SEP-B",
    "-A NC-SVC -j NC-SEP-C",
    "-A NC-SEP-A -p tcp -j DNAT --to-destination 10.244.1.1:8080",
    "-A NC-SEP-B -p tcp -j DNAT --to-destination 10.244.1.2:8080",
    "-A NC-SEP-C -p tcp -j DNAT --to-destination 10.244.1.3:8080",
]


def test_a_three_endpoint_cascade_has_the_kernels_exact_probabilities_not_one_third() -> None:
    outcome = run(text(nat=CASCADE), packet(CLIENT, VIP))
    # 0.3333333333 * 2^31 = 715827882.6...: the kernel stores 715827883; 0.5 is exactly 2^30
    first = Fraction(715827883, 2**31)
    rest = (1 - first) / 2
    assert outcome.distribution == {
        delivered("10.244.1.1", 8080): first,
        delivered("10.244.1.2", 8080): rest,
        delivered("10.244.1.3", 8080): rest,
    }
    assert rest == Fraction(1431655765, 2**32) and first != Fraction(1, 3) and rest != Fraction(1, 3)
    assert list(outcome.distribution.values()) == kube_proxy_cascade(3)
    assert sum(kube_proxy_cascade(3)) == 1


def test_quantized_probabilities_and_cascades() -> None:
    assert statistic_threshold("0.5") == 2**30 and statistic_threshold("1") == 2**31
    assert statistic_threshold("0.25000000001") == 2**29  # 536870912.02 rounds down
    assert statistic_threshold(str(1.5 / 2**31)) == 2  # a half rounds away from zero (lround)
    assert statistic_threshold(str(2.5 / 2**31)) == 3
    assert statistic_threshold("1.5") is None and statistic_threshold("x") is None
    assert quantized("0.1") == Fraction(214748365, 2**31)
    assert cascade([]) == [1]
    assert cascade(["1"]) == [1, 0]
    for n in (1, 2):
        assert kube_proxy_cascade(n) == [Fraction(1, n)] * n  # 1 and 1/2 are exact in 31 bits; 1/3 is not
    for n in (3, 4, 5, 7, 10, 100):
        shares = kube_proxy_cascade(n)
        assert sum(shares) == 1 and len(shares) == n and set(shares) != {Fraction(1, n)}
        assert all(abs(s - Fraction(1, n)) < Fraction(1, 10**8) for s in shares)


def test_statistic_inverted_and_certain_rules_fork_only_where_both_branches_can_happen() -> None:
    rules = text(
        filter_=[
            "-A FORWARD -m statistic --mode random --probability 1.0 -j NC-A",
            "-A FORWARD -j DROP",
            "-A NC-A -m statistic --mode random --probability 0 -j REJECT",
            "-A NC-A -m statistic --mode random ! --probability 0.25 -j DROP",
        ]
    )
    ruleset = Ruleset.parse(rules)
    branches = list(ruleset.branches(packet(CLIENT, POD), [NODE]))
    assert [(b.probability, b.result) for b in branches] == [(Fraction(1, 4), DROPPED), (Fraction(3, 4), DROPPED)]
    # the 1/4 that fails `! --probability 0.25` falls off NC-A, back to FORWARD's DROP
    assert [b.path[-1] for b in branches] == [
        "filter/FORWARD: -j DROP",
        "filter/NC-A: -m statistic --mode random ! --probability 0.25 -j DROP",
    ]


def test_recent_lists_start_empty_and_set_then_rcheck_in_one_pass() -> None:
    rules = text(
        nat=[
            "-A PREROUTING -m recent --name NC-SEP-A --rcheck --seconds 9 --reap -j DNAT --to-destination 10.244.1.1",
            "-A PREROUTING -p tcp -m recent --name NC-SEP-B --set -j NC-B",
            "-A NC-B -m recent --name NC-SEP-B --rsource --rcheck -j DNAT --to-destination 10.244.1.2",
            "-A PREROUTING -p udp -m recent --name NC-SEP-C --rdest --set",
            "-A PREROUTING -m recent --name NC-SEP-C --rcheck -j DNAT --to-destination 10.244.9.9",
            "-A PREROUTING -m recent --name NC-SEP-C --rdest --rcheck -j DNAT --to-destination 10.244.1.3",
            "-A PREROUTING -m recent --name NC-SEP-A ! --rcheck -j DNAT --to-destination 10.244.1.4",
        ]
    )
    assert only(rules, packet(CLIENT, VIP)) == delivered("10.244.1.2", 80)
    assert only(rules, packet(CLIENT, VIP, protocol=UDP)) == delivered("10.244.1.3", 80)
    assert only(rules, packet(CLIENT, VIP, protocol=SCTP)) == delivered("10.244.1.4", 80)


# --- the vocabulary is closed ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "pattern"),
    [
        ("-A FORWARD -o eth0 -j DROP", r"unknown option '-o'"),
        ("-A FORWARD -i a-name-of-16-chars -j DROP", r"invalid interface name"),
        ("-A OUTPUT -i eth0 -j DROP", r"can't use -i with OUTPUT"),
        ("-A FORWARD -m limit --limit 1/s", r"unknown match 'limit'"),
        ("-A FORWARD -j LOG", r"unknown target or chain 'LOG'"),
        ("-A FORWARD -j NC-NOWHERE", r"unknown target or chain 'NC-NOWHERE'"),
        ("-A FORWARD -j FORWARD", r"cannot jump to built-in chain"),
        ("-A FORWARD -g ACCEPT", r"-g needs a chain"),
        ("-A FORWARD -p tcp --dport ! 80 -j DROP", r"refused by iptables 1.8: write '! --dport value'"),
        ("-A FORWARD -p tcp --dport http -j DROP", r"service names are not in the vocabulary"),
        ("-A FORWARD -m tcp --dport 80 -j DROP", r"-m tcp needs -p tcp"),
        ("-A FORWARD ! -p tcp -m tcp --dport 80", r"-m tcp needs -p tcp"),
        ("-A FORWARD -p tcp --dport 80 --dport 81", r"--dport given twice"),
        ("-A FORWARD -m multiport --dports 80", r"multiport needs -p"),
        ("-A FORWARD -p tcp -m multiport --dports " + ",".join(map(str, range(1, 17))), r"too many ports"),
        ("-A FORWARD -p tcp -j REJECT --reject-with icmp6-port-unreachable", r"unknown --reject-with"),
        ("-A FORWARD -p udp -j REJECT --reject-with tcp-reset", r"tcp-reset needs -p tcp"),
        ("-A FORWARD -m conntrack --ctstatus DNAT -j DROP", r"DNAT and SNAT are --ctstate values"),
        ("-A FORWARD -m conntrack --ctstate BOGUS -j DROP", r"unknown --ctstate 'BOGUS'"),
        ("-A FORWARD -m statistic --mode nth --every 2 -j DROP", r"unknown option '--every'"),
        ("-A FORWARD -m statistic --mode random --probability 1.5 -j DROP", r"a number from 0 to 1"),
        ("-A FORWARD -m statistic --mode random -j DROP", r"--probability must be specified"),
        ("-A FORWARD -m recent --name a --set --seconds 5", r"--set takes no --seconds"),
        ("-A FORWARD -m recent --name a --rcheck --reap", r"--reap needs --seconds"),
        ("-A FORWARD -m recent --name a --update", r"unknown option '--update'"),
        ("-A FORWARD -m recent --name a", r"exactly one of --set, --rcheck"),
        ("-A FORWARD -m addrtype --dst-type HOME", r"unknown address type 'HOME'"),
        ("-A FORWARD -m mark --mark 0x1/0x100000000", r"mask '0x100000000' out of range"),
        ("-A FORWARD -m set --match-set nc-none dst -j DROP", r"set 'nc-none' does not exist"),
        ("-A FORWARD -m set --match-set nc-x dst,out -j DROP", r"each is src or dst"),
        ("-A FORWARD -s fd00::1 -j DROP", r"not an IPv4 address"),
        ("-A FORWARD -s 10.0.0.0/255.0.0.0 -j DROP", r"a prefix length after '/'"),
        ("-A FORWARD -d 10.0.0.300 -j DROP", r"invalid address"),
        ("-A FORWARD ! -j DROP", r"'!' cannot negate -j"),
        ("-A FORWARD -j DROP ! ", r"'!' at the end"),
        ("-A FORWARD -j DROP -j ACCEPT", r"a rule has one target"),
        ("-A FORWARD -j MARK", r"MARK needs exactly one"),
        ("-A FORWARD -j DNAT --to-destination 10.0.0.1", r"DNAT is valid in the nat table only"),
        ("-A FORWARD -m comment", r"-m comment needs --comment"),
        ("-A FORWARD -m comment --comment " + "x" * 256, r"a comment longer than 255 bytes"),
        ("-A NC-MISSING -j DROP", r"chain 'NC-MISSING' does not exist"),
        ("-I FORWARD -j DROP", r"unknown line '-I'"),
    ],
)
def test_filter_rules_outside_the_vocabulary_are_refused_naming_the_line(rule: str, pattern: str) -> None:
    rules = text(filter_=[rule]).replace("\n:NC-MISSING - [0:0]", "").replace("\n:NC-NOWHERE - [0:0]", "")
    refused(rules, pattern, rule.strip())


@pytest.mark.parametrize(
    ("rules", "pattern", "at"),
    [
        (text(nat=["-A PREROUTING -j DROP"]), r'"nat" table is not intended for filtering', "-A PREROUTING -j DROP"),
        (text(nat=["-A PREROUTING -j REJECT"]), r"REJECT is valid in the filter table only", "-A PREROUTING -j REJECT"),
        (
            text(nat=["-A POSTROUTING -j NC-D", "-A NC-D -j DNAT --to-destination 1.2.3.4"]),
            r"DNAT is not valid from",
            "-A NC-D -j DNAT --to-destination 1.2.3.4",
        ),
        (
            text(nat=["-A PREROUTING -j NC-M", "-A NC-M -j MASQUERADE"]),
            r"MASQUERADE is not valid from",
            "-A NC-M -j MASQUERADE",
        ),
        (
            text(nat=["-A PREROUTING -j DNAT --to-destination 1.2.3.4:80"]),
            r"DNAT to a port needs -p",
            "-A PREROUTING -j DNAT --to-destination 1.2.3.4:80",
        ),
        (
            text(nat=["-A PREROUTING -p tcp -j DNAT --to-destination 1.2.3.4:80-90"]),
            r"a port range",
            "-A PREROUTING -p tcp -j DNAT --to-destination 1.2.3.4:80-90",
        ),
        (
            text(nat=["-A PREROUTING -j DNAT --to-destination 1.2.3.4-1.2.3.5"]),
            r"invalid --to-destination",
            "-A PREROUTING -j DNAT --to-destination 1.2.3.4-1.2.3.5",
        ),
        (text(filter_=["-A NC-A -j NC-B", "-A NC-B -g NC-A"]), r"reaches itself", "-A NC-B -g NC-A"),
        (text().replace("ip6tables\n", "ip6tables\n*mangle\nCOMMIT\n"), r"unknown table '\*mangle'", "*mangle"),
        (text().replace("ip6tables\n", "ip6tables\n*filter\n-A FORWARD -j DROP\n"), r"has no COMMIT", "*filter"),
        (
            text().replace("ip6tables\n", "ip6tables\n-A FORWARD -j DROP\n"),
            r"a line outside a table",
            "-A FORWARD -j DROP",
        ),
        (
            text().replace("ip6tables\n", "ip6tables\n*filter\n:NC-a-chain-name-of-29-charact - [0:0]\nCOMMIT\n"),
            r"1 to 28",
            ":NC-a-chain-name-of-29-charact - [0:0]",
        ),
        (
            text().replace("ip6tables\n", "ip6tables\n*filter\n:NC-A - [0:0]\n:NC-A - [0:0]\nCOMMIT\n"),
            r"declared twice",
            ":NC-A - [0:0]",
        ),
        (
            text().replace("ip6tables\n", "ip6tables\n*filter\n:FORWARD REJECT [0:0]\nCOMMIT\n"),
            r"ACCEPT or DROP",
            ":FORWARD REJECT [0:0]",
        ),
        (
            text().replace("ip6tables\n", "ip6tables\n*filter\n:NC-A ACCEPT [0:0]\nCOMMIT\n"),
            r"has no policy",
            ":NC-A ACCEPT [0:0]",
        ),
        (text().replace("ip6tables\n", "ip6tables\n*filter\nCOMMIT\n*filter\nCOMMIT\n"), r"given twice", "*filter"),
    ],
)
def test_tables_and_targets_outside_the_vocabulary_are_refused(rules: str, pattern: str, at: str) -> None:
    refused(rules, pattern, at)


@pytest.mark.parametrize(
    ("ipset", "pattern"),
    [
        ("create nc-a hash:mac", r"unknown set type 'hash:mac'"),
        ("create nc-a list:set", r"unknown set type 'list:set'"),
        ("create nc-a hash:ip netmask 24", r"unknown create option 'netmask'"),
        ("create nc-a hash:ip family inet7", r"unknown family"),
        ("create nc-a bitmap:port", r"needs 'range FROM-TO'"),
        ("create nc-a bitmap:port range 1-10 family inet", r"takes no family"),
        ("create nc-a hash:ip\ncreate nc-a hash:ip", r"created twice"),
        ("create nc-a-set-name-longer-than-31-chars hash:ip", r"invalid set name"),
        ("add nc-a 10.0.0.1", r"does not exist"),
        ("create nc-a hash:ip\nadd nc-a 10.0.0.1 comment x", r"created without 'comment'"),
        ("create nc-a hash:ip\nadd nc-a 10.0.0.1 timeout 5", r"created without 'timeout'"),
        ("create nc-a hash:ip\nadd nc-a 10.0.0.1 nomatch", r"nomatch needs a set type with a net dimension"),
        ("create nc-a hash:ip\nadd nc-a 10.0.0.1\nadd nc-a 10.0.0.1", r"already in set"),
        ("create nc-a hash:ip\nadd nc-a fd00::1", r"not an IPv4 address"),
        ("create nc-a hash:ip family inet6\nadd nc-a fd00::/64", r"takes single IPv6 addresses"),
        ("create nc-a hash:net\nadd nc-a 0.0.0.0/0", r"prefix of length 0"),
        ("create nc-a hash:ip,port\nadd nc-a 10.0.0.1", r"have 2 part"),
        ("create nc-a hash:ip,port\nadd nc-a 10.0.0.1,icmp:ping", r"protocol 'icmp'"),
        ("create nc-a hash:ip,port\nadd nc-a 10.0.0.1,tcp:http", r"invalid port 'http'"),
        ("create nc-a hash:ip,port maxelem 3\nadd nc-a 10.0.0.1,tcp:1-4", r"is full \(maxelem 3\)"),
        ("create nc-a bitmap:port range 1-10\nadd nc-a 11", r"outside the set's range"),
        ("swap nc-a nc-b", r"unknown ipset command 'swap'"),
    ],
)
def test_ipsets_outside_the_vocabulary_are_refused(ipset: str, pattern: str) -> None:
    refused(text(ipset), pattern, ipset.split("\n")[-1])  # the last line of the section is the culprit


def test_a_set_of_the_other_family_is_refused_by_its_rules() -> None:
    ipset = "create nc-s6 hash:ip family inet6"
    refused(
        text(ipset, filter_=["-A FORWARD -m set --match-set nc-s6 dst -j DROP"]),
        r"family inet6, not applicable",
        "-A FORWARD -m set --match-set nc-s6 dst -j DROP",
    )
    ports = "create nc-p bitmap:port range 0-100\nadd nc-p 80"  # bitmap:port has no family: both may use it
    v6 = block("filter", ["-A FORWARD -m set --match-set nc-p dst -j DROP"])
    rules = text(ports, filter_=["-A FORWARD -m set --match-set nc-p dst -j DROP"], v6=v6)
    assert only(rules, packet(CLIENT, POD)) == DROPPED
    assert only(rules, packet("fd00::9", "fd00:244::5")) == DROPPED


# --- the kernel agrees -------------------------------------------------------------------------------------

KERNEL_IPSET = """\
create nc-svc hash:ip,port family inet comment
add nc-svc 10.96.0.10,tcp:80 comment "svc http"
add nc-svc 10.96.0.10,tcp:81
add nc-svc 10.96.0.10,tcp:82
create nc-blocked hash:net family inet
add nc-blocked 10.0.2.0/24
add nc-blocked 10.0.2.2/32 nomatch
create nc-svc6 hash:ip,port family inet6
add nc-svc6 fd00:96::10,tcp:80
create nc-blocked6 hash:net family inet6
add nc-blocked6 fd00:2::/64
add nc-blocked6 fd00:2::2/128 nomatch
"""
KERNEL_NAT = [
    "-A PREROUTING -m comment --comment netcompile -j NC-PRE",
    "-A POSTROUTING -m comment --comment netcompile -j NC-POST",
    "-A NC-PRE -m set --match-set nc-svc dst,dst -j NC-SVC",
    "-A NC-SVC -p tcp -m tcp --dport 82 -j MARK --or-mark 0x4000",
    "-A NC-SVC -p tcp --dport 81 -j DNAT --to-destination 10.0.2.2:8081",
    "-A NC-SVC -m statistic --mode random --probability 0.0 -j DNAT --to-destination 10.0.2.3",
    "-A NC-SVC -p tcp -j DNAT --to-destination 10.0.2.2:8080",
    "-A NC-POST -m mark ! --mark 0x4000/0x4000 -j RETURN",
    "-A NC-POST -j MASQUERADE --random-fully",
]
KERNEL_FILTER = [
    "-A FORWARD -m comment --comment netcompile -j NC-FWD",
    "-A FORWARD -p tcp -m multiport --dports 8082,9002 -j DROP",
    "-A NC-FWD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
    "-A NC-FWD -m set --match-set nc-blocked dst -j DROP",
    "-A NC-FWD -p tcp --dport 8081 -m conntrack ! --ctstate DNAT -j REJECT --reject-with tcp-reset",
    "-A NC-FWD -p tcp --dport 8082 -j ACCEPT",
    "-A NC-FWD -p tcp --dport 9000 -j REJECT --reject-with icmp-port-unreachable",
    "-A NC-FWD -p tcp --dport 9001 -j DROP",
    "-A NC-FWD -p tcp --dport 9002 -g NC-GONE",
    "-A NC-FWD -p tcp --dport 9002 -j ACCEPT",
    "-A NC-GONE -j RETURN",
]
KERNEL_NAT6 = [
    "-A PREROUTING -m comment --comment netcompile -j NC-PRE",
    "-A POSTROUTING -m comment --comment netcompile -j NC-POST",
    "-A NC-PRE -m set --match-set nc-svc6 dst,dst -j MARK --set-xmark 0x4000/0x4000",
    "-A NC-PRE -m mark --mark 0x4000/0x4000 -p tcp -j DNAT --to-destination [fd00:2::2]:8080",
    "-A NC-POST -m mark --mark 0x4000/0x4000 -j MASQUERADE",
]
KERNEL_FILTER6 = [
    "-A FORWARD -m comment --comment netcompile -j NC-FWD",
    "-A NC-FWD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
    "-A NC-FWD -m set --match-set nc-blocked6 dst -j DROP",
    "-A NC-FWD -p tcp --dport 9000 -j REJECT --reject-with icmp6-port-unreachable",
]
KERNEL_PROBES = [  # (destination, port): through a node whose other side holds 10.0.2.2 and 10.0.2.3
    ("10.96.0.10", 80),  # DNAT to 10.0.2.2:8080 (the statistic rule of probability 0 never matches)
    ("10.96.0.10", 81),  # DNAT to 10.0.2.2:8081, which FORWARD lets through only in the DNAT state
    ("10.96.0.10", 82),  # marked, DNAT to 8080, masqueraded at POSTROUTING
    ("10.0.2.2", 8080),  # the nomatch element exempts 10.0.2.2 from the /24
    ("10.0.2.3", 8080),  # in the /24: dropped
    ("10.0.2.2", 8081),  # not DNATed: reset
    ("10.0.2.2", 8082),  # ACCEPT in NC-FWD ends FORWARD: the DROP after the jump is never reached
    ("10.0.2.2", 9000),  # ICMP port unreachable
    ("10.0.2.2", 9001),  # dropped
    ("10.0.2.2", 9002),  # -g NC-GONE, RETURN: back in FORWARD after the jump (dropped), not in NC-FWD
    ("fd00:96::10", 80),  # the ip6tables section: DNAT to [fd00:2::2]:8080, masqueraded
    ("fd00:2::2", 8080),  # nomatch again
    ("fd00:2::3", 8080),  # dropped
    ("fd00:2::2", 9000),  # ICMPv6 port unreachable
]
CLIENTS = {4: "10.0.1.2", 6: "fd00:1::2"}
_SERVER = """
import selectors, socket, sys
sel = selectors.DefaultSelector()
for port in map(int, sys.argv[1:]):
    for family, any_address in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        s = socket.socket(family); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((any_address, port)); s.listen(16); sel.register(s, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        conn, peer = key.fileobj.accept()
        conn.settimeout(2)
        token = conn.makefile().readline().strip()
        local = conn.getsockname()
        print(token, peer[0], local[0], local[1], flush=True)
        conn.close()
"""
_CLIENT = """
import socket, sys
for token, target in enumerate(sys.argv[1:]):
    host, port = target.rsplit(":", 1)
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET); s.settimeout(1.5)
    try:
        s.connect((host, int(port))); s.sendall(f"{token}\\n".encode()); result = "connected"
    except ConnectionRefusedError:
        result = "refused"
    except (TimeoutError, socket.timeout):
        result = "timeout"
    except OSError as error:
        result = f"error-{error.errno}"
    s.close()
    print(token, result, flush=True)
"""


def _ns(name: str, *args: str, stdin: str | None = None) -> str:
    return subprocess.run(
        ["ip", "netns", "exec", name, *args], input=stdin, capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def routed_node() -> Iterator[tuple[str, str, str]]:
    """client (10.0.1.2, fd00:1::2) -- node (10.0.1.1, fd00:1::1 | 10.0.2.1, fd00:2::1; forwarding) --
    server (10.0.2.2 and 10.0.2.3, fd00:2::2 and fd00:2::3)."""
    tag = f"{os.getpid() % 100000}{uuid.uuid4().hex[:4]}"
    client, node, server = (f"ipt{role}{tag}" for role in "cns")
    for ns in (client, node, server):
        subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        commands = [
            f"link add c{tag} netns {client} type veth peer name nc{tag} netns {node}",
            f"link add s{tag} netns {server} type veth peer name ns{tag} netns {node}",
            f"-n {client} addr add 10.0.1.2/24 dev c{tag}",
            f"-n {node} addr add 10.0.1.1/24 dev nc{tag}",
            f"-n {node} addr add 10.0.2.1/24 dev ns{tag}",
            f"-n {server} addr add 10.0.2.2/24 dev s{tag}",
            f"-n {server} addr add 10.0.2.3/24 dev s{tag}",
            f"-n {client} addr add fd00:1::2/64 dev c{tag} nodad",
            f"-n {node} addr add fd00:1::1/64 dev nc{tag} nodad",
            f"-n {node} addr add fd00:2::1/64 dev ns{tag} nodad",
            f"-n {server} addr add fd00:2::2/64 dev s{tag} nodad",
            f"-n {server} addr add fd00:2::3/64 dev s{tag} nodad",
        ]
        commands += [f"-n {ns} link set {dev} up" for ns, dev in ((client, f"c{tag}"), (node, f"nc{tag}"))]
        commands += [f"-n {ns} link set {dev} up" for ns, dev in ((node, f"ns{tag}"), (server, f"s{tag}"))]
        commands += [f"-n {ns} link set lo up" for ns in (client, node, server)]
        commands += [f"-n {client} route add default via 10.0.1.1", f"-n {server} route add default via 10.0.2.1"]
        commands += [
            f"-n {client} -6 route add default via fd00:1::1",
            f"-n {server} -6 route add default via fd00:2::1",
        ]
        for command in commands:
            subprocess.run(["ip", *command.split()], check=True)
        _ns(node, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
        yield client, node, server
    finally:
        for ns in (client, node, server):
            subprocess.run(["ip", "netns", "delete", ns], check=False)


@pytest.mark.kernel
@pytest.mark.parametrize("variant", ["", "-legacy"])
def test_the_kernel_does_to_real_packets_what_the_interpreter_says(
    routed_node: tuple[str, str, str], variant: str
) -> None:
    """The same text loaded with `ipset restore`, `iptables-restore --noflush` and `ip6tables-restore
    --noflush` (iptables-nft, and iptables-legacy where it is installed) into a forwarding node: each TCP
    connection's fate (reached the server, where and from which address; reset or ICMP error; no answer)
    is the interpreter's verdict for its first packet."""
    restores = [f"iptables{variant}-restore", f"ip6tables{variant}-restore"]
    if not all(shutil.which(tool) for tool in restores):
        assert not IN_CI, f"{' and '.join(restores)} are not installed: CI runs kernel tests, never skips them"
        pytest.skip(f"{' and '.join(restores)} are not installed")
    client, node, server = routed_node
    v6 = "\n".join(block(t, rules) for t, rules in (("nat", KERNEL_NAT6), ("filter", KERNEL_FILTER6)))
    rules = text(KERNEL_IPSET, nat=KERNEL_NAT, filter_=KERNEL_FILTER, v6=v6)
    ruleset = Ruleset.parse(rules)  # the interpreter reads it, and the kernel takes the same sections
    sections = [part.split("\n", 1)[1] for part in rules.split("# netcompile section: ")[1:]]
    _ns(node, "ipset", "restore", stdin=sections[0])
    for tool, section in zip(restores, sections[1:], strict=True):
        _ns(node, tool, "--noflush", stdin=section)
    ports = sorted({8080, 8081, 8082, 9000, 9001, 9002})
    listener = subprocess.Popen(
        ["ip", "netns", "exec", server, sys.executable, "-c", _SERVER, *map(str, ports)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert listener.stdout is not None and listener.stdout.readline().strip() == "ready"
        targets = [f"{host}:{port}" for host, port in KERNEL_PROBES]  # the client splits at the last colon
        answers = dict(line.split() for line in _ns(client, sys.executable, "-c", _CLIENT, *targets).splitlines())
    finally:
        listener.terminate()
        seen, _ = listener.communicate(timeout=10)
    arrived = {
        token: (peer, local, int(port)) for token, peer, local, port in (line.split() for line in seen.splitlines())
    }
    local = tuple(ip_address(a) for a in ("10.0.1.1", "10.0.2.1", "fd00:1::1", "fd00:2::1"))
    kernel, interpreter = [], []
    for token, (host, port) in enumerate(KERNEL_PROBES):
        answer = answers[str(token)]
        if answer == "connected":
            peer, to, to_port = arrived[str(token)]
            kernel.append(delivered(to, to_port, masquerade=peer != CLIENTS[ip_address(to).version]))
        else:
            kernel.append({"refused": REJECTED, "timeout": DROPPED}.get(answer, Result(Verdict.REJECTED, None, -1)))
        outcome = ruleset.evaluate(packet(CLIENTS[ip_address(host).version], host, port), local)
        interpreter.append(next(iter(outcome.distribution)) if len(outcome.distribution) == 1 else outcome)
    assert kernel == interpreter
    assert kernel[2] == delivered("10.0.2.2", 8080, masquerade=True) and kernel[4] == DROPPED  # it discriminates
    assert kernel[-4:] == [delivered("fd00:2::2", 8080, True), delivered("fd00:2::2", 8080), DROPPED, REJECTED]
