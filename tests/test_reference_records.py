"""The reference's and the matrix's classes built on `values.Value` (view.Endpoint; services.Frontend,
EndpointLists, Target; analysis PodClass and Source; the matrix's rows, Group) compare, hash, print,
pickle and replace exactly as the same classes made by `dataclasses.dataclass(frozen=True, slots=True)`
do: tests/test_prefix_values.py's checks, on these modules' classes.
"""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import fields
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netcompile.analysis.classes import PodClass
from netcompile.analysis.rows import Source
from netcompile.cli.matrix_groups import Group
from netcompile.values import Value
from netcompile.verify.reference.services import EndpointLists, Frontend, Target
from netcompile.verify.reference.view import Endpoint
from tests.test_prefix_values import ATOMS, ODD, _make, _twin

CLASSES: list[type[Any]] = [Endpoint, Frontend, EndpointLists, Target, PodClass, Source, Group]
TWINS = {kind: _twin(kind) for kind in CLASSES}


def test_every_class_is_a_frozen_value() -> None:
    for kind in CLASSES:
        assert issubclass(kind, Value) and kind.__dataclass_params__.frozen  # type: ignore[attr-defined]


@st.composite
def _pairs(draw: st.DrawFn) -> tuple[type, list[Any], list[Any]]:
    kind = draw(st.sampled_from(CLASSES))
    size = len(fields(kind))
    first = draw(st.lists(ATOMS, min_size=size, max_size=size))
    second = draw(st.one_of(st.just(list(first)), st.lists(ATOMS, min_size=size, max_size=size)))
    if size and draw(st.booleans()):
        second[draw(st.integers(0, size - 1))] = draw(ATOMS)
    return kind, first, second


@settings(max_examples=300, deadline=None)
@given(_pairs())
def test_equality_hash_and_repr_as_dataclasses_make_them(case: tuple[type, list[Any], list[Any]]) -> None:
    kind, first, second = case
    twin = TWINS[kind]
    a, b = _make(kind, first), _make(kind, second)
    ta, tb = _make(twin, first), _make(twin, second)
    assert (a == b) == (ta == tb) and (a != b) == (ta != tb)
    try:
        expected: int | None = hash(ta)
    except TypeError:
        expected = None
    if expected is None:
        with pytest.raises(TypeError):
            hash(a)
    else:
        assert hash(a) == expected
    assert repr(a) == repr(ta)
    assert a != ta and ta != a


@pytest.mark.parametrize("kind", CLASSES, ids=lambda c: c.__qualname__)
def test_the_dataclass_machinery_is_the_same(kind: type) -> None:
    twin = TWINS[kind]
    assert [(f.name, f.default, f.compare, f.hash, f.repr, f.init) for f in fields(kind)] == [
        (f.name, f.default, f.compare, f.hash, f.repr, f.init) for f in fields(twin)
    ]
    assert getattr(kind, "__match_args__", None) == getattr(twin, "__match_args__", None)
    made = _make(kind, [ODD if n % 2 else (n, "v") for n in range(len(fields(kind)))])
    assert not hasattr(made, "__dict__")
    for f in fields(kind):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(made, f.name, 1)
    copied = pickle.loads(pickle.dumps(made))
    assert copied.__class__ is kind and repr(copied) == repr(made)
    replaced = dataclasses.replace(made)
    assert replaced is not made and replaced == made
