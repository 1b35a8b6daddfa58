"""Reading JSON in Python (`jsonread.parse_python`): what the C reader (`_fastyaml.json_documents`) does,
with the same values, positions and problems (tests/test_json.py), where the C reader is not built.
See jsonread.py for JSON's rules as netcompile reads them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .documents import YList, YMap
from .jsonread import Document, Parsed, Problem

_WS = re.compile(r"[ \t\n\r]*")
_PLAIN_STRING = re.compile(r'"([^"\\\x00-\x1f]*)"')
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"')
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SIMPLE_ESCAPES = frozenset('"\\/bfnrt')
_NUMBER_STARTS = frozenset("-0123456789")
_SCALAR_STARTS = frozenset("-0123456789tfn")


def _describe(c: str) -> str:
    """A character as messages show it: 'x' when printable ASCII, else its code point."""
    if not c:
        return "end of input"
    return f"'{c}'" if "!" <= c <= "~" else f"U+{ord(c):04X}"


class _SyntaxError(Exception):
    def __init__(self, at: int, message: str) -> None:
        super().__init__(message)
        self.at = at
        self.message = message


@dataclass(slots=True)
class _Frame:
    """An object or array being read: the values go in `container`; `key` is the pending key (None for a
    repeated one, whose value is dropped) and `where` the packed position of the pending value."""

    container: Any
    is_map: bool
    key: str | None = None
    where: int = 0


class PyReader:
    """One text, read left to right without recursion (any depth is read in constant stack)."""

    def __init__(self, text: str, file: str, first_line: int, max_depth: int) -> None:
        self.text = text
        self.n = len(text)
        self.file = file
        self.max_depth = max_depth
        self.line = first_line  # of offset `counted`; lines end at "\n" only (JSON allows no other)
        self.line_start = 0
        self.counted = 0
        self.problems: list[Problem] = []
        self.failed = False  # the current document reached a limit: it is dropped
        self.repeats = False  # the current document repeats a key

    def where(self, i: int) -> tuple[int, int]:
        """Line and column (from 1, in characters) of offset i; offsets are asked in increasing order."""
        if i > self.counted:
            newlines = self.text.count("\n", self.counted, i)
            if newlines:
                self.line += newlines
                self.line_start = self.text.rfind("\n", self.counted, i) + 1
            self.counted = i
        return self.line, i - self.line_start + 1

    def pos(self, i: int) -> int:
        line, column = self.where(i)
        return (line << 20) | min(column, 0xFFFFF)

    def limit(self, i: int, what: str, digits: int) -> None:
        if not self.failed:
            self.failed = True
            self.problems.append((*self.where(i), what, digits))

    def run(self) -> Parsed:
        text, n = self.text, self.n
        docs: list[Document] = []
        i = 1 if text.startswith("\ufeff") else 0
        try:
            while True:
                i = _WS.match(text, i).end()  # type: ignore[union-attr]
                if i >= n:
                    break
                self.failed = self.repeats = False
                first, here = text[i], self.pos(i)
                value, i = self.document(i)
                if not self.failed:
                    docs.append((value, here, self.repeats))
                if first in _SCALAR_STARTS and i < n and text[i] not in " \t\n\r":
                    raise _SyntaxError(
                        i, f"expected whitespace or end of input after a top-level value, found {_describe(text[i])}"
                    )
        except _SyntaxError as exc:
            line, column = self.where(exc.at)
            return docs, self.problems, (line, column, exc.message)
        return docs, self.problems, None

    def document(self, i: int) -> tuple[Any, int]:
        """The value starting at offset i (not blank), and the offset after it."""
        text, n, ws = self.text, self.n, _WS.match
        frames: list[_Frame] = []
        deep = bytearray()  # the levels past --max-depth (1 an object, 0 an array): read, not built
        value: Any
        while True:  # a value starts at i
            c = text[i] if i < n else ""
            building = not deep
            here = self.pos(i) if building else 0
            if building and frames:
                frames[-1].where = here
            if c == "{" or c == "[":
                is_map = c == "{"
                close = "}" if is_map else "]"
                frame: _Frame | None = None
                if building and len(frames) <= self.max_depth:
                    frame = _Frame(YMap(self.file, here) if is_map else YList(self.file, here), is_map)
                    frames.append(frame)
                else:
                    if building:
                        self.limit(i, "depth", 0)
                    deep.append(is_map)
                i = ws(text, i + 1).end()  # type: ignore[union-attr]
                if not text.startswith(close, i):
                    if is_map:
                        i = self.key(i, frame, "a string key or '}'")
                    continue
                i += 1
                if frame is None:
                    deep.pop()
                    value = None
                else:
                    frames.pop()
                    value = frame.container
            elif c == '"':
                value, i = self.string(i)
            elif c in _NUMBER_STARTS and c:
                value, i = self.number(i)
            elif text.startswith("true", i):
                value, i = True, i + 4
            elif text.startswith("false", i):
                value, i = False, i + 5
            elif text.startswith("null", i):
                value, i = None, i + 4
            else:
                raise _SyntaxError(i, f"expected a value, found {_describe(c)}")
            while True:  # after a value: into its container, then the next value or the container's end
                if deep:
                    is_map = bool(deep[-1])
                elif not frames:
                    return value, i
                else:
                    frame = frames[-1]
                    is_map = frame.is_map
                    container = frame.container
                    if not is_map:
                        container.append(value)
                        container.positions.append(frame.where)
                    elif frame.key is not None:
                        container[frame.key] = value
                        container.positions[frame.key] = frame.where
                close = "}" if is_map else "]"
                i = ws(text, i).end()  # type: ignore[union-attr]
                c = text[i : i + 1]
                if c == ",":
                    i = ws(text, i + 1).end()  # type: ignore[union-attr]
                    if is_map:
                        i = self.key(i, None if deep else frames[-1], "a string key")
                    break
                if c != close:
                    raise _SyntaxError(i, f"expected ',' or '{close}', found {_describe(c)}")
                i += 1
                if deep:
                    deep.pop()
                    value = None
                else:
                    value = frames.pop().container

    def key(self, i: int, frame: _Frame | None, expected: str) -> int:
        """Read a key and its colon at offset i, for `frame` (None: past --max-depth); the offset after."""
        text = self.text
        if not text.startswith('"', i):
            raise _SyntaxError(i, f"expected {expected}, found {_describe(text[i : i + 1])}")
        key, j = self.string(i)
        if frame is not None:
            mapping = frame.container
            if key in mapping:
                mapping.duplicates = [*(mapping.duplicates or ()), (key, self.pos(i))]
                self.repeats = True
                frame.key = None
            else:
                frame.key = key
        j = _WS.match(text, j).end()  # type: ignore[union-attr]
        if not text.startswith(":", j):
            raise _SyntaxError(j, f"expected ':' after a key, found {_describe(text[j : j + 1])}")
        return _WS.match(text, j + 1).end()  # type: ignore[union-attr]

    def string(self, i: int) -> tuple[str, int]:
        text = self.text
        plain = _PLAIN_STRING.match(text, i)
        if plain is not None:
            return plain.group(1), plain.end()
        escaped = _STRING.match(text, i)
        if escaped is None:
            raise self.string_error(i)
        value: str = json.loads(escaped.group())
        if "\\u" in escaped.group() and _SURROGATE.search(value):
            value = _SURROGATE.sub("\ufffd", value)  # a lone surrogate, as Go reads it
        return value, escaped.end()

    def string_error(self, i: int) -> _SyntaxError:
        """What is wrong with the string starting at offset i: its first problem."""
        text, n = self.text, self.n
        j = i + 1
        while j < n:
            c = text[j]
            if c == "\\":
                e = text[j + 1 : j + 2]
                if e and e in _SIMPLE_ESCAPES:
                    j += 2
                elif e == "u" and _HEX4.fullmatch(text, j + 2, j + 6):
                    j += 6
                elif e == "u":
                    return _SyntaxError(j, "invalid \\u escape: expected 4 hexadecimal digits")
                else:
                    return _SyntaxError(j, f"invalid escape: '\\' followed by {_describe(e)}")
            elif c < " ":
                return _SyntaxError(j, f"unescaped control character {_describe(c)} in a string")
            else:
                j += 1  # a closing quote would have matched
        return _SyntaxError(i, "unterminated string")

    def number(self, i: int) -> tuple[Any, int]:
        text = self.text
        match = _NUMBER.match(text, i)
        if match is None:  # a minus sign without a digit
            raise _SyntaxError(i + 1, f"expected a digit, found {_describe(text[i + 1 : i + 2])}")
        j = match.end()
        fraction, exponent = match.group(1), match.group(2)
        after = text[j : j + 1]
        if fraction is None and after == ".":
            raise _SyntaxError(j + 1, f"expected a digit, found {_describe(text[j + 1 : j + 2])}")
        if exponent is None and after in ("e", "E"):
            k = j + 2 if text[j + 1 : j + 2] in ("+", "-") else j + 1
            raise _SyntaxError(k, f"expected a digit, found {_describe(text[k : k + 1])}")
        token = match.group()
        if fraction is not None or exponent is not None:
            return float(token), j
        try:
            return int(token), j
        except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
            self.limit(i, "number", len(token) - token.startswith("-"))
            return None, j
