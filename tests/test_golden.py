"""Every golden case: compiled output equals expected.nft byte for byte, is deterministic, and loads.

`pytest --update-goldens` (or `make golden-update`) rewrites expected.nft from the current compiler.
"""

from __future__ import annotations

import pytest

from netcompile.golden import Case, check_cases, discover
from netcompile.host.nftlib import check
from tests.conftest import ROOT

CASES = discover(ROOT / "golden")


def test_there_are_golden_cases() -> None:
    assert len(CASES) >= 8


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_matches(case: Case, request: pytest.FixtureRequest) -> None:
    update = bool(request.config.getoption("--update-goldens"))
    problems = check_cases([case], update=update)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_is_deterministic(case: Case) -> None:
    assert case.compile().text == case.compile().text


@pytest.mark.kernel
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_loads_in_libnftables(case: Case) -> None:
    check(case.compile().text)


def test_output_does_not_depend_on_hash_seed() -> None:
    """Set and dict orders vary with PYTHONHASHSEED across processes; the output must not."""
    import subprocess
    import sys

    script = (
        "import hashlib, sys\n"
        "from netcompile.golden import discover\n"
        "h = hashlib.sha256()\n"
        "for c in discover(sys.argv[1]): h.update(c.compile().text.encode())\n"
        "print(h.hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script, str(ROOT / "golden")],
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(digests) == 1
