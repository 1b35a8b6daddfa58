"""The nftables IR refuses what would be invalid, and renders safely and deterministically."""

from __future__ import annotations

import ast
import hashlib
import re
import sys
from ipaddress import ip_address, ip_network
from pathlib import Path

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netcompile.host.nftlib import check
from netcompile.nft.ir import BaseChain, Element, IRError, Rule, Set, Table
from netcompile.nft.render import render
from netcompile.nft.statements import (
    ACCEPT,
    DPORT,
    L4PROTO,
    META_MARK,
    VERDICTS,
    AnonSet,
    AnonVmap,
    BitAnd,
    Concat,
    Dnat,
    DnatMap,
    Integer,
    Mark,
    MarkOp,
    MarkSet,
    Masquerade,
    Match,
    Network,
    Numgen,
    Op,
    Range,
    Reject,
    SetRef,
    SetUpdate,
    Statement,
    Symbol,
    TypeOf,
    Types,
    Verdict,
    VerdictKind,
    Vmap,
    daddr,
    goto,
    jump,
    member,
    saddr,
    vmap,
)
from netcompile.nft.syntax import cut_comment, safe_char, safe_comment, statements
from netcompile.nft.types import IPV4, IPV6, ChainType, DataType, Hook, SetFlag
from tests.conftest import ROOT

IPV4_ADDR = Types((DataType.IPV4_ADDR,))


def small_table() -> Table:
    t = Table("t", comment="test")
    t.add_set(Set("addrs", IPV4_ADDR, flags=(SetFlag.INTERVAL,), comment="some addresses"))
    t.add_element("addrs", Element(("10.0.0.0/8",), comment="private"))
    t.add_set(Set("ports", Types((DataType.INET_PROTO, DataType.INET_SERVICE)), VERDICTS))
    t.add_chain("allowed", "accepts")
    t.add_rule("allowed", ACCEPT)
    t.add_element("ports", Element(("tcp", "80"), (goto("allowed"),), "web"))
    t.add_chain("in", "entry", BaseChain(ChainType.FILTER, Hook.INPUT, "filter + 10"))
    t.add_rule("in", member(saddr(IPV4), "addrs"), vmap(Concat((L4PROTO, DPORT)), "ports"), comment="lookup")
    return t.finish()


def test_render_is_exact() -> None:
    """Sets are sized with room to double; the fingerprint set (nft/fingerprint.py) holds the first 64
    bits of the SHA-256 of the text from its `table` line, written with 0x00000000 . 0x00000000 there."""
    text = render(small_table(), ["header"])
    expected = (
        "#!/usr/sbin/nft -f\n# header\n\ntable inet t\ndelete table inet t\ntable inet t {\n"
        '\tcomment "test"\n\n'
        '\tset addrs {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\tcomment "some addresses"\n'
        '\t\telements = {\n\t\t\t10.0.0.0/8 comment "private",\n\t\t}\n\t}\n\n'
        "\tmap ports {\n\t\ttype inet_proto . inet_service : verdict\n\t\tsize 2\n"
        '\t\telements = {\n\t\t\ttcp . 80 comment "web" : goto allowed,\n\t\t}\n\t}\n\n'
        "\tset fingerprint {\n\t\ttype mark . mark\n\t\tsize 2\n"
        "\t\tcomment \"this ruleset's hash: a delta from it deletes this element first, so it applies to "
        'nothing else"\n'
        "\t\telements = {\n\t\t\t0x00000000 . 0x00000000,\n\t\t}\n\t}\n\n"
        '\tchain allowed {\n\t\tcomment "accepts"\n\t\taccept\n\t}\n\n'
        '\tchain in {\n\t\tcomment "entry"\n\t\ttype filter hook input priority 10; policy accept;\n'
        '\t\tip saddr @addrs meta l4proto . th dport vmap @ports comment "lookup"\n\t}\n}\n'
    )
    digest = hashlib.sha256(expected[expected.index("table inet t\n") :].encode()).hexdigest()
    assert text == expected.replace("0x00000000 . 0x00000000", f"0x{digest[:8]} . 0x{digest[8:16]}")


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
    t.add_rule("c", member(saddr(IPV4), "missing"), ACCEPT)
    with pytest.raises(IRError, match="unknown set @missing"):
        t.finish()
    t = Table("t")
    t.add_chain("c")
    t.add_rule("c", jump("nowhere"))
    with pytest.raises(IRError, match="unknown chain nowhere"):
        t.finish()
    t = Table("t")
    t.add_chain("base", base=BaseChain(ChainType.FILTER, Hook.INPUT, "filter"))
    t.add_chain("c")
    t.add_rule("c", goto("base"))
    with pytest.raises(IRError, match="jumps to base chain base"):
        t.finish()
    t = Table("t")
    t.add_chain("c")
    t.add_set(Set("m", IPV4_ADDR, VERDICTS))
    t.add_element("m", Element(("1.2.3.4",), (goto("gone"),)))
    with pytest.raises(IRError, match="map 'm' refers to unknown chain gone"):
        t.finish()


def test_rules_and_elements_cannot_smuggle_syntax() -> None:
    t = Table("t")
    t.add_chain("c")
    with pytest.raises(IRError, match="without statements"):
        t.add_rule("c")
    with pytest.raises(IRError, match="not a statement"):
        t.add_rule("c", "accept; flush ruleset")  # type: ignore[arg-type]  # text is refused at run time too
    with pytest.raises(IRError, match="after the verdict"):
        t.add_rule("c", ACCEPT, MarkSet(MarkOp.OR, Mark(1)))
    with pytest.raises(IRError, match="invalid nftables name"):
        t.add_rule("c", member(saddr(IPV4), "s; flush ruleset"), ACCEPT)
    with pytest.raises(IRError, match="invalid nftables name"):
        t.add_rule("c", jump("c }"))
    for bad in ["tcp;", "a b", 'x"', ""]:
        with pytest.raises(IRError, match="invalid symbol"):
            Symbol(bad)
    with pytest.raises(IRError, match="verdict"):
        Verdict(VerdictKind.ACCEPT, "c")
    with pytest.raises(IRError, match="verdict"):
        Verdict(VerdictKind.GOTO)
    with pytest.raises(IRError, match="DNAT target"):
        Dnat(IPV4, ip_address("fd00::1"), 80)
    t.add_set(Set("s", IPV4_ADDR))
    for atom in ["1.2.3.4, 5.6.7.8", "1.2.3.4 }", '1.2.3.4"', ""]:
        with pytest.raises(IRError):
            t.add_element("s", Element((atom,)))
    with pytest.raises(IRError, match="does not fit"):
        t.add_element("s", Element(("1.2.3.4",), ("accept",)))
    with pytest.raises(IRError):  # a second, empty atom: each atom is checked, not only their join
        t.add_element("s", Element(("1.2.3.4", "")))
    t.add_set(Set("m", IPV4_ADDR, VERDICTS))
    t.add_set(Set("d", IPV4_ADDR, IPV4_ADDR))
    t.add_element("m", Element(("1.2.3.4",), (goto("c"),)))
    for verdict in [("goto c",), (goto("c"), ACCEPT), ("1.2.3.4",)]:
        with pytest.raises(IRError, match="invalid verdict"):
            t.add_element("m", Element(("1.2.3.4",), verdict))  # type: ignore[arg-type]
    for value in [(goto("c"),), ("@m",), ("",), ("5.6.7.8", "")]:
        with pytest.raises(IRError, match="invalid element value"):
            t.add_element("d", Element(("1.2.3.4",), value))  # type: ignore[arg-type]
    with pytest.raises(IRError, match="duplicate"):
        t.add_set(Set("s", IPV4_ADDR))
    with pytest.raises(IRError, match="unknown flags"):
        t.add_set(Set("s2", IPV4_ADDR, flags=("magic",)))  # type: ignore[arg-type]


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


_MARK = Mark(0x4000)
_ENDPOINT_KEY = Concat((daddr(IPV6), L4PROTO, DPORT, Numgen(3)))


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        ((Match(META_MARK, _MARK), ACCEPT), "meta mark 0x00004000 accept"),
        ((Match(BitAnd(META_MARK, _MARK), _MARK, Op.EQ), goto("c")), "meta mark & 0x00004000 == 0x00004000 goto c"),
        ((Match(BitAnd(META_MARK, _MARK), Integer(0), Op.EQ),), "meta mark & 0x00004000 == 0"),
        ((MarkSet(MarkOp.XOR, _MARK),), "meta mark set meta mark ^ 0x00004000"),
        ((Match(saddr(IPV4), Network(ip_network("10.1.0.0/16")), Op.NE),), "ip saddr != 10.1.0.0/16"),
        (
            (Match(Concat((L4PROTO, DPORT)), AnonSet((Concat((Symbol("tcp"), Range(80, 90))),))), ACCEPT),
            "meta l4proto . th dport { tcp . 80-90 } accept",
        ),
        (
            (Vmap(Numgen(2), AnonVmap(((Integer(0), goto("a")), (Integer(1), jump("b"))))),),
            "numgen random mod 2 vmap { 0 : goto a, 1 : jump b }",
        ),
        (
            (Match(L4PROTO, Symbol("udp")), Dnat(IPV6, ip_address("fd00::1"), 53)),
            "meta l4proto udp dnat ip6 to [fd00::1]:53",
        ),
        (
            (DnatMap(IPV6, _ENDPOINT_KEY, SetRef("eps")),),
            "dnat ip6 to ip6 daddr . meta l4proto . th dport . numgen random mod 3 map @eps",
        ),
        ((SetUpdate(SetRef("seen"), saddr(IPV6)),), "update @seen { ip6 saddr }"),
        ((Reject(tcp_reset=True),), "reject with tcp reset"),
        ((Masquerade(fully_random=True),), "masquerade fully-random"),
    ],
)
def test_statements_render(rule: tuple[Statement, ...], text: str) -> None:
    assert statements(rule) == text


def test_set_declarations_render() -> None:
    endpoints = Set("eps", TypeOf(_ENDPOINT_KEY), TypeOf(Concat((daddr(IPV6), DPORT))))
    assert endpoints.declaration == (
        "typeof ip6 daddr . meta l4proto . th dport . numgen random mod 3 : ip6 daddr . th dport"
    )
    assert (endpoints.key, endpoints.value, endpoints.is_map) == (
        "typeof ip6 daddr . meta l4proto . th dport . numgen random mod 3",
        "ip6 daddr . th dport",
        True,
    )
    assert Set("m", IPV4_ADDR, VERDICTS).declaration == "type ipv4_addr : verdict"
    assert Set("s", IPV4_ADDR).value is None


# What nftables syntax looks like inside a Python string: a payload, meta or ct expression, a lookup, a
# verdict naming a chain, a set reference, a generator, a declaration.
_NFT_SYNTAX = re.compile(
    r"\b(?:ip6?|th|meta|ct) (?:saddr|daddr|sport|dport|l4proto|mark|state|status)\b"
    r"|\bvmap\b|\b(?:goto|jump) [a-z]|@[a-z]|\bnumgen\b|\btypeof\b|\btype [a-z]+_[a-z]+"
    r"|\b(?:dnat|snat) (?:ip6?|to)\b|\bupdate @|\breject with\b|\binet_(?:proto|service)\b"
)


@pytest.mark.parametrize("module", sorted(p.name for p in (ROOT / "netcompile" / "compile").glob("*.py")))
def test_the_compiler_writes_no_nftables_syntax(module: str) -> None:
    """The compiler builds typed statements; only nft/syntax.py and the templates write nftables text.

    Every string literal of compile/*.py (docstrings aside, which show the output) is checked.
    """
    tree = ast.parse((ROOT / "netcompile" / "compile" / module).read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = [
        f"{module}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and _NFT_SYNTAX.search(node.value)
    ]
    assert found == []


def test_walk_visits_every_node_depth_first_in_field_order() -> None:
    from netcompile.nft.statements import walk

    key = Concat((saddr(IPV4), L4PROTO, DPORT))
    targets = AnonVmap(((Integer(0), goto("a")), (Integer(1), jump("b"))))
    rule = Vmap(BitAnd(META_MARK, Mark(0x4000)), targets)
    assert list(walk(rule)) == [
        rule,
        rule.key,
        META_MARK,
        Mark(0x4000),
        targets,
        Integer(0),
        goto("a"),
        Integer(1),
        jump("b"),
    ]
    assert list(walk(member(key, "s"))) == [member(key, "s"), key, saddr(IPV4), L4PROTO, DPORT, SetRef("s")]
    assert list(walk(ACCEPT)) == [ACCEPT]


def test_templates_compiled_once_render_as_compiled_each_time(tmp_path: Path) -> None:
    """The bytecode cache of the templates (render.bytecode_cache) changes nothing in the text: filled,
    read back, unreadable, or in a directory that cannot be written."""
    from netcompile.nft import render as rendering

    def text(env: jinja2.Environment) -> str:
        return env.get_template("ruleset.nft.j2").render(table=small_table(), header=["h"])

    plain = text(rendering.make_environment(None))
    assert text(rendering.make_environment(rendering.bytecode_cache(str(tmp_path)))) == plain  # filled
    kept = sorted(tmp_path.iterdir())
    assert len(kept) == 1  # the ruleset's
    assert text(rendering.make_environment(rendering.bytecode_cache(str(tmp_path)))) == plain  # read back
    for path in kept:
        path.write_bytes(path.read_bytes()[:60])  # cut short: compiled again
    assert text(rendering.make_environment(rendering.bytecode_cache(str(tmp_path)))) == plain
    missing = rendering.bytecode_cache(str(tmp_path / "missing"))
    assert text(rendering.make_environment(missing)) == plain
    assert not (tmp_path / "missing").exists()


def test_references_are_the_sets_and_verdicts_walk_meets_in_order() -> None:
    from netcompile.nft.statements import references, walk

    targets = AnonVmap(((Integer(0), goto("a")), (Integer(1), jump("b"))))
    statements: list[Statement] = [
        Vmap(Concat((saddr(IPV4), L4PROTO, DPORT)), targets),
        member(Concat((saddr(IPV4), L4PROTO, DPORT)), "s"),
        vmap(daddr(IPV6), "m"),
        SetUpdate(SetRef("u"), Concat((saddr(IPV4), DPORT))),
        ACCEPT,
        jump("c"),
    ]
    for statement in statements:
        assert references(statement) == [n for n in walk(statement) if isinstance(n, SetRef | Verdict)]
    assert Rule((statements[1], ACCEPT)).references == (SetRef("s"), ACCEPT)


def test_nodes_compare_hash_and_print_as_generated_dataclasses_do() -> None:
    """statements.Node's own __eq__, __hash__ and __repr__ (its dataclasses generate none) are those a
    frozen dataclass of the same fields would have."""
    from dataclasses import fields, make_dataclass

    from netcompile.nft.statements import InputInterface, Node

    samples: list[Node] = [
        member(Concat((saddr(IPV4), L4PROTO, DPORT)), "s"),
        Integer(5),
        Mark(5),
        InputInterface(),
        goto("c"),
        AnonVmap(((Integer(0), goto("a")),)),
        Dnat(IPV6, ip_address("fd00::1"), 80),
    ]
    for node in samples:
        names = [f.name for f in fields(node)]  # type: ignore[arg-type]  # every Node is a dataclass
        twin = make_dataclass(type(node).__qualname__, names, frozen=True)(*(getattr(node, n) for n in names))
        assert repr(node) == repr(twin)
        assert hash(node) == hash(twin)
        assert node == type(node)(*(getattr(node, n) for n in names))
    assert Integer(5) != Mark(5)  # the same fields, another class
    assert member(L4PROTO, "s") != member(L4PROTO, "t")
    assert len({Integer(1), Integer(1), Mark(1)}) == 2


def _every_node_class() -> list[type]:
    from netcompile.nft import expressions

    found: list[type] = []
    pending: list[type] = [expressions.Node]
    while pending:
        kind = pending.pop()
        pending += kind.__subclasses__()
        if kind is not expressions.Node and getattr(sys.modules[kind.__module__], kind.__name__, None) is kind:
            found.append(kind)
    return sorted(found, key=lambda k: k.__name__)


def test_every_node_is_a_frozen_dataclass_in_all_but_name() -> None:
    """Nodes are `dataclass(init=False, eq=False, repr=False)`, not frozen, with their own __init__ (fewer
    generated methods: the IR imports faster): each still behaves as the frozen dataclass of its fields
    would: no field assigned or deleted, `__match_args__`, `dataclasses.replace`, pickling and copying by
    its fields, and its __init__ takes its fields by name, in order, with their defaults."""
    import copy
    import dataclasses
    import inspect
    import pickle

    from netcompile.nft.statements import InputInterface, Masquerade, Node, TypeOf

    samples: dict[str, Node] = {
        type(n).__name__: n
        for n in [
            member(Concat((saddr(IPV4), L4PROTO, DPORT)), "s"),
            Concat((saddr(IPV4), L4PROTO, DPORT)),
            saddr(IPV4),
            L4PROTO,
            DPORT,
            Integer(5),
            Mark(5),
            Range(1, 2),
            Symbol("tcp"),
            Network(ip_network("10.0.0.0/8")),
            SetRef("s"),
            BitAnd(META_MARK, Mark(4)),
            AnonSet((Integer(1),)),
            InputInterface(),
            goto("c"),
            AnonVmap(((Integer(0), goto("a")),)),
            Vmap(L4PROTO, SetRef("m")),
            MarkSet(MarkOp.OR, Mark(1)),
            Dnat(IPV6, ip_address("fd00::1"), 80),
            DnatMap(IPV4, daddr(IPV4), SetRef("m")),
            Masquerade(True),
            Reject(True),
            SetUpdate(SetRef("s"), saddr(IPV4)),
            Types((DataType.IPV4_ADDR,)),
            TypeOf(daddr(IPV4)),
        ]
    }
    from netcompile.nft.expressions import Ct, CtKey, Flags, InterfaceName, Numgen

    for extra in (Ct(CtKey.STATE), Flags(("established",)), InterfaceName("eth0", True), Numgen(2)):
        samples[type(extra).__name__] = extra
    kinds = _every_node_class()
    assert {k.__name__ for k in kinds} == set(samples), "a sample of every Node class"
    for kind in kinds:
        node = samples[kind.__name__]
        names = [f.name for f in dataclasses.fields(node)]  # type: ignore[arg-type]
        assert kind.__match_args__ == tuple(names)  # type: ignore[attr-defined]
        params = inspect.signature(kind).parameters
        assert list(params) == names
        assert [p.default for p in params.values()] == [
            f.default if f.default is not dataclasses.MISSING else inspect.Parameter.empty
            for f in dataclasses.fields(node)  # type: ignore[arg-type]
        ]
        assert not hasattr(node, "__dict__")
        for name in names:
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(node, name, 1)
            with pytest.raises(dataclasses.FrozenInstanceError):
                delattr(node, name)
        for again in (pickle.loads(pickle.dumps(node)), copy.deepcopy(node), copy.copy(node)):
            assert type(again) is kind and again == node and hash(again) == hash(node)
        assert dataclasses.replace(node) == node  # type: ignore[type-var]
    assert dataclasses.replace(Integer(5), value=6) == Integer(6)
    with pytest.raises(IRError):
        dataclasses.replace(Integer(5), value=-1)  # replacing checks the values as building does


def test_the_leaves_references_skips_hold_no_node() -> None:
    """`references` does not look inside `expressions.LEAVES`: none of their fields may hold a node (or a
    tuple of them), by its declared type."""
    import dataclasses

    from netcompile.nft.expressions import LEAVES

    node_names = {kind.__name__ for kind in _every_node_class()} | {"Node", "Expr", "Statement"}
    for kind in LEAVES:
        for f in dataclasses.fields(kind):  # type: ignore[arg-type]
            words = set(re.findall(r"\w+", str(f.type)))
            assert not words & node_names, f"{kind.__name__}.{f.name}: {f.type}"
    assert {"Concat", "AnonSet", "AnonVmap", "BitAnd", "Match", "Vmap"}.isdisjoint(k.__name__ for k in LEAVES)


_PRINTABLE = st.characters(min_codepoint=32, max_codepoint=126)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        st.text(_PRINTABLE, max_size=300),
        st.text(_PRINTABLE, min_size=120, max_size=300),  # around and past the limit of 128
        st.text(st.characters(min_codepoint=33, max_codepoint=33), min_size=120, max_size=140),
    )
)
def test_safe_comment_is_the_rule_character_by_character(text: str) -> None:
    """Its fast path (printable ASCII without quote or backslash, cut to 128 when longer) writes what the
    rule applied character by character writes, for short and long comments."""
    assert safe_comment(text) == cut_comment("".join(safe_char(ch) for ch in text))


def test_element_lines_write_each_element_as_element_does() -> None:
    from netcompile.nft.syntax import element, element_line_list

    elements = [
        Element(("10.0.0.1", "tcp", "80"), None, "a"),
        Element(("10.0.0.2",), None, "a"),
        Element(("10.0.0.3",), None, None),
        Element(("tcp", "80"), (goto("c"),), 'b "quoted"'),
        Element(("10.0.0.4",), ("10.1.0.1", "8080"), "a"),
    ]
    assert element_line_list(elements, "\t") == [f"\t{element(e)}," for e in elements]
