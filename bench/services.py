"""Benchmark: compile and load N Services x E endpoints (EndpointSlices), as issue 3 measures it.

Not a test: run on demand (as root, for the `nft -f` load in a scratch network namespace):

    .venv/bin/python bench/services.py                 # N = 1k, 10k, 25k; 10 endpoints each
    .venv/bin/python bench/services.py --services 10000 --endpoints 10 --profile

Each size runs in a fresh child process so that its peak memory (ru_maxrss) is its own. Printed per size:
manifest size, compile time (in-process, split into parse+validate / index / compile+render, and the
render share), `nft -f` load time
in a scratch network namespace, ruleset size (bytes, lines, chains, rules, elements), peak RSS (measured
before `nft` runs), and the
ratio of compile time to load time. Goal (issue 3): 10k x 10 compiled and loaded in < 5 s, peak < 1 GiB.
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
from netcompile.nft.render import render  # noqa: E402
from netcompile.pipeline import complete  # noqa: E402

DEFAULT_SIZES = (1_000, 10_000, 25_000)


def manifest(services: int, endpoints: int) -> str:
    """N ClusterIP Services (one TCP port each) with one EndpointSlice of `endpoints` ready endpoints each.

    ClusterIPs come from 10.96.0.0/12 and pod addresses from 10.128.0.0/9, all distinct.
    """
    out: list[str] = []
    for i in range(services):
        vip = 0x0A600000 + i + 1
        name = f"svc-{i:05d}"
        ns = f"ns-{i % 50:02d}"
        out.append(
            "apiVersion: v1\nkind: Service\n"
            f"metadata: {{name: {name}, namespace: {ns}}}\n"
            f"spec:\n  clusterIP: {_ip(vip)}\n  selector: {{app: {name}}}\n"
            "  ports:\n  - {name: http, port: 80, targetPort: 8080, protocol: TCP}\n---\n"
        )
        eps = []
        for j in range(endpoints):
            pod = 0x0A800000 + i * endpoints + j + 1
            eps.append(f"  - addresses: [{_ip(pod)}]\n    conditions: {{ready: true}}\n    nodeName: node-a\n")
        out.append(
            "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
            f"metadata:\n  name: {name}-abcde\n  namespace: {ns}\n"
            f"  labels: {{kubernetes.io/service-name: {name}}}\n"
            "addressType: IPv4\nports:\n- {name: http, port: 8080, protocol: TCP}\n"
            "endpoints:\n" + "".join(eps) + "---\n"
        )
    return "".join(out)


def _ip(value: int) -> str:
    return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


def run_one(services: int, endpoints: int, workdir: Path, profile: bool) -> dict[str, object]:
    """One size, in this process: generate, compile (timed by phase), write, load."""
    inputs = workdir / f"services-{services}x{endpoints}"
    inputs.mkdir(parents=True, exist_ok=True)
    manifest_file = inputs / "manifest.yaml"
    manifest_file.write_text(manifest(services, endpoints))
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    t0 = time.perf_counter()
    objects = load([str(inputs)])
    t1 = time.perf_counter()
    peak_after_parse = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    cluster = Cluster(complete(objects))  # completion, then the index
    t2 = time.perf_counter()
    output = compile_cluster(cluster, CompileOptions())
    t3 = time.perf_counter()
    render(output.table, ["bench"])  # once more, to tell the render share of compile_cluster
    render_s = time.perf_counter() - t3
    if profiler:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    out_file = workdir / f"services-{services}x{endpoints}.nft"
    out_file.write_text(output.text)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    load_s = nft_load(out_file)
    compile_s = t3 - t0
    return {
        "services": services,
        "endpoints": services * endpoints,
        "manifest_bytes": manifest_file.stat().st_size,
        "parse_s": round(t1 - t0, 3),
        "index_s": round(t2 - t1, 3),
        "compile_render_s": round(t3 - t2, 3),
        "render_s": round(render_s, 3),
        "compile_s": round(compile_s, 3),
        "load_s": None if load_s is None else round(load_s, 3),
        "total_s": None if load_s is None else round(compile_s + load_s, 3),
        "compile_over_load": None if not load_s else round(compile_s / load_s, 2),
        "peak_rss_mib": round(peak / 2**20, 1),
        "peak_rss_after_parse_mib": round(peak_after_parse / 2**20, 1),
        **ruleset_size(output.text),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, action="append", help="N (repeatable); default 1k, 10k, 25k")
    parser.add_argument("--endpoints", type=int, default=10, help="endpoints per Service (default 10)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the compile (slower)")
    parser.add_argument("--keep", type=Path, help="write inputs and rulesets here instead of a temporary dir")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # child mode: one size, JSON out
    args = parser.parse_args()
    sizes = args.services or list(DEFAULT_SIZES)
    if args.one:
        workdir = args.keep or Path(tempfile.mkdtemp(prefix="ncbench-"))
        print(json.dumps(run_one(sizes[0], args.endpoints, workdir, args.profile)))
        return
    with tempfile.TemporaryDirectory(prefix="ncbench-") as tmp:
        workdir = args.keep or Path(tmp)
        rows = []
        for n in sizes:
            cmd = [
                sys.executable,
                __file__,
                "--one",
                "--services",
                str(n),
                "--endpoints",
                str(args.endpoints),
                "--keep",
                str(workdir),
            ]
            if args.profile:
                cmd.append("--profile")
            row = run_child(cmd)
            rows.append(row)
            print(_format(row), flush=True)


def _format(row: dict[str, object]) -> str:
    return (
        f"{row['services']:>6} Services x {row['endpoints']} endpoints | manifest {mb(row['manifest_bytes'])} | "
        f"compile {row['compile_s']} s (parse {row['parse_s']}, index {row['index_s']}, "
        f"compile+render {row['compile_render_s']}, of which render {row['render_s']}) | "
        f"nft -f {row['load_s']} s | total {row['total_s']} s | "
        f"compile/load {row['compile_over_load']} | ruleset {mb(row['bytes'])}, {row['lines']} lines, "
        f"{row['chains']} chains, {row['rules']} rules, {row['elements']} elements | "
        f"peak RSS {row['peak_rss_mib']} MiB ({row['peak_rss_after_parse_mib']} MiB after parsing)"
    )


if __name__ == "__main__":
    main()
