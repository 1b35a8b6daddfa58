"""The fingerprint of a ruleset: one element of a set of its own, which a delta deletes first.

Every ruleset netcompile writes holds

    set fingerprint {
        type mark . mark
        size 2
        comment "..."
        elements = {
            0x1f2e3d4c . 0x5b6a7988,
        }
    }

whose one element is the first 64 bits of the SHA-256 of the ruleset's text, from its `table` line to its
end, written with `PLACEHOLDER` in the element's place (so the text can be checked by hashing it again,
and the header, which names the input, plays no part). A delta from OLD to NEW (`nft/delta.py`) starts
with `delete element ... fingerprint { OLD }` and adds NEW's: a table that does not hold OLD's element
makes that first command fail, and with it the whole transaction, before anything changed. A delta
applied leaves the element a full load of NEW leaves, so the two listings stay identical.
"""

from __future__ import annotations

import hashlib

from .ir import Element, Set, Table
from .statements import Types
from .types import DataType

__all__ = ["NAME", "PLACEHOLDER", "digest", "digest_in_place", "seal", "seal_lines", "stamp"]

NAME = "fingerprint"
PLACEHOLDER = ("0x00000000", "0x00000000")
COMMENT = "this ruleset's hash: a delta from it deletes this element first, so it applies to nothing else"
_PLACEHOLDER_LINE = "\t\t\t" + " . ".join(PLACEHOLDER) + ",\n"
_PART = 1 << 20  # characters hashed at a time


def stamp(table: Table) -> Set:
    """Give `table` its fingerprint set, holding `PLACEHOLDER` until `seal` writes the real value."""
    item = table.sets.get(NAME)
    if item is None:
        item = table.add_set(Set(NAME, Types((DataType.MARK, DataType.MARK)), comment=COMMENT))
    item.elements[:] = [Element(PLACEHOLDER)]
    return item


def digest(text: str, start: int) -> tuple[str, str]:
    """The fingerprint of a ruleset `text` written with the placeholder, hashed from offset `start`."""
    value = hashlib.sha256(text[start:].encode()).hexdigest()
    return f"0x{value[:8]}", f"0x{value[8:16]}"


def digest_in_place(text: str, start: int, at: int, length: int) -> tuple[str, str]:
    """`digest(text, start)` of `text` as it was written, with the placeholder in the place of the `length`
    characters at `at` (the fingerprint it holds): hashed a part at a time rather than copied whole."""
    value = hashlib.sha256()
    _hash(value, text, start, at)
    value.update(" . ".join(PLACEHOLDER).encode())
    _hash(value, text, at + length, len(text))
    hexdigest = value.hexdigest()
    return f"0x{hexdigest[:8]}", f"0x{hexdigest[8:16]}"


def _hash(value: hashlib._Hash, text: str, start: int, end: int) -> None:
    for part in range(start, end, _PART):
        value.update(text[part : min(part + _PART, end)].encode())


def table_start(text: str, family: str, name: str) -> int:
    """Where the ruleset's `table` commands begin (what comes before is the header)."""
    start = text.find(f"\ntable {family} {name}\n")
    if start < 0:
        raise ValueError(f"no `table {family} {name}` line")
    return start + 1


def seal_lines(table: Table, lines: list[str]) -> str:
    """`seal` of the text `"\\n".join(lines)`, made once: `lines` (the table rendered after `stamp`, its
    fingerprint's element a line of its own) are hashed with the placeholder, then joined with the
    fingerprint in its place (`lines` is changed so)."""
    try:
        start = lines.index(f"table {table.family} {table.name}")
        at = lines.index(_PLACEHOLDER_LINE[:-1], lines.index(f"\tset {NAME} {{", start))
    except ValueError:
        raise ValueError("the ruleset has no fingerprint placeholder: stamp the table before rendering") from None
    body = "\n".join(lines[start:])
    value = digest(body, 0)
    table.sets[NAME].elements[:] = [Element(value)]
    lines[at] = "\t\t\t" + " . ".join(value) + ","
    return "\n".join(lines)


def seal(table: Table, text: str) -> str:
    """`text` (the table rendered after `stamp`) with the placeholder replaced by its fingerprint; the
    table's fingerprint element becomes that value too."""
    block = text.find(f"\tset {NAME} {{\n")
    at = text.find(_PLACEHOLDER_LINE, block)
    if block < 0 or at < 0:
        raise ValueError("the ruleset has no fingerprint placeholder: stamp the table before rendering")
    value = digest(text, table_start(text, table.family, table.name))
    table.sets[NAME].elements[:] = [Element(value)]
    return text[:at] + "\t\t\t" + " . ".join(value) + ",\n" + text[at + len(_PLACEHOLDER_LINE) :]
