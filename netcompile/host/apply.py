"""Loading and removing netcompile's table on a host or in a named network namespace, safely.

Safety contract (tested in tests/test_apply.py):
- a script is loaded as **one** libnftables transaction (`nftlib.run`): it either replaces netcompile's
  table entirely or, when anything in it fails, changes nothing at all;
- the script may only touch netcompile's own table (family inet, name configurable): before anything
  reaches the kernel, `scope_problems` reads every top-level command and refuses `flush ruleset`,
  `include`, and any command naming another table (the user may override with `force`);
- loading always *replaces* the table: a script that does not delete the table first gets the
  `table inet T; delete table inet T;` preamble, on its first line so libnftables' line numbers still
  match the user's file;
- `delete_table` removes only that table and is idempotent.

Network namespaces: `in_netns` runs a function in a forked child that has joined `/run/netns/NAME`
(setns(2) through libc, as `ip netns exec` does), and sends its result back through a pipe. The parent
never changes namespace, so a failure cannot leave the caller in the wrong one.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import pickle
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from . import nftlib
from .names import FAMILIES as _FAMILIES
from .names import OBJECTS as _OBJECTS
from .names import VERBS as _VERBS
from .names import check_table_name
from .nftlib import NftUnavailable

T = TypeVar("T")

FAMILY = "inet"
CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")

_DEFINES = frozenset({"define", "redefine", "undefine"})


class NetnsError(Exception):
    """The named network namespace cannot be entered (missing, or not allowed)."""


# --- what a script touches ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Statement:
    """One top-level command of an nftables script: its words before any `{ ... }` block, and its line."""

    words: tuple[str, ...]
    line: int

    def __str__(self) -> str:
        return " ".join(self.words)


_RULE_COMMANDS = {("add", "rule"), ("insert", "rule"), ("replace", "rule")}


def statements(script: str) -> list[Statement]:
    """Split a script into top-level commands (comments dropped, blocks skipped, quotes respected)."""
    out: list[Statement] = []
    words: list[str] = []
    word = ""
    depth = 0
    line = 1
    start_line = 1
    i = 0
    n = len(script)

    def end_word() -> None:
        nonlocal word
        if word:
            if depth == 0:
                if not words:
                    nonlocal start_line
                    start_line = line
                words.append(word)
            word = ""

    def end_statement() -> None:
        end_word()
        if words:
            out.append(Statement(tuple(words), start_line))
            words.clear()

    while i < n:
        ch = script[i]
        if ch == "#":
            end_word()
            while i < n and script[i] != "\n":
                i += 1
            continue
        if ch == '"':
            j = script.find('"', i + 1)
            j = n - 1 if j < 0 else j
            if depth == 0:
                word += script[i : j + 1]
            line += script.count("\n", i, j + 1)
            i = j + 1
            continue
        if ch == "\\" and i + 1 < n and script[i + 1] == "\n":  # line continuation
            end_word()
            line += 1
            i += 2
            continue
        if ch == "{":
            end_word()
            depth += 1
        elif ch == "}":
            end_word()
            closes = depth > 0
            depth = max(0, depth - 1)
            # A block ends its command (`table inet t { ... }`), except an anonymous set or verdict map
            # inside a rule, which the rule goes on after (`add rule inet t c ip daddr { 1.2.3.4 } accept`).
            # A `}` that closes nothing always ends the command, so nothing can hide behind it.
            if depth == 0 and not (closes and tuple(words[:2]) in _RULE_COMMANDS):
                end_statement()
        elif ch in "\n;":
            if depth == 0:
                end_statement()
            else:
                end_word()
            if ch == "\n":
                line += 1
        elif ch in " \t\r":
            end_word()
        else:
            word += ch
        i += 1
    end_statement()
    return out


def _target(stmt: Statement) -> tuple[str, str] | str:
    """The (family, table) a command addresses, or why that cannot be known."""
    words = list(stmt.words)
    if words[0] in _VERBS:
        words = words[1:]
    if not words:
        return "incomplete command"
    obj = words[0]
    if obj == "ruleset":
        return "it acts on the whole ruleset (every table)"
    if obj not in _OBJECTS:
        return f"unknown or unsupported command {obj!r}"
    rest = words[1:]
    if obj == "ct" and rest:  # ct helper|timeout|expectation [family] table name
        rest = rest[1:]
    family = "ip"  # nft(8): the family defaults to ip
    if rest and rest[0] in _FAMILIES:
        family, rest = rest[0], rest[1:]
    if not rest or rest[0] in ("handle", "{") or rest[0].startswith("$"):
        return "its table cannot be determined"
    return (family, rest[0])


def scope_problems(script: str, table: str) -> list[str]:
    """Every top-level command of `script` that may touch anything but table inet `table`, as messages."""
    problems: list[str] = []
    for stmt in statements(script):
        head = stmt.words[0]
        if head in _DEFINES:
            continue
        if head == "include":
            problems.append(f"line {stmt.line}: `{stmt}`: included files are not checked")
            continue
        target = _target(stmt)
        if isinstance(target, str):
            problems.append(f"line {stmt.line}: `{stmt}`: {target}")
        elif target != (FAMILY, table):
            problems.append(f"line {stmt.line}: `{stmt}`: touches table {target[0]} {target[1]}, not {FAMILY} {table}")
    return problems


def replaces_table(script: str, table: str) -> bool:
    """Does the script delete table inet `table` (so what follows replaces it) before defining anything?"""
    for stmt in statements(script):
        words = stmt.words
        if words[0] in _DEFINES:
            continue
        if words[:2] == ("delete", "table") and _target(stmt) == (FAMILY, table):
            return True
        if words[0] == "table" and len(words) in (2, 3) and _target(stmt) == (FAMILY, table):
            continue  # `table inet T` without a block: creates it if missing, so the delete cannot fail
        return False
    return False


def with_replacement(script: str, table: str) -> str:
    """The script, made to replace the table: the preamble goes on line 1, so line numbers do not move."""
    if replaces_table(script, table):
        return script
    return f"table {FAMILY} {table}; delete table {FAMILY} {table}; {script}"


# --- network namespaces ------------------------------------------------------------------------------


def netns_path(netns: str) -> Path:
    if not netns or "/" in netns or netns in (".", ".."):
        raise NetnsError(f"invalid network namespace name {netns!r}")
    return NETNS_DIR / netns


@cache
def _libc() -> ctypes.CDLL:
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:  # pragma: no cover - not glibc
        return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _setns(path: Path, libc: ctypes.CDLL) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise NftUnavailable(f"cannot enter network namespace {path.name}: {os.strerror(errno)} (needs root)")
    finally:
        os.close(fd)


def in_netns(netns: str | None, fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` run inside network namespace `netns` (in a forked child), or here when netns is None.

    Exceptions raised by `fn` are re-raised in the caller; the child exits without running cleanup of
    the parent (os._exit).
    """
    if netns is None:
        return fn(*args)
    path = netns_path(netns)
    if not path.exists():
        raise NetnsError(f"no network namespace {netns!r} (not in {NETNS_DIR})")
    libc = _libc()  # loaded before forking: the child only calls it
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; its result is checked by the parent
        os.close(read_fd)
        try:
            _setns(path, libc)
            payload = pickle.dumps((True, fn(*args)))
        except BaseException as exc:
            try:
                payload = pickle.dumps((False, exc))
            except Exception:
                payload = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
        with os.fdopen(write_fd, "wb") as f:
            f.write(payload)
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        raise RuntimeError(f"the helper process in network namespace {netns} died (status {status})")
    ok, value = pickle.loads(data)
    if ok:
        return value  # type: ignore[no-any-return]
    raise value


# --- load, check, delete, list -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Applied:
    table: str
    netns: str | None
    dry_run: bool
    existed: bool  # the table was there before (so it was replaced, not created)
    warnings: str


def _table_exists(table: str) -> bool:
    out = nftlib.run("list tables", dry_run=False).output
    return any(line.split()[1:3] == [FAMILY, table] for line in out.splitlines() if line.startswith("table "))


def _load(script: str, table: str, dry_run: bool, display_name: str) -> Applied:
    existed = _table_exists(table)
    script = with_replacement(script, table)
    if dry_run:  # the dry run, and a real load in a throwaway namespace (what only a commit checks)
        result = nftlib.check(script, name=display_name)
    else:
        result = nftlib.run(script, dry_run=False, name=display_name)
    return Applied(table, None, dry_run, existed, result.warnings)


def apply_script(
    script: str,
    *,
    table: str = "netcompile",
    netns: str | None = None,
    dry_run: bool = False,
    force: bool = False,
    display_name: str = "<script>",
) -> Applied:
    """Replace table inet `table` with `script` in one transaction (or only check it, with `dry_run`).

    Raises ScopeError when the script would touch anything else (unless `force`), NftRejected when
    libnftables refuses it (nothing changed), NftUnavailable / NetnsError when it cannot run here.
    """
    if not force:
        problems = scope_problems(script, table)
        if problems:
            raise ScopeError(table, problems)
    applied = in_netns(netns, _load, script, table, dry_run, display_name)
    return Applied(applied.table, netns, applied.dry_run, applied.existed, applied.warnings)


# --- deltas ------------------------------------------------------------------------------------------


class DriftError(Exception):
    """The loaded table is not the ruleset a delta was made from: the delta was refused, nothing changed."""

    def __init__(self, table: str, expected: str, loaded: str | None) -> None:
        self.table, self.expected, self.loaded = table, expected, loaded
        if loaded is None:
            what = f"there is no table {FAMILY} {table}"
        elif not loaded:
            what = f"table {FAMILY} {table} has no fingerprint set (it was not loaded from netcompile's output)"
        else:
            what = f"table {FAMILY} {table} holds the ruleset of fingerprint {loaded}"
        super().__init__(f"{what}, not the one of fingerprint {expected}")

    def __reduce__(self) -> tuple[type[DriftError], tuple[str, str, str | None]]:
        return DriftError, (self.table, self.expected, self.loaded)  # raised in a namespace's child: pickled


_ELEMENTS_RE = re.compile(r"elements = \{ ([^}]*?) \}")


def _fingerprint(table: str, name: str) -> str | None:
    """The fingerprint element the loaded table holds: None without the table, "" without the set."""
    if not _table_exists(table):
        return None
    try:
        out = nftlib.run(f"list set {FAMILY} {table} {name}", dry_run=False).output
    except nftlib.NftRejected:
        return ""
    found = _ELEMENTS_RE.search(out)
    return found.group(1).strip() if found else ""


def _load_delta(script: str, table: str, dry_run: bool, display_name: str, expected: str, name: str) -> Applied:
    try:
        result = nftlib.run(script, dry_run=dry_run, name=display_name)
    except nftlib.NftRejected:
        loaded = _fingerprint(table, name)
        if loaded != expected:
            raise DriftError(table, expected, loaded) from None
        raise
    return Applied(table, None, dry_run, True, result.warnings)


def apply_delta(
    script: str,
    *,
    expected: str,
    fingerprint_set: str,
    table: str = "netcompile",
    netns: str | None = None,
    dry_run: bool = False,
    display_name: str = "<delta>",
) -> Applied:
    """Load a delta (`compile --since`) as it is, in one transaction: never with the replacement preamble.
    The delta deletes the element `expected` of `fingerprint_set` first, so on a table that does not hold
    that ruleset libnftables refuses all of it; then DriftError says what the table holds instead.
    ScopeError when the script touches anything but the table, NftRejected for any other refusal."""
    problems = scope_problems(script, table)
    if problems:
        raise ScopeError(table, problems)
    applied = in_netns(netns, _load_delta, script, table, dry_run, display_name, expected, fingerprint_set)
    return Applied(applied.table, netns, applied.dry_run, applied.existed, applied.warnings)


class ScopeError(Exception):
    """The script touches more than netcompile's own table."""

    def __init__(self, table: str, problems: list[str]) -> None:
        self.table = table
        self.problems = problems
        super().__init__(f"the script touches more than table {FAMILY} {table}: " + "; ".join(problems))


def _delete(table: str) -> bool:
    existed = _table_exists(table)
    nftlib.run(f"table {FAMILY} {table}\ndelete table {FAMILY} {table}\n", dry_run=False)
    return existed


def delete_table(table: str = "netcompile", *, netns: str | None = None) -> bool:
    """Remove table inet `table` (only it); True if it existed. Idempotent."""
    check_table_name(table)
    return in_netns(netns, _delete, table)


def _list(table: str) -> str | None:
    if not _table_exists(table):
        return None
    return nftlib.run(f"list table {FAMILY} {table}", dry_run=False).output


def list_table(table: str = "netcompile", *, netns: str | None = None) -> str | None:
    """`nft list table inet T` output, or None when the table does not exist."""
    check_table_name(table)
    return in_netns(netns, _list, table)


def list_ruleset(netns: str | None = None) -> str:
    """`nft list ruleset` output (for tests and the lab's evidence)."""
    return in_netns(netns, lambda: nftlib.run("list ruleset", dry_run=False).output)
