"""The lab with the iptables back end: the same clusters, probes and reference as tests/test_lab.py, with
every node running the iptables back end's rules (ipset and iptables-restore), under iptables-nft and
iptables-legacy. The kernel must do what Kubernetes semantics say whichever rules it runs; and a broken
iptables ruleset must show as mismatches, not pass.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv6Address

import pytest
from typer.testing import CliRunner

from netcompile.cli import app
from netcompile.lab.backend import Backend
from netcompile.lab.compare import OK
from netcompile.pipeline import load
from tests.conftest import WriteYaml
from tests.test_lab import (
    DUAL_STACK,
    EXAMPLES,
    NODEPORTS,
    POLICIES,
    SERVICES,
    assert_clean,
    lab,
    objects_of,
    row,
)

VARIANTS = ["nft", "legacy"]


@pytest.mark.kernel
@pytest.mark.parametrize("variant", VARIANTS)
def test_clusterip_reject_and_masquerade(write_yaml: WriteYaml, variant: str) -> None:
    backend = Backend("iptables", variant)
    report = lab(objects_of(write_yaml, SERVICES), clients=[IPv4Address("198.51.100.20")], backend=backend)
    assert_clean(report.prefix)
    assert report.mismatches == [], [r.to_json() for r in report.mismatches]
    assert all(r.status == OK for r in report.rows)
    answer = row(report, "default/client", "service:default/web", 80)
    assert answer.split(":")[0] in ("default/web-1", "default/web-2") and answer.endswith("saw 10.244.0.7")
    # a Service without endpoints rejects (decided in nat, carried out in filter), from everywhere
    for source in ("default/client", "node:node", "198.51.100.20"):
        assert row(report, source, "service:default/empty", 80) == "refused"
    node = row(report, "node:node", "default/web-1", 8080).split("saw ")[1]
    assert row(report, "198.51.100.20", "service:default/web", 80).endswith(f"saw {node}")


@pytest.mark.kernel
def test_a_broken_iptables_ruleset_shows_as_mismatches(write_yaml: WriteYaml) -> None:
    """The lab does not pass whatever the kernel does: without the filter rules that carry out the rejects
    decided in nat, a Service without endpoints no longer refuses, and the lab says so."""

    def forget_rejects(_: str, text: str) -> str:
        edited = "\n".join(line for line in text.splitlines() if '"rejected in nat"' not in line) + "\n"
        assert edited != text
        return edited

    objects = objects_of(write_yaml, SERVICES)
    report = lab(objects, backend=Backend("iptables", "nft"), edit_ruleset=forget_rejects)
    assert_clean(report.prefix)
    bad = {(r.probe.source.label, r.probe.target) for r in report.mismatches}
    assert ("default/client", "service:default/empty") in bad


@pytest.mark.kernel
@pytest.mark.parametrize("variant", VARIANTS)
def test_policies_full_matrix(write_yaml: WriteYaml, variant: str) -> None:
    report = lab(objects_of(write_yaml, POLICIES), backend=Backend("iptables", variant))
    assert_clean(report.prefix)
    assert report.mismatches == [], [r.to_json() for r in report.mismatches]
    assert row(report, "default/other", "shop/web-1", 8080) == "timeout"  # dropped by node-a's policy


@pytest.mark.kernel
@pytest.mark.parametrize("variant", VARIANTS)
def test_nodeport_local_hairpin_affinity_ipblock(write_yaml: WriteYaml, variant: str) -> None:
    client = "198.51.100.7"
    objects = objects_of(write_yaml, NODEPORTS)
    report = lab(objects, clients=[IPv4Address(client)], repeat=3, backend=Backend("iptables", variant))
    assert_clean(report.prefix)
    assert report.mismatches == [], [r.to_json() for r in report.mismatches]

    def answers(source: str, target: str, port: int) -> set[str]:
        key = (source, target, port)
        return {str(r.observed) for r in report.rows if (r.probe.source.label, r.probe.target, r.probe.port) == key}

    assert answers(client, "nodeport:default/web-local@node-a", 30080) == {f"default/web-a:8080 saw {client}"}
    assert answers("default/solo", "service:default/solo", 70) == {"default/solo:7000 saw 192.168.1.10"}
    assert answers("default/solo", "default/web-b", 8080) == {"timeout"}
    assert len(answers(client, "service:default/sticky", 80)) == 1  # -m recent holds the client


@pytest.mark.kernel
def test_dual_stack(write_yaml: WriteYaml) -> None:
    clients = [IPv4Address("198.51.100.7"), IPv6Address("2001:db8::7")]
    report = lab(objects_of(write_yaml, DUAL_STACK), clients=clients, backend=Backend("iptables", "nft"))
    assert_clean(report.prefix)
    assert report.mismatches == [], [r.to_json() for r in report.mismatches]
    assert row(report, "default/v6only", "default/web-a", 8080) == "timeout"
    assert row(report, "default/v6only", "service:default/dns6", 53) == "default/v6only:53 saw fd00:192:168:1::11"


@pytest.mark.kernel
def test_examples_full_matrix() -> None:
    report = lab(load([str(EXAMPLES)]), backend=Backend("iptables", "legacy"))
    assert_clean(report.prefix)
    assert report.mismatches == [], [r.to_json() for r in report.mismatches]
    assert len({r.probe.source.label for r in report.rows}) >= 9


@pytest.mark.kernel
def test_the_command_line(write_yaml: WriteYaml) -> None:
    directory = write_yaml(SERVICES)
    result = CliRunner().invoke(app, ["lab", str(directory), "--backend", "iptables", "--iptables", "legacy"])
    assert result.exit_code == 0, result.output
    assert re.search(r"(\d+) probes, \1 ok, 0 mismatches", result.output), result.output


@pytest.mark.parametrize(
    "args", [["--backend", "pf"], ["--iptables", "legacy"], ["--backend", "iptables", "--iptables", "old"]]
)
def test_the_command_line_refuses_what_is_not_a_back_end(write_yaml: WriteYaml, args: list[str]) -> None:
    result = CliRunner().invoke(app, ["lab", str(write_yaml(SERVICES)), *args])
    assert result.exit_code == 2 and "--backend/--iptables" in result.output, result.output
