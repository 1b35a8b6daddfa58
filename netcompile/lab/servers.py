"""The tiny servers: one agent process per pod, inside the pod's namespace (hostNetwork pods: the node's),
one per node and outside host that the probes reach, and a guard in every one of those namespaces.

Each server answers on every port the plan gives its owner (TCP and UDP) with the owner's name and the
source address it saw. A pod's sockets are bound to its own address (a hostNetwork pod's and a node's:
each of the node's addresses), so UDP replies leave from the address the client talked to.

The guard (table inet netcompile_lab_guard, input hook, after every filter chain of the ruleset) answers
a new connection to a port nobody serves with ICMP "administratively prohibited" instead of the kernel's
TCP reset or port unreachable. A reset or port unreachable is what the compiled ruleset's `reject` sends;
without the guard a packet that a broken ruleset lets through to a closed port would look rejected.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..host.apply import apply_script
from ..model import IPAddress, Protocol
from .plan import LabPlan

AGENT = Path(__file__).with_name("agent.py")
GUARD_TABLE = "netcompile_lab_guard"


class ServerError(Exception):
    """A server could not start (bind failed, or it did not become ready in time)."""


def agent_argv(netns: str, *args: str) -> list[str]:
    """The agent in a namespace: the venv's own Python, isolated (-I) and without site (-S), fast to start."""
    return ["ip", "netns", "exec", netns, sys.executable, "-I", "-S", str(AGENT), *args]


Ports = tuple[tuple[Protocol, int], ...]


def listeners(plan: LabPlan) -> list[tuple[str, str, tuple[IPAddress, ...], Ports]]:
    """Every server of the lab: (name it answers with, namespace, addresses, ports)."""
    out = [(p.key, p.netns, plan.node(p.node).addresses if p.host_network else p.addresses, p.ports) for p in plan.pods]
    out += [(n.label, n.netns, n.addresses, n.ports) for n in plan.nodes]
    out += [(c.label, c.netns, (c.address,), c.ports) for c in plan.clients]
    return [entry for entry in out if entry[3]]


def _specs(addresses: tuple[IPAddress, ...], ports: Ports) -> list[str]:
    return [f"{proto.value.lower()}:{a}:{port}" for proto, port in ports for a in addresses]


def guard_script(ports: Ports) -> str:
    """The guard of one namespace serving `ports` (see the module's docstring)."""
    lines = [
        f"table inet {GUARD_TABLE} {{",
        "\tchain input {",
        "\t\ttype filter hook input priority 10; policy accept;",
    ]
    for proto in (Protocol.TCP, Protocol.UDP):
        name = proto.value.lower()
        served = sorted({port for p, port in ports if p == proto})
        match = f" {name} dport != {{ {', '.join(map(str, served))} }}" if served else ""
        lines.append(f"\t\tct state new meta l4proto {name}{match} reject with icmpx admin-prohibited")
    return "\n".join([*lines, "\t}", "}", ""])


def apply_guards(plan: LabPlan) -> None:
    """A guard in every namespace that receives probes: pods (not hostNetwork), nodes, outside hosts."""
    served: dict[str, set[tuple[Protocol, int]]] = {ns: set() for ns in plan.namespaces if ns != plan.lan_netns}
    for _, netns, _, ports in listeners(plan):
        served[netns].update(ports)
    for netns, open_ports in served.items():
        script = guard_script(tuple(sorted(open_ports)))
        apply_script(script, table=GUARD_TABLE, netns=netns, display_name="<lab guard>")


class Servers:
    """Running servers; `stop()` ends them (and is safe to call more than once)."""

    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen[str]] = {}

    def start(self, plan: LabPlan, timeout: float = 10.0) -> None:
        for name, netns, addresses, ports in listeners(plan):
            self.procs[name] = subprocess.Popen(
                agent_argv(netns, "serve", name, *_specs(addresses, ports)),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,  # Ctrl-C reaches netcompile, which stops them in order
            )
        deadline = time.monotonic() + timeout
        for key, proc in self.procs.items():
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            line = proc.stdout.readline().strip() if ready else ""
            if line != "ready":
                err = line or (proc.stderr.read().strip() if proc.poll() is not None and proc.stderr else "")
                raise ServerError(f"server of {key} did not start: {err or 'no answer in time'}")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        self.procs.clear()
