"""libnftables through Debian's python3-nftables binding: dry-run checks, atomic loads, listings.

The binding is imported lazily, so everything that does not talk to the kernel works without it; when
it is missing, or the process lacks CAP_NET_ADMIN, the caller gets an `NftUnavailable` with a one-line
explanation instead of a traceback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Any


class NftUnavailable(Exception):
    """libnftables cannot be used here (not installed, or not allowed)."""


class NftRejected(Exception):
    """libnftables refused the script; the message is libnftables' own, with the offending line."""


@dataclass(frozen=True, slots=True)
class Result:
    output: str
    warnings: str
    scratch_loaded: bool = False  # `check` also loaded it in a throwaway network namespace


def _nft() -> Any:
    try:
        import nftables
    except ImportError as exc:
        raise NftUnavailable(
            "the libnftables Python binding is not importable: install Debian's python3-nftables "
            "(apt-get install python3-nftables) and run netcompile from the virtualenv `make setup` creates"
        ) from exc
    try:
        nft = nftables.Nftables()
    except OSError as exc:
        raise NftUnavailable(f"libnftables could not be loaded ({exc}): install Debian's nftables package") from exc
    nft.set_handle_output(False)
    return nft


def _privileged() -> None:
    if os.geteuid() != 0:
        raise NftUnavailable("talking to the kernel's nftables needs root (CAP_NET_ADMIN): run with sudo")


def run(script: str, *, dry_run: bool, name: str = "<script>") -> Result:
    """Feed `script` to libnftables as one transaction; with `dry_run` the kernel checks and discards it.

    The script goes through a temporary file: from a file, libnftables' error messages carry
    `file:line:col` and quote the offending line (from a string buffer they point at the wrong line).
    Messages name the script `name` instead of the temporary file.
    """
    _privileged()
    nft = _nft()
    nft.set_dry_run(dry_run)
    with tempfile.NamedTemporaryFile("w", prefix="netcompile-", suffix=".nft", encoding="utf-8") as f:
        f.write(script)
        f.flush()
        rc, out, err = nft.cmd_from_file(f.name)
        err = err.replace(f.name, name)
    if rc != 0:
        raise NftRejected(err.strip() or f"libnftables failed with code {rc}")
    return Result(out, err.strip())


# Run in a child process inside a private network namespace: load for real, report libnftables' error.
_SCRATCH_LOADER = """
import sys, nftables
nft = nftables.Nftables()
rc, _, err = nft.cmd_from_file(sys.argv[1])
sys.stderr.write(err.replace(sys.argv[1], sys.argv[2]))
sys.exit(0 if rc == 0 else 1)
"""


def check(script: str, name: str = "<script>") -> Result:
    """Validate without changing anything: a libnftables dry run, then a real load in a throwaway
    network namespace. The dry run alone misses what the kernel checks only on commit (a jump loop, a
    `dnat` reachable from a filter chain); the scratch namespace sees it and vanishes afterwards."""
    result = run(script, dry_run=True, name=name)
    if shutil.which("unshare") is None:
        return result  # util-linux missing: the dry run is all we can do
    with tempfile.NamedTemporaryFile("w", prefix="netcompile-", suffix=".nft", encoding="utf-8") as f:
        f.write(script)
        f.flush()
        proc = subprocess.run(
            ["unshare", "--net", sys.executable, "-c", _SCRATCH_LOADER, f.name, name],
            capture_output=True,
            text=True,
            timeout=300,
        )
    if proc.returncode != 0:
        raise NftRejected(proc.stderr.strip() or "the kernel refused the ruleset in a scratch network namespace")
    return Result(result.output, result.warnings, scratch_loaded=True)
