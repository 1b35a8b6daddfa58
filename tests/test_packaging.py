"""The built wheel holds every package and template: what users install is what the tests test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT


def _uv() -> str:
    """The uv that `make setup` installed (the virtualenv has no pip: it holds exactly uv.lock)."""
    found = ROOT / ".uv" / "bin" / "uv"
    if found.exists():
        return str(found)
    on_path = shutil.which("uv")
    assert on_path is not None, "no uv: run make setup"
    return on_path


def test_wheel_contains_every_module_and_template(tmp_path: Path) -> None:
    subprocess.run(
        [_uv(), "build", "--wheel", "--quiet", "--out-dir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        env={**os.environ, "UV_PYTHON": sys.executable, "UV_PYTHON_DOWNLOADS": "never"},
    )
    (wheel,) = tmp_path.glob("netcompile-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"netcompile/{p.relative_to(ROOT / 'netcompile')}" for p in (ROOT / "netcompile").rglob("*.py")} | {
        f"netcompile/templates/{p.name}" for p in (ROOT / "templates").iterdir() if p.suffix in (".j2", ".py")
    }
    expected |= {
        f"netcompile/load/schema/{p.name}" for p in (ROOT / "netcompile" / "load" / "schema").glob("k8s-v*.json")
    }
    assert any(name.endswith(".json") for name in expected)  # the API schema strict loading checks fields against
    assert expected - names == set()


def test_the_c_reader_is_built_from_every_c_file() -> None:
    """The C reader is one extension of several files (the module, the YAML reader, the JSON reader, the
    header they share): the build compiles each .c file, ships the header in the sdist (`depends`), and
    uv rebuilds the editable install when any of them changes (`cache-keys`)."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (extension,) = config["tool"]["setuptools"]["ext-modules"]
    load = ROOT / "netcompile" / "load"
    c_files = {f"netcompile/load/{p.name}" for p in load.glob("_fastyaml*.c")}
    headers = {f"netcompile/load/{p.name}" for p in load.glob("_fastyaml*.h")}
    assert extension["name"] == "netcompile.load._fastyaml"
    assert set(extension["sources"]) == c_files and len(c_files) == 3
    assert set(extension["depends"]) == headers and headers
    keys = {key["file"] for key in config["tool"]["uv"]["cache-keys"]}
    assert c_files | headers <= keys
