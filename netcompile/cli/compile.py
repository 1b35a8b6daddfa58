"""`netcompile compile` and `netcompile check`."""

from __future__ import annotations

import difflib
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..host.nftlib import NftRejected, NftUnavailable, check
from ..iptables import file_header
from ..iptables import render as render_iptables
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
    run_compile,
    with_compile_options,
)
from .all_nodes import compile_all
from .options import BackendOpt, SplitOpt, backend_problem
from .since import SinceOpt, delta_from, load_since

AllNodesOpt = Annotated[
    bool,
    typer.Option(
        "--all-nodes",
        help="Compile every Node's ruleset, each into DIR/<node>.nft (-o DIR), reading the input once.",
    ),
]


@app.command("compile")
@with_compile_options
def compile_cmd(
    paths: Paths,
    compile_args: CompileArgs,
    output: OutputOpt = None,
    fmt: Annotated[
        str | None, typer.Option("--format", metavar="NAME", help="nft (the only one: an nftables script).")
    ] = None,
    since: SinceOpt = None,
    all_nodes: AllNodesOpt = False,
    check_file: Annotated[
        str | None,
        typer.Option(
            "--check",
            metavar="FILE",
            help="Compare with the committed ruleset FILE instead of writing: exit 1 with the diff when stale.",
        ),
    ] = None,
    update: Annotated[bool, typer.Option("--update", help="With --check: rewrite FILE when it is stale.")] = False,
    backend: BackendOpt = "nftables",
    split: SplitOpt = None,
) -> None:
    """Compile manifests into an nftables script for one node (or, with --all-nodes, for each).

    Reads Namespaces, Nodes, Pods, Services, EndpointSlices, Endpoints and NetworkPolicies (also inside a
    `kind: List`); other kinds are skipped with a notice. Every input error is reported at once, as
    file:line:col, and nothing is written (exit 2). Loading the script with `nft -f` replaces
    netcompile's own table in one transaction and touches no other table.

    With --since OLD.nft (a ruleset netcompile wrote, as loaded), writes instead the delta: the one
    transaction turning OLD.nft's table into the new one, changing only what differs (elements added and
    deleted, changed chains flushed and filled again). It first deletes OLD.nft's fingerprint element, so
    on a table that does not hold OLD.nft it fails as a whole and changes nothing.

    With --all-nodes -o DIR, writes one ruleset per Node of the input (or of the simulated cluster) to
    DIR/<node>.nft, each as `--node NAME` would compile it; the files appear together once every node is
    compiled, or none does. Both cores (or more) compile nodes in parallel.

    With --backend iptables, writes the same ruleset for hosts that run iptables: one file of three
    sections, the input of `ipset restore`, `iptables-restore --noflush` and `ip6tables-restore --noflush`
    (docs/iptables.md); --split DIR also writes each section to its own file.
    """
    problem = backend_problem(backend)
    if problem is not None:
        fail(problem)
    if backend == "iptables":
        _iptables(paths, compile_args, output, fmt, split, since=since, all_nodes=all_nodes, check_file=check_file)
        return
    if split is not None:
        fail("--split DIR writes the iptables back end's files: it goes with --backend iptables")
    target, _ = output_and_format(output, fmt, ("nft",))
    if update and check_file is None:
        fail("--update goes with --check FILE (the committed ruleset to rewrite when stale)")
    if check_file is not None:
        if all_nodes or since is not None or target is not None:
            fail("--check FILE compares one node's ruleset with FILE: not with --all-nodes, --since or -o")
        _, result = run_compile(paths, compile_args)
        _gate(Path(check_file), result.text, update)
        return
    if all_nodes:
        _all_nodes(paths, compile_args, target, since is not None)
        return
    old = None if since is None else load_since(since)
    _, result = run_compile(paths, compile_args)
    if since is not None and old is not None:
        _, text = delta_from(since, old, result.text)
        emit(text, target)
        return
    emit(result.text, target)


@app.command("check")
def check_cmd(
    file: Annotated[
        str,
        typer.Argument(metavar="FILE", help="An nftables script (e.g. from `netcompile compile`); - for stdin."),
    ],
    output: OutputOpt = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", metavar="NAME", help="text (default: a line on stderr) or json (a report)."),
    ] = None,
) -> None:
    """Validate a script with libnftables, without changing anything on this host.

    A libnftables dry run (like `nft -c -f FILE`), then a real load in a throwaway network namespace,
    which also catches what the kernel checks only on commit (jump loops, NAT in a filter chain).
    Needs the python3-nftables binding and root. Exit 0 when the script loads, 2 otherwise with
    libnftables' message and the offending line.
    """
    target, form = output_and_format(output, fmt, ("text", "json"))
    try:
        script = sys.stdin.read() if file == "-" else Path(file).read_text()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    except UnicodeDecodeError:
        fail(f"{file}: not UTF-8 text")
    try:
        checked = check(script, "<stdin>" if file == "-" else file)
    except NftUnavailable as exc:
        fail(str(exc))
    except NftRejected as exc:
        if form == "json":
            report = {"file": file, "accepted": False, "error": str(exc), "scratch_load": None}
            emit(json.dumps(report, indent=2), target)
        typer.echo(str(exc), err=True)
        fail(f"{file}: libnftables rejected the script")
    if form == "json":
        report = {"file": file, "accepted": True, "error": None, "scratch_load": checked.scratch_loaded}
        emit(json.dumps(report, indent=2), target)
    how = (
        "dry run, and a load in a scratch network namespace"
        if checked.scratch_loaded
        else "dry run only: without util-linux's unshare, the kernel's checks at commit were not run"
    )
    typer.echo(f"{file}: libnftables accepts the script ({how})", err=True)


def _iptables(
    paths: list[str],
    args: CompileArgs,
    output: str | None,
    fmt: str | None,
    split: str | None,
    *,
    since: Path | None,
    all_nodes: bool,
    check_file: str | None,
) -> None:
    """compile --backend iptables: the combined file to -o FILE (or stdout), the sections to --split DIR."""
    target, _ = output_and_format(output, fmt, ("iptables",))
    refused = [
        flag for flag, given in (("--since", since), ("--all-nodes", all_nodes), ("--check", check_file)) if given
    ]
    if refused:
        fail(f"{', '.join(refused)}: not with --backend iptables (an nftables feature: it writes one full ruleset)")
    compiled = run_compile(paths, args)
    result = render_iptables(compiled.output.table, file_header(compiled.cluster.node_name))
    if split is not None:
        folder = Path(split)
        if folder.exists() and not folder.is_dir():
            fail(f"--split {folder}: not a folder")
        for name, text in (
            ("ipset.restore", result.ipset),
            ("iptables.rules", result.iptables),
            ("ip6tables.rules", result.ip6tables),
        ):
            emit(text, folder / name)
    emit(result.text, target)


def _all_nodes(paths: list[str], args: CompileArgs, directory: Path | None, since: bool) -> None:
    if directory is None:
        fail("--all-nodes writes one file per node: give the folder with -o DIR")
    if since:
        fail("--all-nodes does not go with --since: a delta is one node's (compile --node NAME --since OLD.nft)")
    if args.node is not None:
        fail("--all-nodes does not go with --node: it compiles every node")
    if directory.exists() and not directory.is_dir():
        fail(f"-o {directory}: not a folder (--all-nodes writes DIR/<node>.nft)")
    checked(args)
    completed = completed_input(paths, args)
    opts = resolved(args, completed)  # kube-proxy's configuration in the input, under the options given
    try:
        written = compile_all(completed, opts, directory, workers=min(2, os.cpu_count() or 1))
    except ClusterError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write in {directory}: {exc.strerror or exc}")
    for notice in dict.fromkeys(n for w in written for n in w.notices):  # each once, though every node has it
        typer.echo(f"notice: {notice}", err=True)
    typer.echo(f"wrote {len(written)} rulesets to {directory}/ ({', '.join(w.path.name for w in written)})", err=True)


def _gate(committed: Path, compiled: str, update: bool) -> None:
    """The gate of a repository that commits its compiled ruleset (a pre-commit hook, CI): exit 0 when
    `committed` is what the manifests compile to; else the diff and exit 1, or with --update the file
    rewritten (atomically) and exit 0."""
    try:
        old = committed.read_text()
    except FileNotFoundError:
        old = None
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"--check {committed}: cannot read it: {exc}")
    if old == compiled:
        typer.echo(f"{committed}: up to date", err=True)
        return
    if update:
        emit(compiled, committed)
        typer.echo(f"{committed}: {'rewritten' if old is not None else 'written'}", err=True)
        return
    for line in difflib.unified_diff(
        (old or "").splitlines(),
        compiled.splitlines(),
        f"{committed} (committed)",
        f"{committed} (compiled)",
        lineterm="",
    ):
        typer.echo(line)
    what = "is stale" if old is not None else "does not exist"
    typer.echo(f"{committed} {what}: netcompile compile ... --check {committed} --update rewrites it", err=True)
    raise typer.Exit(FINDING)
