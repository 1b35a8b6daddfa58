"""Bases of value classes that compare, hash and print as dataclasses do, by methods written once here
rather than generated (with `exec`) for every class: `Value` for frozen dataclasses, `Record` for plain
classes.

Declare a value as

    @dataclass(frozen=True, slots=True, eq=False, repr=False)
    class Name(Value):
        ...

and it behaves as `@dataclass(frozen=True, slots=True)` would make it: `==` only between instances of
the same class, over the fields with `compare=True`, in order, as tuples; the hash of the tuple of the
fields a dataclass hashes (`hash=True`, or `hash=None` and `compare=True`); the repr `Name(a=1, b='x')`
of the fields with `repr=True`. `dataclasses.replace`, `fields`, pickling and `__match_args__` are the
dataclass machinery's own, untouched. What is saved is import time: each generated method is a small
`exec`, and a class that asks for `eq=False, repr=False` skips three of them (`__eq__`, `__hash__`,
`__repr__`). tests/test_prefix_values.py checks every such class against a twin made by `dataclass`.

The methods here cost a little more per call than generated ones (a look-up of the class's getters):
classes compared or hashed in volume at run time (the evaluators' results, selectors, policy ports) keep
the generated methods.

`Record` is the same idea for plain classes that are not dataclasses at all (the interpreter's syntax
tree, tokens and linked chains, made in volume and imported on `matrix`'s critical path): a class names
its fields in order in `_fields` (which are also its `__slots__`) and writes its own `__init__`; its repr
is a dataclass's, two records are equal when they are of the same class with equal fields, and a record
is not hashable unless its class says how.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import Field, fields
from operator import attrgetter
from typing import Any, ClassVar

Getter = Callable[[Any], tuple[Any, ...]]


class Value:
    """Equality, hash and repr of a frozen dataclass, from its fields (see the module's docstring)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            try:
                compared = _COMPARED[self.__class__]
            except KeyError:
                compared = _learn(self.__class__)[0]
            return compared(self) == compared(other)
        return NotImplemented

    def __hash__(self) -> int:
        try:
            hashed = _HASHED[self.__class__]
        except KeyError:
            hashed = _learn(self.__class__)[1]
        return hash(hashed(self))

    def __repr__(self) -> str:
        names = _SHOWN.get(self.__class__)
        if names is None:
            names = _learn(self.__class__)[2]
        shown = ", ".join([f"{name}={getattr(self, name)!r}" for name in names])
        return f"{self.__class__.__qualname__}({shown})"


def _getter(chosen: list[Field[Any]]) -> Getter:
    """What gives the values of the `chosen` fields of an instance, as a tuple (one value too: the
    dataclass compares and hashes tuples, which differs for a value unequal to itself, as NaN)."""
    names = [f.name for f in chosen]
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        one = attrgetter(names[0])
        return lambda value: (one(value),)
    return lambda value: ()


def _learn(kind: type[Value]) -> tuple[Getter, Getter, tuple[str, ...]]:
    """The getters of the compared and the hashed fields of `kind`, and the names it shows; kept."""
    every = fields(kind)  # type: ignore[arg-type]  # every Value is a dataclass
    compared = _COMPARED[kind] = _getter([f for f in every if f.compare])
    hashed = _HASHED[kind] = _getter([f for f in every if (f.compare if f.hash is None else f.hash)])
    shown = _SHOWN[kind] = tuple(f.name for f in every if f.repr)
    return compared, hashed, shown


def field_values(kind: type[Value]) -> Getter:
    """What gives an instance of `kind` the values of all its fields, in order (a tuple); kept."""
    found = _ALL.get(kind)
    if found is None:
        found = _ALL[kind] = _getter(list(fields(kind)))  # type: ignore[arg-type]  # every Value is a dataclass
    return found


_ALL: dict[type[Value], Getter] = {}
_COMPARED: dict[type[Value], Getter] = {}
_HASHED: dict[type[Value], Getter] = {}
_SHOWN: dict[type[Value], tuple[str, ...]] = {}


class Record:
    """A base of plain classes whose `_fields` name their fields, in order (see the module's docstring)."""

    _fields: ClassVar[tuple[str, ...]] = ()
    __slots__ = ()

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self._fields)

    # (defining __eq__ leaves __hash__ None, as in a dataclass with eq that is not frozen)
