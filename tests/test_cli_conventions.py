"""One convention for every verb: `-o/--output FILE` writes a file (atomically, creating folders),
`--format NAME` chooses the format; old `--output FORMAT` still works for one release, with a notice."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcompile.cli import app
from tests.conftest import ROOT

runner = CliRunner()
EXAMPLES = str(ROOT / "examples")
TRACE = ["trace", EXAMPLES, "--from", "shop/frontend-1", "--to", "shop/api", "--port", "9000"]
VERBS = ["compile", "check", "trace", "matrix", "lab", "golden", "apply", "delete"]


def test_compile_creates_missing_folders(tmp_path: Path) -> None:
    """`make demo` on a fresh clone: `compile -o build/examples.nft` with no build/ folder."""
    out = tmp_path / "build" / "deeper" / "examples.nft"
    result = runner.invoke(app, ["compile", EXAMPLES, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("#!/usr/sbin/nft -f\n")
    assert [p.name for p in out.parent.iterdir()] == ["examples.nft"]  # no temporary file left


def test_a_file_in_the_way_of_a_folder_is_explained(tmp_path: Path) -> None:
    (tmp_path / "build").write_text("a file\n")
    result = runner.invoke(app, ["compile", EXAMPLES, "-o", str(tmp_path / "build" / "x.nft")])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"netcompile: cannot write {tmp_path}/build/x.nft: {tmp_path}/build is in the way: it is a file, "
        "where a folder is needed"
    )
    assert (tmp_path / "build").read_text() == "a file\n"


@pytest.mark.parametrize(
    "argv",
    [
        TRACE,
        ["matrix", EXAMPLES, "--ports", "9000"],
        ["golden", str(ROOT / "golden")],
    ],
    ids=["trace", "matrix", "golden"],
)
def test_json_to_a_file_in_new_folders(tmp_path: Path, argv: list[str]) -> None:
    out = tmp_path / "reports" / "r.json"
    result = runner.invoke(app, [*argv, "--format", "json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert isinstance(json.loads(out.read_text()), dict)


def test_json_on_stdout_by_default() -> None:
    result = runner.invoke(app, [*TRACE, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["agree"] is True
    assert "deprecated" not in result.stderr


@pytest.mark.parametrize(
    ("argv", "old", "new"),
    [
        (TRACE, "json", "json"),
        (TRACE, "text", "text"),
        (["matrix", EXAMPLES, "--ports", "9000"], "table", "text"),
        (["matrix", EXAMPLES, "--ports", "9000"], "markdown", "markdown"),
        (["matrix", EXAMPLES, "--ports", "9000"], "json", "json"),
    ],
)
def test_old_output_format_names_still_work_with_a_notice(argv: list[str], old: str, new: str) -> None:
    before = runner.invoke(app, [*argv, "--output", old])
    after = runner.invoke(app, [*argv, "--format", new])
    assert before.exit_code == after.exit_code == 0, before.output
    assert before.stdout == after.stdout
    assert f"netcompile: --output {old} is deprecated: write --format {old}" in before.stderr
    assert "deprecated" not in after.stderr


def test_a_file_named_like_a_format_can_still_be_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, [*TRACE, "--output", "./json"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "json").read_text().startswith("packet ")


@pytest.mark.parametrize("verb", ["compile", "check", "trace", "matrix", "lab", "golden"])
def test_unknown_format_is_a_usage_error(verb: str) -> None:
    args = {
        "compile": [EXAMPLES],
        "check": ["x.nft"],
        "trace": TRACE[1:],
        "matrix": [EXAMPLES],
        "lab": [EXAMPLES],
        "golden": [str(ROOT / "golden")],
    }[verb]
    result = runner.invoke(app, [verb, *args, "--format", "yaml"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1].startswith(
        'netcompile: --format: Unsupported value: "yaml": supported values:'
    )


@pytest.mark.parametrize("verb", VERBS)
def test_help_shows_words_not_python_types(verb: str) -> None:
    result = runner.invoke(app, [verb, "--help"])
    assert result.exit_code == 0
    assert not re.search(r"<(str|int|float|list|path)", result.stdout), result.stdout
    if verb not in ("delete",):
        assert "-o, --output FILE" in result.stdout or verb == "apply"


def test_root_help_shows_completion_and_no_types() -> None:
    result = runner.invoke(app, ["--help"])
    assert "--install-completion" in result.stdout
    assert not re.search(r"<(str|int|float|list|path)", result.stdout), result.stdout


def test_shell_completion_completes_verbs_and_options() -> None:
    """What bash runs on TAB once `netcompile --install-completion bash` has installed the script."""
    netcompile = str(Path(sys.executable).parent / "netcompile")  # the console script beside the venv's python
    env = {**os.environ, "_NETCOMPILE_COMPLETE": "complete_bash", "COMP_WORDS": "netcompile ma", "COMP_CWORD": "1"}
    done = subprocess.run([netcompile], env=env, capture_output=True, text=True, check=False)
    assert done.stdout.split() == ["matrix"], done
    env |= {"COMP_WORDS": "netcompile trace --fo", "COMP_CWORD": "2"}
    done = subprocess.run([netcompile], env=env, capture_output=True, text=True, check=False)
    assert done.stdout.split() == ["--format"], done
    # typer finds the shell it runs in (shellingham): as a user types it in bash (`; true`: bash must not
    # exec netcompile in its own place, or netcompile's parent is this test, not a shell)
    show = f"{netcompile} --show-completion; true"
    shown = subprocess.run(["bash", "-c", show], capture_output=True, text=True, check=False)
    assert "_netcompile_completion" in shown.stdout and "complete " in shown.stdout, shown


def test_an_exception_in_a_verb_is_an_internal_error_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Exit codes are a contract: 0 ok, 1 a finding, 2 bad input or usage, 70 a bug in netcompile."""
    import netcompile.cli.compile as verb

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(verb, "run_compile", broken)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.delenv("NETCOMPILE_TRACEBACK", raising=False)
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # TMPDIR is read again
    result = runner.invoke(app, ["compile", EXAMPLES])
    assert result.exit_code == 70
    lines = result.stderr.splitlines()
    assert lines[0] == "netcompile: internal error: RuntimeError: boom"
    assert "please report it" in lines[1] and "Traceback" not in result.stderr
    (report,) = tmp_path.glob("netcompile-internal-error-*.txt")
    assert str(report) in lines[1]
    assert "RuntimeError: boom" in report.read_text() and "Traceback" in report.read_text()
    monkeypatch.setenv("NETCOMPILE_TRACEBACK", "1")
    shown = runner.invoke(app, ["compile", EXAMPLES])
    assert shown.exit_code == 70 and "Traceback (most recent call last)" in shown.stderr


@pytest.mark.kernel
def test_check_says_when_it_could_only_dry_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`check` claims a load in a scratch namespace only when it made one."""
    import shutil

    script = tmp_path / "s.nft"
    assert runner.invoke(app, ["compile", EXAMPLES, "-o", str(script)]).exit_code == 0
    full = runner.invoke(app, ["check", str(script), "--format", "json"])
    assert full.exit_code == 0, full.output
    assert json.loads(full.stdout)["scratch_load"] is True
    assert "(dry run, and a load in a scratch network namespace)" in full.stderr
    which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "unshare" else which(name))
    dry = runner.invoke(app, ["check", str(script), "--format", "json"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["scratch_load"] is False
    assert "(dry run only: without util-linux's unshare" in dry.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["matrix", EXAMPLES, "--format", "json"],  # exit 0, a long stdout
        ["compile", "BAD"],  # exit 2, errors on stderr
        ["matrix", "/nonexistent/input"],  # exit 2
        ["--version"],
        ["trace", EXAMPLES, "--from", "shop/frontend-1"],  # a usage error (no --to): exit 2
    ],
)
def test_the_console_script_ends_with_the_verbs_exit_code_and_all_its_output(argv: list[str], tmp_path: Path) -> None:
    """`main` ends the process with os._exit once stdout and stderr are flushed (cli/__init__.py): the same
    bytes and exit code as the verb gives in process, through pipes."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {portz: [], selector: {a: b}}\n")
    argv = [str(bad) if a == "BAD" else a for a in argv]
    netcompile = str(Path(sys.executable).parent / "netcompile")
    expected = runner.invoke(app, argv)
    done = subprocess.run([netcompile, *argv], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (expected.exit_code, expected.stdout)
    assert done.stderr == expected.stderr
    assert expected.exit_code != 2 or "error" in done.stderr.lower()
