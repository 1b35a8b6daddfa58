"""The matrix of who reaches whom: cell by cell, or by classes (one journey per cell key).

Rows are sources (running pods from their first address, then outside clients), columns a destination
pod's port. `cell_by_cell` makes the journey of every cell; `ClassMatrix` makes one per cell key
(cells.py) and gives every other cell of that key the representative's answer, its addresses and port
replaced by the cell's own. Both answer with `Cell`s, which tests compare exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from ..journeys import Ask, Journey, Network
from ..model import IPAddress, Pod, Protocol
from ..verify.packet import Result, Verdict
from ..verify.reference.view import view_of
from .cells import Keys, Rules, SourceSide, TargetSide
from .classes import Facts, classes_of
from .rows import Source, address_of, destination, sources_of

if TYPE_CHECKING:
    from .survey import Survey

Distribution = Mapping[Result, Fraction]


@dataclass(frozen=True)
class Cell:
    """What one cell says: its mark, and both evaluators' distributions (empty for `.` and `n/a`)."""

    mark: str  # ok, --, a probability, each with ! when the evaluators disagree; `.` a pod to itself; n/a
    reference: Distribution = field(default_factory=dict)
    compiled: Distribution = field(default_factory=dict)

    @cached_property
    def agrees(self) -> bool:
        return self.reference == self.compiled

    @property
    def delivered(self) -> Fraction:
        return sum((p for r, p in self.reference.items() if r.verdict == Verdict.DELIVERED), Fraction(0))

    @property
    def evaluated(self) -> bool:
        return self.mark not in (".", "n/a")


SELF = Cell(".")
OTHER_FAMILY = Cell("n/a")

# A cell key's answer: its representative's cell, address and port, and whether the evaluators disagree.
Answer = tuple[Cell, IPAddress, int, bool]
_NO_ROLE = (-1, Protocol.TCP, -1, 0)  # `Targets.entries` of a target without a role (planned one by one)


class Targets:
    """A row's targets (pod, port, protocol) and what a cell's key takes from each whatever the row
    (`ClassMatrix.targets`): `entries`, per target, (its destination role, protocol, port atom, the rules
    whose ports match there: `Keys.column`), `_NO_ROLE` for the targets `alone` has (no role: planned one
    by one); `sides`, each destination role's side (`Keys.target_side`); `by_pod`, the targets of each pod."""

    __slots__ = ("alone", "by_pod", "entries", "listed", "sides")

    def __init__(
        self,
        listed: list[tuple[int, int, Protocol]],
        entries: list[tuple[int, Protocol, int, int]],
        alone: list[int],
        sides: dict[int, TargetSide],
        by_pod: dict[int, list[int]],
    ) -> None:
        self.listed, self.entries, self.alone, self.sides, self.by_pod = listed, entries, alone, sides, by_pod


def mark(delivered: Fraction, agrees: bool) -> str:
    text = "ok" if delivered == 1 else "--" if delivered == 0 else str(delivered)
    return text if agrees else f"!{text}"


def of_journey(journey: Journey) -> Cell:
    return Cell(mark(journey.delivered(), journey.agrees), dict(journey.reference), dict(journey.compiled))


def cell_by_cell(net: Network, source: Source, pods: Sequence[Pod], dst: int, port: int, protocol: Protocol) -> Cell:
    """One cell, by its own journey."""
    address = destination(net, pods[dst], source)
    if address is None:
        return OTHER_FAMILY
    if address == source.place.address:
        return SELF  # a pod's traffic to itself stays inside the pod: no node, no ruleset
    return of_journey(net.journey(source.place, address, port, protocol, hops=False))


def _moved(dist: Distribution, old: IPAddress, new: IPAddress, old_port: int, new_port: int) -> dict[Result, Fraction]:
    if old == new and old_port == new_port:
        return dict(dist)
    out: dict[Result, Fraction] = {}
    for result, p in dist.items():
        if result.dst == old:
            result = replace(result, dst=new, dport=new_port if result.dport == old_port else result.dport)
        out[result] = out.get(result, Fraction(0)) + p
    return out


class ClassMatrix:
    """The matrix by classes: pods into classes, one journey per cell key, answers for every cell."""

    def __init__(
        self,
        net: Network,
        pods: Sequence[Pod],
        externals: Sequence[IPAddress],
        ports: Sequence[tuple[int, Protocol]] | None,
    ) -> None:
        self.net = net
        self.pods = list(pods)
        self.externals = list(externals)
        self.wanted = list(ports) if ports else None
        self.facts = Facts(view_of(net.any_cluster), net.opts.cluster_cidrs, net.pod_node)
        self.classes, self.class_of = classes_of(self.facts, self.pods)
        self.rules = Rules(self.facts, self.pods, self.classes, self.externals)
        self.keys = Keys(self.facts, self.rules, self.pods, self.classes, self.class_of)
        self.sources = sources_of(net, self.pods, self.externals)
        # Cell keys are numbered as they are first met; a number's journey is asked (`_asks`) and made later,
        # with every other key asked by then, in one batch (`settle`): the interpreter's side of a batch can
        # then run in the Network's helper process while this one follows the reference's.
        self._ids: dict[tuple[Any, ...], int] = {}
        self._asks: list[Ask] = []  # per key number: its representative journey
        self._answers: list[Answer | None] = []  # per key number: its answer (None: not made yet)
        self._marks: list[str] = []  # per key number: its answer's mark ("": not made yet)
        self._pending: list[int] = []  # key numbers asked and not answered
        self._unconfirmed: list[tuple[int, Journey]] = []  # keys answered by the reference alone so far
        self._revised = False  # an answer given before `confirm` was not the final one
        self._looked_up: dict[tuple[Any, ...], int] = {}  # key numbers by Keys.lookup's name
        self._addresses: dict[tuple[int, int], IPAddress | None] = {}
        self._by_version: dict[int, tuple[list[IPAddress | None], list[int | None]]] = {}
        self._ports: dict[int, list[tuple[int, Protocol]]] = {}

    @property
    def journeys(self) -> int:
        return len(self._ids)

    def ports(self, pod: int) -> list[tuple[int, Protocol]]:
        """The ports a pod's columns probe: --ports, else its declared container ports."""
        if self.wanted is not None:
            return self.wanted
        found = self._ports.get(pod)
        if found is None:
            found = self._ports[pod] = sorted({(c.port, c.protocol) for c in self.pods[pod].ports})
        return found

    def destination(self, dst: int, source: Source) -> IPAddress | None:
        return self.address(dst, source.place.address.version)

    def address(self, dst: int, version: int) -> IPAddress | None:
        """Pod `dst`'s address of IP `version` (None: it has none)."""
        first = self.sources[dst].place.address  # the pod's first address: its address of that family, if it is one
        if first.version == version:
            return first
        key = (dst, version)
        if key not in self._addresses:
            self._addresses[key] = address_of(self.net, self.pods[dst], version)
        return self._addresses[key]

    def key_number(
        self, key: tuple[Any, ...], source: Source, address: IPAddress, port: int, protocol: Protocol
    ) -> int:
        """The number of cell key `key`; the first time, its journey (from `source` to `address`) is asked."""
        found = self._ids.get(key)
        if found is None:
            found = self._ids[key] = len(self._asks)
            self._asks.append((source.place, address, port, protocol))
            self._answers.append(None)
            self._marks.append("")
            self._pending.append(found)
        return found

    def settle(self, *, later: bool = False) -> None:
        """Make the journeys of every key asked and not answered yet, in one batch (`Network.journeys`).
        `later=True`: when the Network's helper makes the compiled side, it is taken by `confirm` (or the
        next batch); until then these keys' answers are provisional: the reference's, as if the compiled
        side agreed, so that a table can be laid out while the helper finishes. Nothing may be shown
        before `confirm`, which says whether an answer given meanwhile changed."""
        if not self._pending:
            return
        self.confirm()  # the helper answers one batch at a time
        pending, self._pending = self._pending, []
        journeys = self.net.journeys([self._asks[n] for n in pending], later=later)
        owed = self.net.owes_compiled
        for n, journey in zip(pending, journeys, strict=True):
            if owed:
                self._unconfirmed.append((n, journey))
                journey = replace(journey, compiled=journey.reference)
            self._answer(n, journey)

    def _answer(self, number: int, journey: Journey) -> None:
        cell = of_journey(journey)
        _, address, port, _ = self._asks[number]
        self._answers[number] = (cell, address, port, not cell.agrees)
        self._marks[number] = cell.mark

    def confirm(self) -> bool:
        """The compiled side of every key settled `later` (waiting for the helper); whether any answer
        given before was not the final one (the evaluators disagree on its key: its cells change)."""
        if self._unconfirmed:
            self.net.collect()
            for n, journey in self._unconfirmed:
                self._answer(n, journey)
                self._revised |= not journey.agrees
            self._unconfirmed = []
        return self._revised

    def disagreeing(self) -> bool:
        """Whether the evaluators disagree on any key made so far (`settle`)."""
        return any(answer is not None and answer[3] for answer in self._answers)

    def answered(self, number: int) -> Answer:
        """The answer of key `number` (`settle` made it)."""
        found = self._answers[number]
        assert found is not None, "settle() first"
        return found

    def cell(self, source: Source, dst: int, port: int, protocol: Protocol, *, exact: bool = True) -> Cell:
        """The cell from `source` to pod `dst` on `port`; `exact=False`: the representative's cell as it is
        (the same mark, its own addresses), which is enough to count."""
        planned = self._plan_cell(source, dst, port, protocol)
        if isinstance(planned, Cell):
            return planned
        self.settle()
        address = self.destination(dst, source)
        assert address is not None
        return self._made(planned, address, port, exact)

    def _plan_cell(self, source: Source, dst: int, port: int, protocol: Protocol) -> Cell | int:
        """The cell, when it needs no journey (`.`, `n/a`), else its key's number."""
        address = self.destination(dst, source)
        if address is None:
            return OTHER_FAMILY
        if address == source.place.address:
            return SELF
        lookup = self.keys.lookup(source.pod, source.place.address, source.outside, dst, port, protocol)
        found = self._looked_up.get(lookup)
        if found is None:
            key = self.keys.key(source.pod, source.place.address, source.outside, dst, port, protocol)
            found = self._looked_up[lookup] = self.key_number(key, source, address, port, protocol)
        return found

    def _made(self, number: int, address: IPAddress, port: int, exact: bool) -> Cell:
        """Key `number`'s cell for a destination at `address` on `port`: the representative's, its address
        and port replaced (`exact`) when they differ."""
        cell, at, at_port, _ = self.answered(number)
        if not exact or (at == address and at_port == port):
            return cell
        return Cell(
            cell.mark,
            _moved(cell.reference, at, address, at_port, port),
            _moved(cell.compiled, at, address, at_port, port),
        )

    def _targets(self, version: int) -> tuple[list[IPAddress | None], list[int | None]]:
        """Per pod: its address of IP `version` (None: it has none), and its destination role (None: its
        cells are not looked up by role: it is keyed alone, or has no such address)."""
        found = self._by_version.get(version)
        if found is None:
            addresses = [self.address(i, version) for i in range(len(self.pods))]
            special, keys = self.keys.special, self.keys
            roles = [
                None if special[i] or a is None else keys.target_role(self.class_of[i], version)
                for i, a in enumerate(addresses)
            ]
            found = self._by_version[version] = (addresses, roles)
        return found

    def source_role(self, source: Source) -> int | None:
        """The row's source role (`Keys.source_role`); None when its cells are keyed alone."""
        keys, here, me = self.keys, source.place.address, source.pod
        if me is not None:
            alone, src = keys.special[me], self.class_of[me]
        else:
            alone, src = keys.outside_alone(here), -1 - source.outside
        return None if alone else keys.source_role(src, here.version)

    def plan_rows(
        self, sources: Iterable[Source], columns: Sequence[tuple[int, int, int, Protocol]]
    ) -> Iterator[list[Cell | int]]:
        """`plan` of each source's row, its targets given by `columns`: (a pod, another pod of its class or
        the same, port, protocol), the first pod unless it is the row's own, then the other. Rows of one
        source role plan alike but in a few columns, so a role's first row is planned whole and the
        others are copied from it, but for the columns that can differ: those whose first pod is either
        row's own pod, or is keyed alone (its cells are per source pod). What a key takes from each
        column (`targets`) is worked out once per IP family of the rows."""
        special = self.keys.special
        own: dict[int, list[int]] = {}  # columns by their first pod
        for c, (first, _, _, _) in enumerate(columns):
            own.setdefault(first, []).append(c)
        alone = [c for c, (first, _, _, _) in enumerate(columns) if special[first]]
        by_role: dict[int, tuple[list[Cell | int], int | None]] = {}

        def target(c: int, pod: int | None) -> tuple[int, int, Protocol]:
            first, second, port, protocol = columns[c]
            return (second if first == pod else first, port, protocol)

        firsts = [(first, port, protocol) for first, _, port, protocol in columns]  # a row's targets, but its own
        shared: dict[int, Targets] = {}  # per IP version: the firsts as `targets` gives them

        for source in sources:
            role = self.source_role(source)
            found = by_role.get(role) if role is not None else None
            if found is None:
                version = source.place.address.version
                targets = shared.get(version)
                if targets is None:
                    targets = shared[version] = self.targets(firsts, version)
                mine = own.get(source.pod, []) if source.pod is not None else []
                planned = self.plan_row(source, targets, {c: target(c, source.pod) for c in mine})
                if role is not None:
                    by_role[role] = (planned, source.pod)
                yield planned
                continue
            first_row, first_pod = found
            row = list(first_row)
            mine = own.get(source.pod, []) if source.pod is not None else []
            theirs = own.get(first_pod, []) if first_pod is not None else []
            redo = [*theirs, *mine, *alone] if first_pod != source.pod else alone
            for c, cell in zip(redo, self.plan(source, [target(c, source.pod) for c in redo]), strict=True):
                row[c] = cell
            yield row

    def plan(self, source: Source, targets: Iterable[tuple[int, int, Protocol]]) -> list[Cell | int]:
        """Per target, the cell from `source` when it needs no journey, else its key's number (the journey
        asked, made by the next `settle`), as `_plan_one` makes them."""
        here = source.place.address
        if self.source_role(source) is None:  # keyed alone: cell by cell
            return [self._plan_cell(source, *target) for target in targets]
        me = source.pod
        side = self.keys.source_side(self.class_of[me] if me is not None else -1 - source.outside, here)
        pairs: dict[int, tuple[int, int, int]] = {}
        return [self._plan_one(source, side, dst, port, protocol, pairs) for dst, port, protocol in targets]

    def _plan_one(
        self,
        source: Source,
        side: SourceSide,
        dst: int,
        port: int,
        protocol: Protocol,
        pairs: dict[int, tuple[int, int, int]],
    ) -> Cell | int:
        """The cell from `source` (not keyed alone; `side`: its source side) to `dst` when it needs no
        journey, else its key's number. A key is made as `Keys.class_key` makes it, from what the row shares
        (the source's side of `Keys.pair`), what a destination role does (the pair: kept in `pairs`, per
        destination role) and what a column does (`Keys.column`), each worked out once. In a row not keyed
        alone, a destination not keyed alone is at the source's address only when it is the source pod
        itself (an address two running pods share, or an outside client at a pod's address, is keyed
        alone), so `dst == source.pod` finds the cells of a pod to itself."""
        version = source.place.address.version
        addresses, roles = self._targets(version)
        role = roles[dst]
        if role is None or dst == source.pod:
            return self._plan_cell(source, dst, port, protocol)
        keys, cls = self.keys, self.class_of[dst]
        pair = pairs.get(role)
        if pair is None:
            pair = pairs[role] = keys.joined(side, keys.target_side(cls, version))
        column = keys.columns.get((cls, port, protocol))
        if column is None:
            column = keys.column(cls, port, protocol)
        matching, atom = column
        key = (pair[0], protocol, atom, pair[1] & matching, pair[2] & matching)
        found = self._ids.get(key)
        if found is None:
            address = addresses[dst]
            assert address is not None  # a pod without an address of the family has no role
            found = self.key_number(key, source, address, port, protocol)
        return found

    def targets(self, listed: list[tuple[int, int, Protocol]], version: int) -> Targets:
        """Targets (pod, port, protocol) of rows of IP `version`, with what each cell's key takes from its
        target whatever the row (`Targets`), for `plan_row`."""
        roles_of = self._targets(version)[1]
        class_of, keys, columns = self.class_of, self.keys, self.keys.columns
        entries: list[tuple[int, Protocol, int, int]] = []
        alone: list[int] = []
        roles: dict[int, int] = {}
        by_pod: dict[int, list[int]] = {}
        for c, (dst, port, protocol) in enumerate(listed):
            by_pod.setdefault(dst, []).append(c)
            role = roles_of[dst]
            if role is None:
                alone.append(c)
                entries.append(_NO_ROLE)
                continue
            cls = class_of[dst]
            roles.setdefault(role, cls)
            column = columns.get((cls, port, protocol))
            if column is None:
                column = keys.column(cls, port, protocol)
            entries.append((role, protocol, column[1], column[0]))
        return Targets(
            listed, entries, alone, {role: keys.target_side(cls, version) for role, cls in roles.items()}, by_pod
        )

    def plan_row(
        self, source: Source, targets: Targets, instead: Mapping[int, tuple[int, int, Protocol]] | None = None
    ) -> list[Cell | int]:
        """`plan(source, targets.listed)`, but for the targets `instead` replaces (by position); the same
        cells and key numbers, made faster for a long row: every target's key is made from its `Targets`
        entry and looked up at once, as if each had a role and were not the source pod; then, in order (so
        that keys are numbered as `plan` numbers them), the others are planned one by one (`_plan_one`),
        and the keys not met before this row are numbered."""
        listed = targets.listed
        if instead:
            listed = list(listed)
            for c, target in instead.items():
                listed[c] = target
        if self.source_role(source) is None:  # keyed alone: cell by cell
            return [self._plan_cell(source, *target) for target in listed]
        keys, here, me = self.keys, source.place.address, source.pod
        version = here.version
        side = keys.source_side(self.class_of[me] if me is not None else -1 - source.outside, here)
        # Keys.joined, per destination role, inline: where both are, and the rules each side has that pick the other
        where, egress, picking_source = side
        parts, outs, ins = {-1: -1}, {-1: -1}, {-1: -1}  # (what `_NO_ROLE` entries read)
        for role, (place, ingress, picking_target) in targets.sides.items():
            parts[role], outs[role], ins[role] = where | place, egress & picking_target, ingress & picking_source
        wanted = [(parts[r], p, a, outs[r] & m, ins[r] & m) for r, p, a, m in targets.entries]
        ids = self._ids
        made: list[Cell | int | None] = list(map(ids.get, wanted))
        one_by_one = {*targets.alone, *(targets.by_pod.get(me, ()) if me is not None else ()), *(instead or ())}
        later = set(one_by_one)
        if None in made:  # keys not met before this row
            c = made.index(None)
            while True:
                later.add(c)
                try:
                    c = made.index(None, c + 1)
                except ValueError:
                    break
        addresses = self._targets(version)[0]
        pairs: dict[int, tuple[int, int, int]] = {}
        for c in sorted(later):
            dst, port, protocol = listed[c]
            if c in one_by_one:
                made[c] = self._plan_one(source, side, dst, port, protocol, pairs)
                continue
            found = ids.get(wanted[c])  # (met in this row, maybe)
            if found is None:
                address = addresses[dst]
                assert address is not None  # a pod without an address of the family has no role
                found = self.key_number(wanted[c], source, address, port, protocol)
            made[c] = found
        return cast(list[Cell | int], made)

    def cells(
        self,
        source: Source,
        targets: Iterable[tuple[int, int, Protocol]],
        planned: Sequence[Cell | int],
        *,
        exact: bool,
    ) -> list[Cell]:
        """The cells `plan(source, targets)` planned, their journeys made (`settle`) if need be (`exact=False`:
        as their keys' representatives give them, which needs no targets)."""
        self.settle()
        answers = self._answers
        if not exact:
            made = cast(list[Answer], answers)  # settled: no None left
            return [p if isinstance(p, Cell) else made[p][0] for p in planned]
        addresses = self._targets(source.place.address.version)[0]
        out: list[Cell] = []
        for (dst, port, _), p in zip(targets, planned, strict=True):
            if isinstance(p, Cell):
                out.append(p)
            else:
                address = addresses[dst]
                assert address is not None
                out.append(self._made(p, address, port, True))
        return out

    def marks(self, planned: Sequence[Cell | int]) -> list[str]:
        """The marks of the cells `plan` planned, their journeys made (`settle`): `cells(..., exact=False)`'s
        marks."""
        self.settle()
        marks = self._marks
        return [marks[p] if isinstance(p, int) else p.mark for p in planned]

    def row(self, source: Source, targets: Sequence[tuple[int, int, Protocol]], *, exact: bool = True) -> list[Cell]:
        """`cell(source, dst, port, protocol)` for each target in turn (`plan`, then `cells`)."""
        return self.cells(source, targets, self.plan(source, targets), exact=exact)

    def survey(self) -> Survey:
        """Every cell's key evaluated, cells and disagreements counted pod by pod (survey.py)."""
        from .survey import survey  # (the table does not need it)

        return survey(self)
