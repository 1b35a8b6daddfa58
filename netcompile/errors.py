"""Diagnostics in the Kubernetes vocabulary, with the source position they came from.

Every problem with the input becomes one `Diagnostic`; loading and validation collect all of them and
raise a single `InputError` at the end, so a user sees every error at once. The rendered form is

    file:line:col: Kind "ns/name": spec.ports[0].port: Invalid value: 0: must be between 1 and 65535

with the same reason phrases as the API server (k8s.io/apimachinery/pkg/util/validation/field).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .values import Frozen, set_field


@dataclass(init=False, slots=True, eq=False, repr=False)
class Position(Frozen):
    """A place in an input file; line and column count from 1, as editors do."""

    file: str
    line: int
    col: int

    def __init__(self, file: str, line: int, col: int) -> None:
        set_field(self, "file", file)
        set_field(self, "line", line)
        set_field(self, "col", col)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


def format_value(value: Any) -> str:
    """Render a value the way apimachinery does in messages: strings quoted, the rest as JSON."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool | int | float) or value is None:
        return json.dumps(value)
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(init=False, slots=True, eq=False, repr=False)
class Diagnostic(Frozen):
    """One problem: where it is, which object, which field, and what is wrong."""

    position: Position | None
    obj: str  # 'Service "ns/name"', or "" when the problem precedes any object
    path: str  # 'spec.ports[0].port', or "" for the object or document as a whole
    message: str  # 'Invalid value: 0: must be between 1 and 65535'

    def __init__(self, position: Position | None, obj: str, path: str, message: str) -> None:
        set_field(self, "position", position)
        set_field(self, "obj", obj)
        set_field(self, "path", path)
        set_field(self, "message", message)

    def __str__(self) -> str:
        parts = [str(self.position) if self.position else "<input>"]
        if self.obj:
            parts.append(self.obj)
        if self.path:
            parts.append(self.path)
        parts.append(self.message)
        return ": ".join(parts)

    def sort_key(self) -> tuple[str, int, int, str]:
        p = self.position
        return (p.file, p.line, p.col, self.message) if p else ("", 0, 0, self.message)


class InputError(Exception):
    """Raised once with every diagnostic found; the CLI prints them and exits 2."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(sorted(set(diagnostics), key=Diagnostic.sort_key))
        super().__init__("\n".join(str(d) for d in self.diagnostics))


# Reason phrases of field.ErrorType, so messages read like the API server's.
def required(detail: str = "") -> str:
    return "Required value" + (f": {detail}" if detail else "")


def invalid(value: Any, detail: str) -> str:
    return f"Invalid value: {format_value(value)}: {detail}"


def unsupported(value: Any, supported: Sequence[str]) -> str:
    listed = ", ".join(json.dumps(s) for s in supported)
    return f"Unsupported value: {format_value(value)}: supported values: {listed}"


def duplicate(value: Any) -> str:
    return f"Duplicate value: {format_value(value)}"


def forbidden(detail: str) -> str:
    return f"Forbidden: {detail}"


def too_long(limit: int) -> str:
    return f"Too long: may not be more than {limit} bytes"


def too_many(actual: int, limit: int) -> str:
    return f"Too many: {actual}: must have at most {limit} items"
