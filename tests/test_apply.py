"""`apply` / `delete`: only netcompile's table changes, atomically; everything else survives byte for byte.

Kernel tests work in a fresh, uniquely named network namespace (deleted afterwards, also on failure),
never on the host's own ruleset.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcompile.cli import app
from netcompile.golden import discover
from netcompile.host.apply import (
    ScopeError,
    apply_script,
    delete_table,
    list_ruleset,
    list_table,
    replaces_table,
    scope_problems,
    statements,
    with_replacement,
)
from netcompile.host.nftlib import NftRejected
from netcompile.nft.transaction import full
from tests.conftest import ROOT

FOREIGN = """\
table ip foreign {
	set blocked {
		type ipv4_addr
		elements = { 192.0.2.1, 192.0.2.7 }
	}
	chain input {
		type filter hook input priority filter; policy accept;
		ip saddr @blocked counter drop
		tcp dport 22 counter accept comment "ssh"
	}
}
table inet netcompile-not {
	chain c {
		type filter hook forward priority 10; policy accept;
		meta l4proto udp accept
	}
}
"""

SERVICE = """\
apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: web}}
spec: {containers: [{name: c, ports: [{containerPort: 8080, name: http}]}]}
status: {phase: Running, podIP: 10.244.0.5}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: 10.96.0.10
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
"""

runner = CliRunner()


# --- what a script touches (no kernel needed) ---------------------------------------------------------


def test_statements_skip_blocks_comments_and_quotes() -> None:
    script = (
        "#!/usr/sbin/nft -f\ntable inet t # a comment\ndelete table inet t\n"
        'table inet t {\n chain c { comment "a { b"; }\n}\n'
        "add rule inet t c ip daddr 1.2.3.4 accept; flush ruleset\n"
    )
    assert [(str(s), s.line) for s in statements(script)] == [
        ("table inet t", 2),
        ("delete table inet t", 3),
        ("table inet t", 4),
        ("add rule inet t c ip daddr 1.2.3.4 accept", 7),
        ("flush ruleset", 7),
    ]


@pytest.mark.parametrize(
    ("script", "problem"),
    [
        ("flush ruleset\n", "whole ruleset"),
        ("table ip nat { }\n", "touches table ip nat"),
        ("table netcompile { }\n", "touches table ip netcompile"),  # the family defaults to ip
        ("delete table inet other\n", "touches table inet other"),
        ("add rule ip6 filter input accept\n", "touches table ip6 filter"),
        ("flush chain inet other c\n", "touches table inet other"),
        ('include "/etc/nftables.conf"\n', "included files"),
        ("list ruleset\n", "whole ruleset"),
        ("delete table inet handle 3\n", "cannot be determined"),
        ("monitor\n", "unknown or unsupported"),
    ],
)
def test_scope_refuses_other_tables(script: str, problem: str) -> None:
    problems = scope_problems(script, "netcompile")
    assert len(problems) == 1 and problem in problems[0], problems


def test_scope_accepts_own_table_commands() -> None:
    script = (
        "define x = 1\ntable inet netcompile\ndelete table inet netcompile\ntable inet netcompile {\n"
        "  chain c { type filter hook input priority 0; }\n}\nadd rule inet netcompile c accept\n"
        "add element inet netcompile s { 1.2.3.4 }\nflush chain inet netcompile c\n"
    )
    assert scope_problems(script, "netcompile") == []


def test_scope_of_command_style_scripts() -> None:
    """A rule command goes on after its anonymous sets and verdict maps (nft/transaction.py writes such
    scripts); a table block ends its command, and a `}` that closes nothing ends it too."""
    script = (
        "add rule inet netcompile c ip daddr { 1.2.3.4, 5.6.7.8 } meta l4proto tcp accept\n"
        "insert rule inet netcompile c numgen random mod 2 vmap { 0 : goto a, 1 : goto b }\n"
        "delete element inet netcompile s { 1.2.3.4 }\n"
    )
    assert [str(s) for s in statements(script)] == [
        "add rule inet netcompile c ip daddr meta l4proto tcp accept",
        "insert rule inet netcompile c numgen random mod 2 vmap",
        "delete element inet netcompile s",
    ]
    assert scope_problems(script, "netcompile") == []
    hidden = "table inet netcompile { } delete table inet other\nadd rule inet netcompile c accept } flush ruleset\n"
    problems = scope_problems(hidden, "netcompile")
    assert len(problems) == 2 and "inet other" in problems[0] and "whole ruleset" in problems[1], problems


def test_scope_accepts_a_transaction_script_of_every_golden_case() -> None:
    """nft/transaction.py's full replacement, as commands, of every golden case: only netcompile's table."""
    for case in discover(ROOT / "golden"):
        table = case.compile().table
        script = full(table).render([])
        assert scope_problems(script, table.name) == [], case.name


def test_replacement_preamble_keeps_line_numbers() -> None:
    compiled = "table inet t\ndelete table inet t\ntable inet t {\n}\n"
    assert replaces_table(compiled, "t")
    assert with_replacement(compiled, "t") == compiled
    bare = "#!/usr/sbin/nft -f\ntable inet t {\n}\n"
    assert not replaces_table(bare, "t")
    replaced = with_replacement(bare, "t")
    assert replaced.count("\n") == bare.count("\n") and replaced.startswith("table inet t; delete table inet t; ")


def test_scope_error_before_anything_reaches_the_kernel() -> None:
    with pytest.raises(ScopeError):  # would need root otherwise: the check comes first
        apply_script("flush ruleset\n", netns=None)


def test_without_privilege_one_line_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("netcompile.host.nftlib.os.geteuid", lambda: 1000)
    script = tmp_path / "r.nft"
    script.write_text("table inet netcompile {\n}\n")
    for args in (["apply", str(script)], ["delete"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "root" in lines[0], lines


# --- in a network namespace --------------------------------------------------------------------------


@pytest.fixture
def netns() -> Iterator[str]:
    name = f"nctest-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


def _nft(netns: str, *args: str, stdin: str | None = None) -> str:
    return subprocess.run(
        ["ip", "netns", "exec", netns, "nft", *args], input=stdin, capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def with_foreign(netns: str) -> Callable[[], str]:
    """Load the foreign tables; returns a snapshot function of everything that is not netcompile's."""
    _nft(netns, "-f", "-", stdin=FOREIGN)
    # some traffic on the namespace's own loopback, so counters are non-zero and must survive too
    subprocess.run(["ip", "-n", netns, "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "netns", "exec", netns, "ping", "-c1", "-W1", "127.0.0.1"], capture_output=True, check=False)

    def snapshot() -> str:
        return _nft(netns, "list", "table", "ip", "foreign") + _nft(netns, "list", "table", "inet", "netcompile-not")

    return snapshot


@pytest.mark.kernel
def test_foreign_tables_survive_apply_reapply_delete(
    netns: str, with_foreign: Callable[[], str], write_yaml: Callable[[str, str], Path]
) -> None:
    before = with_foreign()
    directory = write_yaml(SERVICE, "web.yaml")
    result = runner.invoke(app, ["apply", str(directory), "--netns", netns])
    assert result.exit_code == 0, result.stderr
    assert "created table inet netcompile" in result.stderr
    first = list_table(netns=netns)
    assert first is not None and "10.96.0.10 . tcp . 80" in first
    assert with_foreign() == before
    result = runner.invoke(app, ["apply", str(directory), "--netns", netns])
    assert result.exit_code == 0 and "replaced table inet netcompile" in result.stderr
    assert list_table(netns=netns) == first  # replaced, not merged: identical
    assert with_foreign() == before
    result = runner.invoke(app, ["delete", "--netns", netns])
    assert result.exit_code == 0 and "deleted table inet netcompile" in result.stderr
    assert list_table(netns=netns) is None
    assert with_foreign() == before
    result = runner.invoke(app, ["delete", "--netns", netns])  # idempotent
    assert result.exit_code == 0 and "was not there" in result.stderr
    assert with_foreign() == before


@pytest.mark.kernel
def test_failed_load_changes_nothing(
    netns: str, with_foreign: Callable[[], str], compile_yaml: Callable[..., tuple[object, object]], tmp_path: Path
) -> None:
    from netcompile.compile.compiler import Output

    _, output = compile_yaml(SERVICE)
    assert isinstance(output, Output)
    apply_script(output.text, netns=netns)
    ruleset = list_ruleset(netns)
    lines = output.text.splitlines(keepends=True)
    hook = next(i for i, text in enumerate(lines) if "hook prerouting" in text)
    lines.insert(hook + 1, "\t\tip daddr @no-such-set accept\n")  # a well-formed rule the kernel refuses
    broken = "".join(lines)
    path = tmp_path / "broken.nft"
    path.write_text(broken)
    result = runner.invoke(app, ["apply", str(path), "--netns", netns])
    assert result.exit_code == 2
    assert f"{path}:{hook + 2}:" in result.stderr and "@no-such-set" in result.stderr  # libnftables' own message
    assert "nothing was changed" in result.stderr
    assert list_ruleset(netns) == ruleset
    with pytest.raises(NftRejected):
        apply_script(broken, netns=netns)
    assert list_ruleset(netns) == ruleset


@pytest.mark.kernel
def test_check_is_a_dry_run_and_refusal_needs_force(netns: str, tmp_path: Path) -> None:
    path = tmp_path / "r.nft"
    path.write_text("table inet netcompile {\n  chain c { type filter hook input priority 0; }\n}\n")
    result = runner.invoke(app, ["apply", str(path), "--netns", netns, "--check"])
    assert result.exit_code == 0 and "would create" in result.stderr
    assert list_table(netns=netns) is None
    loop = tmp_path / "loop.nft"  # only the kernel sees a jump loop
    loop.write_text(
        "table inet netcompile {\n  chain in {\n    type filter hook input priority 0;\n    jump a\n  }\n"
        "  chain a {\n    jump b\n  }\n  chain b {\n    jump a\n  }\n}\n"
    )
    result = runner.invoke(app, ["apply", str(loop), "--netns", netns, "--check"])
    assert result.exit_code == 2 and f"{loop}:10:" in result.stderr
    assert list_table(netns=netns) is None
    other = tmp_path / "other.nft"
    other.write_text("table ip other {\n}\n")
    result = runner.invoke(app, ["apply", str(other), "--netns", netns])
    assert result.exit_code == 2 and "touches table ip other" in result.stderr
    assert "table ip other" not in list_ruleset(netns)
    result = runner.invoke(app, ["apply", str(other), "--netns", netns, "--force"])
    assert result.exit_code == 0, result.stderr
    assert "table ip other" in list_ruleset(netns)
    assert delete_table(netns=netns) is False  # netcompile's table was never there; `other` stays
    assert "table ip other" in list_ruleset(netns)


@pytest.mark.kernel
def test_unknown_netns_is_exit_2() -> None:
    result = runner.invoke(app, ["delete", "--netns", f"nctest-missing-{uuid.uuid4().hex[:6]}"])
    assert result.exit_code == 2 and "no network namespace" in result.stderr
