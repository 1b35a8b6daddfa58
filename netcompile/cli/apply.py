"""`netcompile apply` and `netcompile delete`: netcompile's table on this host or in a network namespace."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..host.apply import DriftError, NetnsError, ScopeError, apply_delta, apply_script, delete_table
from ..host.iptables import (
    SECTION,
    IptablesError,
    IptablesUnavailable,
    apply_iptables,
    check_iptables,
    delete_iptables,
)
from ..host.names import check_table_name
from ..host.nftlib import NftRejected, NftUnavailable
from ..iptables import file_header
from ..iptables import render as render_iptables
from ..nft import fingerprint
from . import FINDING, CompileArgs, TableOpt, app, fail, run_compile, with_compile_options
from .options import BackendOpt, VariantOpt, backend_problem
from .since import Old, SinceOpt, delta_from, load_since

NetnsOpt = Annotated[
    str | None,
    typer.Option(
        "--netns",
        metavar="NAME",
        help="Work inside this named network namespace (/run/netns/NAME), as `ip netns exec`.",
    ),
]


def is_script(path: str) -> bool:
    """A compiled nftables script rather than manifests: a `.nft` file, or a file starting with an nft shebang."""
    if Path(path).suffix == ".nft" and _head(path, 0) is not None:
        return True
    first = (_head(path, 200) or b"").split(b"\n", 1)[0]
    return first.startswith(b"#!") and b"nft" in first


def _head(path: str, size: int) -> bytes | None:
    """The first `size` bytes of a regular file; None for stdin (-), a folder, or what cannot be read."""
    p = Path(path)
    if path == "-" or not p.is_file():
        return None
    try:
        with p.open("rb") as f:
            return f.read(size)
    except OSError:
        return None


def _read_script(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    except UnicodeDecodeError:
        fail(f"{path}: not UTF-8 text")


@app.command("apply")
@with_compile_options
def apply_cmd(
    paths: Annotated[
        list[str],
        typer.Argument(
            metavar="PATH...",
            help="A compiled .nft script, or manifest files/directories to compile first (- for stdin).",
        ),
    ],
    compile_args: CompileArgs,
    netns: NetnsOpt = None,
    check: Annotated[
        bool, typer.Option("--check", help="Dry run: libnftables checks, the kernel keeps nothing.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Load a script even if it touches tables other than netcompile's.")
    ] = False,
    since: SinceOpt = None,
    backend: BackendOpt = "nftables",
    variant: VariantOpt = None,
) -> None:
    """Load a ruleset: replace netcompile's table in one libnftables transaction, touching nothing else.

    Given a compiled script (a .nft file), loads it; given manifests, compiles them first (as `compile`).
    A script that would touch any other table (`flush ruleset`, another table's commands, `include`) is
    refused unless --force. A failed load changes nothing and shows libnftables' message. Exit 0 when
    loaded (or, with --check, when it would load), 2 otherwise.

    With --since OLD.nft (the ruleset the table was loaded from, as netcompile wrote it), loads only the
    delta from OLD.nft to the new ruleset (given as manifests or as a compiled .nft), as `compile --since`
    writes it. When the table does not hold OLD.nft, the delta is refused as a whole and nothing changes
    (exit 1: the table drifted from OLD.nft).

    With --backend iptables, loads the iptables back end's file (or compiles manifests to it): its ipsets,
    then its rules in one iptables-restore per family, replacing netcompile's NC-* chains, its jumps from
    the built-in chains and its nc-* sets, and nothing else (docs/iptables.md). --check loads it into a
    scratch network namespace instead.
    """
    _backend(backend, variant)
    if backend == "iptables":
        refused = [flag for flag, given in (("--since", since), ("--force", force)) if given]
        if refused:
            fail(f"{', '.join(refused)}: not with --backend iptables (an nftables feature)")
        _apply_iptables(paths, compile_args, netns, check, variant)
        return
    table = compile_args.table
    try:
        check_table_name(table)  # a script's table may be any nft name; a compiled one must be the IR's
    except ValueError as exc:
        fail(f"--table: {exc}")
    old = None if since is None else load_since(since)
    scripts = [p for p in paths if is_script(p)]
    if scripts:
        if len(paths) != 1:
            fail("give either one compiled .nft script or manifests, not both")
        name = scripts[0]
        script = _read_script(name)
    else:
        _, output = run_compile(paths, compile_args)
        name = "<compiled>"
        script = output.text
    where = f" in network namespace {netns}" if netns else ""
    if since is not None and old is not None:
        if force:
            fail("--force does not go with --since: a delta touches only netcompile's table")
        _apply_delta(since, old, script, name, table, netns, check)
        return
    try:
        applied = apply_script(script, table=table, netns=netns, dry_run=check, force=force, display_name=name)
    except ScopeError as exc:
        for problem in exc.problems:
            typer.echo(f"{name}: {problem}", err=True)
        fail(f"{name}: refusing a script that touches more than table inet {table} (use --force to load it anyway)")
    except (NftUnavailable, NetnsError) as exc:
        fail(str(exc))
    except NftRejected as exc:
        typer.echo(str(exc), err=True)
        fail(f"{name}: libnftables rejected the script; nothing was changed{where}")
    if applied.warnings:
        typer.echo(applied.warnings, err=True)
    if check:
        verb = "would replace" if applied.existed else "would create"
        typer.echo(f"{name}: libnftables accepts the script (dry run): it {verb} table inet {table}{where}", err=True)
    else:
        verb = "replaced" if applied.existed else "created"
        typer.echo(f"{name}: {verb} table inet {table}{where}", err=True)
    sys.stderr.flush()


def _apply_delta(since: Path, old: Old, new_text: str, name: str, table: str, netns: str | None, check: bool) -> None:
    delta, script = delta_from(since, old, new_text, name)
    where = f" in network namespace {netns}" if netns else ""
    try:
        applied = apply_delta(
            script,
            expected=delta.old,
            fingerprint_set=fingerprint.NAME,
            table=table,
            netns=netns,
            dry_run=check,
            display_name=f"the delta from {since}",
        )
    except DriftError as exc:
        fail(f"refusing the delta from {since}: {exc}; nothing was changed{where}", FINDING)
    except ScopeError as exc:  # pragma: no cover - a delta names only its table
        fail(str(exc))
    except (NftUnavailable, NetnsError) as exc:
        fail(str(exc))
    except NftRejected as exc:
        typer.echo(str(exc), err=True)
        fail(f"{name}: libnftables rejected the delta from {since}; nothing was changed{where}")
    if applied.warnings:
        typer.echo(applied.warnings, err=True)
    size = f"{len(delta)} commands, {delta.items} rules and elements"
    if check:
        typer.echo(f"{name}: libnftables accepts the delta from {since} (dry run, {size}){where}", err=True)
    else:
        typer.echo(f"{name}: applied the delta from {since} to table inet {table} ({size}){where}", err=True)
    sys.stderr.flush()


def _backend(backend: str, variant: str | None) -> None:
    problem = backend_problem(backend, variant)
    if problem is not None:
        fail(problem)


def _apply_iptables(
    paths: list[str], compile_args: CompileArgs, netns: str | None, check: bool, variant: str | None
) -> None:
    if any(is_script(p) for p in paths):
        fail("an nftables script: load it with --backend nftables (or compile the manifests with --backend iptables)")
    files = [p for p in paths if _is_iptables_file(p)]
    if files:
        if len(paths) != 1:
            fail("give either one file of the iptables back end or manifests, not both")
        name, text = files[0], _read_script(files[0])
    else:
        compiled = run_compile(paths, compile_args)
        name = "<compiled>"
        text = render_iptables(compiled.output.table, file_header(compiled.cluster.node_name)).text
    where = f" in network namespace {netns}" if netns else ""
    try:
        if check:
            loaded = check_iptables(text, variant=variant, name=name)
        else:
            loaded = apply_iptables(text, netns=netns, variant=variant, name=name)
    except IptablesError as exc:
        typer.echo(str(exc), err=True)
        fail(f"{name}: not loaded; nothing was changed{where}")
    except (IptablesUnavailable, NetnsError) as exc:
        fail(str(exc))
    sets = f"{loaded.sets_changed} ipsets loaded, {loaded.sets_kept} unchanged"
    if check:
        typer.echo(f"{name}: ipset and iptables-restore accept it in a scratch network namespace ({sets})", err=True)
    else:
        verb = "replaced" if loaded.existed else "loaded"
        typer.echo(f"{name}: {verb} netcompile's iptables chains and ipsets ({sets}){where}", err=True)
    sys.stderr.flush()


def _is_iptables_file(path: str) -> bool:
    """The iptables back end's combined file: it has the section lines (read the first few kilobytes)."""
    return SECTION.encode() in (_head(path, 4096) or b"")


@app.command("delete")
def delete_cmd(
    netns: NetnsOpt = None,
    table: TableOpt = "netcompile",
    backend: BackendOpt = "nftables",
    variant: VariantOpt = None,
) -> None:
    """Remove netcompile's table (only it); succeeds also when it is not there.

    With --backend iptables: netcompile's jumps from the built-in chains, its NC-* chains and nc-* ipsets.
    """
    _backend(backend, variant)
    if backend == "iptables":
        where = f" in network namespace {netns}" if netns else ""
        try:
            existed = delete_iptables(netns=netns, variant=variant)
        except IptablesError as exc:
            fail(f"cannot delete netcompile's iptables rules{where}: {exc}")
        except (IptablesUnavailable, NetnsError) as exc:
            fail(str(exc))
        done = "deleted netcompile's iptables chains and ipsets" if existed else "no iptables rules of netcompile's"
        typer.echo(f"{done}{where}", err=True)
        return
    try:
        check_table_name(table)
    except ValueError as exc:
        fail(f"--table: {exc}")
    where = f" in network namespace {netns}" if netns else ""
    try:
        existed = delete_table(table, netns=netns)
    except (NftUnavailable, NetnsError) as exc:
        fail(str(exc))
    except NftRejected as exc:
        typer.echo(str(exc), err=True)
        fail(f"cannot delete table inet {table}{where}")
    if existed:
        typer.echo(f"deleted table inet {table}{where}", err=True)
    else:
        typer.echo(f"table inet {table} was not there{where}; nothing to do", err=True)
