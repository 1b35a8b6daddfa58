"""The positive control of drops.

A probe that times out where the reference says *dropped* agrees with the reference — but silence is
also what a broken lab gives (a missing route, a dead server, a packet sent nowhere). So a drop counts
only with a positive control: after the probes, every node's ruleset is replaced by the one compiled
from the same input *without NetworkPolicies*, and each probe that timed out is sent again. The reference
for that policy-free cluster must then deliver it, and the lab must see the answer: the path and the
server work, and what dropped the packet before was the ruleset's policy. When the control is not
answered as the reference says, the drop is a MISMATCH (the lab cannot deliver that packet at all).

Drops that remain drops without NetworkPolicies (externalTrafficPolicy Local without a local endpoint,
loadBalancerSourceRanges, ...) have no such control; they are counted in a note, with examples.
Rejects need no control: a reset or port unreachable is an answer, and only a ruleset's reject sends one
in the lab (closed ports answer "prohibited", see servers.py). Afterwards the real rulesets are applied
again (for --keep).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from ..journeys import Network
from ..model import Objects
from ..pipeline import compile_nodes
from ..verify.packet import Verdict
from . import probes as pr
from .backend import Backend
from .compare import MISMATCH, OK, compare_reference
from .expected import Expectation, LabJourneys, first_node
from .plan import LabPlan
from .report import Row

LOAD_BALANCED_COPIES = 12  # tries of a probe the reference load-balances, sent at once


def without_policies(objects: Objects) -> Objects:
    return dataclasses.replace(objects, network_policies=())


def policy_free(network: Network) -> Network:
    """The same input compiled without NetworkPolicies, with the same options (and reference)."""
    nodes = compile_nodes(without_policies(network.objects), network.opts)
    return Network(nodes, network.opts, oracle=network.oracle)


def reference(lab: LabJourneys, probe: pr.Probe) -> Expectation:
    """The reference's expectation of one probe (expected.py), entering where the packet enters."""
    return lab.expect(
        src=probe.source.address,
        dst=probe.dst,
        protocol=probe.protocol,
        port=probe.port,
        origin=probe.source.origin,
        node=first_node(lab.plan, probe.source.node, probe.dst),
    )


def may_drop(ref: Expectation | None) -> bool:
    return ref is not None and any(f.verdict == Verdict.DROPPED for f in ref.possible())


def controllable(ref: Expectation) -> bool:
    """The policy-free reference delivers it to a lab server, and only there."""
    possible = ref.possible()
    return bool(possible) and all(f.verdict == Verdict.DELIVERED and f.server for f in possible)


def control_references(
    free: LabJourneys, probes: list[pr.Probe], refs: Mapping[int, Expectation | None]
) -> dict[int, Expectation]:
    """The policy-free reference (`free`: the lab's journeys without NetworkPolicies) of every probe the
    reference may drop (so its servers are planned too)."""
    return {p.id: reference(free, p) for p in probes if may_drop(refs.get(p.id))}


def run_control(
    plan: LabPlan,
    free: Network,
    rows: list[Row],
    control_refs: Mapping[int, Expectation],
    rulesets: Mapping[str, str],
    *,
    table: str,
    timeout: float,
    backend: Backend,
) -> list[str]:
    """Re-send every probe that passed as a timeout with policy-free rulesets (`free`: the input compiled
    without NetworkPolicies); update its rows. Notes."""
    candidates = [r for r in rows if r.status == OK and r.observed.status == "timeout" and r.probe.id in control_refs]
    if not candidates:
        return []
    testable = {r.probe.id: r.probe for r in candidates if controllable(control_refs[r.probe.id])}
    untested = sorted({r.what for r in candidates if r.probe.id not in testable})
    notes = []
    if untested:
        examples = "; ".join(untested[:3]) + (f"; and {len(untested) - 3} more" if len(untested) > 3 else "")
        notes.append(
            f"positive control: {len(untested)} dropped probe(s) are dropped even without NetworkPolicies "
            f"(by Service rules), so the lab has no control for them: {examples}"
        )
    if not testable:
        return notes
    lab = LabJourneys(plan, free)
    for node in plan.nodes:
        text = backend.text(free.views[lab.network_name(node.name)].compiled.output, node.name)
        backend.load(text, node.netns, table=table, display_name=f"<control of {node.name}>")
    # A load-balanced probe samples one endpoint: send it several times at once, one answer suffices
    # (the drop happened before or regardless of that choice; one endpoint's path may be one the lab
    # cannot deliver, which the full matrix reports on its own).
    copies: dict[int, int] = {}
    sent: list[pr.Probe] = []
    for probe in testable.values():
        n = 1 if len(control_refs[probe.id].possible()) == 1 else LOAD_BALANCED_COPIES
        for _ in range(n):
            copies[len(sent)] = probe.id
            sent.append(dataclasses.replace(probe, id=len(sent)))
    try:
        results = pr.run_probes(sent, timeout)
    finally:
        for node in plan.nodes:
            backend.load(rulesets[node.name], node.netns, table=table, display_name=f"<ruleset of {node.name}>")
    seen: dict[int, list[pr.Observation]] = {}
    for copy, original in copies.items():
        seen.setdefault(original, []).append(results[copy])
    answered = 0
    for row in candidates:
        if row.probe.id not in testable:
            continue
        ref = control_refs[row.probe.id]
        observations = seen[row.probe.id]
        good = [
            obs for obs in observations if obs.status == "answered" and compare_reference(row.probe, obs, ref)[0] == OK
        ]
        if good:
            row.control = f"without NetworkPolicies: {good[0]}"
            answered += 1
            continue
        row.status = MISMATCH
        observed = ", ".join(sorted({str(o) for o in observations}))
        tries = f" ({len(observations)} tries)" if len(observations) > 1 else ""
        row.why = [
            *row.why,
            f"positive control failed: without NetworkPolicies the lab observed {observed}{tries}, the "
            f"reference says {ref.describe(row.probe.source.address)}: this timeout proves no drop",
        ]
    notes.append(
        f"positive control: {answered} of {sum(r.probe.id in testable for r in candidates)} dropped probe(s) "
        "answered once the NetworkPolicies were removed"
    )
    return notes
