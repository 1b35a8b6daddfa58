"""Every cell of a matrix by classes, pod by pod: one at a time (`all_cells`; or each by its own journey,
the reference the classes are proven against), or summed up by blocks of pods (`block_cells`, without
the pods x pods walk)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator

from ..model import Protocol
from .matrix import SELF, Cell, ClassMatrix, cell_by_cell


def all_cells(matrix: ClassMatrix, *, by_classes: bool = True) -> Iterator[tuple[int, int, int, Protocol, Cell]]:
    """Every cell pod by pod, as (source row, destination pod, port, protocol, cell): by classes, or each
    by its own journey (`by_classes=False`, the reference the classes are proven against)."""
    targets = [(dst, port, protocol) for dst in range(len(matrix.pods)) for port, protocol in matrix.ports(dst)]
    for r, source in enumerate(matrix.sources):
        cells: Iterable[Cell]
        if by_classes:
            cells = matrix.row(source, targets)
        else:
            cells = (cell_by_cell(matrix.net, source, matrix.pods, *target) for target in targets)
        for (dst, port, protocol), cell in zip(targets, cells, strict=True):
            yield r, dst, port, protocol, cell


def block_cells(
    matrix: ClassMatrix, split: Callable[[int], Hashable] = lambda pod: None
) -> Iterator[tuple[int, int, int, int, Protocol, Cell]]:
    """Every cell pod by pod, as `all_cells` gives them, summed up by blocks: (a source row, a destination
    pod, how many (source row, destination pod) pairs the cell stands for, port, protocol, cell), without
    the pods x pods walk. The pairs' sources are pods of the row's class, IP family and `split(pod)` (the
    caller's grouping, e.g. by workload); their destinations pods of the destination pod's class and split.

    A cell key (cells.py) depends on a source pod only through its class and family and on a destination
    pod only through its class (`Keys.lookup`), unless either is at a special address: every pair of a
    source block and a destination block has the same cell, but a pod's pair with itself, which is `.`.
    Pods of one class declare the same ports, so the block's ports are its first pod's. Special pods,
    and outside clients, are walked pair by pair. Cells are as `exact=False` gives them: the mark and both
    distributions of the cell key's representative."""
    special = matrix.keys.special
    n = len(matrix.pods)
    targets = [(dst, port, protocol) for dst in range(n) for port, protocol in matrix.ports(dst)]
    alone = [(dst, port, protocol) for dst, port, protocol in targets if special[dst]]
    columns: dict[tuple[Hashable, ...], list[int]] = {}
    for dst in range(n):
        if not special[dst]:
            columns.setdefault((matrix.class_of[dst], split(dst)), []).append(dst)
    # Every cell is planned first (its key numbered, its journey asked), then every journey made in one
    # batch (ClassMatrix.settle), then the cells are given out.
    singles: list[tuple[int, list[Cell | int]]] = []  # rows walked cell by cell: row, planned cells
    rows: dict[tuple[Hashable, ...], list[int]] = {}
    for r, source in enumerate(matrix.sources):
        if source.pod is None or special[source.pod]:
            singles.append((r, matrix.plan(source, targets)))
        else:
            rows.setdefault((matrix.class_of[source.pod], source.place.address.version, split(source.pod)), []).append(
                r
            )
    blocks: list[tuple[list[int], int, list[tuple[int, int, int, list[tuple[int, Protocol]]]], list[Cell | int]]] = []
    for (cls, _, group), block in rows.items():
        first = matrix.sources[block[0]].pod
        assert first is not None  # a block's rows are pods
        plan: list[tuple[int, int, int, list[tuple[int, Protocol]]]] = []  # per column: dst, pairs, selves, ports
        asked: list[tuple[int, int, Protocol]] = []
        for (dst_cls, dst_group), dsts in columns.items():
            both = len(block) if (cls, group) == (dst_cls, dst_group) else 0  # its pods are in the column too
            dst = dsts[1] if dsts[0] == first and len(dsts) > 1 else dsts[0]  # not the first row's own pod...
            ports = matrix.ports(dst)
            plan.append((dst, len(block) * len(dsts) - both, both, ports))  # ...unless it has no other pair
            asked += [(dst, port, protocol) for port, protocol in ports]
        asked += alone  # then each row's cells to the pods keyed alone
        planned = matrix.plan(matrix.sources[block[0]], asked)  # the first row's cell with each column
        for r in block[1:]:
            planned += matrix.plan(matrix.sources[r], alone)
        blocks.append((block, first, plan, planned))
    matrix.settle()
    for r, planned in singles:
        cells = matrix.cells(matrix.sources[r], targets, planned, exact=False)
        for (dst, port, protocol), cell in zip(targets, cells, strict=True):
            yield r, dst, 1, port, protocol, cell
    for block, first, plan, planned in blocks:
        given = iter(matrix.cells(matrix.sources[block[0]], [], planned, exact=False))
        for dst, pairs, both, ports in plan:
            for port, protocol in ports:
                cell = next(given)
                if both:
                    yield block[0], first, both, port, protocol, SELF
                if pairs:
                    yield block[0], dst, pairs, port, protocol, cell
        for r in block:
            for dst, port, protocol in alone:
                yield r, dst, 1, port, protocol, next(given)
