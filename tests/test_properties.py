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

from hypothesis import HealthCheck, Phase, find, given, settings

from netcompile.pipeline import compile_paths
from netcompile.verify.interpreter import Ruleset
from netcompile.verify.reference import evaluate
from tests.strategies import INTERFACE_MODES, Scenario, scenarios

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


@settings(settings.get_profile(PROFILE), max_examples=max(20, settings.get_profile(PROFILE).max_examples // 5))
@given(scenarios(modes=INTERFACE_MODES))
def test_the_interface_modes_agree_with_the_reference(scenario: Scenario) -> None:
    """detectLocalMode BridgeInterface and InterfaceNamePrefix (tests/strategies.py: a KubeProxyConfiguration
    names the bridge or the prefix): node-a's pods' packets arrive on their interface, others on none, on
    the uplink, or on near misses of the name."""
    problems = disagreements(scenario)
    assert not problems, "\n".join(problems)


def test_the_property_sees_the_interface_matches() -> None:
    """The proof is not vacuous: turning the compiled `iifname !=` (not from a pod: masquerade) into `==`
    is caught on some scenario of each interface mode."""
    for mode in INTERFACE_MODES:
        found = find(
            scenarios(modes=(mode,)),
            lambda s: bool(disagreements(s, lambda text: text.replace('iifname != "', 'iifname == "'))),
            settings=settings(max_examples=200, deadline=None, database=None, phases=[Phase.generate]),
        )
        assert found.detect_local_mode == mode and not disagreements(found)  # the text as compiled agrees
