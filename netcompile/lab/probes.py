"""Probes: who sends what to where — the full matrix, or the expectations of an `--expect` file — and
running them in parallel (one agent per source namespace, one thread per probe, short timeouts).

Expectations file: a YAML list, or (so it can sit beside the manifests, as examples/lab-expect.yaml
does) an object `{apiVersion: netcompile/v1, kind: LabExpectations, expectations: [...]}`. Entries:

    - from: default/client          # a pod (ns/name, or name in "default"), node:NAME, or an IP address
      to: service:default/web       # a pod, service:ns/name (its ClusterIP), node:NAME, or an IP address
      port: 80                      # a number, or a name (Service port / container port)
      protocol: TCP                 # TCP (default) or UDP
      expect: allow                 # allow | deny (dropped or rejected) | drop | reject
      pods: [default/web-1, default/web-2]   # optional: who may answer
      source: masqueraded           # optional: preserved | masqueraded (the source the server saw)

An IP address in `from` that is neither a pod's nor a node's becomes an outside client on the LAN.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import yaml

from ..model import IPAddress, Objects, Protocol, Service, ServiceType
from ..packet import Origin
from .plan import LabPlan, of_family
from .servers import agent_argv

EXPECT_VALUES = ("allow", "deny", "drop", "reject")
SOURCE_VALUES = ("preserved", "masqueraded")
# The file may also be one object of this kind (the list under `expectations`): then it can live among
# the manifests, which skip unknown kinds with a notice.
EXPECT_KIND = "LabExpectations"


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
    status: str  # answered | refused | unreachable | timeout | error
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
    """Every pod (not hostNetwork: those are their node), every node, every outside client; one source
    per address family (a dual-stack pod sends from its IPv4 and from its IPv6 address)."""
    out = [
        Source(p.key, p.netns, a, Origin.NETWORK, p.node) for p in plan.pods if not p.host_network for a in p.addresses
    ]
    for node in plan.nodes:
        for version in plan.families:
            address = node.primary_of(version)
            if address is not None:
                out.append(Source(node.label, node.netns, address, Origin.NODE, node.name))
    out += [Source(c.label, c.netns, c.address, Origin.NETWORK, None) for c in plan.clients]
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


# --- the expectations file ---------------------------------------------------------------------------


def client_addresses(entries: list[dict[str, Any]]) -> list[IPAddress]:
    """Addresses in `from` of expectation entries (candidates for outside clients)."""
    out = []
    for entry in entries:
        try:
            out.append(ip_address(str(entry.get("from", ""))))
        except ValueError:
            continue
    return out


def read_expectations(path: Path) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ExpectError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ExpectError(f"{path}: not valid YAML: {exc}") from None
    if isinstance(data, dict) and data.get("kind") == EXPECT_KIND:
        data = data.get("expectations")
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise ExpectError(
            f"{path}: must be a YAML list of mappings with from, to, port, expect "
            f"(or a `kind: {EXPECT_KIND}` object with such a list in `expectations`)"
        )
    return data


def _pod_key(ref: str) -> str:
    return ref if "/" in ref else f"default/{ref}"


def _pick(addresses: Iterable[IPAddress], version: int | None, what: str, where: str) -> IPAddress:
    """The address of the wanted family (IPv4 first when none is wanted)."""
    candidates = list(addresses)
    if version is not None:
        chosen = of_family(candidates, version)
    else:
        chosen = of_family(candidates, 4) or of_family(candidates, 6)
    if chosen is None:
        family = f"IPv{version} " if version else ""
        raise ExpectError(f"{where}: {what} has no {family}address in the lab")
    return chosen


def _resolve_source(plan: LabPlan, ref: str, version: int, where: str) -> Source:
    if ref.startswith("node:"):
        name = ref[5:]
        node = next((n for n in plan.nodes if n.name == name), None)
        if node is None:
            raise ExpectError(f"{where}: from: no node {name!r} in the lab")
        address = _pick(node.addresses, version, f"from: node {name}", where)
        return Source(node.label, node.netns, address, Origin.NODE, node.name)
    try:
        address = ip_address(ref)
    except ValueError:
        pod = plan.pod(_pod_key(ref))
        if pod is None:
            raise ExpectError(f"{where}: from: no running pod {_pod_key(ref)!r} in the lab") from None
        origin = Origin.NODE if pod.host_network else Origin.NETWORK
        address = _pick(pod.addresses, version, f"from: pod {pod.key}", where)
        return Source(pod.key, pod.netns, address, origin, pod.node)
    if address.version != version:
        raise ExpectError(f"{where}: from {ref} and to are of different address families")
    lab_pod = plan.pod_at(address)
    if lab_pod is not None:
        return Source(lab_pod.key, lab_pod.netns, address, Origin.NETWORK, lab_pod.node)
    node = plan.node_at(address)
    if node is not None:
        return Source(node.label, node.netns, address, Origin.NODE, node.name)
    client = plan.client_at(address)
    if client is None:  # pragma: no cover - clients are planned from the same file
        raise ExpectError(f"{where}: from: {ref} is not in the lab")
    return Source(client.label, client.netns, address, Origin.NETWORK, None)


def _port(value: Any, names: Callable[[str], int | None], where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
        return value
    if isinstance(value, str) and value:
        if value.isdigit() and 1 <= int(value) <= 65535:
            return int(value)
        resolved = names(value)
        if resolved is not None:
            return resolved
        raise ExpectError(f"{where}: port: no port named {value!r} on the target")
    raise ExpectError(f"{where}: port: Required value: a port number or name")


def _family(entry: dict[str, Any], where: str) -> int | None:
    """The address family an entry asks for: `family: IPv4|IPv6`, else that of an address in from/to."""
    family = entry.get("family")
    if family is not None:
        if str(family) not in ("IPv4", "IPv6", "4", "6"):
            raise ExpectError(f'{where}: family: Unsupported value: "{family}": supported values: "IPv4", "IPv6"')
        return int(str(family)[-1])
    for key in ("to", "from"):
        try:
            return ip_address(str(entry.get(key, ""))).version
        except ValueError:
            continue
    return None


def _resolve_target(
    plan: LabPlan, objects: Objects, entry: dict[str, Any], protocol: Protocol, version: int | None, where: str
) -> tuple[str, IPAddress, int]:
    ref = str(entry.get("to", ""))
    value = entry.get("port")
    if not ref:
        raise ExpectError(f"{where}: to: Required value")
    if ref.startswith(("service:", "svc:")):
        key = _pod_key(ref.split(":", 1)[1])
        service = next((s for s in objects.services if s.meta.key == key), None)
        if service is None:
            raise ExpectError(f"{where}: to: no Service {key!r} in the input")
        # its first clusterIP of the family (`clusterIPs[0]` is the Service's primary family)
        if version is None and service.cluster_ips:
            version = service.cluster_ips[0].version
        ip = _pick(service.cluster_ips, version, f"to: Service {key}", where)

        def service_port(name: str) -> int | None:
            return next((p.port for p in service.ports if p.name == name and p.protocol == protocol), None)

        return f"service:{key}", ip, _port(value, service_port, where)
    if ref.startswith("node:"):
        node = next((n for n in plan.nodes if n.name == ref[5:]), None)
        if node is None:
            raise ExpectError(f"{where}: to: no node {ref[5:]!r} in the lab")
        return node.label, _pick(node.addresses, version, f"to: {ref}", where), _port(value, lambda _: None, where)
    try:
        address = ip_address(ref)
    except ValueError:
        pod = plan.pod(_pod_key(ref))
        if pod is None:
            raise ExpectError(f"{where}: to: no running pod {_pod_key(ref)!r} in the lab") from None
        model_pod = next(p for p in objects.pods if p.meta.key == pod.key)
        address = _pick(pod.addresses, version, f"to: pod {pod.key}", where)
        return pod.key, address, _port(value, lambda name: model_pod.named_port(name, protocol), where)
    return ref, address, _port(value, lambda _: None, where)


def expectation_probes(plan: LabPlan, objects: Objects, entries: list[dict[str, Any]], name: str) -> list[Probe]:
    probes: list[Probe] = []
    known = {"from", "to", "port", "protocol", "family", "expect", "pods", "source"}
    for i, entry in enumerate(entries):
        where = f"{name}: entry {i + 1}"
        unknown = sorted(set(entry) - known)
        if unknown:
            raise ExpectError(
                f"{where}: unknown field(s) {', '.join(map(str, unknown))}: supported: {', '.join(sorted(known))}"
            )
        proto_text = str(entry.get("protocol", "TCP")).upper()
        if proto_text not in ("TCP", "UDP"):
            raise ExpectError(f'{where}: protocol: Unsupported value: "{proto_text}": supported values: "TCP", "UDP"')
        protocol = Protocol(proto_text)
        if "from" not in entry:
            raise ExpectError(f"{where}: from: Required value")
        label, dst, port = _resolve_target(plan, objects, entry, protocol, _family(entry, where), where)
        source = _resolve_source(plan, str(entry["from"]), dst.version, where)
        expect_value = str(entry.get("expect", ""))
        if expect_value not in EXPECT_VALUES:
            raise ExpectError(
                f'{where}: expect: Unsupported value: "{expect_value}": supported values: '
                + ", ".join(f'"{v}"' for v in EXPECT_VALUES)
            )
        pods = entry.get("pods")
        if pods is not None and (not isinstance(pods, list) or not all(isinstance(p, str) for p in pods)):
            raise ExpectError(f"{where}: pods: must be a list of pod names (ns/name)")
        source_value = entry.get("source")
        if source_value is not None and source_value not in SOURCE_VALUES:
            raise ExpectError(
                f'{where}: source: Unsupported value: "{source_value}": supported values: "preserved", "masqueraded"'
            )
        wanted = Wanted(
            expect_value, tuple(_pod_key(p) for p in pods) if pods is not None else None, source_value, where
        )
        probes.append(Probe(len(probes), source, label, dst, protocol, port, wanted))
    return probes


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
