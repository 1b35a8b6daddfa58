"""The command line as users run it: exit codes, messages, atomic output, help."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcompile.cli import app
from tests.conftest import ROOT

runner = CliRunner()

GOOD = """apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: 10.96.0.10
  ports: [{port: 80}]
"""


def test_compile_to_stdout(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(GOOD)
    result = runner.invoke(app, ["compile", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("#!/usr/sbin/nft -f\n")
    assert "table inet netcompile {" in result.stdout


def test_bad_input_exit_2_all_errors_nothing_written(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD.replace("port: 80", "port: 0"))
    (tmp_path / "b.yaml").write_text("kind: [\n")
    out = tmp_path / "out.nft"
    out.write_text("previous\n")
    result = runner.invoke(app, ["compile", str(tmp_path), "-o", str(out)])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f'{tmp_path}/a.yaml:6:18: Service "default/web": spec.ports[0].port: Invalid value: 0')
    assert lines[1].startswith(f"{tmp_path}/b.yaml:2:1: YAML syntax error")
    assert lines[2] == "netcompile: 2 errors in the input; nothing was written"
    assert out.read_text() == "previous\n"
    assert "Traceback" not in result.output


def test_output_file_is_replaced_atomically(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(GOOD)
    out = tmp_path / "out" / "rules.nft"
    out.parent.mkdir()
    out.write_text("old")
    os.chmod(out, 0o600)
    result = runner.invoke(app, ["compile", str(tmp_path / "s.yaml"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("#!/usr/sbin/nft -f")
    assert out.stat().st_mode & 0o777 == 0o600  # the file keeps its mode
    assert sorted(p.name for p in out.parent.iterdir()) == ["rules.nft"]  # no temporary left behind


def test_failed_write_leaves_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "s.yaml").write_text(GOOD)
    out = tmp_path / "rules.nft"
    out.write_text("previous")

    def boom(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", boom)
    result = runner.invoke(app, ["compile", str(tmp_path / "s.yaml"), "-o", str(out)])
    assert result.exit_code == 2
    assert "cannot write" in result.stderr and "No space left on device" in result.stderr
    assert out.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rules.nft", "s.yaml"]


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(GOOD)
    result = runner.invoke(app, ["compile", str(tmp_path), "--cluster-cidr", "10.0.0.0/99"])
    assert result.exit_code == 2
    assert "--cluster-cidr '10.0.0.0/99': must be a valid CIDR value" in result.stderr
    result = runner.invoke(app, ["compile", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert "missing.yaml:1:1: cannot read: No such file or directory" in result.stderr
    assert runner.invoke(app, ["compile"]).exit_code == 2
    assert runner.invoke(app, ["no-such-verb"]).exit_code == 2


def test_several_nodes_need_node_flag(tmp_path: Path) -> None:
    (tmp_path / "n.yaml").write_text(
        "apiVersion: v1\nkind: Node\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Node\nmetadata: {name: b}\n"
    )
    result = runner.invoke(app, ["compile", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr == "netcompile: the input has 2 Nodes; choose one with --node\n"
    assert runner.invoke(app, ["compile", str(tmp_path), "--node", "b"]).exit_code == 0


@pytest.mark.parametrize("verb", ["compile", "check", "golden"])
def test_help_reads_well(verb: str) -> None:
    result = runner.invoke(app, [verb, "--help"])
    assert result.exit_code == 0
    assert "Usage: netcompile " + verb in result.stdout


def test_golden_verb_reports_drift(tmp_path: Path) -> None:
    case = tmp_path / "cases" / "one"
    case.mkdir(parents=True)
    (case / "in.yaml").write_text(GOOD)
    assert runner.invoke(app, ["golden", str(tmp_path / "cases")]).exit_code == 1  # expected.nft missing
    assert runner.invoke(app, ["golden", str(tmp_path / "cases"), "--update"]).exit_code == 0
    assert runner.invoke(app, ["golden", str(tmp_path / "cases")]).exit_code == 0
    (case / "in.yaml").write_text(GOOD.replace("80", "81"))
    result = runner.invoke(app, ["golden", str(tmp_path / "cases")])
    assert result.exit_code == 1
    assert "-\t\t\t10.96.0.10 . tcp . 80" in result.stderr and "+\t\t\t10.96.0.10 . tcp . 81" in result.stderr


def test_python_dash_m_and_installed_templates() -> None:
    """`python -m netcompile` works, and the templates are found through the installed package."""
    result = subprocess.run(
        [sys.executable, "-m", "netcompile", "compile", str(ROOT / "golden" / "basic-clusterip")],
        capture_output=True,
        text=True,
        cwd="/",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (ROOT / "golden" / "basic-clusterip" / "expected.nft").read_text()


@pytest.mark.kernel
def test_compile_then_check_from_stdin(tmp_path: Path) -> None:
    compiled = subprocess.run(
        [sys.executable, "-m", "netcompile", "compile", str(ROOT / "examples")], capture_output=True, check=True
    )
    checked = subprocess.run(
        [sys.executable, "-m", "netcompile", "check", "-"], input=compiled.stdout, capture_output=True
    )
    assert checked.returncode == 0, checked.stderr
    assert b"libnftables accepts the script" in checked.stderr


@pytest.mark.kernel
def test_check_rejects_broken_script_with_nft_message(tmp_path: Path) -> None:
    script = tmp_path / "bad.nft"
    script.write_text("table inet x {\n  chain c {\n    ip daddr 1.2.3.4 acept\n  }\n}\n")
    result = runner.invoke(app, ["check", str(script)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{script}:3:27-27: Error: syntax error, unexpected newline\n")
    assert "    ip daddr 1.2.3.4 acept\n" in result.stderr
    assert result.stderr.endswith("libnftables rejected the script\n")


@pytest.mark.kernel
def test_check_catches_what_only_the_kernel_sees(tmp_path: Path) -> None:
    """A jump loop passes libnftables' dry run; the load in a scratch namespace refuses it."""
    script = tmp_path / "loop.nft"
    script.write_text(
        "table inet x {\n  chain a {\n    jump b\n  }\n  chain b {\n    jump a\n  }\n"
        "  chain in {\n    type filter hook input priority 0; policy accept;\n    jump a\n  }\n}\n"
    )
    result = runner.invoke(app, ["check", str(script)])
    assert result.exit_code == 2
    assert f"{script}:10:5-10: Error: Could not process rule: Too many links" in result.stderr


def test_check_without_privilege_explains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "x.nft"
    script.write_text("table inet x\n")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = runner.invoke(app, ["check", str(script)])
    assert result.exit_code == 2
    assert result.stderr == "netcompile: talking to the kernel's nftables needs root (CAP_NET_ADMIN): run with sudo\n"


def test_check_without_binding_explains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "x.nft"
    script.write_text("table inet x\n")
    monkeypatch.setitem(sys.modules, "nftables", None)  # import fails as if the package were missing
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    result = runner.invoke(app, ["check", str(script)])
    assert result.exit_code == 2
    assert "the libnftables Python binding is not importable: install Debian's python3-nftables" in result.stderr
