"""Plain records: the repr and the equality `@dataclass` would write, read from a class's `_fields`.

The syntax tree, the tokens and the linked chains are plain classes with `__slots__` and an `__init__`
rather than dataclasses: `@dataclass` generates and compiles code for each class when its module is
imported (about half a millisecond a class), and `matrix`'s helper process imports this package on its
critical path. A record names its fields in order in `_fields` (as a named tuple does), which are also its
`__slots__`. Its repr is a dataclass's (`Name(field=value, ...)`, fields in that order), so
the syntax tree reads as before; two records are equal when they are of the same class with equal fields;
a record is not hashable unless its class says how.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = ["Record"]


class Record:
    """A base of plain classes whose `_fields` name their fields, in order."""

    _fields: ClassVar[tuple[str, ...]] = ()
    __slots__ = ()

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__qualname__}({fields})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self._fields)

    # (defining __eq__ leaves __hash__ None, as in a dataclass with eq that is not frozen)
