"""Pods of the common shape, read without `Field`s: the hot path of reading large inputs.

Reading field by field (`core.parse_pod`) keeps a path and a position for every value, so that any
problem can be reported where it is. Most Pods have none: as kubectl prints them or a generator writes
them, they hold labels, containers with named ports and env, a phase and an address. `plain_pod` reads
such a Pod straight from its mappings, and answers None as soon as it meets anything that could need a
message (a value of another type, an invalid name or address, a repeated port name, a null list item) or
that it does not read (`spec.dnsConfig`): `core.parse_pod` then reads it field by field and says what is
wrong. Both paths give the same Pod (tests/test_load_pods.py compares them on generated Pods). Its
metadata is read by the metadata's plain path (`parse_common.plain_meta`, looked up when called), so
that reading without the plain paths (tests/plain_paths.py) reads pods field by field too.
"""

from __future__ import annotations

import functools
import json

from ..model import ContainerPort, IPAddress, Pod
from ..model.naming import NO_NAMING, Container, EnvVar, PodNaming
from . import parse_common
from .documents import YList, YMap
from .parse_common import PLAIN_PROTOCOLS, label_problem, port_name_problem
from .source import RawObject
from .validation import dns1123_subdomain, parse_ip

_NOT_TEXT = object()
_DNS_POLICIES = frozenset({"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"})


class _Off(Exception):
    """The Pod leaves the common shape: it is read field by field."""


def plain_pod(raw: RawObject) -> Pod | None:
    """A Pod of the common shape (`core.parse_pod`), or None."""
    body = raw.body
    spec, status = body.get("spec"), body.get("status")
    if spec.__class__ is not YMap or not (status is None or status.__class__ is YMap):
        return None
    try:
        containers = _list(spec.get("containers")), _list(spec.get("initContainers"))
        ports = _container_ports(*containers)
        naming = _naming(spec, *containers)
        node_name = _string(spec.get("nodeName"))
        host_network = _boolean(spec.get("hostNetwork"), False)
        phase, ips, ready = _status(status) if status is not None else ("", (), None)
    except _Off:
        return None
    meta = parse_common.plain_meta(raw, True, dns1123_subdomain)
    if meta is None:
        return None
    terminating = body["metadata"].get("deletionTimestamp") is not None
    running = ready if ready is not None else phase == "Running"
    return Pod(meta, node_name, host_network, phase, ips, ports, terminating, running, naming=naming)


def _list(given: object) -> list[YMap]:
    """A list of objects, absent as empty; a null item (the API server's empty object) or any other value
    is read field by field."""
    if given is None:
        return []
    if given.__class__ is not YList:
        raise _Off
    assert isinstance(given, YList)
    for item in given:
        if item.__class__ is not YMap:
            raise _Off
    return given


def _string(given: object) -> str | None:
    """`Field.string()`: absent or empty is None, a string is itself."""
    if given is None or given == "":
        return None
    if given.__class__ is not str:
        raise _Off
    assert isinstance(given, str)
    return given


def _boolean(given: object, default: bool) -> bool:
    if given is None:
        return default
    if given.__class__ is not bool:
        raise _Off
    return given is True


def _label(given: object) -> str | None:
    """An optional DNS-1123 label (hostname, subdomain)."""
    value = _string(given)
    if value is not None and label_problem(value) is not None:
        raise _Off
    return value


def _container_ports(containers: list[YMap], init_containers: list[YMap]) -> tuple[ContainerPort, ...]:
    """The ports of the containers, and of the init containers that keep running (sidecars)."""
    out: list[ContainerPort] = []
    for group, init in ((containers, False), (init_containers, True)):
        for container in group:
            if init and container.get("restartPolicy") != "Always":
                continue
            names: set[str] = set()
            for item in _list(container.get("ports")):
                name, number = _string(item.get("name")), item.get("containerPort")
                port = _port(name, number, _text(item.get("protocol"))) if number.__class__ is int else None
                if port is None or name in names:
                    raise _Off
                if name is not None:
                    names.add(name)
                out.append(port)
    return tuple(out)


@functools.lru_cache(maxsize=4096)
def _port(name: str | None, number: int, protocol: object) -> ContainerPort | None:
    """A container port, None when it is not valid; made once for each, as the same few repeat across
    pods (the objects are immutable, so pods can share them)."""
    known = PLAIN_PROTOCOLS.get(protocol)
    if (name is not None and port_name_problem(name) is not None) or not 1 <= number <= 65535 or known is None:
        return None
    return ContainerPort(name, number, known)


def _text(value: object) -> object:
    """A string or None as it is, anything else as a value no table here holds (and that can be looked up)."""
    return value if value is None or value.__class__ is str else _NOT_TEXT


def _naming(spec: YMap, containers: list[YMap], init_containers: list[YMap]) -> PodNaming:
    """`core.pod_naming` of a spec without dnsConfig."""
    hostname, subdomain = _label(spec.get("hostname")), _label(spec.get("subdomain"))
    links = _boolean(spec.get("enableServiceLinks"), True)
    policy = _string(spec.get("dnsPolicy")) or "ClusterFirst"
    if policy not in _DNS_POLICIES or policy == "None" or spec.get("dnsConfig") is not None:
        raise _Off
    groups = ((init_containers, True), (containers, False))
    names: list[tuple[str, bool]] = []
    for group, init in groups:
        for item in group:
            if "env" in item or "envFrom" in item:
                read = tuple(_container(c, in_init) for members, in_init in groups for c in members)
                return PodNaming(hostname, subdomain, links, read, policy, (), ())
            names.append((_string(item.get("name")) or "", init))
    # the common case: containers that set no variables, made once for each such pod spec
    return _naming_without_env(hostname, subdomain, links, tuple(names), policy)


@functools.lru_cache(maxsize=4096)
def _naming_without_env(
    hostname: str | None, subdomain: str | None, links: bool, names: tuple[tuple[str, bool], ...], policy: str
) -> PodNaming:
    """The naming of a pod whose containers (`names`: name and whether an init container) set no variables;
    made once for each, as pods of a workload or generator share it (immutable: pods can share it)."""
    if hostname is None and subdomain is None and links and not names and policy == "ClusterFirst":
        return NO_NAMING
    containers = tuple(Container(name, init) for name, init in names)
    return PodNaming(hostname, subdomain, links, containers, policy, (), ())


def _container(item: YMap, init: bool) -> Container:
    env: list[EnvVar] = []
    for var in _list(item.get("env")):
        name = _string(var.get("name"))
        if name is None:
            raise _Off
        source = var.get("valueFrom")
        if source is None:
            env.append(EnvVar(name, _string(var.get("value")) or "", None))
        else:
            env.append(EnvVar(name, None, json.dumps(source, sort_keys=True)))
    sources: list[str] = []
    for source in _list(item.get("envFrom")):
        prefix = _string(source.get("prefix"))
        for ref, what in (("configMapRef", "configMap"), ("secretRef", "secret")):
            named = source.get(ref)
            if named is None:
                continue
            if named.__class__ is not YMap:
                raise _Off
            sources.append(f"{what} {_string(named.get('name')) or ''}" + (f" (prefix {prefix})" if prefix else ""))
    return Container(_string(item.get("name")) or "", init, tuple(env), tuple(sources))


def _status(status: YMap) -> tuple[str, tuple[IPAddress, ...], bool | None]:
    """The phase, the addresses (status.podIPs, else status.podIP) and the Ready condition."""
    phase = _string(status.get("phase")) or ""
    ips: list[IPAddress] = []
    many = status.get("podIPs")
    if many is not None:
        for item in _list(many):
            address = _address(item.get("ip"))
            if address is None:
                raise _Off
            if address not in ips:
                ips.append(address)
    else:
        address = _address(status.get("podIP"))
        if address is not None:
            ips.append(address)
    ready = None
    conditions = status.get("conditions")
    if conditions is not None:
        if conditions.__class__ is not YList:
            raise _Off
        for condition in conditions:
            if condition is None:
                continue  # an empty object: no type
            if condition.__class__ is not YMap:
                raise _Off
            if condition.get("type") == "Ready":
                ready = condition.get("status") == "True"
    return phase, tuple(ips), ready


def _address(given: object) -> IPAddress | None:
    """An optional address; one that does not parse is read field by field."""
    text = _string(given)
    if text is None:
        return None
    address = parse_ip(text)
    if address is None:
        raise _Off
    return address
