"""Rendering the IR to nftables text, only through the Jinja2 templates in `templates/`.

The templates lay out the table, its sets and chains; what goes inside them (statements, declarations,
elements, quoted comments) they get from `syntax.py`, as the filters registered here. Jinja2 is imported
when the first template is rendered, not with this module: the verbs that render nothing start faster.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING

from . import fingerprint, syntax
from .ir import Element, Elements, Table

if TYPE_CHECKING:
    import jinja2

_INDENT = "\t\t\t"  # an element's indentation in `elements = { ... }`


@cache
def environment() -> jinja2.Environment:
    import jinja2  # here, not at the top: see the module docstring

    env = jinja2.Environment(
        # `netcompile.templates` is the top-level templates/ folder, mapped into the package by pyproject.
        loader=jinja2.FileSystemLoader(str(files("netcompile.templates"))),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["quote"] = syntax.quote
    env.filters["rule"] = syntax.rule
    env.filters["declaration"] = syntax.declaration
    env.filters["element_lines"] = element_lines
    return env


def element_lines(
    elements: Iterable[Element], indent: str = _INDENT, keys_only: bool = False, keep: bool = False
) -> str:
    """`syntax.element_lines`; with `keep` (`Table.keep_lines`), each element's line kept on it
    (`Element.line`) once written, and a `Block`'s lines kept on it: the elements of a part of the ruleset
    shared by every node (`compile/reuse.py`) are written once for all nodes."""
    if keys_only or indent != _INDENT or not keep:
        return syntax.element_lines(elements, indent, keys_only)
    blocks = elements.blocks if isinstance(elements, Elements) else ()
    if not blocks:
        return _lines(elements)
    assert isinstance(elements, Elements)
    pieces: list[str] = []
    at = 0
    for start, block in blocks:
        end = start + len(block.elements)
        if (
            end > len(elements)
            or elements[start] is not block.elements[0]
            or elements[end - 1] is not block.elements[-1]
        ):
            return _lines(elements)  # the list was changed since: written element by element
        if at < start:
            pieces.append(_lines(elements[at:start]))
        if block.text is None:
            block.text = _lines(block.elements)
        pieces.append(block.text)
        at = end
    if at < len(elements):
        pieces.append(_lines(elements[at:]))
    return "\n".join(pieces)


def _lines(elements: Iterable[Element]) -> str:
    lines = []
    for item in elements:
        line = item.line
        if line is None:
            line = item.line = f"{_INDENT}{syntax.element(item)},"
        lines.append(line)
    return "\n".join(lines)


def render(table: Table, header: list[str]) -> str:
    """The nftables script for `table`: byte-identical for the same IR. The table gets its fingerprint
    (nft/fingerprint.py: the set a delta from this ruleset checks first) as the text is written."""
    fingerprint.stamp(table)
    text = environment().get_template("ruleset.nft.j2").render(table=table, header=header)
    return fingerprint.seal(table, text)
