"""Benchmark: `compile --all-nodes`, every node's ruleset from one load, as issue 19 (point 3) measures it.

Not a test: run on demand (no root needed):

    .venv/bin/python bench/nodes.py                          # 100 nodes x 50 pods, 10k Services, 500 policies
    .venv/bin/python bench/nodes.py --nodes 20 --services 1000

The cluster: N Nodes, each with P pods in its own /24 (20 namespaces, apps of 10 pods, named port
`http`); S ClusterIP Services, each with an EndpointSlice of 10 endpoints taken round-robin from the
pods (with their nodes); Q NetworkPolicies cycling through three shapes (ingress from another app on a
port, ingress from a namespace's `tier: web` pods on the named port, egress to an app plus DNS), each
selecting one app of its namespace. Printed: load and completion (once), then every node compiled and
written to DIR/<node>.nft with 1 worker and with 2 (forked, as `compile --all-nodes` does), side by
side, each from objects loaded anew (so the second run inherits nothing from the first), and the size
of each node's ruleset (min, median, max). Then a node's compile and write time: the first node's apart
(compiled before any worker, it makes the Service part the others replay: compile/reuse.py), and with
2 workers, where the time goes (before and during the first node, until a worker starts, the workers,
after them).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from netcompile.cli.all_nodes import NodeRuleset, compile_all  # noqa: E402
from netcompile.compile.options import CompileOptions  # noqa: E402
from netcompile.pipeline import complete, load  # noqa: E402

NAMESPACES = 20
APP_SIZE = 10


def _ip(value: int) -> str:
    return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


def pod_ip(node: int, p: int) -> str:
    return _ip(0x0A800000 + node * 256 + p + 10)  # node i's pods in 10.128.i.0/24 (i < 256), 10.129... after


def manifest(nodes: int, pods: int, services: int, policies: int, node_ports: int = 0) -> str:
    out: list[str] = []
    for n in range(NAMESPACES):
        out.append(
            f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: ns-{n:02d}, labels: {{team: t{n % 5}}}}}\n---\n"
        )
    all_pods: list[tuple[str, int]] = []  # (address, node)
    for i in range(nodes):
        cidr = _ip(0x0A800000 + i * 256) + "/24"
        out.append(
            f"apiVersion: v1\nkind: Node\nmetadata: {{name: node-{i:03d}}}\nspec: {{podCIDR: {cidr}}}\n"
            f"status: {{addresses: [{{type: InternalIP, address: {_ip(0xC0A80000 + i + 1)}}}]}}\n---\n"
        )
        for p in range(pods):
            k = i * pods + p
            ns, app = k % NAMESPACES, (k // NAMESPACES) % APP_SIZE
            tier = ("web", "api", "db")[app % 3]
            out.append(
                "apiVersion: v1\nkind: Pod\n"
                f"metadata: {{name: pod-{k:05d}, namespace: ns-{ns:02d}, labels: {{app: app-{app}, tier: {tier}}}}}\n"
                f"spec: {{nodeName: node-{i:03d}, containers: [{{name: c, image: x, "
                "ports: [{name: http, containerPort: 8080}]}]}\n"
                f"status: {{phase: Running, podIP: {pod_ip(i, p)}, "
                "conditions: [{type: Ready, status: 'True'}]}\n---\n"
            )
            all_pods.append((pod_ip(i, p), i))
    for s in range(services):
        name, namespace = f"svc-{s:05d}", f"ns-{s % NAMESPACES:02d}"
        eps = []
        for j in range(10):
            address, node = all_pods[(s * 10 + j) % len(all_pods)]
            eps.append(f"  - addresses: [{address}]\n    conditions: {{ready: true}}\n    nodeName: node-{node:03d}\n")
        node_port = ""
        if s < node_ports:  # NodePort, externalTrafficPolicy Local: its part of a node's ruleset is the node's
            node_port = f", nodePort: {30000 + s}}}\n  type: NodePort\n  externalTrafficPolicy: Local\n"
        out.append(
            "apiVersion: v1\nkind: Service\n"
            f"metadata: {{name: {name}, namespace: {namespace}}}\n"
            f"spec:\n  clusterIP: {_ip(0x0A600000 + s + 1)}\n"
            "  ports:\n  - {name: http, port: 80, targetPort: 8080, protocol: TCP" + (node_port or "}\n") + "---\n"
            "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
            f"metadata:\n  name: {name}-abcde\n  namespace: {namespace}\n"
            f"  labels: {{kubernetes.io/service-name: {name}}}\n"
            "addressType: IPv4\nports:\n- {name: http, port: 8080, protocol: TCP}\n"
            "endpoints:\n" + "".join(eps) + "---\n"
        )
    for q in range(policies):
        ns, target = q % NAMESPACES, (q // NAMESPACES) % APP_SIZE
        peer = (target + 1) % APP_SIZE
        head = (
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
            f"metadata: {{name: pol-{q:05d}, namespace: ns-{ns:02d}}}\nspec:\n"
            f"  podSelector: {{matchLabels: {{app: app-{target}}}}}\n"
        )
        if q % 3 == 0:
            body = (
                f"  ingress:\n  - from: [{{podSelector: {{matchLabels: {{app: app-{peer}}}}}}}]\n"
                "    ports: [{port: 8080}]\n"
            )
        elif q % 3 == 1:
            body = (
                f"  ingress:\n  - from: [{{namespaceSelector: {{matchLabels: {{team: t{q % 5}}}}}, "
                "podSelector: {matchLabels: {tier: web}}}]\n    ports: [{port: http}]\n"
            )
        else:
            body = (
                "  policyTypes: [Egress]\n  egress:\n"
                f"  - to: [{{podSelector: {{matchLabels: {{app: app-{peer}}}}}}}]\n"
                "  - ports: [{port: 53, protocol: UDP}, {port: 53}]\n"
            )
        out.append(head + body + "---\n")
    return "".join(out)


def _details(written: list[NodeRuleset], clock: float, ended: float) -> None:
    """A node's compile and write time (the first node, compiled before any worker, apart), and with
    workers, where the time went: before and during the first node, until a worker starts, the workers,
    after the last (collecting, renaming)."""
    first, others = written[0], written[1:] or written
    each = [w.finished - w.started for w in others]
    print(
        f"  a node's compile and write: the first {first.finished - first.started:.2f} s (it makes the shared "
        f"part); the others median {statistics.median(each):.3f} s (min {min(each):.3f}, max {max(each):.3f}), "
        f"CPU median {statistics.median([w.cpu for w in others]):.3f} s, waiting for a CPU (run queue) median "
        f"{statistics.median([w.waited for w in others]):.3f} s",
        flush=True,
    )
    by_worker: dict[int, list[NodeRuleset]] = {}
    for w in others:
        by_worker.setdefault(w.worker, []).append(w)
    if set(by_worker) == {0}:
        return
    starts, ends = min(w.started for w in others), max(w.finished for w in others)
    busy = ", ".join(
        f"worker {k} {len(v)} nodes in {sum(w.finished - w.started for w in v):.1f} s, "
        f"{sum(w.cpu for w in v):.1f} s of CPU, {sum(w.waited for w in v):.1f} s waiting for one"
        for k, v in sorted(by_worker.items())
    )
    print(
        f"  timeline: {first.started - clock:.2f} s before the first node, {first.finished - first.started:.2f} s "
        f"for it, {starts - first.finished:.2f} s until a worker starts, {ends - starts:.1f} s of workers "
        f"({busy}), {ended - ends:.2f} s after the last",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--pods", type=int, default=50, help="pods per node (default 50)")
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--policies", type=int, default=500)
    parser.add_argument(
        "--node-ports",
        type=int,
        default=0,
        help="how many of the Services are NodePorts with externalTrafficPolicy Local (default 0, at most 2767)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ncnodes-") as tmp:
        work = Path(tmp)
        (work / "in").mkdir()
        (work / "in" / "cluster.yaml").write_text(
            manifest(args.nodes, args.pods, args.services, args.policies, args.node_ports)
        )
        start = time.perf_counter()
        objects = load([str(work / "in")])
        loaded = time.perf_counter()
        completed = complete(objects)
        completed_at = time.perf_counter()
        print(
            f"{args.nodes} nodes x {args.pods} pods, {args.services} Services x 10 endpoints "
            f"({args.node_ports} NodePorts, externalTrafficPolicy Local), {args.policies} "
            f"policies: load {loaded - start:.2f} s, complete {completed_at - loaded:.2f} s (once)",
            flush=True,
        )
        times = {}
        for workers in (1, 2):
            if workers > 1:  # new objects: nothing kept from the run before (indexes, the shared Service part)
                completed = complete(load([str(work / "in")]))
            out = work / f"out-{workers}"
            begin, cpu = time.perf_counter(), os.times()
            clock = time.monotonic()
            written = compile_all(completed, CompileOptions(), out, workers=workers)
            times[workers] = time.perf_counter() - begin
            ended = time.monotonic()
            after = os.times()
            used = sum(after[:4]) - sum(cpu[:4])  # user and system CPU, this process and its children
            sizes = sorted(w.bytes for w in written)
            print(
                f"{workers} worker{'s' if workers > 1 else ''}: {len(written)} rulesets in {times[workers]:.1f} s "
                f"({times[workers] / len(written):.2f} s per node); per-node size min {sizes[0] / 1e6:.2f} MB, "
                f"median {statistics.median(sizes) / 1e6:.2f} MB, max {sizes[-1] / 1e6:.2f} MB; CPU {used:.1f} s "
                f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)",
                flush=True,
            )
            _details(written, clock, ended)
            shutil.rmtree(out)
        total = completed_at - start
        print(
            f"total with 1 worker {total + times[1]:.1f} s, with 2 workers {total + times[2]:.1f} s: "
            f"2 workers take {times[2] / times[1]:.2f} of the time of 1 for the nodes"
        )


if __name__ == "__main__":
    main()
