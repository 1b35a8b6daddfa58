"""The compiler's and its IR's frozen values built on `values.Value` (eq=False, repr=False: fewer generated
methods, so they import faster) compare, hash and print as the same classes made by
`dataclass(frozen=True, slots=True)` do: each against its twin, as tests/test_prefix_values.py checks the
model's."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import fields
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netcompile.compile.allow import Grant
from netcompile.compile.frontends import Frontend, Lists, LocalDetector
from netcompile.compile.policies import Direction
from netcompile.compile.reuse import NodeInputs, _Reads
from netcompile.compile.services import ListRole
from netcompile.nft.ir import BaseChain, Rule
from netcompile.nft.types import AddressFamily
from netcompile.values import Value
from tests.test_prefix_values import ATOMS, _make, _twin

CLASSES: list[type[Any]] = [
    *(Grant, Frontend, Lists, LocalDetector, Direction, NodeInputs, _Reads, ListRole),
    *(BaseChain, Rule, AddressFamily),  # nft/
]
TWINS = {kind: _twin(kind) for kind in CLASSES}


def test_the_compilers_values_are_values() -> None:
    assert all(issubclass(kind, Value) and kind.__dataclass_params__.frozen for kind in CLASSES)  # type: ignore[attr-defined]


@st.composite
def pairs(draw: st.DrawFn) -> tuple[type, list[Any], list[Any]]:
    kind = draw(st.sampled_from(CLASSES))
    size = len(fields(kind))
    first = draw(st.lists(ATOMS, min_size=size, max_size=size))
    second = draw(st.one_of(st.just(list(first)), st.lists(ATOMS, min_size=size, max_size=size)))
    if draw(st.booleans()):
        second[draw(st.integers(0, size - 1))] = draw(ATOMS)
    return kind, first, second


@settings(max_examples=300, deadline=None)
@given(pairs())
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


@pytest.mark.parametrize("kind", CLASSES, ids=lambda c: c.__qualname__)
def test_the_dataclass_machinery_is_the_same(kind: type) -> None:
    twin = TWINS[kind]
    assert getattr(kind, "__match_args__", None) == getattr(twin, "__match_args__", None)
    made = _make(kind, [(index, "v") for index in range(len(fields(kind)))])
    assert not hasattr(made, "__dict__")
    for f in fields(kind):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(made, f.name, 1)
    copied = pickle.loads(pickle.dumps(made))
    assert copied.__class__ is kind and copied == made and repr(copied) == repr(made)
