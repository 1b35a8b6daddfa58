"""Benchmark: reading with one process against two, side by side in one run.

Not a test: run on demand (no root needed):

    .venv/bin/python bench/readers.py                       # N = 1k, 10k Services; 10 endpoints each
    .venv/bin/python bench/readers.py --services 10000 --runs 9

`netcompile.load.manifests.load` (read + validate) of the input of bench/services.py, with `readers=1`
and `readers=2`, alternately, each run in a fresh process. Printed per size and reader count: the median,
fastest and slowest run, and the load average (1 minute) before and after, since what else the machine
runs decides whether a second process pays: `load()` reads with two only when the input is large and the
machine has two CPUs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.services import manifest  # noqa: E402

DEFAULT_SIZES = (1_000, 10_000)


def time_one(path: Path, readers: int) -> float:
    """Seconds to load `path` with `readers` processes, in a fresh interpreter."""
    code = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from netcompile.load.manifests import load\n"
        "t0 = time.perf_counter()\n"
        f"load([{str(path)!r}], readers={readers})\n"
        "print(time.perf_counter() - t0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, action="append", help="N (repeatable); default 1k, 10k")
    parser.add_argument("--endpoints", type=int, default=10, help="endpoints per Service (default 10)")
    parser.add_argument("--runs", type=int, default=7, help="runs per reader count (default 7)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ncbench-") as tmp:
        for n in args.services or DEFAULT_SIZES:
            path = Path(tmp) / f"services-{n}x{args.endpoints}.yaml"
            path.write_text(manifest(n, args.endpoints))
            before = os.getloadavg()[0]
            times: dict[int, list[float]] = {1: [], 2: []}
            for run in range(args.runs):
                for readers in (1, 2) if run % 2 == 0 else (2, 1):
                    times[readers].append(time_one(path, readers))
            after = os.getloadavg()[0]
            for readers, runs in times.items():
                print(
                    f"{n:>6} Services x {args.endpoints} endpoints | readers={readers} | "
                    f"median {statistics.median(runs):.3f} s (fastest {min(runs):.3f}, slowest {max(runs):.3f}, "
                    f"{len(runs)} runs) | load average {before:.2f} -> {after:.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
