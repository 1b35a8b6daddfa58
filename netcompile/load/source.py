"""Reading manifests: files, directories and stdin into position-carrying documents.

Documents become `YMap`/`YList` — a dict and a list that remember where each of their values stood — so
validation can point at the exact field. Plain documents are read by netcompile's C reader (`_fastyaml`,
straight from libyaml's events); everything else through PyYAML's node API (`compose_all`, with the
libyaml C parser), which gives every value its line and column, and the same values and positions.
Duplicate mapping keys, non-mapping documents, syntax errors and oversized input are reported here;
`kind: List` is flattened into its items.
Large files are cut into `Piece`s at document starts, so that two processes can read one file.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import ScalarNode, SequenceNode

from ..errors import Diagnostic, Position, duplicate, invalid, required

try:  # the C parser is ~10x faster on large inputs; PyPI wheels ship it
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

try:  # netcompile's own C reader of plain documents: built at install when a C compiler and libyaml are there
    from . import _fastyaml
except ImportError:  # pragma: no cover - depends on how netcompile was installed
    _fastyaml = None  # type: ignore[assignment]

_IMPLICIT = yaml.resolver.Resolver.yaml_implicit_resolvers
_STR = "tag:yaml.org,2002:str"
# What `_Loader.resolve` leaves in place of a tag: resolution happens in the converter.
_PLAIN = "?plain"  # a plain scalar: int, bool, null, ... or str, by its text
_OTHER = "?other"  # a quoted or block scalar (str), or a mapping or sequence
_PLAIN_IMPLICIT = (True, False)
_SCALAR_TAGS_AS_TEXT = frozenset({"tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"})
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _construct(tag: str, node: ScalarNode) -> Any:
    """A scalar as PyYAML's safe constructor makes it for `tag`; its text where it cannot (`!!int x`)."""
    node.tag = tag  # the constructor dispatches on it
    try:
        return _CONSTRUCTOR.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, OverflowError):
        return node.value
    finally:  # it remembers every node it made; scalars share nothing
        _CONSTRUCTOR.constructed_objects.clear()
        _CONSTRUCTOR.recursive_objects.clear()


class _Loader(_BaseLoader):
    """The safe loader, with tag resolution deferred to the converter.

    The C composer asks Python for the tag of every node it builds, a third of the time of composing
    10k Services when the regexes run there. Here `resolve` only tells plain scalars from the rest;
    `_Converter` resolves plain ones itself, once per distinct text (`_plain_tag`), with the same answers
    as PyYAML's resolver. Explicit tags (`!!int 5`, `!custom x`) reach the node as before.
    """

    def resolve(self, kind: type[yaml.Node], value: str | None, implicit: object) -> str:
        return _PLAIN if implicit == _PLAIN_IMPLICIT else _OTHER

    def descend_resolver(self, current_node: object, current_index: object) -> None:
        return None  # no path resolvers are registered

    def ascend_resolver(self) -> None:
        return None


def _plain_tag(value: str) -> str:
    """The tag PyYAML's resolver gives a plain scalar; most Kubernetes scalars (keys, names) start with a
    character no implicit type (int, float, bool, null, timestamp, merge) can start with, and no number
    or timestamp has two dots (an IPv4 address, a version, a domain name)."""
    if value.count(".") > 1:
        return _STR
    for candidate, regexp in _IMPLICIT.get(value[0] if value else "", ()):
        if regexp.match(value):
            return str(candidate)
    return _STR


_SLOW = object()  # `_plain_value`: a plain scalar the converter constructs node by node (`<<`, `=`)
_CONSTANT_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("bool", "int", "float", "null"))
_plain_values: dict[str, object] = {}  # plain scalar text -> its value; short texts, 256k at most


def _plain_value(text: str) -> object:
    """The value of an untagged plain scalar, as PyYAML's safe loader constructs it: `80` is 80, `true` is
    True, `~` is None, a timestamp stays text (as Kubernetes reads it). Computed once per distinct text:
    the values are immutable, and the same few (`true`, `TCP`, port numbers) make up most of an input."""
    value = _plain_values.get(text, _SLOW)
    if value is _SLOW:
        tag = _plain_tag(text)
        if tag in _SCALAR_TAGS_AS_TEXT:
            value = text
        elif tag in _CONSTANT_TAGS:
            value = _construct(tag, ScalarNode(tag, text))
        else:
            return _SLOW
        if len(_plain_values) < 1 << 18 and len(text) <= 64:
            _plain_values[text] = value
    return value


def _tag(node: yaml.Node) -> str:
    """The resolved tag of a node composed by `_Loader`."""
    tag = str(node.tag)
    if tag == _PLAIN:
        return _plain_tag(node.value)
    if tag == _OTHER:
        if node.__class__ is ScalarNode:
            return _STR
        return "tag:yaml.org,2002:seq" if node.__class__ is SequenceNode else "tag:yaml.org,2002:map"
    return tag


STDIN = "-"
YAML_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on untrusted input; each is a command-line flag (see `netcompile compile --help`)."""

    max_file_bytes: int = 256 * 1024 * 1024
    max_objects: int = 1_000_000
    max_alias_nodes: int = 100_000  # nodes reached through YAML aliases, per document ("billion laughs")
    max_depth: int = 64  # nesting of mappings and sequences


def _pack(line: int, col: int) -> int:
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


@dataclass(frozen=True, slots=True)
class RawObject:
    """One Kubernetes object as read: its kind, and its body with positions."""

    kind: str
    api_version: str
    body: YMap

    @property
    def position(self) -> Position:
        return self.body.position()


class _Converter:
    """Turns one composed document into YMap/YList/scalars, enforcing the limits as it goes."""

    def __init__(self, file: str, limits: Limits, errors: list[Diagnostic], first_line: int = 1) -> None:
        self.file = file
        self.first_line = first_line  # the line number, in the file, of the text's first line
        self.limits = limits
        self.errors = errors
        self.alias_nodes = 0
        self.seen: set[int] = set()  # ids of nodes already converted: a second visit is an alias
        self.had_duplicates = False
        # Aliases and merge keys need `*` and `<<` in the text; without them the bookkeeping is skipped.
        self.track_aliases = True

    def pos(self, node: yaml.Node) -> int:
        return _pack(node.start_mark.line + self.first_line, node.start_mark.column + 1)

    def position(self, node: yaml.Node) -> Position:
        return Position(self.file, node.start_mark.line + self.first_line, node.start_mark.column + 1)

    def fail(self, node: yaml.Node, message: str) -> None:
        self.errors.append(Diagnostic(self.position(node), "", "", message))

    def convert(self, node: yaml.Node, depth: int = 0) -> Any:
        """The value of `node`. The hot path of reading large inputs (a million nodes for 10k Services):
        scalars without a tag, the vast majority, are read inline from `_plain_values` without a call."""
        cls = node.__class__
        if cls is ScalarNode:
            return self.scalar(node)  # type: ignore[arg-type]
        if self.track_aliases:
            if id(node) in self.seen:
                self.alias_nodes += 1
                if self.alias_nodes > self.limits.max_alias_nodes:
                    raise _LimitExceeded(
                        node,
                        f"YAML aliases expand to more than {self.limits.max_alias_nodes} nodes (--max-alias-nodes)",
                    )
            else:
                self.seen.add(id(node))
        if depth > self.limits.max_depth:
            raise _LimitExceeded(node, f"nesting deeper than {self.limits.max_depth} levels (--max-depth)")
        mark = node.start_mark
        first = self.first_line
        values = _plain_values
        depth += 1
        if cls is SequenceNode:
            seq = YList(self.file, ((mark.line + first) << 20) | (mark.column + 1))
            positions = seq.positions
            for item in node.value:
                tag = item.tag
                if tag is _PLAIN:  # only scalars are plain
                    value = values.get(item.value, _SLOW)
                    seq.append(self.scalar(item) if value is _SLOW else value)
                elif tag is _OTHER and item.__class__ is ScalarNode:
                    seq.append(item.value)
                else:
                    seq.append(self.convert(item, depth))
                m = item.start_mark
                positions.append(((m.line + first) << 20) | (m.column + 1))
            return seq
        mapping = YMap(self.file, ((mark.line + first) << 20) | (mark.column + 1))
        positions_of = mapping.positions
        pairs = self._merged(node) if self.track_aliases else node.value  # type: ignore[arg-type]
        for key_node, value_node in pairs:
            tag = key_node.tag
            key = values.get(key_node.value, _SLOW) if tag is _PLAIN else _SLOW
            if key.__class__ is not str:
                if tag is _OTHER and key_node.__class__ is ScalarNode:
                    key = key_node.value
                else:
                    key = self.convert(key_node, depth)
                    if not isinstance(key, str):
                        # JSON/Kubernetes keys are strings; YAML allows anything (1: x, true: y, [a]: b).
                        if isinstance(key, YMap | YList):
                            self.fail(key_node, invalid("<complex key>", "mapping keys must be strings"))
                            continue
                        key = "null" if key is None else str(key).lower() if isinstance(key, bool) else str(key)
            if key in positions_of:
                mapping.duplicates = [*(mapping.duplicates or ()), (key, self.pos(key_node))]
                self.had_duplicates = True
                continue
            tag = value_node.tag
            if tag is _PLAIN:
                value = values.get(value_node.value, _SLOW)
                mapping[key] = self.scalar(value_node) if value is _SLOW else value  # type: ignore[arg-type]
            elif tag is _OTHER and value_node.__class__ is ScalarNode:
                mapping[key] = value_node.value
            else:
                mapping[key] = self.convert(value_node, depth)
            m = value_node.start_mark
            positions_of[key] = ((m.line + first) << 20) | (m.column + 1)
        return mapping

    def _merged(self, node: yaml.MappingNode) -> Iterator[tuple[yaml.Node, yaml.Node]]:
        """The pairs of a mapping with YAML merge keys (`<<: *base`) expanded; explicit keys win."""
        merges: list[tuple[yaml.Node, yaml.Node]] = []
        own: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if _tag(key_node) == "tag:yaml.org,2002:merge":
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    if not isinstance(source, yaml.MappingNode):
                        self.fail(source, invalid("<<", "a merge key must refer to a mapping"))
                        continue
                    merges.extend(source.value)
            else:
                own.append((key_node, value_node))
        if not merges:
            yield from own
            return
        explicit = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
        seen_merged: set[str] = set()
        for key_node, value_node in merges:
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if name in explicit or name in seen_merged:
                continue
            if name is not None:
                seen_merged.add(name)
            yield key_node, value_node
        yield from own

    def scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag is _PLAIN:
            value = _plain_value(node.value)
            if value is not _SLOW:
                return value
        tag = _tag(node)
        if tag in _SCALAR_TAGS_AS_TEXT or not tag.startswith("tag:yaml.org,2002:"):
            return node.value  # Kubernetes reads timestamps and custom-tagged scalars as strings
        return _construct(tag, node)


class _LimitExceeded(Exception):
    def __init__(self, node: yaml.Node, message: str) -> None:
        self.node = node
        super().__init__(message)


def _yaml_error(file: str, exc: yaml.YAMLError, text: str, first_line: int) -> Diagnostic:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    detail = f"{context}: {problem}" if context else str(problem)
    if isinstance(exc, yaml.reader.ReaderError):
        detail = f"unacceptable character {exc.character!r}: {exc.reason}"
        line = text.count("\n", 0, exc.position) + first_line
        column = exc.position - text.rfind("\n", 0, exc.position)
        return Diagnostic(Position(file, line, column), "", "", f"YAML syntax error: {detail}")
    pos = Position(file, mark.line + first_line, mark.column + 1) if mark else Position(file, first_line, 1)
    return Diagnostic(pos, "", "", f"YAML syntax error: {detail}")


def expand_paths(paths: list[str]) -> list[str]:
    """Files as given, directories recursively in sorted order (YAML and JSON files only), `-` as stdin."""
    out: list[str] = []
    for given in paths:
        if given == STDIN:
            out.append(STDIN)
            continue
        path = Path(given)
        if path.is_dir():
            out.extend(
                str(p)
                for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix in YAML_SUFFIXES and not p.name.startswith(".")
            )
        else:
            out.append(given)
    return out


def _read(name: str, limits: Limits) -> bytes:
    if name == STDIN:
        data = sys.stdin.buffer.read(limits.max_file_bytes + 1)
    else:
        with open(name, "rb") as f:
            data = f.read(limits.max_file_bytes + 1)
    if len(data) > limits.max_file_bytes:
        raise _TooBig(f"file is larger than {limits.max_file_bytes} bytes (--max-file-bytes)")
    return data


class _TooBig(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Piece:
    """Whole documents of one file, decoded: what one reader reads. Large files are cut into pieces at
    document starts, so that two processes can read them at once (see `manifests.load`)."""

    file: str  # as shown in messages
    text: str
    first_line: int = 1  # the line number, in the file, of the text's first line


# A document start: `---` at the start of a line, then a blank or the end of the line. libyaml ends any
# scalar there (or fails, inside quotes), so cutting before it never changes what the documents hold.
_DOCUMENT_START = re.compile(r"^---(?=[ \t\r\n]|$)", re.MULTILINE)
_DIRECTIVE = re.compile(r"^%", re.MULTILINE)  # `%YAML`/`%TAG` belong to the document after them: no cutting


def read_pieces(paths: list[str], limits: Limits, piece_bytes: int) -> tuple[list[Piece], list[Diagnostic]]:
    """The files of `paths`, decoded, each cut into pieces of about `piece_bytes` characters."""
    errors: list[Diagnostic] = []
    pieces: list[Piece] = []
    for name in expand_paths(paths):
        display = "<stdin>" if name == STDIN else name
        try:
            data = _read(name, limits)
        except _TooBig as exc:
            errors.append(Diagnostic(Position(display, 1, 1), "", "", str(exc)))
            continue
        except OSError as exc:
            errors.append(Diagnostic(Position(display, 1, 1), "", "", f"cannot read: {exc.strerror}"))
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.append(Diagnostic(Position(display, 1, 1), "", "", f"not UTF-8 text: {exc.reason}"))
            continue
        pieces.extend(_cut(display, text, piece_bytes))
    return pieces, errors


def _cut(file: str, text: str, piece_bytes: int) -> Iterator[Piece]:
    from .jsonread import starts_like_json  # whether JSON or not, such a text is read whole

    start, line = 0, 1
    if len(text) > piece_bytes and not starts_like_json(text) and not _DIRECTIVE.search(text):
        while len(text) - start > piece_bytes:
            cut = _DOCUMENT_START.search(text, start + piece_bytes)
            if cut is None:
                break
            yield Piece(file, text[start : cut.start()], line)
            line += text.count("\n", start, cut.start())
            start = cut.start()
    yield Piece(file, text[start:] if start else text, line)


def read_documents(piece: Piece, limits: Limits, errors: list[Diagnostic]) -> list[tuple[YMap, bool]]:
    """Every non-empty document of a piece, as YMaps (and whether it repeats a key); problems go to `errors`.

    JSON is read as JSON (`jsonread.json_documents` says which pieces are JSON). Pieces of plain YAML
    documents are read by the C reader (`_fastyaml`, when it is built); it gives up on
    anything else (anchors, tags, merge keys, repeated keys, errors, ...), and then the piece is read
    here, from PyYAML's nodes. Both give the same values and positions (tests/test_loading.py).
    """
    from . import jsonread  # it builds on this module

    json_docs = jsonread.json_documents(piece, limits, errors)
    if json_docs is not None:
        return json_docs
    if _fastyaml is not None:
        fast = _fastyaml.documents(
            piece.text, piece.file, piece.first_line, _c_depth(limits), YMap, YList, _plain_values, _plain_value, _SLOW
        )
        if fast is not None:
            return [(doc, False) for doc in fast]
    return _read_documents(piece, limits, errors)


def _read_documents(piece: Piece, limits: Limits, errors: list[Diagnostic]) -> list[tuple[YMap, bool]]:
    """`read_documents` from PyYAML's nodes: every YAML feature, and the messages for what is wrong."""
    docs: list[tuple[YMap, bool]] = []
    too_deep = _too_deep_to_compose(piece, limits)
    if too_deep is not None:
        errors.append(too_deep)
        return docs
    converter = _Converter(piece.file, limits, errors, piece.first_line)
    converter.track_aliases = "*" in piece.text or "<<" in piece.text
    try:
        for node in yaml.compose_all(piece.text, Loader=_Loader):
            if node is None:
                continue
            converter.alias_nodes = 0
            converter.seen.clear()
            converter.had_duplicates = False
            if not isinstance(node, yaml.MappingNode):
                if isinstance(node, yaml.ScalarNode) and node.value == "" and _tag(node).endswith(":null"):
                    continue
                errors.append(
                    Diagnostic(converter.position(node), "", "", "document is not a mapping (a Kubernetes object)")
                )
                continue
            try:
                docs.append((converter.convert(node), converter.had_duplicates))
            except _LimitExceeded as exc:
                errors.append(Diagnostic(converter.position(exc.node), "", "", str(exc)))
    except yaml.YAMLError as exc:
        errors.append(_yaml_error(piece.file, exc, piece.text, piece.first_line))
    except RecursionError:
        errors.append(
            Diagnostic(Position(piece.file, piece.first_line, 1), "", "", "nesting too deep for the YAML parser")
        )
    return docs


# PyYAML's C composer recurses once per level, on the C stack: 30k levels crash the process (and libyaml
# slows down with depth: 100k levels take 20 s to parse). And libyaml itself refuses more than 1 000 nested
# collections since 2024 ("exceeded maximum nesting depth"), which PyYAML's wheels bundle from 6.0.4 on,
# while Debian 12's libyaml 0.2.5 has no limit. Pieces that could nest that deep are measured first, from
# parser events (no recursion), and refused past this, so that what is read, and the message for what is
# not, are the same whichever libyaml PyYAML was built with. Python's own recursion limit (1 000 frames)
# bounds the converter too: 512 keeps clear of both.
_COMPOSABLE_DEPTH = 512
_INDENT_RE = re.compile(r"^[ ]+", re.MULTILINE)


def _c_depth(limits: Limits) -> int:
    """--max-depth as the C reader takes it: a C long."""
    return min(limits.max_depth, sys.maxsize)


def _too_deep_to_compose(piece: Piece, limits: Limits) -> Diagnostic | None:
    """The error for a piece nested too deep for PyYAML to compose, or None. Only pieces with enough
    brackets or indentation to nest that deep are measured: a level is a `[`, a `{` or an indentation
    step (a block sequence can share its parent's indentation, hence two levels per column)."""
    text = piece.text
    indent = max((len(m.group()) for m in _INDENT_RE.finditer(text)), default=0)
    if text.count("[") + text.count("{") + 2 * indent + 2 < _COMPOSABLE_DEPTH:
        return None
    # A depth, as --max-depth counts it, is the number of collections around one (0 for the document's
    # own mapping): a piece is too deep to compose when it holds a collection at depth _COMPOSABLE_DEPTH.
    max_depth = min(_c_depth(limits), _COMPOSABLE_DEPTH - 1)
    if _fastyaml is not None:
        line, column, deeper = _fastyaml.nesting(text, max_depth, _COMPOSABLE_DEPTH)
    else:  # pragma: no cover - the same from PyYAML's events, when the C reader is not built
        line, column, deeper = _nesting(text, max_depth)
    if not deeper:
        return None
    if line is None or column is None:  # pragma: no cover - deeper means a collection past max_depth
        return Diagnostic(Position(piece.file, piece.first_line, 1), "", "", "nesting too deep for the YAML parser")
    where = Position(piece.file, line + piece.first_line, column + 1)
    if limits.max_depth < _COMPOSABLE_DEPTH - 1:
        return Diagnostic(where, "", "", f"nesting deeper than {limits.max_depth} levels (--max-depth)")
    return Diagnostic(where, "", "", f"nesting deeper than {max_depth} levels (--max-depth cannot go higher)")


class _EventLoader(yaml.SafeLoader):
    """PyYAML's pure-Python parser: its events do not depend on the libyaml PyYAML bundles (which may stop
    at 1 000 levels, before `_nesting` can tell how deep a piece goes)."""


def _nesting(text: str, max_depth: int) -> tuple[int | None, int | None, bool]:
    """`_fastyaml.nesting` from PyYAML's pure-Python events (slower)."""
    depth, first = 0, None
    try:
        for event in yaml.parse(text, Loader=_EventLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                if depth > max_depth and first is None:
                    first = event.start_mark
                depth += 1
                if depth > _COMPOSABLE_DEPTH:
                    break
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass  # the events up to the error tell the depth; the error itself is reported once composable
    deeper = depth > _COMPOSABLE_DEPTH
    return (first.line, first.column, deeper) if first is not None else (None, None, deeper)


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


def _report_duplicates(value: Any, obj: str, errors: list[Diagnostic], skip: str | None = None) -> None:
    for path, position, key in duplicate_keys(value, skip=skip):
        errors.append(Diagnostic(position, obj, path, duplicate(key) + ": mapping key appears more than once"))


def flatten(
    doc: YMap, errors: list[Diagnostic], lists: list[RawObject] | None = None, kind: Any = None, api_version: Any = None
) -> Iterator[tuple[YMap, Any, Any]]:
    """A document, or the items of a `kind: List` or a typed list (`PodList`, ...: as printed by `kubectl
    get -o yaml`), each with its kind and apiVersion. The items of a typed list may leave these out, as the
    API server returns them: they are the list's kind less `List`, and the list's apiVersion. The lists
    themselves go to `lists` (their fields other than items are checked as the other objects' are)."""
    own_kind, own_version = doc.get("kind"), doc.get("apiVersion")
    kind = kind if own_kind is None else own_kind
    api_version = api_version if own_version is None else own_version
    if isinstance(kind, str) and kind.endswith("List") and "items" in doc:
        if lists is not None and isinstance(api_version, str):
            lists.append(RawObject(kind, api_version, doc))
        items = doc["items"]
        if items is None:
            return
        if not isinstance(items, YList):
            errors.append(Diagnostic(doc.position("items"), "", "items", invalid(items, "must be a list")))
            return
        typed = kind != "List"
        for index, item in enumerate(items):
            if isinstance(item, YMap):
                yield from flatten(item, errors, lists, kind[:-4] if typed else None, api_version if typed else None)
            else:
                errors.append(
                    Diagnostic(items.position(index), "", f"items[{index}]", "must be a mapping (a Kubernetes object)")
                )
        return
    yield doc, kind, api_version


_NOT_A_MAPPING = "document is not a mapping (a Kubernetes object)"


def _skip_lists(piece: Piece, errors: list[Diagnostic], start: int, notices: list[str]) -> None:
    """Documents of `piece` that are lists (a JSON array, a YAML sequence: not Kubernetes objects, as a
    lab's expectations file) become notices instead of the errors from `start` on that refused them."""
    lines: list[str] | None = None
    kept: list[Diagnostic] = []
    for diagnostic in errors[start:]:
        where = diagnostic.position
        if diagnostic.message == _NOT_A_MAPPING and where is not None and where.file == piece.file:
            lines = piece.text.split("\n") if lines is None else lines
            index = where.line - piece.first_line
            text = lines[index][where.col - 1 :] if 0 <= index < len(lines) else ""
            if text.startswith("[") or text == "-" or text.startswith(("- ", "-\t", "-\r")):
                notices.append(f"{where}: skipping a document that is a list, not a Kubernetes object")
                continue
        kept.append(diagnostic)
    errors[start:] = kept


def raw_objects(
    pieces: list[Piece],
    limits: Limits,
    errors: list[Diagnostic],
    notices: list[str] | None = None,
    lists: list[RawObject] | None = None,
) -> list[RawObject]:
    """Every object in `pieces`, with every problem found on the way. Documents that are not Kubernetes
    objects (a list; a mapping with neither apiVersion, kind nor metadata) are skipped with a notice
    (to `notices`, when given); list objects go to `lists` (see `flatten`)."""
    objects: list[RawObject] = []
    for piece in pieces:
        before = len(errors)
        docs = read_documents(piece, limits, errors)
        if notices is not None and len(errors) > before:
            _skip_lists(piece, errors, before, notices)
        for doc, has_duplicates in docs:
            if notices is not None and "apiVersion" not in doc and "kind" not in doc and "metadata" not in doc:
                what = "not a Kubernetes object (no apiVersion, kind or metadata)"
                notices.append(f"{doc.position()}: skipping a document that is {what}")
                continue
            bodies = list(flatten(doc, errors, lists))
            if has_duplicates:
                if len(bodies) != 1 or bodies[0][0] is not doc:  # a List: its own keys, then each item as an object
                    _report_duplicates(doc, "", errors, skip="items")
                for body, kind, _ in bodies:
                    _report_duplicates(body, object_ref(kind, body) if isinstance(kind, str) else "", errors)
            for body, kind, api_version in bodies:
                problems = False
                for field, value in (("apiVersion", api_version), ("kind", kind)):
                    if value is None or value == "":
                        errors.append(Diagnostic(body.position(), "", field, required()))
                        problems = True
                    elif not isinstance(value, str):
                        errors.append(Diagnostic(body.position(field), "", field, invalid(value, "must be a string")))
                        problems = True
                if problems:
                    continue
                assert isinstance(kind, str) and isinstance(api_version, str)
                objects.append(RawObject(kind, api_version, body))
                if len(objects) > limits.max_objects:
                    return objects  # stop reading; the caller reports the limit over all readers
    return objects
