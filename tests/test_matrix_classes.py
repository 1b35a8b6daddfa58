"""`netcompile matrix` by classes (issue 16): rows of classes, --pods and --cells pod by pod, --from/--to,
JSON and Markdown streamed, errors with exit 2."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest import MonkeyPatch
from typer.testing import CliRunner

from netcompile.cli import app
from tests.conftest import ROOT

runner = CliRunner()
EXAMPLES = str(ROOT / "examples")


def matrix(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["matrix", *args])
    return result.exit_code, result.stdout, result.stderr


def rows(text: str) -> list[str]:
    return [line.split("  ")[0] for line in text.splitlines()[1:] if line and not line.startswith(" ")][:-1]


def test_classes_are_rows_and_pods_are_there_with_pods() -> None:
    code, out, _ = matrix(EXAMPLES)
    assert code == 0
    assert "2 pods of shop/app=frontend" in rows(out)  # two bare pods nothing tells apart
    assert " 11 = 2 pods of shop/app=frontend:8080/tcp" in out
    code, pods, _ = matrix(EXAMPLES, "--pods")
    assert code == 0
    assert {"shop/frontend-1", "shop/frontend-2"} <= set(rows(pods))


def test_every_cell_of_a_pod_is_the_cell_of_its_class() -> None:
    doc = json.loads(matrix(EXAMPLES, "--format", "json", "--external", "198.51.100.7")[1])
    by_pod = json.loads(matrix(EXAMPLES, "--pods", "--format", "json", "--external", "198.51.100.7")[1])
    row_of = {pod: r["label"] for r in doc["rows"] for pod in r["pods"]}
    named = {r["label"]: (f"pod {r['pods'][0]}" if len(r["pods"]) == 1 else r["label"]) for r in doc["rows"]}
    shown = {(c["from"], c["to"]): (c["delivered"], c["agree"], c["reference"]) for c in doc["cells"]}
    assert len(by_pod["cells"]) > len(doc["cells"])
    for cell in by_pod["cells"]:
        source = cell["from"]
        if source.startswith("pod "):
            source = named[row_of[source[4:]]]
        pod, _, port = cell["to"].rpartition(":")
        delivered, agree, reference = shown[(source, f"{row_of[pod]}:{port}")]
        assert (cell["delivered"], cell["agree"]) == (delivered, agree)
        assert [r["verdict"] for r in cell["reference"]] == [r["verdict"] for r in reference]


def test_cells_gives_what_the_classes_give_pod_by_pod() -> None:
    code, classes, _ = matrix(EXAMPLES, "--pods", "--format", "json", "--external", "198.51.100.7")
    assert code == 0
    code, cells, _ = matrix(EXAMPLES, "--cells", "--format", "json", "--external", "198.51.100.7")
    assert code == 0
    a, b = json.loads(classes), json.loads(cells)
    assert a["cells"] == b["cells"] and a["disagreements"] == b["disagreements"] == 0
    assert a["journeys"] < len(a["cells"])  # one journey per key, not per cell


def test_json_names_rows_and_counts_classes() -> None:
    code, out, _ = matrix(EXAMPLES, "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["classes"] == 8
    frontend = next(r for r in doc["rows"] if r["label"] == "2 pods of shop/app=frontend")
    assert frontend["pods"] == ["shop/frontend-1", "shop/frontend-2"]
    # a row of one pod is named as trace names it
    assert any(c["from"] == "pod default/debug" for c in doc["cells"])
    assert any(c["from"] == "2 pods of shop/app=frontend" for c in doc["cells"])


def test_from_and_to_keep_a_row_and_a_column() -> None:
    code, out, _ = matrix(EXAMPLES, "--from", "shop/frontend-2", "--to", "shop/api-1", "--format", "markdown")
    assert code == 0, out
    assert out.splitlines() == [
        "| from \\ to | `shop/api-1:9000/tcp` | `shop/api-1:9100/tcp` |",
        "|---|---|---|",
        "| `2 pods of shop/app=frontend` | ok | -- |",
    ]
    code, out, _ = matrix(EXAMPLES, "--from", "198.51.100.7", "--to", "shop/db-0", "--format", "markdown")
    assert code == 0
    assert out.splitlines()[-1] == "| `external 198.51.100.7` | -- |"


def test_from_and_to_refuse_what_is_no_row(tmp_path: Path) -> None:
    code, _, err = matrix(EXAMPLES, "--from", "shop/api")
    assert code == 2 and "--from shop/api: rows and columns of the matrix are pods and outside clients" in err
    code, _, err = matrix(EXAMPLES, "--to", "nope/x")
    assert code == 2 and "--to nope/x: no pod or Service of that name" in err
    assert "Traceback" not in err


def test_markdown_and_json_stream_to_a_file_as_to_stdout(tmp_path: Path) -> None:
    for form in ("markdown", "json", "text"):
        code, out, _ = matrix(EXAMPLES, "--format", form)
        target = tmp_path / "deep" / f"m.{form}"
        code2, _, _ = matrix(EXAMPLES, "--format", form, "-o", str(target))
        assert code == code2 == 0
        assert target.read_text() == out
    assert not [p for p in (tmp_path / "deep").iterdir() if p.name.startswith(".")]  # no temporary left


def test_the_bench_cluster_reads_as_classes(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from bench.policies import manifest

    (tmp_path / "c.yaml").write_text(manifest(200, 40))
    code, out, _ = matrix(str(tmp_path))
    assert code == 0
    shown = rows(out)
    assert len(shown) == 41  # 20 namespaces x 2 resolutions of the named port http, and coredns
    assert "kube-system/coredns" in shown
    assert any(r.endswith("pods of ns-00/app=app-0,tier=web (http=9090,metrics=9100)") for r in shown)


WORDS = ["", "/", "shop/", "a/b/c/d", "1.2.3.4", "::1", "2001:db8::1", "node:node-a", "node:", "shop/deploy/x",
         "shop/api", "shop/api-1", "default/debug", "10.244.0.99", "10.244.0.21", "shop/statefulset/db", "x" * 300,
         "shop/svc/api", "debug", "kube-system/dns-0", "-", "--pods", "\u00e9/\u00e9"]  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(WORDS), st.sampled_from(WORDS), st.booleans())
def test_from_and_to_never_give_a_traceback(source: str, dest: str, pods: bool) -> None:
    args = [EXAMPLES, "--from", source, "--to", dest, *(["--pods"] if pods else [])]
    result = runner.invoke(app, ["matrix", *args])
    assert result.exit_code in (0, 2), (args, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
    if result.exit_code == 2:
        assert result.stderr.splitlines()[-1].startswith("netcompile: "), result.stderr


def test_a_workload_on_several_nodes_is_one_row_when_its_parts_answer_alike() -> None:
    """frontend's two pods are on two nodes (two classes: the node tells them apart), yet every cell says
    the same of both: one row, as before classes; --pods keeps them apart, and the JSON says alike."""
    repo = str(ROOT / "examples-repo" / "manifests")
    code, out, err = matrix(repo, "--nodes", "3")
    assert code == 0, err
    assert "shop/deployment/frontend (2 pods)" in rows(out)
    assert "pod by pod" not in err
    doc = json.loads(matrix(repo, "--nodes", "3", "--format", "json")[1])
    assert doc["classes"] > len(doc["rows"])  # classes joined by workload
    alike = {w["workload"]: w["alike"] for w in doc["workloads"]}
    assert alike["shop/deployment/frontend"] is True


def test_ports_no_input_names_are_one_atom() -> None:
    """50 ports between the input's port numbers cost the journeys of one (and answer alike)."""
    one = json.loads(matrix(EXAMPLES, "--ports", "20000", "--format", "json")[1])
    many = json.loads(matrix(EXAMPLES, "--ports", ",".join(str(p) for p in range(20000, 20050)), "--format", "json")[1])
    assert many["journeys"] == one["journeys"]
    assert len(many["cells"]) == 50 * len(one["cells"])
    assert {c["delivered"] for c in many["cells"]} == {c["delivered"] for c in one["cells"]}


def test_the_same_matrix_with_a_helper_process_and_on_one_cpu(tmp_path: Path, monkeypatch: MonkeyPatch) -> None:
    """With two CPUs the interpreter's side runs in a forked helper (journeys.py, forked.py); with one it
    runs in process. Every format gives the same bytes and exit code both ways, for the bench cluster and
    for the examples with a broken ruleset (its disagreements found by the helper)."""
    import netcompile.journeys

    sys.path.insert(0, str(ROOT))
    from bench.policies import manifest

    (tmp_path / "c.yaml").write_text(manifest(200, 40))
    forks: list[int] = []
    real_fork = os.fork

    def counted_fork() -> int:
        forks.append(1)
        return real_fork()

    monkeypatch.setattr(os, "fork", counted_fork)
    monkeypatch.setattr(netcompile.journeys, "cpus", lambda: 2)
    runs = [(str(tmp_path), form) for form in ("text", "markdown", "json")] + [(EXAMPLES, "json")]
    helped = [matrix(folder, "--format", form, "--external", "198.51.100.7") for folder, form in runs]
    assert len(forks) == len(runs)
    with monkeypatch.context() as m:
        m.setattr(netcompile.journeys, "cpus", lambda: 1)
        alone = [matrix(folder, "--format", form, "--external", "198.51.100.7") for folder, form in runs]
    assert len(forks) == len(runs)  # none more
    assert [(code, out) for code, out, _ in helped] == [(code, out) for code, out, _ in alone]
    assert all(code == 0 for code, _, _ in helped)

    # a broken ruleset: the helper parses it and finds its disagreements (exit 1), as in process; the text
    # table, laid out while the helper finishes (with the reference's answers), is laid out again
    from netcompile.verify.interpreter import Ruleset

    class Broken(Ruleset):
        @classmethod
        def parse(cls, text: str) -> Any:
            return Ruleset.parse("".join(x for x in text.splitlines(keepends=True) if " ingress[0]" not in x))

    monkeypatch.setattr("netcompile.verify.interpreter.Ruleset", Broken)
    forms = ("text", "markdown", "json")
    broken_helped = [matrix(EXAMPLES, "--format", form) for form in forms]
    monkeypatch.setattr(netcompile.journeys, "cpus", lambda: 1)
    broken_alone = [matrix(EXAMPLES, "--format", form) for form in forms]
    assert broken_helped == broken_alone
    assert all(code == 1 for code, _, _ in broken_helped)
    assert json.loads(broken_helped[2][1])["disagreements"] > 0
    assert "!" in broken_helped[0][1] and "cells where the compiled ruleset disagrees" in broken_helped[0][2]


def test_a_table_of_many_chunks_with_a_helper_is_the_table_on_one_cpu(monkeypatch: MonkeyPatch) -> None:
    """The text table is laid out chunk by chunk with the reference's answers while the helper makes the
    compiled side (settle(later=True)): each chunk's compiled side is taken before the next chunk's asks,
    and a disagreement found in any of them lays the table out again. With chunks of a few cells and a
    broken ruleset, the bytes, the exit code and the count of disagreements are the ones made on one CPU."""
    import netcompile.cli.matrix
    import netcompile.journeys
    from netcompile.verify.interpreter import Ruleset

    class Broken(Ruleset):
        @classmethod
        def parse(cls, text: str) -> Any:
            return Ruleset.parse("".join(x for x in text.splitlines(keepends=True) if " ingress[0]" not in x))

    monkeypatch.setattr("netcompile.verify.interpreter.Ruleset", Broken)
    monkeypatch.setattr(netcompile.cli.matrix, "CHUNK", 8)  # a row or two per batch of journeys
    monkeypatch.setattr(netcompile.journeys, "cpus", lambda: 2)
    batches: list[int] = []
    journeys = netcompile.journeys.Network.journeys

    def counted(self: netcompile.journeys.Network, asks: Any, *, later: bool = False) -> Any:
        batches.append(later and self._helper is not None)
        return journeys(self, asks, later=later)

    monkeypatch.setattr(netcompile.journeys.Network, "journeys", counted)
    helped = [matrix(EXAMPLES, *extra) for extra in ((), ("--pods",))]
    assert sum(batches) > 4  # batches whose compiled side the helper gave later
    monkeypatch.setattr(netcompile.journeys, "cpus", lambda: 1)
    alone = [matrix(EXAMPLES, *extra) for extra in ((), ("--pods",))]
    assert helped == alone
    for code, out, err in helped:
        assert code == 1 and "!" in out and "cells where the compiled ruleset disagrees" in err
