"""Element blocks: a named set's `elements = { ... }` as netcompile writes them, read a row at a time.

netcompile writes one element a line, each ending in a comma: `KEY [comment "C"] [: VALUE],`, with the
braces on lines of their own. The tokenizer hands such a block over as one token (`tokens`); this module
cuts it into rows without a token object per word (the bulk of the parse of a large ruleset), in one of
two ways, with the quoted strings emptied first (a string can only be a comment, so when every row is
read, the strings are the comments in order):

- split (`_cut`): every row as netcompile writes it, `INDENT KEY[ comment "C"][ : VALUE],` (the first
  row's indentation, one blank before `comment` and around a map's `:`, the comma right after), and every
  row with a comment or none: the block is cut with `str.split` at the text between rows, and each
  distinct key and value text is held to the grammar of a row once;
- match (`_match`): any other spacing, or comments on some rows only: one regular expression a row (`_row`).

A block laid out otherwise, or holding anything this reader does not take (a quoted interface name, a
comment after the value, a value outside its datatype), gives None: the parser then reads the block
token by token, as any other text, so the elements and the errors are the same every way
(tests/test_interpreter_blocks.py and tests/test_interp_block_split.py compare the readers). Each distinct
word of a datatype, key text and value text is typed once, and the elements are made from the rows' columns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from itertools import repeat
from operator import itemgetter

from .syntax import Element, SetDef, Verdict
from .typed import typed_value
from .vocabulary import VERDICT, Interval

__all__ = ["BlockReader"]

# A row's grammar. Inside a block, outside its strings, every character is a word character of the tokenizer,
# a blank, a comma or a newline (`tokens`), so a word is a run of word characters: it ends at a blank or a
# comma, and nothing else can follow it in a row (so no quantifier here gives anything back).
_WORD = r"[A-Za-z0-9_.:/\[\]@-]++"
_BLANKS = r"[ \t]++"
_DOT = _BLANKS + r"\." + _BLANKS
_COMMENT = "(?:" + _BLANKS + "comment" + _BLANKS + r'("[^"\n]*+"))?'
_ARROW = _BLANKS + ":" + _BLANKS
_VERDICT_TEXT = "(?:jump|goto)" + _BLANKS + _WORD + "|accept|drop|continue|return"
_VERDICTS = {kind: Verdict(kind) for kind in ("accept", "drop", "continue", "return")}

Columns = tuple[Sequence[str], Iterable[str | None], Sequence[str] | None]  # keys, comments, values (maps)


def _words(count: int) -> str:
    """`W . W . W` of `count` words."""
    return _DOT.join([_WORD] * count)


@cache
def _row(key_types: tuple[str, ...], value_types: tuple[str, ...] | None) -> re.Pattern[str]:
    """`KEY [comment "C"] [: VALUE],` of a set or map of these types, one a line: groups are the key's text,
    the comment (quoted; emptied), then the verdict (`accept`, or `goto CHAIN`) or the value's text. A key
    or value of several words is `W . W . W`: its words are its text split at blanks, every other one."""
    key = "(" + _words(len(key_types)) + ")"
    if value_types is None:
        value = ""
    elif value_types == (VERDICT,):
        value = _ARROW + "(" + _VERDICT_TEXT + ")"
    else:
        value = _ARROW + "(" + _words(len(value_types)) + ")"
    return re.compile(r"^[ \t]*+" + key + _COMMENT + value + r"[ \t]*+,[ \t]*+$", re.MULTILINE)


@cache
def _text(types: tuple[str, ...]) -> re.Pattern[str]:
    """A key's or value's text, as `_row` takes it (for the texts the split gives)."""
    return re.compile(_VERDICT_TEXT if types == (VERDICT,) else _words(len(types)))


def _cut(inner: str, rows: int, said: list[str], is_map: bool) -> Columns | None:
    """The columns of a block every row of which is `INDENT KEY[ comment ""][ : VALUE],` (the strings
    emptied; with `said`, as many as the rows, every row has its comment, else none), cut at the text between
    rows (and a map's at its ` : `); None when the last row does not end so. A row laid out otherwise leaves
    a key or value text outside the grammar of a row (the cut fell elsewhere: a text holds a newline, a
    comma, a blank or a quote, or is empty), which `read` checks: `_match` reads the block then."""
    indent = inner[: len(inner) - len(inner.lstrip(" \t"))]
    tail = ' comment ""' if said else ""
    end = "," if is_map else tail + ","
    if not inner.endswith(end):
        return None
    parts = inner[len(indent) : len(inner) - len(end)].split(end + "\n" + indent)
    comments: Sequence[str | None] = said or [None] * rows
    if not is_map:
        return parts, comments, None
    keys, _, values = zip(*map(str.partition, parts, repeat(tail + " : ")), strict=True)
    return keys, comments, values


def _match(
    inner: str, rows: int, said: list[str], key_types: tuple[str, ...], value_types: tuple[str, ...] | None
) -> Columns | None:
    """The columns of a block one element a line, every row matched by `_row`; None when a line is not one
    element."""
    found: list[tuple[str, ...]] = _row(key_types, value_types).findall(inner)
    if len(found) != rows:
        return None
    columns = list(zip(*found, strict=True))
    strings = iter(said)
    comments = [next(strings) if quoted else None for quoted in columns[1]]
    return columns[0], comments, columns[2] if value_types is not None else None


class _NotHere(Exception):
    """The block is not in the layout this reader takes: the parser reads it token by token."""


class BlockReader:
    """Reads the blocks of one text: each distinct word of a datatype, each distinct key text of a key type,
    and each distinct value text (a verdict too) of a value type, is read once (policy rulesets repeat peers
    from set to set)."""

    split = True  # blocks in netcompile's exact layout cut with str.split (`_cut`; tests switch it off)

    def __init__(self) -> None:
        self.seen: dict[str, dict[str, tuple[Interval, bool]]] = {}
        # by key types: each key text's intervals, and whether one of its words is a prefix or range
        self.keys: dict[tuple[str, ...], tuple[dict[str, tuple[Interval, ...]], dict[str, bool]]] = {}
        self.values: dict[tuple[str, ...], dict[str, Verdict | tuple[int, ...]]] = {(VERDICT,): dict(_VERDICTS)}

    def read(
        self, text: str, line: int, definition: SetDef, emptied: tuple[str, list[str]] | None = None
    ) -> list[Element] | None:
        """The elements of a block token (`text` from `{` to `}`, the `{` on `line`), or None when the block
        is not laid out one element a line: the parser reads it token by token then. `emptied`: the text
        between the braces with its strings emptied, and the strings, when the tokenizer has them."""
        if emptied is None:
            pieces = text[1:-1].split('"')
            if not len(pieces) % 2:
                return None  # a quote left open (no block token has one): no row holds it
            braces, said = '""'.join(pieces[0::2]), pieces[1::2]
            if braces.count("\n") != text.count("\n"):
                return None  # a string across lines (no block token has one either)
        else:
            braces, said = emptied
        first, last = braces.find("\n"), braces.rfind("\n")
        if first < 0 or braces[:first].strip() or braces[last + 1 :].strip():
            return None  # the braces are not on lines of their own (or a string is on theirs)
        if first == last:
            return []
        inner = braces[first + 1 : last]
        rows = inner.count("\n") + 1
        key_types, value_types = definition.key_types, definition.value_types
        keys = self.keys.get(key_types)
        if keys is None:
            keys = self.keys[key_types] = ({}, {})
        atoms, ranged = keys
        values: dict[str, Verdict | tuple[int, ...]] = {}
        if value_types is not None:
            values = self.values.get(value_types) or self.values.setdefault(value_types, values)
        columns = _cut(inner, rows, said, value_types is not None) if self.split and len(said) in (0, rows) else None
        if columns is not None:
            key_texts, comments, value_texts = columns
            new_keys, new_values = set(key_texts).difference(atoms), set(value_texts or ()).difference(values)
            # the texts between the cuts are keys and values only when they are in a row's grammar
            if not all(map(_text(key_types).fullmatch, new_keys)) or (
                value_types is not None and not all(map(_text(value_types).fullmatch, new_values))
            ):
                columns = None
        if columns is None:
            columns = _match(inner, rows, said, key_types, value_types)
            if columns is None:
                return None  # a line that is not one element (a blank one, two elements, a value after the comment)
            key_texts, comments, value_texts = columns
            new_keys, new_values = set(key_texts).difference(atoms), set(value_texts or ()).difference(values)
        try:
            if new_keys:
                texts = list(new_keys)
                typed, written = self.concat(texts, key_types)
                atoms.update(zip(texts, typed, strict=True))
                ranged.update(zip(texts, written, strict=True))
            if new_values:
                assert value_types is not None
                values.update(self.values_of(list(new_values), value_types))
        except _NotHere:
            return None
        given: Iterable[Verdict | tuple[int, ...] | None] = (
            [None] * rows if value_texts is None else map(values.__getitem__, value_texts)
        )
        return list(
            map(
                Element,
                map(atoms.__getitem__, key_texts),
                given,
                comments,
                range(line + 1, line + 1 + rows),
                map(ranged.__getitem__, key_texts),
            )
        )

    def values_of(self, texts: list[str], types: tuple[str, ...]) -> Iterator[tuple[str, Verdict | tuple[int, ...]]]:
        """Each verdict of a verdict map, or value of a data map (never a range or prefix: the parser words that),
        with its text."""
        if types == (VERDICT,):
            for text in texts:
                kind, chain = text.split()
                yield text, Verdict(kind, chain)
            return
        typed, written = self.concat(texts, types)
        if any(written):
            raise _NotHere
        for text, intervals in zip(texts, typed, strict=True):
            yield text, tuple([lo for lo, _ in intervals])

    def concat(self, texts: list[str], types: tuple[str, ...]) -> tuple[list[tuple[Interval, ...]], list[bool]]:
        """Each text `W . W . W` (as the row's grammar takes it) typed, and whether one of its words is written as
        a prefix or range. The words of all the texts are typed column by column, each distinct word once."""
        count = len(types)
        words = " ".join(texts).split() if count > 1 else texts  # each text's words, with ` . ` between them
        intervals: list[Iterator[Interval]] = []
        ranges: list[Iterator[bool]] = []
        for position, dtype in enumerate(types):
            column = words[2 * position :: 2 * count - 1]
            seen = self.seen.get(dtype)
            if seen is None:
                seen = self.seen[dtype] = {}
            for word in set(column).difference(seen):
                try:
                    seen[word] = typed_value(word, dtype)
                except ValueError:
                    raise _NotHere from None  # the parser words the error
            typed = list(map(seen.__getitem__, column))
            intervals.append(map(itemgetter(0), typed))
            ranges.append(map(itemgetter(1), typed))
        return list(zip(*intervals, strict=True)), list(map(any, zip(*ranges, strict=True)))
