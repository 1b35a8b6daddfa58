"""Element blocks: a named set's `elements = { ... }` as netcompile writes them, read a line at a time.

netcompile writes one element a line, each ending in a comma: `KEY [comment "C"] [: VALUE],`, with the
braces on lines of their own. The tokenizer hands such a block over as one token (`tokens`); this module
reads it with str methods, without a token object per word, which is most of the parse of a large
ruleset. A block laid out otherwise, or holding anything this reader does not take (a quoted interface
name, a value outside its datatype, a misplaced word), gives None: the parser then reads the block token
by token, as any other text, so the elements and the errors are the same either way
(tests/test_interpreter_blocks.py compares the two readers).
"""

from __future__ import annotations

from .syntax import Element, SetDef, Verdict
from .typed import typed_value
from .vocabulary import VERDICT, Interval

__all__ = ["read_block"]

_STRING = '"'  # stands for the quoted string in a line's words (no word contains a quote)
_VERDICTS = {kind: Verdict(kind) for kind in ("accept", "drop", "continue", "return")}


class _NotHere(Exception):
    """The block is not in the layout this reader takes: the parser reads it token by token."""


class _Reader:
    """Typed values of one block, each distinct word of a datatype read once."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[str, tuple[Interval, bool]]] = {}
        self.verdicts: dict[tuple[str, str], Verdict] = {}

    def value(self, word: str, dtype: str) -> tuple[Interval, bool]:
        seen = self.seen.setdefault(dtype, {})
        typed = seen.get(word)
        if typed is None:
            if word == _STRING:
                raise _NotHere  # a quoted interface name
            try:
                typed = seen[word] = typed_value(word, dtype)
            except ValueError:
                raise _NotHere from None
        return typed

    def concat(self, words: list[str], at: int, types: tuple[str, ...]) -> tuple[tuple[Interval, ...], bool, int]:
        """`V . V . V` of `types` from `words[at]`; the values, True when one is ranged, and where they end."""
        end = at + 2 * len(types) - 1
        if end > len(words):
            raise _NotHere
        atoms: list[Interval] = []
        ranged = False
        for index, dtype in enumerate(types):
            if index and words[at + 2 * index - 1] != ".":
                raise _NotHere
            interval, was_ranged = self.value(words[at + 2 * index], dtype)
            atoms.append(interval)
            ranged = ranged or was_ranged
        if end < len(words) and words[end] == ".":
            raise _NotHere  # more parts than the type
        return tuple(atoms), ranged, end

    def verdict(self, words: list[str], at: int) -> tuple[Verdict, int]:
        kind = words[at] if at < len(words) else ""
        if kind in _VERDICTS:
            return _VERDICTS[kind], at + 1
        if kind not in ("jump", "goto") or at + 1 >= len(words) or words[at + 1] == _STRING:
            raise _NotHere
        key = (kind, words[at + 1])
        verdict = self.verdicts.get(key)
        if verdict is None:
            verdict = self.verdicts[key] = Verdict(*key)
        return verdict, at + 2

    def element(self, row: str, line: int, definition: SetDef) -> Element:
        body = row.rstrip()
        if not body.endswith(","):
            raise _NotHere
        head, quote, rest = body[:-1].partition('"')
        comment, after = None, ""
        if quote:
            comment, quote, after = rest.partition('"')
            if not quote or '"' in after:
                raise _NotHere
        if "," in head or "," in after:
            raise _NotHere  # two elements on one line
        words = head.split()
        if comment is not None:
            words.append(_STRING)
            words += after.split()
        key, ranged, at = self.concat(words, 0, definition.key_types)
        found: str | None = None
        if at < len(words) and words[at] == "comment":
            if at + 1 >= len(words) or words[at + 1] != _STRING:
                raise _NotHere
            found, at = comment, at + 2
        value: Verdict | tuple[int, ...] | None = None
        if definition.value_types is not None:
            if at >= len(words) or words[at] != ":":
                raise _NotHere
            if definition.value_types == (VERDICT,):
                value, at = self.verdict(words, at + 1)
            else:
                atoms, value_ranged, at = self.concat(words, at + 1, definition.value_types)
                if value_ranged:
                    raise _NotHere
                value = tuple(lo for lo, _ in atoms)
            if found is None and at < len(words) and words[at] == "comment":
                if at + 1 >= len(words) or words[at + 1] != _STRING:
                    raise _NotHere
                found, at = comment, at + 2
        if at != len(words):
            raise _NotHere
        return Element(key, value, found, line, ranged)


def read_block(text: str, line: int, definition: SetDef) -> list[Element] | None:
    """The elements of a block token (`text` from `{` to `}`, the `{` on `line`), or None when the block is
    not laid out one element a line: the parser reads it token by token then."""
    rows = text.split("\n")
    if len(rows) < 2 or rows[0][1:].strip() or rows[-1][:-1].strip():
        return None  # the braces are not on lines of their own
    reader = _Reader()
    out: list[Element] = []
    try:
        for number, row in enumerate(rows[1:-1], line + 1):
            if row.strip():
                out.append(reader.element(row, number, definition))
    except _NotHere:
        return None
    return out
