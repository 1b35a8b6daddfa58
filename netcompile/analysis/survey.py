"""The whole matrix at a glance: every cell key evaluated once, cells counted pod by pod.

Walking class pairs would compute a key per pair; walking *roles* computes the same keys fewer times.
A cell key (cells.py) depends on its source class only through its source role, and on its destination
class only through its destination role (`Keys.source_role`, `Keys.target_role`). Every pair of a source
role and a destination role has one key, by construction, so the walk needs one key per role pair.
Classes at special addresses (keyed cell by cell) are walked cell by cell.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .classes import PodClass
    from .matrix import Cell, ClassMatrix
    from .rows import Source


@dataclass
class Survey:
    """Cells (pod by pod, a pod to itself and other-family cells included), cells where the evaluators
    disagree, journeys made, and the roles walked."""

    cells: int = 0
    disagreements: int = 0
    journeys: int = 0
    roles: tuple[int, int] = (0, 0)


@dataclass
class _Role:
    classes: list[PodClass] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)  # outside clients (a role of their own each)

    @property
    def weight(self) -> int:
        return sum(len(c.pods) for c in self.classes) + len(self.sources)


def survey(matrix: ClassMatrix) -> Survey:
    keys = matrix.keys
    out = Survey()
    sizes = sum(len(c.pods) * len(matrix.ports(c.pods[0])) for c in matrix.classes)
    out.cells = len(matrix.sources) * sizes
    plain = [c for c in matrix.classes if not c.special]
    sources: dict[Any, _Role] = {}
    for cls in plain:
        version = matrix.pods[cls.pods[0]].ips[0].version
        sources.setdefault(keys.source_role(cls.index, version), _Role()).classes.append(cls)
    for source in matrix.sources[len(matrix.pods) :]:
        sources[("outside", source.outside)] = _Role(sources=[source])
    targets: dict[int, dict[Any, list[PodClass]]] = {4: {}, 6: {}}
    for family, found in targets.items():
        for cls in plain:
            if any(a.version == family for a in matrix.pods[cls.pods[0]].ips):
                found.setdefault(keys.target_role(cls.index, family), []).append(cls)
    out.roles = (len(sources), max(len(t) for t in targets.values()))
    walk = {
        v: [(classes, sum(len(c.pods) for c in classes)) for classes in found.values()] for v, found in targets.items()
    }
    role_of = {
        v: {c.index: n for n, classes in enumerate(found.values()) for c in classes} for v, found in targets.items()
    }
    counted: list[tuple[int, int]] = []  # (pairs of pods, key number) per role pair and port
    for role in sources.values():
        first = matrix.sources[role.classes[0].pods[0]] if role.classes else role.sources[0]
        version = first.place.address.version
        if not role.classes and keys.outside_alone(first.place.address):
            continue  # an outside client at a special address: walked cell by cell below
        inside: dict[int, int] = defaultdict(int)  # pods of this role in each destination role (a pod to itself)
        for cls in role.classes:
            if cls.index in role_of[version]:
                inside[role_of[version][cls.index]] += len(cls.pods)
        weight = role.weight
        for n, (classes, total) in enumerate(walk[version]):
            pairs = weight * total - inside.get(n, 0)
            if not pairs:
                continue
            source, dst = first, classes[0].pods[0]
            if dst == source.pod:
                source, dst = _distinct(matrix, role, classes)
            src = -1 - source.outside if source.pod is None else matrix.class_of[source.pod]
            address = matrix.destination(dst, source)
            assert address is not None
            for port, protocol in matrix.ports(dst):
                key = keys.class_key(src, matrix.class_of[dst], source.place.address, port, protocol, cache=False)
                counted.append((pairs, matrix.key_number(key, source, address, port, protocol)))
    singles = _one_by_one(matrix)
    matrix.settle()  # every journey at once
    out.disagreements = sum(pairs * matrix.answered(n)[3] for pairs, n in counted)
    for pairs, planned in singles:
        cell = matrix.answered(planned)[0] if isinstance(planned, int) else planned
        out.disagreements += pairs * (cell.evaluated and not cell.agrees)
    out.journeys = matrix.journeys
    return out


def _distinct(matrix: ClassMatrix, role: _Role, classes: list[PodClass]) -> tuple[Source, int]:
    """A source of the role and a destination pod of the classes that are not the same pod."""
    candidates = [matrix.sources[i] for c in role.classes for i in c.pods[:2]] + role.sources
    for source in candidates:
        for cls in classes:
            dst = next((i for i in cls.pods if i != source.pod), None)
            if dst is not None:
                return source, dst
    raise AssertionError("a role pair with cells has two distinct pods")  # pragma: no cover


def _one_by_one(matrix: ClassMatrix) -> list[tuple[int, Cell | int]]:
    """The cells with a special address at either end, each by its own key, planned (ClassMatrix.plan):
    (pairs of pods, the cell or its key's number)."""
    special = [c for c in matrix.classes if c.special]
    out: list[tuple[int, Cell | int]] = []
    rows: list[tuple[Source, int]] = [(matrix.sources[c.pods[0]], len(c.pods)) for c in matrix.classes]
    rows += [(s, 1) for s in matrix.sources[len(matrix.pods) :]]
    for source, weight in rows:
        if source.pod is None:
            alone = matrix.keys.outside_alone(source.place.address)
        else:
            alone = matrix.classes[matrix.class_of[source.pod]].special
        for cls in matrix.classes if alone else special:
            dst = next((i for i in cls.pods if i != source.pod), None)
            if dst is None:
                continue
            pairs = weight * len(cls.pods) - (len(cls.pods) if source.pod in cls.pods else 0)
            planned = matrix.plan(source, [(dst, port, protocol) for port, protocol in matrix.ports(dst)])
            out += [(pairs, p) for p in planned]
    return out
