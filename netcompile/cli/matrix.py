"""`netcompile matrix`: who can reach whom on which ports, by both evaluators."""

from __future__ import annotations

import json
from ipaddress import ip_address
from typing import Annotated, Any

import typer

from ..journeys import EndpointError, Journey, Network, Place
from ..model import IPAddress, Pod, Protocol
from ..targets import Workloads
from . import (
    FINDING,
    CompileArgs,
    OutputOpt,
    Paths,
    emit,
    fail,
    network,
    number,
    output_and_format,
    with_compile_options,
)
from . import app as root
from .matrix_groups import Column, group
from .trace import distribution_json


def parse_ports(text: str | None) -> list[tuple[int, Protocol]] | None:
    """`80,81/udp,3868/sctp` → [(80, TCP), (81, UDP), (3868, SCTP)]."""
    if not text:
        return None
    out = []
    for item in text.split(","):
        digits, _, proto = item.strip().partition("/")
        port = number(digits)
        if port is None or not 1 <= port <= 65535 or proto.upper() not in ("", *Protocol.__members__):
            fail(f"--ports {item!r}: must be PORT or PORT/PROTOCOL, e.g. 80,53/udp")
        out.append((port, Protocol[proto.upper() or "TCP"]))
    return out


def parse_externals(values: list[str] | None) -> list[IPAddress]:
    out = []
    for text in values or []:
        try:
            out.append(ip_address(text))
        except ValueError:
            fail(f"--external {text!r}: must be an IP address")
    return out


def left_out_because(network: Network, pod: Pod) -> str | None:
    """Why the matrix has no row or column for `pod` (None: it has them)."""
    if pod.host_network:
        return "hostNetwork: it uses its node's addresses (probe the node: trace --from node:NAME)"
    if pod.phase in ("Succeeded", "Failed"):
        return f"completed (phase {pod.phase}): its containers no longer run"
    if not pod.running:
        return f"not running (phase {pod.phase or 'unknown'})"
    if not network.any_cluster.pod_ips(pod):
        return "no address (status.podIP is not set)"
    return None


def cell(journey: Journey) -> str:
    p = journey.delivered()
    mark = "ok" if p == 1 else "--" if p == 0 else str(p)
    return mark if journey.agrees else f"!{mark}"


def render_table(rows: list[str], columns: list[str], cells: dict[tuple[int, int], str]) -> list[str]:
    width = max((len(r) for r in rows), default=4) + 2
    cw = max([4, *(len(c) + 1 for c in cells.values())])
    out = [" " * width + "".join(f"{i + 1:>{cw}}" for i in range(len(columns)))]
    for r, row in enumerate(rows):
        out.append(f"{row:<{width}}" + "".join(f"{cells[(r, c)]:>{cw}}" for c in range(len(columns))))
    out.append("")
    out += [f"{i + 1:>3} = {c}" for i, c in enumerate(columns)]
    out.append(
        "ok: delivered; --: dropped or rejected; 1/2: delivered with that probability; .: a pod to itself "
        "(never crosses the node); !: the compiled ruleset disagrees with the reference"
    )
    if "n/a" in cells.values():
        out.append("n/a: the pod has no address of the source's IP family")
    return out


def render_markdown(rows: list[str], columns: list[str], cells: dict[tuple[int, int], str]) -> list[str]:
    out = ["| from \\ to | " + " | ".join(f"`{c}`" for c in columns) + " |"]
    out.append("|---|" + "---|" * len(columns))
    for r, row in enumerate(rows):
        marks = [cells[(r, c)].replace("!", "**!**") for c in range(len(columns))]
        out.append(f"| `{row}` | " + " | ".join(marks) + " |")
    return out


@root.command("matrix")
@with_compile_options
def matrix_cmd(
    paths: Paths,
    compile_args: CompileArgs,
    ports: Annotated[
        str | None,
        typer.Option(
            "--ports", metavar="PORTS", help="Ports to probe on every pod, e.g. 80,53/udp (default: declared)."
        ),
    ] = None,
    external: Annotated[
        list[str] | None,
        typer.Option("--external", metavar="ADDRESS", help="Also an outside client at this address (repeat)."),
    ] = None,
    by_pod: Annotated[
        bool,
        typer.Option("--pods", help="A row and a column per pod (default: one per workload whose pods behave alike)."),
    ] = False,
    output: OutputOpt = None,
    fmt: Annotated[
        str | None, typer.Option("--format", metavar="NAME", help="text (default: a table), markdown or json.")
    ] = None,
) -> None:
    """The reachability matrix between all running pods (and outside clients), on their ports.

    The pods of a workload that behave alike (the same cell to and from everything else) are one row and
    one column per port, labelled `ns/kind/name (N pods)`; a workload whose pods differ is shown pod by
    pod (and named on stderr). --pods shows every pod.

    Every cell is computed by the reference evaluator and by the interpreter of the compiled rulesets
    (each node's: a connection between nodes crosses both); a cell where they disagree is marked `!`
    and the exit code is 1.
    """
    target, form = output_and_format(
        output, fmt, ("text", "markdown", "json"), deprecated=("table", "markdown", "json"), aliases={"table": "text"}
    )
    wanted = parse_ports(ports)
    externals = parse_externals(external)
    net = network(paths, compile_args)
    objects = net.objects
    pods: list[Pod] = []
    left_out: list[dict[str, str]] = []
    for pod in sorted(objects.pods, key=lambda p: p.meta.key):
        reason = left_out_because(net, pod)
        if reason is None:
            pods.append(pod)
        else:
            left_out.append({"pod": pod.meta.key, "reason": reason})
            typer.echo(f"notice: matrix leaves out pod {pod.meta.key}: {reason}", err=True)
    families = {a.version for p in pods for a in net.any_cluster.pod_ips(p)}
    sources: list[Place] = [net.place_of_pod(p) for p in pods]
    for address in externals:
        if pods and address.version not in families:
            fail(f"--external {address}: no pod of the matrix has an IPv{address.version} address to reach")
        sources.append(Place(address, f"external {address}", None))
    columns = [
        Column(pod, port, protocol)
        for pod in pods
        for port, protocol in (wanted or sorted({(c.port, c.protocol) for c in pod.ports}))
    ]
    cells: dict[tuple[int, int], str] = {}
    records: list[dict[str, Any]] = []
    disagreements = 0
    for r, src in enumerate(sources):
        for c, col in enumerate(columns):
            try:
                dst = net.place_of_pod(col.pod, src.address.version)
            except EndpointError:  # a single-stack pod, from a source of the other family
                cells[(r, c)] = "n/a"
                continue
            if dst.address == src.address:
                cells[(r, c)] = "."  # a pod's traffic to itself stays inside the pod: no node, no ruleset
                continue
            journey = net.journey(src, dst.address, col.port, col.protocol)
            cells[(r, c)] = cell(journey)
            disagreements += not journey.agrees
            records.append(
                {
                    "from": src.label,
                    "to": col.label,
                    "delivered": str(journey.delivered()),
                    "agree": journey.agrees,
                    "reference": distribution_json(journey.reference),
                    "compiled": distribution_json(journey.compiled),
                }
            )
    workloads = Workloads(objects)
    outsiders = [s.label for s in sources[len(pods) :]]
    by_workload = group(pods, outsiders, columns, cells, workloads.label, by_pod=False)
    shown = group(pods, outsiders, columns, cells, workloads.label, by_pod=True) if by_pod else by_workload
    for name in [] if by_pod else by_workload.split:
        typer.echo(f"notice: matrix shows {name} pod by pod: its pods do not behave alike", err=True)
    if form == "json":  # the cells pod by pod, and which workloads' pods behave alike
        groups = [
            {"workload": g.workload, "pods": [pods[i].meta.key for i in g.pods], "alike": True}
            for g in by_workload.groups
            if g.workload is not None
        ]
        groups += [
            {"workload": name, "pods": [p.meta.key for p in pods if workloads.label(p) == name], "alike": False}
            for name in by_workload.split
        ]
        doc = {"cells": records, "disagreements": disagreements, "left_out": left_out, "workloads": groups}
        emit(json.dumps(doc, indent=2), target)
    elif form == "markdown":
        emit("\n".join(render_markdown(shown.rows, shown.columns, shown.cells)), target)
    else:
        emit("\n".join(render_table(shown.rows, shown.columns, shown.cells)), target)
    if disagreements:
        typer.echo(
            f"netcompile: {disagreements} cells where the compiled ruleset disagrees with the reference", err=True
        )
        raise typer.Exit(FINDING)
