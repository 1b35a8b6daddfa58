"""The command line: thin Typer verbs over the library, one module per verb.

Exit codes: 0 ok, 1 a finding (golden drift, disagreement), 2 bad input or usage. Messages go to stderr;
the compiled ruleset (or machine-readable output) to stdout or the `-o` file.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from .. import __version__
from ..atomic import write_atomically
from ..errors import InputError
from ..gcpause import paused_gc
from ..journeys import EndpointError, Network
from ..load.references import dangling_references
from ..load.source import Limits
from ..model import Objects
from ..pipeline import (
    ClusterError,
    Compiled,
    CompileOptions,
    OptionError,
    ParseOptions,
    compile_node,
    compile_nodes,
    complete,
    load,
    node_clusters,
)
from ..pipeline import (
    CompileArgs as CompileArgs,  # the verbs take it from here
)
from ..pipeline import (
    number as number,
)
from .options import (  # the verbs take them from here
    COMPILE_OPTIONS as COMPILE_OPTIONS,
)
from .options import (
    StrictOpt as StrictOpt,
)
from .options import (
    TableOpt as TableOpt,
)
from .options import (
    ValidateOpt as ValidateOpt,
)
from .options import (
    with_compile_options as with_compile_options,
)

INTERNAL_ERROR = 70  # sysexits' EX_SOFTWARE: a bug in netcompile, not in the input (2) nor a finding (1)


class _Verbs(typer.core.TyperGroup):
    """The root command: an exception that escapes a verb is a bug in netcompile. It exits with
    INTERNAL_ERROR and says so in one line; the traceback goes to a file (or to stderr with
    NETCOMPILE_TRACEBACK=1), never into the user's terminal unasked."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The verb `cmd_name`, its module imported now if it was not yet (VERBS)."""
        if cmd_name not in self.commands and cmd_name in VERBS:
            with paused_gc():  # long-lived classes and functions (library use; console.main has it off)
                importlib.import_module(f"{__name__}.{VERBS[cmd_name]}")
            for info in app.registered_commands:
                if info.name == cmd_name:
                    self.commands[cmd_name] = typer.main.get_command_from_info(
                        info, pretty_exceptions_short=app.pretty_exceptions_short, rich_markup_mode=app.rich_markup_mode
                    )
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: Any) -> list[str]:
        return [name for name in dict.fromkeys([*VERBS, *self.commands]) if self.get_command(ctx, name) is not None]

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click.Context
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):  # exits, and usage errors (exit 2)
            raise
        except BrokenPipeError:  # the output's reader went away (`| head`): not a bug; the exit status
            raise typer.Exit(BROKEN_PIPE) from None  # of Python's own exit when its output cannot be flushed
        except Exception as exc:  # every other exception is a bug, reported as one
            report_internal_error(exc)
            raise typer.Exit(INTERNAL_ERROR) from None


def report_internal_error(exc: BaseException) -> None:
    details = "".join(traceback.format_exception(exc))
    if os.environ.get("NETCOMPILE_TRACEBACK"):
        typer.echo(details, err=True, nl=False)
        where = "the traceback is above"
    else:
        fd, path = tempfile.mkstemp(prefix="netcompile-internal-error-", suffix=".txt")
        with os.fdopen(fd, "w") as f:
            f.write(f"netcompile {__version__}: {' '.join(sys.argv)}\n{details}")
        where = f"the traceback is in {path}"
    typer.echo(
        f"netcompile: internal error: {type(exc).__name__}: {exc}\n"
        f"netcompile: this is a bug in netcompile {__version__}, not in your input: please report it on "
        f"netcompile's issue tracker with the command line and the input; {where}",
        err=True,
    )


app = typer.Typer(
    name="netcompile",
    cls=_Verbs,
    help="Compile Kubernetes Services and NetworkPolicies into an nftables ruleset for one node.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

BAD_INPUT = 2
BROKEN_PIPE = 120  # what Python's own exit returns when stdout cannot be flushed (main does the same)
DEFAULT_LIMITS = Limits()
FINDING = 1


def fail(message: str, code: int = BAD_INPUT) -> NoReturn:
    typer.echo(f"netcompile: {message}", err=True)
    raise typer.Exit(code)


# One convention for every verb: `-o/--output FILE` writes a file (atomically, creating folders), `--format
# NAME` chooses the format. Until 0.2, `--output` named the format of trace, matrix and lab: those names
# keep working there for one release, with a notice (a file of such a name can be written as `./json`).
OutputOpt = Annotated[
    str | None,
    typer.Option(
        "-o", "--output", metavar="FILE", help="Write the result to FILE (atomically, creating folders), not stdout."
    ),
]
OLD_OUTPUT_FORMATS = ("text", "table", "markdown", "json")


def output_and_format(
    output: str | None,
    fmt: str | None,
    formats: Sequence[str],
    *,
    deprecated: Sequence[str] = (),
    aliases: Mapping[str, str] | None = None,
) -> tuple[Path | None, str]:
    """The file to write (None: stdout) and the format, from --output and --format: exit 2 on a format not
    in `formats` (the first is the default). `deprecated` are the format names that --output used to take
    for this verb; given alone as --output, they still choose the format, with a notice. `aliases`: old
    names of formats (`table` for `text`)."""
    if output is not None and output in deprecated and fmt is None:
        typer.echo(
            f"netcompile: --output {output} is deprecated: write --format {output} (--output now names the file to "
            f"write; it will stop taking format names in 0.3)",
            err=True,
        )
        fmt, output = output, None
    fmt = formats[0] if fmt is None else (aliases or {}).get(fmt, fmt)
    if fmt not in formats:
        fail(f'--format: Unsupported value: "{fmt}": supported values: ' + ", ".join(f'"{f}"' for f in formats))
    if output == "-":
        return None, fmt
    return (Path(output) if output is not None else None), fmt


def emit(text: str, output: Path | None) -> None:
    """Write a verb's result: to stdout, or atomically to `output` (creating its folders); exit 2 if it cannot."""
    if not text.endswith("\n"):
        text += "\n"
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        write_atomically(output, text)
    except (FileExistsError, NotADirectoryError) as exc:  # from creating the folders on the way
        fail(f"cannot write {output}: {exc.filename} is in the way: it is a file, where a folder is needed")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))


# Options shared by every verb that reads manifests.
Paths = Annotated[
    list[str],
    typer.Argument(metavar="PATH...", help="Manifest files or directories (recursive, sorted); - for stdin."),
]
LIMIT_MAX = 2**62  # more than any machine holds; a larger N would not fit the integers the readers take
FILE_BYTES_MAX = 2**32  # the reader asks for N + 1 bytes at once (a MemoryError past what the machine has)
MaxBytesOpt = Annotated[
    int,
    typer.Option(
        "--max-file-bytes",
        metavar="N",
        help="Refuse input files larger than this (4 GiB at most).",
        min=1,
        max=FILE_BYTES_MAX,
    ),
]
MaxObjectsOpt = Annotated[
    int,
    typer.Option("--max-objects", metavar="N", help="Refuse input with more objects than this.", min=1, max=LIMIT_MAX),
]
MaxAliasOpt = Annotated[
    int,
    typer.Option(
        "--max-alias-nodes",
        metavar="N",
        help="Refuse YAML whose aliases expand to more nodes than this.",
        min=0,
        max=LIMIT_MAX,
    ),
]
MaxDepthOpt = Annotated[
    int,
    typer.Option(
        "--max-depth", metavar="N", help="Refuse YAML nested deeper than this (511 at most).", min=1, max=LIMIT_MAX
    ),
]


# The root command's options, set on every invocation before the verb runs.
_state: dict[str, Limits] = {"limits": DEFAULT_LIMITS}
_root_flags: dict[str, bool] = {"strict": False}  # `netcompile --strict VERB`: for every verb that reads input


def input_limits() -> Limits:
    """The limits given to the root command (`netcompile --max-objects N VERB ...`)."""
    return _state["limits"]


# --- the compile options: the same on every verb that reads manifests (pipeline.CompileArgs, cli/options.py)


def checked(args: CompileArgs) -> tuple[CompileOptions, ParseOptions]:
    """The library's options from the words given (`CompileArgs.check`); exit 2 on a malformed one."""
    try:
        return args.check()
    except OptionError as exc:
        fail(str(exc))


def resolved(args: CompileArgs, objects: Objects) -> CompileOptions:
    """The compile options for `objects`: the words given, over kube-proxy's configuration when the input
    (or --proxy-config) has one; exit 2 on a malformed one."""
    try:
        return args.compile_options(objects.proxy_config)
    except OptionError as exc:
        fail(str(exc))


def load_input(paths: list[str], args: CompileArgs | None = None, *, limits: Limits | None = None) -> Objects:
    """Read and validate manifests for any verb (`pipeline.load`): exit 2 with every diagnostic on bad
    input. Dangling references are warnings, or errors (exit 2) with --strict (the verb's or the root's).
    --validate says what unknown fields are (kubectl's: strict, warn or ignore; true and false as kubectl's).
    The objects as read: `pipeline.complete` adds what the cluster would."""
    args = args or CompileArgs()
    limits = limits or input_limits()
    _, parse = checked(args)
    try:
        objects = load(paths, limits, parse, args.proxy_config)
    except InputError as exc:
        report_errors(exc)
    echo_notices(objects)
    report_references(objects, strict=args.strict or _root_flags["strict"])
    return objects


def echo_notices(objects: Objects) -> None:
    """The input's notices and warnings (--validate=warn), on stderr."""
    for notice in objects.notices:
        typer.echo(f"notice: {notice}", err=True)
    for warning in objects.warnings:
        typer.echo(f"warning: {warning}", err=True)


def report_errors(exc: InputError) -> NoReturn:
    """Every diagnostic of bad input, then exit 2."""
    for diagnostic in exc.diagnostics:
        typer.echo(str(diagnostic), err=True)
    n = len(exc.diagnostics)
    fail(f"{n} error{'s' if n != 1 else ''} in the input; nothing was written")


def report_references(objects: Objects, *, strict: bool) -> None:
    """References that resolve to nothing (netcompile/load/references.py), each once at its field: warnings on
    stderr, the exit code unchanged; with `strict`, errors: exit 2, nothing written."""
    found = dangling_references(objects)
    if not found:
        return
    for diagnostic in found:
        typer.echo(str(diagnostic) if strict else f"warning: {diagnostic}", err=True)
    if strict:
        n = len(found)
        fail(f"{n} dangling reference{'s' if n != 1 else ''} in the input (--strict); nothing was written")


def completed_input(paths: list[str], args: CompileArgs, *, limits: Limits | None = None) -> Objects:
    """The pipeline's first two phases for a verb: the options checked, the input loaded and reported
    (`load_input`), then completed (`pipeline.complete`, once, with the simulated cluster's options),
    completion's notices on stderr, each once; exit 2 on bad input or usage."""
    try:
        options = args.complete_options()
    except OptionError as exc:
        fail(str(exc))
    loaded = load_input(paths, args, limits=limits)
    try:
        completed = complete(loaded, options)
    except InputError as exc:  # what the API server would refuse (a clusterIP outside --service-cidr)
        report_errors(exc)
    for notice in completed.notices[len(loaded.notices) :]:
        typer.echo(f"notice: {notice}", err=True)
    if args.cluster_cidr:  # the simulated pods on Nodes of the input: inside the pod network the compiler sees?
        networks, given = checked(args)[0].cluster_cidrs, {p.meta.key for p in loaded.pods if p.ips}
        outside = [
            p.meta.key
            for p in completed.pods
            if p.meta.key not in given and not p.host_network and any(all(a not in n for n in networks) for a in p.ips)
        ]
        if outside:
            typer.echo(
                f"notice: {len(outside)} simulated pods have addresses outside --cluster-cidr (their Node's podCIDR): "
                f"their traffic counts as external ({', '.join(outside[:3])}{', ...' if len(outside) > 3 else ''})",
                err=True,
            )
    return completed


def run_compile(paths: list[str], args: CompileArgs, *, limits: Limits | None = None) -> Compiled:
    """The pipeline for one node (load, complete, compile), for every verb that compiles: the notices on
    stderr; exit 2 on bad input or usage."""
    completed = completed_input(paths, args, limits=limits)
    opts = resolved(args, completed)
    try:
        compiled = compile_node(completed, opts)
    except ClusterError as exc:
        fail(str(exc))
    for notice in compiled.output.notices:
        typer.echo(f"notice: {notice}", err=True)
    return compiled


def network(paths: list[str], args: CompileArgs, *, limits: Limits | None = None, compiled: bool = True) -> Network:
    """Every node's compiled ruleset (the pipeline for every node), for the verbs that follow packets
    across nodes (trace, matrix): the same options, input and checks as `run_compile`; exit 2 on bad
    input or usage. `compiled=False`: every node indexed, compiled when first needed (by the Network's
    helper process, when one runs); the caller prints `Network.compiler_notices()`."""
    completed = completed_input(paths, args, limits=limits)
    opts = resolved(args, completed)
    try:
        nodes = compile_nodes(completed, opts) if compiled else node_clusters(completed, opts)
        net = Network(nodes, opts)
    except (EndpointError, ClusterError) as exc:
        fail(str(exc))
    if compiled:
        echo_compiler_notices(net)
    return net


def echo_compiler_notices(net: Network) -> None:
    """The compiler's notices (Services without DNAT, frontend collisions), as compile prints them."""
    for notice in net.compiler_notices():
        typer.echo(f"notice: {notice}", err=True)


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
    strict: Annotated[
        bool, typer.Option("--strict", help="Dangling references are errors, for every verb (as VERB --strict).")
    ] = False,
) -> None:
    """Compile Kubernetes Services and NetworkPolicies into an nftables ruleset for one node.

    Input is untrusted: the limits below bound what any verb reads (e.g. `netcompile --max-objects
    2000000 compile big/`).
    """
    _state["limits"] = Limits(max_file_bytes, max_objects, max_alias_nodes, max_depth)
    _root_flags["strict"] = strict


def main() -> None:
    """The console script: the verb, then the process ends at once (`os._exit`) once its output is
    flushed. Python's own exit would free every object of the run one by one first: 0.06-0.1 s after
    `matrix` or `diff` of 1 000 pods. Every verb has closed (and renamed into place) what it wrote by
    then; only stdout and stderr are left to flush."""
    code = 0
    try:
        app()
    except SystemExit as exc:
        if isinstance(exc.code, str):
            sys.stderr.write(exc.code + "\n")
            code = 1
        else:
            code = exc.code or 0
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # e.g. `| head` closed the pipe: as Python's own exit says it
            code = code or BROKEN_PIPE
    os._exit(code)


# The verbs register themselves on `app` when their module is imported: each when it is asked for (`_Verbs`),
# so that one verb does not pay for importing every other's libraries; all of them for --help.
VERBS = {  # verb: its module in this package, in the order --help lists them
    "apply": "apply",
    "delete": "apply",
    "compile": "compile",
    "check": "compile",
    "diff": "diff",
    "dns": "dns",
    "env": "env",
    "explain": "explain",
    "get": "get",
    "golden": "golden",
    "lab": "lab",
    "lint": "lint",
    "matrix": "matrix",
    "trace": "trace",
}
