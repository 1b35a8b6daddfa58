"""`netcompile dns`: the records cluster DNS serves for the input, or the answer to one query.

The completed cluster (pipeline: Git manifests get their ClusterIPs, pods and EndpointSlices) read as the
Kubernetes DNS specification and CoreDNS's `kubernetes` plugin read a cluster (netcompile/dns/).
"""

from __future__ import annotations

import json
from ipaddress import ip_address
from typing import Annotated, Any

import typer

from ..dns import DEFAULT_DOMAIN, POD_MODES, QUERY_TYPES, DnsCluster, check_domain
from ..dns.lookup import Answer, Resolution, resolve
from ..dns.records import Record, zone
from ..model import IPAddress, Objects, Pod
from ..targets import TargetError
from ..targets import resolve as resolve_target
from . import (
    FINDING,
    CompileArgs,
    OutputOpt,
    Paths,
    completed_input,
    emit,
    fail,
    output_and_format,
    with_compile_options,
)
from . import app as root

FormatOpt = Annotated[str | None, typer.Option("--format", metavar="NAME", help="text (default) or json.")]
DomainOpt = Annotated[
    str,
    typer.Option("--cluster-domain", metavar="DOMAIN", help="The cluster's DNS domain (kubelet's --cluster-domain)."),
]


def as_address(text: str) -> IPAddress | None:
    try:
        return ip_address(text.strip())
    except ValueError:
        return None


def pod_of(text: str, objects: Objects, option: str) -> Pod:
    """The pod a target names (a workload: its first pod; an address: the pod that has it); exit 2 otherwise."""
    try:
        target = resolve_target(text, objects)
    except TargetError as exc:
        fail(f"{option} {exc}")
    if isinstance(target.obj, Pod):
        return target.obj
    if target.address is not None:
        for pod in objects.pods:
            if target.address in pod.ips and not pod.host_network:
                return pod
    fail(f"{option} {text}: names {target.label}, not a pod: name a pod (ns/name) or a workload (ns/deploy/name)")


def cluster_of(objects: Objects, domain: str, pods: str) -> DnsCluster:
    try:
        return DnsCluster(objects, domain, pods)
    except ValueError as exc:
        fail(str(exc))


def record_json(record: Record) -> dict[str, Any]:
    return {
        "name": record.name,
        "ttl": record.ttl,
        "type": record.type,
        "data": record.data,
        "source": record.source,
        "section": record.rule,
    }


def record_lines(records: tuple[Record, ...] | list[Record]) -> list[str]:
    """Zone-file lines, aligned, each with a comment: the specification's section and the object."""
    if not records:
        return []
    width = max(len(r.name) for r in records)
    data_width = min(max(len(r.data) for r in records), 40)
    out = []
    for r in records:
        why = " ".join(part for part in (r.rule, r.source) if part)
        comment = f" ; {why}" if why else ""
        out.append(f"{r.name:<{width}} {r.ttl} IN {r.type:<5} {r.data:<{data_width}}{comment}".rstrip())
    return out


def resolution_lines(resolution: Resolution) -> list[str]:
    answer = resolution.answer
    head = f";; {resolution.query} {resolution.type}"
    if resolution.source:
        head += (
            f" from {resolution.source} (search {' '.join(resolution.search) or '(none)'}; ndots:{resolution.ndots})"
        )
    out = [head]
    out += [f";; note: {note}" for note in resolution.notes]
    out += [f";; tried {a.name} {a.status}" + (f": {a.note}" if a.note else "") for a in resolution.tried]
    out.append(f";; status {answer.status}, answer {len(answer.records)}")
    out += record_lines(answer.records)
    if answer.additional:
        out.append(";; additional")
        out += record_lines(answer.additional)
    return out


def answer_json(answer: Answer) -> dict[str, Any]:
    return {"name": answer.name, "status": answer.status, "note": answer.note}


@root.command("dns")
@with_compile_options
def dns_cmd(
    paths: Paths,
    compile_args: CompileArgs,
    domain: DomainOpt = DEFAULT_DOMAIN,
    query: Annotated[
        str | None, typer.Option("--query", metavar="NAME", help="Answer one query (as CoreDNS would), not the zone.")
    ] = None,
    qtype: Annotated[str, typer.Option("--type", metavar="TYPE", help="A, AAAA, SRV, CNAME, PTR or TXT.")] = "A",
    source: Annotated[
        str | None,
        typer.Option(
            "--from", metavar="POD", help="Resolve --query from this pod: its resolv.conf (search path, ndots)."
        ),
    ] = None,
    pods: Annotated[
        str, typer.Option("--pods", metavar="MODE", help="CoreDNS `pods` mode: insecure (kubeadm), verified, disabled.")
    ] = "insecure",
    output: OutputOpt = None,
    fmt: FormatOpt = None,
) -> None:
    """The DNS records cluster DNS serves for the input, or the answer to one query.

    Without --query: every record the Kubernetes DNS specification requires (A/AAAA of Services,
    SRV of named ports, PTR, headless Services' endpoints and hostnames, CNAME of ExternalName
    Services, pod records), sorted, each with its section of the specification and its object; notes
    on names that do not exist (a headless Service without ready endpoints).

    With --query NAME: the answer as CoreDNS's kubernetes plugin gives it (an address: its PTR record);
    with --from a pod, NAME is resolved as that pod's resolver does (the resolv.conf kubelet writes: for
    ClusterFirst, search <ns>.svc.<domain> svc.<domain> <domain> and ndots:5), and every name tried is
    shown. Exit 1 when nothing answers (NXDOMAIN, no data, or a name outside the cluster domain).
    """
    target, form = output_and_format(output, fmt, ("text", "json"))
    qtype = qtype.upper()
    if qtype not in QUERY_TYPES:
        fail(f'--type: Unsupported value: "{qtype}": supported values: ' + ", ".join(f'"{t}"' for t in QUERY_TYPES))
    if query is None and (source is not None or qtype != "A"):
        fail("--from and --type ask about one query: give --query NAME")
    if query is not None and not query.strip().strip("."):
        fail("--query: an empty name")
    if query is not None and (address := as_address(query)) is not None:  # as `dig -x`: the reverse name
        if qtype not in ("A", "PTR"):
            fail(f"--query {query}: an address asks for its PTR record, not {qtype}")
        query, qtype = address.reverse_pointer + ".", "PTR"
    if pods not in POD_MODES:
        fail(f'--pods: Unsupported value: "{pods}": supported values: ' + ", ".join(f'"{m}"' for m in POD_MODES))
    try:
        check_domain(domain)  # a bad option before a bad file
    except ValueError as exc:
        fail(str(exc))
    objects = completed_input(paths, compile_args)
    cluster = cluster_of(objects, domain, pods)
    if query is None:
        listing = zone(cluster)
        if form == "json":
            listed: dict[str, Any] = {
                "domain": listing.domain,
                "records": [record_json(r) for r in listing.records],
                "notes": list(listing.notes),
            }
            emit(json.dumps(listed, indent=2), target)
        else:
            lines = [f"; cluster DNS of {listing.domain}: {len(listing.records)} records"]
            lines += record_lines(listing.records) + [f"; note: {note}" for note in listing.notes]
            emit("\n".join(lines), target)
        return
    pod = pod_of(source, objects, "--from") if source is not None else None
    resolution = resolve(cluster, query, qtype, pod)
    answer = resolution.answer
    if form == "json":
        doc: dict[str, Any] = {
            "query": resolution.query,
            "type": resolution.type,
            "from": resolution.source or None,
            "search": list(resolution.search),
            "ndots": resolution.ndots,
            "notes": list(resolution.notes),
            "tried": [answer_json(a) for a in resolution.tried],
            "status": answer.status,
            "answer": [record_json(r) for r in answer.records],
            "additional": [record_json(r) for r in answer.additional],
        }
        emit(json.dumps(doc, indent=2), target)
    else:
        emit("\n".join(resolution_lines(resolution)), target)
    if not resolution.found:
        typer.echo(f"netcompile: {why_not(resolution, qtype)}", err=True)
        raise typer.Exit(FINDING)


def why_not(resolution: Resolution, qtype: str) -> str:
    """One line: why nothing answered, for stderr."""
    answer = resolution.answer
    statuses = {a.status for a in resolution.tried if a.rcode != "UPSTREAM"}
    if answer.rcode == "UPSTREAM":
        found = "not in the cluster" + (
            f" ({', '.join(sorted(statuses))} for the cluster names tried)" if statuses else ""
        )
        line = (
            f"{resolution.query}: {found}; {answer.name} goes to the upstream servers (netcompile cannot answer them)"
        )
    elif answer.rcode == "NXDOMAIN":
        line = f"{resolution.query}: no such name (NXDOMAIN)"
    else:
        line = f"{resolution.query}: no {qtype} record (the name exists: NOERROR, no data)"
    if not resolution.source and "." in resolution.query.rstrip(".") and len(resolution.tried) == 1:
        line += "; a name relative to a namespace (web.shop) needs --from POD: the pod's search path"
    return line
