"""Parser: one iptables-restore (or ip6tables-restore) section into its tables of chains and rules.

    *nat | *filter                    a table begins
    :NAME POLICY [packets:bytes]      a chain: POLICY is ACCEPT or DROP for a built-in chain, - otherwise
    -A NAME rule...                   a rule appended to a chain (rules.parse_rule)
    COMMIT                            the table ends

Nothing else is a line of the vocabulary. A table given twice in a section, a user chain declared twice
or used before it is declared, a name iptables refuses (longer than 28 characters, a target's name, a
leading `-` or `!`) and a table without COMMIT are errors, as they are (or would be ambiguous) to
iptables-restore --noflush.
"""

from __future__ import annotations

import re

from ..interpreter.errors import InterpreterError
from .rules import parse_rule
from .syntax import Chain, Table
from .vocabulary import BUILTINS, EXTENSIONS, MAX_CHAIN_NAME, POLICIES, STANDARD
from .words import Line

__all__ = ["parse_tables"]

_COUNTERS = re.compile(r"\[\d+:\d+\]")


def parse_tables(lines: list[Line], version: int) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    table: Table | None = None
    for line in lines:
        words = line.words
        first = words[0]
        if first.startswith("*"):
            if table is not None:
                raise _error(line, f"table {table.name!r} not committed before the next one")
            name = first[1:]
            if name not in BUILTINS or len(words) > 1:
                raise _error(line, f"unknown table {first!r} (the vocabulary has *nat and *filter)")
            if name in tables:
                raise _error(line, f"table {name!r} given twice in one section")
            table = Table(name, version, line.number)
            for builtin in BUILTINS[name]:
                table.chains[builtin] = Chain(builtin, 0, True, "ACCEPT")
            continue
        if table is None:
            raise _error(line, "a line outside a table (a table begins with *nat or *filter)")
        if first == "COMMIT":
            if len(words) > 1:
                raise _error(line, "COMMIT takes nothing after it")
            tables[table.name] = table
            table = None
        elif first.startswith(":"):
            _declare(line, table, words)
        elif first in ("-A", "--append"):
            if len(words) < 2:
                raise _error(line, "-A needs a chain")
            chain = table.chains.get(words[1])
            if chain is None:
                raise _error(line, f"chain {words[1]!r} does not exist in table {table.name!r} (declare it first)")
            chain.rules.append(parse_rule(line, version, table.name, chain.name, words[2:]))
        else:
            raise _error(line, f"unknown line {first!r} (the vocabulary: *TABLE, :CHAIN, -A, COMMIT)")
    if table is not None:
        raise InterpreterError(f"table {table.name!r} has no COMMIT", table.line, f"*{table.name}")
    return tables


def _error(line: Line, message: str) -> InterpreterError:
    return InterpreterError(message, line.number, line.text)


def _declare(line: Line, table: Table, words: tuple[str, ...]) -> None:
    name = words[0][1:]
    if len(words) not in (2, 3) or (len(words) == 3 and not _COUNTERS.fullmatch(words[2])):
        raise _error(line, "a chain is declared as ':NAME POLICY [packets:bytes]'")
    policy = words[1]
    if name in BUILTINS[table.name]:
        if policy not in POLICIES:
            raise _error(line, f"built-in chain {name} needs a policy ACCEPT or DROP, not {policy!r}")
        if table.chains[name].line:
            raise _error(line, f"chain {name!r} declared twice")
        table.chains[name] = Chain(name, line.number, True, policy)
        return
    if policy != "-":
        raise _error(line, f"a user-defined chain has no policy: ':{name} -', not {policy!r}")
    if not name or len(name) > MAX_CHAIN_NAME:
        raise _error(line, f"chain name {name!r}: 1 to {MAX_CHAIN_NAME} characters")
    if name[0] in "-!" or any(c.isspace() for c in name) or name in STANDARD or name in EXTENSIONS:
        raise _error(line, f"invalid chain name {name!r}")
    if name in table.chains:
        raise _error(line, f"chain {name!r} declared twice")
    table.chains[name] = Chain(name, line.number, False, "-")
