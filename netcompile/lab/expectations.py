"""The expectations of an `--expect` file, resolved against the lab's plan into probes.

Expectations file: a YAML list, or (so it can sit beside the manifests, as examples/lab-expect.yaml
does) an object `{apiVersion: netcompile/v1, kind: LabExpectations, expectations: [...]}`. Entries:

    - from: default/client          # a pod, a node or an address, named as trace's --from (targets.py)
      to: default/service/web       # a pod, a Service (its ClusterIP), a node or an address, as --to
      port: 80                      # a number, or a name (Service port / container port)
      protocol: TCP                 # TCP (default) or UDP
      expect: allow                 # allow | deny (dropped or rejected) | drop | reject
      pods: [default/web-1, default/web-2]   # optional: who may answer
      source: masqueraded           # optional: preserved | masqueraded (the source the server saw)

An IP address in `from` or `to` that is neither a pod's, a node's nor a Service's is an outside host on
the LAN (in `from`, a client sending; in `to`, a host whose lab server answers on the port probed).
A pod's traffic to itself is refused: it never leaves the pod, no ruleset sees it, nothing is proven.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import yaml

from ..model import IPAddress, Objects, Pod, Protocol, Service
from ..targets import Target, TargetError, resolve
from ..verify.packet import Origin
from .plan import LabNode, LabPlan, LabPod, of_family
from .probes import ExpectError, Probe, Source, Wanted

EXPECT_VALUES = ("allow", "deny", "drop", "reject")
SOURCE_VALUES = ("preserved", "masqueraded")
# The file may also be one object of this kind (the list under `expectations`): then it can live among
# the manifests, which skip unknown kinds with a notice.
EXPECT_KIND = "LabExpectations"


def _container_port(pod: Pod, name: str, protocol: Protocol) -> int | None:
    """A named container port of a pod in the input (what a probe's named port means)."""
    return next((c.port for c in pod.ports if c.name == name and c.protocol == protocol), None)


def addresses_in(entries: list[dict[str, Any]], key: str) -> list[IPAddress]:
    """The IP addresses in `key` (from/to) of expectation entries (candidates for outside hosts)."""
    out = []
    for entry in entries:
        try:
            out.append(ip_address(str(entry.get(key, ""))))
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


def _named(objects: Objects, ref: str, where: str) -> Target:
    """What `ref` names, by the grammar of trace's --from/--to (netcompile.targets)."""
    try:
        return resolve(ref, objects)
    except TargetError as exc:
        raise ExpectError(f"{where}: {exc}") from None


def _lab_node(plan: LabPlan, name: str, where: str) -> LabNode:
    node = next((n for n in plan.nodes if n.name == name), None)
    if node is None:
        raise ExpectError(f"{where}: no node {name!r} in the lab")
    return node


def _lab_pod(plan: LabPlan, key: str, where: str) -> LabPod:
    pod = plan.pod(key)
    if pod is None:
        raise ExpectError(f"{where}: pod {key} is not running in the lab")
    return pod


def _resolve_source(plan: LabPlan, objects: Objects, ref: str, version: int, where: str) -> Source:
    if ref.startswith("node:"):  # also the implied node of an input without Node objects
        node = _lab_node(plan, ref[5:], f"{where}: from")
        address = _pick(node.addresses, version, f"from: node {node.name}", where)
        return Source(node.label, node.netns, address, Origin.NODE, node.name)
    target = _named(objects, ref, f"{where}: from")
    if target.kind == "Node":
        node = _lab_node(plan, target.key, f"{where}: from")
        address = _pick(node.addresses, version, f"from: node {node.name}", where)
        return Source(node.label, node.netns, address, Origin.NODE, node.name)
    if target.kind == "Pod":
        pod = _lab_pod(plan, target.key, f"{where}: from")
        origin = Origin.NODE if pod.host_network else Origin.NETWORK
        address = _pick(pod.addresses, version, f"from: pod {pod.key}", where)
        return Source(pod.key, pod.netns, address, origin, pod.node)
    if target.address is None:
        raise ExpectError(f"{where}: from: {target.label} cannot send: name a pod, a node or an address")
    address = target.address
    if address.version != version:
        raise ExpectError(f"{where}: from {ref} and to are of different address families")
    lab_pod = plan.pod_at(address)
    if lab_pod is not None:
        return Source(lab_pod.key, lab_pod.netns, address, Origin.NETWORK, lab_pod.node)
    node_at = plan.node_at(address)
    if node_at is not None:
        return Source(node_at.label, node_at.netns, address, Origin.NODE, node_at.name)
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
    if ref.startswith("node:"):  # also the implied node of an input without Node objects
        node = _lab_node(plan, ref[5:], f"{where}: to")
        return node.label, _pick(node.addresses, version, f"to: {ref}", where), _port(value, lambda _: None, where)
    target = _named(objects, ref, f"{where}: to")
    if isinstance(target.obj, Service):
        service = target.obj
        # its first clusterIP of the family (`clusterIPs[0]` is the Service's primary family)
        if version is None and service.cluster_ips:
            version = service.cluster_ips[0].version
        ip = _pick(service.cluster_ips, version, f"to: Service {target.key}", where)

        def service_port(name: str) -> int | None:
            return next((p.port for p in service.ports if p.name == name and p.protocol == protocol), None)

        return f"service:{target.key}", ip, _port(value, service_port, where)
    if target.kind == "Node":
        node = _lab_node(plan, target.key, f"{where}: to")
        return node.label, _pick(node.addresses, version, f"to: {ref}", where), _port(value, lambda _: None, where)
    if isinstance(target.obj, Pod):
        model_pod = target.obj
        pod = _lab_pod(plan, target.key, f"{where}: to")
        address = _pick(pod.addresses, version, f"to: pod {pod.key}", where)
        return pod.key, address, _port(value, lambda name: _container_port(model_pod, name, protocol), where)
    assert target.address is not None, target
    return ref, target.address, _port(value, lambda _: None, where)


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
        source = _resolve_source(plan, objects, str(entry["from"]), dst.version, where)
        if source.origin == Origin.NETWORK and source.address == dst:
            raise ExpectError(
                f"{where}: from and to are the same address ({dst}): that traffic never leaves "
                f"{source.label}, no ruleset sees it, so the lab cannot prove anything about it"
            )
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
