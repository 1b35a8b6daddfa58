"""The lab, start to finish: the pipeline (complete, compile every node) → plan → reference per probe
(journeys across the lab's nodes) → servers wherever the reference delivers → namespaces → apply →
guards → servers → probes → compare → positive control of drops → report; and teardown always (also on
Ctrl-C, SIGTERM or error) unless asked to keep the lab.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from ..compile.compiler import CompileOptions
from ..host.nftlib import NftUnavailable
from ..journeys import Network, Oracle
from ..model import IPAddress, Objects, Protocol
from ..pipeline import compile_nodes, complete
from ..verify.packet import Verdict
from . import probes as pr
from .backend import Backend
from .compare import MISMATCH, OK, SKIPPED, judge
from .control import control_references, may_drop, policy_free, reference, run_control
from .expectations import addresses_in, expectation_probes, read_expectations
from .expected import Expectation, LabJourneys
from .plan import LabPlan, PlanError, make_plan, new_prefix
from .report import LabReport, Row, format_table, skipped_lines, stderr_progress, summary
from .servers import Servers, apply_guards
from .topology import build, teardown

__all__ = [
    "MISMATCH", "OK", "SKIPPED", "LabOptions", "LabReport", "Row", "format_table", "run_lab", "skipped_lines",
    "stderr_progress", "summary",
]  # fmt: skip


@dataclass(slots=True)
class LabOptions:
    clients: list[IPAddress] = field(default_factory=list)
    expect_file: Path | None = None
    keep: bool = False
    timeout: float = 1.0
    repeat: int = 1  # rounds of probes, one after the other (session affinity must hold across them)
    # every node's ruleset is compiled with these (its node set per node), and the reference follows them
    compile: CompileOptions = field(default_factory=CompileOptions)
    prefix: str | None = None  # run-unique by default
    # Called with each finished (done, total); and with each line of progress text.
    progress: Callable[[int, int], None] | None = None
    log: Callable[[str], None] | None = None
    # Rulesets to apply instead of the compiled ones, by node name (e.g. a hand-edited, broken one).
    rulesets: dict[str, str] = field(default_factory=dict)
    # Hook for tests: change a node's ruleset before it is applied (e.g. break a rule).
    edit_ruleset: Callable[[str, str], str] | None = None
    # Send probes that time out where the reference drops again without NetworkPolicies (control.py).
    control: bool = True
    # Hook for tests: change the running lab before the probes (e.g. cut a pod's link: a broken lab).
    after_start: Callable[[LabPlan], None] | None = None
    # The rules the nodes run: nftables, or the iptables back end (iptables-nft or iptables-legacy).
    backend: Backend = field(default_factory=Backend)

    @property
    def table(self) -> str:
        return self.compile.table


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


Refs = dict[int, Expectation | None]
Targets = set[tuple[IPAddress, Protocol, int]]
ControlRefs = dict[int, Expectation]  # the policy-free references, for the positive control


class _Networks:
    """The input compiled for every node, and (for the positive control, on first use) without policies."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self._free: Network | None = None

    @property
    def free(self) -> Network:
        if self._free is None:
            self._free = policy_free(self.network)
        return self._free


def _references(plan: LabPlan, networks: _Networks, probes: list[pr.Probe], control: bool) -> tuple[Refs, ControlRefs]:
    """Each probe's reference, and the policy-free reference of those it may drop (for the control)."""
    lab = LabJourneys(plan, networks.network)
    refs: Refs = {p.id: reference(lab, p) for p in probes}
    if not control or not any(may_drop(r) for r in refs.values()):  # the policy-free rulesets: only if needed
        return refs, {}
    return refs, control_references(LabJourneys(plan, networks.free), probes, refs)


def _deliveries(probes: list[pr.Probe], *refmaps: Mapping[int, Expectation | None]) -> Targets:
    """Every (address, protocol, port) the references deliver a probe to."""
    out: Targets = set()
    for probe in probes:
        for refs in refmaps:
            ref = refs.get(probe.id)
            for f in ref.possible() if ref is not None else []:
                if f.verdict == Verdict.DELIVERED and f.address is not None and f.port is not None:
                    out.add((f.address, probe.protocol, f.port))
    return out


def _plan_and_probes(
    networks: _Networks, options: LabOptions, entries: list[dict[str, Any]] | None
) -> tuple[LabPlan, list[pr.Probe], Refs, ControlRefs, list[str]]:
    """The plan, the probes and their references. Outside hosts wherever an expectation or a reference
    sends a packet out of the cluster; a lab server wherever a reference delivers or an expectation
    aims, so that every delivery the reference predicts is observed, not guessed."""
    objects = networks.network.objects
    services = service_addresses(objects)
    clients = [*options.clients, *(addresses_in(entries, "from") if entries else [])]
    hosts = [a for a in (addresses_in(entries, "to") if entries else []) if a not in services]
    prefix = options.prefix or new_prefix()
    added: list[IPAddress] = []
    for attempt in range(2):  # again only when a reference delivers to an address outside the lab
        plan = make_plan(networks.network, clients, prefix, [*hosts, *added])
        notes = list(plan.notes)
        if entries is not None:
            probes = expectation_probes(plan, objects, entries, str(options.expect_file))
        else:
            probes = pr.matrix(plan, objects, notes)
        refs, control = _references(plan, networks, probes, options.control)
        targets = _deliveries(probes, refs, control)
        known = plan.lab_addresses() | services
        pod_networks = [net for n in plan.nodes for net in n.pod_networks]
        outside = {a for a, _, _ in targets if a not in known and not any(a in net for net in pod_networks)}
        if not outside or attempt:
            break
        added = sorted(outside, key=lambda a: (a.version, int(a)))
    if added:
        notes.append(
            f"outside host(s) {', '.join(map(str, added))} added to the lab: the reference delivers there "
            "(endpoints outside the cluster)"
        )
    targets |= {(p.dst, p.protocol, p.port) for p in probes if p.wanted is not None}
    notes += plan.serve(targets)
    refs, control = _references(plan, networks, probes, options.control)  # now naming the new servers
    return plan, probes, refs, control, notes


def _rulesets(plan: LabPlan, network: Network, options: LabOptions, notes: list[str]) -> dict[str, str]:
    lab = LabJourneys(plan, network)
    rulesets = {}
    for node in plan.nodes:
        out = network.views[lab.network_name(node.name)].compiled.output
        text = options.rulesets.get(node.name) or options.backend.text(out, node.name)
        if node.name in options.rulesets:
            notes.append(f"{node.name}: applied the given ruleset, not the compiled one")
        if options.edit_ruleset is not None:
            text = options.edit_ruleset(node.name, text)
        rulesets[node.name] = text
        notes.extend(f"{node.name}: {n}" for n in out.notices)
    return rulesets


def _rows(probes: list[pr.Probe], observed: list[dict[int, pr.Observation]], refs: Refs, objects: Objects) -> list[Row]:
    affinity = {s.meta.key for s in objects.services if s.session_affinity_timeout is not None}
    rows = []
    for probe in probes:
        ref = refs[probe.id]
        first_answer: str | None = None
        for round_, results in enumerate(observed):
            obs = results[probe.id]
            status, why = judge(probe, obs, ref)
            if probe.service in affinity and obs.status == "answered":
                if first_answer is None:
                    first_answer = obs.pod
                elif obs.pod != first_answer:
                    status = MISMATCH
                    why = [*why, f"session affinity: answered by {obs.pod}, earlier by {first_answer}"]
            rows.append(Row(probe, obs, ref, status, why, round_))
    return rows


def run_lab(
    objects: Objects, options: LabOptions, oracle: Oracle | None = None, *, completed: bool = False
) -> LabReport:
    """Build the lab, probe, compare, tear down. `objects` as loaded (or `completed` already: the CLI's):
    the pipeline completes them and compiles every node with `options.compile`; `oracle` replaces the
    reference evaluator (tests).
    Raises ClusterError, PlanError, ExpectError, TopologyError, ServerError, NftRejected/NftUnavailable
    on problems (after tearing down what was built)."""
    preflight()
    log = options.log or (lambda _: None)
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    objects = objects if completed else complete(objects)
    networks = _Networks(Network(compile_nodes(objects, options.compile), options.compile, oracle=oracle))
    entries = read_expectations(options.expect_file) if options.expect_file else None
    plan, probes, refs, control_refs, notes = _plan_and_probes(networks, options, entries)
    unknown = sorted(set(options.rulesets) - {n.name for n in plan.nodes})
    if unknown:
        raise PlanError(
            f"--ruleset for {', '.join(unknown)}: no such node (nodes: {', '.join(n.name for n in plan.nodes)})"
        )
    rulesets = _rulesets(plan, networks.network, options, notes)
    inside = plan.lab_addresses() | service_addresses(objects)
    outside = sorted({str(p.dst) for p in probes if p.dst not in inside})
    if outside:  # pragma: no cover - every destination is planned as a lab host or is a Service's
        raise PlanError(f"refusing to probe {', '.join(outside)}: not an address of the lab or of a Service")
    timings["plan"] = time.monotonic() - t0

    servers = Servers()
    rows: list[Row] = []
    with _sigterm_as_interrupt():
        try:
            t = time.monotonic()
            hosts = sum(not c.sends for c in plan.clients)
            log(
                f"building lab {plan.prefix}: {len(plan.nodes)} node(s), "
                f"{sum(not p.host_network for p in plan.pods)} pod namespace(s), "
                f"{len(plan.clients) - hosts} client(s)" + (f", {hosts} outside host(s)" if hosts else "")
            )
            build(plan)
            timings["build"] = time.monotonic() - t
            t = time.monotonic()
            for node in plan.nodes:
                options.backend.load(
                    rulesets[node.name], node.netns, table=options.table, display_name=f"<ruleset of {node.name}>"
                )
            apply_guards(plan)
            timings["apply"] = time.monotonic() - t
            t = time.monotonic()
            servers.start(plan)
            timings["servers"] = time.monotonic() - t
            if options.after_start is not None:
                options.after_start(plan)
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
            rows = _rows(probes, observed, refs, objects)
            if control_refs:
                t = time.monotonic()
                notes += run_control(
                    plan,
                    networks.free,
                    rows,
                    control_refs,
                    rulesets,
                    table=options.table,
                    timeout=options.timeout,
                    backend=options.backend,
                )
                timings["control"] = time.monotonic() - t
        finally:
            t = time.monotonic()
            servers.stop()
            if not options.keep:
                left = teardown(plan.prefix)
                if left:
                    notes.append(f"teardown could not delete: {', '.join(left)}")
            timings["teardown"] = time.monotonic() - t
    timings["total"] = time.monotonic() - t0
    return LabReport(plan.prefix, rows, notes, timings, True, options.keep, plan.namespaces)
