"""Probes: who sends what to where — the full matrix, or the expectations of an `--expect` file — and
running them in parallel (one agent per source namespace, one thread per probe, short timeouts).
The expectations of an `--expect` file are read by expectations.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..model import IPAddress, Objects, Protocol, Service, ServiceType
from ..verify.packet import Origin
from .plan import LabPlan
from .servers import agent_argv


class ExpectError(Exception):
    """The expectations file is malformed; the message names the entry and the field."""


@dataclass(frozen=True, slots=True)
class Source:
    label: str
    netns: str
    address: IPAddress
    origin: Origin
    node: str | None  # the node the packet enters first; None for outside clients (depends on dst)


@dataclass(frozen=True, slots=True)
class Wanted:
    """One expectation from the --expect file."""

    expect: str  # allow | deny | drop | reject
    pods: tuple[str, ...] | None
    source: str | None  # preserved | masqueraded
    where: str  # "file entry N" for messages


@dataclass(slots=True)
class Probe:
    id: int
    source: Source
    target: str  # what was addressed, for the table: a pod, a Service frontend, an address
    dst: IPAddress
    protocol: Protocol
    port: int
    wanted: Wanted | None = None

    @property
    def service(self) -> str | None:
        """The Service (ns/name) whose frontend the probe addresses, if any."""
        kind, sep, rest = self.target.partition(":")
        return rest.split("@")[0] if sep and kind in ("service", "nodeport", "external") else None

    def agent_request(self, timeout: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "protocol": self.protocol.value,
            "src": str(self.source.address),
            "dst": str(self.dst),
            "port": self.port,
            "timeout": timeout,
        }


@dataclass(slots=True)
class Observation:
    status: str  # answered | refused | unreachable | prohibited | blocked | timeout | error
    pod: str | None = None
    peer: str | None = None
    port: int | None = None
    ms: float = 0.0
    error: str | None = None

    def __str__(self) -> str:
        if self.status == "answered":
            return f"{self.pod}:{self.port} saw {self.peer}"
        return self.status + (f" ({self.error})" if self.status == "error" and self.error else "")


# --- sources and targets -----------------------------------------------------------------------------


def sources(plan: LabPlan) -> list[Source]:
    """Every pod (not hostNetwork: those are their node), every node, every --client; one source
    per address family (a dual-stack pod sends from its IPv4 and from its IPv6 address)."""
    out = [
        Source(p.key, p.netns, a, Origin.NETWORK, p.node) for p in plan.pods if not p.host_network for a in p.addresses
    ]
    for node in plan.nodes:
        for version in plan.families:
            address = node.primary_of(version)
            if address is not None:
                out.append(Source(node.label, node.netns, address, Origin.NODE, node.name))
    out += [Source(c.label, c.netns, c.address, Origin.NETWORK, None) for c in plan.clients if c.sends]
    return out


@dataclass(frozen=True, slots=True)
class Target:
    label: str
    dst: IPAddress
    protocol: Protocol
    port: int


def service_targets(plan: LabPlan, service: Service, notes: list[str]) -> list[Target]:
    """Every frontend of a Service the lab can reach: ClusterIPs, NodePorts on each node, external IPs."""
    out: list[Target] = []
    key = service.meta.key
    for sp in service.ports:
        if sp.protocol == Protocol.SCTP:
            notes.append(f"service {key} port {sp.label}: SCTP not probed (no SCTP sockets in this kernel)")
            continue
        out += [Target(f"service:{key}", ip, sp.protocol, sp.port) for ip in service.cluster_ips]
        if sp.node_port and service.type in (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER):
            for node in plan.nodes:
                if node.declared:
                    addresses = [a for a in node.addresses if a not in node.invented]
                    out += [Target(f"nodeport:{key}@{node.name}", a, sp.protocol, sp.node_port) for a in addresses]
        externals = [*service.external_ips, *(i.ip for i in service.load_balancer_ingress if i.ip_mode != "Proxy")]
        out += [Target(f"external:{key}", a, sp.protocol, sp.port) for a in externals]
    # a ClusterIP on a port its Service does not have (rejected, semantics §2.4)
    used = {sp.port for sp in service.ports if sp.protocol == Protocol.TCP}
    unused = next(port for port in range(1, 65536) if port not in used)
    if service.ports:
        out += [Target(f"service:{key}", ip, Protocol.TCP, unused) for ip in service.cluster_ips]
    return out


def matrix(plan: LabPlan, objects: Objects, notes: list[str]) -> list[Probe]:
    """Every source to every pod port and every Service frontend, of the same address family."""
    targets = [Target(p.key, a, proto, port) for p in plan.pods for a in p.addresses for proto, port in p.ports]
    if objects.services:
        for service in sorted(objects.services, key=lambda s: s.meta.key):
            if service.type == ServiceType.EXTERNAL_NAME or service.headless:
                continue
            targets += service_targets(plan, service, notes)
    probes: list[Probe] = []
    for source in sources(plan):
        for t in targets:
            if t.dst.version != source.address.version or never_reaches_node(source, t.dst):
                continue
            probes.append(Probe(len(probes), source, t.label, t.dst, t.protocol, t.port))
    if any(not p.host_network and p.ports for p in plan.pods):
        notes.append("a pod's traffic to its own address is not probed: it never leaves the pod, no ruleset sees it")
    return probes


def never_reaches_node(source: Source, dst: IPAddress) -> bool:
    """A pod talking to its own address: delivered inside the pod's namespace, no node ruleset sees it."""
    return source.origin == Origin.NETWORK and source.node is not None and source.address == dst


# --- running -----------------------------------------------------------------------------------------


def run_probes(
    probes: list[Probe],
    timeout: float,
    on_result: Callable[[Probe, Observation], None] | None = None,
) -> dict[int, Observation]:
    """Run every probe: one agent per source namespace, all agents at once; results as they come.

    The agents are started here (in the calling thread), read by one thread each; if the caller is
    interrupted (Ctrl-C), every agent is killed before the exception goes on. `on_result` runs in the
    reader threads, one call at a time.
    """
    by_source: dict[tuple[str, str], list[Probe]] = {}
    for p in probes:
        by_source.setdefault((p.source.netns, str(p.source.address)), []).append(p)
    by_id = {p.id: p for p in probes}
    results: dict[int, Observation] = {}
    lock = threading.Lock()
    procs: list[subprocess.Popen[str]] = []

    def read(proc: subprocess.Popen[str], group: list[Probe]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                data = json.loads(line)
            except ValueError:
                continue
            obs = Observation(data["status"], data["pod"], data["peer"], data["port"], data["ms"], data["error"])
            with lock:
                results[data["id"]] = obs
                if on_result is not None:
                    on_result(by_id[data["id"]], obs)
        err = proc.stderr.read() if proc.stderr else ""
        proc.wait()
        with lock:
            for p in group:
                results.setdefault(p.id, Observation("error", error=f"the probe agent failed: {err.strip()[-200:]}"))

    threads = []
    try:
        for (netns, _), group in by_source.items():
            proc = subprocess.Popen(
                agent_argv(netns, "probe"),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            procs.append(proc)
            assert proc.stdin is not None
            proc.stdin.write(json.dumps([p.agent_request(timeout) for p in group]))
            proc.stdin.close()
            thread = threading.Thread(target=read, args=(proc, group), daemon=True)
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()
    except BaseException:
        for proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        raise
    finally:
        for proc in procs:
            for stream in (proc.stdout, proc.stderr):
                if stream is not None and proc.poll() is not None:
                    stream.close()
    return results
