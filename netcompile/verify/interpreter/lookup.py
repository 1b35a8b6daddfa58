"""Sets and maps as Python structures for lookups: exact keys in a dict, intervals bisected, the rest scanned.

Prefix and range elements of a single-field interval set become a sorted list of disjoint intervals
searched by bisection; concatenations with ranges are a short list scanned after the dict. Conflicts
nft refuses (overlapping intervals, one key with two values) are refused here too. A lookup answers
with the element found (its value, and its comment for the path).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from operator import attrgetter

from .errors import InterpreterError
from .syntax import Element, SetDef
from .vocabulary import Interval, Key

__all__ = ["Lookup"]

_KEY, _RANGED = attrgetter("key"), attrgetter("ranged")


def _lows(elements: list[Element], arity: int) -> list[Key]:
    """Each element's key as the low ends of its fields (a point's values: an int for one field)."""
    keys = map(_KEY, elements)
    if arity == 1:
        return [low for ((low, _),) in keys]
    if arity == 3:  # peer . protocol . port: the bulk of a policy ruleset's sets, unpacked in place
        return [(a, b, c) for (a, _), (b, _), (c, _) in keys]
    return [tuple([low for low, _ in key]) for key in keys]


class Lookup:
    """A set or map ready for lookups: exact keys in a dict, single-field intervals bisected, the rest scanned."""

    __slots__ = ("ends", "entries", "exact", "find", "scan", "starts")

    def __init__(self, definition: SetDef, error: Callable[[str, int], InterpreterError]) -> None:
        self.exact: dict[Key, Element] = {}
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.entries: list[Element] = []
        self.scan: list[tuple[tuple[Interval, ...], Element]] = []
        elements = definition.elements
        if "interval" not in definition.flags:
            self._points(definition, elements, error, ranges_refused=True)
        elif len(definition.key_types) == 1:
            self._intervals(definition, error)
        else:
            points = []
            for element in elements:
                if not element.ranged or all(lo == hi for lo, hi in element.key):  # a point (unranged: always)
                    points.append(element)
                else:
                    self.scan.append((element.key, element))
            self._points(definition, points, error, ranges_refused=False)
        self.find: Callable[[Key], Element | None] = self.get if self.starts or self.scan else self.exact.get

    def _points(
        self,
        definition: SetDef,
        elements: list[Element],
        error: Callable[[str, int], InterpreterError],
        ranges_refused: bool,
    ) -> None:
        """Elements whose every field is one value, in the dict (a key given twice must keep its value); in a
        set without `flags interval` (`ranges_refused`), an element written as a prefix or range is refused
        in its turn. Made at once when every key is given once and none is refused; else element by element,
        so the first error in the elements' order is the one raised."""
        keys = _lows(elements, len(definition.key_types))
        exact = dict(zip(keys, elements, strict=True))
        if len(exact) == len(keys) and not (ranges_refused and any(map(_RANGED, elements))):
            self.exact = exact  # every key once, and no element to refuse
            return
        exact = self.exact
        for element, key in zip(elements, keys, strict=True):
            if element.ranged and ranges_refused:
                raise error(f"set {definition.name!r}: prefix or range element needs 'flags interval'", element.line)
            old = exact.get(key)
            if old is None:
                exact[key] = element
            elif old.value != element.value:
                raise error(f"set {definition.name!r}: element given twice with different values", element.line)

    def _intervals(self, definition: SetDef, error: Callable[[str, int], InterpreterError]) -> None:
        """A single-field interval set: disjoint intervals, sorted (an element given twice is merged, as nft does)."""
        ranges = sorted(definition.elements, key=_KEY)  # by its one interval
        for element in ranges:
            lo, hi = element.key[0]
            if self.starts and lo <= self.ends[-1]:
                if (lo, hi) == (self.starts[-1], self.ends[-1]) and self.entries[-1].value == element.value:
                    continue  # nft merges an element given twice
                raise error(f"set {definition.name!r}: conflicting intervals specified", element.line)
            self.starts.append(lo)
            self.ends.append(hi)
            self.entries.append(element)

    def get(self, key: Key) -> Element | None:
        """The element that holds `key` (`find`: the same, by the dict alone when it holds every element)."""
        entry = self.exact.get(key)
        if entry is not None:
            return entry
        if self.starts:
            assert isinstance(key, int)
            index = bisect_right(self.starts, key) - 1
            if index >= 0 and key <= self.ends[index]:
                return self.entries[index]
        if self.scan:
            assert isinstance(key, tuple)
            if len(key) == 3:  # peer . protocol . port: each field against its interval, unpacked in place
                k0, k1, k2 = key
                for ((lo0, hi0), (lo1, hi1), (lo2, hi2)), entry in self.scan:
                    if lo0 <= k0 <= hi0 and lo1 <= k1 <= hi1 and lo2 <= k2 <= hi2:
                        return entry
                return None
            for intervals, entry in self.scan:
                if all(lo <= k <= hi for k, (lo, hi) in zip(key, intervals, strict=True)):
                    return entry
        return None
