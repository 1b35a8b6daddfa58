"""A delta compares element blocks as text (nft/delta.py `_differing`) and cuts into lines only where OLD
and NEW differ; the reader keeps each set's elements as written (nft/reader.py `LoadedSet.written`) and
checks element lines as they are cut. Here: the elements deleted and added are those found by comparing
every element line, for any two lists of lines and for rulesets of generated clusters and their changes;
only the differing part is cut; an element line OLD.nft should not hold is refused where it is cut,
naming its line, also through `compile --since`.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, note, reject, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from netcompile.cli import app
from netcompile.compile.index import ClusterError
from netcompile.compile.options import CompileOptions
from netcompile.errors import InputError
from netcompile.nft import delta, delta_text, fingerprint
from netcompile.nft.delta import Delta, between
from netcompile.nft.reader import LoadedSet, NotOurs, Stretch, element_key, read
from tests.strategies import scenarios
from tests.test_delta import CASES, NODE, SHOP, text_of, two_versions
from tests.test_transaction import PROFILE, SETTINGS, changes

EXAMPLES = {"dev": 50, "long": 5000}.get(PROFILE, 400)
CLUSTERS = {"dev": 5, "long": 300}.get(PROFILE, 25)
runner = CliRunner()

# Element lines: short, alike at their starts and ends (so that a text's common start or end stops inside
# a line), some with a value or a comment (the key ends before them), a comma or tabs inside some (so
# that the end of one line can look like a whole line).
LINE = st.text(alphabet="1a.,", min_size=1, max_size=4).map(lambda s: s.strip(",") or "1") | st.sampled_from(
    ["1 : goto a", '1 comment "a" : 1', "1 . a", "11", "a1", "1a . 1", "a\t\t\t1", "1\t\t\ta1"]
)


def written(lines: list[str]) -> str:
    return "".join(f"\t\t\t{line},\n" for line in lines)


def loaded(lines: list[str], ordered: bool) -> LoadedSet:
    """A set of these element lines; `ordered`: one nft lists in insertion order (concatenations, intervals)."""
    declaration = ("type ipv4_addr . inet_service", "flags interval") if ordered else ("type ipv4_addr",)
    return LoadedSet("s", "set", declaration, None, Stretch.of(written(lines)))


def every_line(before: list[str], after: list[str], ordered: bool) -> tuple[list[str], list[str]]:
    """What a delta deletes and adds, from every line of both: a line only in OLD goes, a line only in NEW
    comes; in a set listed in insertion order, every line after the first that comes goes and comes again."""
    old_lines, new_lines = set(before), set(after)
    removed = [element_key(line) for line in before if line not in new_lines]
    added = [line for line in after if line not in old_lines]
    if added and ordered:
        tail = after[after.index(added[0]) :]
        removed += [element_key(line) for line in tail if line not in set(added)]
        added = tail
    return removed, added


@st.composite
def two_lists(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """OLD's lines, and NEW's: a few lines removed, inserted or changed in place, or any other list."""
    before = draw(st.lists(LINE, unique=True, max_size=12))
    if draw(st.booleans()):
        pool = [*before, *draw(st.lists(LINE, min_size=1, max_size=4))]
        return before, draw(st.lists(st.sampled_from(pool), unique=True))
    after = list(before)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(after)))
        how = draw(st.sampled_from(["insert", "remove", "change"]))
        if how == "insert":
            after.insert(at, draw(LINE))
        elif at < len(after):
            line = after.pop(at)
            if how == "change":
                after.insert(at, line + draw(st.sampled_from(["1", " : a", ".1"])))
    return before, list(dict.fromkeys(after))  # a line is never twice in a set


@settings(SETTINGS, max_examples=EXAMPLES)
@given(lists=two_lists(), ordered=st.booleans())
def test_the_elements_a_delta_moves_are_those_every_line_gives(
    lists: tuple[list[str], list[str]], ordered: bool
) -> None:
    before, after = lists
    old, new = loaded(before, ordered), loaded(after, ordered)
    assert delta._element_changes(old, new, set()) == every_line(before, after, ordered)
    gone, come = delta_text.unaligned(old.written, new.written)
    old_text, new_text = str(old.written), str(new.written)
    for spans, text in ((gone, old_text), (come, new_text)):
        assert all(a < b for a, b in spans) and all(b < c for (_, b), (c, _) in itertools.pairwise(spans))
        assert all(_line_start(text, at) for span in spans for at in span)
    assert _outside(old_text, gone) == _outside(new_text, come)  # the stretches paired are alike
    start, old_end, new_end = delta_text.differing(old.written, new.written)
    assert old_text[:start] == new_text[:start] and old_text[old_end:] == new_text[new_end:]
    assert start <= old_end and start <= new_end
    for text, at in ((old_text, start), (old_text, old_end), (new_text, start), (new_text, new_end)):
        assert _line_start(text, at)  # whole lines on both sides
    if before == after:
        assert (start, old_end, new_end) == (len(old_text),) * 3


def _line_start(text: str, at: int) -> bool:
    return at in (0, len(text)) or text[at - 1] == "\n"


def _outside(text: str, spans: list[tuple[int, int]]) -> str:
    ends = [0, *(at for span in spans for at in span), len(text)]
    return "".join(text[ends[k] : ends[k + 1]] for k in range(0, len(ends), 2))


def _cut_whole(old: Stretch, new: Stretch) -> tuple[int, int, int]:
    return 0, len(old), len(new)


def _left_whole(old: Stretch, new: Stretch) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    return [(0, len(old))], [(0, len(new))]


def steps(delta_: Delta) -> list[tuple[str, str, str, tuple[str, ...]]]:
    return [(c.verb, c.kind, c.name, c.lines) for c in delta_]


def test_each_pair_of_golden_rulesets_gives_the_delta_every_line_gives() -> None:
    """Deltas between golden rulesets (of the one table), with element blocks compared as text and with
    every element line cut: the same commands."""
    texts = [case.compile().text for case in CASES]
    pairs = [(a, b) for a, b in zip(texts, texts[1:] + texts[:1], strict=True) if read(a).name == read(b).name]
    assert len(pairs) > 20
    for before, after in pairs:
        fast = between(read(before), read(after))
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(delta_text, "differing", _cut_whole)
            patch.setattr(delta_text, "unaligned", _left_whole)
            whole = between(read(before), read(after))
        assert steps(fast) == steps(whole)


@settings(SETTINGS, max_examples=CLUSTERS)
@given(data=st.data())
def test_a_sequence_of_changes_gives_the_delta_every_line_gives(data: st.DataObject) -> None:
    scenario = data.draw(scenarios(max_packets=1), label="cluster")
    opts = CompileOptions(node="node-a")
    docs = scenario.docs
    try:
        texts = [text_of(docs, opts)]
        for _ in range(data.draw(st.integers(1, 3), label="changes")):
            kind, docs = data.draw(changes(docs), label="change")
            note(kind)
            texts.append(text_of(docs, opts))
    except (InputError, ClusterError):  # a change the API server would refuse
        reject()
    for before, after in itertools.pairwise(texts):
        fast = between(read(before), read(after))
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(delta_text, "differing", _cut_whole)
            patch.setattr(delta_text, "unaligned", _left_whole)
            whole = between(read(before), read(after))
        assert steps(fast) == steps(whole)


# --- only what differs is cut ------------------------------------------------------------------------------------


def _services(count: int, moved: int | None) -> str:
    """`count` Services of two endpoints; Service `moved`'s first endpoint elsewhere."""
    import yaml

    docs = []
    for i in range(count):
        first = "10.250.0.1" if i == moved else f"10.244.{i // 100}.{2 * (i % 100) + 1}"
        docs += [
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": f"s{i}", "namespace": "app"},
                "spec": {"clusterIP": f"10.96.{i // 200}.{i % 200 + 1}", "ports": [{"port": 80, "protocol": "TCP"}]},
            },
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {"name": f"s{i}-x", "namespace": "app", "labels": {"kubernetes.io/service-name": f"s{i}"}},
                "addressType": "IPv4",
                "ports": [{"port": 8080, "protocol": "TCP"}],
                "endpoints": [
                    {"addresses": [first]},
                    {"addresses": [f"10.244.{i // 100}.{2 * (i % 100) + 2}"]},
                ],
            },
        ]
    return text_of(list(yaml.safe_load_all(yaml.safe_dump_all(docs))), CompileOptions())


@pytest.fixture(scope="module")
def one_endpoint_moved() -> tuple[str, str]:
    return _services(300, None), _services(300, 150)


def test_an_endpoint_moved_among_300_services_cuts_only_the_lines_about_it(
    one_endpoint_moved: tuple[str, str],
) -> None:
    """The endpoint map and the hairpin set of 300 Services differ in the lines of one Service: those are
    all the delta cuts into lines, and all it deletes and adds."""
    before, after = one_endpoint_moved
    old, new = read(before), read(after)
    cut: list[int] = []
    lines = LoadedSet.lines

    def counted(self: LoadedSet, start: int, end: int) -> tuple[str, ...]:
        out = lines(self, start, end)
        cut.append(len(out))
        return out

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LoadedSet, "lines", counted)
        moved = between(old, new)
    differing = [n for n, s in new.sets.items() if s.written != old.sets[n].written and n != fingerprint.NAME]
    assert len(differing) >= 2 and all(new.sets[n].count >= 300 for n in differing), differing
    assert 0 < sum(cut) <= 4 * len(differing) + 2, cut  # each side's few lines (and the fingerprints)
    elements = [c for c in moved if c.kind == "element" and c.name != fingerprint.NAME]
    assert {c.name for c in elements} == set(differing)
    assert all("10.244.0.1" not in line for c in elements for line in c.lines)  # no other Service's line
    assert all(any("10.250.0.1" in line for line in c.lines) for c in elements if c.verb == "add")


# --- element lines OLD.nft should not hold -------------------------------------------------------------------------


def reseal(text: str) -> str:
    """`text` with its fingerprint computed again: an edit the fingerprint does not catch."""
    value = read(text, check=False).fingerprint
    placeholder = " . ".join(fingerprint.PLACEHOLDER)
    start = fingerprint.table_start(text, "inet", read(text, check=False).name)
    at = text.index(f"\t\t\t{value},\n", text.index(f"\tset {fingerprint.NAME} {{\n"))
    blank = text[:at] + f"\t\t\t{placeholder},\n" + text[at + len(value) + 5 :]
    return blank.replace(f"\t\t\t{placeholder},\n", f"\t\t\t{' . '.join(fingerprint.digest(blank, start))},\n")


def broken(text: str, block: str) -> tuple[str, int]:
    """`text` with the first element line of `block` (`map NAME`) indented once more, resealed; that line's
    number."""
    at = text.index("\t\telements = {\n", text.index(f"\t{block} {{\n")) + len("\t\telements = {\n")
    return reseal(text[:at] + "\t" + text[at:]), text.count("\n", 0, at) + 1


def test_a_resealed_ruleset_is_one_netcompile_would_write() -> None:
    text = SHOP.compile().text
    assert reseal(text) == text
    edited = reseal(text.replace("policy accept", "policy drop"))
    assert read(edited).fingerprint != read(text).fingerprint  # read checks it: it matches


def test_an_element_line_out_of_place_is_refused_where_the_delta_cuts_it(
    one_endpoint_moved: tuple[str, str],
) -> None:
    before, after = one_endpoint_moved
    forged, number = broken(before, "map service-endpoints-2-v4")
    old = read(forged, "forged.nft")  # the layout of each block's head and a matching fingerprint
    with pytest.raises(NotOurs, match=rf"^forged\.nft:{number}: unexpected element line in service-endpoints-2-v4"):
        between(old, read(after))
    with pytest.raises(NotOurs, match=rf"^forged\.nft:{number}: unexpected element line"):
        _ = old.sets["service-endpoints-2-v4"].elements


def test_compile_since_a_forged_ruleset_exits_2_naming_the_line(tmp_path: Path) -> None:
    _, new, old_nft = two_versions(tmp_path)
    forged, number = broken(old_nft.read_text(), "map service-ips-v4")
    (tmp_path / "forged.nft").write_text(forged)
    out = tmp_path / "d.nft"
    result = runner.invoke(app, ["compile", str(new), *NODE, "--since", str(tmp_path / "forged.nft"), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert f"--since {tmp_path / 'forged.nft'}:{number}: unexpected element line in service-ips-v4" in result.output
    assert "Traceback" not in result.output and not out.exists()


@pytest.mark.parametrize(
    "content, message",
    [(b"", "not a ruleset netcompile wrote"), (b"\xff\xfe\x00", "not UTF-8"), (None, "not a ruleset netcompile wrote")],
    ids=["empty", "binary", "a device"],
)
def test_since_a_file_that_does_not_map_or_decode_is_refused(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    """OLD.nft is decoded from a map of the file; an empty file, or one that does not map (/dev/null), is
    read instead; either way, what is not a ruleset is refused, exit 2."""
    _, new, _ = two_versions(tmp_path)
    since = Path("/dev/null") if content is None else tmp_path / "since.nft"
    if content is not None:
        since.write_bytes(content)
    result = runner.invoke(app, ["compile", str(new), *NODE, "--since", str(since), "-o", str(tmp_path / "d.nft")])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output, result.output
    assert not (tmp_path / "d.nft").exists()
