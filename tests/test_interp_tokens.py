"""The tokenizer (netcompile.verify.interpreter.tokens) against one that reads every block character by character.

`tokenize` finds where an `elements = { ... }` block ends without reading it through (`_block_end`); the
oracle here is the tokenizer as it was before, whose one regular expression matched each block whole. On
the golden rulesets and on generated texts whose braces hold words, strings, newlines, blanks and the
characters a block may not hold (`}` in and out of strings, `#`, `;`, `\\r`, a quote left open), both must
give the same tokens, or the same error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netcompile.verify.interpreter import InterpreterError, tokens
from netcompile.verify.interpreter.tokens import Token
from tests.conftest import ROOT

_ORACLE = re.compile(
    r"""[ \t\r]*
    (?: (?P<comment>\#[^\n]*)
      | (?P<nl>\n)
      | (?P<string>"[^"\n]*")
      | (?P<op>!=|==|[{};,=&|^+])
      | (?P<block>(?P<keyword>elements)[ \t\r]*(?P<equals>=)[ \t\r]*
          (?P<braces>\{(?:[A-Za-z0-9_.:/\[\]@ \t,\n-]++|"[^"\n]*+")*+\}))
      | (?P<word>[A-Za-z0-9_.:/\[\]@-]+)
      | (?P<bad>.) )""",
    re.VERBOSE,
)


def oracle(text: str, lines: list[str], line: int = 1, column: int = 0) -> list[Token]:
    """The tokens as one regular expression reads them, blocks included."""
    out: list[Token] = []
    line_start = -column
    for m in _ORACLE.finditer(text):
        kind = m.lastgroup
        if kind in ("word", "op", "string"):
            start, end = m.span(kind)
            out.append(Token(kind, text[start:end], line, start - line_start, end - line_start))
        elif kind == "block":
            start = m.start("keyword")
            out.append(Token("word", "elements", line, start - line_start, start + 8 - line_start))
            start = m.start("equals")
            out.append(Token("op", "=", line, start - line_start, start + 1 - line_start))
            start, end = m.span("braces")
            out.append(Token("block", text[start:end], line, start - line_start, start + 1 - line_start))
            if newlines := text.count("\n", start, end):
                line += newlines
                line_start = text.rindex("\n", start, end) + 1
        elif kind == "nl":
            end = m.end()
            out.append(Token("nl", "\n", line, end - 1 - line_start, end - line_start))
            line += 1
            line_start = end
        elif kind == "bad":
            raise InterpreterError(f"unexpected character {text[m.start(kind)]!r}", line, lines[line - 1])
    out.append(Token("eof", "", line, 0, 0))
    return out


def reading(read: Callable[[str, list[str]], list[Token]], text: str) -> list[Token] | str:
    try:
        found = read(text, text.split("\n"))
    except InterpreterError as error:
        return f"error at line {error.line}: {error}"
    return found


def same(text: str) -> list[Token] | str:
    now = reading(tokens.tokenize, text)
    assert now == reading(oracle, text), text
    return now


GOLDEN = sorted((ROOT / "golden").glob("*/expected.nft"))


@pytest.mark.parametrize("path", GOLDEN, ids=[p.parent.name for p in GOLDEN])
def test_the_golden_rulesets_give_the_same_tokens(path: Path) -> None:
    found = same(path.read_text())
    assert not isinstance(found, str)
    assert any(token.kind == "block" for token in found)


# Pieces of a block's braces: rows as netcompile writes them, and everything a block may not hold.
PIECES = [
    "10.0.0.1",
    "10.0.0.0/8 . tcp . 80-90",
    ",",
    " ",
    "\t",
    "\n",
    "\n\t\t",
    '"ns/a, {b}"',
    'comment "x"',
    '""',
    ": goto c",
    "}",
    "{",
    "#",
    "# note\n",
    ";",
    "\r",
    '"',
    '"a\nb"',
    "=",
    "elements = {",
]


@st.composite
def texts(draw: st.DrawFn) -> str:
    inner = "".join(draw(st.lists(st.sampled_from(PIECES), max_size=12)))
    opening = draw(st.sampled_from(["elements = {", "elements={", "elements =\t{", "elements = ", "elements"]))
    closing = draw(st.sampled_from(["\n\t\t}", "}", "\n}", " }", "\n\t\t} }", ""]))
    after = draw(st.sampled_from(["\n\t}\n}\n", "\n", "", '\n"open', "\n\t\tflags interval\n\t}\n"]))
    return "table inet t {\n\tset s {\n\t\t" + opening + inner + closing + after


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts())
def test_generated_blocks_give_the_same_tokens(text: str) -> None:
    same(text)


def test_a_block_read_whole_and_one_given_back() -> None:
    """Both ways out of `_block_end`: a block in netcompile's layout, and braces holding a `#`."""
    whole = same('elements = {\n\t10.0.0.1 comment "}",\n\t}\n')
    assert not isinstance(whole, str) and [t.kind for t in whole] == ["word", "op", "block", "nl", "eof"]
    given_back = same("elements = {\n\t10.0.0.1, # a note\n\t}\n")
    assert not isinstance(given_back, str) and "block" not in [t.kind for t in given_back]
    for unclosed in ("elements = {\n x", "elements = {\n x\n", 'elements = {\n "x}\n}'):
        found = same(unclosed)  # no `}` at all, or only one in a string (an error: the quote is left open)
        assert isinstance(found, str) or "block" not in [t.kind for t in found]
