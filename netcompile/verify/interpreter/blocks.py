"""Element blocks: a named set's `elements = { ... }` as netcompile writes them, read a row at a time.

netcompile writes one element a line, each ending in a comma: `KEY [comment "C"] [: VALUE],`, with the
braces on lines of their own. The tokenizer hands such a block over as one token (`tokens`); this module
matches each row with one regular expression, without a token object per word (the bulk of the parse
of a large ruleset). A block laid out otherwise, or holding anything this reader does not take (a quoted
interface name, a comment after the value, a value outside its datatype), gives None: the parser then
reads the block token by token, as any other text, so the elements and the errors are the same either
way (tests/test_interpreter_blocks.py compares the two readers).
"""

from __future__ import annotations

import re
from functools import cache

from .syntax import Element, SetDef, Verdict
from .typed import typed_value
from .vocabulary import VERDICT, Interval

__all__ = ["BlockReader"]

# A row's grammar. Inside a block every character is a word character, a blank, a comma or part of a
# quoted string (`tokens`), so a run of characters other than blanks, commas and quotes is one word, as
# the tokenizer reads it.
_WORD = r'[^\s",]+'
_DOT = r"[ \t]+\.[ \t]+"
_COMMENT = r'(?:[ \t]+comment[ \t]+("[^"\n]*"))?'
_ARROW = r"[ \t]+:[ \t]+"
_VERDICTS = {kind: Verdict(kind) for kind in ("accept", "drop", "continue", "return")}


@cache
def _row(key_types: tuple[str, ...], value_types: tuple[str, ...] | None) -> re.Pattern[str]:
    """`KEY [comment "C"] [: VALUE],` of a set or map of these types, one a line: groups are the key's text,
    the comment (quoted; `read` empties it), then the verdict (`accept`, or `goto CHAIN`) or the value's
    text. A key or value of several words is `W . W . W`: its words are its text split at blanks, every
    other one."""
    key = "(" + _DOT.join([_WORD] * len(key_types)) + ")"
    if value_types is None:
        value = ""
    elif value_types == (VERDICT,):
        value = _ARROW + r"((?:jump|goto)[ \t]+" + _WORD + r"|accept|drop|continue|return)"
    else:
        value = _ARROW + "(" + _DOT.join([_WORD] * len(value_types)) + ")"
    return re.compile(r"^[ \t]*" + key + _COMMENT + value + r"[ \t]*,[ \t]*$", re.MULTILINE)


class _NotHere(Exception):
    """The block is not in the layout this reader takes: the parser reads it token by token."""


class BlockReader:
    """Reads the blocks of one text: each distinct word of a datatype, each distinct key text of a key type,
    and each distinct verdict, is read once (policy rulesets repeat peers from set to set)."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[str, tuple[Interval, bool]]] = {}
        self.keys: dict[tuple[str, ...], dict[str, tuple[tuple[Interval, ...], bool]]] = {}
        self.verdicts: dict[str, Verdict] = dict(_VERDICTS)

    def read(self, text: str, line: int, definition: SetDef) -> list[Element] | None:
        """The elements of a block token (`text` from `{` to `}`, the `{` on `line`), or None when the block
        is not laid out one element a line: the parser reads it token by token then."""
        first, last = text.find("\n"), text.rfind("\n")
        if first < 0 or text[1:first].strip() or text[last + 1 : -1].strip():
            return None  # the braces are not on lines of their own
        if first == last:
            return []
        inner = text[first + 1 : last]
        # The rows are matched with every quoted string emptied: the pattern takes a string only as a comment,
        # so when every row matches, the strings are the comments in order (`said`).
        pieces = inner.split('"')
        said = iter(pieces[1::2])
        if len(pieces) > 1:
            if not len(pieces) % 2 or "\n" in "".join(pieces[1::2]):
                return None  # a quote left open, or a string across lines (no block token has one): no row holds it
            inner = '""'.join(pieces[0::2])
        key_types, value_types = definition.key_types, definition.value_types
        rows: list[tuple[str, ...]] = _row(key_types, value_types).findall(inner)
        if len(rows) != inner.count("\n") + 1:
            return None  # a line that is not one element (a blank one, two elements, a value after the comment)
        keys = self.keys.setdefault(key_types, {})
        out: list[Element] = []
        append = out.append
        number = line
        try:
            if value_types is None:
                for key_text, comment in rows:
                    number += 1
                    known = keys.get(key_text)
                    if known is None:
                        known = keys[key_text] = self.concat(key_text, key_types)
                    append(Element(known[0], None, next(said) if comment else None, number, known[1]))
            elif value_types == (VERDICT,):
                verdicts = self.verdicts
                for key_text, comment, verdict_text in rows:
                    number += 1
                    known = keys.get(key_text)
                    if known is None:
                        known = keys[key_text] = self.concat(key_text, key_types)
                    verdict = verdicts.get(verdict_text)
                    if verdict is None:
                        kind, chain = verdict_text.split()
                        verdict = verdicts[verdict_text] = Verdict(kind, chain)
                    append(Element(known[0], verdict, next(said) if comment else None, number, known[1]))
            else:
                for key_text, comment, value_text in rows:
                    number += 1
                    known = keys.get(key_text)
                    if known is None:
                        known = keys[key_text] = self.concat(key_text, key_types)
                    atoms, ranged = self.concat(value_text, value_types)
                    if ranged:
                        return None  # a map value cannot be a range or prefix: the parser says so
                    value = tuple([lo for lo, _ in atoms])
                    append(Element(known[0], value, next(said) if comment else None, number, known[1]))
        except _NotHere:
            return None
        return out

    def concat(self, text: str, types: tuple[str, ...]) -> tuple[tuple[Interval, ...], bool]:
        """`W . W . W` (as the row's pattern matched it), typed; True when one is written as a prefix or range."""
        if len(types) == 1:
            interval, ranged = self.typed(text, types[0])
            return (interval,), ranged
        atoms: list[Interval] = []
        ranged = False
        for word, dtype in zip(text.split()[::2], types, strict=True):
            interval, was_ranged = self.typed(word, dtype)
            atoms.append(interval)
            ranged = ranged or was_ranged
        return tuple(atoms), ranged

    def typed(self, word: str, dtype: str) -> tuple[Interval, bool]:
        """One word of a datatype, typed once."""
        seen = self.seen.get(dtype)
        if seen is None:
            seen = self.seen[dtype] = {}
        typed = seen.get(word)
        if typed is None:
            try:
                typed = seen[word] = typed_value(word, dtype)
            except ValueError:
                raise _NotHere from None  # the parser words the error
        return typed
