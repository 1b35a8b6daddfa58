"""The proof: for every generated cluster and packet, the compiled ruleset (read back by the
interpreter) does exactly what the reference evaluator says Kubernetes does.

Profiles (HYPOTHESIS_PROFILE): `ci` (default, 300 clusters x up to 12 packets), `dev` (50), `long`
(5 000, on demand: `HYPOTHESIS_PROFILE=long pytest tests/test_properties.py`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import HealthCheck, given, settings

from netcompile.pipeline import compile_paths
from netcompile.verify.interpreter import Ruleset
from netcompile.verify.reference import evaluate
from tests.strategies import Scenario, scenarios

settings.register_profile("ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")


def disagreements(scenario: Scenario, mutate: Callable[[str], str] | None = None) -> list[str]:
    """Packets of `scenario` on which the compiled ruleset (optionally mutated) and the reference differ."""
    with TemporaryDirectory() as tmp:
        (Path(tmp) / "cluster.yaml").write_text(scenario.yaml)
        cluster, output = compile_paths([tmp], scenario.options)
    ruleset = Ruleset.parse(mutate(output.text) if mutate else output.text)
    problems = []
    for packet in scenario.probes:
        expected = evaluate(cluster, packet)
        got = ruleset.evaluate(packet, cluster.node_addresses)
        if not got.agrees_with(expected):
            problems.append(
                f"packet {packet}\n  reference:   {expected.describe()}\n  reasons:     {expected.reasons}\n"
                f"  interpreter: {got.describe()}\n  path:        " + "\n               ".join(got.path)
            )
    return problems


@settings(settings.get_profile(PROFILE))
@given(scenarios())
def test_compiled_ruleset_agrees_with_the_reference(scenario: Scenario) -> None:
    problems = disagreements(scenario)
    assert not problems, "\n".join(problems)
