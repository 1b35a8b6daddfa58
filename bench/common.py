"""What both benchmarks measure the same way: the size of a ruleset, and its load time in the kernel."""

from __future__ import annotations

import compileall
import json
import os
import subprocess
import time
from pathlib import Path

from netcompile.verify.interpreter.parser import parse


def ruleset_size(text: str) -> dict[str, int]:
    """Bytes, lines, chains, rules and set/map elements of a ruleset, as the interpreter's parser reads it.

    Parsing also means a ruleset outside the interpreter's closed vocabulary fails here, loudly.
    """
    tables, _ = parse(text)
    all_chains = [chain for table in tables.values() for chain in table.chains.values()]
    chains = len(all_chains)
    rules = sum(len(chain.rules) for chain in all_chains)
    elements = sum(len(definition.elements) for table in tables.values() for definition in table.sets.values())
    return {
        "bytes": len(text.encode()),
        "lines": text.count("\n"),
        "chains": chains,
        "rules": rules,
        "elements": elements,
    }


def nft_load(path: Path) -> float | None:
    """Seconds `nft -f` takes in a scratch network namespace, or None when that cannot be done here."""
    if os.geteuid() != 0:
        return None
    netns = f"ncbench{os.getpid()}"  # run-unique; removed whatever happens
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        start = time.perf_counter()
        done = subprocess.run(["ip", "netns", "exec", netns, "nft", "-f", str(path)], capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"nft -f {path} failed:\n{done.stderr[:2000]}")
        return elapsed
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=True)


def installed_bytecode() -> None:
    """Compile netcompile's modules to bytecode beside them, as installing the package does. A benchmark
    that times `netcompile` in a fresh process then measures what a user's installed copy does: where
    PYTHONDONTWRITEBYTECODE is set (as on this machine), a checkout otherwise compiles every module it
    imports from source on every run, which adds about 0.1 s to each `netcompile matrix` here."""
    package = Path(__file__).resolve().parent.parent / "netcompile"
    if not compileall.compile_dir(str(package), quiet=1):
        raise SystemExit(f"cannot compile {package} to bytecode")


def run_child(cmd: list[str]) -> dict[str, object]:
    """Run one size in a child process (so its peak memory is its own); its last line is a JSON row."""
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    row: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return row


def mb(value: object) -> str:
    assert isinstance(value, int)
    return f"{value / 1e6:.1f} MB"
