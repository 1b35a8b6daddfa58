"""The proof catches bugs of the iptables back end: deliberate mutations of its text that the proof finds.

As tests/test_mutations.py does for nftables: each mutation is a small edit of the rendered iptables text
of the kind a renderer bug would make, several of them bugs only iptables can have (an ACCEPT that ends
the whole hook where nftables' accept ends one base chain, a drop deferred out of the nat table and never
carried out, a statistic cascade with 1/N in every rule). Each must be caught twice over where CI's time
allows: on the probes of its golden case (the mutated expected.iptables, read by the iptables interpreter,
disagrees with the reference), and by the Hypothesis search over generated clusters (derandomized, so CI
cannot flake; not shrunk). Two of the searches took about three minutes each here (the 1/N cascade and
the swapped set directions): they are checked on their golden case in CI, and searched too under
`HYPOTHESIS_PROFILE=long`. A mutation whose pattern no longer occurs in its golden case fails, so none
can silently go inert.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, Phase, find, settings

from netcompile.golden import discover
from netcompile.verify.iptables import Ruleset
from netcompile.verify.reference import evaluate
from tests.conftest import ROOT
from tests.strategies import Scenario, scenarios
from tests.test_golden import golden_packets
from tests.test_iptables_golden_read import iptables_distribution
from tests.test_iptables_properties import disagreements

SEARCH_EVERY_MUTATION = os.environ.get("HYPOTHESIS_PROFILE") == "long"


def _egress_accept_ends_the_hook(text: str) -> str:
    """An egress allow lowered to ACCEPT: in iptables that skips the ingress checks after it."""
    return re.sub(r"(?m)^(-A NC-egress-pods-\S+ .*) -j RETURN$", r"\1 -j ACCEPT", text)


def _forget_deferred_rejects(text: str) -> str:
    """The nat table marks what it rejects; the filter table's rules that reject by the mark are lost."""
    return "\n".join(line for line in text.splitlines() if '"rejected in nat"' not in line) + "\n"


def _statistic_one_over_n_everywhere(text: str) -> str:
    """Every endpoint rule of a Service chain gets the first rule's probability (1/N), not 1/(N-i)."""
    first: dict[str, str] = {}

    def same(match: re.Match[str]) -> str:
        chain, probability = match[1], match[2]
        return match[0].replace(probability, first.setdefault(chain, probability))

    return re.sub(r"(?m)^-A (\S+) .*--probability (\d\.\d+)", same, text)


def _ingress_set_directions_swapped(text: str) -> str:
    return re.sub(r"(?m)^(-A NC-ingress-pods-\S+ .*--match-set \S+) src,dst ", r"\1 dst,src ", text)


def _forget_hairpin(text: str) -> str:
    return (
        "\n".join(line for line in text.splitlines() if "hairpin" not in line or line.startswith(("create", "add")))
        + "\n"
    )


def _forget_off_cluster_masquerade(text: str) -> str:
    return (
        "\n".join(line for line in text.splitlines() if "from outside the pod networks: masquerade" not in line) + "\n"
    )


MUTATIONS: dict[str, tuple[Callable[[str], str], str, bool]] = {
    # name: (mutation, a golden case whose expected.iptables it must change, searched in CI)
    "an egress allow that ACCEPTs ends the whole hook": (_egress_accept_ends_the_hook, "policy-peers-ipblock", True),
    "rejects deferred out of nat never carried out": (_forget_deferred_rejects, "basic-clusterip", True),
    "1/N in every rule of a statistic cascade": (_statistic_one_over_n_everywhere, "basic-endpointslices", False),
    "ingress allow set matched in the wrong directions": (_ingress_set_directions_swapped, "policy-ports", False),
    "forget hairpin masquerade": (_forget_hairpin, "svc-hairpin", True),
    "forget masquerade for sources outside the pod networks": (_forget_off_cluster_masquerade, "basic-clusterip", True),
}


def golden_disagreements(case_name: str, text: str) -> list[str]:
    """Probes of the golden case on which `text` (its iptables output, mutated) and the reference differ."""
    (case,) = [c for c in discover(ROOT / "golden") if c.name == case_name]
    compiled, opts = case.compiled()
    cluster, ruleset = compiled.cluster, Ruleset.parse(text)
    return [
        str(packet)
        for packet in golden_packets(cluster, opts)
        if ruleset.evaluate(packet, cluster.node_addresses).distribution
        != iptables_distribution(evaluate(cluster, packet, opts.nodeport_addresses))
    ]


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_the_golden_probes_catch(name: str) -> None:
    mutate, case, _ = MUTATIONS[name]
    golden = (ROOT / "golden" / case / "expected.iptables").read_text()
    assert mutate(golden) != golden, f"mutation {name!r} no longer changes golden/{case}: update it"
    assert not golden_disagreements(case, golden)
    assert golden_disagreements(case, mutate(golden)), f"golden/{case}'s probes do not see {name!r}"


@pytest.mark.parametrize(
    "name", sorted(n for n, (_, _, searched) in MUTATIONS.items() if searched or SEARCH_EVERY_MUTATION)
)
def test_the_property_search_catches(name: str) -> None:
    mutate, _, _ = MUTATIONS[name]
    found = find(
        scenarios(),
        lambda s: bool(disagreements(s, mutate)),
        settings=settings(
            max_examples=3000,
            derandomize=True,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate],  # not shrunk: the search alone proves the point, and CI's time is counted
            database=None,
        ),
    )
    assert isinstance(found, Scenario)
    print(f"\n=== mutation: {name}\n--- counterexample:{found!r}--- disagreement:")
    print("\n".join(disagreements(found, mutate)))
