"""The tiny servers: one agent process per pod, inside the pod's namespace (hostNetwork pods: the node's).

Each answers on every port the plan gives the pod (TCP and UDP) with the pod's identity and the source
address it saw. A pod's sockets are bound to its own address (a hostNetwork pod's: each of its node's
addresses), so UDP replies leave from the address the client talked to.
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

from .plan import LabPlan, LabPod

AGENT = Path(__file__).with_name("agent.py")


class ServerError(Exception):
    """A server could not start (bind failed, or it did not become ready in time)."""


def agent_argv(netns: str, *args: str) -> list[str]:
    """The agent in a namespace: the venv's own Python, isolated (-I) and without site (-S), fast to start."""
    return ["ip", "netns", "exec", netns, sys.executable, "-I", "-S", str(AGENT), *args]


def _specs(plan: LabPlan, pod: LabPod) -> list[str]:
    addresses = plan.node(pod.node).addresses if pod.host_network else pod.addresses
    return [f"{proto.value.lower()}:{a}:{port}" for proto, port in pod.ports for a in addresses]


class Servers:
    """Running servers; `stop()` ends them (and is safe to call more than once)."""

    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen[str]] = {}

    def start(self, plan: LabPlan, timeout: float = 10.0) -> None:
        for pod in plan.pods:
            if not pod.ports:
                continue
            self.procs[pod.key] = subprocess.Popen(
                agent_argv(pod.netns, "serve", pod.key, *_specs(plan, pod)),
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
                raise ServerError(f"server of pod {key} did not start: {err or 'no answer in time'}")

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
