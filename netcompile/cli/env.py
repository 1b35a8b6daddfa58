"""`netcompile env`: the Service environment variables kubelet gives each container of a pod.

From the completed cluster (a workload's pods made by the simulated cluster have their template's
containers and env), as kubelet computes them (netcompile/dns/envvars.py).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ..dns import DEFAULT_DOMAIN, DnsCluster, check_domain
from ..dns.envvars import (
    ContainerEnvironment,
    Variable,
    collisions,
    environments,
    host_in,
    linked_services,
    pod_variables,
)
from ..dns.lookup import Resolution, resolve
from ..model import Objects, Pod
from ..targets import workload_of
from . import CompileArgs, OutputOpt, Paths, completed_input, emit, fail, output_and_format, with_compile_options
from . import app as root
from .dns import DomainOpt, FormatOpt, pod_of


def names_used(cluster: DnsCluster, pod: Pod, env: ContainerEnvironment) -> list[tuple[str, str, Resolution]]:
    """(variable, host, resolution) for the container's own variables whose value names a host
    (`http://gateway`, `redis:6379`, `postgres-0.postgres`), resolved from the pod's search path."""
    values = {e.name: e.value for e in env.container.env}
    values.update({name: value for name, _, value in env.expanded})
    out = []
    for name, value in values.items():
        host = host_in(value) if value is not None else None
        if host is not None:
            resolution = resolve(cluster, host, "A", pod)
            if not resolution.found:
                again = resolve(cluster, host, "AAAA", pod)
                resolution = again if again.found else resolution
            out.append((name, host, resolution))
    return out


def name_line(variable: str, host: str, resolution: Resolution) -> str:
    answer = resolution.answer
    if answer.found:
        shown = ", ".join(f"{r.type} {r.data}" for r in answer.records)
        sources = sorted({r.source for r in answer.records if r.source})
        return f"  name in {variable}: {host} -> {answer.name} {shown}" + (
            f" ({'; '.join(sources)})" if sources else ""
        )
    if answer.rcode == "UPSTREAM" and "." in host:
        return f"  name in {variable}: {host} -> not a cluster name: the upstream servers answer for {answer.name}"
    tried = ", ".join(f"{a.name} {a.status}" for a in resolution.tried if a.rcode != "UPSTREAM")
    tail = "; then the upstream servers, which rarely know a single-label name" if answer.rcode == "UPSTREAM" else ""
    return f"  name in {variable}: {host} -> resolves to nothing in the cluster ({tried}){tail}"


def container_label(env: ContainerEnvironment) -> str:
    c = env.container
    return f"container {c.name or '(unnamed)'}" + (" (init)" if c.init else "")


def variable_line(v: Variable, env: ContainerEnvironment, width: int) -> str:
    line = f"  {v.name + '=' + v.value:<{width}}  # Service {v.service}"
    if v.name in env.shadowed:
        own = env.shadowed[v.name]
        line += f"; shadowed by the container's env: {v.name}=" + (own if own is not None else "(valueFrom)")
    return line


def render_text(
    objects: Objects, pod: Pod, label: str, envs: list[ContainerEnvironment], cluster: DnsCluster
) -> list[str]:
    services = linked_services(objects, pod)
    links = pod.naming.enable_service_links
    out = [
        f"{label}: enableServiceLinks {'true' if links else 'false'}: "
        + (
            f"the Services of namespace {pod.meta.namespace}"
            if links
            else "no Service of its namespace (default/kubernetes still)"
        )
        + f"; {len(services)} with a ClusterIP: "
        + (", ".join(s.meta.key for s in services) or "none")
    ]
    variables = list(envs[0].variables) if envs else []
    width = max((len(v.name) + 1 + len(v.value) for v in variables), default=0)
    for env in envs:
        out.append(f"{container_label(env)}: {len(env.variables)} variables, {len(env.shadowed)} shadowed")
        out += [variable_line(v, env, width) for v in env.variables]
        out += [
            f"  (envFrom {source}: its keys, not in the input, may shadow any of these)"
            for source in env.unknown_sources
        ]
        for name, written, value in env.expanded:
            shown = value if value is not None else "(a reference only the cluster can expand: valueFrom, envFrom)"
            out.append(f"  env {name}={written} -> {shown}")
        out += [name_line(*used) for used in names_used(cluster, pod, env)]
    for name, clashing in collisions(variables).items():
        values = ", ".join(f"{v.value} (Service {v.service})" for v in clashing)
        out.append(f"collision: {name} is set by several Services: {values}: kubelet's map order decides")
    return out


def env_json(objects: Objects, pod: Pod, envs: list[ContainerEnvironment], cluster: DnsCluster) -> dict[str, Any]:
    return {
        "pod": pod.meta.key,
        "workload": workload_of(pod, objects),
        "enableServiceLinks": pod.naming.enable_service_links,
        "services": [s.meta.key for s in linked_services(objects, pod)],
        "containers": [
            {
                "name": env.container.name,
                "init": env.container.init,
                "variables": [
                    {"name": v.name, "value": v.value, "service": v.service, "shadowed": v.name in env.shadowed}
                    for v in env.variables
                ],
                "shadowed": env.shadowed,
                "envFrom": list(env.unknown_sources),
                "expanded": [{"name": n, "value": w, "expanded": v} for n, w, v in env.expanded],
                "names": [
                    {
                        "variable": variable,
                        "host": host,
                        "fqdn": resolution.answer.name if resolution.found else None,
                        "status": resolution.answer.status,
                        "answer": [{"type": r.type, "data": r.data} for r in resolution.answer.records],
                        "tried": [{"name": a.name, "status": a.status} for a in resolution.tried],
                    }
                    for variable, host, resolution in names_used(cluster, pod, env)
                ],
            }
            for env in envs
        ],
        "collisions": {
            name: [{"value": v.value, "service": v.service} for v in vs]
            for name, vs in collisions(pod_variables(objects, pod)).items()
        },
    }


@root.command("env")
@with_compile_options
def env_cmd(
    paths: Paths,
    compile_args: CompileArgs,
    pod_target: Annotated[
        str,
        typer.Option("--pod", metavar="POD", help="The pod: ns/name, or a workload ns/deploy/name (its first pod)."),
    ],
    domain: DomainOpt = DEFAULT_DOMAIN,
    output: OutputOpt = None,
    fmt: FormatOpt = None,
) -> None:
    """The Service environment variables kubelet gives each container of a pod.

    {SVC}_SERVICE_HOST, {SVC}_SERVICE_PORT, {SVC}_SERVICE_PORT_{NAME}, {SVC}_PORT and the Docker-links
    {SVC}_PORT_{P}_{PROTO}(_PROTO, _PORT, _ADDR) of every Service with a ClusterIP in the pod's namespace
    (none with enableServiceLinks: false) and of default/kubernetes, by Service; a variable the container
    sets itself (env) shadows the Service's, and envFrom sources may shadow any; names that several
    Services set are collisions (kubelet's map order decides). The container's own variables that
    reference others ($(NAME)) are shown expanded, as kubelet expands them; those whose value names a host
    (http://gateway, redis:6379, postgres-0.postgres) are resolved from the pod's search path, as
    netcompile dns --query --from does.
    """
    target, form = output_and_format(output, fmt, ("text", "json"))
    try:
        check_domain(domain)
    except ValueError as exc:
        fail(str(exc))
    objects = completed_input(paths, compile_args)
    pod = pod_of(pod_target, objects, "--pod")
    envs = environments(objects, pod)
    cluster = DnsCluster(objects, domain)
    if form == "json":
        emit(json.dumps(env_json(objects, pod, envs, cluster), indent=2), target)
        return
    workload = workload_of(pod, objects)
    label = f"pod {pod.meta.key}" + (f" of {workload}" if workload else "")
    emit("\n".join(render_text(objects, pod, label, envs, cluster)), target)
