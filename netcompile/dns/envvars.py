"""The Service environment variables kubelet gives a pod's containers (Docker-links style).

kubelet (pkg/kubelet/kubelet_pods.go `getServiceEnvVarMap`) takes the Services whose ClusterIP is set
(not headless, not ExternalName):
- `kubernetes` of namespace `default` (the API server's), always, even with `enableServiceLinks: false`;
- with `enableServiceLinks` (default true), every Service of the pod's namespace; one of them called
  `kubernetes` stands in for the API server's.

For each Service (pkg/kubelet/envvars/envvars.go `FromServices`), its name in upper case with `-` as `_`
(`makeEnvVariableName`) is the prefix, and the Service's primary ClusterIP (`spec.clusterIP`) the address:

    {SVC}_SERVICE_HOST=<ip>                    {SVC}_SERVICE_PORT=<first port>
    {SVC}_SERVICE_PORT_{NAME}=<port>           (each named port)
    {SVC}_PORT=<proto>://<ip>:<first port>     (Docker links: the first port)
    {SVC}_PORT_{P}_{PROTO}=<proto>://<ip>:<P>  and _PROTO, _PORT, _ADDR (each port)

(an IPv6 address in brackets: `tcp://[fd00::1]:80`). The variables go into one map, and the container's
own `env` and `envFrom` win over them (`makeEnvironmentVariables`): a variable the container sets itself
*shadows* the Service's. kubelet passes the environment in map order: this module lists the Services by
namespace and name and each Service's variables in `FromServices`' order. Two Services whose variables
have the same name collide (`a` with port 80 and a Service `a-port-80-tcp` both set A_PORT_80_TCP_PORT):
which value a container sees depends on map order, and `collisions` names them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..model import Objects, Pod, Service, ServiceType
from ..model.naming import Container

MASTER_NAMESPACE, MASTER_SERVICES = "default", ("kubernetes",)


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    value: str
    service: str  # `ns/name` of the Service it comes from


@dataclass(frozen=True, slots=True)
class ContainerEnvironment:
    """What one container receives: the Service variables, and those its own env shadows."""

    container: Container
    variables: tuple[Variable, ...]
    shadowed: dict[str, str | None]  # variable name -> the container's own value (None: from valueFrom)
    unknown_sources: tuple[str, ...]  # envFrom sources whose keys may shadow any variable
    expanded: tuple[tuple[str, str, str | None], ...] = ()  # (name, value as written, as kubelet expands it)


def env_name(text: str) -> str:
    """makeEnvVariableName: upper case, `-` as `_`."""
    return text.replace("-", "_").upper()


def linked_services(objects: Objects, pod: Pod) -> list[Service]:
    """The Services kubelet makes variables of for `pod`, by namespace and name."""
    chosen: dict[str, Service] = {}
    links = pod.naming.enable_service_links
    for service in objects.services:
        if not _ip_set(service):
            continue
        name, ns = service.meta.name, service.meta.namespace
        if ns == MASTER_NAMESPACE and name in MASTER_SERVICES:
            chosen.setdefault(name, service)
        elif ns == pod.meta.namespace and links:
            chosen[name] = service
    return sorted(chosen.values(), key=lambda s: (s.meta.namespace, s.meta.name))


def _ip_set(service: Service) -> bool:
    """IsServiceIPSet: a ClusterIP other than None."""
    return service.type != ServiceType.EXTERNAL_NAME and not service.headless and bool(service.cluster_ips)


def service_variables(service: Service) -> list[Variable]:
    """FromServices for one Service, in its order."""
    prefix, key, ip = env_name(service.meta.name), service.meta.key, service.cluster_ips[0]
    host = f"[{ip}]" if ip.version == 6 else str(ip)
    out = [Variable(f"{prefix}_SERVICE_HOST", str(ip), key)]
    if not service.ports:  # the API server requires ports of a Service with a ClusterIP
        return out
    out.append(Variable(f"{prefix}_SERVICE_PORT", str(service.ports[0].port), key))
    out += [Variable(f"{prefix}_SERVICE_PORT_{env_name(p.name)}", str(p.port), key) for p in service.ports if p.name]
    for index, p in enumerate(service.ports):
        proto = p.protocol.value
        url = f"{proto.lower()}://{host}:{p.port}"
        if index == 0:
            out.append(Variable(f"{prefix}_PORT", url, key))
        each = f"{prefix}_PORT_{p.port}_{proto.upper()}"
        out += [
            Variable(each, url, key),
            Variable(f"{each}_PROTO", proto.lower(), key),
            Variable(f"{each}_PORT", str(p.port), key),
            Variable(f"{each}_ADDR", str(ip), key),
        ]
    return out


def pod_variables(objects: Objects, pod: Pod) -> list[Variable]:
    """Every Service variable of the pod, Services by namespace and name."""
    return [v for service in linked_services(objects, pod) for v in service_variables(service)]


def collisions(variables: list[Variable]) -> dict[str, list[Variable]]:
    """The variable names that several Services give different values: kubelet's map order decides."""
    by_name: dict[str, list[Variable]] = {}
    for v in variables:
        by_name.setdefault(v.name, []).append(v)
    return {n: vs for n, vs in sorted(by_name.items()) if len({v.value for v in vs}) > 1}


def environments(objects: Objects, pod: Pod) -> list[ContainerEnvironment]:
    """Each container's (init containers first, as the pod runs them): the Service variables and what its
    own env shadows. A pod read without its containers (a snapshot's pod without spec) gets one unnamed."""
    variables = tuple(pod_variables(objects, pod))
    names = {v.name for v in variables}
    out: list[ContainerEnvironment] = []
    for container in pod.naming.containers or (Container("", False),):
        own = {e.name: e.value for e in container.env}
        shadowed = {name: own[name] for name in sorted(names & own.keys())}
        expanded = expand_env(container, {v.name: v.value for v in variables})
        out.append(ContainerEnvironment(container, variables, shadowed, container.env_from, expanded))
    return out


def expand_env(container: Container, service: dict[str, str]) -> tuple[tuple[str, str, str | None], ...]:
    """The container's own variables that reference others (`$(NAME)`), as kubelet expands them
    (makeEnvironmentVariables: each value with the variables declared before it, then the Service
    variables; `$$` is `$`; an unknown reference stays as written). None when a reference is to a
    variable whose value only the cluster knows (valueFrom, or a key envFrom may give)."""
    known: dict[str, str | None] = {}
    out: list[tuple[str, str, str | None]] = []
    for var in container.env:
        value = var.value
        if value:  # kubelet expands only a value given (an empty one stays empty)
            result = expand(value, known, service, bool(container.env_from))
            if result != value:
                out.append((var.name, value, result))
            value = result
        known[var.name] = value
    return tuple(out)


def expand(text: str, own: dict[str, str | None], service: dict[str, str], env_from: bool) -> str | None:
    """k8s.io/kubernetes third_party/forked/golang/expansion.Expand with kubelet's mapping (own, then service);
    None when a reference cannot be known here."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] != "$" or i + 1 == len(text):
            out.append(text[i])
            i += 1
            continue
        following = text[i + 1]
        if following == "$":  # an escaped operator
            out.append("$")
            i += 2
        elif following == "(" and ")" in text[i + 2 :]:
            end = text.index(")", i + 2)
            name = text[i + 2 : end]
            if name in own:
                value = own[name]
            elif env_from:
                return None  # envFrom keys are not in the input: the reference may be to one of them
            else:
                value = service.get(name, f"$({name})")
            if value is None:
                return None
            out.append(value)
            i = end + 1
        else:  # not a reference: the operator and the next character as written
            out.append("$" + following)
            i += 2
    return "".join(out)


# `scheme://host[:port][/...]`, `host:port`, or a dotted name alone: what a value that names a host looks like
_URL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://)?(?:[^@/]*@)?([A-Za-z0-9_.-]+)(:[0-9]{1,5})?(?:/.*)?$")


def host_in(value: str) -> str | None:
    """The host a variable's value names (`http://gateway`, `redis:6379`, `postgres-0.postgres`), or None:
    a bare word (`shop`, `postgres`) may be anything but a host, an address is no name."""
    match = _URL.match(value.strip())
    if match is None:
        return None
    host = match.group(1).rstrip(".")
    if "://" not in value and not match.group(2) and ("." not in host or "/" in value):
        return None  # a bare word, or a path (`app.kubernetes.io/name`)
    if not host or not any(c.isalpha() for c in host.rsplit(".", 1)[-1]):
        return None  # an address, a version (`v1.2`): a name's last label has a letter
    return host
