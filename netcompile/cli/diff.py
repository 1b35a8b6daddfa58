"""`netcompile diff`: what a change does, for code review (review/)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from ..review.html import review_page
from ..review.reach import added_and_removed, changes, disagreements, outside_destinations, version
from ..review.report import Review, as_json, markdown, ruleset_diff, text
from ..review.services import changes as service_changes
from ..review.sides import RevisionError, at_revision, scratch
from . import FINDING, CompileArgs, OutputOpt, app, emit, fail, network, output_and_format, with_compile_options
from .matrix import parse_externals


@app.command("diff")
@with_compile_options
def diff_cmd(
    compile_args: CompileArgs,
    sides: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="OLD NEW | PATH...",
            help="Two versions (files, folders or -); with --git, the paths to read at each revision.",
        ),
    ] = None,
    git: Annotated[
        list[str] | None,
        typer.Option(
            "--git",
            metavar="REV",
            help="The old version is PATH... at REV (a second --git: the new one too; else the work tree).",
        ),
    ] = None,
    external: Annotated[
        list[str] | None,
        typer.Option("--external", metavar="ADDRESS", help="Also an outside client at this address (repeat)."),
    ] = None,
    output: OutputOpt = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", metavar="NAME", help="text (default), markdown, json, or html (a picture)."),
    ] = None,
) -> None:
    """What a change does: which connections it opens or closes (by workload and port, with the policy
    rules responsible on each side), how each Service frontend answers, then the ruleset diff per node.

    `netcompile diff old/ new/` compares two versions; `netcompile diff --git origin/main -- k8s/` compares
    k8s/ at a revision with the work tree (a second --git REV: with that revision), without touching the
    work tree. Every answer comes from the reference evaluator and the interpreter of the compiled
    rulesets; a disagreement is reported loudly. Exit 0 when nothing changed, 1 when something did, 2 on
    bad input.
    """
    target, form = output_and_format(output, fmt, ("text", "markdown", "json", "html"))
    revisions = git or []
    paths = sides or []
    if len(revisions) > 2:
        fail("--git: at most twice (the old revision, then the new one)")
    if not revisions and len(paths) != 2:
        fail("diff OLD NEW: two versions to compare (or --git REV [--git REV] [PATH...])")
    externals = parse_externals(external)
    with contextlib.ExitStack() as stack:
        try:
            if revisions:
                old_paths = at_revision(revisions[0], paths, _folder(stack))
                new_paths = at_revision(revisions[1], paths, _folder(stack)) if len(revisions) > 1 else paths or ["."]
            else:
                old_paths, new_paths = [paths[0]], [paths[1]]
        except RevisionError as exc:
            fail(str(exc))
        names = (
            f"--git {revisions[0]}" if revisions else paths[0],
            (f"--git {revisions[1]}" if len(revisions) > 1 else "the work tree") if revisions else paths[1],
        )
        # each version's interpreter side in a helper process of its own (journeys.py), forked as soon as
        # its rulesets are compiled: the old one parses while this process compiles the new one
        old_net = network(old_paths, compile_args)
        stack.enter_context(old_net.helping())
        new_net = network(new_paths, compile_args)
        stack.enter_context(new_net.helping())
        review = Review(*names)
        outside, ports = outside_destinations(old_net, new_net)
        old, new = version(old_net, externals, outside, ports), version(new_net, externals, outside, ports)
        review.reach = changes(old, new)
        review.added, review.removed, review.resized = added_and_removed(old, new)
        review.services = service_changes(old_net, new_net, review.disagreements)
        for (src, dst, port, protocol), n in disagreements(old, new):
            review.disagreements.append(f"{src} → {dst} {protocol.value} {port}: {n} cells")
        for node in sorted(old_net.views.keys() | new_net.views.keys(), key=str):
            before, after = old_net.views.get(node), new_net.views.get(node)
            lines = ruleset_diff(
                before.compiled.output.text if before else "",
                after.compiled.output.text if after else "",
                "ruleset" if node is None else node,  # the one node of an input without Nodes: no name
            )
            if lines:
                review.rulesets["the node" if node is None else node] = lines
    nodes = len(new_net.views)
    if form == "html":
        emit(review_page(review, new), target)
    else:
        rendered = {"text": text, "markdown": markdown}.get(form)
        emit(rendered(review, nodes) if rendered else as_json(review), target)
    if review.changed or review.disagreements:
        raise typer.Exit(FINDING)


def _folder(stack: contextlib.ExitStack) -> Path:
    return Path(stack.enter_context(scratch()))
