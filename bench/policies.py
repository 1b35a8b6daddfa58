"""Benchmark: compile and load P pods x Q NetworkPolicies, as issue 5 measures it.

Not a test: run on demand (as root, for the `nft -f` load in a scratch network namespace):

    .venv/bin/python bench/policies.py                          # {500, 2000, 5000} pods x {100, 500, 1000}
    .venv/bin/python bench/policies.py --pods 5000 --policies 1000 --profile

Each size runs in a fresh child process so that its peak memory (ru_maxrss) is its own. Printed per size:
manifest size, compile time (parse / index / compile+render), `nft -f` load time in a scratch network
namespace, ruleset size (bytes, lines, chains, rules, elements), peak RSS, and the size per (pods +
policies + peers). Goal (issue 5): 5 000 pods x 1 000 policies compiled and loaded in < 10 s together,
ruleset size linear in pods + policies + peers.

The generated cluster (one node, every pod local): 20 namespaces labelled `team` and `env`; pods in
apps of 10 (`app`, `tier`), each with the named ports `http` (8080 or 9090: resolutions differ) and
`metrics`; policies cycling through five shapes, with selectors picking one app of their namespace:
ingress from an app on a port; ingress from `tier=web` pods of a team's namespaces on the named port
`http`; egress to an app on an endPort range plus DNS to kube-system; ingress from an ipBlock with an
except on 443; egress to the world but the metadata address, for `tier in (web, api)`; and, one policy in
ten, namespace-wide (`podSelector: {}`): ingress from the namespace, egress to DNS by named port.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import mb, nft_load, ruleset_size, run_child  # noqa: E402
from netcompile.compile.compiler import CompileOptions, compile_cluster  # noqa: E402
from netcompile.compile.index import Cluster  # noqa: E402
from netcompile.load.manifests import load  # noqa: E402
from netcompile.pipeline import complete  # noqa: E402

DEFAULT_PODS = (500, 2_000, 5_000)
DEFAULT_POLICIES = (100, 500, 1_000)
NAMESPACES = 20
APP_SIZE = 10
TIERS = ("web", "api", "db")


def _ip(value: int) -> str:
    return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


def apps_per_namespace(pods: int) -> int:
    return max(1, pods // NAMESPACES // APP_SIZE)


def manifest(pods: int, policies: int) -> str:
    """The generated cluster; pod addresses come from 10.128.0.0/9, all distinct."""
    out: list[str] = []
    for n in range(NAMESPACES):
        out.append(
            "apiVersion: v1\nkind: Namespace\n"
            f"metadata: {{name: ns-{n:02d}, labels: {{team: t{n % 5}, env: {'prod' if n % 2 else 'dev'}}}}}\n---\n"
        )
    out.append("apiVersion: v1\nkind: Namespace\nmetadata: {name: kube-system}\n---\n")
    out.append(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}\n"
        "spec: {containers: [{name: c, image: dns, ports: [{name: dns, containerPort: 53, protocol: UDP}]}]}\n"
        "status: {phase: Running, podIP: 10.127.255.10}\n---\n"
    )
    apps = apps_per_namespace(pods)
    for i in range(pods):
        ns = i % NAMESPACES
        app = (i // NAMESPACES) % apps
        http = 8080 if i % 3 else 9090
        out.append(
            "apiVersion: v1\nkind: Pod\n"
            f"metadata: {{name: pod-{i:05d}, namespace: ns-{ns:02d}, "
            f"labels: {{app: app-{app}, tier: {TIERS[app % 3]}}}}}\n"
            f"spec: {{containers: [{{name: c, image: x, ports: [{{name: http, containerPort: {http}}}, "
            "{name: metrics, containerPort: 9100}]}]}\n"
            f"status: {{phase: Running, podIP: {_ip(0x0A800000 + i + 1)}}}\n---\n"
        )
    for q in range(policies):
        ns = q % NAMESPACES
        target = (q // NAMESPACES) % apps
        peer = (target + 1) % apps
        head = (
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
            f"metadata: {{name: pol-{q:05d}, namespace: ns-{ns:02d}}}\nspec:\n"
            f"  podSelector: {{matchLabels: {{app: app-{target}}}}}\n"
        )
        shape = q % 5
        if (q // NAMESPACES) % 10 == 9:
            # one in ten: namespace-wide (every pod of the namespace), combining with the per-app ones
            body = (
                "  policyTypes: [Ingress, Egress]\n"
                "  ingress:\n  - from: [{podSelector: {}}]\n"
                "  egress:\n"
                "  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, "
                "podSelector: {matchLabels: {k8s-app: kube-dns}}}]\n"
                "    ports: [{port: dns, protocol: UDP}]\n"
            )
            head = head.replace(f"{{matchLabels: {{app: app-{target}}}}}", "{}")
        elif shape == 0:
            body = (
                "  ingress:\n"
                f"  - from: [{{podSelector: {{matchLabels: {{app: app-{peer}}}}}}}]\n"
                "    ports: [{port: 8080}]\n"
            )
        elif shape == 1:
            body = (
                "  ingress:\n"
                f"  - from: [{{namespaceSelector: {{matchLabels: {{team: t{q % 5}}}}}, "
                "podSelector: {matchLabels: {tier: web}}}]\n"
                "    ports: [{port: http}]\n"
            )
        elif shape == 2:
            body = (
                "  policyTypes: [Egress]\n  egress:\n"
                f"  - to: [{{podSelector: {{matchLabels: {{app: app-{peer}}}}}}}]\n"
                "    ports: [{port: 5000, endPort: 5100}, {port: metrics}]\n"
                "  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]\n"
                "    ports: [{port: 53, protocol: UDP}, {port: 53}]\n"
            )
        elif shape == 3:
            body = (
                "  ingress:\n"
                "  - from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.128.0.0/16]}}]\n"
                "    ports: [{port: 443}]\n"
            )
        else:
            body = (
                "  podSelector: {matchExpressions: [{key: tier, operator: In, values: [web, api]}]}\n"
                "  policyTypes: [Ingress, Egress]\n"
                "  ingress:\n"
                f"  - from: [{{podSelector: {{matchLabels: {{app: app-{peer}}}}}}}]\n"
                "  egress:\n"
                "  - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}}]\n"
            )
            head = head.replace(f"  podSelector: {{matchLabels: {{app: app-{target}}}}}\n", "")
        out.append(head + body + "---\n")
    return "".join(out)


def run_one(pods: int, policies: int, workdir: Path, profile: bool) -> dict[str, object]:
    """One size, in this process: generate, compile (timed by phase), write, load."""
    inputs = workdir / f"policies-{pods}x{policies}"
    inputs.mkdir(parents=True, exist_ok=True)
    manifest_file = inputs / "manifest.yaml"
    manifest_file.write_text(manifest(pods, policies))
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    t0 = time.perf_counter()
    objects = load([str(inputs)])
    t1 = time.perf_counter()
    cluster = Cluster(complete(objects))  # completion, then the index
    t2 = time.perf_counter()
    output = compile_cluster(cluster, CompileOptions())
    t3 = time.perf_counter()
    if profiler:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    out_file = workdir / f"policies-{pods}x{policies}.nft"
    out_file.write_text(output.text)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    load_s = nft_load(out_file)
    compile_s = t3 - t0
    peers = sum(len(rule.peers or ()) for p in objects.network_policies for rule in (*p.ingress, *p.egress))
    size = ruleset_size(output.text)
    return {
        "pods": pods,
        "policies": policies,
        "peers": peers,
        "manifest_bytes": manifest_file.stat().st_size,
        "parse_s": round(t1 - t0, 3),
        "index_s": round(t2 - t1, 3),
        "compile_render_s": round(t3 - t2, 3),
        "compile_s": round(compile_s, 3),
        "load_s": None if load_s is None else round(load_s, 3),
        "total_s": None if load_s is None else round(compile_s + load_s, 3),
        "peak_rss_mib": round(peak / 2**20, 1),
        "bytes_per_object": round(size["bytes"] / (pods + policies + peers), 1),
        **size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", type=int, action="append", help="P (repeatable); default 500, 2000, 5000")
    parser.add_argument("--policies", type=int, action="append", help="Q (repeatable); default 100, 500, 1000")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the compile (slower)")
    parser.add_argument("--keep", type=Path, help="write inputs and rulesets here instead of a temporary dir")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # child mode: one size, JSON out
    args = parser.parse_args()
    pod_sizes = args.pods or list(DEFAULT_PODS)
    policy_sizes = args.policies or list(DEFAULT_POLICIES)
    if args.one:
        workdir = args.keep or Path(tempfile.mkdtemp(prefix="ncpbench-"))
        print(json.dumps(run_one(pod_sizes[0], policy_sizes[0], workdir, args.profile)))
        return
    with tempfile.TemporaryDirectory(prefix="ncpbench-") as tmp:
        workdir = args.keep or Path(tmp)
        for pods in pod_sizes:
            for policies in policy_sizes:
                cmd = [
                    sys.executable,
                    __file__,
                    "--one",
                    "--pods",
                    str(pods),
                    "--policies",
                    str(policies),
                    "--keep",
                    str(workdir),
                ]
                if args.profile:
                    cmd.append("--profile")
                row = run_child(cmd)
                print(_format(row), flush=True)


def _format(row: dict[str, object]) -> str:
    return (
        f"{row['pods']:>5} pods x {row['policies']:>4} policies ({row['peers']} peers) | "
        f"manifest {mb(row['manifest_bytes'])} | compile {row['compile_s']} s (parse {row['parse_s']}, "
        f"index {row['index_s']}, policies+render {row['compile_render_s']}) | nft -f {row['load_s']} s | "
        f"total {row['total_s']} s | ruleset {mb(row['bytes'])}, {row['lines']} lines, {row['chains']} chains, "
        f"{row['rules']} rules, {row['elements']} elements, {row['bytes_per_object']} B per pod+policy+peer | "
        f"peak RSS {row['peak_rss_mib']} MiB"
    )


if __name__ == "__main__":
    main()
