"""`netcompile compile` and `netcompile check`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..atomic import write_atomically
from ..nftlib import NftRejected, NftUnavailable, check
from . import (
    ClusterCidrOpt,
    NodeOpt,
    NodePortAddrOpt,
    NodePortRangeOpt,
    Paths,
    TableOpt,
    app,
    fail,
    run_compile,
)


@app.command("compile")
def compile_cmd(
    paths: Paths,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here (atomically) instead of stdout.")
    ] = None,
    node: NodeOpt = None,
    cluster_cidr: ClusterCidrOpt = None,
    nodeport_addresses: NodePortAddrOpt = None,
    table: TableOpt = "netcompile",
    service_node_port_range: NodePortRangeOpt = "30000-32767",
) -> None:
    """Compile manifests into an nftables script for one node.

    Reads Namespaces, Nodes, Pods, Services, EndpointSlices, Endpoints and NetworkPolicies (also inside a
    `kind: List`); other kinds are skipped with a notice. Every input error is reported at once, as
    file:line:col, and nothing is written (exit 2). Loading the script with `nft -f` replaces
    netcompile's own table in one transaction and touches no other table.
    """
    _, result = run_compile(
        paths,
        node=node,
        cluster_cidr=cluster_cidr,
        nodeport_addresses=nodeport_addresses,
        table=table,
        node_port_range=service_node_port_range,
    )
    if output is None:
        sys.stdout.write(result.text)
        sys.stdout.flush()
    else:
        try:
            write_atomically(output, result.text)
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror}")


@app.command("check")
def check_cmd(
    file: Annotated[str, typer.Argument(help="An nftables script (e.g. from `netcompile compile`); - for stdin.")],
) -> None:
    """Validate a script with libnftables, without changing anything on this host.

    A libnftables dry run (like `nft -c -f FILE`), then a real load in a throwaway network namespace,
    which also catches what the kernel checks only on commit (jump loops, NAT in a filter chain).
    Needs the python3-nftables binding and root. Exit 0 when the script loads, 2 otherwise with
    libnftables' message and the offending line.
    """
    try:
        script = sys.stdin.read() if file == "-" else Path(file).read_text()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    except UnicodeDecodeError:
        fail(f"{file}: not UTF-8 text")
    try:
        check(script, "<stdin>" if file == "-" else file)
    except NftUnavailable as exc:
        fail(str(exc))
    except NftRejected as exc:
        typer.echo(str(exc), err=True)
        fail(f"{file}: libnftables rejected the script")
    typer.echo(f"{file}: libnftables accepts the script (dry run, and a load in a scratch network namespace)", err=True)
