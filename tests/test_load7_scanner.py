"""The C reader's own scanner (`scan()` in netcompile/load/_fastyaml_yaml.c) reads what it takes exactly as
libyaml does: the same documents, values, positions and scalars left for typing, on texts made of the
lines Kubernetes manifests hold and of lines that leave its part of YAML (where it must give up), on
generated documents (whole, and with a character changed), and on real manifests mutated a character at a
time. `documents(..., mode)`: 2 reads with the scanner only (None where it gives up), 0 with libyaml only,
1 (the default) with the scanner, then libyaml."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netcompile.load import scalars
from netcompile.load.documents import YList, YMap

try:
    from netcompile.load import _fastyaml as fastyaml
except ImportError:  # pragma: no cover - depends on how netcompile was installed
    fastyaml = None  # type: ignore[assignment]

pytestmark = pytest.mark.skipif(fastyaml is None, reason="netcompile.load._fastyaml is not built here")

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Lines of manifests as kubectl and generators write them, and lines that leave the scanner's part of YAML.
LINES = [
    "apiVersion: v1", "kind: Pod", "metadata:", "metadata: {name: a, namespace: ns-1, labels: {app: x}}",
    "name: web", "labels:", "app: app-0", "spec:", "containers:", "- name: c", "  image: x", "ports:",
    "- containerPort: 8080", "  protocol: TCP", "- {name: http, containerPort: 80}", "- 10.0.0.0/8", "- a",
    "ports: [{port: 80}, {port: 443, protocol: UDP}]", "selector: {}", "items: []", "empty:", "key:   ",
    "key: value # a comment", "# a comment", "   # indented comment", "", "---", "--- # doc", "...",
    "x: 'single'", 'x: "double"', "x: ''", 'x: ""', "x: 'it''s'", 'x: "a\\nb"', "x: 'a\\b'", "x: -1", "x: -",
    "x: - a", "x: :x", "x: ?x", "x: ,x", "x: a: b", "x: a#b", "x: a #b", "x:a", "x: {a: }", "x: [a, ]",
    "x: {a:b}", "x: {a: b} z", "x: [a, [b, c], {d: e}]", "x: {a: [1, 2], b: {c: d}}", "x: {'q': 1}",
    "x: [a # c]", "x: 1.5", "x: yes", "x: ~", "x: null", "x: 0x1F", "x: 1e3", "x: 010", "x: 2024-01-01",
    "x: &a v", "x: *a", "x: !t v", "x: |", "x: >", "  continued text", "'k': v", '"k": v', "? k", ": v",
    "- - a", "-", "- ", "-x: 1", "--- x", "---x: 1", "k : v", "a b: c d", "x: {a: b,c: d}", "x: [a,b]",
    "x: %v", "x: @v", "x: `v`", "- 'q'", "- \"q\": 1", "- x: [1]", "  - y", "    z: 1", "k: v\t", "k: é",
    "x: {a: b}}", "x: [a]]", "x: {a: b", "x: [a", "k:\r",
]  # fmt: skip


def _dump(value: Any) -> Any:
    if isinstance(value, YMap):
        items = tuple((k, _dump(v), value.positions.get(k)) for k, v in value.items())
        return ("map", value.file, value.pos, items, value.duplicates)
    if isinstance(value, YList):
        return ("list", value.file, value.pos, tuple(_dump(v) for v in value), tuple(value.positions))
    return (type(value).__name__, value)


def _read(text: str, mode: int) -> Any:
    known = dict(scalars.plain_values)  # each reads with a table of its own: the reader adds to it
    bounds = scalars.TYPED_STARTS, scalars.PLAIN_VALUES_MAX, scalars.PLAIN_TEXT_MAX
    result = fastyaml.documents(text, "f.yaml", 3, 64, YMap, YList, known, *bounds, mode)
    if result is None:
        return None
    docs, untyped = result
    return [_dump(d) for d in docs], [(_dump(where), key, text) for where, key, text in untyped], known


def _agree(text: str) -> bool:
    """Both readers give the same for `text` when the scanner takes it; whether it took it."""
    scanned, libyaml, default = _read(text, 2), _read(text, 0), _read(text, 1)
    assert default == libyaml, text
    if scanned is not None:
        assert scanned == libyaml, text
    return scanned is not None


@st.composite
def _texts(draw: st.DrawFn) -> str:
    lines = draw(st.lists(st.tuples(st.sampled_from([0, 0, 0, 1, 2, 2, 4, 6]), st.sampled_from(LINES)), max_size=14))
    end = draw(st.sampled_from(["\n", "", "\n\n"]))
    return "\n".join(" " * indent + line for indent, line in lines) + end


WORDS = ["a", "name", "x-y", "k8s.io/n", "-k", "v1", "80", "-1", "1.5", "true", "~", "a b", "a:b", "http://x:80/p",
         "10.0.0.0/8", "'q'", '"d"', "''", "0x1F", "2024-01-01", "no"]  # fmt: skip
KEYS = ["a", "name", "x-y", "k8s.io/n", "-k", "b c", "app", "80", "true", "a:b"]


@st.composite
def _flow(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.sampled_from(["word", "word", "map", "list"] if depth < 3 else ["word"]))
    if kind == "word":
        return draw(st.sampled_from([w for w in WORDS if w not in ("a b", "a:b", "http://x:80/p")]))
    items = draw(st.lists(_flow(depth + 1), max_size=3))
    if kind == "list":
        return "[" + ", ".join(items) + "]"
    keys = draw(st.lists(st.sampled_from(KEYS[:5]), min_size=len(items), max_size=len(items), unique=True))
    return "{" + ", ".join(f"{k}: {v}" for k, v in zip(keys, items, strict=True)) + "}"


@st.composite
def _block(draw: st.DrawFn, indent: int, depth: int, lines: list[str], first: str | None = None) -> None:
    """A block mapping at `indent` (its first key after `first`, the text before it on its line)."""
    keys = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=4, unique=True))
    for n, key in enumerate(keys):
        lead = first if n == 0 and first is not None else " " * indent
        if draw(st.integers(0, 9)) == 0:
            lines.append(" " * draw(st.integers(0, 6)) + draw(st.sampled_from(["# c", "", "#"])))
        kind = draw(st.sampled_from(["word", "flow", "empty", "map", "seq", "seq"] if depth < 4 else ["word", "flow"]))
        gap = draw(st.sampled_from([" ", " ", "  "]))
        comment = draw(st.sampled_from(["", "", " # c", "  #c"]))
        if kind == "word":
            lines.append(f"{lead}{key}:{gap}{draw(st.sampled_from(WORDS))}{comment}")
        elif kind == "flow":
            lines.append(f"{lead}{key}:{gap}{draw(_flow())}{comment}")
        elif kind == "empty":
            lines.append(f"{lead}{key}:{draw(st.sampled_from(['', ' ', ' # c']))}")
        elif kind == "map":
            lines.append(f"{lead}{key}:{comment}")
            draw(_block(indent + draw(st.sampled_from([1, 2, 4])), depth + 1, lines))
        else:
            lines.append(f"{lead}{key}:{comment}")
            at = indent + draw(st.sampled_from([0, 0, 2, 3]))
            for _ in range(draw(st.integers(1, 3))):
                entry = " " * at + "-" + draw(st.sampled_from([" ", "  "]))
                what = draw(st.sampled_from(["word", "flow", "map"] if depth < 4 else ["word"]))
                if what == "map":
                    draw(_block(len(entry), depth + 1, lines, first=entry))
                else:
                    lines.append(entry + (draw(st.sampled_from(WORDS)) if what == "word" else draw(_flow())))


@st.composite
def _documents(draw: st.DrawFn) -> str:
    lines: list[str] = []
    for n in range(draw(st.integers(1, 3))):
        if n or draw(st.booleans()):
            lines.append(draw(st.sampled_from(["---", "--- # d", "---  "])))
        if draw(st.integers(0, 5)):
            draw(_block(0, 0, lines))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))


EDITS = [" ", "\n", "-", ":", "#", "'", '"', "{", "}", "[", "]", ",", "a", "- ", ": ", ""]  # a character changed


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_texts())
def test_the_scanner_reads_lines_as_libyaml(text: str) -> None:
    _agree(text)


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents())
def test_the_scanner_reads_documents_as_libyaml(text: str) -> None:
    _agree(text)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    _documents(), st.integers(0, 10**6), st.sampled_from([" ", "\n", "-", ":", "#", "'", "{", "}", ",", "- ", ": ", ""])
)
def test_mutated_documents_read_as_libyaml(text: str, at: int, edit: str) -> None:
    at %= len(text) + 1
    _agree(text[:at] + edit + text[at + 1 :])


def _manifests() -> list[str]:
    found = sorted((ROOT / "golden").rglob("*.yaml")) + sorted((ROOT / "examples").rglob("*.yaml"))
    return [p.read_text(encoding="utf-8") for p in found]


def test_real_manifests_are_mostly_scanned() -> None:
    texts = _manifests()
    taken = sum(_agree(text) for text in texts)
    assert len(texts) > 40 and taken >= 0.8 * len(texts)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_manifests_read_as_libyaml(data: st.DataObject) -> None:
    texts = _manifests()
    text = data.draw(st.sampled_from(texts))
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        edit = data.draw(
            st.sampled_from([" ", "\n", "-", ":", "#", "'", '"', "{", "}", "[", "]", ",", "a", "- ", ": ", ""])
        )
        cut = data.draw(st.integers(0, 2))
        text = text[:at] + edit + text[at + cut :]
    _agree(text)


def test_what_the_scanner_takes_and_leaves() -> None:
    takes = [
        "a: 1\n", "---\na: {b: [c, 'd', \"e\"]}\n---\n---\nb:\n- x\n- y: 1\n  z:\n  - 2\n", "# only a comment\n",
        "a:\n  b:\n    c: d # e\n  f: [] # g\n", "", "---\n",
    ]  # fmt: skip
    leaves = ["a: |\n  x\n", "a: 'it''s'\n", "a: b\n  c\n", "a:\tb\n", "- a\n", "a: &x 1\n", "a: {b: c,}\n", "a: é\n"]
    assert all(_agree(text) for text in takes)
    assert not any(_agree(text) for text in leaves)
