"""Reading manifests: files, directories and stdin into position-carrying documents.

Documents become `YMap`/`YList` — a dict and a list that remember where each of their values stood — so
validation can point at the exact field. Plain documents are read by netcompile's C reader (`_fastyaml`,
straight from libyaml's events); everything else through PyYAML's node API (`compose_all`, with the
libyaml C parser), which gives every value its line and column, and the same values and positions.
Duplicate mapping keys, non-mapping documents, syntax errors and oversized input are reported here;
`kind: List` is flattened into its items.
Large files are cut into `Piece`s at document starts, read one after another.
The documents' shapes are in `documents`, scalar values in `scalars`, the PyYAML reader in `pyyaml_reader`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import Diagnostic, Position, duplicate, invalid, required
from . import jsonread
from .documents import Limits, Piece, RawObject, YList, YMap, c_depth, duplicate_keys, key_text, object_ref
from .scalars import PLAIN_TEXT_MAX, PLAIN_VALUES_MAX, TYPED_STARTS, plain_values, type_plain_scalars

try:  # netcompile's own C reader of plain documents: built at install when a C compiler and libyaml are there
    from . import _fastyaml
except ImportError:  # pragma: no cover - depends on how netcompile was installed
    _fastyaml = None  # type: ignore[assignment]

__all__ = ["Limits", "Piece", "RawObject", "YList", "YMap", "key_text", "object_ref"]

STDIN = "-"
YAML_SUFFIXES = (".yaml", ".yml", ".json")


def expand_paths(paths: list[str]) -> list[str]:
    """Files as given, directories recursively in sorted order (YAML and JSON files only), `-` as stdin."""
    out: list[str] = []
    for given in paths:
        if given == STDIN:
            out.append(STDIN)
            continue
        path = Path(given)
        if path.is_dir():
            out.extend(
                str(p)
                for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix in YAML_SUFFIXES and not p.name.startswith(".")
            )
        else:
            out.append(given)
    return out


def _read(name: str, limits: Limits) -> bytes:
    if name == STDIN:
        data = sys.stdin.buffer.read(limits.max_file_bytes + 1)
    else:
        with open(name, "rb") as f:
            data = f.read(limits.max_file_bytes + 1)
    if len(data) > limits.max_file_bytes:
        raise _TooBig(f"file is larger than {limits.max_file_bytes} bytes (--max-file-bytes)")
    return data


class _TooBig(Exception):
    pass


# A document start: `---` at the start of a line, then a blank or the end of the line. libyaml ends any
# scalar there (or fails, inside quotes), so cutting before it never changes what the documents hold.
_DOCUMENT_START = re.compile(r"^---(?=[ \t\r\n]|$)", re.MULTILINE)


def _has_directive(text: str) -> bool:
    """Whether a line starts with `%` (`%YAML`, `%TAG`: they belong to the document after them, so a text
    holding one is not cut); what `re.search("^%", text, re.MULTILINE)` answers, without a regex scan."""
    return text.startswith("%") or "\n%" in text


def read_pieces(paths: list[str], limits: Limits, piece_bytes: int) -> tuple[list[Piece], list[Diagnostic]]:
    """The files of `paths`, decoded, each cut into pieces of about `piece_bytes` characters."""
    errors: list[Diagnostic] = []
    pieces: list[Piece] = []
    for name in expand_paths(paths):
        display = "<stdin>" if name == STDIN else name
        try:
            data = _read(name, limits)
        except _TooBig as exc:
            errors.append(Diagnostic(Position(display, 1, 1), "", "", str(exc)))
            continue
        except OSError as exc:
            errors.append(Diagnostic(Position(display, 1, 1), "", "", f"cannot read: {exc.strerror}"))
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.append(Diagnostic(Position(display, 1, 1), "", "", f"not UTF-8 text: {exc.reason}"))
            continue
        pieces.extend(_cut(display, text, piece_bytes))
    return pieces, errors


def _cut(file: str, text: str, piece_bytes: int) -> Iterator[Piece]:
    start, line = 0, 1
    # JSON, and YAML with directives (they belong to the document after them), is read whole.
    if len(text) > piece_bytes and not jsonread.starts_like_json(text) and not _has_directive(text):
        while len(text) - start > piece_bytes:
            cut = _DOCUMENT_START.search(text, start + piece_bytes)
            if cut is None:
                break
            yield Piece(file, text[start : cut.start()], line)
            line += text.count("\n", start, cut.start())
            start = cut.start()
    yield Piece(file, text[start:] if start else text, line)


def read_documents(piece: Piece, limits: Limits, errors: list[Diagnostic]) -> list[tuple[YMap, bool]]:
    """Every non-empty document of a piece, as YMaps (and whether it repeats a key); problems go to `errors`.

    JSON is read as JSON (`jsonread.json_documents` says which pieces are JSON). Pieces of plain YAML
    documents are read by the C reader (`_fastyaml`, when it is built); it gives up on
    anything else (anchors, tags, merge keys, repeated keys, errors, ...), and then the piece is read
    here, from PyYAML's nodes. Both give the same values and positions (tests/test_loading.py).
    """

    json_docs = jsonread.json_documents(piece, limits, errors)
    if json_docs is not None:
        return json_docs
    if _fastyaml is not None:
        where = piece.text, piece.file, piece.first_line, c_depth(limits)
        fast = _fastyaml.documents(*where, YMap, YList, plain_values, TYPED_STARTS, PLAIN_VALUES_MAX, PLAIN_TEXT_MAX)
        if fast is not None and type_plain_scalars(fast[1]):
            return [(doc, False) for doc in fast[0]]
    from .pyyaml_reader import read_yaml_documents  # PyYAML, imported only when a piece needs it

    return read_yaml_documents(piece, limits, errors)


def _report_duplicates(value: Any, obj: str, errors: list[Diagnostic], skip: str | None = None) -> None:
    for path, position, key in duplicate_keys(value, skip=skip):
        errors.append(Diagnostic(position, obj, path, duplicate(key) + ": mapping key appears more than once"))


def flatten(
    doc: YMap, errors: list[Diagnostic], lists: list[RawObject] | None = None, kind: Any = None, api_version: Any = None
) -> Iterator[tuple[YMap, Any, Any]]:
    """A document, or the items of a `kind: List` or a typed list (`PodList`, ...: as printed by `kubectl
    get -o yaml`), each with its kind and apiVersion. The items of a typed list may leave these out, as the
    API server returns them: they are the list's kind less `List`, and the list's apiVersion. The lists
    themselves go to `lists` (their fields other than items are checked as the other objects' are)."""
    own_kind, own_version = doc.get("kind"), doc.get("apiVersion")
    kind = kind if own_kind is None else own_kind
    api_version = api_version if own_version is None else own_version
    if isinstance(kind, str) and kind.endswith("List") and "items" in doc:
        if lists is not None and isinstance(api_version, str):
            lists.append(RawObject(kind, api_version, doc))
        items = doc["items"]
        if items is None:
            return
        if not isinstance(items, YList):
            errors.append(Diagnostic(doc.position("items"), "", "items", invalid(items, "must be a list")))
            return
        typed = kind != "List"
        for index, item in enumerate(items):
            if isinstance(item, YMap):
                yield from flatten(item, errors, lists, kind[:-4] if typed else None, api_version if typed else None)
            else:
                errors.append(
                    Diagnostic(items.position(index), "", f"items[{index}]", "must be a mapping (a Kubernetes object)")
                )
        return
    yield doc, kind, api_version


_NOT_A_MAPPING = "document is not a mapping (a Kubernetes object)"


def _skip_lists(piece: Piece, errors: list[Diagnostic], start: int, notices: list[str]) -> None:
    """Documents of `piece` that are lists (a JSON array, a YAML sequence: not Kubernetes objects, as a
    lab's expectations file) become notices instead of the errors from `start` on that refused them."""
    lines: list[str] | None = None
    kept: list[Diagnostic] = []
    for diagnostic in errors[start:]:
        where = diagnostic.position
        if diagnostic.message == _NOT_A_MAPPING and where is not None and where.file == piece.file:
            lines = piece.text.split("\n") if lines is None else lines
            index = where.line - piece.first_line
            text = lines[index][where.col - 1 :] if 0 <= index < len(lines) else ""
            if text.startswith("[") or text == "-" or text.startswith(("- ", "-\t", "-\r")):
                notices.append(f"{where}: skipping a document that is a list, not a Kubernetes object")
                continue
        kept.append(diagnostic)
    errors[start:] = kept


def raw_objects(
    pieces: list[Piece],
    limits: Limits,
    errors: list[Diagnostic],
    notices: list[str] | None = None,
    lists: list[RawObject] | None = None,
) -> list[RawObject]:
    """Every object in `pieces`, with every problem found on the way. Documents that are not Kubernetes
    objects (a list; a mapping with neither apiVersion, kind nor metadata) are skipped with a notice
    (to `notices`, when given); list objects go to `lists` (see `flatten`)."""
    objects: list[RawObject] = []
    for piece in pieces:
        before = len(errors)
        docs = read_documents(piece, limits, errors)
        if notices is not None and len(errors) > before:
            _skip_lists(piece, errors, before, notices)
        for doc, has_duplicates in docs:
            if notices is not None and "apiVersion" not in doc and "kind" not in doc and "metadata" not in doc:
                what = "not a Kubernetes object (no apiVersion, kind or metadata)"
                notices.append(f"{doc.position()}: skipping a document that is {what}")
                continue
            kind, api_version = doc.get("kind"), doc.get("apiVersion")
            if (
                isinstance(kind, str)
                and isinstance(api_version, str)
                and kind
                and api_version
                and not has_duplicates
                and not kind.endswith("List")
            ):  # the common case, in short: one object, as `flatten` gives it
                objects.append(RawObject(kind, api_version, doc))
                if len(objects) > limits.max_objects:
                    return objects  # stop reading; the caller reports the limit over all readers
                continue
            bodies = list(flatten(doc, errors, lists))
            if has_duplicates:
                if len(bodies) != 1 or bodies[0][0] is not doc:  # a List: its own keys, then each item as an object
                    _report_duplicates(doc, "", errors, skip="items")
                for body, kind, _ in bodies:
                    _report_duplicates(body, object_ref(kind, body) if isinstance(kind, str) else "", errors)
            for body, kind, api_version in bodies:
                problems = False
                for field, value in (("apiVersion", api_version), ("kind", kind)):
                    if value is None or value == "":
                        errors.append(Diagnostic(body.position(), "", field, required()))
                        problems = True
                    elif not isinstance(value, str):
                        errors.append(Diagnostic(body.position(field), "", field, invalid(value, "must be a string")))
                        problems = True
                if problems:
                    continue
                assert isinstance(kind, str) and isinstance(api_version, str)
                objects.append(RawObject(kind, api_version, body))
                if len(objects) > limits.max_objects:
                    return objects  # stop reading; the caller reports the limit over all readers
    return objects
