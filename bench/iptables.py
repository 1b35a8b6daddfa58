"""Benchmark: the two back ends side by side, from the same IR, at N Services x E endpoints (+ policies).

Not a test: run on demand (as root, for the loads in scratch network namespaces):

    .venv/bin/python bench/iptables.py                      # N = 10, 1k, 10k; 10 endpoints; 500 pods x 100 policies
    .venv/bin/python bench/iptables.py --services 1000 --runs 5 --no-legacy

The input is bench/services.py's manifest (N ClusterIP Services, one EndpointSlice of E ready endpoints
each) plus bench/policies.py's (P pods, Q NetworkPolicies of five shapes). Each size runs in a fresh child
process so that its peak memory (ru_maxrss) is its own. Per size, medians of `--runs` runs (wall clock):

- compile: reading the manifests, completion, index and `compile_cluster` (which renders nftables);
- render: `nft.render.render` and `iptables.render` of the same IR table;
- load: `nft -f` of the script; for the iptables back end's file, with iptables-nft and with
  iptables-legacy, the tools alone (`ipset restore`, `iptables-restore --noflush`, `ip6tables-restore
  --noflush` of its sections) and `apply_iptables` (netcompile's loader: it parses the file, reads what
  is loaded, then runs the same tools); each load in a new scratch network namespace, once;
- sizes of both outputs; peak RSS of the child (before any load).

Printed: one table (markdown) with the ratios iptables / nftables, then each row as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import policies, services  # noqa: E402
from bench.common import nft_load, run_child  # noqa: E402
from netcompile.compile.compiler import CompileOptions, Output, compile_cluster  # noqa: E402
from netcompile.compile.index import Cluster  # noqa: E402
from netcompile.host.iptables import apply_iptables  # noqa: E402
from netcompile.iptables import render as render_iptables  # noqa: E402
from netcompile.iptables import split_sections  # noqa: E402
from netcompile.load.manifests import load  # noqa: E402
from netcompile.nft.render import render as render_nft  # noqa: E402
from netcompile.pipeline import complete  # noqa: E402

DEFAULT_SIZES = (10, 1_000, 10_000)
VARIANTS = ("nft", "legacy")


def _median(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    times: list[float] = []
    result: object = None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _compile(inputs: Path) -> Output:
    return compile_cluster(Cluster(complete(load([str(inputs)]))), CompileOptions())


def iptables_load(text: str, variant: str) -> float | None:
    """Seconds `apply_iptables` takes in a new scratch network namespace, or None when not root."""
    if os.geteuid() != 0:
        return None
    netns = f"ncbenchipt{os.getpid()}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        start = time.perf_counter()
        apply_iptables(text, netns=netns, variant=variant)
        return time.perf_counter() - start
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=True)


def tools_load(text: str, variant: str) -> float | None:
    """Seconds the tools alone take, in a new scratch network namespace: `ipset restore`, then
    `iptables-restore --noflush` and `ip6tables-restore --noflush` (of `variant`) of the file's sections."""
    if os.geteuid() != 0:
        return None
    sections = split_sections(text)
    netns = f"ncbenchtools{os.getpid()}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        start = time.perf_counter()
        for tool, section in (
            ("ipset", "ipset"),
            (f"iptables-{variant}-restore", "iptables"),
            (f"ip6tables-{variant}-restore", "ip6tables"),
        ):
            args = ["ipset", "restore"] if tool == "ipset" else [tool, "--noflush"]
            done = subprocess.run(["ip", "netns", "exec", netns, *args], input=sections[section], text=True)
            if done.returncode != 0:
                raise SystemExit(f"{tool} refused the {section} section")
        return time.perf_counter() - start
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=True)


def run_one(
    n: int, endpoints: int, pods: int, policy_count: int, runs: int, legacy: bool, workdir: Path
) -> dict[str, object]:
    inputs = workdir / f"iptables-{n}x{endpoints}"
    inputs.mkdir(parents=True, exist_ok=True)
    text = services.manifest(n, endpoints) + (policies.manifest(pods, policy_count) if policy_count else "")
    (inputs / "manifest.yaml").write_text(text)
    compile_s, compiled = _median(lambda: _compile(inputs), runs)
    assert isinstance(compiled, Output)
    table = compiled.table
    nft_s, nft_text = _median(lambda: render_nft(table, ["bench"]), runs)
    ipt_s, ipt = _median(lambda: render_iptables(table, ["bench"]), runs)
    assert isinstance(nft_text, str)
    ipt_text = ipt.text  # type: ignore[attr-defined]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    nft_file = workdir / f"iptables-{n}x{endpoints}.nft"
    nft_file.write_text(nft_text)
    (workdir / f"iptables-{n}x{endpoints}.iptables").write_text(ipt_text)
    row: dict[str, object] = {
        "services": n,
        "endpoints": n * endpoints,
        "pods": pods,
        "policies": policy_count,
        "compile_s": round(compile_s, 3),
        "render_nft_s": round(nft_s, 3),
        "render_iptables_s": round(ipt_s, 3),
        "nft_bytes": len(nft_text.encode()),
        "iptables_bytes": len(ipt_text.encode()),
        "iptables_lines": ipt_text.count("\n"),
        "iptables_chains": sum(1 for line in ipt_text.splitlines() if line.startswith(":")),
        "peak_rss_mib": round(peak / 2**20, 1),
    }
    row["nft_load_s"] = _rounded(nft_load(nft_file))
    for variant in VARIANTS if legacy else VARIANTS[:1]:
        row[f"iptables_{variant}_tools_s"] = _rounded(tools_load(ipt_text, variant))
        row[f"iptables_{variant}_load_s"] = _rounded(iptables_load(ipt_text, variant))
    return row


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _ratio(a: object, b: object) -> str:
    if not isinstance(a, int | float) or not isinstance(b, int | float) or not b:
        return "-"
    return f"{a / b:.1f}x"


def _s(value: object) -> str:
    return "-" if value is None else f"{value} s"


def table(rows: list[dict[str, object]]) -> str:
    head = (
        "| Services x endpoints | compile | render nft | render iptables (/ nft, / compile) | size nft | "
        "size iptables (/ nft) | nft -f | iptables-nft: tools, apply (/ nft -f) | "
        "iptables-legacy: tools, apply (/ nft -f) | peak RSS |"
    )
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in rows:
        nft_mb, ipt_mb = r["nft_bytes"], r["iptables_bytes"]
        assert isinstance(nft_mb, int) and isinstance(ipt_mb, int)
        lines.append(
            f"| {r['services']:,} x {int(r['endpoints']) // max(int(r['services']), 1)} "  # type: ignore[call-overload]
            f"| {_s(r['compile_s'])} | {_s(r['render_nft_s'])} "
            f"| {_s(r['render_iptables_s'])} ({_ratio(r['render_iptables_s'], r['render_nft_s'])}, "
            f"{_ratio(r['render_iptables_s'], r['compile_s'])}) "
            f"| {nft_mb / 1e6:.2f} MB | {ipt_mb / 1e6:.2f} MB ({_ratio(ipt_mb, nft_mb)}), "
            f"{r['iptables_chains']} chains "
            f"| {_s(r['nft_load_s'])} | {_loads(r, 'nft')} | {_loads(r, 'legacy')} | {r['peak_rss_mib']} MiB |"
        )
    return "\n".join(lines)


def _loads(row: dict[str, object], variant: str) -> str:
    tools, apply = row.get(f"iptables_{variant}_tools_s"), row.get(f"iptables_{variant}_load_s")
    nft = row["nft_load_s"]
    return f"{_s(tools)} ({_ratio(tools, nft)}), {_s(apply)} ({_ratio(apply, nft)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, action="append", help="N (repeatable); default 10, 1k, 10k")
    parser.add_argument("--endpoints", type=int, default=10, help="endpoints per Service (default 10)")
    parser.add_argument("--pods", type=int, default=500, help="pods of the policies' cluster (default 500)")
    parser.add_argument("--policies", type=int, default=100, help="NetworkPolicies (default 100; 0: none)")
    parser.add_argument("--runs", type=int, default=3, help="runs of compile and renders, median (default 3)")
    parser.add_argument("--no-legacy", action="store_true", help="skip the iptables-legacy load")
    parser.add_argument("--keep", type=Path, help="write inputs and outputs here instead of a temporary dir")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # child mode: one size, JSON out
    args = parser.parse_args()
    sizes = args.services or list(DEFAULT_SIZES)
    if args.one:
        workdir = args.keep or Path(tempfile.mkdtemp(prefix="ncbench-"))
        row = run_one(sizes[0], args.endpoints, args.pods, args.policies, args.runs, not args.no_legacy, workdir)
        print(json.dumps(row))
        return
    with tempfile.TemporaryDirectory(prefix="ncbench-") as tmp:
        workdir = args.keep or Path(tmp)
        rows = []
        for n in sizes:
            cmd = [sys.executable, __file__, "--one", "--services", str(n), "--endpoints", str(args.endpoints)]
            cmd += ["--pods", str(args.pods), "--policies", str(args.policies), "--runs", str(args.runs)]
            cmd += ["--keep", str(workdir), *(["--no-legacy"] if args.no_legacy else [])]
            rows.append(run_child(cmd))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} (2-core machine shared with other work: compare within a row)")
    print(table(rows))
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
