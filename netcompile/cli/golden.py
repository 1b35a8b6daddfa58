"""`netcompile golden`: verify or update a directory of golden cases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..golden import check_cases, discover
from . import FINDING, app, fail


@app.command("golden")
def golden_cmd(
    directory: Annotated[Path, typer.Argument(help="A directory of cases: one folder each, inputs + expected.nft.")],
    update: Annotated[bool, typer.Option("--update", help="Rewrite expected.nft from the current compiler.")] = False,
) -> None:
    """Compile every golden case and compare with its expected.nft (exit 1 on drift), or --update them."""
    cases = discover(directory)
    if not cases:
        fail(f"{directory}: no golden cases (folders with YAML inputs)")
    problems = check_cases(cases, update=update)
    for line in problems:
        typer.echo(line, err=True)
    verb = "updated" if update else "match"
    if problems:
        fail(f"{len(problems)} of {len(cases)} golden cases {'fail' if update else 'differ'}", FINDING)
    typer.echo(f"{len(cases)} golden cases {verb}", err=True)
