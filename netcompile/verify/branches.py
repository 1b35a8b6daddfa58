"""The random choices of a packet's path, enumerated: what both interpreters share (not the semantics of
either back end, only the bookkeeping of replaying every sequence of choices).

An interpreter walks a packet once for a given sequence of choices (nftables' `numgen random mod N`, the
statistic match of iptables) and says which choices it used, how many options each had, the probability of
that sequence and the result. `branches` backtracks over every sequence, in order; `outcome` sums equal
results into one `Outcome`, keeping the path of the first branch of each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from typing import NamedTuple

from ..values import Record
from .packet import Outcome, Result

__all__ = ["Branch", "Pass", "branches", "outcome"]


class Branch(NamedTuple):
    """One way the packet can go: the choices' probability, the result, the rules matched."""

    probability: Fraction
    result: Result
    path: tuple[str, ...]


class Pass(Record):
    """What one walk with given choices did: the choices it made (replayed ones first), the number of
    options of each, the probability of those choices, the result and the rules matched (a plain record,
    `values.Record`: the interpreters' helper process imports it on matrix's critical path)."""

    _fields = ("choices", "sizes", "probability", "result", "path")
    __slots__ = _fields

    def __init__(
        self, choices: list[int], sizes: list[int], probability: Fraction, result: Result, path: tuple[str, ...]
    ) -> None:
        self.choices = choices
        self.sizes = sizes
        self.probability = probability
        self.result = result
        self.path = path


def branches(walk: Callable[[list[int]], Pass]) -> Iterator[Branch]:
    """Every sequence of choices, in order: `walk(choices)` replays `choices` and picks 0 for any further one."""
    choices: list[int] = []
    while True:
        done = walk(choices)
        yield Branch(done.probability, done.result, done.path)
        used, sizes = done.choices, done.sizes
        index = len(sizes) - 1  # the last choice that can still be increased
        while index >= 0 and used[index] == sizes[index] - 1:
            index -= 1
        if index < 0:
            return
        choices = [*used[:index], used[index] + 1]


def outcome(every: Iterable[Branch]) -> Outcome:
    """The distribution of results, with the path of each (the first branch that gave it)."""
    distribution: dict[Result, Fraction] = {}
    paths: dict[Result, tuple[str, ...]] = {}
    for probability, result, path in every:
        before = distribution.get(result)
        distribution[result] = probability if before is None else before + probability
        paths.setdefault(result, path)
    found = Outcome(distribution)
    if len(distribution) == 1:
        found.path = list(next(iter(paths.values())))
        return found
    for result, probability in sorted(distribution.items(), key=lambda kv: (-kv[1], kv[0].sort_key())):
        found.path.append(f"{probability} {result}:")
        found.path.extend(f"  {step}" for step in paths[result])
    return found
