"""The gate and the hooks a repository of manifests uses (issue 17.5): `compile --check FILE [--update]`,
and `.pre-commit-hooks.yaml` run by the real pre-commit against a scratch Git repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcompile.cli import app
from tests.conftest import ROOT
from tests.test_diff import repository

runner = CliRunner()


def test_the_gate(tmp_path: Path) -> None:
    folder = repository(tmp_path, "k8s")
    committed = tmp_path / "node.nft"
    assert runner.invoke(app, ["compile", str(folder), "--check", str(committed)]).exit_code == 1  # no file yet
    assert runner.invoke(app, ["compile", str(folder), "--check", str(committed), "--update"]).exit_code == 0
    fresh = runner.invoke(app, ["compile", str(folder), "--check", str(committed)])
    assert fresh.exit_code == 0 and "up to date" in fresh.stderr
    policies = folder / "policies.yaml"
    policies.write_text(policies.read_text().replace("port: 8080", "port: 8443"))
    stale = runner.invoke(app, ["compile", str(folder), "--check", str(committed)])
    assert stale.exit_code == 1 and "is stale" in stale.stderr
    assert "-\t\tip daddr" in stale.stdout or "tcp . 8443" in stale.stdout  # the diff, on stdout
    assert "8443" not in committed.read_text()  # --check alone writes nothing
    for bad in (["--update"], ["--check", str(committed), "-o", str(tmp_path / "x")], ["--check", "x", "--all-nodes"]):
        assert runner.invoke(app, ["compile", str(folder), *bad]).exit_code == 2


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args], check=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_hooks_with_pre_commit(tmp_path: Path) -> None:
    """pre-commit installs netcompile from this repository (at HEAD, as a user's `rev` would name a
    release) and runs both hooks: they pass on a repository whose ruleset is up to date, and the gate
    fails with the diff when a manifest changes without the ruleset."""
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    hooks = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", "HEAD:.pre-commit-hooks.yaml"], capture_output=True, check=False
    )
    if hooks.returncode != 0:
        pytest.fail("commit .pre-commit-hooks.yaml first: the hooks are installed from HEAD")
    repo = tmp_path / "manifests"
    repo.mkdir()
    _git(repo, "init", "-q")
    repository(repo, "k8s")
    (repo / "build").mkdir()
    assert runner.invoke(app, ["compile", str(repo / "k8s"), "-o", str(repo / "build" / "node.nft")]).exit_code == 0
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {ROOT}\n  rev: {head.stdout.strip()}\n  hooks:\n"
        "  - id: netcompile-lint\n    args: [k8s/, --disable, no-dns]\n"  # batch may not resolve names: known
        "  - id: netcompile-gate\n    args: [k8s/, --check, build/node.nft]\n"
    )
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "manifests and their ruleset")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "PRE_COMMIT_COLOR": "never"}
    pre_commit = [sys.executable, "-m", "pre_commit", "run", "--all-files"]
    passed = subprocess.run(pre_commit, cwd=repo, capture_output=True, text=True, env=env, check=False)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "netcompile lint" in passed.stdout and "Passed" in passed.stdout
    policies = repo / "k8s" / "policies.yaml"
    policies.write_text(policies.read_text().replace("port: 8080", "port: 8443"))
    failed = subprocess.run(pre_commit, cwd=repo, capture_output=True, text=True, env=env, check=False)
    assert failed.returncode == 1, failed.stdout
    assert "netcompile compiled ruleset up to date" in failed.stdout and "Failed" in failed.stdout
    assert "tcp . 8443" in failed.stdout and "is stale" in failed.stdout
