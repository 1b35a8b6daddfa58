"""`diff` at scale (issue 16): the changes and disagreements found by pairs of group profiles (review/reach.py
`changed_keys`, `disagreements`, tallies.py) are exactly those a comparison of every key's tally finds, on
generated clusters and a change of each, the bench's bare pods, and the diff repository's cases.

Every key's tally (`Version.tallies`) is itself held to the matrix pod by pod in tests/test_diff.py and here."""

from __future__ import annotations

import copy
import os
import sys
from collections import Counter
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netcompile.analysis import ClassMatrix, all_cells, matrix_pods
from netcompile.journeys import Network
from netcompile.pipeline import CompileArgs, compile_nodes, complete, load
from netcompile.review.reach import Version, changed_keys, disagreements, group_of, outside_destinations, version
from netcompile.targets import Workloads
from tests.conftest import ROOT
from tests.strategies import Scenario, scenarios

EXAMPLES = {"ci": 40, "dev": 15, "long": 500}.get(os.environ.get("HYPOTHESIS_PROFILE", "ci"), 40)


def network(folder: Path) -> Network:
    args = CompileArgs(node="node-a") if (folder / "nodes").exists() else CompileArgs()
    opts, parse = args.check()
    completed = complete(load([str(folder)], parse=parse), args.complete_options())
    return Network(compile_nodes(completed, opts), opts)


def versions(old_net: Network, new_net: Network) -> tuple[Version, Version]:
    outside, ports = outside_destinations(old_net, new_net)
    return version(old_net, [], outside, ports), version(new_net, [], outside, ports)


def every_key_compared(old: Version, new: Version) -> set[tuple[Any, ...]]:
    """The changes as a comparison of every key of both versions finds them."""
    both = set(old.pods) & set(new.pods)
    out = set()
    for key in old.tallies.keys() | new.tallies.keys():
        if all(g in both or g.startswith("outside") for g in key[:2]):
            before = old.tallies[key].state if key in old.tallies else "no such port"
            after = new.tallies[key].state if key in new.tallies else "no such port"
            if before != after:
                out.add((key, before, after))
    return out


def every_disagreement(*sides: Version) -> Counter[tuple[Any, ...]]:
    return Counter((key, t.disagree) for side in sides for key, t in side.tallies.items() if t.disagree)


def check(old_net: Network, new_net: Network) -> int:
    old, new = versions(old_net, new_net)
    found = list(changed_keys(old, new))
    assert len(found) == len(set(found))  # each once
    assert set(found) == every_key_compared(old, new)
    assert Counter(disagreements(old, new)) == every_disagreement(old, new)
    return len(found)


def tallies_pod_by_pod(net: Network) -> None:
    """`Version.tallies` (key by key, tallies.py) equals the matrix summed pod pair by pod pair."""
    pods, _ = matrix_pods(net)
    matrix = ClassMatrix(net, pods, [], None)
    groups = [group_of(Workloads(net.objects), pod) for pod in pods]
    pairs: Counter[tuple[object, ...]] = Counter()
    for row, dst, port, protocol, cell in all_cells(matrix):
        if cell.evaluated:
            key = (groups[row], groups[dst], port, protocol)
            pairs[(key, "cells")] += 1
            pairs[(key, "open")] += cell.delivered > 0
            pairs[(key, "disagree")] += not cell.agrees
    expected = {k: (pairs[(k, "cells")], pairs[(k, "open")], pairs[(k, "disagree")]) for k, _ in pairs}
    by_keys = {k: (t.cells, t.open, t.disagree) for k, t in version(net, []).tallies.items()}
    assert by_keys == expected


def changed(scenario: Scenario, how: str, pick: int) -> list[dict[str, Any]]:
    """The scenario's documents with one change: a NetworkPolicy removed, a pod relabelled, or a pod gone."""
    docs = copy.deepcopy(scenario.docs)
    policies = [n for n, d in enumerate(docs) if d.get("kind") == "NetworkPolicy"]
    pods = [n for n, d in enumerate(docs) if d.get("kind") == "Pod"]
    if how == "policy" and policies:
        del docs[policies[pick % len(policies)]]
    elif how == "label" and pods:
        docs[pods[pick % len(pods)]]["metadata"].setdefault("labels", {})["app"] = "other"
    elif how == "pod" and pods:
        del docs[pods[pick % len(pods)]]
    return docs


def write(folder: Path, docs: list[dict[str, Any]]) -> Path:
    folder.mkdir()
    (folder / "cluster.yaml").write_text(yaml.safe_dump_all(docs))
    (folder / "nodes").write_text("")  # compiled for node-a, as the scenarios are
    return folder


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_packets=1), st.sampled_from(["policy", "label", "pod"]), st.integers(0, 50))
def test_changes_by_profiles_are_the_changes_key_by_key(scenario: Scenario, how: str, pick: int) -> None:
    with TemporaryDirectory() as tmp:
        old_net = network(write(Path(tmp) / "old", scenario.docs))
        new_net = network(write(Path(tmp) / "new", changed(scenario, how, pick)))
        check(old_net, new_net)
        tallies_pod_by_pod(new_net)


def test_the_bench_clusters_bare_pods_by_profiles(tmp_path: Path) -> None:
    """Bare pods: each is its own group (200 groups), a policy removed and two pods relabelled."""
    sys.path.insert(0, str(ROOT))
    from bench.policies import manifest

    text = manifest(200, 40)
    docs = text.split("\n---\n")
    first_policy = next(n for n, d in enumerate(docs) if "kind: NetworkPolicy" in d)
    changed_docs = docs[:first_policy] + docs[first_policy + 1 :]
    relabelled = [n for n, d in enumerate(changed_docs) if "kind: Pod" in d][:2]
    for n in relabelled:
        changed_docs[n] = changed_docs[n].replace("app: app-0", "app: app-1", 1).replace("app: app-2", "app: app-1", 1)
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    (tmp_path / "old" / "c.yaml").write_text(text)
    (tmp_path / "new" / "c.yaml").write_text("\n---\n".join(changed_docs))
    old_net, new_net = network(tmp_path / "old"), network(tmp_path / "new")
    assert check(old_net, new_net) > 0
    tallies_pod_by_pod(new_net)


@pytest.mark.parametrize("broken", [False, True])
def test_the_diff_repositorys_cases_by_profiles(tmp_path: Path, broken: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workloads of several pods; and (broken) an interpreter that drops what goes to port 80, so that
    some keys disagree: found by profiles as key by key."""
    from tests.test_diff import CASES, repository

    if broken:
        from netcompile.verify.interpreter import Ruleset
        from netcompile.verify.packet import Outcome, Result, Verdict

        real = Ruleset.evaluate

        def drop_80(self: Ruleset, packet: Any, addresses: Any) -> Outcome:
            return Outcome.certain(Result(Verdict.DROPPED)) if packet.dport == 80 else real(self, packet, addresses)

        monkeypatch.setattr(Ruleset, "evaluate", drop_80)
    total = 0
    for n, (_, changes, _) in enumerate(CASES):
        (tmp_path / str(n)).mkdir()
        old = repository(tmp_path / str(n), "old")
        new = repository(tmp_path / str(n), "new", changes)
        total += check(network(old), network(new))
    assert total > 0
    if broken:
        old_version, _ = versions(network(old), network(new))
        assert any(True for _ in disagreements(old_version))
