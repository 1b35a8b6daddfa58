"""Element blocks read a row at a time (netcompile.verify.interpreter.blocks) against token by token.

The tokenizer hands `elements = { ... }` over whole when its braces hold only words, commas, strings and
newlines; the block reader takes netcompile's layout and gives everything else back to the parser. Here
each text is read twice, as it is and with the tokenizer's block rule switched off (every block then
read token by token, as before the block reader existed): the syntax trees, or the errors with their
lines, must be the same. The texts are the golden rulesets and generated sets and maps, in netcompile's
layout and in every way of leaving it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netcompile.verify.interpreter import InterpreterError, tokens
from netcompile.verify.interpreter.blocks import BlockReader
from netcompile.verify.interpreter.parser import parse
from netcompile.verify.interpreter.syntax import Element, SetDef
from tests.conftest import ROOT

# The tokenizer with its block rule never matching: every `elements = {` is a word, an `=` and a `{`.
TOKEN_BY_TOKEN = re.compile(tokens._SCANNER.pattern.replace("(?P<block>", "(?P<block>(?!)", 1), re.VERBOSE)


@contextmanager
def token_by_token() -> Iterator[None]:
    with mock.patch.object(tokens, "_SCANNER", TOKEN_BY_TOKEN):
        yield


def reading(text: str) -> str:
    """The syntax tree of `text` (its repr: every field of every object), or its error and line."""
    try:
        tables, _ = parse(text)
    except InterpreterError as error:
        return f"error at line {error.line}: {error}"
    return repr(tables)


def both_readings(text: str) -> tuple[str, str]:
    with token_by_token():
        before = reading(text)
    return reading(text), before


@contextmanager
def counting_blocks() -> Iterator[list[bool]]:
    """Each block the block reader is given: True when it read it, False when it gave it back."""
    taken: list[bool] = []
    read = BlockReader.read

    def spy(
        self: BlockReader, text: str, line: int, definition: SetDef, emptied: tuple[str, list[str]] | None = None
    ) -> list[Element] | None:
        result = read(self, text, line, definition, emptied)
        taken.append(result is not None)
        return result

    with mock.patch.object(BlockReader, "read", spy):
        yield taken


def test_the_block_rule_can_be_switched_off() -> None:
    text = "table inet t {\nset s {\ntype ipv4_addr\nelements = {\n10.0.0.1,\n}\n}\n}\n"
    assert [t.kind for t in tokens.tokenize(text, text.split("\n")) if t.kind == "block"] == ["block"]
    with token_by_token():
        assert [t.kind for t in tokens.tokenize(text, text.split("\n")) if t.kind == "block"] == []


def test_a_blocks_tokens_are_the_tokens_it_stands_for() -> None:
    text = 'table inet t {\n  set s {\n    type ifname\n    elements = {  eth0 comment "a, b {c}",\n "veth*" ,\n}\n}\n}'
    lines = text.split("\n")
    with token_by_token():
        plain = tokens.tokenize(text, lines)
    expanded = []
    for token in tokens.tokenize(text, lines):
        if token.kind == "block":
            expanded += tokens.tokenize(token.text, lines, token.line, token.start)[:-1]  # less its "eof"
        else:
            expanded.append(token)
    assert expanded == plain


GOLDEN = sorted((ROOT / "golden").glob("*/expected.nft"))


@pytest.mark.parametrize("path", GOLDEN, ids=[p.parent.name for p in GOLDEN])
def test_every_golden_ruleset_reads_the_same_and_every_block_row_by_row(path: Path) -> None:
    text = path.read_text()
    with counting_blocks() as taken:
        now, before = both_readings(text)
    assert now == before
    assert not now.startswith("error")
    assert taken and all(taken), "a block in netcompile's own layout was given back to the parser"


# --- generated sets and maps --------------------------------------------------------------------------

GOOD = {
    "ipv4_addr": ["10.0.0.1", "10.0.0.0/8", "10.0.0.5-10.0.0.9", "10.0.0.1/32", "0.0.0.0/0"],
    "ipv6_addr": ["fd00::1", "fd00::/64", "::ffff:10.0.0.1", "fd00::5-fd00::9"],
    "inet_proto": ["tcp", "udp", "sctp", "6", "17", "0x11"],
    "inet_service": ["80", "443", "0", "65535", "1000-1999", "0x50"],
    "mark": ["0x4000", "0", "4294967295", "0x10-0x1f"],
    "ifname": ["eth0", "lo", "comment", ".", '"eth1"', '"br-*"'],
}
BAD = {
    "ipv4_addr": ["10.0.0.256", "10.0.0.01", "fd00::1", ".", "10.0.0.9-10.0.0.5", "10.0.0.0/33"],
    "ipv6_addr": ["10.0.0.1", "fd00:::1", "fd00::/129"],
    "inet_proto": ["300", "bogus"],
    "inet_service": ["65536", "2000-1000", "http", "-1"],
    "mark": ["4294967296", "0x"],
    "ifname": ["veth*", "*", "a" * 16, '"a*b"'],
}
KEY_TYPES = st.lists(st.sampled_from(sorted(GOOD)), min_size=1, max_size=4).map(tuple)
VALUES = st.sampled_from(["none", "none", "accept", "drop", "return", "goto chain-a", "jump chain-b", "data"])
COMMENTS = st.text(st.characters(min_codepoint=32, max_codepoint=126, exclude_characters='"'), max_size=12)


def rarely(draw: st.DrawFn) -> bool:
    return draw(st.integers(0, 24)) == 0


@st.composite
def rows(draw: st.DrawFn, key_types: tuple[str, ...], value: str) -> str:
    """One element in netcompile's layout, now and then left in one way or another."""
    fields = [draw(st.sampled_from(BAD[t] if rarely(draw) else GOOD[t])) for t in key_types]
    if rarely(draw):
        fields.append(draw(st.sampled_from(["80", ".", "tcp"])))  # one part too many
    if rarely(draw) and len(fields) > 1:
        fields.pop()  # one too few
    blank = draw(st.sampled_from([" "] * 8 + ["\t", "  ", ""]))
    row = "\t\t\t" + f"{blank}.{blank}".join(fields)
    comment = f' comment "{draw(COMMENTS)}"' if draw(st.booleans()) else ""
    if value == "none":
        arrow = " : accept" if rarely(draw) else ""
    elif value == "data":
        arrow = " : " + draw(st.sampled_from(["10.0.0.2 . 8080"] * 8 + ["10.0.0.0/8 . 80", "10.0.0.2", "goto x"]))
    else:
        arrow = f" : {value}" if not rarely(draw) else draw(st.sampled_from([" : goto", " : reject", " :accept"]))
    row += arrow + comment if rarely(draw) else comment + arrow  # rarely: a comment after the value
    return row + (draw(st.sampled_from([", ", " ,", "", ";", ",,", ", 10.0.0.1,"])) if rarely(draw) else ",")


@st.composite
def sets(draw: st.DrawFn) -> str:
    key_types = draw(KEY_TYPES)
    value = draw(VALUES)
    keyword, type_line = "set", " . ".join(key_types)
    if value != "none":
        keyword = "map"
        type_line += " : ipv4_addr . inet_service" if value == "data" else " : verdict"
    body = draw(st.lists(rows(key_types, value), max_size=6))
    if rarely(draw):
        body.insert(draw(st.integers(0, len(body))), draw(st.sampled_from(["", "\t\t\t", "# a note", "\t\t\t}"])))
    opening = "elements = {" + (draw(st.sampled_from([" ", " 10.0.0.1,", " # note", "\t"])) if rarely(draw) else "")
    closing = draw(st.sampled_from(["\t\t}", "10.0.0.1 }", "}}", "}"])) if rarely(draw) else "\t\t}"
    flags = "\t\tflags interval\n" if draw(st.booleans()) else ""
    block = "\n".join([f"\t\t{opening}", *body, closing])
    return (
        "table inet t {\n\tchain chain-a {\n\t}\n\tchain chain-b {\n\t}\n"
        f"\t{keyword} s {{\n\t\ttype {type_line}\n{flags}{block}\n\t}}\n}}\n"
    )


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sets())
def test_generated_sets_and_maps_read_the_same(text: str) -> None:
    now, before = both_readings(text)
    assert now == before, text


def test_the_layout_netcompile_writes_is_read_row_by_row() -> None:
    text = (
        "table inet t {\n\tchain c {\n\t}\n\tmap m {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n"
        "\t\telements = {\n"
        '\t\t\t10.96.0.1 . tcp . 80 comment "ns/svc:http" : goto c,\n'
        "\t\t\t10.96.0.2 . udp . 53 : accept,\n"
        '\t\t\t10.96.0.3 . sctp . 9 comment "" : drop,\n'
        "\t\t}\n\t}\n}\n"
    )
    with counting_blocks() as taken:
        now, before = both_readings(text)
    assert taken == [True]
    assert now == before
    elements = parse(text)[0]["t"].sets["m"].elements
    assert [e.line for e in elements] == [7, 8, 9]
    assert [(e.comment, str(e.value)) for e in elements] == [("ns/svc:http", "goto c"), (None, "accept"), ("", "drop")]
    assert elements[0].key == ((0x0A600001, 0x0A600001), (6, 6), (80, 80))


@pytest.mark.parametrize(
    "rows",
    [
        ["10.0.0.1,", "", "10.0.0.2,"],  # a blank line
        ["10.0.0.1, 10.0.0.2,"],  # two elements on a line
        ["10.0.0.1,", "10.0.0.2"],  # the last without its comma
        ['10.0.0.1 comment "x" ,', '"eth0",'],  # a quoted word
    ],
)
def test_other_layouts_are_given_back_and_read_the_same(rows: list[str]) -> None:
    body = "".join(f"\t\t\t{row}\n" for row in rows)
    text = f"table inet t {{\n\tset s {{\n\t\ttype ipv4_addr\n\t\telements = {{\n{body}\t\t}}\n\t}}\n}}\n"
    with counting_blocks() as taken:
        now, before = both_readings(text)
    assert taken == [False]
    assert now == before


@pytest.mark.parametrize(
    ("row", "line", "message"),
    [
        ("10.0.0.1 . tcp . 70000,", 7, "invalid inet_service value '70000'"),
        ("10.0.0.1 . tcp,", 7, "expected '.', found ','"),
        ("10.0.0.1 . tcp . 80 . 81,", 7, "value has more parts than its type (3)"),
        ('10.0.0.1 . tcp . 80 comment "x" comment "y",', 7, "expected ',' or '}' in elements, found 'comment'"),
        ("10.0.0.1 . tcp . 80 : accept,", 7, "a set element cannot have a value"),
    ],
)
def test_a_bad_row_is_read_token_by_token_and_named_as_before(row: str, line: int, message: str) -> None:
    text = (
        "table inet t {\n\tset s {\n\t\ttype ipv4_addr . inet_proto . inet_service\n\t\telements = {\n"
        f"\t\t\t10.0.0.1 . tcp . 80,\n\t\t\t10.0.0.2 . udp . 53,\n\t\t\t{row}\n\t\t}}\n\t}}\n}}\n"
    )
    with counting_blocks() as taken:
        now, before = both_readings(text)
    assert taken == [False]
    assert now == before
    assert now.startswith(f"error at line {line}: ") and message in now, now
