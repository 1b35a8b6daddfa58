"""The built wheel holds every package and template: what users install is what the tests test."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT


def test_wheel_contains_every_module_and_template(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("netcompile-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"netcompile/{p.relative_to(ROOT / 'netcompile')}" for p in (ROOT / "netcompile").rglob("*.py")} | {
        f"netcompile/templates/{p.name}" for p in (ROOT / "templates").iterdir() if p.suffix in (".j2", ".py")
    }
    assert expected - names == set()
