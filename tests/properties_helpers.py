"""Helpers for the mutation tests."""

from __future__ import annotations

from collections.abc import Callable

from netcompile.golden import discover
from tests.conftest import ROOT


def mutation_applies(mutate: Callable[[str], str], case: str) -> bool:
    """Does `mutate` change the compiled output of golden case `case`?"""
    (found,) = [c for c in discover(ROOT / "golden") if c.name == case]
    text = found.compile().text
    return mutate(text) != text
