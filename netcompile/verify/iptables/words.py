"""Tokens: the file's sections, and each line as the words iptables-restore and ipset restore see.

The file netcompile writes holds three sections, each opened by a line of its own:

    # netcompile section: ipset        (input of `ipset restore`)
    # netcompile section: iptables     (input of `iptables-restore --noflush`)
    # netcompile section: ip6tables    (input of `ip6tables-restore --noflush`)

in that order (a section may be empty); `#` lines before the first are a header. Line numbers stay
those of the whole file, so every error names the line a user sees.

Words are split on blanks; a double quote opens and closes a quoted run inside which blanks are part
of the word. iptables-restore also takes a backslash in a quoted run as escaping the next character
(`"a \\"b\\""`); ipset restore does not. Single quotes are ordinary characters to both (iptables-restore
refuses `'a b'` as two words, and so does this tokenizer, later, as an unknown option).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..interpreter.errors import InterpreterError

__all__ = ["SECTIONS", "Line", "numbered", "sections", "split_words"]

SECTIONS = ("ipset", "iptables", "ip6tables")
MARKER = "# netcompile section: "


@dataclass(frozen=True, slots=True)
class Line:
    """One meaningful line: its number in the whole file, its text, its words."""

    number: int
    text: str
    words: tuple[str, ...]


_BARE_WORD = re.compile(r"[^ \t\r]+")
_ESCAPED_WORD = re.compile(r'(?:[^ \t\r"]+|"(?:[^"\\]+|\\.)*")+')
_PLAIN_WORD = re.compile(r'(?:[^ \t\r"]+|"[^"]*")+')
_QUOTED_ESCAPED = re.compile(r'"((?:[^"\\]+|\\.)*)"')
_QUOTED_PLAIN = re.compile(r'"([^"]*)"')
_ESCAPE = re.compile(r"\\(.)")


def split_words(text: str, number: int, escapes: bool) -> tuple[str, ...]:
    """The words of one line; an unterminated quote is an error naming the line."""
    if '"' not in text:
        return tuple(_BARE_WORD.findall(text))
    word, quoted = (_ESCAPED_WORD, _QUOTED_ESCAPED) if escapes else (_PLAIN_WORD, _QUOTED_PLAIN)
    words: list[str] = []
    end = 0
    for m in word.finditer(text):
        if text[end : m.start()].strip(" \t\r"):
            break  # something between two words that is no word: an unterminated quote
        end = m.end()
        token = m.group()
        if '"' in token:
            token = quoted.sub(lambda q: _ESCAPE.sub(r"\1", q.group(1)) if escapes else q.group(1), token)
        words.append(token)
    if text[end:].strip(" \t\r"):
        raise InterpreterError("unterminated quote", number, text)
    return tuple(words)


def numbered(text: str, first: int, escapes: bool) -> list[Line]:
    """The lines of one section that say something (not blank, not a `#` comment), with their words."""
    out: list[Line] = []
    for offset, raw in enumerate(text.split("\n")):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        number = first + offset
        out.append(Line(number, raw, split_words(raw, number, escapes)))
    return out


def sections(text: str) -> dict[str, tuple[int, str]]:
    """Each section's text and the file line its first line has; the three, in order, all required."""
    lines = text.split("\n")
    found: dict[str, tuple[int, list[str]]] = {}
    current: list[str] | None = None
    for index, raw in enumerate(lines, start=1):
        if raw.startswith(MARKER.rstrip()):
            name = raw[len(MARKER) :].strip() if raw.startswith(MARKER) else ""
            if name not in SECTIONS:
                raise InterpreterError(f"unknown section (known: {', '.join(SECTIONS)})", index, raw)
            if name in found:
                raise InterpreterError(f"section {name!r} given twice", index, raw)
            expected = SECTIONS[len(found)]
            if name != expected:
                raise InterpreterError(f"section {name!r} out of order: {expected!r} comes next", index, raw)
            current = []
            found[name] = (index + 1, current)
            continue
        if current is None:
            if raw.strip() and not raw.lstrip().startswith("#"):
                raise InterpreterError(f"text before the first section (a line '{MARKER}ipset')", index, raw)
            continue
        current.append(raw)
    missing = [name for name in SECTIONS if name not in found]
    if missing:
        raise InterpreterError(f"missing section(s): {', '.join(missing)} (each opened by '{MARKER}NAME')")
    return {name: (first, "\n".join(body)) for name, (first, body) in found.items()}
