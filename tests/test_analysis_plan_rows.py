"""`ClassMatrix.plan_rows` (whole rows by `plan_row`: every key made and looked up at once, then the cells
planned one by one and the keys not met before numbered, in column order) plans exactly what `plan`
plans target by target: the same cells, and the same keys numbered in the same order with the same
representative journeys asked, on fresh matrices (so that most keys are met for the first time) of
generated clusters, golden cases and the examples. Nothing is evaluated: planning asks journeys, it
does not make them.
"""

from __future__ import annotations

import os
from pathlib import Path
from tempfile import TemporaryDirectory

import pytest
from hypothesis import HealthCheck, given, settings

from netcompile.analysis import ClassMatrix, Source, matrix_pods
from netcompile.golden import Case, discover
from netcompile.journeys import Network
from netcompile.model import Protocol
from netcompile.pipeline import CompileArgs
from tests.conftest import ROOT
from tests.matrices import externals, network
from tests.strategies import OUTSIDE, Scenario, scenarios

EXAMPLES = {"ci": 120, "dev": 30, "long": 2000}.get(os.environ.get("HYPOTHESIS_PROFILE", "ci"), 120)


def columns(matrix: ClassMatrix, pairs: bool) -> list[tuple[int, int, int, Protocol]]:
    """The table's columns (a pod, another of its class or itself, port, protocol): one per pod and port,
    or (`pairs`) one per class and port, as the table's groups give them."""
    out = []
    for dst in range(len(matrix.pods)):
        cls = matrix.classes[matrix.class_of[dst]]
        if pairs and dst != cls.pods[0]:
            continue
        second = next((d for d in cls.pods if d != dst), dst)
        out += [(dst, second, port, protocol) for port, protocol in matrix.ports(dst)]
    return out


def check(net: Network, outside: list[str], ports: list[tuple[int, Protocol]] | None = None) -> int:
    """Assert that plan_rows plans as plan does, from fresh matrices; the cells planned."""
    pods, _ = matrix_pods(net)
    outsiders = externals(pods, outside)
    planned = 0
    for pairs in (False, True):
        fast = ClassMatrix(net, pods, outsiders, ports)
        slow = ClassMatrix(net, pods, outsiders, ports)
        table = columns(fast, pairs)
        rows = list(fast.plan_rows(fast.sources, table))
        for source, row in zip(slow.sources, rows, strict=True):
            assert row == slow.plan(source, targets(source, table)), source.place.label
            planned += len(row)
        assert fast._asks == slow._asks  # the same keys, numbered alike, with the same representatives
        # a whole row by plan_row, with some targets replaced, is the row planned with those targets
        for source in fast.sources[:3]:
            listed = targets(source, table)
            every = fast.targets(listed, source.place.address.version)
            instead = {c: (second, port, p) for c, (_, second, port, p) in enumerate(table) if c % 3 == 0}
            replaced = [instead.get(c, target) for c, target in enumerate(listed)]
            assert fast.plan_row(source, every, instead) == slow.plan(source, replaced)
    return planned


def targets(source: Source, table: list[tuple[int, int, int, Protocol]]) -> list[tuple[int, int, Protocol]]:
    return [(second if first == source.pod else first, port, p) for first, second, port, p in table]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_packets=1))
def test_plan_rows_plan_as_plan_does(scenario: Scenario) -> None:
    with TemporaryDirectory() as tmp:
        (Path(tmp) / "cluster.yaml").write_text(scenario.yaml)
        net = network([tmp], CompileArgs(node="node-a"), compiled=False)
        check(net, list(OUTSIDE), [(8080, Protocol.TCP), (53, Protocol.UDP), (9100, Protocol.TCP)])
        check(net, list(OUTSIDE))


GOLDEN = list(discover(ROOT / "golden"))


@pytest.mark.parametrize("case", GOLDEN, ids=[c.name for c in GOLDEN])
def test_plan_rows_plan_as_plan_does_on_golden_cases(case: Case) -> None:
    try:
        net = network([str(case.directory)], case.args(), compiled=False)
    except Exception as exc:  # a case that proves an error message: nothing to plan
        pytest.skip(f"not indexed: {type(exc).__name__}")
    check(net, ["203.0.113.200", "100.64.0.1", "2001:db8::200", "10.244.0.9"])


@pytest.mark.parametrize(("folder", "nodes"), [("examples", "1"), ("examples-repo/manifests", "3")])
def test_plan_rows_plan_as_plan_does_on_the_examples(folder: str, nodes: str) -> None:
    net = network([str(ROOT / folder)], CompileArgs(nodes=nodes), compiled=False)
    assert check(net, ["198.51.100.7", "10.0.0.99"]) > 100
