"""The C reader of plain documents (`netcompile/load/_fastyaml_yaml.c`) agrees with the Python reader.

Whenever it takes a piece, it gives the same documents as `pyyaml_reader.read_yaml_documents` does from PyYAML's
nodes: the same values of the same types, the same positions, no problems. Whatever it does not take
(anchors, tags, merge keys, repeated keys, non-string keys, errors, ...) it leaves to the Python reader.
It types plain scalars from the one table it is given, and those that can only be strings by their first
character or their dots (`scalars.PLAIN_STARTS`) as strings; it lists the others for Python to type.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netcompile.errors import Diagnostic
from netcompile.load import pyyaml_reader, source
from netcompile.load import scalars as yaml_scalars
from netcompile.load.documents import COMPOSABLE_DEPTH
from netcompile.load.source import Limits, Piece, YList, YMap
from tests.conftest import IN_CI
from tests.test_hostile import SCALE, structural_mutations, text_mutations
from tests.test_loading import SCALAR_TEXTS

try:
    from netcompile.load import _fastyaml as fastyaml
except ImportError:  # not built here
    fastyaml = None  # type: ignore[assignment]
needs_c_reader = pytest.mark.skipif(fastyaml is None, reason="netcompile.load._fastyaml is not built here")


def test_the_c_reader_is_built_in_ci() -> None:
    """CI builds it (make setup installs a C compiler and libyaml's headers): the fast path is tested."""
    if IN_CI:
        assert fastyaml is not None


def fast(
    text: str, first_line: int = 1, max_depth: int = 64, starts: str = yaml_scalars.PLAIN_STARTS
) -> list[YMap] | None:
    """The C reader's documents, with the plain scalars it left as text typed (as `source.read_documents`
    does); None when it gave up, or a scalar it left cannot be typed from its text alone."""
    known, bounds = yaml_scalars.plain_values, (yaml_scalars.PLAIN_VALUES_MAX, yaml_scalars.PLAIN_TEXT_MAX)
    result = fastyaml.documents(text, "f.yaml", first_line, max_depth, YMap, YList, known, starts, *bounds)
    if result is None:
        return None
    docs, untyped = result
    return docs if yaml_scalars.type_plain_scalars(untyped) else None


def slow(text: str, first_line: int = 1, max_depth: int = 64) -> tuple[list[YMap], list[bool], list[Diagnostic]]:
    errors: list[Diagnostic] = []
    read = pyyaml_reader.read_yaml_documents(Piece("f.yaml", text, first_line), Limits(max_depth=max_depth), errors)
    return [doc for doc, _ in read], [repeats for _, repeats in read], errors


def same(a: Any, b: Any, path: str = "") -> None:
    """Equal values of equal types, and equal positions, all the way down."""
    assert type(a) is type(b), (path, a, b)
    if isinstance(a, YMap):
        assert (a.file, a.pos, a.positions, a.duplicates) == (b.file, b.pos, b.positions, b.duplicates), path
        assert list(a) == list(b), path
        for key in a:
            same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):  # a YList, or the list of documents
        if isinstance(a, YList):
            assert (a.file, a.pos, a.positions) == (b.file, b.pos, b.positions), path
        assert len(a) == len(b), path
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}[{index}]")
    else:
        assert a == b or (a != a and b != b), (path, a, b)  # NaN


def agree(text: str, first_line: int = 1, max_depth: int = 64) -> bool:
    """Both readers on `text`; True when the C reader took it (told which characters start a string, and
    not told: then it lists every plain scalar the table does not hold)."""
    taken = fast(text, first_line, max_depth)
    assert (taken is None) == (fast(text, first_line, max_depth, starts=ALL_STARTS) is None)
    docs, repeats, errors = slow(text, first_line, max_depth)
    if taken is None:
        return False
    assert errors == [] and not any(repeats)
    same(taken, docs)
    return True


ALL_STARTS = "".join(map(chr, range(1, 128))) + "é"  # as if any character could start an int or a bool


scalars = st.one_of(
    st.sampled_from(SCALAR_TEXTS),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
    st.integers(-(10**20), 10**20),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
)
keys = st.one_of(st.sampled_from(SCALAR_TEXTS), st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4))
documents = st.lists(st.dictionaries(keys, values, min_size=1, max_size=5), min_size=1, max_size=4)


@needs_c_reader
@settings(max_examples=300 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, st.booleans(), st.integers(1, 9), st.sampled_from([None, 2, 80]))
def test_plain_documents_read_the_same(docs: list[dict[str, Any]], flow: bool, first_line: int, width: int) -> None:
    text = "---\n".join(
        yaml.safe_dump(json.loads(json.dumps(doc)), default_flow_style=flow, width=width or 80, allow_unicode=True)
        for doc in docs
    )
    assert agree(text, first_line)


@needs_c_reader
@settings(max_examples=200 * SCALE, deadline=None, suppress_health_check=list(HealthCheck))
@given(structural_mutations())
def test_hostile_structures_read_the_same(text: str) -> None:
    agree(text)


@needs_c_reader
@settings(max_examples=200 * SCALE, deadline=None, suppress_health_check=list(HealthCheck))
@given(text_mutations())
def test_hostile_texts_read_the_same(data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return  # refused before any reader sees it
    agree(text)


@needs_c_reader
@pytest.mark.parametrize(
    "text",
    [
        "a: &x {b: 1}\nc: *x\n",  # anchor, alias
        "a: !!str 5\n",  # tag
        "a: ! x\n",  # non-specific tag
        "base: {x: 1}\nd:\n  <<: {y: 2}\n",  # merge key
        "a: 1\na: 2\n",  # repeated key
        "1: x\n",  # a key that is not a string
        "true: x\n",
        "? [a]\n: x\n",  # a complex key
        "- a\n- b\n",  # not a mapping
        "just text\n",
        "a: [1, 2\n",  # syntax error
        "a: b\n\tc: d\n",  # tab indentation
        "a: =\n",  # the value key
        "%YAML 1.1\n%TAG !e! tag:example.com,2000:\n---\na: !e!x 1\n",
        "a: {b: {c: {d: 1}}}\n",  # deeper than max_depth=2 (below)
    ],
)
def test_what_the_c_reader_leaves_to_python(text: str) -> None:
    assert fast(text, max_depth=2) is None


@needs_c_reader
@pytest.mark.parametrize(
    "text",
    [
        "",
        "---\n",
        "---\n---\na: 1\n---\n",  # empty documents are skipped, as by the Python reader
        "# only a comment\n",
        "a: 'x'\nb: \"y\\n\"\nc: |\n  80\nd: >-\n  true\ne:\nf: ~\ng: [1, 0x1F, 1.5, .inf, yes]\n",
        "'<<': quoted merge is a key\n'1': one\n\"true\": yes\n",
        "a: {b: [c, {d: e}]}\n",
        "k: 2024-01-01\nt: 2024-01-01T10:00:00Z\n",  # timestamps stay text
        'ünï: cödé\n"\\u00e9": e\n',
        "%YAML 1.1\n---\na: 1\n",
    ],
)
def test_what_the_c_reader_takes(text: str) -> None:
    assert agree(text, first_line=7)


@needs_c_reader
def test_deep_nesting_is_left_to_python_whatever_the_limit(tmp_path: Path) -> None:
    """The C reader recurses once per level, so it stops at a fixed depth even when --max-depth allows
    more: 100k levels are the Python reader's to refuse, not a crash."""
    deep = "a: " + "[" * 100_000 + "]" * 100_000 + "\n"
    assert fast(deep, max_depth=10**6) is None
    errors: list[Diagnostic] = []
    source.read_documents(Piece("f.yaml", deep), Limits(max_depth=10**30), errors)
    assert errors and "nesting" in str(errors[0]), errors


@needs_c_reader
@pytest.mark.parametrize(
    "text",
    [
        "a: [1, [2, {b: c}]]\n",
        "a: " + "[" * 3000 + "]" * 3000 + "\n",
        "a:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 80)),
        "a: " + "[" * 3000 + "\n",  # unclosed: a syntax error after the deep part
        "x: &a [1]\n---\nb: {c: [d]}\n",
    ],
)
@pytest.mark.parametrize("max_depth", [0, 2, 64, 511])
def test_nesting_is_measured_alike_in_c_and_from_pyyaml_events(text: str, max_depth: int) -> None:
    assert fastyaml.nesting(text, max_depth, COMPOSABLE_DEPTH) == pyyaml_reader.nesting(text, max_depth)


@needs_c_reader
def test_the_benchmark_input_is_read_in_c() -> None:
    from bench.services import manifest

    assert agree(manifest(20, 3))


@needs_c_reader
def test_the_c_reader_types_from_the_table_it_is_given_and_lists_the_rest() -> None:
    """No call back into Python: a plain scalar in the table gets the table's value; one that is not
    stays its text and is listed with where it stands (a key: None), for Python to type."""
    known: dict[str, object] = {"80": 80, "ports": "ports", "yes": True}
    result = fastyaml.documents("ports: [80, 81, yes]\non: {'q': '1.5', x: 80}\n", "f.yaml", 1, 64, YMap, YList, known)
    assert result is not None
    (doc,), untyped = result
    assert doc == {"ports": [80, "81", True], "on": {"q": "1.5", "x": 80}}  # quoted: strings, never listed
    assert untyped == [(doc["ports"], 1, "81"), (doc, None, "on"), (doc["on"], None, "x")]
    assert known == {"80": 80, "ports": "ports", "yes": True}  # the C reader only reads the table
    assert yaml_scalars.type_plain_scalars(untyped) is False  # `on` is True in YAML 1.1: not a string key
    assert doc["ports"] == [80, 81, True]


@needs_c_reader
def test_no_references_leak() -> None:
    """Reading the same texts again and again does not grow memory (C reference counting gone wrong
    would leak a string or a map per read)."""
    import tracemalloc

    texts = [
        "a: {b: [c, 1, true, {d: 'e'}]}\nk: unique-text-here\n---\nf: g\n",
        "a: {b: [c, 1]}\nx: *nope\n",  # gives up in the middle of a document
        "a: 1\na: 2\n",  # on a repeated key
        "a: [1, 2\n",  # on a syntax error
        "a: <<\n",  # on a plain scalar the table does not type
        "n: [80, on, 10.0.0.1, ~]\n",  # typed from the table
    ]
    for _ in range(3):
        for text in texts:
            fast(text)
    tracemalloc.start()
    try:
        for _ in range(20):
            for text in texts:
                fast(text)
        before, _ = tracemalloc.get_traced_memory()
        for _ in range(500):
            for text in texts:
                fast(text)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 4096, after - before


@needs_c_reader
def test_what_can_only_be_a_string_is_never_listed() -> None:
    """A plain scalar the C reader types as a string without the table (its first character starts no
    implicit type, or it holds two dots) reads as the Python reader reads it; every first character."""
    firsts = [chr(c) for c in range(32, 127)] + ["é", "ü", "中", "😀"]
    rests = ("", "x", "1", "0.5", "a.b.c", "ull", "es", "e5", "1.1.1", ":00", "-1")
    not_listed = 0
    for text in (f"k: {first}{rest}\n" for first in firsts for rest in rests):
        result = fastyaml.documents(text, "f.yaml", 1, 64, YMap, YList, {}, yaml_scalars.PLAIN_STARTS)
        if result is not None:
            not_listed += not result[1]
            assert agree(text) or result[1], text  # given up only on a scalar Python could not type (`=`)
    assert not_listed > 500


@needs_c_reader
def test_without_the_starts_every_untyped_scalar_is_listed() -> None:
    text = "name: web\nip: 10.0.0.1\nport: 80\n"
    result = fastyaml.documents(text, "f.yaml", 1, 64, YMap, YList, {})
    assert result is not None
    assert [text for _, _, text in result[1]] == ["name", "web", "ip", "10.0.0.1", "port", "80"]
    result = fastyaml.documents(text, "f.yaml", 1, 64, YMap, YList, {}, "0123456789")
    assert result is not None
    assert [text for _, _, text in result[1]] == ["80"]  # 10.0.0.1 has more than one dot: a string


@needs_c_reader
def test_strings_typed_in_c_go_to_the_table_within_its_bounds() -> None:
    """As `scalars.plain_value` keeps what it types: the same text read again is the same object."""
    known: dict[str, object] = {}
    text = "name: web\nimage: registry.example/web\nport: 80\nlong: " + "x" * 65 + "\nwho: web\n"
    result = fastyaml.documents(text, "f.yaml", 1, 64, YMap, YList, known, "0123456789n", 100, 64)
    assert result is not None
    (doc,), untyped = result
    strings = ["web", "image", "registry.example/web", "port", "long", "who"]  # the long text: not kept
    assert known == {text: text for text in strings}
    assert doc["who"] is doc["name"] is known["web"]
    assert [text for _, _, text in untyped] == ["name", "80"]  # they may be of another type
    full: dict[str, object] = {"a": "a"}
    assert fastyaml.documents(text, "f.yaml", 1, 64, YMap, YList, full, "0123456789n", 1, 64) is not None
    assert full == {"a": "a"}


@needs_c_reader
def test_the_c_reader_makes_maps_and_lists_as_their_init_does() -> None:
    """It sets the slots itself (without calling __init__ for each): every slot, as __init__ sets it."""
    result = fastyaml.documents("a: {}\nb: []\n", "f.yaml", 3, 64, YMap, YList, {})
    assert result is not None
    (doc,), _ = result
    for made, by_init in ((doc["a"], YMap("f.yaml", doc["a"].pos)), (doc["b"], YList("f.yaml", doc["b"].pos))):
        assert type(made) is type(by_init)
        slots = type(made).__slots__
        assert {slot: getattr(made, slot) for slot in slots} == {slot: getattr(by_init, slot) for slot in slots}
    assert YMap.__slots__ == ("duplicates", "file", "pos", "positions")  # those _fastyaml_yaml.c sets
    assert YList.__slots__ == ("file", "pos", "positions")
    with pytest.raises(TypeError):
        fastyaml.documents("a: 1\n", "f.yaml", 1, 64, YMap, dict, {})  # a type, not of list
