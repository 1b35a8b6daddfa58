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
        out.append(ContainerEnvironment(container, variables, shadowed, container.env_from))
    return out
