"""`compile --all-nodes -o DIR/` (netcompile/cli/all_nodes.py): one ruleset per node, each the one `compile
--node NAME` writes, written together or not at all; a node's ruleset holds its own pods' policy chains
only, so it does not grow with the number of nodes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcompile import pipeline
from netcompile.cli import all_nodes, app
from netcompile.nft import fingerprint
from netcompile.nft.reader import read
from netcompile.pipeline import ClusterError, CompileOptions, complete, load
from tests.conftest import ROOT

runner = CliRunner()


def cluster(nodes: int) -> str:
    """`nodes` Nodes; on each, 4 pods in a namespace of their own, isolated by a policy of that namespace
    (ingress from the namespace's pods on port 80, egress to them), and one Service of theirs."""
    out = []
    for i in range(nodes):
        out.append(
            f"apiVersion: v1\nkind: Node\nmetadata: {{name: node-{i}}}\nspec: {{podCIDR: 10.244.{i}.0/24}}\n"
            f"status: {{addresses: [{{type: InternalIP, address: 192.168.0.{i + 1}}}]}}\n---\n"
        )
        for p in range(4):
            out.append(
                f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p-{p}, namespace: ns-{i}, labels: {{app: a{p % 2}}}}}\n"
                f"spec: {{nodeName: node-{i}, containers: [{{name: c, image: x, ports: [{{containerPort: 80}}]}}]}}\n"
                f"status: {{phase: Running, podIP: 10.244.{i}.{p + 10}, conditions: [{{type: Ready, status: 'True'}}]}}"
                "\n---\n"
            )
        out.append(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
            f"metadata: {{name: own, namespace: ns-{i}}}\n"
            "spec:\n  podSelector: {matchLabels: {app: a0}}\n  policyTypes: [Ingress, Egress]\n"
            "  ingress:\n  - from: [{podSelector: {}}]\n    ports: [{port: 80}]\n"
            "  egress:\n  - to: [{podSelector: {}}]\n---\n"
        )
    return "".join(out)


def write(tmp_path: Path, text: str, name: str = "cluster.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_each_file_is_the_ruleset_compile_node_writes(tmp_path: Path) -> None:
    path = write(tmp_path, cluster(3))
    result = runner.invoke(app, ["compile", str(path), "--all-nodes", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["node-0.nft", "node-1.nft", "node-2.nft"]
    for node in ("node-0", "node-1", "node-2"):
        alone = runner.invoke(app, ["compile", str(path), "--node", node, "-o", str(tmp_path / f"{node}.nft")])
        assert alone.exit_code == 0, alone.output
        assert (tmp_path / "out" / f"{node}.nft").read_text() == (tmp_path / f"{node}.nft").read_text()


def test_a_simulated_cluster_gets_a_ruleset_per_simulated_node(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 4\n"
        "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
        "    spec: {containers: [{name: c, image: x}]}\n---\n"
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n",
    )
    result = runner.invoke(app, ["compile", str(path), "--nodes", "3", "--all-nodes", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "out").iterdir())
    assert len(files) == 3
    for file in files:
        alone = runner.invoke(app, ["compile", str(path), "--nodes", "3", "--node", file.stem])
        assert alone.exit_code == 0 and alone.stdout == file.read_text()


def test_two_workers_write_what_one_writes(tmp_path: Path) -> None:
    completed = complete(load([str(write(tmp_path, cluster(5)))]))
    one = all_nodes.compile_all(completed, CompileOptions(), tmp_path / "one", workers=1)
    two = all_nodes.compile_all(completed, CompileOptions(), tmp_path / "two", workers=2)
    assert [r.node for r in one] == [r.node for r in two] == [f"node-{i}" for i in range(5)]
    for a, b in zip(one, two, strict=True):
        assert a.path.read_text() == b.path.read_text() and a.bytes == b.bytes
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(r.path.name for r in two)  # no leftovers


def test_workers_take_every_node_once_from_the_queue(tmp_path: Path) -> None:
    """More workers than fit evenly: each node is compiled by exactly one of them, whatever their speed."""
    completed = complete(load([str(write(tmp_path, cluster(7)))]))
    three = all_nodes.compile_all(completed, CompileOptions(), tmp_path / "three", workers=3)
    assert [r.node for r in three] == [f"node-{i}" for i in range(7)]
    for result in three:
        alone = pipeline.compile_node(completed, CompileOptions(node=result.node)).output.text
        assert result.path.read_text() == alone


def test_the_node_independent_part_is_resolved_once() -> None:
    """Every node's Cluster of the same objects shares the indexes and the endpoints resolved
    (`index.Shared`): the second node resolves nothing again."""
    from netcompile.compile.index import Cluster

    completed = complete(load([str(ROOT / "golden" / "basic-node-selection")]))
    pipeline.share_across_nodes(completed, CompileOptions())
    names = [n.meta.name for n in completed.nodes]
    assert len(names) >= 2
    first, second = (Cluster(completed, name) for name in names[:2])
    service = next(s for s in completed.services if s.ports)
    assert first.endpoints(service, service.ports[0]) is second.endpoints(service, service.ports[0])
    assert first.slices_by_service is second.slices_by_service


@pytest.mark.parametrize("workers", [1, 2])
def test_a_node_that_fails_leaves_nothing_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    completed = complete(load([str(write(tmp_path, cluster(4)))]))
    real = pipeline.compile_node

    def failing(objects: object, opts: CompileOptions) -> pipeline.Compiled:
        if opts.node == "node-2":
            raise ClusterError("node-2 cannot be compiled (test)")
        return real(objects, opts)  # type: ignore[arg-type]

    monkeypatch.setattr(all_nodes, "compile_node", failing)
    with pytest.raises(ClusterError, match="node-2 cannot be compiled"):
        all_nodes.compile_all(completed, CompileOptions(), tmp_path / "out", workers=workers)
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "give the folder with -o DIR"),
        (["-o", "OUT", "--node", "node-0"], "does not go with --node"),
        (["-o", "OUT", "--since", "cluster.yaml"], "does not go with --since"),
        (["-o", "cluster.yaml"], "not a folder"),
    ],
)
def test_bad_uses_are_refused(tmp_path: Path, args: list[str], message: str) -> None:
    path = write(tmp_path, cluster(2))
    args = [a.replace("OUT", str(tmp_path / "out")).replace("cluster.yaml", str(path)) for a in args]
    result = runner.invoke(app, ["compile", str(path), "--all-nodes", *args])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "out").exists() and "Traceback" not in result.output


def test_an_input_without_nodes_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {clusterIP: 10.96.0.9, ports: [{port: 80}]}\n",
    )
    result = runner.invoke(app, ["compile", str(path), "--all-nodes", "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and "the input has no Node" in result.output
    assert not (tmp_path / "out").exists()


def test_a_nodes_ruleset_does_not_grow_with_the_number_of_nodes(tmp_path: Path) -> None:
    """node-0's ruleset, in clusters of 2, 4 and 8 nodes (each node's own pods, policy and namespace): the
    same sets, elements and chains but for the cluster's pod networks (one prefix per node, aggregated)
    and the fingerprint; its policy chain is ns-0's and no other namespace's."""
    rulesets = []
    for nodes in (2, 4, 8):
        directory = tmp_path / f"n{nodes}"
        path = write(tmp_path, cluster(nodes), f"c{nodes}.yaml")
        result = runner.invoke(app, ["compile", str(path), "--all-nodes", "-o", str(directory)])
        assert result.exit_code == 0, result.output
        assert len(list(directory.iterdir())) == nodes
        rulesets.append(read((directory / "node-0.nft").read_text()))
    cluster_wide = {fingerprint.NAME, "pod-cidrs-v4", "pod-cidrs-v6"}
    first = rulesets[0]
    assert any("ns-0/own" in r for c in first.chains.values() for r in (*c.head, *c.rules))
    for other in rulesets[1:]:
        assert other.chains == first.chains
        assert {n: s for n, s in other.sets.items() if n not in cluster_wide} == {
            n: s for n, s in first.sets.items() if n not in cluster_wide
        }
        rules = [r for c in other.chains.values() for r in c.rules]
        elements = [e for n, s in other.sets.items() if n not in cluster_wide for e in s.elements]
        everything = "\n".join([*rules, *elements])
        assert "ns-1/" not in everything and "10.244.1." not in everything
