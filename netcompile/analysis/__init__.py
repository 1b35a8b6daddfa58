"""Who reaches whom at cluster scale: equivalence classes, and one journey per class of cells.

Pods that nothing in the input can tell apart behave alike, so the matrix needs one journey (by both
evaluators, through `journeys`) per class of cells, not per cell:

    atoms.py    addresses cut by every CIDR of the input, ports cut by every port number of the input
    classes.py  pods into classes (what selectors see, node, addresses, named ports, endpoints)
    cells.py    the key of a cell (a source, a destination pod, a port): what decides its journey
    rows.py     the matrix's pods and sources (rows), and the pods' addresses
    matrix.py   the matrix by classes, or cell by cell (the reference the classes are proven against)
    walks.py    every cell pod by pod, one at a time or summed up by blocks of pods
    survey.py   every key once (source and destination roles), cells and disagreements counted pod by pod

The classes are computed from the completed model objects with the reference evaluator's own selector
and port reading (`verify/reference/`), never with the compiler's (`compile/`): a class must not hide
a compiler bug by sharing it. When in doubt a key is finer, never coarser: tests/test_classes.py proves
on generated clusters, golden cases and examples that the matrix by classes equals the matrix cell by cell.
"""

from typing import TYPE_CHECKING, Any

from .classes import Facts, PodClass, classes_of

if TYPE_CHECKING:
    from .matrix import SELF, Cell, ClassMatrix, cell_by_cell
    from .rows import Source, matrix_pods
    from .survey import Survey
    from .walks import all_cells, block_cells

__all__ = [
    "SELF",
    "Cell",
    "ClassMatrix",
    "Facts",
    "PodClass",
    "Source",
    "Survey",
    "all_cells",
    "block_cells",
    "cell_by_cell",
    "classes_of",
    "matrix_pods",
]

# The journeys' half (matrix.py, survey.py, walks.py: both evaluators, so the compiler's rulesets) is imported when
# first asked for, so that the reference's half (atoms, classes, cells) is usable without the compiler:
# lint groups its questions to the reference by these classes (lint/reach.py).
_JOURNEYS = {
    "SELF",
    "Cell",
    "ClassMatrix",
    "Source",
    "all_cells",
    "block_cells",
    "cell_by_cell",
    "matrix_pods",
    "Survey",
}

_MODULES = {"Survey": "survey", "all_cells": "walks", "block_cells": "walks", "Source": "rows", "matrix_pods": "rows"}


def __getattr__(name: str) -> Any:
    if name not in _JOURNEYS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    module = _MODULES.get(name, "matrix")
    return getattr(import_module(f".{module}", __name__), name)
