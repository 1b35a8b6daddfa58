"""The block reader's split (netcompile.verify.interpreter.blocks `_cut`) against its regular expression.

A block whose every row is laid out exactly as netcompile writes it is cut with `str.split` at the text
between rows; every other block is matched row by row (`_row`), and what neither takes is read token by
token. Here each text is read with the split and without it (and token by token): the syntax trees, or
the errors with their lines, must be the same, on the golden rulesets (where every block is split) and on
generated blocks in netcompile's layout, now and then left in one of the ways the split must refuse.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netcompile.verify.interpreter import blocks
from netcompile.verify.interpreter.blocks import BlockReader
from tests.conftest import ROOT
from tests.test_interpreter_blocks import BAD, GOOD, reading, token_by_token


@contextmanager
def cuts() -> Iterator[list[bool]]:
    """Each block the split is tried on: True when it was cut and its texts were a row's (never matched)."""
    taken: list[bool] = []
    cut, match = blocks._cut, blocks._match

    def cut_spy(inner: str, rows: int, said: list[str], is_map: bool) -> blocks.Columns | None:
        found = cut(inner, rows, said, is_map)
        taken.append(found is not None)
        return found

    def match_spy(*args: Any) -> blocks.Columns | None:
        if taken:
            taken[-1] = False
        return match(*args)

    with mock.patch.object(blocks, "_cut", cut_spy), mock.patch.object(blocks, "_match", match_spy):
        yield taken


def three_readings(text: str) -> tuple[str, str, str]:
    """The tree (or error) with the split, without it (every block matched row by row), token by token."""
    split = reading(text)
    with mock.patch.object(BlockReader, "split", False):
        matched = reading(text)
    with token_by_token():
        tokens = reading(text)
    return split, matched, tokens


GOLDEN = sorted((ROOT / "golden").glob("*/expected.nft"))


@pytest.mark.parametrize("path", GOLDEN, ids=[p.parent.name for p in GOLDEN])
def test_every_golden_block_is_split_and_reads_the_same(path: Path) -> None:
    text = path.read_text()
    with cuts() as taken:
        reading(text)
    assert taken and all(taken), "a block in netcompile's own layout was not split"
    split, matched, tokens = three_readings(text)
    assert split == matched == tokens
    assert not split.startswith("error")


def rarely(draw: st.DrawFn) -> bool:
    return draw(st.integers(0, 15)) == 0


@st.composite
def rows(draw: st.DrawFn, key_types: tuple[str, ...], value: str, commented: bool, indent: str) -> str:
    """One element as netcompile writes it (`INDENT KEY[ comment "C"][ : VALUE],`), now and then not."""
    fields = [draw(st.sampled_from(BAD[t] if rarely(draw) else GOOD[t])) for t in key_types]
    if rarely(draw):
        fields.append(draw(st.sampled_from(["80", "tcp", "accept", "10.0.0.1"])))  # one part too many
    if rarely(draw) and len(fields) > 1:
        fields.pop()  # one too few
    dot = draw(st.sampled_from([" . ", "  . ", " .\t", ".", " .. "])) if rarely(draw) else " . "
    row = (draw(st.sampled_from(["", "\t", " ", indent + " "])) if rarely(draw) else indent) + dot.join(fields)
    say = commented != rarely(draw)  # now and then a row with a comment among rows without, or the other way
    comment = draw(st.sampled_from(['comment "a, b"', 'comment ""', 'comment "x" comment "y"', '"x"']))
    comment = (draw(st.sampled_from(["  ", "\t"])) if rarely(draw) else " ") + comment if say else ""
    arrow = draw(st.sampled_from([" : ", " :", ": ", "  : ", " : : "])) if rarely(draw) else " : "
    if value == "none":
        after = arrow + "accept" if rarely(draw) else ""
    elif value == "data":
        after = arrow + draw(st.sampled_from(["10.0.0.2 . 8080"] * 6 + ["10.0.0.0/8 . 80", "10.0.0.2", "accept"]))
    else:
        after = arrow + (
            draw(st.sampled_from(["goto", "reject", "accept : drop", "goto  chain-a"])) if rarely(draw) else value
        )
    row += after + comment if rarely(draw) else comment + after  # rarely: the comment after the value
    return row + (draw(st.sampled_from([", ", " ,", "", ",,", ", 10.0.0.1,", ",\t"])) if rarely(draw) else ",")


@st.composite
def sets(draw: st.DrawFn) -> str:
    key_types = draw(st.lists(st.sampled_from(sorted(GOOD)), min_size=1, max_size=3).map(tuple))
    value = draw(st.sampled_from(["none", "none", "accept", "drop", "goto chain-a", "jump chain-b", "data"]))
    keyword, type_line = "set", " . ".join(key_types)
    if value != "none":
        keyword = "map"
        type_line += " : ipv4_addr . inet_service" if value == "data" else " : verdict"
    indent = draw(st.sampled_from(["\t\t\t", "\t\t\t", "", "  "]))
    commented = draw(st.booleans())
    body = draw(st.lists(rows(key_types, value, commented, indent), min_size=1, max_size=5))
    if rarely(draw):
        body.insert(draw(st.integers(0, len(body))), draw(st.sampled_from(["", indent, "# a note", indent + "}"])))
    flags = "\t\tflags interval\n" if draw(st.booleans()) else ""
    block = "\n".join(["\t\telements = {", *body, "\t\t}"])
    # the same set twice: its key and value texts are typed once, then found again
    twice = draw(st.sampled_from(["", block.replace("10.0.0.1", "10.0.0.3", 1)]))
    second = f"\t{keyword} t {{\n\t\ttype {type_line}\n{flags}{twice}\n\t}}\n" if twice else ""
    return (
        "table inet t {\n\tchain chain-a {\n\t}\n\tchain chain-b {\n\t}\n"
        f"\t{keyword} s {{\n\t\ttype {type_line}\n{flags}{block}\n\t}}\n{second}}}\n"
    )


@settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sets())
def test_generated_blocks_read_the_same_split_or_not(text: str) -> None:
    split, matched, tokens = three_readings(text)
    assert split == matched == tokens, text


def test_the_layout_netcompile_writes_is_split() -> None:
    text = (
        "table inet t {\n\tchain c {\n\t}\n\tmap m {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n"
        "\t\telements = {\n"
        '\t\t\t10.96.0.1 . tcp . 80 comment "ns/svc:http" : goto c,\n'
        '\t\t\t10.96.0.2 . udp . 53 comment "a : b, c" : accept,\n'
        "\t\t}\n\t}\n}\n"
    )
    with cuts() as taken:
        reading(text)
    assert taken == [True]
    split, matched, tokens = three_readings(text)
    assert split == matched == tokens
    assert "comment='a : b, c'" in split and "Verdict(kind='goto', target='c')" in split


@pytest.mark.parametrize(
    "rows",
    [
        ['10.0.0.1 comment "x",', "10.0.0.2,"],  # a comment on some rows only
        ["10.0.0.1 ,", "10.0.0.2,"],  # a blank before a comma
        ["10.0.0.1,", "\t10.0.0.2,"],  # another indentation
        ["10.0.0.1,", "10.0.0.2,\t"],  # a blank after the last comma
    ],
)
def test_other_spacing_is_matched_not_split(rows: list[str]) -> None:
    body = "".join(f"\t\t\t{row}\n" for row in rows)
    text = f"table inet t {{\n\tset s {{\n\t\ttype ipv4_addr\n\t\telements = {{\n{body}\t\t}}\n\t}}\n}}\n"
    with cuts() as taken:
        reading(text)
    assert taken in ([], [False])
    split, matched, tokens = three_readings(text)
    assert split == matched == tokens
    assert not split.startswith("error")
