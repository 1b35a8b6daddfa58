"""The generated scenarios are valid input: every example loads and compiles (and so tests loading)."""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import HealthCheck, given, settings

from netcompile.compile.compiler import CompileOptions, compile_paths
from tests.strategies import Scenario, scenarios


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_generated_manifests_are_valid_and_compile(scenario: Scenario) -> None:
    with TemporaryDirectory() as tmp:
        (Path(tmp) / "cluster.yaml").write_text(scenario.yaml)
        cluster, output = compile_paths([tmp], CompileOptions(node="node-a"))
    assert cluster.node_name == "node-a"
    assert output.text.startswith("#!/usr/sbin/nft -f")
