"""Rendering the IR to nftables text, only through the Jinja2 templates in `templates/`.

The templates lay out the table, its sets and chains; what goes inside them (statements, declarations,
elements, quoted comments) they get from `syntax.py`, as the filters registered here.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import jinja2

from . import fingerprint, syntax
from .ir import Table


@cache
def environment() -> jinja2.Environment:
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
    env.filters["element_lines"] = syntax.element_lines
    return env


def render(table: Table, header: list[str]) -> str:
    """The nftables script for `table`: byte-identical for the same IR. The table gets its fingerprint
    (nft/fingerprint.py: the set a delta from this ruleset checks first) as the text is written."""
    fingerprint.stamp(table)
    text = environment().get_template("ruleset.nft.j2").render(table=table, header=header)
    return fingerprint.seal(table, text)
