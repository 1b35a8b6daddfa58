"""The iptables back end's output of every golden case, loaded for real: `ipset restore`,
`iptables-restore --noflush` and `ip6tables-restore --noflush` in a scratch network namespace, then read
back with iptables-save, ip6tables-save and ipset.

Kernel tests (tests/conftest.py): skipped without root, and here also without the iptables and ipset
tools, except under CI (CI=true), where a missing prerequisite fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from fractions import Fraction

import pytest

from netcompile.golden import Case, discover
from netcompile.iptables import endpoint_probabilities, probability_text, rule_probability, split_sections
from tests.conftest import IN_CI, ROOT

CASES = discover(ROOT / "golden")
TOOLS = ("ip", "ipset", "iptables-restore", "ip6tables-restore", "iptables-save", "ip6tables-save")
pytestmark = pytest.mark.kernel


@pytest.fixture
def netns() -> Iterator[str]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing and not IN_CI:
        pytest.skip(f"needs {', '.join(missing)}")
    name = f"nc-ipt-test-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def run(netns: str, *command: str, text: str = "") -> str:
    done = subprocess.run(["ip", "netns", "exec", netns, *command], input=text, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(command)}: {done.stderr}"
    return done.stdout


def load(netns: str, case: Case) -> dict[str, str]:
    sections = split_sections(case.expected_iptables_path.read_text())
    run(netns, "ipset", "restore", text=sections["ipset"])
    run(netns, "iptables-restore", "--noflush", text=sections["iptables"])
    run(netns, "ip6tables-restore", "--noflush", text=sections["ip6tables"])
    return sections


def declared(section: str) -> set[str]:
    return set(re.findall(r"^:(NC-\S+) - \[0:0\]$", section, re.MULTILINE))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_iptables_loads_in_a_namespace(case: Case, netns: str) -> None:
    sections = load(netns, case)
    for tool, section in (("iptables-save", sections["iptables"]), ("ip6tables-save", sections["ip6tables"])):
        saved = run(netns, tool)
        chains = set(re.findall(r"^:(NC-\S+) - \[", saved, re.MULTILINE))
        assert chains == declared(section), tool
        entry = r'^-A ([A-Z]+) -m comment --comment "?netcompile"? -j (NC-[A-Z]+)$'
        entries = re.findall(entry, saved, re.MULTILINE)
        assert sorted(entries) == sorted(re.findall(entry, section, re.MULTILINE))
        assert entries, f"{tool}: no entry into a built-in chain"
        assert len(saved.splitlines()) > len(chains)
    wanted = set(re.findall(r"^create (\S+) ", sections["ipset"], re.MULTILINE))
    assert set(run(netns, "ipset", "list", "-n").split()) == wanted


def test_the_kernel_keeps_the_probabilities_we_compute(netns: str) -> None:
    """iptables-save prints what the kernel holds (stored / 2^31, 11 decimals): it must be what
    `rule_probability` says for each `--probability` text of a 1..7-endpoint cascade."""
    lines = [":NC-PROBE - [0:0]"]
    texts = [probability_text(n) for n in range(2, 8)]
    lines += [f"-A NC-PROBE -m statistic --mode random --probability {t} -j RETURN" for t in texts]
    run(netns, "iptables-restore", "--noflush", text="*filter\n" + "\n".join(lines) + "\nCOMMIT\n")
    saved = re.findall(r"--probability (\S+)", run(netns, "iptables-save", "-t", "filter"))
    assert saved == [f"{float(rule_probability(t)):.11f}" for t in texts]
    for n in range(1, 8):
        assert sum(endpoint_probabilities(n)) == 1
        assert all(abs(p - Fraction(1, n)) < Fraction(1, 2**29) for p in endpoint_probabilities(n))
