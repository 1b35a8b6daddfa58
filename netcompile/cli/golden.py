"""`netcompile golden`: verify or update a directory of golden cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..golden import check_cases, discover
from . import FINDING, OutputOpt, app, emit, fail, output_and_format


@app.command("golden")
def golden_cmd(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="A directory of cases: one folder each, inputs + expected.nft and expected.iptables."
        ),
    ],
    update: Annotated[
        bool, typer.Option("--update", help="Rewrite expected.nft and expected.iptables from the current compiler.")
    ] = False,
    output: OutputOpt = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", metavar="NAME", help="text (default: problems on stderr) or json (a report)."),
    ] = None,
) -> None:
    """Compile every golden case and compare with its expected.nft and expected.iptables (exit 1 on drift), or
    --update them."""
    target, form = output_and_format(output, fmt, ("text", "json"))
    if not directory.is_dir():
        fail(f"{directory}: not a directory of golden cases")
    cases = discover(directory)
    if not cases:
        fail(f"{directory}: no golden cases (folders with YAML inputs)")
    problems = check_cases(cases, update=update)
    if form == "json":
        report = {"cases": [c.name for c in cases], "updated": update, "problems": problems}
        emit(json.dumps(report, indent=2), target)
    for line in problems:
        typer.echo(line, err=True)
    verb = "updated" if update else "match"
    if problems:
        fail(f"{len(problems)} of {len(cases)} golden cases {'fail' if update else 'differ'}", FINDING)
    typer.echo(f"{len(cases)} golden cases {verb}", err=True)
