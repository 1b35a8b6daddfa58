"""`validation.Field` (a `values.Record`, no longer a dataclass) is made, printed and compared as the slots
dataclass it was: the same parameters and defaults, a dataclass's repr, equality over every field, not
hashable, no __dict__."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import pytest

from netcompile.load.documents import YMap
from netcompile.load.validation import Field, Report


@dataclass(slots=True)
class _Twin:
    report: Any
    value: Any
    up: Any = None
    step: str = ""
    parent: Any = None
    key: Any = None


def test_field_is_made_as_the_dataclass_was() -> None:
    ours, theirs = inspect.signature(Field), inspect.signature(_Twin)
    assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == [
        (p.name, p.kind, p.default) for p in theirs.parameters.values()
    ]


@pytest.mark.parametrize("args", [(1, 2), (1, [3], None, "x"), ("r", {"a": 1}, 5, "[0]", [9], 0), (1, 2, 3, 4, 5, 6)])
def test_field_prints_and_compares_as_the_dataclass_did(args: tuple[Any, ...]) -> None:
    made, twin = Field(*args), _Twin(*args)
    assert repr(made) == repr(twin).replace("_Twin(", "Field(")
    for other in ([*args, *[None, "", None, None][len(args) - 2 :]], [*args[:-1], "changed"]):
        other = other[:6]
        assert (made == Field(*other)) == (twin == _Twin(*other))
    assert made != twin and made.__eq__(args) is NotImplemented
    with pytest.raises(TypeError):
        hash(made)
    assert not hasattr(made, "__dict__")


def test_field_reads_and_reports_as_before() -> None:
    errors: list[Any] = []
    body = YMap("f.yaml", (3 << 20) | 1)
    body["spec"] = YMap("f.yaml", (4 << 20) | 3)
    body.positions["spec"] = (4 << 20) | 3
    root = Field(Report('Pod "default/p"', errors), body)
    root.child("spec").child("ports").error("Required value")
    assert [str(d) for d in errors] == ['f.yaml:4:3: Pod "default/p": spec.ports: Required value']
