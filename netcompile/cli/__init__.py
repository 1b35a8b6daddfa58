"""The command line: thin Typer verbs over the library, one module per verb.

Exit codes: 0 ok, 1 a finding (golden drift, disagreement), 2 bad input or usage. Messages go to stderr;
the compiled ruleset (or machine-readable output) to stdout or the `-o` file.
"""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer

from .. import __version__
from ..cluster import Cluster, ClusterError
from ..compiler import CompileOptions, Output, compile_cluster
from ..errors import InputError
from ..manifests import NODE_PORT_RANGE, ParseOptions, load
from ..model import Objects
from ..source import Limits
from ..validation import parse_cidr

app = typer.Typer(
    name="netcompile",
    help="Compile Kubernetes Services and NetworkPolicies into an nftables ruleset for one node.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

BAD_INPUT = 2
DEFAULT_LIMITS = Limits()
FINDING = 1


def fail(message: str, code: int = BAD_INPUT) -> NoReturn:
    typer.echo(f"netcompile: {message}", err=True)
    raise typer.Exit(code)


def _cidrs(values: list[str] | None, flag: str) -> tuple:  # type: ignore[type-arg]
    out = []
    for value in values or []:
        for part in value.split(","):
            net = parse_cidr(part.strip())
            if net is None:
                fail(f"{flag} {part!r}: must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")
            out.append(net)
    return tuple(out)


def _node_port_range(text: str) -> tuple[int, int]:
    low, sep, high = text.partition("-")
    if not sep or not low.isdigit() or not high.isdigit() or not 1 <= int(low) <= int(high) <= 65535:
        fail(f"--service-node-port-range {text!r}: must be LOW-HIGH, e.g. 30000-32767")
    return int(low), int(high)


# Options shared by every verb that reads manifests.
Paths = Annotated[list[str], typer.Argument(help="Manifest files or directories (recursive, sorted); - for stdin.")]
NodeOpt = Annotated[
    str | None, typer.Option("--node", help="Node the ruleset is for (implied when the input has one Node or none).")
]
ClusterCidrOpt = Annotated[
    list[str] | None,
    typer.Option("--cluster-cidr", help="Pod network(s); overrides the Nodes' podCIDRs. Repeat or comma-separate."),
]
NodePortAddrOpt = Annotated[
    list[str] | None,
    typer.Option("--nodeport-addresses", help="Accept NodePorts only on node addresses in these CIDRs."),
]
TableOpt = Annotated[str, typer.Option("--table", help="Name of netcompile's own nftables table (family inet).")]
NodePortRangeOpt = Annotated[
    str, typer.Option("--service-node-port-range", help="Valid nodePort range, as the API server's flag.")
]
MaxBytesOpt = Annotated[int, typer.Option("--max-file-bytes", help="Refuse input files larger than this.", min=1)]
MaxObjectsOpt = Annotated[int, typer.Option("--max-objects", help="Refuse input with more objects than this.", min=1)]
MaxAliasOpt = Annotated[
    int, typer.Option("--max-alias-nodes", help="Refuse YAML whose aliases expand to more nodes than this.", min=0)
]
MaxDepthOpt = Annotated[
    int, typer.Option("--max-depth", help="Refuse YAML nested deeper than this (511 at most).", min=1)
]


def options(
    node: str | None = None,
    cluster_cidr: list[str] | None = None,
    nodeport_addresses: list[str] | None = None,
    table: str = "netcompile",
) -> CompileOptions:
    """CompileOptions from command-line values; exit 2 on a malformed CIDR."""
    return CompileOptions(
        node=node,
        cluster_cidrs=_cidrs(cluster_cidr, "--cluster-cidr"),
        nodeport_addresses=_cidrs(nodeport_addresses, "--nodeport-addresses"),
        table=table,
    )


# The root command's options, set on every invocation before the verb runs.
_state: dict[str, Limits] = {"limits": DEFAULT_LIMITS}


def input_limits() -> Limits:
    """The limits given to the root command (`netcompile --max-objects N VERB ...`)."""
    return _state["limits"]


def load_input(
    paths: list[str],
    *,
    node_port_range: str = f"{NODE_PORT_RANGE[0]}-{NODE_PORT_RANGE[1]}",
    limits: Limits | None = None,
) -> Objects:
    """Read and validate manifests for any verb: exit 2 with every diagnostic on bad input."""
    limits = limits or input_limits()
    try:
        objects = load(paths, limits, ParseOptions(node_port_range=_node_port_range(node_port_range)))
    except InputError as exc:
        for diagnostic in exc.diagnostics:
            typer.echo(str(diagnostic), err=True)
        n = len(exc.diagnostics)
        fail(f"{n} error{'s' if n != 1 else ''} in the input; nothing was written")
    for notice in objects.notices:
        typer.echo(f"notice: {notice}", err=True)
    return objects


def run_compile(
    paths: list[str],
    *,
    node: str | None = None,
    cluster_cidr: list[str] | None = None,
    nodeport_addresses: list[str] | None = None,
    table: str = "netcompile",
    node_port_range: str = f"{NODE_PORT_RANGE[0]}-{NODE_PORT_RANGE[1]}",
    limits: Limits | None = None,
) -> tuple[Cluster, Output]:
    """The compile pipeline for every verb that compiles: exit 2 on bad input or usage."""
    opts = options(node, cluster_cidr, nodeport_addresses, table)
    objects = load_input(paths, node_port_range=node_port_range, limits=limits)
    try:
        cluster = Cluster(objects, opts.node, opts.cluster_cidrs)
    except ClusterError as exc:
        fail(str(exc))
    output = compile_cluster(cluster, opts)
    for notice in output.notices:
        typer.echo(f"notice: {notice}", err=True)
    return cluster, output


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"netcompile {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version.")
    ] = False,
    max_file_bytes: MaxBytesOpt = DEFAULT_LIMITS.max_file_bytes,
    max_objects: MaxObjectsOpt = DEFAULT_LIMITS.max_objects,
    max_alias_nodes: MaxAliasOpt = DEFAULT_LIMITS.max_alias_nodes,
    max_depth: MaxDepthOpt = DEFAULT_LIMITS.max_depth,
) -> None:
    """Compile Kubernetes Services and NetworkPolicies into an nftables ruleset for one node.

    Input is untrusted: the limits below bound what any verb reads (e.g. `netcompile --max-objects
    2000000 compile big/`).
    """
    _state["limits"] = Limits(max_file_bytes, max_objects, max_alias_nodes, max_depth)


def main() -> None:
    app()


# The verbs register themselves on `app` when imported.
from . import apply as _apply  # noqa: E402,F401
from . import compile as _compile  # noqa: E402,F401
from . import golden as _golden  # noqa: E402,F401
from . import lab as _lab  # noqa: E402,F401
from . import matrix as _matrix  # noqa: E402,F401
from . import trace as _trace  # noqa: E402,F401
