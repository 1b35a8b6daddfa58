"""Side by side: bench/services.py on this tree and on an earlier commit, alternately, in one run.

Not a test: run on demand, as root (for the `nft -f` load in a scratch network namespace):

    .venv/bin/python bench/compare.py                          # against 5f897d6, 10k Services, 4 rounds
    .venv/bin/python bench/compare.py --baseline HEAD~3 --services 1000 --rounds 6

This machine is shared and its speed changes with its host, so one number from each tree at different
times says little. Here each round runs the baseline and then this tree (the order alternating from round
to round), each size in a fresh process of its own, and the ratio is taken of the medians.

The baseline is exported with `git archive` into a temporary folder (the work tree and the repository's
worktree list are untouched) and its C extensions are built there with gcc from its own pyproject.toml,
so each side reads YAML with its own C reader. Both sides run with this interpreter and its packages.
The default baseline, 5f897d6, is main as it was when issue 14 (the architecture rework) was filed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BASELINE = "5f897d6"
FIELDS = ("compile_s", "parse_s", "compile_render_s", "load_s", "total_s", "peak_rss_mib")


def export(rev: str, into: Path) -> str:
    """The tree of `rev` in `into`, with its C extensions built; returns the full commit id."""
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into)  # our own repository's archive (3.11.2 has no extraction filters)
    build_extensions(into)
    map_package_dirs(into)
    return commit


def map_package_dirs(tree: Path) -> None:
    """Symlinks for the tree's `[tool.setuptools.package-dir]` (templates/ is `netcompile.templates`), so
    that its packages import from the tree itself and not through this checkout's editable install."""
    config = tomllib.loads((tree / "pyproject.toml").read_text())
    for package, folder in config.get("tool", {}).get("setuptools", {}).get("package-dir", {}).items():
        link = tree / package.replace(".", "/")
        if package and not link.exists():
            link.symlink_to((tree / folder).resolve(), target_is_directory=True)


def build_extensions(tree: Path) -> None:
    """gcc for each `[[tool.setuptools.ext-modules]]` of the tree's pyproject.toml (as setuptools would)."""
    config = tomllib.loads((tree / "pyproject.toml").read_text())
    modules = config.get("tool", {}).get("setuptools", {}).get("ext-modules", [])
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    for module in modules:
        target = tree / (module["name"].replace(".", "/") + suffix)
        sources = [str(tree / s) for s in module["sources"]]
        libraries = [f"-l{lib}" for lib in module.get("libraries", [])]
        include = sysconfig.get_paths()["include"]
        subprocess.run(
            ["gcc", "-shared", "-fPIC", "-O2", f"-I{include}", *sources, *libraries, "-o", str(target)], check=True
        )


def run(tree: Path, services: int, endpoints: int, workdir: Path) -> dict[str, float]:
    """One size of bench/services.py in a fresh process, with `tree` first on the import path."""
    cmd = [
        sys.executable,
        str(tree / "bench" / "services.py"),
        "--one",
        "--services",
        str(services),
        "--endpoints",
        str(endpoints),
        "--keep",
        str(workdir),
    ]
    done = subprocess.run(
        cmd, stdout=subprocess.PIPE, text=True, check=True, env={**os.environ, "PYTHONPATH": str(tree)}
    )
    row = json.loads(done.stdout.strip().splitlines()[-1])
    return {key: float(row[key]) for key in FIELDS if row.get(key) is not None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help=f"a commit (default {DEFAULT_BASELINE})")
    parser.add_argument("--current", help="a commit to measure instead of the work tree (exported like the baseline)")
    parser.add_argument("--services", type=int, default=10_000, help="Services (default 10k)")
    parser.add_argument("--endpoints", type=int, default=10, help="endpoints per Service (default 10)")
    parser.add_argument("--rounds", type=int, default=4, help="runs of each tree (default 4)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nccompare-") as tmp:
        base_tree = Path(tmp) / "baseline"
        commit = export(args.baseline, base_tree)
        trees = {f"baseline {commit[:7]}": base_tree, "this tree": ROOT}
        if args.current:
            current = export(args.current, Path(tmp) / "current")
            trees = {f"baseline {commit[:7]}": base_tree, f"current {current[:7]}": Path(tmp) / "current"}
        results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for round_ in range(args.rounds):
            order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
            for name in order:
                workdir = Path(tmp) / f"work-{round_}-{name.split()[0]}"
                workdir.mkdir()
                row = run(trees[name], args.services, args.endpoints, workdir)
                results[name].append(row)
                shown = ", ".join(f"{k} {v:g}" for k, v in row.items())
                print(f"round {round_ + 1} {name}: {shown}", flush=True)
        print(f"\n{args.services} Services x {args.endpoints} endpoints, {args.rounds} rounds; medians (range):")
        medians: dict[str, dict[str, float]] = {}
        for name, rows in results.items():
            medians[name] = {k: statistics.median(r[k] for r in rows) for k in FIELDS if all(k in r for r in rows)}
            line = ", ".join(
                f"{k} {medians[name][k]:.2f} ({min(r[k] for r in rows):.2f}-{max(r[k] for r in rows):.2f})"
                for k in medians[name]
            )
            print(f"  {name}: {line}")
        base, this = medians.values()
        ratios = ", ".join(f"{k} {this[k] / base[k]:.3f}" for k in this if base.get(k))
        print(f"  {list(trees)[1]} / baseline: {ratios}")


if __name__ == "__main__":
    main()
