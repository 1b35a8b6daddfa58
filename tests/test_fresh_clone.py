"""The README's first command on a fresh clone: `make demo` builds a new virtualenv from uv.lock and
compiles the bundled example, end to end. This is what a new user does first; it failed on main once
(no build/ folder, an unpinned PyYAML), and nothing in the suite noticed because the suite ran in a
virtualenv that already existed.

The clone is of the committed HEAD (in CI, the submitted main). Debian packages are already installed
when the suite runs (`make test` installed them), so this checks the Python side: uv from tools/uv.txt,
.venv from uv.lock, the C reader built, netcompile on the example, libnftables on the result.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.kernel  # `make demo` ends with `netcompile check`: a load in a scratch netns


def _clean_env() -> dict[str, str]:
    """The environment of a user's shell: none of the outer `make test`'s variables (uv's, make's)."""
    outer = ("UV_", "VIRTUAL_ENV", "PYTHON", "MAKE", "MFLAGS")
    return {k: v for k, v in os.environ.items() if not k.startswith(outer)}


def _git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.fail("the fresh-clone test needs git and netcompile's repository")
    target = tmp_path_factory.mktemp("fresh") / "netcompile"
    _git("clone", "--quiet", "--no-hardlinks", str(ROOT), str(target))
    return target


def test_make_demo_on_a_fresh_clone(clone: Path) -> None:
    env = _clean_env()
    started = time.monotonic()
    done = subprocess.run(["make", "demo"], cwd=clone, env=env, capture_output=True, text=True, timeout=900)
    took = time.monotonic() - started
    assert done.returncode == 0, f"make demo failed after {took:.0f} s:\n{done.stdout}\n{done.stderr}"
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("compiled examples/ to build/examples.nft (") and last.endswith("libnftables accepts it")
    assert (clone / "build" / "examples.nft").read_text().startswith("#!/usr/sbin/nft -f\n")
    # The new virtualenv is exactly the lock: uv's own check, and the C reader was built.
    uv = clone / ".uv" / "bin" / "uv"
    check = subprocess.run(
        [str(uv), "sync", "--locked", "--check"],
        cwd=clone,
        env={**env, "UV_PROJECT_ENVIRONMENT": ".venv", "UV_PYTHON": "/usr/bin/python3", "UV_PYTHON_DOWNLOADS": "never"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    assert "Would make no changes" in check.stderr
    python = clone / ".venv" / "bin" / "python"
    subprocess.run([str(python), "-c", "import netcompile.load._fastyaml, nftables"], check=True)

    # Idempotent: a second run installs nothing and writes the same ruleset.
    before = (clone / "build" / "examples.nft").read_bytes()
    again = subprocess.run(["make", "demo"], cwd=clone, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "installing Debian packages" not in again.stdout and "pip install" not in again.stdout
    assert (clone / "build" / "examples.nft").read_bytes() == before
