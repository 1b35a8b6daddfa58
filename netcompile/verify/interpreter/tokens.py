"""Tokenizer: nftables text as words, strings, newlines and punctuation, and a cursor over them.

Words are addresses, numbers, names, `10.0.0.0/8`, `80-90`, `fd00::1`, `@set`; ` . ` (concatenation),
` : ` (map arrow) and ` - ` (priority offset) are words of their own because netcompile always spaces
them. A character outside this alphabet is an error here, before any parsing.

`elements = { ... }` whose braces hold only words, commas, quoted strings and newlines (a named set's
elements as netcompile writes them, the bulk of a large ruleset) becomes the word, the `=` and one
"block" token of the braces' text, read by `blocks` without a token per word. Every character of such a
block is one the tokenizer accepts, so handing it over changes no error; `tokenize` of its text (at its
line and column) gives the tokens it stands for. Where such a block ends is found without reading it
character by character (`_block_end`; tests/test_interp_tokens.py holds it to the regular expression
`_BRACES`), since `blocks` reads its rows again; the braces' text with its quoted strings emptied, which
that search makes, is kept for `blocks` (`TokenStream.emptied`).
"""

from __future__ import annotations

import re

from ...values import Record
from .errors import InterpreterError

__all__ = ["Token", "TokenStream", "tokenize"]


class Token(Record):
    """One token (a plain record: `values.Record`; nobody changes one)."""

    _fields = ("kind", "text", "line", "start", "end")
    __slots__ = _fields

    def __init__(self, kind: str, text: str, line: int, start: int, end: int) -> None:
        self.kind = kind  # "word", "string", "op" (one of != == = { } ; , & | ^ +), "nl", "block", "eof"
        self.text = text
        self.line = line
        self.start = start  # column span on that line, 0-based, end exclusive (a block: its `{` alone)
        self.end = end


# The kinds of tokens begin with different characters (a block's `elements` begins a word: it is tried first),
# so their order is only how often each comes: words, then newlines.
_SCANNER = re.compile(
    r"""[ \t\r]*
    (?: (?P<block>(?P<keyword>elements)[ \t\r]*(?P<equals>=)[ \t\r]*(?=\{))
      | (?P<word>[A-Za-z0-9_.:/\[\]@-]++)
      | (?P<nl>\n)
      | (?P<op>!=|==|[{};,=&|^+])
      | (?P<string>"[^"\n]*+")
      | (?P<comment>\#[^\n]*+)
      | (?P<bad>.) )""",
    re.VERBOSE,
)
# The braces of a block: runs of word characters, blanks, commas and newlines, and quoted strings.
_BRACES = re.compile(r'\{(?:[A-Za-z0-9_.:/\[\]@ \t,\n-]++|"[^"\n]*+")*+\}')
# What `_BRACES` takes outside a string, and a quote (the braces' text with its strings emptied holds `""`).
_IN_BRACES = b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:/[]@ \t,\n-"'


def _block_end(text: str, brace: int) -> tuple[int, int, tuple[str, list[str]] | None]:
    """Where the block whose `{` is at `brace` ends (after its `}`), as `_BRACES` matches it; -1 when the
    braces hold anything else. Tried first, with string methods: the braces end at the first `}`, when it
    is first on its line (so in no string: a string ends on its line) and what lies before it, split at its
    quotes, is strings without newlines (a quote left open would hold the newline before that `}`) and,
    around them, only the characters `_BRACES` takes outside a string. With the end come the newlines up
    to it and, from the string methods, the braces' text with every quoted string emptied (`""`) and the
    strings (without their quotes) in order: what `blocks` reads."""
    close = text.find("}", brace)
    line = text.rfind("\n", brace, close) if close > 0 else -1
    if line >= 0 and not text[line + 1 : close].strip(" \t"):
        parts = text[brace + 1 : close].split('"')
        said = parts[1::2]
        emptied = '""'.join(parts[0::2])
        newlines = emptied.count("\n")
        if (
            emptied.isascii()
            and not emptied.encode().translate(None, _IN_BRACES)
            and newlines == text.count("\n", brace, close)  # no string holds a newline
        ):
            return close + 1, newlines, (emptied, said)
    braces = _BRACES.match(text, brace)
    if braces is None:
        return -1, 0, None
    return braces.end(), text.count("\n", brace, braces.end()), None


def tokenize(
    text: str,
    lines: list[str],
    line: int = 1,
    column: int = 0,
    emptied: dict[int, tuple[str, list[str]]] | None = None,
) -> list[Token]:
    """The tokens of `text`, ending with "eof"; `lines` (the text split on newlines) word the errors.

    `text` may be a piece of a larger text starting at `line` and `column` (a block's braces). `emptied`, when
    given, gets the text between the braces of blocks with their strings emptied, and the strings, by the index
    of the block's token (`_block_end`: for the blocks it read with string methods).
    """
    tokens: list[Token] = []
    append = tokens.append
    line_start = -column
    at = 0  # where the scanner starts (again, after each `elements =`)
    while at >= 0:
        matches, at = _SCANNER.finditer(text, at), -1
        for m in matches:
            kind = m.lastgroup
            if kind == "word" or kind == "op" or kind == "string":
                start, end = m.span(kind)
                append(Token(kind, text[start:end], line, start - line_start, end - line_start))
            elif kind == "block":
                start = m.start("keyword")
                append(Token("word", "elements", line, start - line_start, start + 8 - line_start))
                start = m.start("equals")
                append(Token("op", "=", line, start - line_start, start + 1 - line_start))
                start = m.end()
                end, newlines, cut = _block_end(text, start)
                if end < 0:
                    at = start  # not a block: the `{` and what follows, token by token
                    break
                if cut is not None and emptied is not None:
                    emptied[len(tokens)] = cut
                append(Token("block", text[start:end], line, start - line_start, start + 1 - line_start))
                if newlines:
                    line += newlines
                    line_start = text.rindex("\n", start, end) + 1
                at = end
                break
            elif kind == "nl":
                end = m.end()
                append(Token("nl", "\n", line, end - 1 - line_start, end - line_start))
                line += 1
                line_start = end
            elif kind == "bad":
                start = m.start(kind)
                raise InterpreterError(f"unexpected character {text[start]!r}", line, lines[line - 1])
    tokens.append(Token("eof", "", line, 0, 0))
    return tokens


class TokenStream:
    """A cursor over the tokens of one text, with the helpers every grammar rule uses."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.emptied: dict[int, tuple[str, list[str]]] = {}  # blocks' braces, strings emptied (`tokenize`)
        self.tokens = tokenize(text, self.lines, emptied=self.emptied)
        self.i = 0

    # token helpers
    def error(self, message: str, token: Token | None = None) -> InterpreterError:
        token = token or self.tokens[self.i]
        line = token.line
        return InterpreterError(message, line, self.lines[line - 1] if line <= len(self.lines) else "")

    def peek(self, ahead: int = 0) -> Token:
        if not ahead:
            return self.tokens[self.i]  # never past "eof": next() stays there
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        token = self.tokens[self.i]
        if token.kind != "eof":
            self.i += 1
        return token

    def at(self, text: str, ahead: int = 0) -> bool:
        token = self.tokens[self.i] if not ahead else self.peek(ahead)
        return token.text == text and token.kind in ("word", "op")

    # (the helpers below read the cursor in place rather than through peek() and next(): the parser calls
    # them for every token)
    def expect(self, text: str) -> Token:
        token = self.tokens[self.i]
        if token.kind != "eof":
            self.i += 1
        if token.text != text or token.kind not in ("word", "op"):
            raise self.error(f"expected {text!r}, found {token.text or 'end of input'!r}", token)
        return token

    def word(self, what: str) -> Token:
        token = self.tokens[self.i]
        if token.kind != "word":
            if token.kind != "eof":
                self.i += 1
            raise self.error(f"expected {what}, found {token.text or 'end of input'!r}", token)
        self.i += 1
        return token

    def string(self) -> str:
        token = self.next()
        if token.kind != "string":
            raise self.error(f"expected a quoted string, found {token.text!r}", token)
        return token.text[1:-1]

    def end_of_statement(self) -> bool:
        token = self.tokens[self.i]
        return token.kind in ("nl", "eof") or (token.kind == "op" and token.text in (";", "}"))

    def finish_statement(self) -> None:
        token = self.tokens[self.i]
        kind = token.kind
        if kind == "nl" or kind == "eof":
            return
        if kind != "op" or token.text not in (";", "}"):
            raise self.error(f"unexpected {token.text!r}")
        if token.text == ";":
            self.i += 1

    def skip_separators(self) -> None:
        tokens, i = self.tokens, self.i
        while True:
            token = tokens[i]
            if token.kind != "nl" and (token.text != ";" or token.kind not in ("word", "op")):
                break
            i += 1  # (neither is "eof")
        self.i = i

    def skip_braces(self) -> None:
        if self.peek().kind == "block":
            self.next()
            return
        self.expect("{")
        depth = 1
        while depth:
            token = self.next()
            if token.kind == "eof":
                raise self.error("unterminated '{'", token)
            if token.kind == "op" and token.text == "{":
                depth += 1
            elif token.kind == "op" and token.text == "}":
                depth -= 1
