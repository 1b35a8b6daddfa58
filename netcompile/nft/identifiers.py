"""The names netcompile gives its nftables objects (its table, chains, sets, maps): what `check_name`
accepts, and `IRError`, the IR's refusal of an object.

Apart from the IR (`ir.py` checks every name it is given with `check_name`, and exports both) so that
checking a `--table` option, before any input is read, does not import the IR: `matrix` forks its helper
(which compiles, and imports the IR) after reading its input, and waits for the start-up before it.
"""

from __future__ import annotations

import re

NAME_MAX = 64  # our own bound; the kernel allows 256. Every name we emit is far shorter.
_NAME_RE = re.compile(r"^[a-z][a-z0-9_./-]*$")


class IRError(ValueError):
    """A compiler bug: the IR refused an object. Never caused by user input (names are sanitized)."""


def check_name(name: str) -> str:
    if len(name) > NAME_MAX or not _NAME_RE.fullmatch(name):
        raise IRError(f"invalid nftables name {name!r}: must match {_NAME_RE.pattern}, at most {NAME_MAX} bytes")
    return name
