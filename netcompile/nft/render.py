"""Rendering the IR to nftables text, only through the Jinja2 templates in `templates/`."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import jinja2

from .ir import Element, Table, quote


def _element_lines(elements: list[Element]) -> str:
    """One element per line (so a diff shows exactly what changed), joined here rather than looped over
    in the template: 10k Services make 230k lines, and a template loop costs as much again."""
    return "\n".join([f"\t\t\t{e.text}," for e in elements])


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
    env.filters["quote"] = quote
    env.filters["element_lines"] = _element_lines
    return env


def render(table: Table, header: list[str]) -> str:
    """The nftables script for `table`: byte-identical for the same IR."""
    text = environment().get_template("ruleset.nft.j2").render(table=table, header=header)
    return text
