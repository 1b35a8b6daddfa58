"""The shared layer (loading, defaulting, validation) against the API server's own rules (issue 14.2).

The compiler and the reference evaluator read the same loaded model objects, so a bug in loading is
invisible to their comparison. These tables check that layer against an outside source instead: each row
cites the Kubernetes function whose rule it states (paths under kubernetes/kubernetes), gives a manifest,
and expects either the value the model holds after defaulting, or an error (field path and the gist of
the message). A row with a `note` states a deliberate difference from the API server (docs/semantics.md,
"Loading"). At the end, mutations of the loader show that the tables catch bugs in it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest

from netcompile.errors import InputError
from netcompile.load import endpoints, manifests, parse_common, services, services_plain, validation
from netcompile.load.manifests import load
from netcompile.model import EndpointConditions, NetworkPolicy, PolicyType, Protocol
from tests.api_rule_rows import SERVICE_ROWS, Default, Refused, Row
from tests.api_rule_rows_more import MORE_ROWS
from tests.plain_paths import PATHS, reading

ROWS: list[Row] = [*SERVICE_ROWS, *MORE_ROWS]


def failure(row: Row, directory: Path) -> str | None:
    """What is wrong with netcompile's reading of `row` (None: it follows the rule)."""
    path = directory / "input.yaml"
    path.write_text(row.manifest)
    try:
        objects = load([str(path)])
    except InputError as error:
        messages = [f"{d.path}: {d.message}" for d in error.diagnostics]
        if isinstance(row, Default):
            return f"refused, the API server accepts it: {messages}"
        if any(d.path == row.path and row.gist in d.message for d in error.diagnostics):
            return None
        return f"expected {row.path}: ...{row.gist}..., got {messages}"
    if isinstance(row, Refused):
        return f"accepted, the API server refuses it ({row.path}: {row.gist})"
    try:
        got = row.read(objects)
    except (IndexError, AttributeError) as error:
        return f"accepted, but not as expected: {error!r}"
    return None if got == row.expected else f"expected {row.expected!r}, got {got!r}"


def table_failures(directory: Path) -> list[str]:
    """Every row that fails, read either way (plain, and field by field: tests/plain_paths.py), as
    `source | manifest: what is wrong`."""
    return [problem for path in PATHS for problem in _table_failures(directory / path.replace(" ", "-"), path)]


def _table_failures(directory: Path, path: str) -> list[str]:
    out = []
    directory.mkdir()
    for index, row in enumerate(ROWS):
        where = directory / f"row-{index}"
        where.mkdir()
        with reading(path):
            problem = failure(row, where)
        if problem is not None:
            shown = " ".join(row.manifest.splitlines()[2:])  # without apiVersion and kind
            out.append(f"{row.source} | {shown!r} ({path}): {problem}")
    return out


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("row", ROWS, ids=[f"{r.source.split()[-1]}-{i}" for i, r in enumerate(ROWS)])
def test_the_loader_follows_the_api_server(row: Row, path: str, tmp_path: Path) -> None:
    with reading(path):
        assert failure(row, tmp_path) is None, f"{row.source}: {row.note}"


def test_every_row_cites_a_kubernetes_source() -> None:
    for row in ROWS:
        assert row.source.split()[0].startswith(("pkg/", "staging/", "vendor/k8s.io/")), row.source
        assert len(row.source.split()) >= 2, row.source  # a file and a function


def test_the_tables_cover_each_kind() -> None:
    kinds = {line.removeprefix("kind: ") for row in ROWS for line in row.manifest.splitlines() if line[:5] == "kind:"}
    assert kinds == {"Service", "NetworkPolicy", "EndpointSlice", "Endpoints", "Pod", "Node", "Namespace"}
    assert sum(isinstance(r, Default) for r in ROWS) >= 40 and sum(isinstance(r, Refused) for r in ROWS) >= 80


# --- mutations of the shared layer: the tables must notice each -------------------------------------------


def _port_number_from_zero(value: int) -> str | None:
    """IsValidPortNum off by one: 0 is a port."""
    return None if 0 <= value <= 65535 else "must be between 1 and 65535, inclusive"


def _any_label_value(value: str) -> str | None:
    """matchExpressions values not checked as label values."""
    return None


@contextmanager
def _policy_types_without_egress() -> Iterator[None]:
    """SetDefaults_NetworkPolicy forgetting Egress: a policy with egress rules but no policyTypes isolates
    ingress only."""
    version, parse = manifests.KINDS["NetworkPolicy"]

    def parse_ingress_only(raw: Any, root: Any, opts: Any) -> Any:
        policy = parse(raw, root, opts)
        if not isinstance(policy, NetworkPolicy) or "policyTypes" in raw.body.get("spec", {}):
            return policy
        return replace(policy, policy_types=(PolicyType.INGRESS,), egress=())

    with patch.dict(manifests.KINDS, {"NetworkPolicy": (version, parse_ingress_only)}):
        yield


@contextmanager
def _absent_conditions_not_ready() -> Iterator[None]:
    """An endpoint without conditions read as not ready (the API says nil ready is "true")."""
    not_ready = EndpointConditions(ready=False, serving=False, terminating=False)
    with patch.object(endpoints, "_DEFAULT_CONDITIONS", not_ready):
        yield


@contextmanager
def _protocol_default_udp() -> Iterator[None]:
    """Service ports defaulting to UDP rather than TCP."""
    original = parse_common.protocol_field

    def udp_by_default(f: Any) -> Any:
        if f.value is None:
            f = validation.Field(f.report, "UDP", f.up, f.step, f.parent, f.key)
        return original(f)

    with patch.object(services, "protocol_field", udp_by_default):
        yield


MUTATIONS: dict[str, Callable[[], AbstractContextManager[Any]]] = {
    "defaulting: ClientIP affinity timeout 3 hours -> 1 hour": lambda: patch.object(
        services, "DEFAULT_AFFINITY_TIMEOUT", 3600
    ),
    "defaulting: Service port protocol UDP": _protocol_default_udp,
    "defaulting: Service port protocol UDP (plain path)": lambda: patch.dict(
        parse_common.PLAIN_PROTOCOLS, {None: Protocol.UDP, "": Protocol.UDP}
    ),
    "defaulting: ClientIP affinity timeout 3 hours -> 1 hour (plain path)": lambda: patch.dict(
        services_plain._AFFINITY_TIMEOUTS, {"ClientIP": 3600}
    ),
    "defaulting: policyTypes without Egress": _policy_types_without_egress,
    "defaulting: endpoint without conditions not ready": _absent_conditions_not_ready,
    "validation: port 0 accepted": lambda: patch.object(parse_common, "port_number", _port_number_from_zero),
    "validation: selector values unchecked": lambda: patch.object(parse_common, "label_value", _any_label_value),
    "validation: loopback endpoints accepted": lambda: patch.object(endpoints, "special_ip", lambda addr: None),
    "validation: Service names as DNS-1123 labels": lambda: patch.object(
        services, "dns1035_label", validation.dns1123_label
    ),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_the_tables_catch_shared_layer_bugs(name: str, tmp_path: Path) -> None:
    (tmp_path / "before").mkdir()
    (tmp_path / "mutated").mkdir()
    assert table_failures(tmp_path / "before") == []
    with MUTATIONS[name]():
        failures = table_failures(tmp_path / "mutated")
    assert failures, f"mutation {name!r} went unnoticed by the API rule tables"
    print(f"\n=== mutation: {name}\n" + "\n".join(failures))


def test_the_mutations_are_undone(tmp_path: Path) -> None:
    for name in sorted(MUTATIONS):
        with MUTATIONS[name]():
            pass
    assert table_failures(tmp_path) == []


def test_rows_by_source() -> None:
    """How many rows each Kubernetes file contributes (printed with -s; the report cites it)."""
    counts: dict[str, int] = {}
    for row in ROWS:
        counts[row.source.split()[0]] = counts.get(row.source.split()[0], 0) + 1
    print("\n" + "\n".join(f"{n:4} {source}" for source, n in sorted(counts.items(), key=lambda kv: -kv[1])))
    assert sum(counts.values()) == len(ROWS)
