"""The iptables back end's renderer (netcompile/iptables/): names within the tools' limits, comments
quoted safely, one specialised chain per frontend with the exact probabilities, an nftables accept that
ends one base chain only, drop and reject deferred out of nat, ipsets shared as nftables shares sets,
and the command line. Loading the output in the kernel is tests/test_iptables_kernel.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcompile.cli import app
from netcompile.golden import EXPECTED_IPTABLES, Case, discover
from netcompile.iptables import (
    UnsupportedIR,
    endpoint_probabilities,
    file_header,
    probability_text,
    render,
    rule_probability,
    split_sections,
)
from netcompile.iptables.conds import is_host
from netcompile.iptables.names import CHAIN_MAX, SET_MAX, Namer
from netcompile.model import Protocol
from netcompile.nft.ir import BaseChain, Element, Set, Table
from netcompile.nft.render import render as render_nft
from netcompile.nft.statements import (
    ACCEPT,
    CT_STATE,
    DPORT,
    DROP,
    L4PROTO,
    VERDICTS,
    Concat,
    DnatMap,
    Flags,
    InputInterface,
    InterfaceName,
    Mark,
    MarkOp,
    MarkSet,
    Match,
    Network,
    Numgen,
    Op,
    Reject,
    SetRef,
    Symbol,
    TypeOf,
    Types,
    daddr,
    goto,
    jump,
    member,
    saddr,
    vmap,
)
from netcompile.nft.types import IPV4, ChainType, DataType, Hook
from netcompile.verify.interpreter import Ruleset as NftRuleset
from netcompile.verify.iptables import Ruleset as IptRuleset
from netcompile.verify.packet import Packet, Verdict
from tests.conftest import ROOT

CASES = {c.name: c for c in discover(ROOT / "golden")}
runner = CliRunner()


def output(name: str) -> str:
    return CASES[name].texts()[EXPECTED_IPTABLES]


def rules_of(text: str, chain: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(f"-A {chain} ")]


# --- names -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_names_fit_the_tools_limits(name: str) -> None:
    text = output(name)
    chains = re.findall(r"^:(\S+) - \[0:0\]$", text, re.MULTILINE)
    assert chains and all(c.startswith("NC-") and len(c) <= CHAIN_MAX for c in chains), chains
    sets = re.findall(r"^create (\S+) ", text, re.MULTILINE)
    recents = re.findall(r"--name (\S+)", text)
    assert all(s.startswith("nc-") and len(s) <= SET_MAX for s in [*sets, *recents]), [*sets, *recents]
    # every jump and goto names a chain declared in the same table (iptables-restore checks it too)
    for section in split_sections(text).values():
        for table in re.findall(r"^\*\w+\n(.*?)^COMMIT$", section, re.MULTILINE | re.DOTALL):
            declared = set(re.findall(r"^:(\S+) ", table, re.MULTILINE))
            assert set(re.findall(r" -[jg] (NC-\S+)", table)) <= declared


def test_long_names_are_hashed_and_stay_unique() -> None:
    namer = Namer("NC-", CHAIN_MAX)
    first = namer.name("a" * 100, "a" * 100)
    second = namer.name("a" * 99 + "b", "a" * 100)
    assert first != second and len(first) <= CHAIN_MAX and len(second) <= CHAIN_MAX
    assert namer.name("a" * 100, "a" * 100) == first  # the same identity, the same name
    assert namer.name("services", "services") == "NC-services"
    assert Namer("nc-", SET_MAX).name("x", "Not/A:Plain Name").startswith("nc-")


# --- comments ----------------------------------------------------------------------------------------


def test_hostile_comments_are_quoted_safely() -> None:
    table = _forward_table()
    hostile = 'ns/x" -j ACCEPT \\ \n COMMIT\t\u00e9\x00'
    table.add_rule("ingress", Match(saddr(IPV4), Network(ip_network("10.0.0.0/8"))), DROP, comment=hostile)
    text = render(table.finish()).iptables
    (line,) = [line for line in rules_of(text, "NC-ingress") if "10.0.0.0/8" in line]
    comment = re.fullmatch(r'-A NC-ingress -m comment --comment "([^"\\]*)" -s 10\.0\.0\.0/8 -j DROP', line)
    assert comment is not None, line
    assert "COMMIT" in comment.group(1) and "\n" not in text.split("COMMIT")[0].splitlines()[-1]
    assert not any(line.startswith("COMMIT") and line != "COMMIT" for line in text.splitlines())


@pytest.mark.parametrize("name", ["svc-hostile-names", "basic-hostile-names"])
def test_hostile_golden_names_stay_inside_their_quotes(name: str) -> None:
    for line in output(name).splitlines():
        if line.startswith("-A "):
            assert line.count('"') in (0, 2), line  # one quoted comment at most, no stray quote


# --- specialisation ----------------------------------------------------------------------------------


def test_one_chain_per_frontend_with_a_statistic_cascade() -> None:
    text = split_sections(output("basic-endpointslices"))["iptables"]
    picks = rules_of(text, "NC-service-pick")
    frontends = [line for line in picks if "-m set" not in line and " -d " in line]
    assert frontends
    for line in frontends:
        chain = line.split(" -g ")[1]
        cascade = rules_of(text, chain)
        n = len(cascade)
        texts = [re.search(r"--probability (\S+)", r) for r in cascade]
        assert [t.group(1) if t else None for t in texts] == [probability_text(n - i) for i in range(n - 1)] + [None]
        # each rule DNATs itself (no chain per endpoint: iptables-nft loads jumps to many chains slowly)
        dnats = [re.search(r" -p (tcp|udp|sctp) .*-j DNAT --to-destination (\S+:\d+)$", r) for r in cascade]
        assert all(dnats), cascade
        assert len({d.group(2) for d in dnats if d}) == n  # every endpoint once


def test_exact_probabilities() -> None:
    assert endpoint_probabilities(1) == (Fraction(1),)
    assert endpoint_probabilities(2) == (Fraction(1, 2), Fraction(1, 2))
    # 0.3333333333 * 2^31 = 715827882.59...: the kernel holds 715827883
    first = Fraction(715827883, 2**31)
    assert rule_probability("0.3333333333") == first
    assert endpoint_probabilities(3) == (first, (1 - first) / 2, (1 - first) / 2)
    for n in (4, 7, 10, 100):
        probabilities = endpoint_probabilities(n)
        assert sum(probabilities) == 1 and len(probabilities) == n
        assert max(abs(p - Fraction(1, n)) for p in probabilities) < Fraction(n, 2**30)


# --- the base-chain accept, deferred verdicts, sets ----------------------------------------------------


def _forward_table() -> Table:
    """Two filter base chains on forward, as the compiler lays out policies: egress, then ingress."""
    table = Table("t")
    table.add_chain("egress", base=BaseChain(ChainType.FILTER, Hook.FORWARD, "filter"))
    table.add_chain("ingress", base=BaseChain(ChainType.FILTER, Hook.FORWARD, "filter + 1"))
    return table


def test_accept_ends_one_base_chain_only() -> None:
    table = _forward_table()
    table.add_rule("egress", Match(CT_STATE, Flags(("established", "related"))), ACCEPT)
    table.add_chain("policy")
    table.add_rule("policy", Match(L4PROTO, Symbol("tcp")), ACCEPT)
    table.add_chain("pods")
    table.add_rule("pods", jump("policy"))
    table.add_rule("pods", DROP)
    table.add_rule("egress", goto("pods"))
    table.add_rule("ingress", Match(daddr(IPV4), Network(ip_network("10.0.0.0/8"))), DROP)
    out = render(table.finish())
    text, bit = out.iptables, out.marks.accept
    # in the base chain itself (and what it reaches by goto), accept returns to the entry chain
    assert rules_of(text, "NC-egress")[0].endswith("--ctstate RELATED,ESTABLISHED -j RETURN")
    # below a jump it sets the bit and returns; the caller passes it up before anything else runs
    assert rules_of(text, "NC-policy") == ["-A NC-policy -p tcp -g NC-ACCEPT"]
    assert rules_of(text, "NC-ACCEPT")[0].endswith(f"-j MARK --or-mark {bit:#x}")
    pods = rules_of(text, "NC-pods")
    assert pods[0] == "-A NC-pods -j NC-policy"
    assert pods[1].endswith(f"-m mark --mark {bit:#x}/{bit:#x} -j RETURN") and pods[2].endswith("-j DROP")
    # the entry runs both base chains in priority order, clearing the bit around the one that sets it
    entry = [re.sub(r' -m comment --comment "[^"]*"', "", r) for r in rules_of(text, "NC-FORWARD")]
    clear = f"-A NC-FORWARD -j MARK --and-mark {~bit & 0xFFFFFFFF:#x}"
    assert entry == [clear, "-A NC-FORWARD -j NC-egress", clear, "-A NC-FORWARD -j NC-ingress"]
    assert '-A FORWARD -m comment --comment "netcompile" -j NC-FORWARD' in text.splitlines()


def test_drop_and_reject_in_nat_are_carried_out_in_filter() -> None:
    table = Table("t")
    table.add_chain("pre", base=BaseChain(ChainType.NAT, Hook.PREROUTING, "dstnat"))
    table.add_rule("pre", Match(daddr(IPV4), Network(ip_network("10.96.0.0/12"))), Match(L4PROTO, Symbol("udp")), DROP)
    table.add_rule("pre", Reject(tcp_reset=True))
    out = render(table.finish())
    marks, text = out.marks, out.iptables
    assert "-j DROP" not in "".join(rules_of(text, "NC-pre")) and "REJECT" not in text.split("*filter")[0]
    assert rules_of(text, "NC-pre")[1] == "-A NC-pre -p tcp -j NC-DEFER-RESET"
    for hook in ("INPUT", "FORWARD"):
        checks = rules_of(text, f"NC-{hook}")
        assert any(f"--mark {marks.drop:#x}/{marks.defer_mask:#x} -j DROP" in r for r in checks)
        assert any(f"-p tcp -m mark --mark {marks.reset:#x}/{marks.defer_mask:#x} -j REJECT" in r for r in checks)
    assert not rules_of(text, "NC-OUTPUT")  # nothing deferred from nat OUTPUT
    assert marks.accept & marks.defer_mask == 0 and marks.reject == marks.defer_mask


def test_the_lowerings_mark_bits_avoid_the_rulesets_own() -> None:
    table = _forward_table()
    table.add_rule("ingress", MarkSet(MarkOp.OR, Mark(0x2000 | 0x4000)))
    marks = render(table.finish()).marks
    assert marks.accept == 0x1000 and marks.defer_mask == 0x0800 | 0x0400


def test_one_ipset_per_nftables_set_shared_by_its_rules() -> None:
    text = output("svc-affinity")
    sets = re.findall(r"^create (\S+) ", text, re.MULTILINE)
    assert len(sets) == len(set(sets))
    uses = re.findall(r"--match-set (nc-pod-cidrs-v4) ", text)
    assert "nc-pod-cidrs-v4" in sets and len(uses) >= 2  # clusterip and external-local share it, as in nft


def test_a_verdict_map_becomes_one_rule_per_target() -> None:
    table = _forward_table()
    table.add_set(Set("isolated", Types((DataType.IPV4_ADDR,)), VERDICTS))
    for chain in ("a", "b"):
        table.add_chain(chain)
        table.add_rule(chain, DROP)
    table.add_elements("isolated", [Element((f"10.0.0.{i}",), (goto("a" if i < 3 else "b"),)) for i in range(4)])
    table.add_rule("ingress", vmap(daddr(IPV4), "isolated"))
    text = render(table.finish())
    lines = rules_of(text.iptables, "NC-ingress")
    assert len(lines) == 2 and "--match-set" in lines[0] and lines[0].endswith("-g NC-a")
    assert " -d 10.0.0.3/32 " in lines[1] and lines[1].endswith("-g NC-b")
    (name,) = re.findall(r"^create (\S+) hash:ip family inet$", text.ipset, re.MULTILINE)
    assert re.findall(rf"^add {name} (\S+)$", text.ipset, re.MULTILINE) == ["10.0.0.0", "10.0.0.1", "10.0.0.2"]
    assert not rules_of(text.ip6tables, "NC-ingress") and ":NC-a " not in text.ip6tables  # IPv4 only


def test_a_dnat_map_without_a_known_frontend_is_refused() -> None:
    table = Table("t")
    table.add_chain("pre", base=BaseChain(ChainType.NAT, Hook.PREROUTING, "dstnat"))
    key = Concat((daddr(IPV4), L4PROTO, DPORT, Numgen(2)))
    table.add_set(Set("eps", TypeOf(key), TypeOf(Concat((daddr(IPV4), DPORT)))))
    table.add_rule("pre", DnatMap(IPV4, key, SetRef("eps")))
    with pytest.raises(UnsupportedIR, match="frontend is not known"):
        render(table.finish())


def test_interval_sets_become_prefixes_never_ranges() -> None:
    text = output("policy-peers-ipblock")
    adds = re.findall(r"^add \S+ (\S+)$", text, re.MULTILINE)
    assert adds and not any(re.search(r"\d-\d", a) for a in adds)
    assert not any(a.split(",")[0].endswith("/0") for a in adds)


def test_an_ipv6_slash_32_is_not_one_address() -> None:
    assert is_host("10.0.0.1/32") and is_host("fd00::1/128") and not is_host("2001:db8::/32")


def test_membership_in_a_set_of_ranges() -> None:
    table = _forward_table()
    table.add_set(Set("allow", Types((DataType.IPV4_ADDR,)), flags=()))
    table.add_elements("allow", [Element(("0.0.0.0-127.255.255.254",))])
    table.add_rule("ingress", member(saddr(IPV4), "allow"), DROP)
    text = render(table.finish()).ipset
    assert "hash:net" in text and "add nc-allow 127.255.255.254\n" not in text
    assert "add nc-allow 0.0.0.0/2" in text and "add nc-allow 127.255.255.252/31" in text


def test_render_is_deterministic() -> None:
    table = CASES["svc-affinity"].compile().table
    first, second = render(table, file_header("node-a")), render(table, file_header("node-a"))
    assert first == second and first.text == (ROOT / "golden/svc-affinity" / EXPECTED_IPTABLES).read_text()


# --- sections and the command line ---------------------------------------------------------------------


def test_sections_round_trip_and_refuse_a_bad_file() -> None:
    text = output("svc-hairpin")
    sections = split_sections(text)
    assert list(sections) == ["ipset", "iptables", "ip6tables"]
    rebuilt = "".join(f"# {line}\n" for line in file_header("node-a"))
    rebuilt += "".join(f"# netcompile section: {name}\n{body}" for name, body in sections.items())
    assert rebuilt == text
    with pytest.raises(ValueError):
        split_sections(text.replace("# netcompile section: iptables\n", ""))
    with pytest.raises(ValueError):
        split_sections("*nat\n" + text)


def test_cli_backend_iptables(tmp_path: Path) -> None:
    case: Case = CASES["svc-hairpin"]
    args = ["compile", str(case.directory), "--node", "node-a", "--backend", "iptables"]
    out = tmp_path / "x.iptables"
    result = runner.invoke(app, [*args, "-o", str(out), "--split", str(tmp_path / "split")])
    assert result.exit_code == 0, result.output
    assert out.read_text() == output("svc-hairpin")
    sections = split_sections(out.read_text())
    for name, key in (("ipset.restore", "ipset"), ("iptables.rules", "iptables"), ("ip6tables.rules", "ip6tables")):
        assert (tmp_path / "split" / name).read_text() == sections[key]
    for bad in (["--since", str(out)], ["--check", str(out)], ["--all-nodes"], ["--format", "nft"]):
        refused = runner.invoke(app, [*args, *bad])
        assert refused.exit_code == 2, (bad, refused.output)
    assert runner.invoke(app, ["compile", str(case.directory), "--backend", "pf"]).exit_code == 2
    assert runner.invoke(app, ["compile", str(case.directory), "--node", "node-a", "--split", "d"]).exit_code == 2


def test_default_backend_is_nftables(tmp_path: Path) -> None:
    out = tmp_path / "x.nft"
    result = runner.invoke(app, ["compile", str(CASES["svc-hairpin"].directory), "--node", "node-a", "-o", str(out)])
    assert result.exit_code == 0 and out.read_text().startswith("#!/usr/sbin/nft -f")


def test_many_per_element_rules_go_behind_one_ipset_lookup() -> None:
    """hash:net,net does not exist on this kernel: `ip saddr . ip daddr @hairpin` is one rule per element,
    and with many elements those rules sit in a chain jumped to only for a source among theirs."""
    table = Table("t")
    table.add_chain("post", base=BaseChain(ChainType.NAT, Hook.POSTROUTING, "srcnat"))
    table.add_set(Set("pairs", Types((DataType.IPV4_ADDR, DataType.IPV4_ADDR))))
    pairs = [f"10.0.{i // 256}.{i % 256}" for i in range(1, 21)]
    table.add_elements("pairs", [Element((a, a)) for a in reversed(pairs)])
    table.add_rule("post", member(Concat((saddr(IPV4), daddr(IPV4))), "pairs"), MarkSet(MarkOp.OR, Mark(0x4000)))
    out = render(table.finish())
    (entry,) = rules_of(out.iptables, "NC-post")
    found = re.fullmatch(r'-A NC-post -m comment --comment "@pairs" -m set --match-set (\S+) src -j (NC-\S+)', entry)
    assert found is not None, entry
    name, sub = found.groups()
    assert re.findall(rf"^add {name} (\S+)$", out.ipset, re.MULTILINE) == pairs[::-1]  # in the elements' order
    inside = rules_of(out.iptables, sub)
    assert len(inside) == 20 and all(re.search(r"-s (\S+)/32 -d \1/32 -j MARK --or-mark 0x4000$", r) for r in inside)
    # a few elements stay flat
    small = Table("t")
    small.add_chain("post", base=BaseChain(ChainType.NAT, Hook.POSTROUTING, "srcnat"))
    small.add_set(Set("pairs", Types((DataType.IPV4_ADDR, DataType.IPV4_ADDR))))
    small.add_elements("pairs", [Element((a, a)) for a in pairs[:3]])
    small.add_rule("post", member(Concat((saddr(IPV4), daddr(IPV4))), "pairs"), MarkSet(MarkOp.OR, Mark(0x4000)))
    assert len(rules_of(render(small.finish()).iptables, "NC-post")) == 3


def test_input_interface_matches() -> None:
    table = _forward_table()
    table.add_rule("ingress", Match(InputInterface(), InterfaceName("cbr0")), DROP)
    table.add_rule("ingress", Match(InputInterface(), InterfaceName("veth", prefix=True), Op.NE), DROP)
    text = render(table.finish())
    for family in (text.iptables, text.ip6tables):
        assert rules_of(family, "NC-ingress") == ["-A NC-ingress -i cbr0 -j DROP", "-A NC-ingress ! -i veth+ -j DROP"]


def test_an_and_mask_uses_the_bits_it_clears() -> None:
    """`meta mark set meta mark & 0xffffbfff` (detectLocalMode None clears the masquerade bit) changes
    0x4000 only: the lowering's bits stay free, and a mark of two bits counts both."""
    table = _forward_table()
    table.add_rule("ingress", MarkSet(MarkOp.AND, Mark(0xFFFFBFFF)))
    assert render(table.finish()).marks.accept == 0x2000
    table = _forward_table()
    table.add_rule("ingress", MarkSet(MarkOp.OR, Mark(0x4000)))
    table.add_rule("ingress", MarkSet(MarkOp.XOR, Mark(0x6000)))
    marks = render(table.finish()).marks
    assert marks.accept == 0x1000 and marks.defer_mask == 0x0C00


# --- the same packets through both back ends' interpreters ------------------------------------------------


def _both(make: Callable[[], Table], packets: list[Packet]) -> list[tuple[set[Verdict], set[Verdict]]]:
    """Each packet's outcome under the nftables script and under the iptables text of the same IR (read by
    the two interpreters of verify/), as the verdicts it may get; their distributions must be equal."""
    nft = NftRuleset.parse(render_nft(make().finish(), []))
    ipt = IptRuleset.parse(render(make().finish()).text)
    local = [ip_address("10.0.0.1")]
    out = []
    for packet in packets:
        by_nft, by_ipt = nft.evaluate(packet, local), ipt.evaluate(packet, local)
        assert by_nft.distribution == by_ipt.distribution, (packet, by_nft.path, by_ipt.path)
        out.append(({r.verdict for r in by_nft.distribution}, {r.verdict for r in by_ipt.distribution}))
    return out


def test_accept_below_a_jump_ends_its_base_chain_only_as_in_nftables() -> None:
    def make() -> Table:
        table = _forward_table()
        table.add_chain("policy")
        table.add_rule("policy", Match(L4PROTO, Symbol("tcp")), ACCEPT)
        table.add_chain("pods")
        table.add_rule("pods", jump("policy"))
        table.add_rule("pods", DROP)
        table.add_rule("egress", goto("pods"))
        table.add_rule("ingress", Match(daddr(IPV4), Network(ip_network("10.0.0.66/32"))), DROP)
        return table

    source = ip_address("10.0.0.9")
    packets = [
        Packet(source, ip_address("10.0.0.5"), Protocol.TCP, 80),  # accepted by egress, ingress lets it in
        Packet(source, ip_address("10.0.0.66"), Protocol.TCP, 80),  # accepted by egress, dropped by ingress
        Packet(source, ip_address("10.0.0.5"), Protocol.UDP, 53),  # not accepted below: egress drops
    ]
    results = _both(make, packets)
    assert [nft for nft, _ in results] == [{Verdict.DELIVERED}, {Verdict.DROPPED}, {Verdict.DROPPED}], results


def test_drop_and_reject_in_nat_end_the_packet_as_in_nftables() -> None:
    def make() -> Table:
        table = Table("t")
        table.add_chain("pre", base=BaseChain(ChainType.NAT, Hook.PREROUTING, "dstnat"))
        table.add_rule("pre", Match(daddr(IPV4), Network(ip_network("10.96.0.2/32"))), DROP)
        table.add_rule("pre", Match(daddr(IPV4), Network(ip_network("10.96.0.1/32"))), Reject(tcp_reset=True))
        table.add_rule("pre", Match(daddr(IPV4), Network(ip_network("10.96.0.1/32"))), Reject())
        return table

    source = ip_address("10.0.0.9")
    packets = [
        Packet(source, ip_address(address), protocol, 80)
        for address in ("10.96.0.1", "10.96.0.2", "10.96.0.3", "10.0.0.1")
        for protocol in (Protocol.TCP, Protocol.UDP)
    ]
    results = _both(make, packets)
    verdicts = [nft for nft, _ in results]
    assert verdicts[:4] == [{Verdict.REJECTED}, {Verdict.REJECTED}, {Verdict.DROPPED}, {Verdict.DROPPED}], verdicts
    assert all(v == {Verdict.DELIVERED} for v in verdicts[4:]), verdicts
