"""`netcompile trace`: one packet, explained by the reference and by the compiled ruleset."""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Annotated, Any

import typer

from ..dns import DEFAULT_DOMAIN, NameTarget, UnresolvedName, check_domain, looks_like_name, resolve_name
from ..journeys import EndpointError, Journey, Network, Place
from ..model import Pod, Protocol
from ..targets import TargetError
from ..targets import resolve as resolve_target
from ..verify.packet import Result, Verdict
from . import (
    FINDING,
    CompileArgs,
    OutputOpt,
    Paths,
    emit,
    fail,
    network,
    output_and_format,
    with_compile_options,
)
from . import app as root
from .results import distribution_json

FormatOpt = Annotated[str | None, typer.Option("--format", metavar="NAME", help="text (default) or json.")]


def summarize(network: Network, dist: dict[Result, Fraction]) -> list[str]:
    """`1/2  delivered to 10.244.0.21:9000 (pod shop/api-1)`, most likely first."""
    lines = []
    for result, p in sorted(dist.items(), key=lambda kv: (-kv[1], kv[0].sort_key())):
        where = f" ({network.describe(result.dst)})" if result.dst is not None else ""
        lines.append(f"{p!s:>5}  {result}{where}")
    return lines


def render_text(network: Network, journey: Journey, src_label: str, dst_label: str) -> list[str]:
    out = [f"packet      {journey.packet}", f"            from {src_label} to {dst_label}, entering {journey.entry}"]
    verdicts = sorted({r.verdict.value for r in journey.reference})
    out.append(f"verdict     {' / '.join(verdicts)}")
    out.append("outcome     (reference)")
    out += [f"            {line}" for line in summarize(network, journey.reference)]
    masq = {r.masquerade for r in journey.reference if r.verdict == Verdict.DELIVERED}
    if masq:
        out.append(f"masquerade  {'yes' if masq == {True} else 'no' if masq == {False} else 'for some targets'}")
    for hop in journey.hops:
        out.append(f"at {hop.node}: {hop.packet}")
        out.append("  reasons (reference):")
        out += [f"    - {reason}" for reason in hop.reference.reasons] or ["    - nothing applies: untouched"]
        out.append("  path (compiled ruleset):")
        path = hop.compiled.path if hop.compiled is not None else []
        out += [f"    {step}" for step in path] or ["    (no rule matched)"]
    out += [f"the reply: {note}" for note in dict.fromkeys(journey.notes)]
    if journey.agrees:
        out.append("reference and compiled ruleset agree")
    else:
        out.append("DISAGREEMENT: the compiled ruleset does something else:")
        out += [f"            {line}" for line in summarize(network, journey.compiled)]
    return out


@root.command("trace")
@with_compile_options
def trace_cmd(
    paths: Paths,
    compile_args: CompileArgs,
    source: Annotated[
        str, typer.Option("--from", metavar="TARGET", help="Source: ns/name, ns/kind/name, name, node:NAME, address.")
    ],
    destination: Annotated[
        str,
        typer.Option(
            "--to", metavar="TARGET", help="Destination: ns/name, ns/kind/name, name, node:NAME, address, DNS name."
        ),
    ],
    port: Annotated[
        int | None,
        typer.Option(
            "--port", metavar="PORT", min=1, max=65535, help="Destination port (an SRV name --to gives its own)."
        ),
    ] = None,
    protocol: Annotated[
        str | None, typer.Option("--protocol", metavar="PROTO", help="tcp (default), udp or sctp.")
    ] = None,
    domain: Annotated[
        str, typer.Option("--cluster-domain", metavar="DOMAIN", help="The cluster's DNS domain, for a DNS name --to.")
    ] = DEFAULT_DOMAIN,
    output: OutputOpt = None,
    fmt: FormatOpt = None,
) -> None:
    """Follow one packet: verdict, DNAT targets with probabilities, masquerade, why, and the rules it hits.

    The reference evaluator says what Kubernetes semantics require; the interpreter runs the compiled
    ruleset text. A packet between pods on different nodes crosses both nodes' rulesets. Exit 1 when
    the two disagree.

    \b
    TARGET (--from, --to) is one of:
      ns/name       the pod or the Service called name in namespace ns
                    (when both exist, an error says which explicit forms to write)
      ns/kind/name  explicitly, with kubectl's kind names: ns/pod/web, ns/svc/web
                    (pod, pods, po; service, services, svc; any case)
                    or a workload, meaning the first of its pods by name: ns/deploy/web,
                    ns/sts/db (deployment, statefulset, daemonset, replicaset, job, cronjob;
                    deploy, sts, ds, rs, cj)
      name          default/name, as kubectl; or the Node name
      node:NAME     the Node NAME (its first address)
      ADDRESS       an IPv4 or IPv6 address: a pod, a node, a Service, or outside
      DNS NAME      (--to) web.shop, web.shop.svc.cluster.local, _http._tcp.web.shop.svc.cluster.local
                    (an SRV name: its port and protocol), resolved by cluster DNS from the
                    --from pod's search path, as netcompile dns --query answers it
    """
    if protocol is not None and protocol.upper() not in Protocol.__members__:
        fail(f"--protocol {protocol!r}: must be tcp, udp or sctp")
    try:
        check_domain(domain)
    except ValueError as exc:
        fail(str(exc))
    target, form = output_and_format(output, fmt, ("text", "json"), deprecated=("text", "json"))
    net = network(paths, compile_args)
    named: NameTarget | None = None
    try:
        if by_name(net, destination):
            dst, named = place_of_name(net, destination, source, domain, None)
        else:
            dst = net.resolve(destination)
        src = net.resolve(source, dst.address.version)
        if src.address.version != dst.address.version:
            if named is not None:
                dst, named = place_of_name(net, destination, source, domain, src.address.version)
            else:
                dst = net.resolve(destination, src.address.version)
    except EndpointError as exc:
        fail(str(exc))
    if named is not None and named.port is not None:
        if port is not None and port != named.port:
            fail(f"--port {port}: the SRV name --to {destination} gives port {named.port}")
        if protocol is not None and named.protocol is not None and protocol.upper() != named.protocol.value:
            fail(f"--protocol {protocol}: the SRV name --to {destination} gives {named.protocol.value.lower()}")
        port = named.port
        protocol = protocol or (named.protocol.value if named.protocol else None)
    if port is None:
        fail("--port PORT is required (or an SRV name --to _PORT._PROTO.SERVICE.NS..., which gives the port)")
    protocol = protocol or "tcp"
    if src.address.version != dst.address.version:  # two addresses given, one of each family
        fail(
            f"--from {source} is IPv{src.address.version} and --to {destination} is IPv{dst.address.version}: "
            "a packet has one IP family"
        )
    journey = net.journey(src, dst.address, port, Protocol[protocol.upper()])
    if form == "json":
        doc = {
            "packet": str(journey.packet),
            "from": src.label,
            "to": dst.label,
            "entry": journey.entry,
            "reference": distribution_json(journey.reference),
            "compiled": distribution_json(journey.compiled),
            "agree": journey.agrees,
            "name": name_json(named),
            "hops": [
                {
                    "node": hop.node,
                    "packet": str(hop.packet),
                    "reasons": hop.reference.reasons,
                    "path": hop.compiled.path if hop.compiled is not None else [],
                }
                for hop in journey.hops
            ],
        }
        emit(json.dumps(doc, indent=2), target)
    else:
        emit("\n".join(name_lines(named) + render_text(net, journey, src.label, dst.label)), target)
    if not journey.agrees:
        raise typer.Exit(FINDING)


# --- a DNS name as destination (issue 20) ------------------------------------------------------------


def by_name(net: Network, destination: str) -> bool:
    """--to is a DNS name: it looks like one and names no object of the input (a Node `a.example` stays a Node)."""
    if not looks_like_name(destination):
        return False
    try:
        resolve_target(destination, net.objects)
    except TargetError:
        return True
    return False


def place_of_name(
    net: Network, destination: str, source: str, domain: str, family: int | None
) -> tuple[Place, NameTarget]:
    """The place a DNS name leads to, resolved from the --from pod's search path (absolute without a pod):
    the first address of the answer, labelled with the name."""
    try:
        origin = resolve_target(source, net.objects)
    except TargetError:
        origin = None  # --from is checked next, with its own message
    pod = origin.obj if origin is not None and isinstance(origin.obj, Pod) else None
    try:
        named = resolve_name(net.objects, destination, pod, domain=domain, family=family)
    except UnresolvedName as exc:
        raise EndpointError(f"--to {exc}") from None
    place = net.place_of_address(named.addresses[0])
    return Place(place.address, f"{destination} = {place.label}", place.node, place.is_node), named


def name_lines(named: NameTarget | None) -> list[str]:
    """`name        web.shop -> web.shop.svc.cluster.local. A 10.96.0.5 (as pod shop/web-1 resolves it)`."""
    if named is None:
        return []
    answer = named.resolution.answer
    shown = ", ".join(f"{r.type} {r.data}" for r in (*answer.records, *answer.additional) if r.type != "SRV")
    srv = f" SRV port {named.port}/{named.protocol.value.lower() if named.protocol else '?'}" if named.port else ""
    origin = f" (as {named.resolution.source} resolves it)" if named.resolution.source else ""
    more = f"; {len(named.addresses)} addresses, the packet goes to the first" if len(named.addresses) > 1 else ""
    notes = [f"            note: {note}" for note in named.resolution.notes]
    return [f"name        {named.name} -> {answer.name}{srv} {shown}{origin}{more}", *notes]


def name_json(named: NameTarget | None) -> dict[str, Any] | None:
    if named is None:
        return None
    resolution = named.resolution
    return {
        "query": named.name,
        "fqdn": resolution.answer.name,
        "from": resolution.source or None,
        "tried": [{"name": a.name, "status": a.status} for a in resolution.tried],
        "addresses": [str(a) for a in named.addresses],
        "port": named.port,
        "protocol": named.protocol.value if named.protocol else None,
        "notes": list(resolution.notes),
    }
