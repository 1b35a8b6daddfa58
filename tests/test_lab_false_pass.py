"""The lab cannot pass falsely (issue 13, point 5): deliberately wrong expectations, deliberately broken
rulesets and a deliberately broken lab are each caught (exit 1, the right MISMATCH lines); outside
destinations get a host of their own; a skipped probe is listed and fails the run unless allowed."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcompile.cli import app
from netcompile.lab import LabOptions, LabReport, run_lab
from netcompile.lab.compare import MISMATCH, OK, SKIPPED, judge
from netcompile.lab.expected import Expectation, Final
from netcompile.lab.plan import LabPlan, make_plan
from netcompile.lab.probes import Observation, Probe, Source, Wanted, sources
from netcompile.load.manifests import load
from netcompile.model import IPAddress, Protocol
from netcompile.verify.packet import Origin, Verdict
from tests.conftest import WriteYaml
from tests.test_lab import assert_clean, network_of, without_lines

runner = CliRunner()

# One node. shop/web-1 admits only shop/front on http; shop/locked may send nothing (egress: []);
# shop/ghost's only endpoint is an address of the pod network where no pod runs.
OUTSIDE = """\
apiVersion: v1
kind: Node
metadata: {name: node-a}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.1.10}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}}
spec: {nodeName: node-a, containers: [{name: c, ports: [{containerPort: 8080, name: http}]}]}
status: {phase: Running, podIP: 10.244.1.5}
---
apiVersion: v1
kind: Pod
metadata: {name: front, namespace: shop, labels: {app: front}}
spec: {nodeName: node-a, containers: [{name: c, ports: [{containerPort: 9000}]}]}
status: {phase: Running, podIP: 10.244.1.6}
---
apiVersion: v1
kind: Pod
metadata: {name: locked, namespace: shop, labels: {app: locked}}
spec: {nodeName: node-a, containers: [{name: c}]}
status: {phase: Running, podIP: 10.244.1.7}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 10.96.0.20
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: ghost, namespace: shop}
spec:
  clusterIP: 10.96.0.21
  ports: [{port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ghost-1, namespace: shop, labels: {kubernetes.io/service-name: ghost}}
addressType: IPv4
endpoints: [{addresses: [10.244.1.99]}]
ports: [{port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: locked-egress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: locked}}
  policyTypes: [Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-ingress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: front}}}]
    ports: [{port: http}]
"""

# Right: each agrees with the reference. 203.0.113.9 is outside the cluster: no --client needed.
RIGHT = """\
- {from: shop/front, to: 203.0.113.9, port: 443, expect: allow, source: preserved}
- {from: shop/locked, to: 203.0.113.9, port: 443, protocol: UDP, expect: drop}
- {from: 198.51.100.7, to: shop/web-1, port: 8080, expect: deny}
- {from: shop/front, to: service:shop/web, port: 80, expect: allow, pods: [shop/web-1], source: preserved}
- {from: shop/front, to: service:shop/web, port: 81, expect: reject}
"""
# Wrong: each contradicts the reference (and what the kernel does).
WRONG = """\
- {from: shop/front, to: 203.0.113.9, port: 443, expect: deny}
- {from: shop/locked, to: 203.0.113.9, port: 443, expect: allow}
- {from: shop/front, to: service:shop/web, port: 80, expect: allow, source: masqueraded}
- {from: shop/front, to: service:shop/web, port: 80, expect: allow, pods: [shop/front]}
- {from: 198.51.100.7, to: shop/web-1, port: 8080, expect: allow}
- {from: shop/front, to: service:shop/web, port: 81, expect: drop}
- {from: shop/front, to: service:shop/ghost, port: 80, expect: deny}
"""
# Right, but the lab cannot observe it: nobody can listen at 10.244.1.99 (no pod there).
UNOBSERVABLE = "- {from: shop/front, to: service:shop/ghost, port: 80, expect: allow}\n"

WRONG_REASONS = [
    [
        "expected deny, observed 203.0.113.9:443 saw 10.244.1.6",
        "the expectation (deny) contradicts the reference: 203.0.113.9:443",
    ],
    ["expected allow, observed timeout", "the expectation (allow) contradicts the reference: dropped"],
    [
        "source seen 10.244.1.6 (preserved), expected masqueraded",
        "the expectation (allow source masqueraded) contradicts the reference: shop/web-1:8080",
    ],
    [
        "answered by shop/web-1, expected one of shop/front",
        "the expectation (allow pods shop/front) contradicts the reference: shop/web-1:8080",
    ],
    ["expected allow, observed timeout", "the expectation (allow) contradicts the reference: dropped"],
    ["expected drop, observed refused", "the expectation (drop) contradicts the reference: rejected"],
]


def _lab(directory: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["lab", str(directory), "--timeout", "0.5", *args])
    return result.exit_code, result.stdout, result.stderr


def _result_column(stdout: str) -> dict[str, str]:
    """FROM TO PORT -> RESULT of each table row (the RESULT column starts at the header's RESULT)."""
    lines = stdout.splitlines()
    start = lines[0].index("RESULT")
    return {" ".join(line[:start].split()[:4]): line[start:] for line in lines[1:]}


@pytest.mark.kernel
def test_expectations_right_wrong_and_unobservable(write_yaml: WriteYaml) -> None:
    """Outside destinations are probed without flags; every wrong expectation is a MISMATCH with both
    the observation and the reference named; a wrong one the lab cannot observe is still a MISMATCH;
    a right one it cannot observe is skipped, listed, and fails the run unless --allow-skips."""
    directory = write_yaml(OUTSIDE, "input.yaml")
    expect = directory / "expect"
    expect.mkdir()
    (expect / "right.yaml").write_text(RIGHT)
    (expect / "wrong.yaml").write_text(WRONG)
    (expect / "unobservable.yaml").write_text(RIGHT + UNOBSERVABLE)
    manifests = directory / "input.yaml"

    code, out, err = _lab(manifests, "--expect", str(expect / "right.yaml"), "--format", "json")
    assert code == 0, err
    assert "1 outside host(s)" in err  # the building line counts it
    data = json.loads(out)
    assert [p["status"] for p in data["probes"]] == [OK] * 5
    answered = data["probes"][0]["observed"]
    assert (answered["pod"], answered["peer"], answered["port"]) == ("203.0.113.9", "10.244.1.6", 443)
    # the dropped UDP probe has its positive control: without the policies, 203.0.113.9 answered it
    assert data["probes"][1]["control"] == "without NetworkPolicies: 203.0.113.9:443 saw 10.244.1.7"
    assert data["probes"][2]["control"] == "without NetworkPolicies: shop/web-1:8080 saw 198.51.100.7"

    code, out, err = _lab(manifests, "--expect", str(expect / "wrong.yaml"), "--format", "json")
    assert code == 1, err
    rows = json.loads(out)["probes"]
    assert [r["status"] for r in rows] == [MISMATCH] * 7
    for row, reasons in zip(rows, WRONG_REASONS, strict=False):
        assert row["why"] == reasons, row
    # never skipped when the expectation contradicts the reference, even where the lab cannot observe
    assert rows[6]["why"] == [
        "the reference delivers to 10.244.1.99:80, where no lab server listens; observed timeout",
        "the expectation (deny) contradicts the reference: no lab server at 10.244.1.99:80",
    ]
    assert "skipped" not in err

    code, out, err = _lab(manifests, "--expect", str(expect / "unobservable.yaml"))
    assert code == 1, err
    results = _result_column(out)
    assert results["shop/front service:shop/ghost (10.96.0.21) tcp/80"].startswith(
        "skipped: the reference delivers to 10.244.1.99:80, where no lab server listens; observed"
    )
    listed = [line for line in err.splitlines() if line.startswith("skipped: ")]
    assert len(listed) == 1 and listed[0].startswith("skipped: shop/front -> service:shop/ghost (10.96.0.21) tcp/80: ")
    assert "1 probe(s) skipped, not checked: that is not a pass (exit 1; --allow-skips accepts it)" in err
    assert "5 ok, 0 mismatches, 1 skipped" in err
    code, _, err = _lab(manifests, "--expect", str(expect / "unobservable.yaml"), "--allow-skips")
    assert code == 0 and "allowed by --allow-skips" in err and listed[0] in err


def _compiled(directory: Path) -> str:
    from netcompile.compile.compiler import CompileOptions
    from netcompile.pipeline import compile_paths

    return compile_paths([str(directory)], CompileOptions(node="node-a")).output.text


def _edit(text: str, drop: str = "", old: str = "", new: str = "") -> str:
    out = without_lines(text, drop) if drop else text
    out = out.replace(old, new) if old else out
    assert out != text, "the edit changed nothing"
    return out


# name, the hand edit, the probes that must be MISMATCH (from, to, port) and the reason of the first
BROKEN = [
    (
        "drops what the reference delivers (web-ingress rule deleted)",
        {"drop": "shop/web-ingress ingress[0]"},
        {("shop/front", "shop/web-1", 8080), ("shop/front", "service:shop/web", 80)},
        "dropped; the reference says shop/web-1:8080",
    ),
    (
        "accepts what the reference drops (web-1 not isolated)",
        {"drop": "ip daddr vmap @ingress-isolated-v4"},
        {
            ("198.51.100.7", "shop/web-1", 8080),
            ("198.51.100.7", "service:shop/web", 80),
            ("shop/web-1", "service:shop/web", 80),
        },  # the hairpin: masqueraded to the node, not shop/front
        "answered by shop/web-1:8080; the reference says dropped",
    ),
    (
        "forgets the reject of a ClusterIP's missing port (the packet leaves for the LAN gateway)",
        {"drop": "goto service-reject"},
        {
            (s, f"service:shop/{n}", 1)
            for s in ("shop/front", "shop/locked", "shop/web-1", "node:node-a", "198.51.100.7")
            for n in ("web", "ghost")
        },
        "dropped; the reference says rejected",  # pods: the gateway's ICMP has no route back to them
    ),
    (
        "drops what the reference rejects",
        {"old": "meta l4proto tcp reject with tcp reset", "new": "meta l4proto tcp drop"},
        {
            (s, f"service:shop/{n}", 1)
            for s in ("shop/front", "shop/locked", "shop/web-1", "node:node-a", "198.51.100.7")
            for n in ("web", "ghost")
        },
        "dropped; the reference says rejected",
    ),
]


@pytest.mark.kernel
@pytest.mark.parametrize(("name", "edit", "bad", "reason"), BROKEN, ids=[b[0].split(" (")[0] for b in BROKEN])
def test_broken_ruleset_is_caught(
    write_yaml: WriteYaml, tmp_path: Path, name: str, edit: dict[str, str], bad: set[tuple[str, str, int]], reason: str
) -> None:
    directory = write_yaml(OUTSIDE, "input.yaml")
    broken = tmp_path / "broken.nft"
    broken.write_text(_edit(_compiled(directory), **edit))
    code, out, err = _lab(
        directory / "input.yaml",
        "--ruleset",
        str(broken),
        "--client",
        "198.51.100.7",
        "--format",
        "json",
        "--allow-skips",
    )
    assert code == 1, (name, err)
    rows = json.loads(out)["probes"]
    mismatched = {(r["from"], r["to"], r["port"]) for r in rows if r["status"] == MISMATCH}
    assert mismatched == bad, name
    first = next(r for r in rows if r["status"] == MISMATCH)
    assert first["why"] == [reason], first["why"]
    if "forgets" in name:  # the node hears the LAN gateway: before, "unreachable" passed as rejected
        node = next(r for r in rows if r["status"] == MISMATCH and r["from"] == "node:node-a")
        assert node["observed"]["status"] == "unreachable"
        assert node["why"][0].startswith("unreachable (no route, or ICMP host unreachable from the lab's gateway")
        assert node["why"][0].endswith("; the reference says rejected")


@pytest.mark.kernel
def test_positive_control_catches_a_lab_that_cannot_deliver(write_yaml: WriteYaml) -> None:
    """A drop the reference predicts is a pass only if the lab could have delivered the packet: with
    shop/web-1's link cut, the timeouts where the reference drops fail their control."""
    objects = load([str(write_yaml(OUTSIDE, "input.yaml"))])
    client: list[IPAddress] = [IPv4Address("198.51.100.7")]
    good = run_lab(objects, LabOptions(timeout=0.5, clients=client))
    assert_clean(good.prefix)
    assert good.mismatches == [] and {r.probe.target for r in good.skipped} == {"service:shop/ghost"}
    controlled = {(r.probe.source.label, r.probe.target) for r in good.rows if r.control}
    assert ("198.51.100.7", "shop/web-1") in controlled and ("shop/locked", "shop/web-1") in controlled

    def cut(plan: LabPlan) -> None:
        web = plan.pod("shop/web-1")
        assert web is not None
        subprocess.run(["ip", "-n", web.netns, "link", "set", web.pod_if, "down"], check=True)

    broken: LabReport = run_lab(objects, LabOptions(timeout=0.5, clients=client, after_start=cut))
    assert_clean(broken.prefix)
    web = {("shop/web-1", 8080), ("service:shop/web", 80)}  # not port 1 of the Service: the node rejects that
    assert {r.what for r in broken.mismatches} == {
        r.what
        for r in broken.rows
        if r.status != SKIPPED and (r.probe.source.label == "shop/web-1" or (r.probe.target, r.probe.port) in web)
    }
    failed = {r.what: r.why for r in broken.rows if any(w.startswith("positive control failed") for w in r.why)}
    assert sorted(failed) == [
        "198.51.100.7 -> service:shop/web (10.96.0.20) tcp/80",
        "198.51.100.7 -> shop/web-1 (10.244.1.5) tcp/8080",
        "shop/locked -> service:shop/web (10.96.0.20) tcp/80",
        "shop/locked -> shop/web-1 (10.244.1.5) tcp/8080",
    ]
    assert failed["198.51.100.7 -> shop/web-1 (10.244.1.5) tcp/8080"] == [
        "positive control failed: without NetworkPolicies the lab observed timeout, the reference says "
        "shop/web-1:8080: this timeout proves no drop"
    ]


# --- judging, without a kernel ----------------------------------------------------------------------

SRC = Source("default/a", "ns", IPv4Address("10.244.0.5"), Origin.NETWORK, "node")
WEB = IPv4Address("10.244.0.6")


def _probe(wanted: Wanted | None) -> Probe:
    return Probe(0, SRC, "service:default/web", IPv4Address("10.96.0.1"), Protocol.TCP, 80, wanted)


def _ref(*finals: tuple[Final, Fraction]) -> Expectation:
    return Expectation(dict(finals), [])


def _want(expect: str, pods: tuple[str, ...] | None = None) -> Wanted:
    return Wanted(expect, pods, None, "entry 1")


UNSERVED = Final(Verdict.DELIVERED, None, 80, SRC.address, "10.244.0.99:80", IPv4Address("10.244.0.99"))
A = Final(Verdict.DELIVERED, "default/web-a", 8080, SRC.address, f"{WEB}:8080", WEB)


def test_unobservable_probe_is_skipped_only_when_the_expectation_agrees() -> None:
    ref = _ref((UNSERVED, Fraction(1)))
    unreachable = Observation("unreachable")
    assert judge(_probe(None), unreachable, ref)[0] == SKIPPED
    assert judge(_probe(_want("allow")), unreachable, ref)[0] == SKIPPED
    status, why = judge(_probe(_want("deny")), unreachable, ref)
    assert status == MISMATCH
    assert why[-1] == "the expectation (deny) contradicts the reference: no lab server at 10.244.0.99:80"


def test_icmp_unreachable_is_not_a_reject_and_nothing_to_compare_is_not_a_pass() -> None:
    rejected = _ref((Final(Verdict.REJECTED), Fraction(1)))
    assert judge(_probe(None), Observation("refused"), rejected) == (OK, [])
    for status in ("unreachable", "prohibited"):
        verdict, why = judge(_probe(None), Observation(status), rejected)
        assert verdict == MISMATCH and why[0].startswith(status) and why[0].endswith("; the reference says rejected")
    assert judge(_probe(None), Observation("blocked"), _ref((Final(Verdict.DROPPED), Fraction(1)))) == (OK, [])
    assert judge(_probe(None), Observation("refused"), None)[0] == SKIPPED  # no reference, no expectation


def test_an_expectation_must_hold_for_every_outcome_the_reference_allows() -> None:
    """Answered by web-a, as expected: but the reference drops half the time, so `allow` is wrong."""
    ref = _ref((A, Fraction(1, 2)), (Final(Verdict.DROPPED), Fraction(1, 2)))
    answered = Observation("answered", "default/web-a", str(SRC.address), 8080)
    assert judge(_probe(None), answered, ref) == (OK, [])
    status, why = judge(_probe(_want("allow", ("default/web-a",))), answered, ref)
    assert status == MISMATCH
    assert why == [
        "the expectation (allow pods default/web-a) contradicts the reference: 1/2 default/web-a:8080, 1/2 dropped"
    ]


def test_outside_destinations_are_hosts_that_do_not_send(write_yaml: WriteYaml) -> None:
    objects = load([str(write_yaml(OUTSIDE, "input.yaml"))])
    plan = make_plan(network_of(objects), [IPv4Address("198.51.100.7")], "nc0a1b31", [IPv4Address("203.0.113.9")])
    assert [(c.label, c.sends) for c in plan.clients] == [("198.51.100.7", True), ("203.0.113.9", False)]
    assert "203.0.113.9" not in {s.label for s in sources(plan)}
    assert plan.serve([(IPv4Address("203.0.113.9"), Protocol.TCP, 443), (WEB, Protocol.TCP, 1)]) == []
    assert plan.server_at(IPv4Address("203.0.113.9"), Protocol.TCP, 443) == "203.0.113.9"
    notes = plan.serve([(IPv4Address("10.244.1.5"), Protocol.UDP, 53), (IPv4Address("192.168.1.10"), Protocol.TCP, 22)])
    assert notes == ["pod shop/web-1: also serves udp/53 (probed, not declared by the pod)"]
    assert plan.server_at(IPv4Address("192.168.1.10"), Protocol.TCP, 22) == "node:node-a"
