"""Applying the iptables back end's output: netcompile's chains, jumps and sets, and nothing else.

The parsing tests need nothing; the kernel tests (marker `kernel`) load real rules with iptables-restore
and ipset into scratch network namespaces that hold foreign chains, rules and sets, for both iptables-nft
and iptables-legacy, and check that everything foreign is byte-identical afterwards.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcompile.cli import app
from netcompile.host.iptables import (
    IpSet,
    IptablesError,
    apply_iptables,
    check_iptables,
    delete_iptables,
    parse,
    restore_text,
    temp_name,
)
from tests.conftest import ROOT

GOOD = """\
# netcompile test file
# netcompile section: ipset
create nc-web hash:ip family inet comment
add nc-web 10.244.0.11 comment "default/web-1"
create nc-fe hash:ip,port family inet
add nc-fe 10.96.0.10,tcp:80
# netcompile section: iptables
*nat
:NC-PREROUTING - [0:0]
:NC-SVC - [0:0]
-A PREROUTING -m comment --comment "netcompile" -j NC-PREROUTING
-A NC-PREROUTING -m set --match-set nc-fe dst,dst -j NC-SVC
-A NC-SVC -p tcp -m comment --comment "default/web:http \\"quoted\\"" -j DNAT --to-destination 10.244.0.11:8080
COMMIT
*filter
:NC-FORWARD - [0:0]
-A FORWARD -m comment --comment "netcompile" -j NC-FORWARD
-A NC-FORWARD -m set --match-set nc-web dst -p tcp --dport 22 -j DROP
COMMIT
# netcompile section: ip6tables
*filter
:NC-FORWARD - [0:0]
-A FORWARD -m comment --comment "netcompile" -j NC-FORWARD
-A NC-FORWARD -d fd00::1/128 -j DROP
COMMIT
"""


# --- what a file may hold (no kernel) -----------------------------------------------------------------


def test_the_file_is_read_by_sections() -> None:
    script = parse(GOOD)
    assert sorted(script.sets) == ["nc-fe", "nc-web"]
    assert script.sets["nc-web"].elements == ('10.244.0.11 comment "default/web-1"',)  # as written
    v4 = script.families["iptables"]
    assert v4.chains == {"nat": ["NC-PREROUTING", "NC-SVC"], "filter": ["NC-FORWARD"]}
    assert v4.jumps["nat"] == [("PREROUTING", "NC-PREROUTING")]
    assert v4.rules["nat"][1].endswith('"default/web:http \\"quoted\\"" -j DNAT --to-destination 10.244.0.11:8080')
    assert script.families["ip6tables"].chains == {"filter": ["NC-FORWARD"]}


@pytest.mark.parametrize(
    ("line", "section"),
    [
        ("-P FORWARD DROP", "iptables"),  # a built-in chain's policy
        ("-F FORWARD", "iptables"),  # flushing a built-in chain
        ("-A FORWARD -j ACCEPT", "iptables"),  # a rule of its own in a built-in chain
        ("-A FORWARD -m comment --comment other -j NC-FORWARD", "iptables"),  # a jump that is not netcompile's
        ("-A DOCKER -j ACCEPT", "iptables"),  # another tool's chain
        (":DOCKER - [0:0]", "iptables"),  # declaring (so flushing) another tool's chain
        ("-X DOCKER", "iptables"),
        ("create docker hash:ip family inet", "ipset"),
        ("add docker 10.0.0.1", "ipset"),
        ("destroy nc-web", "ipset"),
        ("flush", "ipset"),
    ],
)
def test_anything_but_netcompiles_own_is_refused(line: str, section: str) -> None:
    marker = ":NC-FORWARD - [0:0]\n" if section == "iptables" else "# netcompile section: ipset\n"
    text = GOOD.replace(marker, marker + line + "\n", 1)
    assert text != GOOD
    with pytest.raises(IptablesError, match=r"t\.rules:\d+: "):
        parse(text, "t.rules")


def test_every_problem_is_reported_at_once() -> None:
    text = GOOD.replace("*nat\n", "*nat\n-P PREROUTING DROP\n").replace("*filter\n", "*filter\n-F FORWARD\n", 1)
    with pytest.raises(IptablesError) as caught:
        parse(text, "t.rules")
    assert len(str(caught.value).splitlines()) == 2


@pytest.mark.parametrize(
    "text",
    [
        "*filter\nCOMMIT\n",  # no sections
        GOOD.replace("# netcompile section: ipset\n", ""),  # one missing
        GOOD.replace("section: ip6tables", "section: ipset"),  # out of order
        GOOD.replace("*mangle", "").replace("*filter\n:NC-FORWARD", "*mangle\n:NC-FORWARD", 1),  # another table
        GOOD[: GOOD.rindex("COMMIT")],  # a table without COMMIT
    ],
)
def test_files_that_are_not_the_back_ends_are_refused(text: str) -> None:
    with pytest.raises(IptablesError):
        parse(text)


def test_restore_text_replaces_jumps_and_deletes_stale_chains() -> None:
    new = parse(GOOD).families["iptables"]
    old = parse(GOOD.replace("NC-SVC", "NC-OLD").replace("-j NC-PREROUTING", "-j NC-OLD")).families["iptables"]
    text = restore_text(new, old, {"nc-fe": temp_name("nc-fe")})
    lines = text.splitlines()
    assert ":NC-OLD - [0:0]" in lines and "-X NC-OLD" in lines  # flushed, then deleted
    assert "-D PREROUTING -m comment --comment netcompile -j NC-OLD" in lines
    assert "-I PREROUTING 1 -m comment --comment netcompile -j NC-PREROUTING" in lines
    assert f"-A NC-PREROUTING -m set --match-set {temp_name('nc-fe')} dst,dst -j NC-SVC" in lines
    assert "FORWARD" not in "".join(line for line in lines if line.startswith(("-D", "-I")) and "filter" in line)
    assert restore_text(new, new).count("-I ") == 0  # the same jumps are left where they are


# --- for real, with foreign rules and sets ------------------------------------------------------------

FOREIGN_V4 = """\
*filter
:DOCKER - [0:0]
-A FORWARD -j DOCKER
-A DOCKER -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j ACCEPT
-A INPUT -s 192.0.2.0/24 -j DROP
COMMIT
*nat
-A PREROUTING -p tcp -m tcp --dport 2222 -j DNAT --to-destination 172.17.0.2:22
COMMIT
"""
FOREIGN_V6 = "*filter\n-A FORWARD -s 2001:db8::/32 -j DROP\nCOMMIT\n"
VARIANTS = ["nft", "legacy"]
runner = CliRunner()


def _exec(netns: str, *args: str, stdin: str | None = None, check: bool = True) -> str:
    result = subprocess.run(["ip", "netns", "exec", netns, *args], input=stdin, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)}: {result.stderr}")
    return result.stdout


def _state(netns: str, variant: str) -> str:
    """Everything iptables and ipset show, without save's timestamps."""
    text = "".join(_exec(netns, f"{tool}-{variant}-save") for tool in ("iptables", "ip6tables"))
    return re.sub(r"(?m)^# (Generated|Completed) .*\n", "", text) + _exec(netns, "ipset", "save")


def _foreign(state: str) -> str:
    """The state without netcompile's lines (its chains, rules, jumps and sets), and without tables left
    empty with their default policies (iptables-restore creates a table netcompile adds chains to)."""
    keep = [
        line
        for line in state.splitlines()
        if "NC-" not in line and not re.match(r"(create|add) nc-", line) and "--comment netcompile" not in line
    ]
    text = "\n".join(keep)
    return re.sub(r"\*\w+\n(:[A-Z]+ ACCEPT \[0:0\]\n)+COMMIT\n?", "", text)


@pytest.fixture
def netns() -> Iterator[str]:
    with _scratch() as name:
        yield name


@pytest.fixture(params=VARIANTS)
def host(request: pytest.FixtureRequest, netns: str) -> tuple[str, str, Callable[[], str]]:
    """A namespace with foreign rules (and a foreign set), its iptables variant, and its state."""
    variant: str = request.param
    _exec(netns, "ipset", "create", "foreign", "hash:ip")
    _exec(netns, "ipset", "add", "foreign", "198.51.100.7")
    _exec(netns, f"iptables-{variant}-restore", "--noflush", stdin=FOREIGN_V4)
    _exec(netns, f"ip6tables-{variant}-restore", "--noflush", stdin=FOREIGN_V6)
    return netns, variant, lambda: _state(netns, variant)


@pytest.mark.kernel
def test_apply_replaces_only_netcompiles_part(host: tuple[str, str, Callable[[], str]]) -> None:
    netns, variant, state = host
    before = state()
    first = apply_iptables(GOOD, netns=netns, variant=variant)
    assert not first.existed and first.sets_changed == 2
    loaded = state()
    assert _foreign(loaded) == _foreign(before)
    assert '-A NC-SVC -p tcp -m comment --comment "default/web:http \\"quoted\\"" -j DNAT' in loaded
    assert "add nc-web 10.244.0.11" in loaded and "fd00::1/128" in loaded

    again = apply_iptables(GOOD, netns=netns, variant=variant)  # nothing changed: sets kept, same state
    assert again.existed and again.sets_kept == 2 and again.sets_changed == 0
    assert state() == loaded

    changed = GOOD.replace("10.244.0.11 comment", "10.244.0.12 comment").replace("NC-SVC", "NC-WEB")
    result = apply_iptables(changed, netns=netns, variant=variant)
    assert result.sets_changed == 1 and result.sets_kept == 1
    after = state()
    assert "add nc-web 10.244.0.12" in after and "10.244.0.11 comment" not in after
    assert "NC-SVC" not in after and ":NC-WEB" in after  # the stale chain is gone
    assert "nct-" not in after  # no temporary set is left
    assert after.count("--comment netcompile") == 3  # one jump per built-in chain, not one per load
    assert _foreign(after) == _foreign(before)

    assert delete_iptables(netns=netns, variant=variant) is True
    assert _foreign(state()) == _foreign(before) and "NC-" not in state() and "nc-" not in state()
    assert delete_iptables(netns=netns, variant=variant) is False  # idempotent


@pytest.mark.kernel
def test_a_set_that_changes_type_is_replaced_under_the_rules(host: tuple[str, str, Callable[[], str]]) -> None:
    netns, variant, state = host
    apply_iptables(GOOD, netns=netns, variant=variant)
    retyped = GOOD.replace("create nc-web hash:ip family inet comment", "create nc-web hash:net family inet comment")
    retyped = retyped.replace("10.244.0.11 comment", "10.244.0.0/24 comment")
    apply_iptables(retyped, netns=netns, variant=variant)
    after = state()
    assert "create nc-web hash:net" in after and "add nc-web 10.244.0.0/24" in after and "nct-" not in after


@pytest.mark.kernel
def test_a_load_that_fails_changes_nothing(host: tuple[str, str, Callable[[], str]]) -> None:
    netns, variant, state = host
    apply_iptables(GOOD, netns=netns, variant=variant)
    before = state()
    # the IPv4 rules are fine and change a set, but the IPv6 ones name a chain that does not exist
    broken = GOOD.replace("10.244.0.11 comment", "10.244.0.99 comment").replace(
        "-d fd00::1/128 -j DROP", "-d fd00::1/128 -j NC-MISSING"
    )
    with pytest.raises(IptablesError, match="ip6tables-restore refused"):
        apply_iptables(broken, netns=netns, variant=variant)
    assert state() == before  # the IPv4 rules are back, the set holds its old element, no temporary set
    bad_set = GOOD.replace("add nc-fe 10.96.0.10,tcp:80", "add nc-fe not-an-address")
    with pytest.raises(IptablesError, match="ipset restore refused"):
        apply_iptables(bad_set, netns=netns, variant=variant)
    assert state() == before


@pytest.mark.kernel
def test_check_loads_into_a_scratch_namespace_only() -> None:
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    result = check_iptables(GOOD)
    assert not result.existed and result.sets_changed == 2
    with pytest.raises(IptablesError, match="refused"):
        check_iptables(GOOD.replace("-j NC-SVC", "-j NC-NOWHERE"))
    assert subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout == namespaces


def _ours(state: str) -> str:
    """netcompile's lines of a state: rules in order within each table (the tables in any order: save lists
    them as they were first used), sets in any order, without what ipset picks itself (initval, sizes)."""
    rules: list[tuple[str, int, str]] = []
    sets: list[str] = []
    table = ""
    for index, line in enumerate(state.splitlines()):
        if line.startswith("*"):
            table = line  # IPv4's tables come before IPv6's in `state`, so equal names keep that order
        if re.search(r"NC-|--comment netcompile", line):
            rules.append((table, index, line))
        elif re.match(r"(create|add) nc-", line):
            sets.append(re.sub(r" (initval|hashsize|bucketsize) \S+", "", line))
    return "\n".join([line for _, _, line in sorted(rules)] + sorted(sets))


@pytest.mark.kernel
def test_every_golden_case_replaces_the_one_before(host: tuple[str, str, Callable[[], str]]) -> None:
    """Loading the golden cases one after another leaves exactly what loading the last one alone leaves."""
    netns, variant, state = host
    before = _foreign(state())
    files = sorted(ROOT.glob("golden/*/expected.iptables"))
    assert len(files) > 30
    for path in files:
        text = path.read_text()
        apply_iptables(text, netns=netns, variant=variant, name=str(path))
        loaded = state()
        again = apply_iptables(text, netns=netns, variant=variant, name=str(path))
        assert again.sets_changed == 0 and state() == loaded, path  # the same file again changes nothing
        assert _foreign(loaded) == before, path
        with _scratch() as fresh:
            apply_iptables(text, netns=fresh, variant=variant)
            assert _ours(loaded) == _ours(_state(fresh, variant)), path


@contextmanager
def _scratch() -> Iterator[str]:
    name = f"nc-ipt-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


# --- the command line ---------------------------------------------------------------------------------


@pytest.mark.kernel
def test_apply_and_delete_from_the_command_line(host: tuple[str, str, Callable[[], str]], tmp_path: Path) -> None:
    netns, variant, state = host
    before = _foreign(state())
    source = ROOT / "golden" / "svc-nodeport"
    node = (source / "args").read_text().split()  # --node NAME
    result = runner.invoke(
        app, ["apply", str(source), *node, "--backend", "iptables", "--netns", netns, "--iptables", variant]
    )
    assert result.exit_code == 0, result.output
    assert "loaded netcompile's iptables chains and ipsets" in result.output
    loaded = state()
    assert _ours(loaded) and _foreign(loaded) == before

    compiled = tmp_path / "node.rules"  # the compiled file, applied again: nothing changes
    result = runner.invoke(app, ["compile", str(source), *node, "--backend", "iptables", "-o", str(compiled)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["apply", str(compiled), "--backend", "iptables", "--netns", netns, "--iptables", variant]
    )
    assert result.exit_code == 0 and "replaced" in result.output and "0 ipsets loaded" in result.output
    assert state() == loaded

    broken = tmp_path / "broken.rules"
    broken.write_text(compiled.read_text().replace("-j NC-", "-j NC-X", 1))
    result = runner.invoke(
        app, ["apply", str(broken), "--backend", "iptables", "--netns", netns, "--iptables", variant]
    )
    assert result.exit_code == 2 and "nothing was changed" in result.output
    assert state() == loaded

    result = runner.invoke(app, ["delete", "--backend", "iptables", "--netns", netns, "--iptables", variant])
    assert result.exit_code == 0 and "deleted netcompile's iptables chains and ipsets" in result.output
    assert _ours(state()) == "" and _foreign(state()) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["apply", "golden/svc-nodeport", "--backend", "iptables", "--force"], "--force: not with --backend iptables"),
        (["apply", "golden/svc-nodeport", "--backend", "pf"], "--backend: Unsupported value"),
        (["apply", "golden/svc-nodeport", "--iptables", "legacy"], "with --backend iptables"),
        (["delete", "--backend", "iptables", "--iptables", "old"], '"nft" or "legacy"'),
        (["apply", "golden/svc-nodeport/expected.nft", "--backend", "iptables"], "an nftables script"),
    ],
)
def test_command_line_refusals(args: list[str], message: str) -> None:
    result = runner.invoke(app, [args[0], *(str(ROOT / a) if a.startswith("golden/") else a for a in args[1:])])
    assert result.exit_code == 2 and message in result.output, result.output


@pytest.mark.kernel
def test_apply_check_uses_a_scratch_namespace(tmp_path: Path) -> None:
    source = ROOT / "golden" / "svc-affinity"
    node = (source / "args").read_text().split()
    result = runner.invoke(app, ["apply", str(source), *node, "--backend", "iptables", "--check"])
    assert result.exit_code == 0 and "accept it in a scratch network namespace" in result.output, result.output


def test_a_set_is_compared_as_ipset_save_prints_it() -> None:
    """`ipset save` prints a host network without its prefix length: the same set, not a change."""
    mine = IpSet(
        "nc-a", ("hash:net,port", "family", "inet"), ("10.0.0.1/32,tcp:80", "fd00::1/128,udp:53", "10.0.0.0/24,tcp:1")
    )
    saved = IpSet(
        "nc-a",
        (
            "hash:net,port",
            "family",
            "inet",
            "hashsize",
            "1024",
            "maxelem",
            "65536",
            "bucketsize",
            "12",
            "initval",
            "0x1",
        ),
        ("10.0.0.1,tcp:80", "fd00::1,udp:53", "10.0.0.0/24,tcp:1"),
    )
    assert mine.same_as(saved)
    assert not mine.same_as(IpSet("nc-a", saved.header, ("10.0.0.1,tcp:80", "fd00::1,udp:53", "10.0.0.0/25,tcp:1")))
    assert not mine.same_as(IpSet("nc-a", ("hash:ip,port", "family", "inet"), saved.elements))
