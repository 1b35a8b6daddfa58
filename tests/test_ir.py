"""The nftables IR refuses what would be invalid, and renders safely and deterministically."""

from __future__ import annotations

import pytest

from netcompile.host.nftlib import check
from netcompile.nft.ir import BaseChain, ChainType, Element, Hook, IRError, Set, Table, safe_comment
from netcompile.nft.render import render


def small_table() -> Table:
    t = Table("t", comment="test")
    t.add_set(Set("addrs", "type ipv4_addr", flags=("interval",), comment="some addresses"))
    t.add_element("addrs", Element(("10.0.0.0/8",), comment="private"))
    t.add_set(Set("ports", "type inet_proto . inet_service", "verdict"))
    t.add_chain("allowed", "accepts")
    t.add_rule("allowed", "accept")
    t.add_element("ports", Element(("tcp", "80"), ("goto allowed",), "web"))
    t.add_chain("in", "entry", BaseChain(ChainType.FILTER, Hook.INPUT, "filter + 10"))
    t.add_rule("in", "ip saddr @addrs meta l4proto . th dport vmap @ports", "lookup")
    return t.finish()


def test_render_is_exact() -> None:
    text = render(small_table(), ["header"])
    assert text == (
        "#!/usr/sbin/nft -f\n# header\n\ntable inet t\ndelete table inet t\ntable inet t {\n"
        '\tcomment "test"\n\n'
        '\tset addrs {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\tcomment "some addresses"\n'
        '\t\telements = {\n\t\t\t10.0.0.0/8 comment "private",\n\t\t}\n\t}\n\n'
        "\tmap ports {\n\t\ttype inet_proto . inet_service : verdict\n\t\tsize 1\n"
        '\t\telements = {\n\t\t\ttcp . 80 comment "web" : goto allowed,\n\t\t}\n\t}\n\n'
        '\tchain allowed {\n\t\tcomment "accepts"\n\t\taccept\n\t}\n\n'
        '\tchain in {\n\t\tcomment "entry"\n\t\ttype filter hook input priority 10; policy accept;\n'
        '\t\tip saddr @addrs meta l4proto . th dport vmap @ports comment "lookup"\n\t}\n}\n'
    )


@pytest.mark.kernel
def test_rendered_table_loads() -> None:
    check(render(small_table(), []))


@pytest.mark.parametrize("name", ["", "Upper", "1abc", "a b", 'a"b', "a;b", "x" * 65, "a{", "a\nb"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(IRError):
        Table("t").add_chain(name)


def test_base_chains_need_valid_priorities() -> None:
    with pytest.raises(IRError, match="priority dstnat is not allowed at hook output"):
        BaseChain(ChainType.NAT, Hook.OUTPUT, "dstnat")
    with pytest.raises(IRError, match="invalid priority"):
        BaseChain(ChainType.FILTER, Hook.INPUT, "loud")
    assert BaseChain(ChainType.NAT, Hook.OUTPUT, "-100").priority_value == -100
    assert BaseChain(ChainType.FILTER, Hook.FORWARD, "filter - 10").priority_value == -10


def test_references_must_exist() -> None:
    t = Table("t")
    t.add_chain("c")
    t.add_rule("c", "ip saddr @missing accept")
    with pytest.raises(IRError, match="unknown set @missing"):
        t.finish()
    t = Table("t")
    t.add_chain("c")
    t.add_rule("c", "jump nowhere")
    with pytest.raises(IRError, match="unknown chain nowhere"):
        t.finish()
    t = Table("t")
    t.add_chain("base", base=BaseChain(ChainType.FILTER, Hook.INPUT, "filter"))
    t.add_chain("c")
    t.add_rule("c", "goto base")
    with pytest.raises(IRError, match="jumps to base chain base"):
        t.finish()


def test_rules_and_elements_cannot_smuggle_syntax() -> None:
    t = Table("t")
    t.add_chain("c")
    for text in ["accept; flush ruleset", 'accept comment "x"', "accept\nflush ruleset", "accept # x", ""]:
        with pytest.raises(IRError):
            t.add_rule("c", text)
    t.add_set(Set("s", "type ipv4_addr"))
    for atom in ["1.2.3.4, 5.6.7.8", "1.2.3.4 }", '1.2.3.4"', ""]:
        with pytest.raises(IRError):
            t.add_element("s", Element((atom,)))
    with pytest.raises(IRError, match="does not fit"):
        t.add_element("s", Element(("1.2.3.4",), ("accept",)))
    with pytest.raises(IRError):  # a second, empty atom: each atom is checked, not only their join
        t.add_element("s", Element(("1.2.3.4", "")))
    t.add_set(Set("m", "type ipv4_addr", "verdict"))
    t.add_set(Set("d", "type ipv4_addr", "ipv4_addr"))
    t.add_element("m", Element(("1.2.3.4",), ("goto c",)))
    for value in [("goto c; flush ruleset",), ("goto c", "accept"), ("1.2.3.4",)]:
        with pytest.raises(IRError, match="invalid verdict"):
            t.add_element("m", Element(("1.2.3.4",), value))
    for value in [("goto c",), ("@m",), ("",), ("5.6.7.8", "")]:
        with pytest.raises(IRError, match="invalid element value"):
            t.add_element("d", Element(("1.2.3.4",), value))
    with pytest.raises(IRError, match="duplicate"):
        t.add_set(Set("s", "type ipv4_addr"))
    with pytest.raises(IRError, match="unknown flags"):
        t.add_set(Set("s2", "type ipv4_addr", flags=("magic",)))


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ('a "quoted" name', "a 'quoted' name"),
        ("line\nbreak;\tand\x00nul", "line break; and nul"),
        ("back\\slash", "back/slash"),
        ("ünïcødé ✓", "<U+00FC>n<U+00EF>c<U+00F8>d<U+00E9> <U+2713>"),
        ("x" * 200, "x" * 125 + "..."),
    ],
)
def test_safe_comment(text: str, safe: str) -> None:
    assert safe_comment(text) == safe
