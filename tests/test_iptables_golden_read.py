"""Every golden case through the iptables back end: its expected.iptables (what `compile --backend iptables`
writes, kept equal to it by tests/test_golden.py) is read by the iptables interpreter
(netcompile.verify.iptables), and on every probe of the golden suite
(tests/test_golden.py) the interpreter of that text agrees with the reference evaluator, with the
probabilities the kernel really gives (`iptables_distribution`).
"""

from __future__ import annotations

from fractions import Fraction
from ipaddress import ip_address

import pytest

from netcompile.golden import Case, discover
from netcompile.iptables import endpoint_probabilities
from netcompile.verify.iptables import Ruleset, kube_proxy_cascade
from netcompile.verify.packet import Outcome, Result, Verdict
from netcompile.verify.reference import evaluate
from tests.conftest import ROOT
from tests.test_golden import golden_packets

CASES = discover(ROOT / "golden")
IDS = [c.name for c in CASES]


def iptables_distribution(reference: Outcome) -> dict[Result, Fraction]:
    """What the iptables back end must give where the reference says a uniform choice among N endpoints:
    kube-proxy's statistic cascade over the endpoints in the order of docs/iptables.md (by address, then
    port), each with its exact share (verify.iptables.kube_proxy_cascade). Anything else is unchanged."""
    distribution = reference.distribution
    n = len(distribution)
    if n < 2 or set(distribution.values()) != {Fraction(1, n)}:
        return dict(distribution)
    if any(result.verdict != Verdict.DELIVERED for result in distribution):
        return dict(distribution)
    ordered = sorted(distribution, key=lambda r: (int(r.dst or 0), r.dport or 0, r.masquerade))
    return dict(zip(ordered, kube_proxy_cascade(n), strict=True))


def disagreements(case: Case) -> tuple[list[str], int]:
    (compiled, opts) = case.compiled()
    cluster = compiled.cluster
    ruleset = Ruleset.parse(case.expected_iptables_path.read_text())
    packets = golden_packets(cluster, opts)
    problems: list[str] = []
    for packet in packets:
        reference = evaluate(cluster, packet, opts.nodeport_addresses)
        expected = iptables_distribution(reference)
        got = ruleset.evaluate(packet, cluster.node_addresses)
        if got.distribution != expected:
            problems.append(
                f"{packet}\n  reference: {reference.describe()} {reference.reasons}\n"
                f"  expected:  {Outcome(expected).describe()}\n  iptables:  {got.describe()}"
                + "".join(f"\n    {step}" for step in got.path)
            )
    return problems, len(packets)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_case_through_the_iptables_back_end_agrees_with_the_reference(case: Case) -> None:
    problems, packets = disagreements(case)
    assert packets
    assert not problems, f"{len(problems)} of {packets} packets disagree:\n" + "\n".join(problems[:8])


def test_the_expected_distribution_is_the_kernels_cascade() -> None:
    """A uniform choice among three becomes the exact cascade, in address order; the rest is unchanged."""
    results = [Result(Verdict.DELIVERED, ip_address(f"10.0.0.{i}"), 80) for i in (3, 1, 2)]
    third = Fraction(1, 3)
    expected = iptables_distribution(Outcome(dict.fromkeys(results, third)))
    assert list(expected.values()) == [
        Fraction(715827883, 2**31),
        Fraction(1431655765, 2**32),
        Fraction(1431655765, 2**32),
    ]
    assert [str(r.dst) for r in expected] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    mixed = Outcome({results[0]: Fraction(1, 2), Result.rejected(): Fraction(1, 2)})
    assert iptables_distribution(mixed) == mixed.distribution


def test_the_renderer_and_the_interpreter_compute_the_same_cascade() -> None:
    """netcompile.iptables.endpoint_probabilities (the renderer's) and verify.iptables.kube_proxy_cascade
    (the proof's, written apart) agree on every endpoint count from 1 to 64, and at 100 and 1 000."""
    for n in [*range(1, 65), 100, 1000]:
        assert list(endpoint_probabilities(n)) == kube_proxy_cascade(n), n
