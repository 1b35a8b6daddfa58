"""`netcompile lint`: findings a reviewer wants flagged (netcompile/lint/), each at its field, with its check.

Exit 0 without findings, 1 with findings, 2 on bad input or usage. Dangling references are findings
here (checks selects-nothing, undeclared-port, dangling-reference), so they are not also printed as
warnings.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ..errors import InputError
from ..gcpause import paused_gc
from ..lint import CHECKS, Finding, ScopeArgs, lint
from ..model import Objects
from ..pipeline import OptionError, complete, load
from . import (
    FINDING,
    CompileArgs,
    OutputOpt,
    checked,
    echo_notices,
    emit,
    fail,
    input_limits,
    output_and_format,
    report_errors,
    resolved,
    with_compile_options,
)
from . import app as root

NO_ARGS = CompileArgs()  # with_compile_options passes the options given
FormatOpt = Annotated[str | None, typer.Option("--format", metavar="NAME", help="text (default) or json.")]


@root.command("lint")
@with_compile_options
def lint_cmd(
    paths: Annotated[
        list[str] | None,
        typer.Argument(metavar="PATH...", help="Manifest files or directories (recursive, sorted); - for stdin."),
    ] = None,
    compile_args: CompileArgs = NO_ARGS,
    disable: Annotated[
        list[str] | None,
        typer.Option("--disable", metavar="CHECK", help="Skip this check (repeat; see --list-checks)."),
    ] = None,
    list_checks: Annotated[bool, typer.Option("--list-checks", help="List the checks and exit.")] = False,
    output: OutputOpt = None,
    fmt: FormatOpt = None,
) -> None:
    """Findings a reviewer wants flagged: selectors that select nothing, undeclared ports, policies that allow
    everything, pods without DNS, Ingress backends the controller cannot reach, ipBlocks over the pod network,
    excepts admitted again, names that lead nowhere, environment variables that clash.

    Each finding is `file:line:col: Kind "ns/name": field.path: message [check]`, by file, line and column.
    Exit 0 when there is none, 1 when there are findings, 2 on bad input or usage.
    """
    target, form = output_and_format(output, fmt, ("text", "json"))
    if list_checks:
        if form == "json":
            emit(json.dumps([{"check": name, "finds": text} for name, text in CHECKS.items()], indent=2), target)
        else:
            width = max(len(name) for name in CHECKS)
            emit("\n".join(f"{name:<{width}}  {text}" for name, text in CHECKS.items()), target)
        return
    if not paths:
        fail("lint: give PATH... (manifest files or directories; - for stdin)")
    disabled = tuple(disable or ())
    unknown = [name for name in disabled if name not in CHECKS]
    if unknown:
        fail(f'--disable: Unsupported value: "{unknown[0]}": supported values: ' + ", ".join(f'"{c}"' for c in CHECKS))
    with paused_gc():  # many small acyclic containers (see gcpause.paused_gc), as matrix
        _, found = linted(paths, compile_args, disabled)
    if form == "json":
        emit(json.dumps({"findings": [f.as_json() for f in found], "count": len(found)}, indent=2), target)
    elif found or target is not None:
        emit("\n".join(str(f) for f in found), target)
    if found:
        n = len(found)
        typer.echo(f"netcompile: {n} finding{'s' if n != 1 else ''}", err=True)
        raise typer.Exit(FINDING)


def linted(
    paths: list[str], compile_args: CompileArgs, disabled: tuple[str, ...] = ()
) -> tuple[Objects, list[Finding]]:
    """The input read and completed as every verb's (cli.completed_input, but dangling references are
    findings here, not warnings), and its findings; exit 2 on bad input."""
    _, parse = checked(compile_args)
    try:
        options = compile_args.complete_options()
    except OptionError as exc:
        fail(str(exc))
    try:
        loaded = load(paths, input_limits(), parse, compile_args.proxy_config)
        completed = complete(loaded, options)
    except InputError as exc:
        report_errors(exc)
    echo_notices(completed)
    opts = resolved(compile_args, completed)
    scope = ScopeArgs(opts.cluster_cidrs, opts.detect_local_mode, opts.masquerade_all, opts.nodeport_primary)
    return completed, lint(loaded, completed, scope, disabled)
