"""What reading gives, and what it reads: position-carrying documents (`YMap`, `YList`), the objects in
them (`RawObject`), the pieces of input text (`Piece`) and the bounds on it (`Limits`)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import Position
from ..values import Frozen, set_field


@dataclass(init=False, slots=True, eq=False, repr=False)
class Limits(Frozen):
    """Bounds on untrusted input; each is a command-line flag (see `netcompile compile --help`)."""

    max_file_bytes: int = 256 * 1024 * 1024
    max_objects: int = 1_000_000
    max_alias_nodes: int = 100_000  # nodes reached through YAML aliases, per document ("billion laughs")
    max_depth: int = 64  # nesting of mappings and sequences

    def __init__(
        self,
        max_file_bytes: int = 256 * 1024 * 1024,
        max_objects: int = 1_000_000,
        max_alias_nodes: int = 100_000,
        max_depth: int = 64,
    ) -> None:
        set_field(self, "max_file_bytes", max_file_bytes)
        set_field(self, "max_objects", max_objects)
        set_field(self, "max_alias_nodes", max_alias_nodes)
        set_field(self, "max_depth", max_depth)


# PyYAML's C composer recurses once per level, on the C stack: 30k levels crash the process (and libyaml
# slows down with depth). And libyaml itself refuses more than 1 000 nested
# collections since 2024 ("exceeded maximum nesting depth"), which PyYAML's wheels bundle from 6.0.4 on,
# while Debian 12's libyaml 0.2.5 has no limit. Pieces that could nest that deep are measured first, from
# parser events (no recursion), and refused past this, so that what is read, and the message for what is
# not, are the same whichever libyaml PyYAML was built with. Python's own recursion limit (1 000 frames)
# bounds the converter too: 512 keeps clear of both.
COMPOSABLE_DEPTH = 512


def c_depth(limits: Limits) -> int:
    """--max-depth as the C reader takes it: a C long."""
    return min(limits.max_depth, sys.maxsize)


def pack(line: int, col: int) -> int:
    """Positions are stored as one int (line << 20 | col) to keep memory flat at 100k objects."""
    return (line << 20) | min(col, 0xFFFFF)


class YMap(dict[str, Any]):
    """A mapping from the input that knows its own position and that of each value.

    `duplicates` lists keys that appeared again (the first value is kept): reported with the object
    and field path once the object they belong to is known.
    """

    __slots__ = ("duplicates", "file", "pos", "positions")

    def __init__(self, file: str, pos: int) -> None:  # empty already: dict.__init__ has nothing to do
        self.file = file
        self.pos = pos
        self.positions: dict[str, int] = {}
        self.duplicates: list[tuple[str, int]] | None = None

    def position(self, key: str | None = None) -> Position:
        packed = self.positions.get(key, self.pos) if key is not None else self.pos
        return Position(self.file, packed >> 20, packed & 0xFFFFF)


class YList(list[Any]):
    """A sequence from the input that knows its own position and that of each item."""

    __slots__ = ("file", "pos", "positions")

    def __init__(self, file: str, pos: int) -> None:  # empty already: list.__init__ has nothing to do
        self.file = file
        self.pos = pos
        self.positions: list[int] = []

    def position(self, index: int | None = None) -> Position:
        packed = self.positions[index] if index is not None and 0 <= index < len(self.positions) else self.pos
        return Position(self.file, packed >> 20, packed & 0xFFFFF)


@dataclass(init=False, slots=True, eq=False, repr=False)
class RawObject(Frozen):
    """One Kubernetes object as read: its kind, and its body with positions."""

    kind: str
    api_version: str
    body: YMap

    def __init__(self, kind: str, api_version: str, body: YMap) -> None:
        set_field(self, "kind", kind)
        set_field(self, "api_version", api_version)
        set_field(self, "body", body)

    @property
    def position(self) -> Position:
        return self.body.position()


@dataclass(init=False, slots=True, eq=False, repr=False)
class Piece(Frozen):
    """Whole documents of one file, decoded. Large files are cut into pieces at
    document starts, so that reading can stop past --max-objects without reading the rest (see
    `manifests.load`)."""

    file: str  # as shown in messages
    text: str
    first_line: int = 1  # the line number, in the file, of the text's first line

    def __init__(self, file: str, text: str, first_line: int = 1) -> None:
        set_field(self, "file", file)
        set_field(self, "text", text)
        set_field(self, "first_line", first_line)


_KIND_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,62}$")
_PLAIN_KEY_RE = re.compile(r"^[A-Za-z0-9_./-]+$")


def key_text(key: str) -> str:
    """A mapping key as it appears in a field path: as is when plain, else JSON-quoted (one line)."""
    return key if _PLAIN_KEY_RE.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def duplicate_keys(value: Any, path: str = "", skip: str | None = None) -> Iterator[tuple[str, Position, str]]:
    """(field path, position, key) of every repeated mapping key under `value`, `skip` key excluded."""
    if isinstance(value, YMap):
        for key, packed in value.duplicates or ():
            step = key_text(key)
            yield f"{path}.{step}" if path else step, Position(value.file, packed >> 20, packed & 0xFFFFF), key
        for key, item in value.items():
            if key != skip and isinstance(item, YMap | YList):
                yield from duplicate_keys(item, f"{path}.{key_text(key)}" if path else key_text(key))
    elif isinstance(value, YList):
        for index, item in enumerate(value):
            yield from duplicate_keys(item, f"{path}[{index}]")


def object_ref(kind: str, body: YMap) -> str:
    """`Kind "ns/name"` for messages, from the raw, unvalidated body (the namespace defaults as the API
    server's). Quoted and escaped as JSON, so a name or kind holding a newline or a quote cannot break
    a message apart: every message stays one line."""
    shown_kind = kind if _KIND_RE.fullmatch(kind) else json.dumps(kind, ensure_ascii=False)
    md = body.get("metadata")
    name = md.get("name") if isinstance(md, dict) else None
    ns = md.get("namespace") if isinstance(md, dict) else None
    if not isinstance(name, str):
        return shown_kind
    namespaced = kind not in ("Namespace", "Node")
    key = f"{ns if isinstance(ns, str) and ns else 'default'}/{name}" if namespaced else name
    return f"{shown_kind} {json.dumps(key, ensure_ascii=False)}"
