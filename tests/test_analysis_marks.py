"""The text table's marks made from the cells' keys (`ClassMatrix.marks`, `Table.rows_of_marks`) are the marks
of the cells themselves (`ClassMatrix.cells(..., exact=False)`, `Table.rows_of_cells`), with the same
disagreements counted, on generated clusters (their rulesets whole, and broken so that the evaluators
disagree), on a golden case and on the examples, by classes and pod by pod.
"""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory

import pytest
from hypothesis import HealthCheck, given, settings

from netcompile.analysis import ClassMatrix, matrix_pods
from netcompile.cli.matrix import Table
from netcompile.cli.matrix_groups import groups
from netcompile.journeys import Network
from netcompile.model import Protocol
from netcompile.pipeline import CompileArgs
from netcompile.targets import Workloads
from tests.conftest import ROOT
from tests.matrices import externals, network
from tests.strategies import OUTSIDE, Scenario, scenarios


def broken(net: Network, text: str) -> Network:
    """Every node's ruleset without the lines holding `text` (so that the evaluators disagree)."""
    for view in net.views.values():
        output = view.compiled.output
        output.text = "".join(line for line in output.text.splitlines(keepends=True) if text not in line)
        view.__dict__.pop("ruleset", None)
    return net


def check(net: Network, outside: list[str], ports: list[tuple[int, Protocol]] | None = None) -> int:
    """Assert that the marks equal the cells' marks; the marks compared."""
    pods, _ = matrix_pods(net)
    outsiders = externals(pods, outside)
    compared = 0
    for by_pod in (False, True):
        matrix = ClassMatrix(net, pods, outsiders, ports)
        shown = groups(matrix, Workloads(net.objects).label, by_pod=by_pod)[0]
        by_marks, by_cells = Table(matrix, shown, cells=False), Table(matrix, shown, cells=False)
        marks = list(by_marks.rows_of_marks())
        cells = [(r, [cell.mark for cell in row]) for r, row in by_cells.rows_of_cells(exact=False)]
        assert marks == cells
        assert by_marks.disagreements == by_cells.disagreements
        compared += sum(len(row) for _, row in marks)
        targets = [(dst, port, protocol) for dst in range(len(pods)) for port, protocol in matrix.ports(dst)]
        for source in matrix.sources:
            planned = matrix.plan(source, targets)
            assert matrix.marks(planned) == [c.mark for c in matrix.cells(source, targets, planned, exact=False)]
    return compared


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_packets=1))
def test_marks_are_the_cells_marks(scenario: Scenario) -> None:
    with TemporaryDirectory() as tmp:
        (Path(tmp) / "cluster.yaml").write_text(scenario.yaml)
        net = network([tmp], CompileArgs(node="node-a"))
        check(net, list(OUTSIDE), [(8080, Protocol.TCP), (53, Protocol.UDP)])
        check(broken(net, " ingress[0]"), list(OUTSIDE))


@pytest.mark.parametrize("folder", ["examples", "golden/policy-named-ports"])
def test_marks_are_the_cells_marks_on_inputs(folder: str) -> None:
    net = network([str(ROOT / folder)], CompileArgs())
    assert check(net, ["198.51.100.7"]) > 20
    assert check(broken(net, " ingress[0]"), ["198.51.100.7"]) > 20
