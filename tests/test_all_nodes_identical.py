"""`compile --all-nodes` reuses the Service part of one node's ruleset on the next (compile/reuse.py): every
node's file must still be byte for byte what `compile --node NAME` writes on its own, for a cluster where
the Service part does depend on the node (NodePorts, externalTrafficPolicy and internalTrafficPolicy Local
with endpoints on some nodes only, topology hints, loadBalancerSourceRanges holding the nodes' addresses, a
frontend that collides with one node's NodePort only, session affinity) and policies isolate pods."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from netcompile import golden, pipeline
from netcompile.cli import all_nodes
from netcompile.compile import reuse
from netcompile.model import Objects
from netcompile.pipeline import CompileOptions, complete, load
from tests.conftest import ROOT

ZONES = ("zone-a", "zone-a", "zone-b", "zone-b")


def _node(i: int) -> str:
    extra = ", {type: ExternalIP, address: 198.51.100.9}" if i == 3 else ""
    return (
        f"apiVersion: v1\nkind: Node\nmetadata: {{name: node-{i}, "
        f"labels: {{topology.kubernetes.io/zone: {ZONES[i]}}}}}\n"
        f"spec: {{podCIDR: 10.244.{i}.0/24}}\n"
        f"status: {{addresses: [{{type: InternalIP, address: 192.168.0.{i + 1}}}{extra}]}}\n---\n"
    )


def _pod(i: int, p: int, app: str) -> str:
    port = 9090 if (app, i) == ("web", 2) else 8080  # node 2's web pods give `http` another number
    return (
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {app}-{i}-{p}, namespace: shop, labels: {{app: {app}}}}}\n"
        f"spec: {{nodeName: node-{i}, "
        f"containers: [{{name: c, image: x, ports: [{{name: http, containerPort: {port}}}]}}]}}\n"
        f"status: {{phase: Running, podIP: 10.244.{i}.{10 + p}, conditions: [{{type: Ready, status: 'True'}}]}}\n---\n"
    )


def _service(name: str, spec: str, status: str = "") -> str:
    return f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: shop}}\nspec:\n{spec}{status}---\n"


HINTED_SLICE = """apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: hinted-1, namespace: shop, labels: {kubernetes.io/service-name: hinted}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- {addresses: [10.244.0.10], nodeName: node-0, zone: zone-a, hints: {forZones: [{name: zone-a}]}}
- {addresses: [10.244.2.10], nodeName: node-2, zone: zone-b, hints: {forZones: [{name: zone-b}]}}
- {addresses: [10.244.3.10], nodeName: node-3, zone: zone-b, hints: {forZones: [{name: zone-b}]}}
---
"""

POLICY = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: api}}}]
    ports: [{port: http}]
  egress:
  - to: [{podSelector: {matchLabels: {app: api}}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-deny, namespace: shop}
spec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-out, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 10.244.0.0/16, except: [10.244.3.0/24]}}]
    ports: [{port: http}]
---
"""


def cluster() -> str:
    """Four nodes in two zones; `web` pods on nodes 0-2, `api` pods on nodes 1 and 3 (none on node 0)."""
    out = [_node(i) for i in range(4)]
    out += [_pod(i, p, "web") for i in range(3) for p in range(2)]
    out += [_pod(i, 5, "api") for i in (1, 3)]
    http = "  ports: [{name: http, port: 80, targetPort: http"
    out += [
        # before `np` by name: its externalIP is node-1's NodePort of `np`, so it wins there only
        _service(
            "a-collides",
            "  clusterIP: 10.96.0.9\n  externalIPs: [192.168.0.2]\n  ports: [{name: http, port: 30080}]\n",
        ),
        _service("api", f"  clusterIP: 10.96.0.10\n  selector: {{app: api}}\n{http}}}]\n"),
        _service("hinted", "  clusterIP: 10.96.0.11\n  ports: [{name: http, port: 80}]\n"),
        _service(
            "itp", f"  clusterIP: 10.96.0.12\n  selector: {{app: api}}\n  internalTrafficPolicy: Local\n{http}}}]\n"
        ),
        _service(
            "lb",
            f"  type: LoadBalancer\n  clusterIP: 10.96.0.13\n  selector: {{app: web}}\n"
            f"  loadBalancerSourceRanges: [203.0.113.0/24, 192.168.0.0/30]\n{http}, nodePort: 30443}}]\n",
            "status: {loadBalancer: {ingress: [{ip: 198.51.100.40}]}}\n",
        ),
        _service(
            "ext-local",  # external frontends (an externalIP) reading which endpoints are local, no NodePort
            f"  clusterIP: 10.96.0.20\n  selector: {{app: web}}\n  externalTrafficPolicy: Local\n"
            f"  externalIPs: [203.0.113.8]\n{http}}}]\n",
        ),
        _service(
            "np",
            f"  type: NodePort\n  clusterIP: 10.96.0.14\n  selector: {{app: web}}\n  externalTrafficPolicy: Local\n"
            f"{http}, nodePort: 30080}}]\n",
        ),
        _service(
            "np-api",  # externalIPs too: an external frontend, not on the node's addresses, Local
            f"  type: NodePort\n  clusterIP: 10.96.0.15\n  selector: {{app: api}}\n  externalTrafficPolicy: Local\n"
            f"  externalIPs: [203.0.113.7]\n{http}, nodePort: 30081}}]\n",
        ),
        _service(
            "np2",
            f"  type: NodePort\n  clusterIP: 10.96.0.19\n  selector: {{app: web}}\n{http}, nodePort: 30082}}]\n",
        ),
        _service(
            "sticky",
            f"  clusterIP: 10.96.0.16\n  selector: {{app: web}}\n  sessionAffinity: ClientIP\n{http}}}]\n",
        ),
        _service("web", f"  clusterIP: 10.96.0.17\n  selector: {{app: web}}\n{http}}}]\n"),
        # after `np2` by name: the same frontend as node-1's NodePort of `np2`, so it loses there only
        _service(
            "z-collides",
            "  clusterIP: 10.96.0.18\n  externalIPs: [192.168.0.2]\n  ports: [{name: http, port: 30082}]\n",
        ),
        HINTED_SLICE,
        POLICY,
    ]
    return "".join(out)


def alone(path: Path, node: str) -> str:
    """What `compile --node` writes, in a state that shares nothing with another compile: the input
    loaded and completed again (new objects: new indexes, no Fragment kept from another node)."""
    return pipeline.compile_node(complete(load([str(path)])), CompileOptions(node=node)).output.text


@pytest.mark.parametrize("workers", [1, 2])
def test_every_node_is_byte_identical_to_compile_node(tmp_path: Path, workers: int) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(cluster())
    completed = complete(load([str(path)]))
    written = all_nodes.compile_all(completed, CompileOptions(), tmp_path / "out", workers=workers)
    assert [w.node for w in written] == [f"node-{i}" for i in range(4)]
    texts = {w.node: w.path.read_bytes() for w in written}
    for node, text in texts.items():
        assert text == alone(path, node).encode(), node
    # what makes it hard is there: the rulesets differ where the node does
    assert len(set(texts.values())) == 4
    assert b"is already a frontend of" in texts["node-1"] and b"is already a frontend of" not in texts["node-0"]


def test_the_service_part_is_shared_and_only_where_the_node_does_not_matter(tmp_path: Path) -> None:
    """The Fragments kept: of every Service's ClusterIP frontends, and of its other frontends unless they
    read the node's own addresses (NodePorts, source ranges against the primary address); none of a
    Service with sessionAffinity; a part that reads which endpoints are local or the zone has one per
    pattern of locality or zone; the elements of node-0's `web` are
    the very objects of node-2's table."""
    path = tmp_path / "cluster.yaml"
    path.write_text(cluster())
    completed = complete(load([str(path)]))
    pipeline.share_across_nodes(completed, CompileOptions())  # several nodes: as compile --all-nodes says
    compiled = {f"node-{i}": pipeline.compile_node(completed, CompileOptions(node=f"node-{i}")) for i in range(4)}
    kept = reuse.reuse_for(compiled["node-0"].cluster, CompileOptions()).fragments
    every = ("a-collides", "api", "ext-local", "hinted", "itp", "lb", "np", "np-api", "np2", "web", "z-collides")
    assert sorted({str(key[0]) for key in kept if key[1] is False}) == [f"shop/{name}" for name in every]
    external = ["shop/a-collides", "shop/ext-local", "shop/z-collides"]
    assert sorted({str(key[0]) for key in kept if key[1] is True}) == external
    assert len([key for key in kept if key[:2] == ("shop/ext-local", True)]) == 4  # web pods on 0, 1, 2; not 3
    assert len([key for key in kept if key[0] == "shop/itp"]) == 3  # api pods on 1 and 3: none local on 0 and 2
    assert len([key for key in kept if key[0] == "shop/hinted"]) == 2  # one per zone

    def web(table_node: str) -> list[object]:
        table = compiled[table_node].output.table
        return [e for s in table.sets.values() for e in s.elements if e.comment and "shop/web:" in e.comment]

    assert web("node-0") and all(a is b for a, b in zip(web("node-0"), web("node-2"), strict=True))
    # after the first node, the parts that read nothing of the node come as Blocks, each written once
    later = [
        block for s in compiled["node-1"].output.table.sets.values() for _, block in getattr(s.elements, "blocks", ())
    ]
    first = [
        block for s in compiled["node-0"].output.table.sets.values() for _, block in getattr(s.elements, "blocks", ())
    ]
    assert later and not first and all(block.text is not None for block in later)


def _objects(case: golden.Case) -> Objects:
    """The case's input completed as `golden` completes it (its flags, its kube-proxy configuration)."""
    args = case.args()
    _, parse, _ = case.checked()
    proxy = str(case.directory / args.proxy_config) if args.proxy_config else None
    return complete(load([str(case.directory)], parse=parse, proxy_config=proxy), args.complete_options())


@pytest.mark.parametrize("case", golden.discover(ROOT / "golden"), ids=lambda c: c.name)
def test_every_node_of_every_golden_input(case: golden.Case) -> None:
    """Every node of every golden input (its Nodes, or its simulated ones), compiled in turn from the same
    objects as --all-nodes does (so later nodes replay what the first made) and each alone."""
    completed, opts = _objects(case), case.options()
    for name in pipeline.node_names(completed, opts):
        node_opts = replace(opts, node=name)
        shared = pipeline.compile_node(completed, node_opts).output.text
        assert shared == pipeline.compile_node(_objects(case), node_opts).output.text, name


def test_one_node_alone_keeps_nothing_for_others(tmp_path: Path) -> None:
    """`compile --node` alone (no other node compiled from the objects) keeps no Fragment and no element's
    line: it would pay for them in time and memory (at 10k Services x 10, about 45 MiB more at the peak)
    and replay nothing."""
    path = tmp_path / "cluster.yaml"
    path.write_text(cluster())
    completed = complete(load([str(path)]))
    alone = pipeline.compile_node(completed, CompileOptions(node="node-1"))
    assert not reuse.reuse_for(alone.cluster, CompileOptions()).fragments
    table = alone.output.table
    assert not table.keep_lines
    assert all(e.line is None for s in table.sets.values() for e in s.elements)
    pipeline.share_across_nodes(completed, CompileOptions())
    again = pipeline.compile_node(completed, CompileOptions(node="node-1"))
    assert again.output.text == alone.output.text  # the same bytes either way
    assert reuse.reuse_for(again.cluster, CompileOptions()).fragments and again.output.table.keep_lines
