"""Benchmark: who reaches whom (issue 16), by equivalence classes, beside network-config-analyzer.

Not a test: run on demand:

    .venv/bin/python bench/matrix.py                              # 200x40, 1000x200, 5000x1000
    .venv/bin/python bench/matrix.py --pods 1000 --policies 200 --nca-timeout 300
    .venv/bin/python bench/matrix.py --no-nca                     # netcompile alone

The cluster is bench/policies.py's (20 namespaces, apps of 10 pods, named ports resolving differently,
five policy shapes with pod, namespace and ipBlock peers). Each size runs in a fresh child process, so
its peak memory is its own. netcompile answers every cell of the matrix (every running pod to every
pod's declared port): load, complete, compile every node, classes, then one journey per cell key by
both the reference evaluator and the interpreter of the compiled ruleset. Printed per size: classes of
pods, cells, journeys made, the time by phase, peak RSS, and the wall time of the child process.

network-config-analyzer (PyPI `network-config-analyzer`, IBM) runs on the same manifest, in its own
virtualenv (default /tmp/nca; created and installed with pip when missing and the network allows it):
`nca --connectivity DIR -r DIR --output_endpoints pods`, the wall time of its process; the ratio is its
wall time over netcompile's. When it cannot be installed, or runs past --nca-timeout, the row says so.
Goals (issue 16): 1 000 x 200 in under 2 s, 5 000 x 1 000 in under 30 s, under 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import run_child  # noqa: E402
from bench.policies import manifest  # noqa: E402

SIZES = ((200, 40), (1_000, 200), (5_000, 1_000))
NCA_VENV = Path("/tmp/nca")


def run_one(pods: int, policies: int, workdir: Path) -> dict[str, object]:
    """One size, in this process: the whole matrix by classes, timed by phase."""
    from netcompile.analysis import ClassMatrix, matrix_pods
    from netcompile.journeys import Network
    from netcompile.pipeline import CompileArgs, compile_nodes, complete, load

    folder = write_input(pods, policies, workdir)
    t0 = time.perf_counter()
    args = CompileArgs()
    opts, parse = args.check()
    completed = complete(load([str(folder)], parse=parse), args.complete_options())
    net = Network(compile_nodes(completed, opts), opts)
    t1 = time.perf_counter()
    shown, _ = matrix_pods(net)
    matrix = ClassMatrix(net, shown, [], None)
    t2 = time.perf_counter()
    survey = matrix.survey()
    t3 = time.perf_counter()
    return {
        "pods": pods,
        "policies": policies,
        "classes": len(matrix.classes),
        "cells": survey.cells,
        "journeys": survey.journeys,
        "disagreements": survey.disagreements,
        "compile_s": round(t1 - t0, 3),
        "classes_s": round(t2 - t1, 3),
        "journeys_s": round(t3 - t2, 3),
        "total_s": round(t3 - t0, 3),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def write_input(pods: int, policies: int, workdir: Path) -> Path:
    """The generated cluster's folder (written once: both tools read the same file)."""
    folder = workdir / f"matrix-{pods}x{policies}"
    if not (folder / "manifest.yaml").exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "manifest.yaml").write_text(manifest(pods, policies))
    return folder


def nca_ready(venv: Path) -> str | None:
    """None when network-config-analyzer can run from `venv` (installed now if need be), else why not."""
    nca = venv / "bin" / "nca"
    if nca.exists():
        return None
    try:
        if not (venv / "bin" / "pip").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "network-config-analyzer"],
            check=True,
            capture_output=True,
            timeout=600,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        return f"network-config-analyzer could not be installed in {venv} ({type(exc).__name__}): not run"
    return None if nca.exists() else f"network-config-analyzer has no nca in {venv}: not run"


def run_nca(venv: Path, folder: Path, timeout: float) -> tuple[float | None, str]:
    """Wall time of `nca --connectivity` on `folder`, or None with why."""
    out = folder.parent / f"{folder.name}.nca.txt"
    cmd = [
        str(venv / "bin" / "nca"),
        "--connectivity",
        str(folder),
        "-r",
        str(folder),
        "--output_endpoints",
        "pods",
        "-o",
        "txt",
        "-f",
        str(out),
    ]
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"did not finish within {timeout:.0f} s (stopped)"
    elapsed = time.perf_counter() - start
    if done.returncode != 0 and not out.exists():
        return None, f"failed (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:]}"
    return elapsed, f"{elapsed:.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", type=int, action="append", help="P (with --policies; repeatable)")
    parser.add_argument("--policies", type=int, action="append", help="Q, paired with --pods in order")
    parser.add_argument("--no-nca", action="store_true", help="do not run network-config-analyzer")
    parser.add_argument("--nca-venv", type=Path, default=NCA_VENV, help="its virtualenv (default /tmp/nca)")
    parser.add_argument("--nca-timeout", type=float, default=900.0, help="seconds it may run per size (900)")
    parser.add_argument("--keep", type=Path, help="write the inputs here instead of a temporary dir")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # child mode: one size, JSON out
    args = parser.parse_args()
    sizes = list(zip(args.pods, args.policies, strict=True)) if args.pods else list(SIZES)
    if args.one:
        workdir = args.keep or Path(tempfile.mkdtemp(prefix="ncmbench-"))
        print(json.dumps(run_one(sizes[0][0], sizes[0][1], workdir)))
        return
    why_not = "not run (--no-nca)" if args.no_nca else nca_ready(args.nca_venv)
    if why_not:
        print(why_not, flush=True)
    with tempfile.TemporaryDirectory(prefix="ncmbench-") as tmp:
        workdir = args.keep or Path(tmp)
        print(
            "| pods x policies | classes | cells | journeys | netcompile | peak RSS | network-config-analyzer | ratio |"
        )
        print("|---|---|---|---|---|---|---|---|", flush=True)
        for pods, policies in sizes:
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
            write_input(pods, policies, workdir)
            start = time.perf_counter()
            row = run_child(cmd)
            wall = time.perf_counter() - start
            nca_s, nca_text = (
                (None, "not run")
                if why_not
                else run_nca(args.nca_venv, workdir / f"matrix-{pods}x{policies}", args.nca_timeout)
            )
            if nca_s is not None:
                ratio = f"{nca_s / wall:.0f}x"
            elif nca_text.startswith("did not finish"):
                ratio = f"> {args.nca_timeout / wall:.0f}x"  # it ran longer than the timeout
            else:
                ratio = "-"
            print(
                f"| {pods} x {policies} | {row['classes']} | {row['cells']} | {row['journeys']} | {wall:.2f} s "
                f"(in process {row['total_s']}: compile {row['compile_s']}, classes {row['classes_s']}, "
                f"journeys {row['journeys_s']}) | "
                f"{row['peak_rss_mib']} MiB | {nca_text} | {ratio} |",
                flush=True,
            )
            if row["disagreements"]:
                print(f"  {row['disagreements']} cells where the compiled ruleset disagrees with the reference")


if __name__ == "__main__":
    main()
