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

`Frozen` goes one step further for classes imported at start-up (the model, the loader's values,
diagnostics): a frozen dataclass also generates `__init__`, `__setattr__` and `__delattr__` by `exec`
(about 0.3 ms a class here, a plain class's a tenth of it). Such a class is declared

    @dataclass(init=False, slots=True, eq=False, repr=False)
    class Name(Frozen):
        a: int
        b: str = ""

        def __init__(self, a: int, b: str = "") -> None:
            set_field(self, "a", a)
            set_field(self, "b", b)

and writes the `__init__` a dataclass would write (the same parameters, in order, with the same defaults;
tests/test_prefix_values.py compares each with its twin's); `Frozen` refuses assignment and deletion
(`FrozenInstanceError`, as a frozen dataclass) and pickles and copies an instance by its fields, as a
frozen dataclass does (without calling `__init__`).

`Record` is the same idea for plain classes that are not dataclasses at all (the interpreter's syntax
tree, tokens and linked chains, made in volume and imported on `matrix`'s critical path): a class names
its fields in order in `_fields` (which are also its `__slots__`) and writes its own `__init__`; its repr
is a dataclass's, two records are equal when they are of the same class with equal fields, and a record
is not hashable unless its class says how.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import Field, FrozenInstanceError, fields
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


class Frozen(Value):
    """A `Value` that writes its own `__init__` and is frozen without generated methods (see the module's
    docstring): `set_field` is how its `__init__` sets a field."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __getstate__(self) -> tuple[Any, ...]:  # pickled and copied as a frozen dataclass: without __init__
        return field_values(self.__class__)(self)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for f, value in zip(fields(self), state, strict=True):  # type: ignore[arg-type]  # a Frozen is a dataclass
            object.__setattr__(self, f.name, value)


set_field = object.__setattr__  # how a Frozen's __init__ sets its fields (Frozen.__setattr__ refuses)


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
