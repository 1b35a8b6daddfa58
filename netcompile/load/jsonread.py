"""Reading JSON: `kubectl get -o json`, `.json` files and JSON on stdin, with JSON's rules (RFC 8259).

JSON is not read as YAML: YAML 1.1 has no surrogate-pair escapes, reads `1e2` as a string, and is
picky about tabs. Which input is JSON (`json_documents`): a file whose name ends in `.json`; any other
input (stdin included) when its first non-blank character is `{` or `[` and the whole of it is JSON
(`{a: b}` is YAML flow style, and goes on to the YAML reader).

The text is a stream of JSON values separated by blanks (as `jq` prints them); each value is a document.
Values become the same `YMap`/`YList`/scalars as from YAML, with the same packed positions; numbers are
`int` without a fraction or exponent, `float` with one (as `json.loads`); escapes of lone surrogates
become U+FFFD (as Go's encoding/json, and so kubectl, decode them). A top-level array, or any value that
is not an object, is refused as the YAML reader refuses a document that is not a mapping (kubectl
refuses a JSON array too). Nesting past --max-depth (at most 511 levels, as for YAML) drops the document with the YAML
reader's message; a syntax error ends the piece with one message.

The C reader (`_fastyaml.json_documents`) and the Python one (`json_python.PyReader`) give the same
values, positions and problems (tests/test_json.py); the C one is used when it is built.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from ..errors import Diagnostic, Position
from .documents import COMPOSABLE_DEPTH, Limits, Piece, YList, YMap, c_depth

try:  # netcompile's C readers: optional (see pyyaml_reader.py)
    from . import _fastyaml
except ImportError:  # pragma: no cover - depends on how netcompile was installed
    _fastyaml = None  # type: ignore[assignment]

# What a reader returns: the documents read whole (value, packed position, whether a key repeats),
# the documents dropped at a limit (line, column, "depth" or "number", digits of the number or 0), and
# the syntax error that ended the text (line, column, message), if any.
Document = tuple[Any, int, bool]
Problem = tuple[int, int, str, int]
SyntaxProblem = tuple[int, int, str]
Parsed = tuple[list[Document], list[Problem], SyntaxProblem | None]

_JSON_START = re.compile(r"\ufeff?[ \t\n\r]*[\[{]")
# As the YAML reader words it, for a top-level array too (a YAML sequence is refused the same way):
# kubectl refuses a JSON array of objects ("cannot unmarshal array"); they go one after another, or in
# a `{"kind": "List", "items": [...]}`.
NOT_A_MAPPING = "document is not a mapping (a Kubernetes object)"


def is_json_name(file: str) -> bool:
    return file.endswith(".json")


def starts_like_json(text: str) -> bool:
    """Whether the first non-blank character is `{` or `[` (then the text may be JSON)."""
    return _JSON_START.match(text) is not None


def json_documents(piece: Piece, limits: Limits, errors: list[Diagnostic]) -> list[tuple[YMap, bool]] | None:
    """The documents of a JSON piece, as `source.read_documents` gives them (problems go to `errors`);
    None when the piece is not JSON (then it is YAML)."""
    named = is_json_name(piece.file)
    if not named and not starts_like_json(piece.text):
        return None
    max_depth = min(c_depth(limits), COMPOSABLE_DEPTH - 1)
    values, problems, syntax = parse(piece.text, piece.file, piece.first_line, max_depth)
    if syntax is not None and not named:
        return None
    docs: list[tuple[YMap, bool]] = []
    for value, packed, repeats in values:
        if isinstance(value, YMap):
            docs.append((value, repeats))
        else:
            errors.append(Diagnostic(Position(piece.file, packed >> 20, packed & 0xFFFFF), "", "", NOT_A_MAPPING))
    for line, column, what, digits in problems:
        errors.append(Diagnostic(Position(piece.file, line, column), "", "", _limit_message(what, digits, limits)))
    if syntax is not None:
        line, column, message = syntax
        errors.append(Diagnostic(Position(piece.file, line, column), "", "", f"JSON syntax error: {message}"))
    return docs


def _limit_message(what: str, digits: int, limits: Limits) -> str:
    if what == "number":
        return f"JSON number too long: an integer of {digits} digits (at most {sys.get_int_max_str_digits()})"
    if limits.max_depth < COMPOSABLE_DEPTH - 1:  # as pyyaml_reader._too_deep_to_compose words it
        return f"nesting deeper than {limits.max_depth} levels (--max-depth)"
    return f"nesting deeper than {COMPOSABLE_DEPTH - 1} levels (--max-depth cannot go higher)"


def parse(text: str, file: str, first_line: int, max_depth: int) -> Parsed:
    """Every JSON value of `text`, by the C reader when it is built."""
    if _fastyaml is not None:
        return _fastyaml.json_documents(text, file, first_line, max_depth, YMap, YList)
    return parse_python(text, file, first_line, max_depth)  # pragma: no cover - without the C reader


def parse_python(text: str, file: str, first_line: int, max_depth: int) -> Parsed:
    """`parse` in Python: the same values, positions and problems as the C reader (json_python.py,
    imported when asked: the C reader reads JSON wherever it is built)."""
    from .json_python import PyReader

    return PyReader(text, file, first_line, max_depth).run()
