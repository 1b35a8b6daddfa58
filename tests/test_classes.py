"""Issue 16: the matrix by equivalence classes equals the matrix cell by cell, exactly (every cell's mark,
both evaluators' distributions, masquerade), on generated clusters, every golden case and the examples.

Profiles (HYPOTHESIS_PROFILE) as tests/test_properties.py: `ci` (default) 120 clusters, `dev` 30,
`long` 2 000.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from netcompile.analysis import ClassMatrix, all_cells, block_cells, matrix_pods
from netcompile.golden import discover
from netcompile.journeys import Network
from netcompile.model import Protocol
from netcompile.pipeline import CompileArgs
from tests.conftest import ROOT
from tests.matrices import externals, network
from tests.strategies import OUTSIDE, Scenario, scenarios

settings.register_profile("ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EXAMPLES = {"ci": 120, "dev": 30, "long": 2000}.get(os.environ.get("HYPOTHESIS_PROFILE", "ci"), 120)


def compare(net: Network, outside: list[str], ports: list[tuple[int, Protocol]] | None = None) -> tuple[int, int]:
    """Assert that every cell by classes equals the cell by its own journey; (cells, journeys by classes)."""
    pods, _ = matrix_pods(net)
    outsiders = externals(pods, outside)
    by_classes = ClassMatrix(net, pods, outsiders, ports)
    by_cells = ClassMatrix(net, pods, outsiders, ports)
    cells = 0
    disagreements = 0
    for (r, dst, port, protocol, cell), (*_, expected) in zip(
        all_cells(by_classes), all_cells(by_cells, by_classes=False), strict=True
    ):
        where = f"{by_classes.sources[r].place.label} -> {pods[dst].meta.key}:{port}/{protocol.value}"
        assert cell == expected, f"{where}: by classes {cell}, cell by cell {expected}"
        cells += 1
        disagreements += expected.evaluated and not expected.agrees
    survey = by_classes.survey()
    assert (survey.cells, survey.disagreements) == (cells, disagreements)
    # rows planned by source role (plan_rows, the table's way) are planned as row by row
    columns = [
        (
            dst,
            next((d for d in range(len(pods)) if d != dst and by_classes.class_of[d] == by_classes.class_of[dst]), dst),
            port,
            protocol,
        )
        for dst in range(len(pods))
        for port, protocol in by_classes.ports(dst)
    ]
    one_by_one = [
        by_classes.plan(
            source, [(second if first == source.pod else first, port, p) for first, second, port, p in columns]
        )
        for source in by_classes.sources
    ]
    assert list(by_classes.plan_rows(by_classes.sources, columns)) == one_by_one
    # the same with the interpreter's side in a helper process (journeys in batches: forked.py)
    net.start_helper(always=True)
    try:
        helped = ClassMatrix(net, pods, outsiders, ports)
        assert list(all_cells(helped)) == list(all_cells(by_classes))
        assert helped.survey() == survey
    finally:
        net.stop_helper()
    for split in (lambda pod: None, lambda pod: pods[pod].meta.namespace, lambda pod: pods[pod].meta.name):
        assert blocks_summed(by_classes, split, all_cells(by_classes)) == blocks_summed(
            by_classes, split, block_cells(by_classes, split)
        )
    return cells, survey.journeys


def blocks_summed(
    matrix: ClassMatrix, split: Callable[[int], Hashable], cells: Iterable[tuple[Any, ...]]
) -> Counter[Any]:
    """Cells counted by (source's split or outside row, destination's split, port, protocol, mark): what a
    caller of `block_cells` sums (review/reach.py by workload). `cells` as `all_cells` gives them, or with
    a count of pairs after the destination (as `block_cells`)."""
    out: Counter[Any] = Counter()
    for cell in cells:
        if len(cell) == 5:
            r, dst, port, protocol, found = cell
            count = 1
        else:
            r, dst, count, port, protocol, found = cell
        source = matrix.sources[r]
        src = ("outside", r) if source.pod is None else ("pod", split(source.pod))
        out[(src, split(dst), port, protocol, found.mark)] += count
    return out


def without(net: Network, text: str) -> Network:
    """The same network, every node's ruleset without the lines holding `text` (a compiler bug to find)."""
    for view in net.views.values():
        output = view.compiled.output
        output.text = "".join(line for line in output.text.splitlines(keepends=True) if text not in line)
        view.__dict__.pop("ruleset", None)  # parsed again from the text
    return net


@settings(settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci")), max_examples=EXAMPLES)
@given(scenarios(max_packets=1))
def test_classes_give_the_matrix_cell_by_cell(scenario: Scenario) -> None:
    with TemporaryDirectory() as tmp:
        (Path(tmp) / "cluster.yaml").write_text(scenario.yaml)
        net = network([tmp], CompileArgs(node="node-a"))
        compare(net, list(OUTSIDE), [(8080, Protocol.TCP), (53, Protocol.UDP), (9100, Protocol.TCP)])
        compare(net, list(OUTSIDE))
        # a broken ruleset: the classes report its disagreements exactly where the cells do
        compare(without(net, " ingress[0]"), list(OUTSIDE))


def test_classes_find_every_disagreement_of_a_broken_ruleset() -> None:
    net = without(network([str(ROOT / "examples")], CompileArgs()), " ingress[0]")
    pods, _ = matrix_pods(net)
    assert ClassMatrix(net, pods, [], None).survey().disagreements > 0
    compare(net, ["198.51.100.7"])


GOLDEN = [c for c in discover(ROOT / "golden")]


@pytest.mark.parametrize("case", GOLDEN, ids=[c.name for c in GOLDEN])
def test_classes_give_the_matrix_cell_by_cell_on_golden_cases(case: object) -> None:
    from netcompile.golden import Case

    assert isinstance(case, Case)
    try:
        net = network([str(case.directory)], case.args())
    except Exception as exc:  # a case that proves an error message: no matrix to compare
        pytest.skip(f"not compiled: {type(exc).__name__}")
    compare(net, ["203.0.113.200", "100.64.0.1", "2001:db8::200"])


@pytest.mark.parametrize(
    ("folder", "nodes"),
    [("examples", "1"), ("examples-repo/manifests", "1"), ("examples-repo/manifests", "3"),
     ("examples-repo/helm-template.yaml", "1")],
)  # fmt: skip
def test_classes_give_the_matrix_cell_by_cell_on_the_examples(folder: str, nodes: str) -> None:
    """Also on three simulated nodes: journeys across nodes, pods of one workload on different nodes."""
    net = network([str(ROOT / folder)], CompileArgs(nodes=nodes))
    cells, journeys = compare(net, ["198.51.100.7", "10.0.0.99"])
    assert journeys < cells


SPECIAL = """\
apiVersion: v1
kind: Node
metadata: {name: node-a}
spec: {podCIDR: 10.244.0.0/24}
status: {addresses: [{type: InternalIP, address: 10.244.0.9}]}
---
apiVersion: v1
kind: Pod
metadata: {name: a1, namespace: default, labels: {app: a}}
spec: {nodeName: node-a, containers: [{name: c, ports: [{containerPort: 80}]}]}
status: {phase: Running, podIP: 10.244.0.5}
---
apiVersion: v1
kind: Pod
metadata: {name: a2, namespace: default, labels: {app: a}}
spec: {nodeName: node-a, containers: [{name: c, ports: [{containerPort: 80}]}]}
status: {phase: Running, podIP: 10.244.0.5}
---
apiVersion: v1
kind: Pod
metadata: {name: b1, namespace: default, labels: {app: b}}
spec: {nodeName: node-a, containers: [{name: c, ports: [{containerPort: 80}]}]}
status: {phase: Running, podIP: 10.244.0.6}
---
apiVersion: v1
kind: Pod
metadata: {name: b2, namespace: default, labels: {app: b}}
spec: {nodeName: node-a, containers: [{name: c, ports: [{containerPort: 80}]}]}
status: {phase: Running, podIP: 10.244.0.7}
---
apiVersion: v1
kind: Pod
metadata: {name: n1, namespace: default, labels: {app: n}}
spec: {nodeName: node-a, containers: [{name: c, ports: [{containerPort: 80}]}]}
status: {phase: Running, podIP: 10.244.0.9}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: default}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress: [{from: [{podSelector: {matchLabels: {app: a}}}]}]
"""


def test_pods_at_special_addresses_are_walked_pair_by_pair(tmp_path: Path) -> None:
    """Two running pods sharing an address, and a pod at its node's address: their cells are keyed alone,
    and `block_cells` walks them pair by pair, as both sources and destinations."""
    (tmp_path / "cluster.yaml").write_text(SPECIAL)
    net = network([str(tmp_path)], CompileArgs())
    pods, _ = matrix_pods(net)
    matrix = ClassMatrix(net, pods, [], None)
    assert sorted(pods[i].meta.name for i, alone in enumerate(matrix.keys.special) if alone) == ["a1", "a2", "n1"]
    compare(net, ["198.51.100.7", "10.244.0.6"])  # the second outside client at a pod's address


def test_the_bench_cluster_has_one_class_per_namespace_app_and_http_port() -> None:
    sys.path.insert(0, str(ROOT))
    from bench.policies import manifest

    with TemporaryDirectory() as tmp:
        (Path(tmp) / "c.yaml").write_text(manifest(200, 40))
        net = network([tmp], CompileArgs())
    pods, _ = matrix_pods(net)
    matrix = ClassMatrix(net, pods, [], None)
    # 20 namespaces x 1 app x 2 resolutions of the named port http (8080, 9090), and coredns
    assert len(matrix.classes) == 41
    survey = matrix.survey()
    assert survey.disagreements == 0 and survey.journeys < 200 < survey.cells


def test_analysis_never_imports_the_compiler() -> None:
    """The classes share no semantic code with compile/ (they reach the rulesets only through journeys)."""
    for path in (ROOT / "netcompile" / "analysis").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith(("compile", "netcompile.compile")), path
                assert not (node.level and (node.module or "").split(".")[0] in ("compile", "nft", "load")), path


def test_the_classes_load_without_the_compiler() -> None:
    """The reference's half of the engine (atoms, classes, cells), as lint uses it, loads neither the compiler
    nor the journeys (which need it): checked in a fresh interpreter, where nothing else loaded them."""
    code = (
        "import sys, netcompile.analysis.cells, netcompile.lint; "
        "print(sorted(m for m in sys.modules if m.startswith(('netcompile.compile', 'netcompile.nft', "
        "'netcompile.journeys', 'netcompile.pipeline', 'netcompile.analysis.matrix'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]", done.stdout
