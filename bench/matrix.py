"""Benchmark: who reaches whom (issue 16), by equivalence classes, beside network-config-analyzer.

Not a test: run on demand:

    .venv/bin/python bench/matrix.py                              # 200x40, 1000x200, 5000x1000
    .venv/bin/python bench/matrix.py --pods 1000 --policies 200 --runs 7 --nca-runs 3
    .venv/bin/python bench/matrix.py --no-nca                     # netcompile alone
    .venv/bin/python bench/matrix.py --series --no-nca            # growth with the classes fixed

The cluster is bench/policies.py's (20 namespaces, apps of 10 pods, named ports resolving differently,
five policy shapes with pod, namespace and ipBlock peers). Both tools read the same manifest file.

netcompile is measured as a user runs it: `netcompile matrix DIR` in a fresh process, its modules compiled to
bytecode first as installing it does (start-up, imports,
load, complete, compile every node, classes, one journey per cell key by both the reference evaluator and
the interpreter of the compiled ruleset's text, the table printed), `--runs` times; the row gives the
median wall time and the range, the median CPU time (user + system: less sensitive to other work on a
shared machine), and the peak RSS of the largest run. One more child runs the same pipeline in process
to count classes of pods, cells (pod by pod), journeys and disagreements, and to take its phases' CPU
time (their sum leaves out start-up and the printing of the table).

network-config-analyzer (PyPI `network-config-analyzer`, IBM) runs on the same manifest, in its own
virtualenv (default /tmp/nca; created and installed with pip when missing and the network allows it):
`nca --connectivity DIR -r DIR --output_endpoints pods`, `--nca-runs` times, interleaved with
netcompile's runs so that both see the same load on the machine; the ratio is its median over
netcompile's, of wall time and of CPU time. When it cannot be installed, or runs past --nca-timeout, the row says so.

`netcompile diff` (issue 16: it must meet the same times) is timed too, `--diff-runs` times per size, on
the cluster against a copy with its first NetworkPolicy removed: both versions loaded, compiled, parsed
and evaluated, every pod pair's change found (the bench's pods are bare: each is a group of its own).

`--series` grows pods and policies together with the classes fixed (the same apps per namespace, so
the same shapes repeated: more pods per app, more policies per app) and prints netcompile's time per
(pods + policies): about constant when the time grows linearly with them.

Goals (issue 16): 1 000 x 200 in under 2 s and at least 50x faster than network-config-analyzer,
5 000 x 1 000 in under 30 s, under 1 GiB; linear in pods + policies for a fixed number of classes.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench.policies  # noqa: E402
from bench.common import installed_bytecode, run_child  # noqa: E402

SIZES = ((200, 40), (1_000, 200), (5_000, 1_000))
SERIES = ((500, 100), (1_000, 200), (2_000, 400), (4_000, 800))
SERIES_APPS = 5  # apps per namespace in --series: 20 namespaces x 5 apps x 2 http ports + coredns = 201 classes
NCA_VENV = Path("/tmp/nca")
PR_SET_CHILD_SUBREAPER = 36  # prctl(2)


def run_one(folder: Path) -> dict[str, object]:
    """One size, in this process: the whole matrix by classes, its CPU time by phase."""
    from netcompile.analysis import ClassMatrix, matrix_pods
    from netcompile.journeys import Network
    from netcompile.pipeline import CompileArgs, compile_nodes, complete, load

    gc.disable()  # as `netcompile matrix` does (gcpause.paused_gc)
    clock = time.process_time  # CPU time: other work on a shared machine inflates wall times
    t0 = clock()
    args = CompileArgs()
    opts, parse = args.check()
    completed = complete(load([str(folder)], parse=parse), args.complete_options())
    t_load = clock()
    net = Network(compile_nodes(completed, opts), opts)
    t_compile = clock()
    for view in net.views.values():
        view.ruleset  # noqa: B018  (the text parsed by the interpreter: timed apart)
    t1 = clock()
    shown, _ = matrix_pods(net)
    matrix = ClassMatrix(net, shown, [], None)
    t2 = clock()
    survey = matrix.survey()
    t3 = clock()
    return {
        "pods": len(shown),
        "classes": len(matrix.classes),
        "cells": survey.cells,
        "journeys": survey.journeys,
        "disagreements": survey.disagreements,
        "compile_s": round(t1 - t0, 3),  # load, complete, compile and parse
        "phases": f"load {t_load - t0:.2f}, compile {t_compile - t_load:.2f}, parse {t1 - t_compile:.2f}, "
        f"classes {t2 - t1:.2f}, journeys {t3 - t2:.2f}",
        "ruleset_mb": round(sum(len(v.compiled.output.text) for v in net.views.values()) / 1e6, 1),
        "classes_s": round(t2 - t1, 3),
        "journeys_s": round(t3 - t2, 3),
        "total_s": round(t3 - t0, 3),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def write_input(pods: int, policies: int, workdir: Path, apps: int | None = None) -> Path:
    """The generated cluster's folder (written once: both tools read the same file). `apps`: that many
    apps per namespace whatever the number of pods (the classes fixed), else bench/policies.py's."""
    folder = workdir / (f"matrix-{pods}x{policies}" + (f"-apps{apps}" if apps else ""))
    if not (folder / "manifest.yaml").exists():
        folder.mkdir(parents=True, exist_ok=True)
        if apps:
            with mock.patch.object(bench.policies, "apps_per_namespace", lambda pods: apps):
                text = bench.policies.manifest(pods, policies)
        else:
            text = bench.policies.manifest(pods, policies)
        (folder / "manifest.yaml").write_text(text)
    return folder


def without_first_policy(folder: Path) -> Path:
    """A copy of the cluster's folder with its first NetworkPolicy removed (the other version of a diff)."""
    other = folder.parent / f"{folder.name}-less-one-policy"
    if not (other / "manifest.yaml").exists():
        other.mkdir(parents=True, exist_ok=True)
        docs = (folder / "manifest.yaml").read_text().split("\n---\n")
        first = next(n for n, doc in enumerate(docs) if "kind: NetworkPolicy" in doc)
        (other / "manifest.yaml").write_text("\n---\n".join(docs[:first] + docs[first + 1 :]))
    return other


def netcompile_command(folder: Path) -> list[str]:
    """`netcompile matrix FOLDER` as a user runs it: the console script beside this Python, if installed."""
    script = Path(sys.executable).parent / "netcompile"
    program = [str(script)] if script.exists() else [sys.executable, "-m", "netcompile"]
    return [*program, "matrix", str(folder)]


def diff_command(folder: Path) -> list[str]:
    """`netcompile diff FOLDER OTHER`, OTHER without the first policy."""
    return [*netcompile_command(folder)[:-2], "diff", str(folder), str(without_first_policy(folder))]


class Run(NamedTuple):
    wall: float  # seconds
    cpu: float  # seconds of CPU (user + system): less sensitive than wall time to other work on the machine
    rss: float  # peak RSS, MiB
    code: int


def timed(cmd: list[str], timeout: float | None = None) -> Run:
    """One run of `cmd` in a fresh process, output discarded. Raises subprocess.TimeoutExpired (the process
    killed) past `timeout` (then checked every 50 ms)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        pid, status, usage = os.wait4(proc.pid, 0 if timeout is None else os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - start > (timeout or 0.0):
            proc.kill()
            os.wait4(proc.pid, 0)
            raise subprocess.TimeoutExpired(cmd, timeout or 0.0)
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
    wall = time.perf_counter() - start
    cpu, rss = usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024
    # netcompile's helper process may end after it (forked.Helper.close does not wait for its exit): as
    # this process is their subreaper (`adopt_orphans`), it is reaped here and its CPU counted with the run's
    while True:
        try:
            _, _, orphan = os.wait4(-1, 0)
        except ChildProcessError:
            break
        cpu += orphan.ru_utime + orphan.ru_stime
        rss = max(rss, orphan.ru_maxrss / 1024)
    return Run(wall, cpu, rss, proc.returncode)


def adopt_orphans() -> None:
    """Make this process the subreaper of the commands it runs (Linux's PR_SET_CHILD_SUBREAPER): a process
    they leave behind becomes this one's child when they end, not init's, so that `timed` counts its CPU."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


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


def nca_command(venv: Path, folder: Path) -> list[str]:
    out = folder.parent / f"{folder.name}.nca.txt"
    where = ["--connectivity", str(folder), "-r", str(folder)]
    return [str(venv / "bin" / "nca"), *where, "--output_endpoints", "pods", "-o", "txt", "-f", str(out)]


def spread(runs: list[Run]) -> str:
    """`median s (min-max, n runs; CPU median s)`."""
    walls = [r.wall for r in runs]
    cpu = statistics.median(r.cpu for r in runs)
    if len(runs) == 1:
        return f"{walls[0]:.2f} s (CPU {cpu:.2f} s)"
    return f"{statistics.median(walls):.2f} s ({min(walls):.2f}-{max(walls):.2f}, {len(runs)} runs; CPU {cpu:.2f} s)"


def measure(
    folder: Path, runs: int, nca_runs: int, why_not: str | None, timeout: float, venv: Path
) -> tuple[list[Run], list[Run], str]:
    """netcompile's runs and network-config-analyzer's, interleaved; and why the latter did not run (if so)."""
    ours: list[Run] = []
    theirs: list[Run] = []
    nca_note = why_not or ""
    for n in range(max(runs, 0 if why_not else nca_runs)):
        if n < runs:
            run = timed(netcompile_command(folder))
            if run.code not in (0, 1):
                raise SystemExit(f"netcompile matrix {folder} failed (exit {run.code})")
            ours.append(run)
        if n < nca_runs and not nca_note:
            try:
                run = timed(nca_command(venv, folder), timeout)
            except subprocess.TimeoutExpired:
                nca_note = f"did not finish within {timeout:.0f} s (stopped)"
                continue
            if run.code != 0 and not (folder.parent / f"{folder.name}.nca.txt").exists():
                nca_note = f"failed (exit {run.code})"
                continue
            theirs.append(run)
    return ours, theirs, nca_note


def table(args: argparse.Namespace, sizes: list[tuple[int, int]], workdir: Path, why_not: str | None) -> None:
    print(
        "| pods x policies | classes | cells | journeys | netcompile matrix (CLI, median) | in process "
        "| peak RSS | network-config-analyzer (median) | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|", flush=True)
    for pods, policies in sizes:
        folder = write_input(pods, policies, workdir)
        row = run_child([sys.executable, __file__, "--one", str(folder)])
        ours, theirs, nca_note = measure(folder, args.runs, args.nca_runs, why_not, args.nca_timeout, args.nca_venv)
        mine, mine_cpu = statistics.median(r.wall for r in ours), statistics.median(r.cpu for r in ours)
        if theirs:
            wall_ratio = statistics.median(r.wall for r in theirs) / mine
            cpu_ratio = statistics.median(r.cpu for r in theirs) / mine_cpu
            nca_text, ratio = spread(theirs), f"{wall_ratio:.0f}x (CPU {cpu_ratio:.0f}x)"
        else:
            nca_text = nca_note or "not run"
            ratio = f"> {args.nca_timeout / mine:.0f}x" if nca_text.startswith("did not finish") else "-"
        print(
            f"| {pods} x {policies} | {row['classes']} | {row['cells']} | {row['journeys']} | {spread(ours)} | "
            f"{row['total_s']} s (compile+parse {row['compile_s']}, classes {row['classes_s']}, "
            f"journeys {row['journeys_s']}) | {max(r.rss for r in ours):.0f} MiB | {nca_text} | {ratio} |",
            flush=True,
        )
        if row["disagreements"]:
            print(f"  {row['disagreements']} cells where the compiled ruleset disagrees with the reference")
    if args.diff_runs:
        print("\n| pods x policies | netcompile diff, a policy removed (CLI, median) | peak RSS |")
        print("|---|---|---|", flush=True)
        for pods, policies in sizes:
            folder = write_input(pods, policies, workdir)
            runs = [timed(diff_command(folder)) for _ in range(args.diff_runs)]
            if any(r.code not in (0, 1) for r in runs):
                raise SystemExit(f"netcompile diff on {folder} failed")
            print(f"| {pods} x {policies} | {spread(runs)} | {max(r.rss for r in runs):.0f} MiB |", flush=True)


def series(args: argparse.Namespace, sizes: list[tuple[int, int]], workdir: Path) -> None:
    """Pods and policies growing together, the classes fixed: time per (pods + policies)."""
    print(f"\nSeries: {SERIES_APPS} apps per namespace whatever the size (the classes fixed)\n")
    print(
        "| pods x policies | pods + policies | classes | journeys | ruleset | netcompile matrix (CLI, median) "
        "| per (pods + policies) | in process (s) |"
    )
    print("|---|---|---|---|---|---|---|---|", flush=True)
    for pods, policies in sizes:
        folder = write_input(pods, policies, workdir, apps=SERIES_APPS)
        row = run_child([sys.executable, __file__, "--one", str(folder)])
        ours = [timed(netcompile_command(folder)) for _ in range(args.runs)]
        per = statistics.median(r.wall for r in ours) / (pods + policies) * 1e6
        per_cpu = statistics.median(r.cpu for r in ours) / (pods + policies) * 1e6
        print(
            f"| {pods} x {policies} | {pods + policies} | {row['classes']} | {row['journeys']} | "
            f"{row['ruleset_mb']} MB | {spread(ours)} | {per:.0f} µs (CPU {per_cpu:.0f} µs) | {row['phases']} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", type=int, action="append", help="P (with --policies; repeatable)")
    parser.add_argument("--policies", type=int, action="append", help="Q, paired with --pods in order")
    parser.add_argument("--runs", type=int, default=5, help="netcompile's runs per size (5)")
    parser.add_argument("--nca-runs", type=int, default=1, help="network-config-analyzer's runs per size (1)")
    parser.add_argument("--no-nca", action="store_true", help="do not run network-config-analyzer")
    parser.add_argument("--nca-venv", type=Path, default=NCA_VENV, help="its virtualenv (default /tmp/nca)")
    parser.add_argument("--nca-timeout", type=float, default=900.0, help="seconds it may run per size (900)")
    parser.add_argument("--diff-runs", type=int, default=3, help="netcompile diff's runs per size (3; 0: none)")
    parser.add_argument("--series", action="store_true", help="the growth series (classes fixed) instead")
    parser.add_argument("--keep", type=Path, help="write the inputs here instead of a temporary dir")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # child mode: one folder, JSON out
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    adopt_orphans()
    installed_bytecode()  # netcompile timed as installed (network-config-analyzer's pip install compiled its own)
    default = SERIES if args.series else SIZES
    sizes = list(zip(args.pods, args.policies, strict=True)) if args.pods else list(default)
    with tempfile.TemporaryDirectory(prefix="ncmbench-") as tmp:
        workdir = args.keep or Path(tmp)
        if args.series:
            series(args, sizes, workdir)
            return
        why_not = "not run (--no-nca)" if args.no_nca else nca_ready(args.nca_venv)
        if why_not:
            print(why_not, flush=True)
        table(args, sizes, workdir, why_not)


if __name__ == "__main__":
    main()
