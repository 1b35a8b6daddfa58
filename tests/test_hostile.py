"""Hostile input: never a traceback, never output for invalid input, never an injected statement.

Valid generated manifests (tests/strategies.py) are mutated in two ways — structurally (a value
somewhere replaced by something hostile, a key deleted or added, a type changed) and textually (the
YAML truncated, junk bytes inserted, lines duplicated, anchors and aliases added) — and compiled. The
only acceptable outcomes are: success, with a script the closed-vocabulary interpreter parses; or
InputError / ClusterError, which the CLI prints as `file:line:col:` messages with exit code 2.

Examples per run: MUTATION_EXAMPLES structural + TEXT_EXAMPLES textual (HYPOTHESIS_PROFILE=long: x20).
"""

from __future__ import annotations

import copy
import os
import re
from functools import cache
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from netcompile.cli import app
from netcompile.compile.compiler import CompileOptions, Output
from netcompile.compile.index import ClusterError
from netcompile.errors import InputError
from netcompile.host.nftlib import check
from netcompile.load.manifests import load
from netcompile.load.schema import ListOf, MapOf, Table, kind_table, kinds_of
from netcompile.pipeline import compile_paths
from netcompile.verify.interpreter import Ruleset
from tests.strategies import Scenario, scenarios

SCALE = 20 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 1
MUTATION_EXAMPLES = 400 * SCALE
TEXT_EXAMPLES = 300 * SCALE
SETTINGS = {"deadline": None, "suppress_health_check": list(HealthCheck)}

HOSTILE_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    65536,
    2**63,
    -(2**63) - 1,
    10**100,
    1.5,
    float("inf"),
    float("nan"),
    "",
    " ",
    "\x00",
    "\t\n",
    "a" * 10_000,
    '"; flush ruleset; #',
    "} table ip evil { chain x { drop",
    "\u202e\u0000x",
    "💥",
    "10.0.0.1/33",
    "::ffff:1.2.3.4",
    "010.001.002.003",
    "1.2.3.4\n5.6.7.8",
    "None",
    "null",
    "-1",
    "0x10",
    "http",
    "TCP",
    "tcp",
    "Local",
    "ClientIP",
    "NodePort",
    [],
    [[[[]]]],
    {},
    {"a": {"b": {"c": {}}}},
    ["x", 1, None, {}],
    {"matchExpressions": [{"key": "a", "operator": "In"}]},
    {"ip": "1.2.3.4"},
]
EXTRA_KEYS = ["unknown", "spec", "metadata", "ports", "selector", "<<", "0", ""]


def compile_text(text: str | bytes) -> Output | None:
    """Compile one file; None for input rejected the right way; any other exception escapes."""
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        try:
            return compile_paths([tmp], CompileOptions(node="node-a"))[1]
        except (InputError, ClusterError):
            return None


def assert_clean(output: Output | None) -> None:
    """A compiled script must be exactly one netcompile table in the closed vocabulary."""
    if output is None:
        return
    Ruleset.parse(output.text)  # raises on anything the templates do not emit
    assert output.text.count("\ntable inet netcompile {\n") == 1
    assert re.findall(r"^(?:table|delete table|flush|add|insert|replace|destroy) .*$", output.text, re.M) == [
        "table inet netcompile",
        "delete table inet netcompile",
        "table inet netcompile {",
    ]


def hostile(draw: st.DrawFn) -> Any:
    """A hostile value, copied: a later mutation of the same document may reach into it, and must not
    change HOSTILE_VALUES for the next example (Hypothesis requires the same draws to give the same data)."""
    return copy.deepcopy(draw(st.sampled_from(HOSTILE_VALUES)))


@st.composite
def structural_mutations(draw: st.DrawFn) -> str:
    scenario: Scenario = draw(scenarios(max_packets=1))
    docs = scenario.docs
    for _ in range(draw(st.integers(1, 3))):
        doc = draw(st.sampled_from(docs))
        # walk to a random container inside the document
        node: Any = doc
        for _ in range(draw(st.integers(0, 4))):
            children = list(node.values()) if isinstance(node, dict) else list(node) if isinstance(node, list) else []
            children = [c for c in children if isinstance(c, dict | list) and c]
            if not children:
                break
            node = draw(st.sampled_from(children))
        op = draw(st.sampled_from(["replace", "delete", "add", "wrap"]))
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node)))
            if op == "replace":
                node[key] = hostile(draw)
            elif op == "delete":
                del node[key]
            elif op == "add":
                node[draw(st.sampled_from(EXTRA_KEYS))] = hostile(draw)
            else:
                node[key] = [node[key]]
        elif isinstance(node, list) and node:
            index = draw(st.integers(0, len(node) - 1))
            node[index] = hostile(draw) if op != "delete" else None
    return yaml.safe_dump_all(docs, allow_unicode=True, sort_keys=False)


@st.composite
def text_mutations(draw: st.DrawFn) -> bytes:
    scenario: Scenario = draw(scenarios(max_packets=1))
    data = scenario.yaml.encode()
    op = draw(st.sampled_from(["truncate", "junk", "duplicate-line", "alias", "bomb", "indent", "nul"]))
    if op == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    if op == "junk":
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.binary(min_size=1, max_size=20)) + data[at:]
    lines = data.split(b"\n")
    at = draw(st.integers(0, len(lines) - 1))
    if op == "duplicate-line":
        lines.insert(at, lines[at])
    elif op == "alias":
        lines.insert(at, b"x: &a [*a]" if draw(st.booleans()) else b"y: *undefined")
    elif op == "bomb":
        bomb = [b"a0: &a0 [x, x, x, x, x, x, x, x, x, x]"] + [
            f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]".encode() for i in range(1, 9)
        ]
        lines[at:at] = bomb
    elif op == "indent":
        lines[at] = b"   " + lines[at]
    else:
        lines[at] = lines[at] + b"\x00"
    return b"\n".join(lines)


@settings(max_examples=MUTATION_EXAMPLES, **SETTINGS)  # type: ignore[arg-type]
@given(structural_mutations())
def test_structural_mutations_never_crash(text: str) -> None:
    assert_clean(compile_text(text))


@settings(max_examples=TEXT_EXAMPLES, **SETTINGS)  # type: ignore[arg-type]
@given(text_mutations())
def test_text_mutations_never_crash(data: bytes) -> None:
    assert_clean(compile_text(data))


# --- typos: a renamed field or kind is an error, never a silent change of meaning ------------------------

# YAML 1.1 reads these as booleans or null: a key spelled so is not the name it looks like.
YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}
TYPO_EXAMPLES = 150 * SCALE


@st.composite
def typo_of(draw: st.DrawFn, word: str) -> str:
    """`word` misspelled: a letter dropped, doubled, swapped with the next, changed, or its case flipped."""
    at = draw(st.integers(0, len(word) - 1))
    op = draw(st.sampled_from(["drop", "double", "swap", "change", "case"]))
    if op == "drop" and len(word) > 1:
        return word[:at] + word[at + 1 :]
    if op == "double":
        return word[:at] + word[at] + word[at:]
    if op == "swap" and at + 1 < len(word):
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    if op == "change":
        return word[:at] + draw(st.sampled_from("aeiouxs")) + word[at + 1 :]
    return word[:at] + word[at].swapcase() + word[at + 1 :]


def schema_fields(doc: dict[str, Any]) -> list[tuple[dict[str, Any], str, Table]]:
    """Every key of `doc` that names a field of the API schema (not a key of a map such as labels), with
    the mapping that holds it and the schema of that mapping."""
    found: list[tuple[dict[str, Any], str, Table]] = []

    def walk(value: Any, node: Any) -> None:
        if isinstance(node, Table) and isinstance(value, dict):
            for key, child in value.items():
                found.append((value, key, node))
                if node.fields.get(key) is not None:
                    walk(child, node.fields[key])
        elif isinstance(node, ListOf) and isinstance(value, list):
            for item in value:
                walk(item, node.item)
        elif isinstance(node, MapOf) and isinstance(value, dict):
            for item in value.values():
                walk(item, node.value)

    walk(doc, kind_table(doc["apiVersion"], doc["kind"]))
    return [(m, key, table) for m, key, table in found if m is not doc or key not in ("apiVersion", "kind")]


def load_errors(text: str) -> list[str]:
    """The messages for `text` (which must be refused)."""
    with TemporaryDirectory() as tmp:
        (Path(tmp) / "input.yaml").write_text(text)
        with pytest.raises(InputError) as info:
            load([tmp])
        return [str(d) for d in info.value.diagnostics]


@settings(max_examples=TYPO_EXAMPLES, **SETTINGS)  # type: ignore[arg-type]
@given(st.data())
def test_a_misspelled_field_is_always_an_error(data: st.DataObject) -> None:
    scenario: Scenario = data.draw(scenarios(max_packets=1))
    doc = data.draw(st.sampled_from(scenario.docs))
    mapping, key, table = data.draw(st.sampled_from(schema_fields(doc)))
    typo = data.draw(typo_of(key))
    assume(typo not in table.fields and typo not in mapping and typo.lower() not in YAML_WORDS)
    renamed = {(typo if k == key else k): v for k, v in mapping.items()}
    mapping.clear()
    mapping.update(renamed)
    errors = load_errors(scenario.yaml)
    unknown = f'unknown field "{typo}"'
    assert any(unknown in e and (f".{typo}: " in e or f": {typo}: " in e) for e in errors), (typo, errors)


@settings(max_examples=TYPO_EXAMPLES, **SETTINGS)  # type: ignore[arg-type]
@given(st.data())
def test_a_misspelled_kind_is_always_an_error(data: st.DataObject) -> None:
    scenario: Scenario = data.draw(scenarios(max_packets=1))
    doc = data.draw(st.sampled_from(scenario.docs))
    typo = data.draw(typo_of(doc["kind"]))
    assume(typo not in (kinds_of(doc["apiVersion"]) or {}) and typo.lower() not in YAML_WORDS)
    doc["kind"] = typo
    expected = f'no matches for kind "{typo}" in version "{doc["apiVersion"]}"'
    assert any(expected in e for e in load_errors(scenario.yaml))


# file:line:col diagnostics, notices, and netcompile's closing line (a count, or a usage problem such as
# `--node X: no such Node in the input` when mutation removed the Node).
MESSAGE = re.compile(r"^(?:[^:\n]+:\d+:\d+: .+|notice: .+|netcompile: .+)$")


@settings(max_examples=60, **SETTINGS)  # type: ignore[arg-type]
@given(st.one_of(structural_mutations().map(str.encode), text_mutations()))
def test_cli_answers_bad_input_with_messages_and_exit_2(data: bytes) -> None:
    with TemporaryDirectory() as tmp:
        (Path(tmp) / "input.yaml").write_bytes(data)
        out = Path(tmp) / "out.nft"
        result = CliRunner().invoke(app, ["compile", tmp, "--node", "node-a", "-o", str(out)])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert result.exit_code in (0, 2)
        if result.exit_code == 2:
            assert not out.exists()
            lines = result.stderr.splitlines()
            assert lines and all(MESSAGE.match(line) for line in lines), result.stderr
            assert lines[-1].startswith("netcompile: ")
        else:
            assert out.exists()


# --- injection: hostile strings in every user-controlled field that reaches the output ---------------

FIELD_VALUES = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=0, max_size=80
) | st.sampled_from(['x" ; flush ruleset', "a\nb", "}}}", "#", "\\", "a" * 300, "${x}", "$(reboot)", "\x7f"])


def cluster_with(where: str | None, value: str) -> str:
    """A small cluster with `value` in one user-controlled field (`where`), or none (None)."""

    def pick(field: str, benign: str) -> str:
        return value if where == field else benign

    ns = pick("ns", "default")
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pick("pod", "web-0"),
                "namespace": ns,
                "labels": {pick("label-key", "app"): pick("label-value", "web")},
            },
            "spec": {
                "containers": [{"name": "c", "ports": [{"name": pick("port-name", "http"), "containerPort": 80}]}]
            },
            "status": {"phase": "Running", "podIP": "10.244.0.5"},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": pick("svc", "web"), "namespace": ns},
            "spec": {
                "clusterIP": "10.96.0.1",
                "selector": {pick("label-key", "app"): pick("label-value", "web")},
                "ports": [{"name": pick("port-name", "http"), "port": 80, "targetPort": pick("port-name", "http")}],
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": pick("policy", "allow"), "namespace": ns},
            "spec": {
                "podSelector": {"matchLabels": {pick("label-key", "app"): pick("label-value", "web")}},
                "ingress": [{"ports": [{"port": pick("port-name", "http")}]}],
            },
        },
    ]
    return yaml.safe_dump_all(docs, allow_unicode=True)


@st.composite
def injected(draw: st.DrawFn) -> str:
    """The small cluster with a hostile string in one name, label, port name or namespace."""
    where = draw(st.sampled_from(["ns", "svc", "pod", "label-key", "label-value", "port-name", "policy"]))
    return cluster_with(where, draw(FIELD_VALUES))


@cache
def benign_chain_count() -> int:
    output = compile_text(cluster_with(None, ""))
    assert output is not None
    return output.text.count("\n\tchain ")


@settings(max_examples=300 * SCALE, **SETTINGS)  # type: ignore[arg-type]
@given(injected())
def test_hostile_strings_never_reach_the_script_unescaped(text: str) -> None:
    output = compile_text(text)
    assert_clean(output)
    if output is not None:  # accepted names are Kubernetes-valid: the structure is the benign one's
        assert output.text.count("\n\tchain ") == benign_chain_count()


@pytest.mark.kernel
@settings(max_examples=40, **SETTINGS)  # type: ignore[arg-type]
@given(injected())
def test_hostile_scripts_load_in_libnftables(text: str) -> None:
    output = compile_text(text)
    if output is not None:
        check(output.text)
