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


def test_console_runs_without_the_cyclic_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    """The console script (pyproject's `netcompile`, and `python -m netcompile`) runs a command with the cyclic
    collector off (console.py says why), and leaves it as Python has it for library use."""
    import gc
    import tomllib

    import netcompile.cli
    from netcompile import console

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"netcompile": "netcompile.console:main"}
    assert "from .console import main" in (ROOT / "netcompile" / "__main__.py").read_text()
    seen: list[bool] = []
    monkeypatch.setattr(netcompile.cli, "main", lambda: seen.append(gc.isenabled()))
    assert gc.isenabled()
    try:
        console.main()
    finally:
        gc.enable()
    assert seen == [False]


def test_a_reader_that_goes_away_is_no_internal_error(tmp_path: Path) -> None:
    """`netcompile matrix ... | head`: the pipe closes while the JSON (1.4 MB, past any pipe's buffer) is
    written; the command ends quietly with Python's own status for output it cannot flush, not as a bug."""
    from bench.policies import manifest

    (tmp_path / "in.yaml").write_text(manifest(200, 40))
    proc = subprocess.Popen(
        [sys.executable, "-m", "netcompile", "matrix", str(tmp_path), "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(10) == b'{\n  "class'
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == 120, err
    assert "internal error" not in err and "Traceback" not in err


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


# --- the simulated cluster's options (issue 15): every verb, and golden cases' args files ----------------

SIMULATED = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
"""
NODE_50 = """\
apiVersion: v1
kind: Node
metadata: {name: n1}
spec: {podCIDR: 10.50.0.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.1.1}]}
"""


def test_nodes_makes_that_many_synthetic_nodes(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(SIMULATED)
    several = runner.invoke(app, ["compile", str(tmp_path), "--nodes", "2"])
    assert several.exit_code == 2
    assert "the input has 2 Nodes; choose one with --node" in several.stderr
    assert several.stderr.count("notice: no Node in the input: simulating 2 (kind-worker (172.18.0.2") == 1
    one = runner.invoke(app, ["compile", str(tmp_path), "--nodes", "2", "--node", "kind-worker2"])
    assert one.exit_code == 0, one.output
    assert "172.18.0.3 . tcp . " in one.stdout  # the NodePort on kind-worker2's address
    none = runner.invoke(app, ["compile", str(tmp_path), "--nodes", "0"])
    assert none.exit_code == 0 and "simulating" not in none.stderr


def test_the_simulated_pods_are_inside_the_pod_network_the_compiler_sees(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(SIMULATED)
    default = runner.invoke(app, ["compile", str(tmp_path)]).stdout  # the synthetic Node's podCIDR
    assert "\t\t\t10.244.0.0/24,\n" in default
    given = runner.invoke(app, ["compile", str(tmp_path), "--cluster-cidr", "10.100.0.0/16,fd00:100::/48"])
    assert given.exit_code == 0, given.output
    assert "10.100.0.0/16" in given.stdout and ": 10.100.0." in given.stdout  # endpoints in it
    assert "outside --cluster-cidr" not in given.stderr
    # a Node of the input with a podCIDR outside --cluster-cidr: its simulated pods count as external
    (tmp_path / "node.yaml").write_text(NODE_50)
    outside = runner.invoke(app, ["compile", str(tmp_path), "--cluster-cidr", "10.100.0.0/16"])
    assert outside.exit_code == 0, outside.output
    assert "notice: 4 simulated pods have addresses outside --cluster-cidr (their Node's podCIDR)" in outside.stderr


def test_service_cidr_and_node_port_range_reach_the_simulation(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(SIMULATED)
    argv = ["--service-cidr", "10.0.0.0/24", "--service-node-port-range", "31000-31000"]
    result = runner.invoke(app, ["compile", str(tmp_path), *argv])
    assert result.exit_code == 0, result.output
    assert "10.0.0." in result.stdout and "172.18.0.2 . tcp . 31000 " in result.stdout
    dual = runner.invoke(
        app, ["compile", str(tmp_path), "--service-cidr", "10.0.0.0/24,fd00::/120", "--service-cidr", "fd01::/120"]
    )
    assert dual.exit_code == 2 and "at most one CIDR per IP family" in dual.stderr


def test_a_golden_cases_args_take_the_simulated_clusters_options(tmp_path: Path) -> None:
    case = tmp_path / "golden" / "sim-nodes"
    case.mkdir(parents=True)
    (case / "00-app.yaml").write_text(SIMULATED)
    flags = [
        "--nodes",
        "3",
        "--node",
        "kind-worker3",
        "--cluster-cidr",
        "10.100.0.0/16",
        "--service-cidr",
        "10.0.0.0/16",
    ]
    (case / "args").write_text(" ".join(flags) + " --service-node-port-range 31000-31999\n")
    updated = runner.invoke(app, ["golden", str(tmp_path / "golden"), "--update"])
    assert updated.exit_code == 0, updated.output
    direct = runner.invoke(app, ["compile", str(case), *flags, "--service-node-port-range", "31000-31999"])
    assert direct.exit_code == 0, direct.output
    assert (case / "expected.nft").read_text() == direct.stdout
    assert "10.100.2.0/24" in direct.stdout or "10.100." in direct.stdout
    (case / "args").write_text("--nodes many\n")
    bad = runner.invoke(app, ["golden", str(tmp_path / "golden")])
    assert bad.exit_code == 1 and "--nodes 'many': must be a number of nodes" in bad.stderr
