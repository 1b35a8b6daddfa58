"""`netcompile lab`: build a test machine from namespaces, apply the rulesets, send real packets, compare."""

from __future__ import annotations

import json
from ipaddress import ip_address
from pathlib import Path
from typing import Annotated

import typer

from ..host.iptables import IptablesError, IptablesUnavailable
from ..host.nftlib import NftRejected, NftUnavailable
from ..lab import LabOptions, run_lab
from ..lab.backend import Backend
from ..lab.plan import PlanError
from ..lab.probes import ExpectError
from ..lab.run import format_table, skipped_lines, stderr_progress, summary
from ..lab.servers import ServerError
from ..lab.topology import TopologyError
from ..model import IPAddress, Objects
from ..pipeline import ClusterError
from . import (
    FINDING,
    CompileArgs,
    OutputOpt,
    Paths,
    app,
    checked,
    completed_input,
    emit,
    fail,
    output_and_format,
    resolved,
    with_compile_options,
)
from .options import BackendOpt, VariantOpt


def _clients(values: list[str] | None) -> list[IPAddress]:
    out = []
    for value in values or []:
        try:
            out.append(ip_address(value))
        except ValueError:
            fail(f"--client {value!r}: must be an IPv4 or IPv6 address")
    return out


def _rulesets(values: list[str] | None, objects: Objects) -> dict[str, str]:
    out: dict[str, str] = {}
    nodes = sorted(n.meta.name for n in objects.nodes) or ["node"]
    for value in values or []:
        node, sep, path = value.partition("=")
        if not sep:
            if len(nodes) != 1:
                fail(f"--ruleset {value}: the input has {len(nodes)} nodes; write NODE=FILE ({', '.join(nodes)})")
            node, path = nodes[0], value
        try:
            out[node] = Path(path).read_text()
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"--ruleset {value}: cannot read {path}: {exc}")
    return out


@app.command("lab")
@with_compile_options
def lab_cmd(
    paths: Paths,
    compile_args: CompileArgs,
    expect: Annotated[
        Path | None,
        typer.Option("--expect", metavar="FILE", help="YAML list of expectations to probe instead of the full matrix."),
    ] = None,
    client: Annotated[
        list[str] | None,
        typer.Option("--client", metavar="ADDRESS", help="An outside client address to attach to the LAN (repeat)."),
    ] = None,
    keep: Annotated[bool, typer.Option("--keep", help="Leave the namespaces in place for inspection.")] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", metavar="SECONDS", help="Seconds each probe waits for an answer.")
    ] = 1.0,
    repeat: Annotated[
        int,
        typer.Option("--repeat", metavar="N", help="Rounds of probes, one after another (checks session affinity)."),
    ] = 1,
    output: OutputOpt = None,
    fmt: Annotated[
        str | None, typer.Option("--format", metavar="NAME", help="text (default: a table) or json.")
    ] = None,
    ruleset: Annotated[
        list[str] | None,
        typer.Option(
            "--ruleset",
            metavar="[NODE=]FILE",
            help="Apply this script on the node instead of the compiled ruleset (e.g. a hand-edited one).",
        ),
    ] = None,
    allow_skips: Annotated[
        bool,
        typer.Option(
            "--allow-skips",
            help="Exit 0 even if some probes were skipped (not checked); they are still listed.",
        ),
    ] = False,
    backend: BackendOpt = "nftables",
    variant: VariantOpt = None,
) -> None:
    """Build the cluster from network namespaces, apply each node's ruleset, probe it with real packets.

    One namespace per Node (one if there are none), one per Running pod (hostNetwork pods on their node),
    a LAN joining the nodes, outside clients (--client, and addresses in the expectations). Servers in
    every pod answer on every declared TCP/UDP port with the pod's name and the source they saw. Every
    observation is compared with the reference evaluator (and with --expect). Everything is removed at
    the end, also on Ctrl-C, unless --keep. Exit 0 when everything agrees, 1 on any mismatch or on any
    skipped probe (listed on stderr; --allow-skips accepts them).

    With --backend iptables the nodes run the iptables back end's rules (ipset and iptables-restore, with
    --iptables nft or legacy), and the same probes are compared with the same reference.
    """
    try:
        lab_backend = Backend(backend, variant)
    except ValueError as exc:
        fail(f"--backend/--iptables: {exc}")
    target, form = output_and_format(
        output, fmt, ("text", "json"), deprecated=("table", "json"), aliases={"table": "text"}
    )
    if not 1 <= repeat <= 100:
        fail("--repeat must be between 1 and 100")
    if not 0.05 <= timeout <= 30:
        fail("--timeout must be between 0.05 and 30 seconds")
    clients = _clients(client)
    checked(compile_args)
    objects = completed_input(paths, compile_args)  # the Nodes the lab builds include those completion adds
    compile_options = resolved(compile_args, objects)
    names = {n.meta.name for n in objects.nodes}
    if compile_options.node is not None and names and compile_options.node not in names:
        fail(f"--node {compile_options.node}: no such Node in the input (the lab builds every Node)")
    rulesets = _rulesets(ruleset, objects)
    options = LabOptions(
        clients=clients,
        rulesets=rulesets,
        expect_file=expect,
        keep=keep,
        timeout=timeout,
        repeat=repeat,
        compile=compile_options,
        backend=lab_backend,
        progress=stderr_progress,
        log=lambda line: typer.echo(line, err=True),
    )
    try:
        report = run_lab(objects, options, completed=True)
    except (PlanError, ExpectError, ClusterError) as exc:
        fail(str(exc))
    except NftUnavailable as exc:
        fail(str(exc))
    except (TopologyError, ServerError) as exc:
        fail(f"cannot build the lab: {exc}")
    except (NftRejected, IptablesError) as exc:
        typer.echo(str(exc), err=True)
        given = " (a compiler bug: please report it)" if not rulesets else ""
        tool = "libnftables" if isinstance(exc, NftRejected) else "iptables-restore or ipset"
        fail(f"{tool} rejected a node's ruleset{given}; the lab was torn down")
    except IptablesUnavailable as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted; the lab was torn down", 130)
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)
    if form == "json":
        emit(json.dumps(report.to_json(), indent=2), target)
    else:
        emit("\n".join(format_table(report)), target)
    if report.kept:
        typer.echo(f"kept: {' '.join(report.namespaces)}", err=True)
        typer.echo(f"remove with: {'; '.join(f'ip netns delete {ns}' for ns in report.namespaces)}", err=True)
    for line in skipped_lines(report, allow_skips):
        typer.echo(line, err=True)
    typer.echo(summary(report), err=True)
    if not report.passed(allow_skips):
        raise typer.Exit(FINDING)
