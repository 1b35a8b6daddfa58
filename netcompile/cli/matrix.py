"""`netcompile matrix`: who can reach whom on which ports, by both evaluators, by equivalence classes."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from ipaddress import ip_address
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..gcpause import paused_gc
from ..model import IPAddress, Protocol
from ..targets import Workloads
from . import (
    FINDING,
    CompileArgs,
    OutputOpt,
    Paths,
    echo_compiler_notices,
    emit,
    fail,
    network,
    number,
    output_and_format,
    with_compile_options,
)
from . import app as root
from .results import distribution_json

if TYPE_CHECKING:
    from ..analysis import Cell, ClassMatrix, Source
    from ..journeys import Network
    from ..review.reach import Version
    from .matrix_groups import Group

# The pictures (review/) and DNS names (dns/) are imported where they are used: the table does not need them.
# So is the analysis (classes, cells: analysis/): only this process uses it, after it has forked the helper
# process that compiles, so that the helper does not wait for its import.

CHUNK = 1 << 20  # cells a walk plans before it makes their journeys, in one batch (and gives them out)
PICTURE_REASONS = 3000  # cells whose tooltips name their rules (a journey each); beyond, the verdict alone

LEGEND = (
    "ok: delivered; --: dropped or rejected; 1/2: delivered with that probability; .: a pod to itself "
    "(never crosses the node); !: the compiled ruleset disagrees with the reference"
)


def parse_ports(text: str | None) -> list[tuple[int, Protocol]] | None:
    """`80,81/udp,3868/sctp` → [(80, TCP), (81, UDP), (3868, SCTP)]."""
    if not text:
        return None
    out = []
    for item in text.split(","):
        digits, _, proto = item.strip().partition("/")
        port = number(digits)
        if port is None or not 1 <= port <= 65535 or proto.upper() not in ("", *Protocol.__members__):
            fail(f"--ports {item!r}: must be PORT or PORT/PROTOCOL, e.g. 80,53/udp")
        out.append((port, Protocol[proto.upper() or "TCP"]))
    return out


def parse_externals(values: list[str] | None) -> list[IPAddress]:
    out = []
    for text in values or []:
        try:
            out.append(ip_address(text))
        except ValueError:
            fail(f"--external {text!r}: must be an IP address")
    return out


class Table:
    """The matrix as shown: rows (groups of pods, then outside clients), columns (a group's port), cells."""

    def __init__(self, matrix: ClassMatrix, shown: list[Group], *, cells: bool) -> None:
        self.matrix = matrix
        self.groups = shown
        self.by_cell = cells  # every cell by its own journey
        self.rows: list[tuple[str, Source, int]] = [(g.label, matrix.sources[g.pods[0]], len(g.pods)) for g in shown]
        self.rows += [(s.place.label, s, 1) for s in matrix.sources[len(matrix.pods) :]]
        self.columns: list[tuple[str, Group, int, Protocol]] = [
            (f"{g.label}:{port}/{protocol.value.lower()}", g, port, protocol)
            for g in shown
            for port, protocol in matrix.ports(g.pods[0])
        ]
        self.disagreements = 0

    def restrict(self, rows: set[int] | None, columns: set[int] | None) -> None:
        """Keep the rows of the groups `rows` (indices into groups; outside clients by row index) and the
        columns of the groups `columns`."""
        if rows is not None:
            self.rows = [row for n, row in enumerate(self.rows) if n in rows]
        if columns is not None:
            wanted = {id(self.groups[n]) for n in columns}
            self.columns = [c for c in self.columns if id(c[1]) in wanted]

    def walk(self, *, exact: bool = True) -> Iterator[tuple[int, int, Cell]]:
        """Every shown cell, row by row (`rows_of_cells`, one at a time)."""
        for r, cells in self.rows_of_cells(exact=exact):
            for c, cell in enumerate(cells):
                yield r, c, cell

    def rows_of_cells(self, *, exact: bool = True, later: bool = False) -> Iterator[tuple[int, list[Cell]]]:
        """Every shown row's cells; counts the pod cells where the evaluators disagree. `exact=False`:
        marks are enough (the distributions may name the addresses of another cell of the same key).
        A column's cell is the source's to the group's first pod other than itself (to itself, `.`,
        when the group is that pod alone). Rows are planned a chunk at a time (ClassMatrix.plan: up to
        CHUNK cells), then the chunk's journeys made in one batch, then its cells given out. `later`: the
        cells may be provisional (`ClassMatrix.settle`): only to lay out what `ClassMatrix.confirm` then
        confirms, or walked again."""
        picks = [(g.pods[0], g.pods[1] if len(g.pods) > 1 else g.pods[0], port, p) for _, g, port, p in self.columns]

        def targets(source: Source) -> list[tuple[int, int, Protocol]]:
            return [(second if first == source.pod else first, port, p) for first, second, port, p in picks]

        if self.by_cell:
            from ..analysis import cell_by_cell

            net, pods = self.matrix.net, self.matrix.pods
            for r, (_, source, size) in enumerate(self.rows):
                cells = [cell_by_cell(net, source, pods, *target) for target in targets(source)]
                self._count(source, size, cells)
                yield r, cells
            return
        for chunk, check in self._chunks(later):
            for n, planned in chunk:
                _, row_source, size = self.rows[n]
                row_targets = targets(row_source) if exact else ()  # (the representatives' cells need none)
                cells = self.matrix.cells(row_source, row_targets, planned, exact=exact)
                if check:  # else no cell of the chunk disagrees
                    self._count(row_source, size, cells)
                yield n, cells

    def rows_of_marks(self, *, later: bool = False) -> Iterator[tuple[int, list[str]]]:
        """The marks of `rows_of_cells(exact=False, later=later)`'s cells, counting the disagreements as it
        does; made from the cells' keys (`ClassMatrix.marks`) where no cell of a chunk disagrees."""
        if self.by_cell:
            for r, cells in self.rows_of_cells(exact=False, later=later):
                yield r, [cell.mark for cell in cells]
            return
        for chunk, check in self._chunks(later):
            for n, planned in chunk:
                if not check:
                    yield n, self.matrix.marks(planned)
                    continue
                _, row_source, size = self.rows[n]
                cells = self.matrix.cells(row_source, (), planned, exact=False)
                self._count(row_source, size, cells)
                yield n, [cell.mark for cell in cells]

    def _chunks(self, later: bool) -> Iterator[tuple[list[tuple[int, list[Cell | int]]], bool]]:
        """The rows planned a chunk at a time (ClassMatrix.plan_rows: up to CHUNK cells), then the chunk's
        journeys made in one batch (`later`: ClassMatrix.settle): each chunk (row, planned cells), and
        whether the evaluators disagree on any key made so far."""
        picks = [(g.pods[0], g.pods[1] if len(g.pods) > 1 else g.pods[0], port, p) for _, g, port, p in self.columns]
        chunk: list[tuple[int, list[Cell | int]]] = []
        planned_cells = 0
        plans = self.matrix.plan_rows((source for _, source, _ in self.rows), picks)
        for r, planned in enumerate(plans):
            chunk.append((r, planned))
            planned_cells += len(self.columns)
            if planned_cells >= CHUNK or r == len(self.rows) - 1:
                self.matrix.settle(later=later)
                yield chunk, self.matrix.disagreeing()
                chunk, planned_cells = [], 0

    def _count(self, source: Source, size: int, cells: list[Cell]) -> None:
        for c, cell in enumerate(cells):
            if cell.evaluated and not cell.agrees:
                group = self.columns[c][1]
                inside = source.pod in group.pods
                self.disagreements += size * len(group.pods) - (size if inside else 0)


def render_text(table: Table) -> list[str]:
    """The table as text. It is laid out while the helper process (if any) still makes the compiled side
    of the journeys, with the reference's answers; then that side is taken and, should it disagree on
    any cell key, the table is laid out again with the final answers."""
    lines = _text(table, later=True)
    if table.matrix.confirm():
        table.disagreements = 0
        lines = _text(table, later=False)
    return lines


def _text(table: Table, *, later: bool) -> list[str]:
    marks: list[list[str]] = [[] for _ in table.rows]
    seen: set[str] = set()
    for r, row in table.rows_of_marks(later=later):
        marks[r] = row
        seen.update(row)
    names = [row[0] for row in table.rows]
    width = max((len(r) for r in names), default=4) + 2
    cw = max([4, *(len(m) + 1 for m in seen)])
    padded = {m: m.rjust(cw) for m in seen}
    out = [" " * width + "".join(f"{i + 1:>{cw}}" for i in range(len(table.columns)))]
    for name, row in zip(names, marks, strict=True):
        out.append(f"{name:<{width}}" + "".join(map(padded.__getitem__, row)))
    out.append("")
    out += [f"{i + 1:>3} = {c[0]}" for i, c in enumerate(table.columns)]
    out.append(LEGEND)
    if "n/a" in seen:
        out.append("n/a: the pod has no address of the source's IP family")
    return out


def stream_markdown(table: Table, write: Callable[[str], Any]) -> None:
    write("| from \\ to | " + " | ".join(f"`{c[0]}`" for c in table.columns) + " |\n")
    write("|---|" + "---|" * len(table.columns) + "\n")
    for r, marks in table.rows_of_marks():
        if marks:
            write(f"| `{table.rows[r][0]}` | " + " | ".join(m.replace("!", "**!**") for m in marks) + " |\n")
    if not table.columns:
        for name, _, _ in table.rows:
            write(f"| `{name}` |\n")


def stream_json(
    table: Table, write: Callable[[str], Any], head: dict[str, Any], tail: Callable[[], dict[str, Any]]
) -> None:
    """`{"cells": [...], ...}`, one cell a line as it is made: the cells evaluated (not `.` nor `n/a`)."""
    write("{\n")
    for key, value in head.items():
        write(f"  {json.dumps(key)}: {json.dumps(value)},\n")
    write('  "cells": [')
    first = True
    for r, c, cell in table.walk():
        if not cell.evaluated:
            continue
        record = {
            "from": row_label(table, r),
            "to": table.columns[c][0],
            "delivered": str(cell.delivered),
            "agree": cell.agrees,
            "reference": distribution_json(dict(cell.reference)),
            "compiled": distribution_json(dict(cell.compiled)),
        }
        write(("\n    " if first else ",\n    ") + json.dumps(record))
        first = False
    write("\n  ]" if not first else "]")
    for key, value in tail().items():
        write(f",\n  {json.dumps(key)}: {json.dumps(value)}")
    write("\n}\n")


def row_label(table: Table, r: int) -> str:
    """A row as JSON names it: `pod ns/name` for one pod (as trace says it), else the row's label."""
    name, source, size = table.rows[r]
    return source.place.label if size == 1 else name


@contextmanager
def sink(target: Path | None) -> Iterator[Callable[[str], Any]]:
    """Where a streamed result goes: stdout, or a file written beside `target` and renamed over it at the end
    (nothing is left behind if anything fails on the way)."""
    if target is None:
        yield sys.stdout.write
        sys.stdout.flush()
        return
    directory = target.parent if str(target.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except (FileExistsError, NotADirectoryError) as exc:
        fail(f"cannot write {target}: {exc.filename} is in the way: it is a file, where a folder is needed")
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror}")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            yield f.write
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, target.stat().st_mode & 0o7777 if target.exists() else 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@root.command("matrix")
@with_compile_options
def matrix_cmd(
    paths: Paths,
    compile_args: CompileArgs,
    ports: Annotated[
        str | None,
        typer.Option(
            "--ports", metavar="PORTS", help="Ports to probe on every pod, e.g. 80,53/udp (default: declared)."
        ),
    ] = None,
    external: Annotated[
        list[str] | None,
        typer.Option("--external", metavar="ADDRESS", help="Also an outside client at this address (repeat)."),
    ] = None,
    by_pod: Annotated[
        bool, typer.Option("--pods", help="A row and a column per pod (default: one per class of pods).")
    ] = False,
    cells: Annotated[
        bool,
        typer.Option(
            "--cells", help="Every cell by its own journey, pod by pod (slow: what the classes are proven against)."
        ),
    ] = False,
    source: Annotated[
        str | None,
        typer.Option("--from", metavar="TARGET", help="Only the row(s) of this pod, workload or outside address."),
    ] = None,
    dest: Annotated[
        str | None, typer.Option("--to", metavar="TARGET", help="Only the column(s) of this pod or workload.")
    ] = None,
    output: OutputOpt = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", metavar="NAME", help="text (default: a table), markdown, json, or a picture: html or svg."
        ),
    ] = None,
) -> None:
    """The reachability matrix between all running pods (and outside clients), on their ports.

    Pods that nothing in the input tells apart (the labels selectors see, namespace, node, named ports,
    addresses' CIDRs, endpoints) are one class, and one journey per class of cells answers for all of
    them: a row and a column per port for each class, split by workload (`ns/kind/name (N pods)`, or
    `N pods of ns/app=web`). --pods shows every pod; --cells also makes every cell's own journey.

    Every answer is computed by the reference evaluator and by the interpreter of the compiled rulesets
    (each node's: a connection between nodes crosses both); a cell where they disagree is marked `!`
    and the exit code is 1.
    """
    target, form = output_and_format(
        output,
        fmt,
        ("text", "markdown", "json", "html", "svg"),
        deprecated=("table", "markdown", "json"),
        aliases={"table": "text"},
    )
    # The rulesets, their parse and the matrix are many small acyclic containers: the cyclic collector
    # would rescan the growing heap again and again (see gcpause.paused_gc). Reference counting frees them.
    with paused_gc():
        _matrix(paths, compile_args, ports, external, by_pod, cells, source, dest, target, form)


def _matrix(
    paths: list[str],
    compile_args: CompileArgs,
    ports: str | None,
    external: list[str] | None,
    by_pod: bool,
    cells: bool,
    source: str | None,
    dest: str | None,
    target: Path | None,
    form: str,
) -> None:
    wanted = parse_ports(ports)
    externals = parse_externals(external)
    if form in ("html", "svg") and (source is not None or dest is not None):
        fail("--from and --to pick the rows and columns of the text, markdown and json tables, not of a picture")
    # Every node indexed here; compiled, parsed and interpreted (the compiled side of the journeys) by a
    # helper process, forked now, while this one finds the classes and plans the cells (journeys.py)
    net = network(paths, compile_args, compiled=False)
    with net.helping(not cells):
        from ..analysis import ClassMatrix, matrix_pods
        from .matrix_groups import groups, picked

        pods, left = matrix_pods(net)
        for pod, reason in left:
            typer.echo(f"notice: matrix leaves out pod {pod.meta.key}: {reason}", err=True)
        families = {a.version for p in pods for a in net.any_cluster.pod_ips(p)}
        if source is not None:
            try:
                extra = ip_address(source)
            except ValueError:
                extra = None
            if extra is not None and net.pod_by_address(extra) is None and extra not in externals:
                externals.append(extra)  # --from an outside address: that client's row
        for address in externals:
            if pods and address.version not in families:
                fail(f"--external {address}: no pod of the matrix has an IPv{address.version} address to reach")
        matrix = ClassMatrix(net, pods, externals, wanted)
        workloads = Workloads(net.objects)
        default, split = groups(matrix, workloads.label, by_pod=False)
        shown = groups(matrix, workloads.label, by_pod=True)[0] if by_pod or cells else default
        for name in [] if by_pod or cells else split:
            rows = sum(1 for g in shown if g.workload == name)
            how = "pod by pod" if all(len(g.pods) == 1 for g in shown if g.workload == name) else f"in {rows} rows"
            typer.echo(f"notice: matrix shows {name} {how}: its pods do not behave alike", err=True)
        if form in ("html", "svg"):
            _picture(net, matrix, shown, f"netcompile matrix {' '.join(paths)}", form, target)
            return
        table = Table(matrix, shown, cells=cells)
        table.restrict(
            picked(net, source, "--from", shown, pods, workloads, externals) if source is not None else None,
            picked(net, dest, "--to", shown, pods, workloads, externals) if dest is not None else None,
        )
        # the compiler's notices after the matrix's own (the helper compiles while this process plans): for a
        # table once made, before what is written as it is made
        if form == "text":
            text = "\n".join(render_text(table)) + "\n"
            echo_compiler_notices(net)
            with sink(target) as write:
                write(text)
        elif form == "markdown":
            echo_compiler_notices(net)
            with sink(target) as write:
                stream_markdown(table, write)
        else:
            alike = [
                {
                    "workload": name,
                    "pods": [pods[i].meta.key for g in default if g.workload == name for i in g.pods],
                    "alike": name not in split,
                }
                for name in dict.fromkeys(g.workload for g in default if g.workload is not None)
            ]
            echo_compiler_notices(net)
            head = {
                "classes": len(matrix.classes),
                "rows": [{"label": g.label, "pods": [pods[i].meta.key for i in g.pods]} for g in shown],
            }
            with sink(target) as write:
                stream_json(
                    table,
                    write,
                    head,
                    lambda: {
                        "disagreements": table.disagreements,
                        "journeys": matrix.journeys,
                        "left_out": [{"pod": p.meta.key, "reason": why} for p, why in left],
                        "workloads": alike,
                    },
                )
        if table.disagreements:
            typer.echo(
                f"netcompile: {table.disagreements} cells where the compiled ruleset disagrees with the reference",
                err=True,
            )
            raise typer.Exit(FINDING)


def _picture(net: Network, matrix: ClassMatrix, shown: list[Group], title: str, form: str, target: Path | None) -> None:
    """The matrix as a picture (review/html.py): the table's rows, and a column per row and port, coloured
    open, closed or partly open; each cell's tooltip names the policy rules that decide it, up to
    PICTURE_REASONS cells (a journey each)."""
    from ..review.html import grid_page, grid_svg
    from ..review.reach import version as by_rows
    from ..review.reach import why

    rows = [""] * len(matrix.pods)
    for group in shown:
        for pod in group.pods:
            rows[pod] = group.label
    version = by_rows(net, matrix.externals, shown=(matrix, rows))
    explain = (lambda key: why(version, key)) if len(version.tallies) <= PICTURE_REASONS else None
    page = grid_page(title, _summary(version), version, [], explain) if form == "html" else None
    echo_compiler_notices(net)
    emit(page if page is not None else grid_svg(title, version, explain), target)


def _summary(version: Version) -> str:
    groups = len({k[0] for k in version.tallies})
    open_ = sum(1 for t in version.tallies.values() if t.open == t.cells)
    return f"{groups} sources, {len(version.tallies)} source x destination x port cells, {open_} open"
