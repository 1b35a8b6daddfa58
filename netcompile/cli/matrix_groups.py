"""The matrix by workload: one row (and one column per port) for the pods of a workload that behave
alike, labelled `ns/kind/name (N pods)`; pod by pod otherwise (or with `matrix --pods`).

A workload's pods behave alike when every cell says the same of each of them: from every source outside
the workload to each pod (port by port), from each pod to every column outside the workload, and between
two of its pods (one value per port). Then any of them stands for all: the group's cells are those of its
first pod by name (to another of its pods, for the cell of the workload to itself).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..model import Pod, Protocol


@dataclass(frozen=True)
class Column:
    """A pod's port, as the matrix probes it."""

    pod: Pod
    port: int
    protocol: Protocol

    @property
    def label(self) -> str:
        return f"{self.pod.meta.key}:{self.port}/{self.protocol.value.lower()}"


@dataclass(frozen=True)
class Group:
    """A row of the matrix for pods: one pod, or the alike pods of a workload (indices into the pods)."""

    label: str
    pods: tuple[int, ...]
    workload: str | None = None


@dataclass
class Grouped:
    rows: list[str]
    columns: list[str]
    cells: dict[tuple[int, int], str]
    groups: list[Group]
    split: list[str]  # workloads shown pod by pod: their pods do not behave alike


def _ports(columns: Sequence[Column], index: dict[int, list[int]], pod: int) -> list[tuple[int, Protocol]]:
    return [(columns[c].port, columns[c].protocol) for c in index.get(pod, [])]


def _alike(
    members: list[int],
    sources: int,
    columns: Sequence[Column],
    cells: dict[tuple[int, int], str],
    pod_index: dict[int, int],
) -> bool:
    """Whether the pods `members` (indices of pods, which are also their rows) behave alike."""
    if len(members) < 2:
        return True
    inside = set(members)
    by_pod: dict[int, list[int]] = {}
    for c, col in enumerate(columns):
        by_pod.setdefault(pod_index[id(col.pod)], []).append(c)
    ports = {tuple(_ports(columns, by_pod, m)) for m in members}
    if len(ports) > 1:
        return False
    outside_cols = [c for c, col in enumerate(columns) if pod_index[id(col.pod)] not in inside]
    outside_rows = [r for r in range(sources) if r not in inside]
    signatures = set()
    inner: dict[int, set[str]] = {}
    for m in members:
        mine = by_pod.get(m, [])
        to = tuple(cells.get((r, c), "") for r in outside_rows for c in mine)
        signatures.add((tuple(cells.get((m, c), "") for c in outside_cols), to))
        for other in members:
            if other != m:
                for k, c in enumerate(by_pod.get(other, [])):
                    inner.setdefault(k, set()).add(cells.get((m, c), ""))
    return len(signatures) == 1 and all(len(values) == 1 for values in inner.values())


def group(
    pods: Sequence[Pod],
    extra_rows: Sequence[str],
    columns: Sequence[Column],
    cells: dict[tuple[int, int], str],
    workload_of: Callable[[Pod], str | None],
    *,
    by_pod: bool,
) -> Grouped:
    """The matrix by workload. `pods` are the first rows (row i is pods[i]) and `extra_rows` the others
    (outside clients); `columns` are the pods' ports; `cells` the matrix pod by pod."""
    pod_index = {id(p): i for i, p in enumerate(pods)}
    members: dict[str, list[int]] = {}
    for i, pod in enumerate(pods):
        name = workload_of(pod)
        if name is not None:
            members.setdefault(name, []).append(i)
    sources = len(pods) + len(extra_rows)
    alike = {name: not by_pod and _alike(idx, sources, columns, cells, pod_index) for name, idx in members.items()}
    groups: list[Group] = []
    done: set[str] = set()
    for i, pod in enumerate(pods):
        name = workload_of(pod)
        if name is not None and alike[name]:
            if name not in done:
                done.add(name)
                n = len(members[name])
                groups.append(Group(f"{name} ({n} pod{'s' if n != 1 else ''})", tuple(members[name]), name))
        else:
            groups.append(Group(pod.meta.key, (i,)))
    column_of: dict[tuple[int, int, Protocol], int] = {
        (pod_index[id(col.pod)], col.port, col.protocol): c for c, col in enumerate(columns)
    }
    shown_cols: list[tuple[Group, int, Protocol]] = []
    for g in groups:
        first = g.pods[0]
        shown_cols += [(g, col.port, col.protocol) for col in columns if pod_index[id(col.pod)] == first]
    rows = [g.label for g in groups] + list(extra_rows)
    out: dict[tuple[int, int], str] = {}
    for r in range(len(rows)):
        source_group = groups[r] if r < len(groups) else None
        source = source_group.pods[0] if source_group is not None else len(pods) + r - len(groups)
        for c, (g, port, protocol) in enumerate(shown_cols):
            target = g.pods[0]
            if source_group is g:
                if len(g.pods) == 1:
                    out[(r, c)] = cells[(source, column_of[(target, port, protocol)])]
                    continue
                target = g.pods[1]
            out[(r, c)] = cells[(source, column_of[(target, port, protocol)])]
    labels = [f"{g.label}:{port}/{protocol.value.lower()}" for g, port, protocol in shown_cols]
    split = sorted(name for name, same in alike.items() if not same and not by_pod)
    return Grouped(rows, labels, out, groups, split)
