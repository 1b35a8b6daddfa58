"""JSON input (`netcompile/load/jsonread.py`, `json_documents` in `netcompile/load/_fastyaml_json.c`): read with JSON's
rules, with the YAML readers' positions and messages.

The C and Python readers agree (values, types, positions, problems) on generated and hostile JSON and
agree with `json.loads`; where a JSON text is also YAML that both read alike, the YAML reader agrees too.
"""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from netcompile.cli import app
from netcompile.compile.compiler import CompileOptions
from netcompile.compile.index import ClusterError
from netcompile.errors import Diagnostic, InputError, Position
from netcompile.load import jsonread, pyyaml_reader, source
from netcompile.load.manifests import load
from netcompile.load.source import Limits, Piece, YList, YMap
from netcompile.pipeline import compile_paths
from tests.conftest import ROOT
from tests.strategies import Scenario, scenarios
from tests.test_fastyaml import same
from tests.test_hostile import SCALE, assert_clean

try:
    from netcompile.load import _fastyaml as fastyaml
except ImportError:  # not built here
    fastyaml = None  # type: ignore[assignment]
needs_c_reader = pytest.mark.skipif(fastyaml is None, reason="netcompile.load._fastyaml is not built here")

SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"}}


def read(text: str, file: str = "f.json", limits: Limits = Limits()) -> tuple[list[tuple[YMap, bool]], list[str]]:
    """The documents of `text` as `source.read_documents` gives them, and the problems as shown."""
    errors: list[Diagnostic] = []
    docs = source.read_documents(Piece(file, text), limits, errors)
    return docs, [str(e) for e in errors]


def errors_of(tmp_path: Path, name: str, text: str, limits: Limits = Limits()) -> list[str]:
    (tmp_path / name).write_text(text)
    with pytest.raises(InputError) as info:
        load([str(tmp_path / name)], limits)
    return [str(d).removeprefix(f"{tmp_path}/") for d in info.value.diagnostics]


def both(text: str, first_line: int = 1, max_depth: int = 64) -> jsonread.Parsed:
    """The C reader's answer, after checking that the Python reader gives exactly the same."""
    ours = jsonread.parse_python(text, "f.json", first_line, max_depth)
    if fastyaml is not None:
        theirs = fastyaml.json_documents(text, "f.json", first_line, max_depth, YMap, YList)
        same([d[0] for d in theirs[0]], [d[0] for d in ours[0]])
        assert [d[1:] for d in theirs[0]] == [d[1:] for d in ours[0]]
        assert theirs[1:] == ours[1:]
        return theirs
    return ours


# --- what YAML got wrong --------------------------------------------------------------------------------


def test_surrogate_pair_escapes_are_one_character() -> None:
    docs, errors = read('{"metadata": {"name": "a\\ud83d\\ude00b", "x": "\\u00e9\\/\\t"}}')
    assert errors == []
    assert docs[0][0]["metadata"] == {"name": "a\U0001f600b", "x": "é/\t"}


def test_lone_surrogate_escapes_become_the_replacement_character_as_in_go() -> None:
    ((doc, _),), errors = read('{"a": "\\ud800", "b": "\\udc00x", "c": "\\ud800\\u0041", "d": "\\ud800\\ud83d\\ude00"}')
    assert errors == []
    assert doc == {"a": "\ufffd", "b": "\ufffdx", "c": "\ufffdA", "d": "\ufffd\U0001f600"}


def test_numbers_have_json_types() -> None:
    ((doc, _),), errors = read('{"i": 80, "n": -0, "e": 1e2, "f": 1.5, "g": -2.5E-3, "big": 123456789012345678901234}')
    assert errors == []
    assert doc == {"i": 80, "n": 0, "e": 100.0, "f": 1.5, "g": -0.0025, "big": 123456789012345678901234}
    assert [type(v) for v in doc.values()] == [int, int, float, float, float, int]


def test_a_float_port_is_refused_as_for_yaml_floats(tmp_path: Path) -> None:
    text = json.dumps({**SERVICE, "spec": {"ports": [{"name": "a", "port": "E"}, {"name": "b", "port": 8.0}]}})
    text = text.replace('"E"', "1e2")
    e, f = text.index("1e2") + 1, text.index("8.0") + 1
    assert errors_of(tmp_path, "s.json", text) == [
        f's.json:1:{e}: Service "shop/web": spec.ports[0].port: Invalid value: 100.0: must be an integer',
        f's.json:1:{f}: Service "shop/web": spec.ports[1].port: Invalid value: 8.0: must be an integer',
    ]


def test_tab_indentation_as_jq_tab_prints_it() -> None:
    text = json.dumps({**SERVICE, "spec": {"ports": [{"port": 80, "x": [[], {}]}]}}, indent="\t")
    ((doc, _),), errors = read(text)
    assert errors == []
    assert doc["spec"]["ports"][0] == {"port": 80, "x": [[], {}]}
    line = next(n for n, text_line in enumerate(text.split("\n"), 1) if '"port"' in text_line)
    assert text.split("\n")[line - 1] == '\t\t\t\t"port": 80,'
    assert doc["spec"]["ports"][0].position("port") == Position("f.json", line, 13)  # a tab is a column


# --- documents, positions, duplicates --------------------------------------------------------------------


def test_a_stream_of_values_is_a_stream_of_documents() -> None:
    docs, errors = read('{"a": 1}\n{"b": 2}{"c": [3]}\n\n  {"d": {}}\n', "<stdin>")
    assert errors == []
    assert [d for d, _ in docs] == [{"a": 1}, {"b": 2}, {"c": [3]}, {"d": {}}]
    assert [str(d.position()) for d, _ in docs] == ["<stdin>:1:1", "<stdin>:2:1", "<stdin>:2:9", "<stdin>:4:3"]


def test_top_level_arrays_and_scalars_are_not_objects() -> None:
    """kubectl refuses a JSON array of objects too (kubernetes/kubernetes#8362): one message each."""
    docs, errors = read('[{"a": 1}]\n"x" 3 null\n{"b": 1}')
    assert [d for d, _ in docs] == [{"b": 1}]
    message = "document is not a mapping (a Kubernetes object)"
    assert errors == [f"f.json:{where}: {message}" for where in ("1:1", "2:1", "2:5", "2:7")]


def test_a_top_level_array_is_skipped_with_a_notice_not_silently(tmp_path: Path) -> None:
    (tmp_path / "array.json").write_text(json.dumps([{"apiVersion": "v1", "kind": "Namespace", "metadata": {}}]))
    (tmp_path / "ns.json").write_text(json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}))
    output = compile_paths([str(tmp_path)], CompileOptions())[1]
    assert f"{tmp_path}/array.json:1:1: skipping a document that is a list, not a Kubernetes object" in output.notices


def test_positions_of_values_and_containers() -> None:
    text = '{\n    "a": "x",\n    "b": [1, {"c": true}],  "d":\tnull\n}'
    ((doc, _),), _ = read(text)
    assert str(doc.position()) == "f.json:1:1"
    assert [str(doc.position(k)) for k in doc] == ["f.json:2:10", "f.json:3:10", "f.json:3:34"]
    assert [str(doc["b"].position(i)) for i in range(2)] == ["f.json:3:11", "f.json:3:14"]
    assert str(doc["b"][1].position("c")) == "f.json:3:20"


def test_columns_count_characters_and_stop_at_the_packing_limit() -> None:
    ((doc, _),), _ = read('{"ü😀": "é", "k": 1}')
    assert str(doc.position("k")) == "f.json:1:18"
    ((wide, _),), _ = read('{"a": "' + "x" * 0x100000 + '", "b": 1}')
    assert wide.position("b") == Position("f.json", 1, 0xFFFFF)  # as documents.pack clamps


def test_repeated_keys_are_reported_as_for_yaml(tmp_path: Path) -> None:
    def second(text: str, key: str) -> int:
        return text.index(key, text.index(key) + 1) + 1

    body = '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "name": "q"}, "kind": "Pod"}'
    plain = body.replace('"', "")
    expected = [
        ':{}: Pod "default/p": metadata.name: Duplicate value: "name": mapping key appears more than once',
        ':{}: Pod "default/p": kind: Duplicate value: "kind": mapping key appears more than once',
    ]
    assert errors_of(tmp_path, "p.json", body) == [
        "p.json:1" + m.format(second(body, k)) for m, k in zip(expected, ('"name"', '"kind"'), strict=True)
    ]
    assert errors_of(tmp_path, "p.yaml", plain) == [
        "p.yaml:1" + m.format(second(plain, k)) for m, k in zip(expected, ("name", "kind"), strict=True)
    ]


# --- errors and limits ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": [1, }', "1:11: JSON syntax error: expected a value, found '}'"),
        ('{"a": 1,}', "1:9: JSON syntax error: expected a string key, found '}'"),
        ("{a: 1}", "1:2: JSON syntax error: expected a string key or '}', found 'a'"),
        ('{"a" 1}', "1:6: JSON syntax error: expected ':' after a key, found '1'"),
        ('{"a": 1 "b": 2}', "1:9: JSON syntax error: expected ',' or '}', found '\"'"),
        ('{"a": [1 2]}', "1:10: JSON syntax error: expected ',' or ']', found '2'"),
        ('{"a": 01}', "1:8: JSON syntax error: expected ',' or '}', found '1'"),
        ('{"a": 1.}', "1:9: JSON syntax error: expected a digit, found '}'"),
        ('{"a": 1e+}', "1:10: JSON syntax error: expected a digit, found '}'"),
        ('{"a": -x}', "1:8: JSON syntax error: expected a digit, found 'x'"),
        ('{"a": NaN}', "1:7: JSON syntax error: expected a value, found 'N'"),
        ('{"a": tru}', "1:7: JSON syntax error: expected a value, found 't'"),
        ('{"a": "x\\q"}', "1:9: JSON syntax error: invalid escape: '\\' followed by 'q'"),
        ('{"a": "\\u12G4"}', "1:8: JSON syntax error: invalid \\u escape: expected 4 hexadecimal digits"),
        ('{"a": "x\ny"}', "1:9: JSON syntax error: unescaped control character U+000A in a string"),
        ('{"a": "x', "1:7: JSON syntax error: unterminated string"),
        ('{"a": 1', "1:8: JSON syntax error: expected ',' or '}', found end of input"),
        ("{\n\n  ]", "3:3: JSON syntax error: expected a string key or '}', found ']'"),
        (
            '{"a": 1} truex',
            "1:14: JSON syntax error: expected whitespace or end of input after a top-level value, found 'x'",
        ),
        ('{"a": "\u00a0" \u00a0}', "1:11: JSON syntax error: expected ',' or '}', found U+00A0"),
    ],
)
def test_syntax_errors_are_one_message_with_a_position(text: str, message: str) -> None:
    both(text)
    _, errors = read(text)
    assert [e for e in errors if "JSON syntax error" in e] == [f"f.json:{message}"]


def test_documents_before_a_syntax_error_are_kept() -> None:
    docs, errors = read('{"a": 1}\n{"b": ]')
    assert [d for d, _ in docs] == [{"a": 1}]
    assert errors == ["f.json:2:7: JSON syntax error: expected a value, found ']'"]


def nested(levels: int) -> str:
    return '{"a": ' + "[" * levels + "]" * levels + ', "b": 1}'


@pytest.mark.parametrize(
    ("levels", "max_depth"), [(3, 2), (5, 64), (600, 64), (600, 511), (600, 10**6), (100_000, 10**30)]
)
def test_nesting_limits_have_the_yaml_messages_and_positions(levels: int, max_depth: int) -> None:
    text = nested(levels) if levels < 600 or max_depth > 64 else nested(levels) + "\n" + nested(2)
    limits = Limits(max_depth=max_depth)
    json_docs, json_errors = read(text, limits=limits)
    yaml_errors: list[Diagnostic] = []
    yaml_docs = pyyaml_reader.read_yaml_documents(Piece("f.json", text), limits, yaml_errors)  # flow style: also YAML
    assert json_errors == [str(e) for e in yaml_errors]
    if levels > max_depth:
        assert json_errors and "nesting deeper than" in json_errors[0]
    if levels < 10_000:  # PyYAML refuses the whole piece past 511 levels; JSON drops only the document
        assert [d for d, _ in json_docs][-len(yaml_docs) or len(json_docs) :] == [d for d, _ in yaml_docs]


def test_deep_nesting_beyond_the_limit_is_still_checked_for_syntax() -> None:
    assert both("[" * 50_000 + "]" * 49_999)[2] == (1, 100_000, "expected ',' or ']', found end of input")
    assert both('{"a": ' + '{"b": ' * 50_000 + "1" + "}" * 50_001, max_depth=10)[1] == [(1, 67, "depth", 0)]


def test_integers_past_pythons_digit_limit_drop_the_document(tmp_path: Path) -> None:
    text = '{"a": [' + "9" * 5000 + ", -" + "1" * 4301 + "]}\n" + json.dumps(SERVICE)
    docs, errors = read(text)
    assert [d["kind"] for d, _ in docs] == ["Service"]
    assert errors == ["f.json:1:8: JSON number too long: an integer of 5000 digits (at most 4300)"]
    assert both("[1e999999, -1e400, " + "1" * 4300 + "]")[0][0][0][:2] == [math.inf, -math.inf]


def test_max_objects_and_max_file_bytes_apply_alike(tmp_path: Path) -> None:
    items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"n{i}"}} for i in range(3)]
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=4)
    starts = [n for n, line in enumerate(text.split("\n"), 1) if line == " " * 8 + "{"]
    assert errors_of(tmp_path, "l.json", text, Limits(max_objects=2)) == [
        f"l.json:{starts[2]}:9: more than 2 objects (--max-objects)"
    ]
    assert errors_of(tmp_path, "l.json", text, Limits(max_file_bytes=100)) == [
        "l.json:1:1: file is larger than 100 bytes (--max-file-bytes)"
    ]


# --- which input is JSON ---------------------------------------------------------------------------------


def test_which_input_is_json() -> None:
    surrogates = '{"a": "\\ud83d\\ude00"}'
    assert read(surrogates, "<stdin>")[0][0][0] == {"a": "\U0001f600"}  # JSON content: JSON
    assert read(surrogates, "x.yaml")[0][0][0] == {"a": "\U0001f600"}
    assert read("{a: b, c: 1e2}", "<stdin>")[0][0][0] == {"a": "b", "c": "1e2"}  # YAML flow style: YAML
    assert read('  # a comment\n{"c": 1e2}', "<stdin>")[0][0][0] == {"c": "1e2"}  # YAML: not `{` first
    assert read("a: 1\n", "f.json")[1] == ["f.json:1:1: JSON syntax error: expected a value, found 'a'"]
    assert read("{a: [1}", "<stdin>")[1][0].startswith("<stdin>:1:7: YAML syntax error")  # neither: YAML's word


def test_a_large_json_looking_text_is_not_cut_into_pieces() -> None:
    """Else its first piece alone could pass for JSON, and be read by other rules than the rest."""
    text = "".join("{" + f'"a": {i}' + "}\n---\n" for i in range(2000))  # YAML documents in flow style
    assert list(source._cut("<stdin>", text, 1000)) == [Piece("<stdin>", text)]
    docs, errors = read(text, "<stdin>")  # not JSON as a whole (`---`): YAML
    assert errors == [] and [d["a"] for d, _ in docs] == list(range(2000))
    assert len(list(source._cut("<stdin>", "x: 1\n---\n" + text, 1000))) > 1  # YAML first: cut


# --- end to end -------------------------------------------------------------------------------------------


def examples_as_json_list() -> str:
    docs = [doc for f in sorted((ROOT / "examples").glob("[0-9]*.yaml")) for doc in yaml.safe_load_all(f.read_text())]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": [d for d in docs if d]}, indent=4)


def test_a_kubectl_json_list_compiles_like_the_yaml(tmp_path: Path) -> None:
    (tmp_path / "examples.json").write_text(examples_as_json_list())
    yaml_output = compile_paths([str(ROOT / "examples")], CompileOptions())[1]
    json_output = compile_paths([str(tmp_path / "examples.json")], CompileOptions())[1]
    assert json_output.text == yaml_output.text
    assert "table inet netcompile {" in json_output.text


def test_the_python_reader_alone_reads_it_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the C extension (it is optional), JSON is read by `json_python.PyReader`: the same ruleset."""
    (tmp_path / "examples.json").write_text(examples_as_json_list())
    with_c = compile_paths([str(tmp_path)], CompileOptions())[1]
    monkeypatch.setattr(jsonread, "_fastyaml", None)
    assert compile_paths([str(tmp_path)], CompileOptions())[1].text == with_c.text


def test_json_on_stdin_through_the_cli() -> None:
    result = CliRunner().invoke(app, ["compile", str(ROOT / "examples")])
    assert result.exit_code == 0, result.output
    piped = CliRunner().invoke(app, ["compile", "-"], input=examples_as_json_list())
    assert piped.exit_code == 0, piped.output
    assert piped.stdout == result.stdout
    bad = CliRunner().invoke(app, ["compile", "-"], input='{"apiVersion": "v1", "kind": "Service", "x": [1, }')
    assert bad.exit_code == 2  # not JSON: read as YAML, which it is not either
    assert bad.stderr.splitlines()[0].startswith("<stdin>:1:50: YAML syntax error: ")
    text = json.dumps({**SERVICE, "metadata": {"name": "\U0001f600", "namespace": "shop"}, "spec": {}})
    assert "\\ud83d\\ude00" in text  # json.dumps escapes it as a surrogate pair
    surrogate = CliRunner().invoke(app, ["compile", "-"], input=text)
    assert surrogate.exit_code == 2 and "Traceback" not in surrogate.output
    column = text.index('"\\ud83d') + 1
    assert surrogate.stderr.startswith(
        f'<stdin>:1:{column}: Service "shop/😀": metadata.name: Invalid value: "😀": a DNS-1035 label'
    )


# --- properties ------------------------------------------------------------------------------------------

texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=10)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**30), 10**30), st.floats(allow_nan=False, allow_infinity=False), texts
)
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4), max_leaves=30
)
layouts = st.fixed_dictionaries(
    {
        "indent": st.sampled_from([None, 0, 2, 4, "\t"]),
        "ensure_ascii": st.booleans(),
        "separators": st.sampled_from([None, (",", ":"), (" , ", " : ")]),
    }
)


@settings(max_examples=300 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(json_values, min_size=1, max_size=4), layouts, st.integers(1, 9), st.sampled_from(["\n", " ", "\r\n"]))
def test_c_and_python_read_generated_json_as_json_loads_does(
    values: list[Any], layout: dict[str, Any], first_line: int, between: str
) -> None:
    text = between.join(json.dumps(v, **layout) for v in values)
    docs, problems, syntax = both(text, first_line)
    assert (problems, syntax) == ([], None)
    assert [d[0] for d in docs] == values  # == json.loads of each (json.dumps round-trips these)
    assert [d[0] for d in docs] == [json.loads(json.dumps(v, **layout)) for v in values]
    assert all(type(d[0]) in (YMap, YList) or type(d[0]) is type(v) for d, v in zip(docs, values, strict=True))
    if text.count("\n") == len(values) - 1 and between == "\n":
        assert [d[1] >> 20 for d in docs] == list(range(first_line, first_line + len(values)))


yaml_safe_texts = st.text(st.characters(categories=("L", "N", "P", "S", "Zs"), exclude_characters="\ufeff"), max_size=8)
yaml_safe_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | yaml_safe_texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(yaml_safe_texts, inner, max_size=3),
    max_leaves=20,
)


@settings(max_examples=200 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(yaml_safe_texts, yaml_safe_values, min_size=1, max_size=4), st.sampled_from([None, 1, 4]))
def test_json_that_is_also_yaml_reads_the_same_values_and_positions_as_yaml(doc: dict[str, Any], indent: int) -> None:
    text = json.dumps(doc, indent=indent, ensure_ascii=False)
    yaml_errors: list[Diagnostic] = []
    as_yaml = pyyaml_reader.read_yaml_documents(Piece("f.json", text, 3), Limits(), yaml_errors)
    assert yaml_errors == []
    docs, problems, syntax = both(text, 3)
    assert (problems, syntax) == ([], None)
    same([d[0] for d in docs], [d for d, _ in as_yaml])


def json_mutations() -> st.SearchStrategy[str]:
    @st.composite
    def mutate(draw: st.DrawFn) -> str:
        scenario: Scenario = draw(scenarios(max_packets=1))
        text = "\n".join(json.dumps(d, indent=draw(st.sampled_from([None, 2]))) for d in scenario.docs)
        op = draw(st.sampled_from(["truncate", "junk", "delete", "deep", "number", "surrogate", "duplicate"]))
        at = draw(st.integers(0, len(text)))
        if op == "truncate":
            return text[:at]
        if op == "junk":
            junk = st.text(max_size=6) | st.sampled_from(["\\", '"', "\\u", "[", "{", ",", ":"])
            return text[:at] + draw(junk) + text[at:]
        if op == "delete":
            return text[:at] + text[at + draw(st.integers(1, 5)) :]
        if op == "deep":
            n = draw(st.integers(60, 3000))
            return text[:at] + "[" * n + "]" * draw(st.sampled_from([n, n - 1, 0])) + text[at:]
        if op == "number":
            return text[:at] + draw(st.sampled_from(["1" * 5000, "1e99999", "-0.0", "1E-400", "-", "00"])) + text[at:]
        if op == "surrogate":
            return text[:at] + draw(st.sampled_from(['"\\ud800"', '"\\udfff\\ud800"', "\\ud83d"])) + text[at:]
        return text.replace('"name"', '"name": "x", "name"', 1)

    return mutate()


@settings(max_examples=200 * SCALE, deadline=None, suppress_health_check=list(HealthCheck))
@given(json_mutations())
def test_hostile_json_reads_the_same_in_c_and_python_and_never_crashes(text: str) -> None:
    both(text)
    with TemporaryDirectory() as tmp:
        (Path(tmp) / "input.json").write_text(text)
        with contextlib.suppress(InputError, ClusterError):  # refused the right way
            assert_clean(compile_paths([tmp], CompileOptions(node="node-a"))[1])


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": "\xff"}',
        b'{"a": "\xed\xa0\x80"}',
        b'\xef\xbb\xbf{"kind": []}',
        b'{"a": "\x00"}',
        b"\x00" * 10,
        b'{"a":' * 100_000,
    ],
)
def test_hostile_bytes_never_traceback(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "x.json").write_bytes(data)
    result = CliRunner().invoke(app, ["compile", str(tmp_path / "x.json")])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.stderr.splitlines()[-1].startswith("netcompile: ")


def test_lone_surrogates_in_the_text_itself_do_not_crash_either_reader() -> None:
    both('{"a": "\ud800", "\udc00": 1}')


@needs_c_reader
def test_no_references_leak() -> None:
    """Reading JSON again and again does not grow memory (a reference count wrong in C would leak)."""
    import tracemalloc

    texts = [
        '{"a": {"b": [1, 2.5, true, null, "x\\u00e9\\ud83d\\ude00", "a-longer-string-than-the-cached-ones-are"]}}\n[1]',
        '{"a": 1, "a": {"b": 2}, "b": [' + "1" * 5000 + "]}",  # a repeated key; a number too long
        '{"a": [[[[[1]]]]], "b": 2} 3',  # past max_depth (below)
        '{"a": [1, {"b": "x',
        '{"a": "\\q"}',  # syntax errors
        '{"a": [1, {"b": 2} 3]}',
    ]
    for _ in range(3):
        for text in texts:
            fastyaml.json_documents(text, "f.json", 1, 3, YMap, YList)
    tracemalloc.start()
    try:
        for _ in range(20):
            for text in texts:
                fastyaml.json_documents(text, "f.json", 1, 3, YMap, YList)
        before, _ = tracemalloc.get_traced_memory()
        for _ in range(500):
            for text in texts:
                fastyaml.json_documents(text, "f.json", 1, 3, YMap, YList)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 4096, after - before
