"""Names that lead nowhere and Service environment variables that clash (issue 20.4), from what cluster DNS
and kubelet make of the completed objects (netcompile/dns/)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from ..dns import DnsCluster, UnresolvedName, resolve_name
from ..dns.envvars import collisions, environments, host_in, pod_variables
from ..dns.lookup import UPSTREAM, Resolution, absolute, lookup, resolve
from ..model import Meta, Objects, Pod, ServiceType
from ..targets import Workloads
from .findings import Finding, at, finding
from .reach import CLUSTER_DNS


def unresolved(objects: Objects, cluster: DnsCluster) -> Iterator[Finding]:
    """Ingress backends naming a Service (or a port of it) that is not there; ExternalName Services whose
    name is inside the cluster domain and resolves to no address."""
    for ingress in objects.ingresses:
        namespace = ingress.meta.namespace
        for backend in ingress.backends():
            if backend.service is None:
                continue
            entry = cluster.service(namespace, backend.service.name)
            where = backend.position or ingress.meta.position
            if entry is None:
                known = sorted(s.meta.name for s in objects.services if s.meta.namespace == namespace)
                yield at(
                    "unresolved-name",
                    where,
                    ingress.meta.ref,
                    f"{backend.path}.service.name",
                    f'no Service "{namespace}/{backend.service.name}": the backend leads nowhere'
                    + (f" (Services of {namespace}: {', '.join(known[:6])}{', ...' if len(known) > 6 else ''})"
                       if known else ""),
                )  # fmt: skip
                continue
            service = entry.service
            wanted = backend.service.port
            if service.type == ServiceType.EXTERNAL_NAME:
                continue  # the controller proxies to the name: checked below, as the Service's
            if not any((p.port if isinstance(wanted, int) else p.name) == wanted for p in service.ports):
                have = ", ".join(p.name or str(p.port) for p in service.ports) or "none"
                shown = f"port {wanted}" if isinstance(wanted, int) else f'port "{wanted}"'
                yield at(
                    "unresolved-name",
                    where,
                    ingress.meta.ref,
                    f"{backend.path}.service.port",
                    f"{service.meta.ref} has no {shown} (its ports: {have}): the backend leads nowhere",
                )
    suffix = "." + cluster.domain
    for service in objects.services:
        name = service.external_name
        if service.type != ServiceType.EXTERNAL_NAME or not name:
            continue
        if not name.rstrip(".").endswith(suffix):
            continue  # upstream servers answer for it: nothing netcompile can check
        try:
            resolve_name(cluster, name.rstrip(".") + ".")
        except UnresolvedName:
            answer = lookup(cluster, absolute(name), "A")
            labels = name.rstrip(".").split(".")
            hint = ""
            if len(labels) > 2 and labels[2] == "svc":
                names_there = [s.meta.name for s in objects.services if s.meta.namespace == labels[1]]
                close = difflib.get_close_matches(labels[0], names_there, n=1)
                hint = f'; did you mean "{close[0]}.{".".join(labels[1:])}"?' if close else ""
            yield finding(
                "unresolved-name",
                service.meta,
                "spec.externalName",
                f"the alias {name} resolves to no address in the cluster ({answer.name} A: {answer.status}): "
                f"clients of {service.meta.name}.{service.meta.namespace} get no answer{hint}",
            )


def _namespaces_with_links(objects: Objects) -> dict[str, Pod]:
    """Per namespace, a running pod that gets the namespace's Service variables (enableServiceLinks)."""
    out: dict[str, Pod] = {}
    for pod in objects.pods:
        if pod.naming.enable_service_links:
            out.setdefault(pod.meta.namespace, pod)
    return out


def env_collisions(objects: Objects) -> Iterator[Finding]:
    """Variables that two Services give a namespace's pods with different values, once per namespace and
    name, at the Service that comes second in kubelet's order (namespace, name)."""
    services = {s.meta.key: s for s in objects.services}
    for namespace, pod in sorted(_namespaces_with_links(objects).items()):
        for name, variables in collisions(pod_variables(objects, pod)).items():
            keys = list(dict.fromkeys(v.service for v in variables))
            later = services[keys[-1]]
            others = ", ".join(f'Service "{k}"' for k in keys[:-1])
            yield finding(
                "env-collision",
                later.meta,
                "metadata.name",
                f"gives the pods of namespace {namespace} the variable {name}, as {others} does with another value "
                f"({' vs '.join(repr(v.value) for v in variables)}): which one a container sees depends on "
                "kubelet's map order",
            )


def env_shadowed(objects: Objects) -> Iterator[Finding]:
    """A container's own env that hides a Service variable, once per workload (or bare pod) and variable,
    at the variable's entry in the pod template."""
    workloads = Workloads(objects)
    declared = {(w.meta.namespace, w.meta.kind, w.meta.name): w.meta for w in objects.workloads}
    seen: set[tuple[str, str, str]] = set()
    for pod in objects.pods:
        owner = workloads.of(pod)
        meta = declared.get((pod.meta.namespace, *owner)) if owner is not None else None
        target = meta or pod.meta
        who = (pod.meta.namespace, target.kind, target.name)
        if who in seen:
            continue
        seen.add(who)
        prefix = _pod_spec(target)
        sources = {v.name: v.service for v in pod_variables(objects, pod)}
        counters = {True: 0, False: 0}
        for env in environments(objects, pod):
            container = env.container
            index = counters[container.init]
            counters[container.init] += 1
            group = "initContainers" if container.init else "containers"
            for name, value in env.shadowed.items():
                j = next(k for k, e in enumerate(container.env) if e.name == name)
                own = "a value from valueFrom" if value is None else repr(value)
                yield finding(
                    "env-shadowed",
                    target,
                    f"{prefix}.{group}[{index}].env[{j}].name",
                    f"container {container.name or '(unnamed)'} sets {name} itself ({own}): it hides the variable "
                    f'Service "{sources[name]}" gives it',
                )


def _pod_spec(meta: Meta) -> str:
    if meta.kind == "Pod":
        return "spec"
    if meta.kind == "CronJob":
        return "spec.jobTemplate.spec.template.spec"
    return "spec.template.spec"


def env_hosts(objects: Objects, cluster: DnsCluster) -> Iterator[Finding]:
    """A container's own variable whose value names a host (`http://catlog`, `redis:6379`) that resolves to
    nothing from the pod's search path, when the name can only be a cluster name: a single label, a name
    under `svc` or the cluster domain, or `name.namespace` of a namespace of the cluster (anything else
    goes to the upstream servers, which netcompile cannot answer for). Once per workload and variable."""
    workloads = Workloads(objects)
    declared = {(w.meta.namespace, w.meta.kind, w.meta.name): w.meta for w in objects.workloads}
    seen: set[tuple[str, str, str]] = set()
    for pod in objects.pods:
        if pod.naming.dns_policy not in CLUSTER_DNS:
            continue
        owner = workloads.of(pod)
        meta = (declared.get((pod.meta.namespace, *owner)) if owner is not None else None) or pod.meta
        if (pod.meta.namespace, meta.kind, meta.name) in seen:
            continue
        seen.add((pod.meta.namespace, meta.kind, meta.name))
        counters = {True: 0, False: 0}
        for env in environments(objects, pod):
            container = env.container
            index = counters[container.init]
            counters[container.init] += 1
            group = "initContainers" if container.init else "containers"
            expanded = {name: value for name, _, value in env.expanded}
            for j, var in enumerate(container.env):
                value = expanded.get(var.name, var.value)
                host = host_in(value) if value is not None else None
                if host is None:
                    continue
                resolution = resolve(cluster, host, "A", pod)
                if resolution.found or resolve(cluster, host, "AAAA", pod).found:
                    continue
                if not _cluster_name(cluster, host, resolution):
                    continue
                services = [s.meta.name for s in objects.services if s.meta.namespace == pod.meta.namespace]
                close = difflib.get_close_matches(host.split(".")[0], services, n=1)
                tried = ", ".join(f"{a.name} {a.status}" for a in resolution.tried if a.rcode != UPSTREAM)
                yield finding(
                    "unresolved-name",
                    meta,
                    f"{_pod_spec(meta)}.{group}[{index}].env[{j}].name",
                    f"{var.name} names the host {host}, which resolves to nothing in the cluster from "
                    f"{pod.meta.namespace} (tried {tried})" + (f'; did you mean "{close[0]}"?' if close else ""),
                )


def _cluster_name(cluster: DnsCluster, host: str, resolution: Resolution) -> bool:
    labels = host.rstrip(".").split(".")
    if resolution.answer.rcode != UPSTREAM or len(labels) == 1:
        return True
    return labels[-1] == "svc" or (len(labels) == 2 and labels[1] in cluster.namespaces)
