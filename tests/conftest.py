"""Shared fixtures: compile YAML text in a temporary directory, and gate kernel tests.

Kernel tests (marker `kernel`) need root and nftables. On a developer machine without them they are
skipped with the reason; under CI (CI=true) a missing prerequisite is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import pytest

from netcompile.compile.compiler import CompileOptions, Output
from netcompile.compile.index import Cluster
from netcompile.pipeline import compile_paths

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")  # the one definition: import it, read no $CI


def kernel_available() -> str | None:
    """None when kernel tests can run here, else why not."""
    if os.geteuid() != 0:
        return "needs root"
    if shutil.which("ip") is None or shutil.which("nft") is None:
        return "needs iproute2 and nftables"
    try:
        import nftables  # noqa: F401
    except ImportError:
        return "needs python3-nftables"
    return None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", help="rewrite golden/*/expected.nft")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = kernel_available()
    if reason is None or IN_CI:  # in CI they run, and fail loudly if the machine cannot run them
        return
    for item in items:
        if "kernel" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


CompileYaml = Callable[..., tuple[Cluster, Output]]


class WriteYaml(Protocol):
    def __call__(self, text: str, name: str = "input.yaml") -> Path: ...


@pytest.fixture
def write_yaml(tmp_path: Path) -> WriteYaml:
    """Write dedented YAML to a file in a fresh directory; returns the directory."""

    def write(text: str, name: str = "input.yaml") -> Path:
        (tmp_path / name).write_text(textwrap.dedent(text))
        return tmp_path

    return write


@pytest.fixture
def compile_yaml(write_yaml: WriteYaml) -> CompileYaml:
    """Compile dedented YAML text with CompileOptions keywords; returns (cluster, output)."""

    def run(text: str, **options: object) -> tuple[Cluster, Output]:
        directory = write_yaml(text, "input.yaml")
        return compile_paths([str(directory)], CompileOptions(**options))  # type: ignore[arg-type]

    return run
