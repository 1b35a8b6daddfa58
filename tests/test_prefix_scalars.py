"""Plain scalars typed without PyYAML (`scalars.quick_value`) get the values PyYAML's own resolver and
safe constructor give them; and reading plain manifests with the C reader does not import PyYAML."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from netcompile.load import _fastyaml, scalars
from netcompile.load.scalars import PLAIN_STARTS, SLOW, WORD_STARTS, WORDS, quick_value

BOOL, NULL = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"


def pyyaml_value(text: str) -> Any:
    """What PyYAML makes of an untagged plain scalar, timestamps kept as text (as Kubernetes reads them)."""
    tag = Resolver().resolve(ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    if tag in ("tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp"):
        return text
    return SafeConstructor().construct_object(ScalarNode(tag, text))


def test_plain_starts_are_pyyaml_resolvers_first_characters() -> None:
    implicit = yaml.resolver.Resolver.yaml_implicit_resolvers
    assert "".join(sorted(start for start in implicit if start)) == PLAIN_STARTS
    letters = {start for start in implicit if start.isalpha()}
    assert letters == WORD_STARTS
    for letter in letters:  # a letter starts a boolean or a null, nothing else
        assert {tag for tag, _ in implicit[letter]} <= {BOOL, NULL}


def test_the_words_are_pyyaml_booleans_and_nulls() -> None:
    implicit = yaml.resolver.Resolver.yaml_implicit_resolvers
    for word, value in WORDS.items():
        got = pyyaml_value(word)
        assert type(got) is type(value) and got == value
    # and no other spelling of them: every way to write each word's letters in upper and lower case
    for word in {w.lower() for w in WORDS if w.isalpha()}:
        spellings = {""}
        for letter in word:
            spellings = {s + c for s in spellings for c in (letter.lower(), letter.upper())}
        for spelling in spellings:
            tags = {tag for tag, regexp in implicit.get(spelling[0], ()) if regexp.match(spelling)}
            assert (spelling in WORDS) == bool(tags), spelling


TEXTS = st.text(alphabet="0123456789+-._:eExXoObBaflnsrtuyNTY~<=/ !&*", max_size=9)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(TEXTS, st.sampled_from(sorted(WORDS)), st.integers(-(10**20), 10**20).map(str)))
@example("0")
@example("-0")
@example("+12")
@example("007")
@example("010")
@example("-010")
@example("08")
@example("1_000")
@example("0x1F")
@example("1:30")
@example("10.0.0.1")
@example("1.5")
@example(".inf")
@example("2024-01-01")
@example("!")
@example("*")
@example("<<")
@example("=")
@example("-")
@example("")
def test_quick_values_are_pyyaml_values(text: str) -> None:
    quick = quick_value(text)
    if quick is SLOW:
        return
    expected = pyyaml_value(text)
    assert type(quick) is type(expected) and quick == expected


def test_the_common_shapes_are_quick() -> None:
    """The texts of a usual manifest are typed without PyYAML (the assertions above would pass if
    nothing were)."""
    for text, value in [("8080", 8080), ("0", 0), ("-3", -3), ("true", True), ("null", None), ("TCP", "TCP")]:
        assert quick_value(text) == value and type(quick_value(text)) is type(value)
    for text in ("10.0.0.1", "ns-01", "frontend", "on-call", "1.2.3"):
        assert quick_value(text) == text
    for text in ("007", "1.5", "0x10", "1_0", "<<", "=", "2024-01-01", "+.inf"):
        assert quick_value(text) is SLOW
    assert scalars.plain_value("1.5") == 1.5  # PyYAML answers those


@pytest.mark.skipif(_fastyaml is None, reason="the C reader is not built")
def test_reading_plain_manifests_does_not_import_pyyaml(tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        textwrap.dedent("""\
            apiVersion: v1
            kind: Namespace
            metadata: {name: ns-1, labels: {team: t0, on-call: "yes", tier: null}}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: p, namespace: ns-1, labels: {app: a}}
            spec:
              containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080, protocol: TCP}]}]
              hostNetwork: false
            status: {phase: Running, podIP: 10.0.0.7}
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: np, namespace: ns-1}
            spec:
              podSelector: {matchLabels: {app: a}}
              ingress: [{ports: [{port: 8080}, {port: -1}]}]
            """)
    )
    code = textwrap.dedent(f"""\
        import sys
        import netcompile.cli
        from netcompile.pipeline import CompileArgs, complete, load
        args = CompileArgs()
        _, parse = args.check()
        try:
            complete(load([{str(manifest)!r}], parse=parse), args.complete_options())
        except Exception as exc:  # an invalid port is reported: reading is what is tested
            print(type(exc).__name__)
        print("yaml" in sys.modules)
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["InputError", "False"]


WORDISH = [
    *sorted(w for w in WORDS if w),
    *("tRUE", "nope", "Nothing", "onion", "Off-peak", "yess", "n", "y", "Y", "N", "t0", "frontend", "TCP", "Never"),
    *("8080", "-1", "007", "1.5", "10.0.0.1", ".5", "~x", "<x", "=x", "+1", "1e3"),
]


@pytest.mark.skipif(_fastyaml is None, reason="the C reader is not built")
@pytest.mark.parametrize("known", ["seeded", "empty-then-typed"])
def test_the_c_reader_with_typed_starts_reads_as_pyyaml(known: str) -> None:
    """The C reader lists for typing only texts starting with TYPED_STARTS, the table holding WORDS: the
    values are PyYAML's, in keys and values, whether the table was seeded or typed as it went."""
    from netcompile.load.documents import YList, YMap
    from netcompile.load.scalars import TYPED_STARTS, plain_values, type_plain_scalars

    assert set(TYPED_STARTS) == set(PLAIN_STARTS) - WORD_STARTS
    assert all(plain_values[word] is value for word, value in WORDS.items())
    text = "".join(f"k{index}: {word}\nl{index}: [{word}]\n" for index, word in enumerate(WORDISH))
    text += "".join(f"{word}: 1\n" for word in ("nope", "tRUE", "frontend", "TCP"))
    table = dict(plain_values) if known == "seeded" else dict(WORDS)
    fast = _fastyaml.documents(text, "f.yaml", 1, 64, YMap, YList, table, TYPED_STARTS, 1 << 18, 64)
    assert fast is not None
    docs, untyped = fast
    assert all(entry[2][:1] in TYPED_STARTS for entry in untyped)  # what was listed: only those
    assert type_plain_scalars(untyped)
    expected = yaml.safe_load(text)
    assert len(docs) == 1 and dict(docs[0]) == expected
    for key, value in expected.items():
        got = docs[0][key]
        pairs = zip(got, value, strict=True) if isinstance(value, list) else [(got, value)]
        assert all(type(g) is type(v) for g, v in pairs), key
