"""Judging one probe: what the kernel did (the observation), what the reference evaluator says, what the
expectation of an `--expect` entry says — three pairs, each of which must agree.

    observation vs reference      the ruleset does what Kubernetes means (or the lab cannot tell: skipped)
    observation vs expectation    the user's claim holds on the real kernel
    expectation vs reference      the user's claim is what Kubernetes means, for *every* outcome the
                                  reference allows (a 1/2 chance of the wrong endpoint is a wrong claim),
                                  also when the lab cannot observe the probe: never skipped then

What counts as which verdict: an answer from the lab server is *delivered*; a TCP reset or ICMP port
unreachable (what the compiled ruleset's `reject` sends) is *rejected*; silence until the timeout, or
EPERM (the sender's own output hook dropped it) is *dropped*. ICMP host/network unreachable or
administratively prohibited is none of them: the lab's LAN gateway and its guards (servers.py) send
those for packets that went where nobody in the lab listens — never a verdict of the ruleset.
"""

from __future__ import annotations

from ..verify.packet import Verdict
from .expected import Expectation, Final
from .probes import Observation, Probe, Wanted

OK = "ok"
MISMATCH = "MISMATCH"
SKIPPED = "skipped"

OBSERVED_VERDICT = {
    "answered": Verdict.DELIVERED,
    "refused": Verdict.REJECTED,
    "blocked": Verdict.DROPPED,
    "timeout": Verdict.DROPPED,
}
# Observations that are no verdict of any ruleset, and what they mean in the lab.
NOT_A_VERDICT = {
    "unreachable": "unreachable (no route, or ICMP host unreachable from the lab's gateway or guard: the "
    "packet went where no lab server listens; a ruleset's reject is a reset or port unreachable)",
    "prohibited": "prohibited (ICMP from a lab guard: a closed port, where nobody in the lab listens)",
}
WANTED_VERDICTS = {
    "allow": {Verdict.DELIVERED},
    "deny": {Verdict.DROPPED, Verdict.REJECTED},
    "drop": {Verdict.DROPPED},
    "reject": {Verdict.REJECTED},
}


def observed_text(obs: Observation) -> str:
    return NOT_A_VERDICT.get(obs.status, str(obs))


def compare_reference(probe: Probe, obs: Observation, ref: Expectation) -> tuple[str, list[str]]:
    """Does the observation fit the reference's distribution? (status, reasons when it does not)"""
    said = ref.describe(probe.source.address)
    possible = ref.possible()
    unserved = ref.unserved()
    verdict = OBSERVED_VERDICT.get(obs.status)
    if verdict == Verdict.DELIVERED:
        for f in possible:
            if f.verdict == Verdict.DELIVERED and f.server == obs.pod and f.port == obs.port:
                if f.source is not None and str(f.source) != obs.peer:
                    continue
                return OK, []
        same_server = [f for f in possible if f.verdict == Verdict.DELIVERED and f.server == obs.pod]
        if same_server:
            wanted = ", ".join(str(f.source) for f in same_server)
            return MISMATCH, [f"{obs.pod} saw source {obs.peer}; the reference says {wanted}"]
        return MISMATCH, [f"answered by {obs.pod}:{obs.port}; the reference says {said}"]
    if verdict is not None and any(f.verdict == verdict for f in possible):
        return OK, []
    if unserved and obs.status != "error":
        where = ", ".join(f.where for f in unserved)
        return SKIPPED, [f"the reference delivers to {where}, where no lab server listens; observed {obs}"]
    if obs.status == "error":
        return MISMATCH, [f"probe failed: {obs}; the reference says {said}"]
    if verdict is None:
        return MISMATCH, [f"{observed_text(obs)}; the reference says {said}"]
    return MISMATCH, [f"{verdict.value}; the reference says {said}"]


def compare_wanted(probe: Probe, obs: Observation) -> list[str]:
    """Reasons the observation breaks the --expect entry (empty when it does not)."""
    w = probe.wanted
    if w is None:
        return []
    verdict = OBSERVED_VERDICT.get(obs.status)
    if verdict not in WANTED_VERDICTS[w.expect]:
        return [f"expected {w.expect}, observed {observed_text(obs)}"]
    why = []
    if verdict == Verdict.DELIVERED:
        if w.pods is not None and obs.pod not in w.pods:
            why.append(f"answered by {obs.pod}, expected one of {', '.join(w.pods) or '(none)'}")
        src = str(probe.source.address)
        if w.source == "preserved" and obs.peer != src:
            why.append(f"source seen {obs.peer}, expected preserved {src}")
        if w.source == "masqueraded" and obs.peer == src:
            why.append(f"source seen {obs.peer} (preserved), expected masqueraded")
    return why


def _fits(w: Wanted, f: Final, probe: Probe) -> bool:
    if f.verdict not in WANTED_VERDICTS[w.expect]:
        return False
    if f.verdict != Verdict.DELIVERED:
        return True
    if w.pods is not None and f.server not in w.pods:
        return False
    if w.source == "preserved" and f.source != probe.source.address:
        return False
    return not (w.source == "masqueraded" and f.source == probe.source.address)


def wanted_text(w: Wanted) -> str:
    parts = [w.expect]
    if w.pods is not None:
        parts.append(f"pods {', '.join(w.pods) or '(none)'}")
    if w.source is not None:
        parts.append(f"source {w.source}")
    return " ".join(parts)


def compare_wanted_reference(probe: Probe, ref: Expectation) -> list[str]:
    """Reasons the --expect entry contradicts the reference (empty when every possible outcome fits it)."""
    w = probe.wanted
    if w is None or all(_fits(w, f, probe) for f in ref.possible()):
        return []
    return [f"the expectation ({wanted_text(w)}) contradicts the reference: {ref.describe(probe.source.address)}"]


def judge(probe: Probe, obs: Observation, ref: Expectation | None) -> tuple[str, list[str]]:
    """The row's status and reasons, from all three comparisons. A probe is skipped only when the lab
    cannot observe what the reference predicts *and* the expectation (if any) agrees with the reference."""
    if ref is not None:
        status, why = compare_reference(probe, obs, ref)
    elif probe.wanted is None:
        status, why = SKIPPED, ["no reference evaluator and no expectation: nothing to compare with"]
    else:
        status, why = OK, []
    # when the lab cannot observe the outcome, the observation proves nothing for the expectation either
    against = [] if status == SKIPPED else compare_wanted(probe, obs)
    against += compare_wanted_reference(probe, ref) if ref is not None else []
    if against:
        return MISMATCH, [*why, *against]
    return status, why
