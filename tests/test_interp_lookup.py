"""Sets and maps as lookups (netcompile.verify.interpreter.lookup) against a plain reading of the elements.

`Lookup` sorts a definition's elements into a dict of points, bisected intervals and a list to scan, by the
set's flags and arity, and refuses what nft refuses. The oracle here takes the elements one by one in their
order, as the first version of `Lookup` did: the same error (message and line) must come first, and every
key must find the same element (the first one that holds it, whose comment goes into the path).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from netcompile.verify.interpreter import InterpreterError
from netcompile.verify.interpreter.lookup import Lookup
from netcompile.verify.interpreter.syntax import Element, SetDef, Verdict
from netcompile.verify.interpreter.vocabulary import SERVICE, VERDICT, Interval, Key


def error(message: str, line: int) -> InterpreterError:
    return InterpreterError(message, line)


class Oracle:
    """Each element in order: a point into the dict, an interval of a one-field interval set into a sorted
    list, anything else (a concatenation with a range) into a list scanned in order."""

    def __init__(self, definition: SetDef) -> None:
        self.exact: dict[Key, Element] = {}
        self.intervals: list[tuple[Interval, Element]] = []
        self.scan: list[Element] = []
        interval = "interval" in definition.flags
        arity = len(definition.key_types)
        ranges: list[Element] = []
        for element in definition.elements:
            if element.ranged and not interval:
                raise error(f"set {definition.name!r}: prefix or range element needs 'flags interval'", element.line)
            if arity == 1 and interval:
                ranges.append(element)
            elif not element.ranged or all(lo == hi for lo, hi in element.key):
                key: Key = element.key[0][0] if arity == 1 else tuple(lo for lo, _ in element.key)
                old = self.exact.get(key)
                if old is not None and old.value != element.value:
                    raise error(f"set {definition.name!r}: element given twice with different values", element.line)
                if old is None:
                    self.exact[key] = element
            else:
                self.scan.append(element)
        ranges.sort(key=lambda e: e.key[0])
        for element in ranges:
            (lo, hi) = element.key[0]
            if self.intervals and lo <= self.intervals[-1][0][1]:
                (last_lo, last_hi), last = self.intervals[-1]
                if (lo, hi) == (last_lo, last_hi) and last.value == element.value:
                    continue
                raise error(f"set {definition.name!r}: conflicting intervals specified", element.line)
            self.intervals.append(((lo, hi), element))

    def get(self, key: Key) -> Element | None:
        if key in self.exact:
            return self.exact[key]
        for (lo, hi), element in self.intervals:
            if isinstance(key, int) and lo <= key <= hi:
                return element
        for element in self.scan:
            assert isinstance(key, tuple)
            if all(lo <= k <= hi for k, (lo, hi) in zip(key, element.key, strict=True)):
                return element
        return None


VALUES: dict[str, st.SearchStrategy[Verdict | tuple[int, ...] | None]] = {
    "set": st.none(),
    "verdict map": st.sampled_from([Verdict("accept"), Verdict("drop"), Verdict("goto", "c")]),
    "data map": st.tuples(st.integers(0, 2), st.integers(80, 81)),
}


@st.composite
def fields(draw: st.DrawFn) -> tuple[Interval, bool]:
    """A value (`ranged` False), a range or prefix, or a range of one value (`10.0.0.1/32`)."""
    low = draw(st.integers(0, 9))
    kind = draw(st.sampled_from(["point", "point", "range", "one"]))
    if kind == "range":
        return (low, draw(st.integers(low, 9))), True
    return (low, low), kind == "one"


@st.composite
def definitions(draw: st.DrawFn) -> SetDef:
    arity = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(sorted(VALUES)))
    value_types = {"set": None, "verdict map": (VERDICT,), "data map": ("ipv4_addr", SERVICE)}[kind]
    definition = SetDef("s", 1, (SERVICE,) * arity, value_types, is_map=kind != "set")
    if draw(st.booleans()):
        definition.flags.add("interval")
    for line in range(2, 2 + draw(st.integers(0, 8))):
        parts = [draw(fields()) for _ in range(arity)]
        key = tuple(interval for interval, _ in parts)
        ranged = any(r for _, r in parts)
        comment = draw(st.sampled_from([None, "", "a", "b"]))
        definition.elements.append(Element(key, draw(VALUES[kind]), comment, line, ranged))
    return definition


def built(definition: SetDef) -> Lookup | str:
    try:
        return Lookup(definition, error)
    except InterpreterError as refused:
        return f"line {refused.line}: {refused.message}"


def read(definition: SetDef) -> Oracle | str:
    try:
        return Oracle(definition)
    except InterpreterError as refused:
        return f"line {refused.line}: {refused.message}"


@settings(max_examples=1500, deadline=None)
@given(definitions())
def test_lookups_refuse_and_find_as_the_elements_read_in_order(definition: SetDef) -> None:
    lookup, oracle = built(definition), read(definition)
    if isinstance(oracle, str) or isinstance(lookup, str):
        assert lookup == oracle
        return
    arity = len(definition.key_types)
    keys: list[Key]
    if arity == 1:
        keys = list(range(-1, 11))
    else:
        axis = [0, 1, 3, 5, 8, 9, 10]
        keys = [(a, b) for a in axis for b in axis]
        if arity == 3:
            keys = [(a, b, c) for a in axis for b in axis for c in axis]
    for key in keys:
        assert lookup.get(key) is oracle.get(key), key
