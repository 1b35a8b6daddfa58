"""Rendering the IR to nftables text, only through the Jinja2 templates in `templates/`."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import jinja2

from .ir import Table, safe_comment


def _quote(text: str) -> str:
    return f'"{safe_comment(text)}"'


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
    env.filters["quote"] = _quote
    return env


def render(table: Table, header: list[str]) -> str:
    """The nftables script for `table`: byte-identical for the same IR."""
    text = environment().get_template("ruleset.nft.j2").render(table=table, header=header)
    return text
