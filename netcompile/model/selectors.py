"""Label selectors as data (metav1.LabelSelector and Service selectors).

Matching is semantics, so it is not here: the compiler, the reference evaluator, the completion step
and the reference checks each implement it on their own. An empty selector matches everything. An
*absent* selector is the caller's business: it means "nothing" for a Service (no selector: endpoints
come from slices) and for a policy peer that lacks it, which callers express as `None`, never as an
empty selector.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..values import Frozen, set_field


class Operator(StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


@dataclass(init=False, slots=True, eq=False, repr=False)
class Requirement(Frozen):
    """One of `matchExpressions`: a key, an operator and values."""

    key: str
    operator: Operator
    values: frozenset[str]

    def __init__(self, key: str, operator: Operator, values: frozenset[str]) -> None:
        set_field(self, "key", key)
        set_field(self, "operator", operator)
        set_field(self, "values", values)


@dataclass(init=False, slots=True, eq=False, repr=False)
class LabelSelector(Frozen):
    """matchLabels and matchExpressions, ANDed; `LabelSelector()` selects everything.

    Hashed and compared in volume: its own `__eq__` and `__hash__`, as a dataclass generates them (a call
    quicker than Value's; tests/test_prefix_values.py checks them against its twin's)."""

    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[Requirement, ...] = ()

    def __init__(
        self, match_labels: tuple[tuple[str, str], ...] = (), match_expressions: tuple[Requirement, ...] = ()
    ) -> None:
        set_field(self, "match_labels", match_labels)
        set_field(self, "match_expressions", match_expressions)

    def __eq__(self, other: Any) -> bool:
        if other.__class__ is self.__class__:
            return (self.match_labels, self.match_expressions) == (other.match_labels, other.match_expressions)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.match_labels, self.match_expressions))

    @property
    def is_empty(self) -> bool:
        return not self.match_labels and not self.match_expressions

    def __str__(self) -> str:
        """kubectl's rendering: `app=web,tier in (a,b),!legacy`; empty is `<all>`."""
        parts = [f"{k}={v}" for k, v in self.match_labels]
        for req in self.match_expressions:
            values = ",".join(sorted(req.values))
            parts.append(
                {
                    Operator.IN: f"{req.key} in ({values})",
                    Operator.NOT_IN: f"{req.key} notin ({values})",
                    Operator.EXISTS: req.key,
                    Operator.DOES_NOT_EXIST: f"!{req.key}",
                }[req.operator]
            )
        return ",".join(parts) if parts else "<all>"


def selector_from_labels(labels: Mapping[str, str]) -> LabelSelector:
    """A Service's `spec.selector` (a plain map) as a LabelSelector."""
    return LabelSelector(match_labels=tuple(sorted(labels.items())))
