"""`netcompile trace`: one packet, explained by the reference and by the compiled ruleset."""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Annotated, Any

import typer

from ..journeys import EndpointError, Journey, Network
from ..model import Protocol
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

FormatOpt = Annotated[str | None, typer.Option("--format", metavar="NAME", help="text (default) or json.")]


def result_json(result: Result, probability: Fraction) -> dict[str, Any]:
    return {
        "verdict": result.verdict.value,
        "destination": str(result.dst) if result.dst is not None else None,
        "port": result.dport,
        "masquerade": result.masquerade,
        "probability": str(probability),
    }


def distribution_json(dist: dict[Result, Fraction]) -> list[dict[str, Any]]:
    items = sorted(dist.items(), key=lambda kv: (-kv[1], kv[0].sort_key()))
    return [result_json(r, p) for r, p in items]


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
        typer.Option("--to", metavar="TARGET", help="Destination: ns/name, ns/kind/name, name, node:NAME, address."),
    ],
    port: Annotated[int, typer.Option("--port", metavar="PORT", min=1, max=65535, help="Destination port.")],
    protocol: Annotated[str, typer.Option("--protocol", metavar="PROTO", help="tcp, udp or sctp.")] = "tcp",
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
    """
    if protocol.upper() not in Protocol.__members__:
        fail(f"--protocol {protocol!r}: must be tcp, udp or sctp")
    target, form = output_and_format(output, fmt, ("text", "json"), deprecated=("text", "json"))
    net = network(paths, compile_args)
    try:
        dst = net.resolve(destination)
        src = net.resolve(source, dst.address.version)
        if src.address.version != dst.address.version:
            dst = net.resolve(destination, src.address.version)
    except EndpointError as exc:
        fail(str(exc))
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
        emit("\n".join(render_text(net, journey, src.label, dst.label)), target)
    if not journey.agrees:
        raise typer.Exit(FINDING)
