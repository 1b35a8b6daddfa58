"""Tallies between groups of pods, worked out key by key from the matrix by classes.

A tally is what the cells of one (source group, destination group, port, protocol) add up to in one
version: how many pod pairs, how many delivered, how many the evaluators disagree on. Pods of one class
have the same cell to every pod of another class (analysis/cells.py), so a tally is a sum over the pairs
of classes of its two groups, weighted by how many pods of each class the groups hold; a pod at a special
address has cells of its own, summed pod by pod. Nothing is summed until a key is asked (`tally`), and
every class-to-class cell is planned at once and made in one batch (ClassMatrix.plan, settle), so a
version of 1 000 bare pods (1 000 groups) costs its classes, not its million pairs of groups.

Groups are compared by *profile*: the classes of their pods and how many of each (a group with a pod at
a special address is a profile of its own). Two pairs of groups with the same profiles have the same
tallies, but for a group with itself, which leaves out each pod's pair with itself: `Profiles` names
them so that a caller asks one pair of groups per pair of profiles.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..analysis import Cell, ClassMatrix
from ..journeys import Place
from ..model import IPAddress, Protocol

Key = tuple[str, str, int, Protocol]  # (source group, destination group, port, protocol)


@dataclass(slots=True)
class Tally:
    """The cells of one key in one version: how many, how many delivered, one of each kind to ask again."""

    cells: int = 0
    open: int = 0
    disagree: int = 0  # cells where the interpreter of the compiled rulesets and the reference differ
    sample_open: tuple[Place, IPAddress] | None = None
    sample_closed: tuple[Place, IPAddress] | None = None

    @property
    def state(self) -> str:
        if self.open == 0:
            return "closed"
        return "open" if self.open == self.cells else f"partly open ({self.open} of {self.cells} pod pairs)"

    def add(self, count: int, delivered: bool, agrees: bool, sample: tuple[Place, IPAddress]) -> None:
        """`count` pod pairs whose cell is delivered (with some probability) or not, on which the evaluators
        agree or not; `sample` one of them."""
        self.cells += count
        if not agrees:
            self.disagree += count
        if delivered:
            self.open += count
            self.sample_open = self.sample_open or sample
        else:
            self.sample_closed = self.sample_closed or sample


class PodPairs:
    """One version's tallies between groups of pods (`groups`: each matrix pod's group)."""

    def __init__(self, matrix: ClassMatrix, groups: Sequence[str]) -> None:
        self.matrix = matrix
        special = matrix.keys.special
        self.members: dict[str, list[int]] = {}  # pods by group, in the matrix's order
        for pod, group in enumerate(groups):
            self.members.setdefault(group, []).append(pod)
        # per group: its pods by class (not at special addresses), and its pods at special addresses
        self.by_class: dict[str, dict[int, list[int]]] = {}
        self.alone: dict[str, list[int]] = {}
        for group, pods in self.members.items():
            classes: dict[int, list[int]] = {}
            for pod in pods:
                if not special[pod]:
                    classes.setdefault(matrix.class_of[pod], []).append(pod)
            self.by_class[group] = classes
            self.alone[group] = [pod for pod in pods if special[pod]]
        # planned cells (ClassMatrix.plan): per class, a row to every class's ports; per pod pair with a pod
        # at a special address, that pair's ports
        self._rows: dict[int, list[Cell | int]] = {}
        self._columns: dict[int, int] = {}  # per class: where its ports start in a class's row
        self._alone_cells: dict[tuple[int, int], list[Cell | int]] = {}
        self._row_codes: dict[int, list[int]] = {}
        self._seen: dict[int, list[int]] = {}
        self._numbered: list[int] = []  # codes by key number (ClassMatrix.key_number)
        self._ports: dict[str, set[tuple[int, Protocol]]] = {}
        self._port_index: dict[int, dict[tuple[int, Protocol], int]] = {}  # per class: its ports' indices
        self._planned = False
        # per group of one class and no pod at a special address: that class and its number of pods
        self._single: dict[str, tuple[int, int]] = {
            group: next((cls, len(pods)) for cls, pods in classes.items())
            for group, classes in self.by_class.items()
            if len(classes) == 1 and not self.alone[group]
        }

    def profile(self, group: str) -> tuple[Any, ...]:
        """What the group's tallies depend on: its classes with their numbers of pods (and ports), or the
        group itself when a pod of it is at a special address."""
        if self.alone[group]:
            return ("group", group)
        return tuple(sorted((cls, len(pods)) for cls, pods in self.by_class[group].items()))

    def ports(self, group: str) -> set[tuple[int, Protocol]]:
        """The ports of the group's pods: the columns of its keys."""
        found = self._ports.get(group)
        if found is None:
            found = self._ports[group] = {p for pod in self.members[group] for p in self.matrix.ports(pod)}
        return found

    def single(self, group: str) -> tuple[int, int] | None:
        """(its class, its number of pods) for a group of one class and no pod at a special address."""
        return self._single.get(group)

    def disagreeing(self) -> bool:
        """Whether any cell a tally can count is one the evaluators disagree on (every one planned made)."""
        self._plan()
        return self.matrix.disagreeing()

    def seen(self, group: str) -> list[int] | None:
        """For a group of one class (and no pod at a special address): its class's row of codes (to every
        class's ports; `columns` says where a group's are), each code's state bits alone (`& SEEN`), and a
        0 last (the state of no such port); else None."""
        single = self._single.get(group)
        if single is None:
            return None
        found = self._seen.get(single[0])
        if found is None:
            self._plan()
            found = self._seen[single[0]] = [code & SEEN for code in self._codes(single[0])] + [0]
        return found

    def columns(self, group: str) -> dict[tuple[int, Protocol], int] | None:
        """For a group of one class (and no pod at a special address): where each of its ports is in a
        class's row (`seen`); else None."""
        single = self._single.get(group)
        if single is None:
            return None
        self._plan()
        start = self._columns[single[0]]
        return {p: start + n for p, n in self._port_index[single[0]].items()}

    def code(self, src: tuple[int, int], dst: tuple[int, int], same: bool, port: int, protocol: Protocol) -> int:
        """The code (`_code`) of every cell between a group of `src` (class, pods) and one of `dst`, `same`
        when they are one group: 0 when no cell is evaluated (no such port, or no pair of two pods)."""
        self._plan()
        (a, n), (b, m) = src, dst
        index = self._port_index[b].get((port, protocol))
        if index is None or not n * m - (n if same else 0):
            return 0
        return self._codes(a)[self._columns[b] + index]

    def counts(self, source: str, destination: str, port: int, protocol: Protocol) -> tuple[int, int, int]:
        """The key's (pod pairs, delivered, disagreements), counted from its cells' codes (`_code`): for
        groups of one class each (a workload's replicas, a bare pod), one look-up."""
        self._plan()
        matrix = self.matrix
        single_src, single_dst = self._single.get(source), self._single.get(destination)
        if single_src is not None and single_dst is not None:
            code = self.code(single_src, single_dst, source == destination, port, protocol)
            count = single_src[1] * single_dst[1] - (single_src[1] if source == destination else 0)
            return (count, count if code & OPEN else 0, count if code & DISAGREE else 0) if code else (0, 0, 0)
        cells = delivered = disagree = 0
        for s, d, count in self._pairs(source, destination):
            ports = matrix.ports(d)
            if (port, protocol) in ports:
                code = _code(self._cell(s, d, ports.index((port, protocol))))
                if code:
                    cells += count
                    delivered += count if code & OPEN else 0
                    disagree += count if code & DISAGREE else 0
        return cells, delivered, disagree

    def state(self, source: str, destination: str, port: int, protocol: Protocol) -> str:
        """The key's state (`Tally.state`), or "no such port" when no cell of it is evaluated."""
        cells, delivered, _ = self.counts(source, destination, port, protocol)
        if not cells:
            return "no such port"
        if not delivered:
            return "closed"
        return "open" if delivered == cells else f"partly open ({delivered} of {cells} pod pairs)"

    def _codes(self, cls: int) -> list[int]:
        """A class's row of cells (to every class's ports) as codes, made once."""
        found = self._row_codes.get(cls)
        if found is None:
            matrix = self.matrix
            while len(self._numbered) < matrix.journeys:  # codes by key number, made once each
                self._numbered.append(_code(matrix.answered(len(self._numbered))[0]))
            numbered = self._numbered
            found = self._row_codes[cls] = [numbered[p] if isinstance(p, int) else _code(p) for p in self._rows[cls]]
        return found

    def tally(self, source: str, destination: str, port: int, protocol: Protocol) -> Tally | None:
        """The tally of a key (None: no cell of it is evaluated, so the key does not exist). Its samples are
        pairs of its own pods (the first of each class)."""
        self._plan()
        out = Tally()
        matrix = self.matrix
        for s, d, count in self._pairs(source, destination):
            ports = matrix.ports(d)
            if (port, protocol) not in ports:
                continue
            cell = self._cell(s, d, ports.index((port, protocol)))
            if cell.evaluated:
                address = matrix.destination(d, matrix.sources[s])
                assert address is not None  # an evaluated cell has a destination address
                out.add(count, cell.delivered > 0, cell.agrees, (matrix.sources[s].place, address))
        return out if out.cells else None

    def _pairs(self, source: str, destination: str) -> Iterator[tuple[int, int, int]]:
        """(source pod, destination pod, how many pod pairs they stand for) covering every pair of a pod of
        `source` with another pod of `destination` exactly once: one pair of pods per pair of classes, the
        pods at special addresses one by one."""
        same = source == destination
        for a, src_pods in self.by_class[source].items():
            s = src_pods[0]
            for b, dst_pods in self.by_class[destination].items():
                count = len(src_pods) * len(dst_pods) - (len(src_pods) if same and a == b else 0)
                if count:
                    yield s, (dst_pods[0] if dst_pods[0] != s else dst_pods[1]), count
            for d in self.alone[destination]:
                for other in src_pods:
                    yield other, d, 1
        for s in self.alone[source]:
            for d in self.members[destination]:
                if d != s:
                    yield s, d, 1

    def _plan(self) -> None:
        """Plan every cell a tally can ask (each class with every class; each pod with the pods at special
        addresses, and they with every pod), then make their journeys in one batch."""
        if self._planned:
            return
        self._planned = True
        matrix = self.matrix
        special = matrix.keys.special
        firsts: dict[int, list[int]] = {}  # per class: its first two pods (a class's pods are not special)
        for pod, cls in enumerate(matrix.class_of):
            if not special[pod] and len(firsts.setdefault(cls, [])) < 2:
                firsts[cls].append(pod)
        offset = 0
        for cls, pods in firsts.items():
            self._columns[cls] = offset
            self._port_index[cls] = {p: n for n, p in enumerate(matrix.ports(pods[0]))}
            offset += len(matrix.ports(pods[0]))
        # each class's row: to each class, its first pod other than the row's (none: the class is that pod
        # alone, a pair never asked); rows of one source role planned once (ClassMatrix.plan_rows)
        columns = [
            (others[0], others[1] if len(others) > 1 else others[0], port, protocol)
            for others in firsts.values()
            for port, protocol in matrix.ports(others[0])
        ]
        sources = [matrix.sources[pods[0]] for pods in firsts.values()]
        for cls, planned in zip(firsts, matrix.plan_rows(sources, columns), strict=True):
            self._rows[cls] = planned
        alone = [pod for pod, is_alone in enumerate(special) if is_alone]
        pairs = [(s, d) for s in range(len(matrix.pods)) for d in alone if d != s]
        pairs += [(s, d) for s in alone for d in range(len(matrix.pods)) if d != s and not special[d]]
        for s, d in pairs:
            targets = [(d, port, protocol) for port, protocol in matrix.ports(d)]
            self._alone_cells[(s, d)] = matrix.plan(matrix.sources[s], targets)
        matrix.settle()

    def _cell(self, s: int, d: int, port: int) -> Cell:
        """The cell from pod `s` to pod `d` on the destination's port number `port` (an index in its ports)."""
        matrix = self.matrix
        if matrix.keys.special[s] or matrix.keys.special[d]:
            planned = self._alone_cells[(s, d)][port]
        else:
            planned = self._rows[matrix.class_of[s]][self._columns[matrix.class_of[d]] + port]
        return matrix.answered(planned)[0] if isinstance(planned, int) else planned


OPEN, DISAGREE = 2, 4  # bits of a cell's code; 1: evaluated
SEEN = 1 | OPEN  # the bits of a code that make its state (no such port, closed, open)


def _code(cell: Cell) -> int:
    """0: not evaluated (a pod to itself, another family); else 1, with OPEN when delivered and DISAGREE
    when the evaluators differ."""
    if not cell.evaluated:
        return 0
    return 1 | (OPEN if cell.delivered > 0 else 0) | (DISAGREE if not cell.agrees else 0)


def profiles(pairs: PodPairs, groups: Sequence[str]) -> dict[tuple[Any, ...], list[str]]:
    """`groups` by profile (in the order given)."""
    out: dict[tuple[Any, ...], list[str]] = {}
    for group in groups:
        out.setdefault(pairs.profile(group), []).append(group)
    return out
