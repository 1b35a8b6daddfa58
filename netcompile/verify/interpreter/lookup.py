"""Sets and maps as Python structures for lookups: exact keys in a dict, intervals bisected, the rest scanned.

Prefix and range elements of a single-field interval set become a sorted list of disjoint intervals
searched by bisection; concatenations with ranges are a short list scanned after the dict. Conflicts
nft refuses (overlapping intervals, one key with two values) are refused here too.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

from .errors import InterpreterError
from .syntax import SetDef, Verdict
from .vocabulary import Interval, Key

__all__ = ["Entry", "Lookup"]


@dataclass(slots=True)  # not frozen (nobody changes one): one per element, and a frozen __init__ costs 2x
class Entry:
    value: Verdict | tuple[int, ...] | None
    comment: str | None


class Lookup:
    """A set or map ready for lookups: exact keys in a dict, single-field intervals bisected, the rest scanned."""

    __slots__ = ("ends", "entries", "exact", "scan", "starts")

    def __init__(self, definition: SetDef, error: Callable[[str, int], InterpreterError]) -> None:
        self.exact: dict[Key, Entry] = {}
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.entries: list[Entry] = []
        self.scan: list[tuple[tuple[Interval, ...], Entry]] = []
        interval = "interval" in definition.flags
        arity = len(definition.key_types)
        ranges: list[tuple[Interval, Entry, int]] = []
        for element in definition.elements:
            if element.ranged and not interval:
                raise error(f"set {definition.name!r}: prefix or range element needs 'flags interval'", element.line)
            entry = Entry(element.value, element.comment)
            if arity == 1 and interval:
                ranges.append((element.key[0], entry, element.line))
            elif not element.ranged or all(lo == hi for lo, hi in element.key):  # a point (unranged: always)
                key: Key = element.key[0][0] if arity == 1 else tuple([lo for lo, _ in element.key])
                old = self.exact.get(key)
                if old is not None and old.value != entry.value:
                    raise error(f"set {definition.name!r}: element given twice with different values", element.line)
                if old is None:
                    self.exact[key] = entry
            else:
                self.scan.append((element.key, entry))
        ranges.sort(key=lambda r: r[0])
        for (lo, hi), entry, line in ranges:
            if self.starts and lo <= self.ends[-1]:
                if (lo, hi) == (self.starts[-1], self.ends[-1]) and self.entries[-1].value == entry.value:
                    continue  # nft merges an element given twice
                raise error(f"set {definition.name!r}: conflicting intervals specified", line)
            self.starts.append(lo)
            self.ends.append(hi)
            self.entries.append(entry)

    def get(self, key: Key) -> Entry | None:
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
            for intervals, entry in self.scan:
                if all(lo <= k <= hi for k, (lo, hi) in zip(key, intervals, strict=True)):
                    return entry
        return None
