"""The proof catches bugs in the compiler's semantics and in the shared completion step.

tests/test_mutations.py edits the emitted text; here the compiler's own code is changed for the length of
one test (with `unittest.mock.patch`), the way a bug in its semantics would change it: its endpoint-usable
rule, its selector matching, its named-port resolution, its locality. The compiler and the reference
evaluator no longer share that code, so the property search (generated clusters and packets, compiled
ruleset read back by the interpreter, compared with the reference) must find a disagreement and shrink
it (run with `-s` to see it).

A bug in the completion step (EndpointSlices derived from pods) is seen by both evaluators alike, so the
property search cannot see it: what catches it is the table of the EndpointSlice controller's documented
behaviour (tests/test_endpointslices.py), and those mutations are checked against that table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, Phase, find, settings

from netcompile.compile import frontends, index, peers, policies
from netcompile.complete import endpointslices
from netcompile.model import EndpointConditions, IPBlock, Pod, Protocol
from netcompile.model.selectors import LabelSelector
from tests.strategies import Scenario, scenarios
from tests.test_endpointslices import controller_table_failures
from tests.test_properties import disagreements

# --- mutations of the compiler's semantics --------------------------------------------------------------


def _usable_without_fallback(endpoints: Iterable[index.Endpoint]) -> tuple[index.Endpoint, ...]:
    """Forgets the serving-and-terminating fallback: only ready endpoints are ever used."""
    return tuple(e for e in endpoints if e.ready and e.serving)


def _match_labels_only(selector: LabelSelector, labels: Mapping[str, str]) -> bool:
    """Ignores matchExpressions."""
    return all(labels.get(k) == v for k, v in selector.match_labels)


def _named_port_first_of_protocol(pod: Pod, name: str, protocol: Protocol) -> int | None:
    """Resolves a named port to the pod's first container port of the protocol, whatever its name."""
    return next((p.port for p in pod.ports if p.protocol == protocol), None)


def _block_without_excepts(block: IPBlock) -> list[tuple[int, int]]:
    """Forgets an ipBlock's `except`: the whole CIDR."""
    return [(int(block.cidr.network_address), int(block.cidr.broadcast_address))]


def _every_node_is_this_one(self: index.Cluster, node_name: str | None) -> bool:
    """Takes every pod and endpoint for local."""
    return True


@contextmanager
def _both(*patches: AbstractContextManager[Any]) -> Iterator[None]:
    with ExitStack() as stack:
        for one in patches:
            stack.enter_context(one)
        yield


COMPILER_MUTATIONS: dict[str, Callable[[], AbstractContextManager[Any]]] = {
    "compiler: usable endpoints without the terminating fallback": lambda: patch.object(
        frontends, "usable", _usable_without_fallback
    ),
    "compiler: selectors ignore matchExpressions": lambda: _both(
        patch.object(policies, "selector_matches", _match_labels_only),
        patch.object(peers, "selector_matches", _match_labels_only),  # who peers pick (compile/peers.py)
    ),
    "compiler: named ports ignore the name": lambda: patch.object(
        policies, "named_port", _named_port_first_of_protocol
    ),
    "compiler: every endpoint is local": lambda: patch.object(index.Cluster, "is_local", _every_node_is_this_one),
    "compiler: ipBlock excepts ignored": lambda: patch.object(peers, "block_intervals", _block_without_excepts),
}


@pytest.mark.parametrize("name", sorted(COMPILER_MUTATIONS))
def test_the_property_search_catches_compiler_semantics(name: str) -> None:
    with COMPILER_MUTATIONS[name]():
        found = find(
            scenarios(),
            lambda s: bool(disagreements(s)),
            settings=settings(
                max_examples=3000,
                derandomize=True,  # the same search every run: CI cannot flake
                deadline=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.generate, Phase.shrink],
                database=None,
            ),
        )
        assert isinstance(found, Scenario)
        print(f"\n=== mutation: {name}\n--- shrunk counterexample:{found!r}--- disagreement:")
        print("\n".join(disagreements(found)))


def test_the_mutations_are_undone() -> None:
    """Nothing above leaks: unmutated, the compiler and the reference agree on a generated cluster."""
    example = find(scenarios(), lambda s: bool(s.probes), settings=settings(database=None, derandomize=True))
    assert disagreements(example) == []


# --- mutations of the shared completion step ---------------------------------------------------------------


def _ready_while_terminating(ready: bool, serving: bool, terminating: bool) -> EndpointConditions:
    """Marks a terminating pod ready when it is Ready (ignoring deletionTimestamp)."""
    return EndpointConditions(ready=ready or (serving and terminating), serving=serving, terminating=terminating)


@contextmanager
def _skip_terminating_pods() -> Iterator[None]:
    """The bug this step fixed: terminating pods left out of the slices."""
    original = endpointslices.service_slices

    def without(service: Any, pods: list[Pod], nodes: Any) -> Any:
        return original(service, [p for p in pods if not p.terminating], nodes)

    with patch.object(endpointslices, "service_slices", without):
        yield


def _resolve_without_protocol(pod: Pod, target: int | str, protocol: str) -> int | None:
    """FindPort without the protocol check."""
    if isinstance(target, int):
        return target
    return next((p.port for p in pod.ports if p.name == target), None)


@contextmanager
def _ignore_publish_not_ready() -> Iterator[None]:
    original = endpointslices.service_slices

    def ignoring(service: Any, pods: list[Pod], nodes: Any) -> Any:
        return original(replace(service, publish_not_ready_addresses=False), pods, nodes)

    with patch.object(endpointslices, "service_slices", ignoring):
        yield


COMPLETION_MUTATIONS: dict[str, Callable[[], AbstractContextManager[Any]]] = {
    "completion: ready while terminating": lambda: patch.object(
        endpointslices, "EndpointConditions", _ready_while_terminating
    ),
    "completion: terminating pods left out": _skip_terminating_pods,
    "completion: named ports without the protocol": lambda: patch.object(
        endpointslices, "_resolve", _resolve_without_protocol
    ),
    "completion: publishNotReadyAddresses ignored": _ignore_publish_not_ready,
}


@pytest.mark.parametrize("name", sorted(COMPLETION_MUTATIONS))
def test_the_controller_table_catches_completion_bugs(name: str, tmp_path: Path) -> None:
    assert controller_table_failures(tmp_path) == []
    with COMPLETION_MUTATIONS[name]():
        failures = controller_table_failures(tmp_path)
    assert failures, f"mutation {name!r} went unnoticed by the controller table"
    print(f"\n=== mutation: {name}\n" + "\n".join(failures))
