"""What both benchmarks measure the same way: the size of a ruleset, and its load time in the kernel."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path


def ruleset_size(text: str) -> dict[str, int]:
    chains = rules = elements = 0
    in_elements = False
    in_chain = False
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("chain "):
            chains += 1
            in_chain = True
        elif s.startswith(("map ", "set ")):
            in_chain = False
        elif s == "elements = {":
            in_elements = True
        elif in_elements and s == "}":
            in_elements = False
        elif in_elements:
            elements += 1
        elif in_chain and s and not s.startswith(("comment ", "type ", "}")):
            rules += 1
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


def run_child(cmd: list[str]) -> dict[str, object]:
    """Run one size in a child process (so its peak memory is its own); its last line is a JSON row."""
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    row: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return row


def mb(value: object) -> str:
    assert isinstance(value, int)
    return f"{value / 1e6:.1f} MB"
