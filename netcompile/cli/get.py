"""`netcompile get`: what netcompile made of the input, as `kubectl get -o wide` shows a cluster.

For the manifests kept in Git, most of it is the simulated cluster (complete/): the pods of workloads,
their nodes and IPs, ClusterIPs and nodePorts, the EndpointSlices. `--format yaml|json` writes it as
manifests (cli/manifests.py) that netcompile reads back to the same cluster.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer
import yaml

from ..model import Objects, Pod, Service, ServiceType
from ..model.workloads import WorkloadKind
from ..targets import Workloads
from . import CompileArgs, OutputOpt, app, checked, completed_input, emit, fail, output_and_format, with_compile_options
from .manifests import manifests

# kubectl's names for the kinds `get` shows (singular, plural, short): the first is the canonical one
KIND_NAMES: dict[str, tuple[str, ...]] = {
    "pods": ("pod", "po"),
    "services": ("service", "svc"),
    "endpoints": ("endpoint", "ep", "endpointslices", "endpointslice"),
    "nodes": ("node", "no"),
    "networkpolicies": ("networkpolicy", "netpol"),
    "namespaces": ("namespace", "ns"),
    "daemonsets": ("daemonset", "ds"),
    "deployments": ("deployment", "deploy"),
    "replicasets": ("replicaset", "rs"),
    "replicationcontrollers": ("replicationcontroller", "rc"),
    "statefulsets": ("statefulset", "sts"),
    "jobs": ("job",),
    "cronjobs": ("cronjob", "cj"),
}
_KIND_OF = {name: kind for kind, names in KIND_NAMES.items() for name in (kind, *names)}
WORKLOAD_KINDS: dict[str, WorkloadKind] = {
    "daemonsets": WorkloadKind.DAEMON_SET,
    "deployments": WorkloadKind.DEPLOYMENT,
    "replicasets": WorkloadKind.REPLICA_SET,
    "replicationcontrollers": WorkloadKind.REPLICATION_CONTROLLER,
    "statefulsets": WorkloadKind.STATEFUL_SET,
    "jobs": WorkloadKind.JOB,
    "cronjobs": WorkloadKind.CRON_JOB,
}
# What `all` shows as tables: what netcompile compiles. Workloads are shown when asked for by name
# (`get PATH deploy,sts`): the manifests `--format yaml` writes hold their pods, not them.
TABLE_KINDS = ("nodes", "pods", "services", "endpoints")
NONE = "<none>"


def kinds_of(word: str) -> tuple[str, ...] | None:
    """The kinds a word names (`pods`, `svc,po`, `all`), None when it names none (it is a path)."""
    if word.lower() == "all":
        return ("all",)
    found = [_KIND_OF.get(part.lower()) for part in word.split(",")]
    if not found or any(k is None for k in found):
        return None
    return tuple(dict.fromkeys(k for k in found if k is not None))


def split_words(words: Sequence[str]) -> tuple[list[str], tuple[str, ...]]:
    """PATH... [KIND]: the paths, and the kinds the last word names (default: all); exit 2 when it is
    both a kind and a path, or when no path is left."""
    paths = list(words)
    kinds: tuple[str, ...] = ("all",)
    named: tuple[str, ...] | None
    if len(paths) > 1 and (named := kinds_of(paths[-1])) is not None:
        if os.path.exists(paths[-1]):
            fail(f"{paths[-1]}: both a kind and a path here: write ./{paths[-1]} to read the path, or name no kind")
        paths, kinds = paths[:-1], named
    elif len(paths) == 1 and kinds_of(paths[0]) is not None and not os.path.exists(paths[0]):
        fail(f"{paths[0]}: a kind, but no PATH to read: netcompile get PATH... {paths[0]}")
    return paths, kinds


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels) or NONE


def _join(values: Sequence[object]) -> str:
    return ",".join(str(v) for v in values) or NONE


def render(header: list[str], rows: list[list[str]]) -> list[str]:
    """kubectl's table: columns padded to their widest cell, three spaces apart."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return ["   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]]


def _status(pod: Pod) -> str:
    return "Terminating" if pod.terminating else pod.phase or "Pending"


def pod_rows(objects: Objects, prefix: str) -> tuple[list[str], list[list[str]]]:
    workloads = Workloads(objects)
    header = ["NAMESPACE", "NAME", "READY", "STATUS", "IP", "NODE", "PORTS", "OWNER"]
    rows = []
    for pod in objects.pods:
        owner = workloads.of(pod)
        ports = [f"{p.name + ':' if p.name else ''}{p.port}/{p.protocol.value}" for p in pod.ports]
        rows.append(
            [
                pod.meta.namespace,
                prefix + pod.meta.name,
                "1/1" if pod.ready and pod.running else "0/1",
                _status(pod),
                _join(pod.ips),
                pod.node_name or NONE,
                _join(ports),
                f"{owner[0]}/{owner[1]}" if owner else NONE,
                _labels(pod.meta.labels),
            ]
        )
    return header, rows


def _external(svc: Service) -> str:
    if svc.type == ServiceType.EXTERNAL_NAME:
        return svc.external_name or NONE
    shown = [*svc.external_ips, *(i.ip for i in svc.load_balancer_ingress)]
    if not shown and svc.type == ServiceType.LOAD_BALANCER:
        return "<pending>"
    return _join(shown)


def service_rows(objects: Objects, prefix: str) -> tuple[list[str], list[list[str]]]:
    header = ["NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "SELECTOR"]
    rows = []
    for svc in objects.services:
        ports = [
            f"{p.port}{':' + str(p.node_port) if p.node_port is not None else ''}/{p.protocol.value}" for p in svc.ports
        ]
        cluster_ip = "None" if svc.headless else _join(svc.cluster_ips)
        selector = _labels(svc.selector.match_labels) if svc.selector is not None else NONE
        row = [svc.meta.namespace, prefix + svc.meta.name, svc.type.value, cluster_ip, _external(svc)]
        rows.append([*row, _join(ports), selector, _labels(svc.meta.labels)])
    return header, rows


def endpoint_rows(objects: Objects, prefix: str) -> tuple[list[str], list[list[str]]]:
    header = ["NAMESPACE", "NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "SERVICE"]
    rows = []
    for eps in objects.endpoint_slices:
        addresses = [a for e in eps.endpoints for a in e.addresses]
        ports = [p.port for p in eps.ports]
        row = [eps.meta.namespace, prefix + eps.meta.name, eps.address_type, _join(ports), _join(addresses)]
        rows.append([*row, eps.service_name or NONE, _labels(eps.meta.labels)])
    for ep in objects.endpoints:  # core/v1 Endpoints of the input
        addresses = [a.ip for s in ep.subsets for a in s.addresses]
        ports = sorted({p.port for s in ep.subsets for p in s.ports})
        row = [ep.meta.namespace, prefix + ep.meta.name, "Endpoints", _join(ports), _join(addresses)]
        rows.append([*row, ep.meta.name, _labels(ep.meta.labels)])
    return header, rows


def node_rows(objects: Objects, prefix: str) -> tuple[list[str], list[list[str]]]:
    header = ["NAME", "STATUS", "INTERNAL-IP", "EXTERNAL-IP", "POD-CIDRS"]
    rows = []
    for node in objects.nodes:
        internal = [a.address for a in node.addresses if a.type == "InternalIP"]
        external = [a.address for a in node.addresses if a.type == "ExternalIP"]
        row = [prefix + node.meta.name, "Ready", _join(internal), _join(external), _join(node.pod_cidrs)]
        rows.append([*row, _labels(node.meta.labels)])
    return header, rows


def policy_rows(objects: Objects, prefix: str) -> tuple[list[str], list[list[str]]]:
    header = ["NAMESPACE", "NAME", "POD-SELECTOR", "POLICY-TYPES"]
    rows = []
    for policy in objects.network_policies:
        types = _join([t.value for t in policy.policy_types])
        row = [policy.meta.namespace, prefix + policy.meta.name, str(policy.pod_selector), types]
        rows.append([*row, _labels(policy.meta.labels)])
    return header, rows


def namespace_rows(objects: Objects, prefix: str) -> tuple[list[str], list[list[str]]]:
    rows = [[prefix + n.meta.name, "Active", _labels(n.meta.labels)] for n in objects.namespaces]
    return ["NAME", "STATUS"], rows


def workload_rows(kind: WorkloadKind) -> Callable[[Objects, str], tuple[list[str], list[list[str]]]]:
    """The workloads of one kind: how many of the pods they stand for are ready, of how many they want
    (a DaemonSet: one per matching node, so the pods it has), their selector."""

    def rows_of(objects: Objects, prefix: str) -> tuple[list[str], list[list[str]]]:
        owners = Workloads(objects)
        ready: dict[tuple[str, str], int] = {}
        found: dict[tuple[str, str], int] = {}
        for pod in objects.pods:
            top = owners.of(pod)
            if top is not None and top[0] == kind.value:
                key = (pod.meta.namespace, top[1])
                found[key] = found.get(key, 0) + 1
                ready[key] = ready.get(key, 0) + (pod.running and pod.ready)
        rows = []
        for workload in objects.workloads:
            if workload.kind is not kind:
                continue
            key = (workload.meta.namespace, workload.meta.name)
            wanted = found.get(key, 0) if workload.replicas is None else workload.replicas
            selector = str(workload.selector) if workload.selector is not None else NONE
            row = [workload.meta.namespace, prefix + workload.meta.name, f"{ready.get(key, 0)}/{wanted}"]
            rows.append([*row, str(found.get(key, 0)), selector, _labels(workload.meta.labels)])
        return ["NAMESPACE", "NAME", "READY", "PODS", "SELECTOR"], rows

    return rows_of


TABLES: dict[str, tuple[str, Callable[[Objects, str], tuple[list[str], list[list[str]]]]]] = {
    "nodes": ("node", node_rows),
    "pods": ("pod", pod_rows),
    "services": ("service", service_rows),
    "endpoints": ("endpointslice", endpoint_rows),
    "networkpolicies": ("networkpolicy", policy_rows),
    "namespaces": ("namespace", namespace_rows),
    **{name: (kind.value.lower(), workload_rows(kind)) for name, kind in WORKLOAD_KINDS.items()},
}


def tables(objects: Objects, kinds: Sequence[str], show_labels: bool) -> list[str]:
    """One table per kind (names as `kind/name` when there are several, as kubectl prints them)."""
    out: list[str] = []
    for kind in kinds:
        singular, rows_of = TABLES[kind]
        header, rows = rows_of(objects, f"{singular}/" if len(kinds) > 1 else "")
        rows.sort(key=lambda r: (r[0], r[1]) if header[0] == "NAMESPACE" else (r[0],))  # kubectl's order
        if not rows:
            continue
        if show_labels:
            header = [*header, "LABELS"]
        else:
            rows = [r[:-1] for r in rows]
        out += ([""] if out else []) + render(header, rows)
    return out


@app.command("get")
@with_compile_options
def get_cmd(
    words: Annotated[
        list[str],
        typer.Argument(
            metavar="PATH... [KIND]",
            help="Manifest files or directories (recursive, sorted; - for stdin), then what to show: pods, "
            "services, endpoints, nodes, networkpolicies, namespaces, deployments, statefulsets, daemonsets, "
            "replicasets, replicationcontrollers, jobs, cronjobs (kubectl's names, comma-separated) or all.",
        ),
    ],
    compile_args: CompileArgs,
    show_labels: Annotated[bool, typer.Option("--show-labels", help="A LABELS column, as kubectl's.")] = False,
    output: OutputOpt = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", metavar="NAME", help="table (default: kubectl get -o wide), yaml or json (manifests)."
        ),
    ] = None,
) -> None:
    """What netcompile made of the input: the cluster it compiles, as `kubectl get -o wide` shows one.

    For manifests kept in Git, that is the simulated cluster: workloads' pods (names, labels, node, IP,
    owner), Services' ClusterIPs and nodePorts, the EndpointSlices, the Nodes (--nodes N when the input
    has none). `all` (the default) shows nodes, pods, services and endpoints. --format yaml (or json)
    writes the completed cluster as manifests (Namespaces, Nodes, Pods with their status, Services,
    EndpointSlices, NetworkPolicies) that netcompile reads back to the same cluster: inspect them,
    commit them, or edit them. The pods stand for their workloads (ownerReferences), which are not written.
    """
    target, form = output_and_format(output, fmt, ("table", "yaml", "json"))
    paths, kinds = split_words(words)
    opts, _ = checked(compile_args)
    objects = completed_input(paths, compile_args)
    names = [n.meta.name for n in objects.nodes]
    if opts.node is not None and names and opts.node not in names:
        fail(f"--node {opts.node}: no such Node in the input (known: {', '.join(sorted(names))})")
    if form != "table":
        chosen = frozenset(TABLES) if kinds == ("all",) else frozenset(kinds)
        if chosen <= frozenset(WORKLOAD_KINDS):
            fail(
                f"--format {form} writes the completed cluster, whose pods stand for their workloads (through "
                "ownerReferences): the workloads themselves are not written; ask for pods, or for all"
            )
        docs: list[dict[str, Any]] = manifests(objects, chosen)
        if form == "json":
            emit(json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}, indent=2), target)
        else:
            emit(yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True) if docs else "", target)
        return
    lines = tables(objects, TABLE_KINDS if kinds == ("all",) else kinds, show_labels)
    if not lines:
        typer.echo("No resources found", err=True)
    emit("\n".join(lines), target)
