"""The lab, start to finish: plan → compile per node → namespaces → apply → servers → probes → compare →
report, and teardown always (also on Ctrl-C, SIGTERM or error) unless asked to keep the lab.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from ..apply import apply_script
from ..cluster import Cluster
from ..compiler import CompileOptions, compile_cluster
from ..model import IPAddress, Objects
from ..nftlib import NftUnavailable
from ..packet import Verdict
from . import probes as pr
from .expected import Expectation, Oracle, default_oracle, expect, first_node
from .plan import LabPlan, PlanError, make_plan
from .servers import Servers
from .topology import build, teardown

OK = "ok"
MISMATCH = "MISMATCH"
SKIPPED = "skipped"


@dataclass(slots=True)
class LabOptions:
    clients: list[IPAddress] = field(default_factory=list)
    expect_file: Path | None = None
    keep: bool = False
    timeout: float = 1.0
    repeat: int = 1  # rounds of probes, one after the other (session affinity must hold across them)
    table: str = "netcompile"
    prefix: str | None = None  # run-unique by default
    # Called with each finished (done, total); and with each line of progress text.
    progress: Callable[[int, int], None] | None = None
    log: Callable[[str], None] | None = None
    # Rulesets to apply instead of the compiled ones, by node name (e.g. a hand-edited, broken one).
    rulesets: dict[str, str] = field(default_factory=dict)
    # Hook for tests: change a node's ruleset before it is applied (e.g. break a rule).
    edit_ruleset: Callable[[str, str], str] | None = None


@dataclass(slots=True)
class Row:
    probe: pr.Probe
    observed: pr.Observation
    reference: Expectation | None
    status: str  # ok | MISMATCH | skipped
    why: list[str]
    round: int = 0  # with --repeat: which round of probes

    def to_json(self) -> dict[str, Any]:
        p, o = self.probe, self.observed
        return {
            "from": p.source.label,
            "src": str(p.source.address),
            "to": p.target,
            "dst": str(p.dst),
            "protocol": p.protocol.value,
            "port": p.port,
            "observed": {
                "status": o.status,
                "pod": o.pod,
                "peer": o.peer,
                "port": o.port,
                "ms": o.ms,
                "error": o.error,
            },
            "reference": None
            if self.reference is None
            else [
                {
                    "verdict": f.verdict.value,
                    "pod": f.server,
                    "port": f.port,
                    "source": str(f.source) if f.source else None,
                    "probability": str(prob),
                }
                for f, prob in sorted(self.reference.distribution.items())
                if prob > 0
            ],
            "expect": None
            if p.wanted is None
            else {
                "expect": p.wanted.expect,
                "pods": list(p.wanted.pods) if p.wanted.pods is not None else None,
                "source": p.wanted.source,
            },
            "round": self.round,
            "status": self.status,
            "why": self.why,
        }


@dataclass(slots=True)
class LabReport:
    prefix: str
    rows: list[Row]
    notes: list[str]
    timings: dict[str, float]
    reference_used: bool
    kept: bool
    namespaces: list[str]

    @property
    def mismatches(self) -> list[Row]:
        return [r for r in self.rows if r.status == MISMATCH]

    def to_json(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "probes": [r.to_json() for r in self.rows],
            "summary": {
                "probes": len(self.rows),
                "ok": sum(r.status == OK for r in self.rows),
                "mismatches": len(self.mismatches),
                "skipped": sum(r.status == SKIPPED for r in self.rows),
            },
            "reference": self.reference_used,
            "notes": self.notes,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "kept": self.namespaces if self.kept else [],
        }


# --- comparing ---------------------------------------------------------------------------------------

OBSERVED_VERDICT = {
    "answered": Verdict.DELIVERED,
    "refused": Verdict.REJECTED,
    "unreachable": Verdict.REJECTED,
    "timeout": Verdict.DROPPED,
}


def compare_reference(probe: pr.Probe, obs: pr.Observation, ref: Expectation) -> tuple[str, list[str]]:
    """Does the observation fit the reference's distribution? (status, reasons when it does not)"""
    if pr.never_reaches_node(probe.source, probe.dst):
        return SKIPPED, ["a pod's traffic to its own address never leaves the pod: no ruleset sees it"]
    possible = ref.possible()
    verdict = OBSERVED_VERDICT.get(obs.status)
    if verdict is None:
        return MISMATCH, [f"probe failed: {obs}"]
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
        return MISMATCH, [f"answered by {obs.pod}:{obs.port}; the reference says {ref.describe(probe.source.address)}"]
    if any(f.verdict == verdict for f in possible):
        return OK, []
    if any(f.verdict == Verdict.DELIVERED and f.server is None for f in possible):
        return SKIPPED, [f"the reference delivers where no lab server listens ({ref.describe(probe.source.address)})"]
    return MISMATCH, [f"{verdict.value}; the reference says {ref.describe(probe.source.address)}"]


def compare_wanted(probe: pr.Probe, obs: pr.Observation) -> list[str]:
    """Reasons the observation breaks the --expect entry (empty when it does not)."""
    w = probe.wanted
    if w is None:
        return []
    verdict = OBSERVED_VERDICT.get(obs.status)
    allowed = {
        "allow": {Verdict.DELIVERED},
        "deny": {Verdict.DROPPED, Verdict.REJECTED},
        "drop": {Verdict.DROPPED},
        "reject": {Verdict.REJECTED},
    }[w.expect]
    if verdict not in allowed:
        return [f"expected {w.expect}, observed {obs}"]
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


# --- orchestration -----------------------------------------------------------------------------------


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM/SIGHUP raise KeyboardInterrupt (so `finally` tears down), in the main thread only."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def preflight() -> None:
    """The lab needs root (namespaces, nftables), iproute2 and libnftables: say so in one line."""
    if os.geteuid() != 0:
        raise NftUnavailable("the lab needs root (network namespaces and nftables): run with sudo")
    if shutil.which("ip") is None:
        raise NftUnavailable("the lab needs iproute2 (`ip`): apt-get install iproute2")
    try:
        import nftables  # noqa: F401
    except ImportError:
        raise NftUnavailable(
            "the libnftables Python binding is not importable: install Debian's python3-nftables"
        ) from None


def service_addresses(objects: Objects) -> set[IPAddress]:
    """Every Service frontend address of the input (virtual: DNATed inside the lab, never routed out)."""
    out: set[IPAddress] = set()
    for s in objects.services:
        out.update(s.cluster_ips)
        out.update(s.external_ips)
        out.update(i.ip for i in s.load_balancer_ingress)
    return out


def node_clusters(objects: Objects, plan: LabPlan) -> dict[str, Cluster]:
    return {n.name: Cluster(objects, n.name if n.declared else None) for n in plan.nodes}


def run_lab(objects: Objects, options: LabOptions, oracle: Oracle | None = None) -> LabReport:
    """Build the lab, probe, compare, tear down. Raises PlanError, ExpectError, TopologyError,
    ServerError, NftRejected/NftUnavailable on problems (after tearing down what was built)."""
    preflight()
    log = options.log or (lambda _: None)
    oracle = oracle or default_oracle()
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    entries = pr.read_expectations(options.expect_file) if options.expect_file else None
    clients = list(options.clients) + (pr.client_addresses(entries) if entries else [])
    plan = make_plan(objects, clients, options.prefix)
    unknown = sorted(set(options.rulesets) - {n.name for n in plan.nodes})
    if unknown:
        raise PlanError(
            f"--ruleset for {', '.join(unknown)}: no such node (nodes: {', '.join(n.name for n in plan.nodes)})"
        )
    notes = list(plan.notes)
    if oracle is None:
        notes.append("the reference evaluator is not available: only --expect expectations are checked")
    clusters = node_clusters(objects, plan)
    rulesets = {}
    for node in plan.nodes:
        out = compile_cluster(
            clusters[node.name], CompileOptions(node=node.name if node.declared else None, table=options.table)
        )
        text = options.rulesets.get(node.name, out.text)
        if node.name in options.rulesets:
            notes.append(f"{node.name}: applied the given ruleset, not the compiled one")
        if options.edit_ruleset is not None:
            text = options.edit_ruleset(node.name, text)
        rulesets[node.name] = text
        notes.extend(f"{node.name}: {n}" for n in out.notices)
    if entries is not None:
        assert options.expect_file is not None
        probes = pr.expectation_probes(plan, objects, entries, str(options.expect_file))
    else:
        probes = pr.matrix(plan, objects, notes)
    inside = plan.lab_addresses() | service_addresses(objects)
    outside = sorted({str(p.dst) for p in probes if p.dst not in inside})
    if outside:
        raise PlanError(f"refusing to probe {', '.join(outside)}: not an address of the lab or of a Service")
    timings["plan"] = time.monotonic() - t0

    servers = Servers()
    rows: list[Row] = []
    with _sigterm_as_interrupt():
        try:
            t = time.monotonic()
            log(
                f"building lab {plan.prefix}: {len(plan.nodes)} node(s), "
                f"{sum(not p.host_network for p in plan.pods)} pod namespace(s), {len(plan.clients)} client(s)"
            )
            build(plan)
            timings["build"] = time.monotonic() - t
            t = time.monotonic()
            for node in plan.nodes:
                # force: the node's namespace is the lab's own, nothing else lives there to protect
                apply_script(
                    rulesets[node.name],
                    table=options.table,
                    netns=node.netns,
                    force=True,
                    display_name=f"<ruleset of {node.name}>",
                )
            timings["apply"] = time.monotonic() - t
            t = time.monotonic()
            servers.start(plan)
            timings["servers"] = time.monotonic() - t
            t = time.monotonic()
            rounds = f" x {options.repeat} rounds" if options.repeat > 1 else ""
            log(f"probing: {len(probes)} probe(s){rounds}, timeout {options.timeout:g}s")
            done = 0
            total = len(probes) * options.repeat

            def on_result(_: pr.Probe, __: pr.Observation) -> None:
                nonlocal done
                done += 1
                if options.progress is not None:
                    options.progress(done, total)

            observed = [pr.run_probes(probes, options.timeout, on_result) for _ in range(options.repeat)]
            timings["probe"] = time.monotonic() - t
        finally:
            t = time.monotonic()
            servers.stop()
            if not options.keep:
                left = teardown(plan.prefix)
                if left:
                    notes.append(f"teardown could not delete: {', '.join(left)}")
            timings["teardown"] = time.monotonic() - t

    affinity = {s.meta.key for s in objects.services if s.session_affinity_timeout is not None}
    for probe in probes:
        ref = None
        if oracle is not None:
            entry = first_node(plan, probe.source.node, probe.dst)
            ref = expect(
                plan,
                clusters,
                oracle,
                src=probe.source.address,
                dst=probe.dst,
                protocol=probe.protocol,
                port=probe.port,
                origin=probe.source.origin,
                node=entry,
            )
        first_answer: str | None = None
        for round_, results in enumerate(observed):
            obs = results[probe.id]
            status, why = compare_reference(probe, obs, ref) if ref is not None else (OK, list[str]())
            wanted_why = compare_wanted(probe, obs)
            if wanted_why:
                status, why = MISMATCH, [*why, *wanted_why]
            if probe.service in affinity and obs.status == "answered":
                if first_answer is None:
                    first_answer = obs.pod
                elif obs.pod != first_answer:
                    status, why = (
                        MISMATCH,
                        [*why, f"session affinity: answered by {obs.pod}, earlier by {first_answer}"],
                    )
            rows.append(Row(probe, obs, ref, status, why, round_))
    timings["total"] = time.monotonic() - t0
    return LabReport(plan.prefix, rows, notes, timings, oracle is not None, options.keep, plan.namespaces)


# --- the table ---------------------------------------------------------------------------------------


def format_table(report: LabReport, *, all_rows: bool = True) -> list[str]:
    headers = ("FROM", "TO", "PORT", "OBSERVED", "REFERENCE", "RESULT")
    lines: list[tuple[str, ...]] = []
    for row in report.rows:
        if not all_rows and row.status == OK:
            continue
        p = row.probe
        ref = row.reference.describe(p.source.address) if row.reference else "-"
        if p.wanted is not None:
            ref = f"{ref} | expect {p.wanted.expect}" if row.reference else f"expect {p.wanted.expect}"
        result = row.status + (": " + "; ".join(row.why) if row.why and row.status != OK else "")
        target = p.target if p.target == str(p.dst) else f"{p.target} ({p.dst})"
        source = p.source.label + (f" #{row.round + 1}" if row.round else "")
        lines.append((source, target, f"{p.protocol.value.lower()}/{p.port}", str(row.observed), ref, result))
    widths = [max([len(h), *(len(line[i]) for line in lines)]) for i, h in enumerate(headers[:-1])]
    out = []
    for line in [headers, *lines]:
        out.append("  ".join(cell.ljust(w) for cell, w in zip(line[:-1], widths, strict=True)) + "  " + line[-1])
    return out


def summary(report: LabReport) -> str:
    n = len(report.rows)
    bad = len(report.mismatches)
    skipped = sum(r.status == SKIPPED for r in report.rows)
    t = report.timings
    parts = [f"{n} probes", f"{n - bad - skipped} ok", f"{bad} mismatch{'es' if bad != 1 else ''}"]
    if skipped:
        parts.append(f"{skipped} skipped")
    phases = ", ".join(f"{k} {t[k]:.2f}s" for k in ("build", "apply", "servers", "probe", "teardown") if k in t)
    return f"lab {report.prefix}: {', '.join(parts)} in {t.get('total', 0):.2f}s ({phases})"


def stderr_progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\rprobing: {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()
    elif done == total or done % max(1, total // 4) == 0:
        sys.stderr.write(f"probing: {done}/{total}\n")
        sys.stderr.flush()
