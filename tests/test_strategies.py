"""The generated scenarios are valid input: every example loads and compiles (and so tests loading)."""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import HealthCheck, find, given, settings

from netcompile.pipeline import compile_paths
from tests.strategies import Scenario, scenarios


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_generated_manifests_are_valid_and_compile(scenario: Scenario) -> None:
    with TemporaryDirectory() as tmp:
        (Path(tmp) / "cluster.yaml").write_text(scenario.yaml)
        cluster, output = compile_paths([tmp], scenario.options)
    assert cluster.node_name == "node-a"
    assert output.text.startswith("#!/usr/sbin/nft -f")


def test_generated_scenarios_reach_publish_not_ready_addresses() -> None:
    """The property search can meet a Service that publishes a not-ready pod it selects."""

    def publishes_not_ready(scenario: Scenario) -> bool:
        not_ready = [
            d
            for d in scenario.docs
            if d["kind"] == "Pod" and any(c["status"] == "False" for c in d["status"].get("conditions", []))
        ]
        for svc in scenario.docs:
            spec = svc.get("spec", {})
            if svc["kind"] != "Service" or not spec.get("publishNotReadyAddresses"):
                continue
            selector = spec.get("selector", {})
            for pod in not_ready:
                labels = pod["metadata"].get("labels", {})
                if pod["metadata"]["namespace"] == svc["metadata"]["namespace"] and all(
                    labels.get(k) == v for k, v in selector.items()
                ):
                    return True
        return False

    # Raises NoSuchExample when the strategies never generate one.
    find(scenarios(), publishes_not_ready, settings=settings(max_examples=2000, database=None))
