"""Rendering the IR to nftables text: the layout of the table, its sets and its chains.

`render` writes the whole script: the header, the table's replacement, each set and map, then each chain
(`script`); what goes inside them (statements, declarations, elements, quoted comments) comes from
`syntax.py`. `templates/ruleset.nft.j2` is the same layout as a Jinja2 template, kept as its reference:
tests/test_compile_render.py proves the two write the same text. The script is written here rather than
through the template because `matrix` and `diff` compile in a helper process whose time they wait for,
and importing Jinja2 there costs as much as writing the whole ruleset of 1 000 pods and 200 policies.

Jinja2 lays out the other scripts (`transaction.py`, `delta.py`: `environment`), imported when the first
template is rendered, not with this module. The templates ship with the package and do not change while
it runs: they are not checked for changes (`auto_reload`), and their compiled code is kept in Jinja2's
bytecode cache (a directory of the user's own in the system's temporary directory, keyed by each
template's source), so that a process does not compile them again; where that directory cannot be used,
they are compiled in each process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING

from . import fingerprint, syntax
from .ir import Element, Elements, Set, Table

if TYPE_CHECKING:
    import jinja2

_INDENT = "\t\t\t"  # an element's indentation in `elements = { ... }`


def render(table: Table, header: list[str]) -> str:
    """The nftables script for `table`: byte-identical for the same IR. The table gets its fingerprint
    (nft/fingerprint.py: the set a delta from this ruleset checks first) as the text is written."""
    fingerprint.stamp(table)
    return fingerprint.seal_lines(table, script_lines(table, header))


def script(table: Table, header: list[str]) -> str:
    """The whole script, as templates/ruleset.nft.j2 lays it out: replace netcompile's table (and nothing
    else) in one transaction. Create-then-delete makes the delete safe when the table does not exist yet;
    all three commands are one transaction, so the old table is replaced atomically or not at all."""
    return "\n".join(script_lines(table, header))


def script_lines(table: Table, header: list[str]) -> list[str]:
    """`script`'s lines (a block of elements kept on a `Block`, `Table.keep_lines`, as one), unjoined: the
    text is made once, when its fingerprint is known (`fingerprint.seal_lines`)."""
    where = f"{table.family} {table.name}"
    lines = ["#!/usr/sbin/nft -f", *[f"# {line}" for line in header], "", f"table {where}", f"delete table {where}"]
    lines.append(f"table {where} {{")
    if table.comment:
        lines.append(f"\tcomment {syntax.quote(table.comment)}")
    quoted: dict[str, str] = {}  # the elements' comments, quoted once for every set (`syntax.element_line_list`)
    for item in table.sets.values():
        _set_lines(lines, item, table.keep_lines, quoted)
    # Each chain: a base chain states type, hook, priority (a number: older nft refuses some names) and
    # policy first; each rule's statements and comment come from syntax.py, once for a rule that ends
    # several chains (rules are values: the policy groups' chains share theirs).
    written: dict[int, str] = {}  # id of a rule (each is the table's while it is written) -> its line
    for chain in table.chains.values():
        lines += ("", f"\tchain {chain.name} {{")
        if chain.comment:
            lines.append(f"\t\tcomment {syntax.quote(chain.comment)}")
        base = chain.base
        if base is not None:
            lines.append(f"\t\ttype {base.type} hook {base.hook} priority {base.priority_value}; policy {base.policy};")
        for rule in chain.rules:
            line = written.get(id(rule))
            if line is None:
                line = written[id(rule)] = f"\t\t{syntax.rule(rule)}"
            lines.append(line)
        lines.append("\t}")
    lines.append("}\n")
    return lines


def _set_lines(lines: list[str], item: Set, keep: bool, quoted: dict[str, str]) -> None:
    """A named set or map: its declaration, then its elements, one per line (so a diff shows exactly what
    changed)."""
    lines += ("", f"\t{'map' if item.is_map else 'set'} {item.name} {{", f"\t\t{syntax.declaration(item)}")
    if item.flags:
        lines.append(f"\t\tflags {', '.join(item.flags)}")
    if item.timeout:
        lines.append(f"\t\ttimeout {item.timeout}s")
    size = item.size
    if size:
        lines.append(f"\t\tsize {size}")
    if item.comment:
        lines.append(f"\t\tcomment {syntax.quote(item.comment)}")
    if item.elements:
        lines.append("\t\telements = {")
        if keep:
            lines.append(element_lines(item.elements, keep=True))
        else:
            lines += syntax.element_line_list(item.elements, _INDENT, quoted)
        lines.append("\t\t}")
    lines.append("\t}")


@cache
def environment() -> jinja2.Environment:
    return make_environment(bytecode_cache())


def make_environment(cache: jinja2.BytecodeCache | None) -> jinja2.Environment:
    """The templates' environment, with their compiled code kept in `cache` (None: compiled by each
    process)."""
    from importlib.resources import files

    import jinja2  # here, not at the top: see the module docstring

    env = jinja2.Environment(
        auto_reload=False,
        bytecode_cache=cache,
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


def bytecode_cache(directory: str | None = None) -> jinja2.BytecodeCache | None:
    """Jinja2's cache of compiled templates in `directory`, by default the user's own in the temporary
    directory (see the module docstring), made to do without it whenever the file system does not allow
    it; None if it cannot be made."""
    import pickle  # as jinja2 is (both imported by it)

    import jinja2

    class QuietCache(jinja2.FileSystemBytecodeCache):
        def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            try:
                super().load_bytecode(bucket)
            except (OSError, ValueError, EOFError, TypeError, pickle.UnpicklingError):  # unreadable: compiled again
                bucket.reset()

        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            with contextlib.suppress(OSError):  # not writable: compiled again by the next process
                super().dump_bytecode(bucket)

    try:
        return QuietCache(directory)
    except (OSError, RuntimeError):  # no temporary directory that is the user's alone
        return None


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
    quoted: dict[str, str] = {}
    for item in elements:
        line = item.line
        if line is None:
            line = item.line = f"{_INDENT}{syntax.element(item, quoted)},"
        lines.append(line)
    return "\n".join(lines)
