"""Reading YAML through PyYAML's node API (`compose_all`, with the libyaml C parser): every YAML feature
(anchors, aliases, merge keys, tags), the limits on aliases and depth, and the messages for what is
wrong. The C reader (`_fastyaml`) reads plain documents faster, and gives up on the rest, which is read
here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml
from yaml.nodes import ScalarNode, SequenceNode

from ..errors import Diagnostic, Position, invalid
from .documents import COMPOSABLE_DEPTH, Limits, Piece, YList, YMap, c_depth, pack
from .scalars import (
    OTHER,
    PLAIN,
    PLAIN_IMPLICIT,
    SCALAR_TAGS_AS_TEXT,
    SLOW,
    construct,
    plain_value,
    plain_values,
    resolved_tag,
)

try:  # the C parser, much faster on large inputs (bench/json_read.py); PyPI wheels ship it
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

try:  # netcompile's own C reader of plain documents: built at install when a C compiler and libyaml are there
    from . import _fastyaml
except ImportError:  # pragma: no cover - depends on how netcompile was installed
    _fastyaml = None  # type: ignore[assignment]


class _Loader(_BaseLoader):
    """The safe loader, with tag resolution deferred to the converter.

    The C composer asks Python for the tag of every node it builds, much of the time of composing a
    large input when the regexes run there. Here `resolve` only tells plain scalars from the rest;
    `_Converter` resolves plain ones itself, once per distinct text (`plain_tag`), with the same answers
    as PyYAML's resolver. Explicit tags (`!!int 5`, `!custom x`) reach the node as before.
    """

    def resolve(self, kind: type[yaml.Node], value: str | None, implicit: object) -> str:
        return PLAIN if implicit == PLAIN_IMPLICIT else OTHER

    def descend_resolver(self, current_node: object, current_index: object) -> None:
        return None  # no path resolvers are registered

    def ascend_resolver(self) -> None:
        return None


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
        return pack(node.start_mark.line + self.first_line, node.start_mark.column + 1)

    def position(self, node: yaml.Node) -> Position:
        return Position(self.file, node.start_mark.line + self.first_line, node.start_mark.column + 1)

    def fail(self, node: yaml.Node, message: str) -> None:
        self.errors.append(Diagnostic(self.position(node), "", "", message))

    def convert(self, node: yaml.Node, depth: int = 0) -> Any:
        """The value of `node`. The hot path of reading large inputs (a million nodes for 10k Services):
        scalars without a tag, the vast majority, are read inline from `plain_values` without a call."""
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
        values = plain_values
        depth += 1
        if cls is SequenceNode:
            seq = YList(self.file, ((mark.line + first) << 20) | (mark.column + 1))
            positions = seq.positions
            for item in node.value:
                tag = item.tag
                if tag is PLAIN:  # only scalars are plain
                    value = values.get(item.value, SLOW)
                    seq.append(self.scalar(item) if value is SLOW else value)
                elif tag is OTHER and item.__class__ is ScalarNode:
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
            key = values.get(key_node.value, SLOW) if tag is PLAIN else SLOW
            if key.__class__ is not str:
                if tag is OTHER and key_node.__class__ is ScalarNode:
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
            if tag is PLAIN:
                value = values.get(value_node.value, SLOW)
                mapping[key] = self.scalar(value_node) if value is SLOW else value  # type: ignore[arg-type]
            elif tag is OTHER and value_node.__class__ is ScalarNode:
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
            if resolved_tag(key_node) == "tag:yaml.org,2002:merge":
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
        if node.tag is PLAIN:
            value = plain_value(node.value)
            if value is not SLOW:
                return value
        tag = resolved_tag(node)
        if tag in SCALAR_TAGS_AS_TEXT or not tag.startswith("tag:yaml.org,2002:"):
            return node.value  # Kubernetes reads timestamps and custom-tagged scalars as strings
        return construct(tag, node)


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


def read_yaml_documents(piece: Piece, limits: Limits, errors: list[Diagnostic]) -> list[tuple[YMap, bool]]:
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
                if isinstance(node, yaml.ScalarNode) and node.value == "" and resolved_tag(node).endswith(":null"):
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


_INDENT_RE = re.compile(r"^[ ]+", re.MULTILINE)


def _too_deep_to_compose(piece: Piece, limits: Limits) -> Diagnostic | None:
    """The error for a piece nested too deep for PyYAML to compose, or None. Only pieces with enough
    brackets or indentation to nest that deep are measured: a level is a `[`, a `{` or an indentation
    step (a block sequence can share its parent's indentation, hence two levels per column)."""
    text = piece.text
    indent = max((len(m.group()) for m in _INDENT_RE.finditer(text)), default=0)
    if text.count("[") + text.count("{") + 2 * indent + 2 < COMPOSABLE_DEPTH:
        return None
    # A depth, as --max-depth counts it, is the number of collections around one (0 for the document's
    # own mapping): a piece is too deep to compose when it holds a collection at depth COMPOSABLE_DEPTH.
    max_depth = min(c_depth(limits), COMPOSABLE_DEPTH - 1)
    if _fastyaml is not None:
        line, column, deeper = _fastyaml.nesting(text, max_depth, COMPOSABLE_DEPTH)
    else:  # pragma: no cover - the same from PyYAML's events, when the C reader is not built
        line, column, deeper = nesting(text, max_depth)
    if not deeper:
        return None
    if line is None or column is None:  # pragma: no cover - deeper means a collection past max_depth
        return Diagnostic(Position(piece.file, piece.first_line, 1), "", "", "nesting too deep for the YAML parser")
    where = Position(piece.file, line + piece.first_line, column + 1)
    if limits.max_depth < COMPOSABLE_DEPTH - 1:
        return Diagnostic(where, "", "", f"nesting deeper than {limits.max_depth} levels (--max-depth)")
    return Diagnostic(where, "", "", f"nesting deeper than {max_depth} levels (--max-depth cannot go higher)")


class _EventLoader(yaml.SafeLoader):
    """PyYAML's pure-Python parser: its events do not depend on the libyaml PyYAML bundles (which may stop
    at 1 000 levels, before `nesting` can tell how deep a piece goes)."""


def nesting(text: str, max_depth: int) -> tuple[int | None, int | None, bool]:
    """`_fastyaml.nesting` from PyYAML's pure-Python events (slower)."""
    depth, first = 0, None
    try:
        for event in yaml.parse(text, Loader=_EventLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                if depth > max_depth and first is None:
                    first = event.start_mark
                depth += 1
                if depth > COMPOSABLE_DEPTH:
                    break
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass  # the events up to the error tell the depth; the error itself is reported once composable
    deeper = depth > COMPOSABLE_DEPTH
    return (first.line, first.column, deeper) if first is not None else (None, None, deeper)
