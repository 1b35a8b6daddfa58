"""Benchmark: the simulated cluster against the same cluster as a snapshot (issue 15, point 9).

Not a test: run on demand.

    .venv/bin/python bench/simulated.py                          # 10k Deployments x 10 replicas, 3 rounds
    .venv/bin/python bench/simulated.py --deployments 1000 --rounds 2
    .venv/bin/python bench/simulated.py --deployments 10000 --profile git   # cProfile of one form, on stderr
    .venv/bin/python bench/simulated.py --baseline b160660      # that commit's tree too, alternately

Two forms of one cluster, each measured in a fresh child process (so peak RSS is its own), alternately
(this machine is shared and its speed drifts, so the forms run side by side, round after round):

- git: what a team keeps in its repository: N Deployments of R replicas, each with a Service that has
  no clusterIP and a named targetPort; no Node, no Pod, no address (`--nodes` synthetic Nodes, pods
  from 10.128.0.0/9 so that a /24 per node holds its ~100 pods);
- snapshot: the same cluster as a running one shows it: the Nodes, Pods with status.podIP, the
  Namespaces, Services with their clusterIP and nodePorts, and EndpointSlices, all written from the git
  form's completed objects (so both are the same cluster: the compiled rulesets must be the same text).

Printed per form and round: load, complete, compile (index + compile, render excluded), render, total,
peak RSS; then the medians (ranges) side by side and git / snapshot (with --baseline: each tree, and this
tree / the baseline's). Goal: total within 1.5x.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import pstats
import resource
import statistics
import sys
import tempfile
import time
from ipaddress import ip_network
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import run_child  # noqa: E402
from netcompile.compile.compiler import CompileOptions, compile_cluster  # noqa: E402
from netcompile.compile.index import Cluster  # noqa: E402
from netcompile.model import Objects, Pod, Service  # noqa: E402
from netcompile.nft.render import render  # noqa: E402
from netcompile.pipeline import CompleteOptions, complete, load  # noqa: E402

FORMS = ("git", "snapshot")
PHASES = ("load_s", "complete_s", "compile_s", "render_s", "total_s", "peak_rss_mib")
NAMESPACES = 50
POD_NETWORK = ip_network("10.128.0.0/9")


def options(nodes: int) -> CompleteOptions:
    return CompleteOptions(nodes=nodes, pod_cidrs=(POD_NETWORK,))


def git_manifest(deployments: int, replicas: int) -> str:
    """N Deployments of `replicas` pods with a container port `http`, and a Service each (no clusterIP)."""
    out: list[str] = []
    for i in range(deployments):
        name, ns = f"app-{i:05d}", f"ns-{i % NAMESPACES:02d}"
        out.append(
            "apiVersion: apps/v1\nkind: Deployment\n"
            f"metadata: {{name: {name}, namespace: {ns}, labels: {{app.kubernetes.io/name: {name}}}}}\n"
            f"spec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{app: {name}}}}}\n"
            f"  template:\n    metadata: {{labels: {{app: {name}, tier: web}}}}\n"
            "    spec:\n      containers:\n      - name: main\n        image: registry.example/app:1.0\n"
            "        ports: [{name: http, containerPort: 8080}]\n---\n"
            "apiVersion: v1\nkind: Service\n"
            f"metadata: {{name: {name}, namespace: {ns}}}\n"
            f"spec:\n  selector: {{app: {name}}}\n"
            "  ports:\n  - {name: http, port: 80, targetPort: http, protocol: TCP}\n---\n"
        )
    return "".join(out)


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    return "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in pairs) + "}"


def _pod(pod: Pod) -> str:
    ports = ", ".join(
        "{" + (f"name: {p.name}, " if p.name else "") + f"containerPort: {p.port}, protocol: {p.protocol}}}"
        for p in pod.ports
    )
    ips = ", ".join(f"{{ip: {a}}}" for a in pod.ips)
    return (
        "apiVersion: v1\nkind: Pod\n"
        f"metadata: {{name: {pod.meta.name}, namespace: {pod.meta.namespace}, labels: {_labels(pod.meta.labels)}}}\n"
        f"spec:\n  nodeName: {pod.node_name}\n  containers:\n  - name: main\n    image: registry.example/app:1.0\n"
        f"    ports: [{ports}]\n"
        f"status:\n  phase: {pod.phase}\n  podIP: {pod.ips[0]}\n  podIPs: [{ips}]\n"
        f"  conditions: [{{type: Ready, status: {json.dumps('True' if pod.ready else 'False')}}}]\n---\n"
    )


def _service(service: Service) -> str:
    assert service.selector is not None
    ports = "".join(
        f"  - {{name: {p.name}, port: {p.port}, targetPort: {p.target_port}, protocol: {p.protocol}"
        + (f", nodePort: {p.node_port}" if p.node_port is not None else "")
        + "}\n"
        for p in service.ports
    )
    return (
        "apiVersion: v1\nkind: Service\n"
        f"metadata: {{name: {service.meta.name}, namespace: {service.meta.namespace}}}\n"
        f"spec:\n  type: {service.type}\n  clusterIP: {service.cluster_ips[0]}\n"
        f"  clusterIPs: [{', '.join(str(a) for a in service.cluster_ips)}]\n"
        f"  selector: {_labels(service.selector.match_labels)}\n  ports:\n{ports}---\n"
    )


def snapshot_manifest(completed: Objects) -> str:
    """The completed cluster as a running cluster's dump shows it (Nodes, Namespaces, Pods, Services,
    EndpointSlices); the workloads are left out (their pods stand for them)."""
    out: list[str] = []
    for node in completed.nodes:
        cidrs = ", ".join(str(c) for c in node.pod_cidrs)
        addresses = ", ".join(f"{{type: {a.type}, address: {a.address}}}" for a in node.addresses)
        out.append(
            f"apiVersion: v1\nkind: Node\nmetadata: {{name: {node.meta.name}, labels: {_labels(node.meta.labels)}}}\n"
            f"spec: {{podCIDR: {node.pod_cidrs[0]}, podCIDRs: [{cidrs}]}}\nstatus: {{addresses: [{addresses}]}}\n---\n"
        )
    for namespace in completed.namespaces:
        out.append(
            f"apiVersion: v1\nkind: Namespace\n"
            f"metadata: {{name: {namespace.meta.name}, labels: {_labels(namespace.meta.labels)}}}\n---\n"
        )
    out += [_pod(p) for p in completed.pods]
    out += [_service(s) for s in completed.services]
    for eps in completed.endpoint_slices:
        ports = ", ".join(f"{{name: {p.name}, port: {p.port}, protocol: {p.protocol}}}" for p in eps.ports)
        endpoints = "".join(
            f"- addresses: [{', '.join(str(a) for a in e.addresses)}]\n"
            f"  conditions: {{ready: {str(e.conditions.ready).lower()}, serving: {str(e.conditions.serving).lower()}, "
            f"terminating: {str(e.conditions.terminating).lower()}}}\n"
            f"  nodeName: {e.node_name}\n"
            for e in eps.endpoints
        )
        out.append(
            "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
            f"metadata: {{name: {eps.meta.name}, namespace: {eps.meta.namespace}, "
            f"labels: {_labels(eps.meta.labels)}}}\n"
            f"addressType: {eps.address_type}\nports: [{ports}]\nendpoints:\n{endpoints}---\n"
        )
    return "".join(out)


def run_one(form: str, path: Path, nodes: int, profile: bool) -> dict[str, object]:
    """One form, in this process: load, complete, compile for the first node, render (timed apart)."""
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    t0 = time.perf_counter()
    objects = load([str(path)])
    t1 = time.perf_counter()
    completed = complete(objects, options(nodes))
    t2 = time.perf_counter()
    node = completed.nodes[0].meta.name if completed.nodes else None
    opts = CompileOptions(node=node)
    output = compile_cluster(Cluster(completed, node), opts)
    t3 = time.perf_counter()
    render(output.table, ["bench"])  # once more: the render share of compile_cluster
    t4 = time.perf_counter()
    if profiler:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    render_s = t4 - t3
    return {
        "form": form,
        "pods": len(completed.pods),
        "services": len(completed.services),
        "slices": len(completed.endpoint_slices),
        "load_s": round(t1 - t0, 3),
        "complete_s": round(t2 - t1, 3),
        "compile_s": round(t3 - t2 - render_s, 3),
        "render_s": round(render_s, 3),
        "total_s": round(t3 - t0, 3),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "ruleset_sha256": hashlib.sha256(output.text.encode()).hexdigest(),
    }


def _format(row: dict[str, object]) -> str:
    return (
        f"{row['form']:>8}: load {row['load_s']} s, complete {row['complete_s']} s, compile {row['compile_s']} s, "
        f"render {row['render_s']} s, total {row['total_s']} s, peak RSS {row['peak_rss_mib']} MiB "
        f"({row['pods']} pods, {row['services']} Services, {row['slices']} slices, "
        f"ruleset {str(row['ruleset_sha256'])[:12]})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deployments", type=int, default=10_000, help="Deployments and Services (default 10k)")
    parser.add_argument("--replicas", type=int, default=10, help="replicas per Deployment (default 10)")
    parser.add_argument("--nodes", type=int, help="synthetic Nodes (default: one per 100 pods)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each form (default 3)")
    parser.add_argument("--baseline", help="a commit to measure too, alternately (its own bench/simulated.py)")
    parser.add_argument("--profile", choices=FORMS, help="one run of that form under cProfile, printed on stderr")
    parser.add_argument("--keep", type=Path, help="write the two inputs here instead of a temporary dir")
    parser.add_argument("--one", nargs=2, metavar=("FORM", "PATH"), help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    nodes = args.nodes or max(1, args.deployments * args.replicas // 100)
    if args.one:
        print(json.dumps(run_one(args.one[0], Path(args.one[1]), nodes, args.profile == args.one[0])))
        return
    with tempfile.TemporaryDirectory(prefix="ncbench-sim-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        paths = {form: workdir / f"{form}-{args.deployments}x{args.replicas}.yaml" for form in FORMS}
        paths["git"].write_text(git_manifest(args.deployments, args.replicas))
        paths["snapshot"].write_text(snapshot_manifest(complete(load([str(paths["git"])]), options(nodes))))
        sizes = ", ".join(f"{form} {paths[form].stat().st_size / 1e6:.1f} MB" for form in FORMS)
        print(f"{args.deployments} Deployments x {args.replicas} replicas, {nodes} nodes; inputs: {sizes}", flush=True)
        trees = {"this tree": ROOT}
        if args.baseline:
            from bench.compare import export  # git archive + its C extensions, as bench/compare.py does

            commit = export(args.baseline, Path(tmp) / "baseline")
            trees = {f"baseline {commit[:7]}": Path(tmp) / "baseline", "this tree": ROOT}

        def child(tree: Path, form: str) -> dict[str, object]:
            script = tree / "bench" / "simulated.py"
            cmd = [sys.executable, str(script), "--one", form, str(paths[form]), "--nodes", str(nodes)]
            if args.profile:
                cmd += ["--profile", args.profile]
            return run_child(cmd)

        if args.profile:
            print(_format(child(ROOT, args.profile)))
            return
        runs = [(tree, form) for tree in trees for form in FORMS]
        rows: dict[tuple[str, str], list[dict[str, object]]] = {run: [] for run in runs}
        for round_ in range(args.rounds):
            for tree, form in runs if round_ % 2 == 0 else list(reversed(runs)):
                row = child(trees[tree], form)
                rows[(tree, form)].append(row)
                print(f"round {round_ + 1} {tree:>16} {_format(row)}", flush=True)
        print(f"\nmedians (range) over {args.rounds} rounds:")
        medians: dict[tuple[str, str], dict[str, float]] = {}
        for run in runs:
            values = {k: [float(str(r[k])) for r in rows[run]] for k in PHASES}
            medians[run] = {k: statistics.median(v) for k, v in values.items()}
            shown = ", ".join(f"{k[:-2] if k.endswith('_s') else k} {medians[run][k]:.2f} ({min(v):.2f}-{max(v):.2f})"
                              for k, v in values.items())  # fmt: skip
            print(f"  {run[0]:>16} {run[1]:>8}: {shown}")
        for tree in trees:
            git, snap = medians[(tree, "git")], medians[(tree, "snapshot")]
            print(
                f"  {tree:>16} git / snapshot: " + ", ".join(f"{k} {git[k] / snap[k]:.2f}" for k in PHASES if snap[k])
            )
        if len(trees) == 2:
            base, this = trees
            for form in FORMS:
                old, new = medians[(base, form)], medians[(this, form)]
                print(
                    f"  {form:>8} this / baseline: " + ", ".join(f"{k} {new[k] / old[k]:.2f}" for k in PHASES if old[k])
                )
        same = {str(r["ruleset_sha256"]) for run in runs for r in rows[run]}
        print(f"  rulesets: {'the same text' if len(same) == 1 else 'DIFFERENT: ' + ', '.join(sorted(same))}")


if __name__ == "__main__":
    main()
