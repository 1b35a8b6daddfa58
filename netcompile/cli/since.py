"""`--since OLD.nft` of `compile` and `apply`: the delta from a ruleset netcompile wrote to the new one."""

from __future__ import annotations

import mmap
import threading
from pathlib import Path
from typing import Annotated

import typer

from .. import __version__
from ..nft import fingerprint
from ..nft.delta import Delta, between
from ..nft.reader import DELTA, Loaded, NotOurs, read, verify
from . import fail

SinceOpt = Annotated[
    Path | None,
    typer.Option(
        "--since",
        metavar="OLD.nft",
        help=(
            "Emit the delta from OLD.nft (a full ruleset netcompile wrote, as loaded) to the new ruleset: one "
            "transaction that changes only what differs, and applies only to a table holding OLD.nft."
        ),
    ),
]


def read_ruleset(path: Path | str) -> str:
    """A ruleset file's text, as written (no newline translated); exit 2 when it cannot be read. A file is
    decoded from a map of it: its 12 MB are not first copied into bytes."""
    try:
        with open(path, "rb") as file:
            try:
                mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
            except (ValueError, OSError):  # empty, or not a file that maps (a pipe)
                return file.read().decode("utf-8")
            with mapped:
                return str(mapped, "utf-8")
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        fail(f"{path}: not UTF-8 text, so not a ruleset netcompile wrote")


class Old:
    """OLD.nft, read and its layout checked before anything is compiled; its fingerprint is checked against
    its text beside the compile, in a thread (hashlib lets go of the GIL while it hashes), and the delta
    waits for that check (`checked`) before it is made."""

    def __init__(self, path: Path, text: str, loaded: Loaded) -> None:
        self.path, self.loaded, self._text = path, loaded, text
        self._outcome: list[NotOurs | None] = []
        self._thread = threading.Thread(target=self._verify, name="since-fingerprint", daemon=True)
        self._thread.start()

    def _verify(self) -> None:
        try:
            verify(self.loaded, self._text, str(self.path))
        except NotOurs as exc:
            self._outcome.append(exc)
        else:
            self._outcome.append(None)

    def checked(self) -> Loaded:
        """The ruleset, once its fingerprint matches its text; exit 2 when it does not (the file was edited)."""
        self._thread.join()
        if not self._outcome:  # the thread failed otherwise: check here, where a failure is seen
            verify(self.loaded, self._text, str(self.path))
        elif self._outcome[0] is not None:
            fail(f"--since {self._outcome[0]}")
        return self.loaded


def load_since(since: Path) -> Old:
    """The ruleset of file `since`, read before anything is compiled; exit 2 when it is not a full ruleset
    netcompile wrote (its fingerprint is checked beside the compile: `Old.checked`)."""
    text = read_ruleset(since)
    try:
        return Old(since, text, read(text, str(since), check=False))
    except NotOurs as exc:
        fail(f"--since {exc}")


def delta_from(since: Path, pending: Old, new_text: str, new_name: str = "<compiled>") -> tuple[Delta, str]:
    """The delta from OLD (read from file `since`) to the ruleset `new_text`, and its script; exit 2
    when OLD was edited, the new text is not a ruleset netcompile wrote, or the two are of different tables."""
    old = pending.checked()
    try:
        new = read(new_text, new_name, check=new_name != "<compiled>")
    except NotOurs as exc:
        fail(str(exc))
    if (old.family, old.name) != (new.family, new.name):
        fail(
            f"--since {since}: a ruleset of table {old.family} {old.name}, the new one is table {new.family} "
            f"{new.name} (--table): a delta changes one table"
        )
    try:
        delta = between(old, new)
    except NotOurs as exc:  # an element line of either, checked as the delta cuts it
        fail(f"--since {exc}" if str(exc).startswith(f"{since}:") else str(exc))
    header = [
        f"{DELTA.removeprefix('# ')} {__version__}: from {fingerprint.NAME} {delta.old} ({since}) to {delta.new}; "
        "do not edit.",
        f"Loading it changes table {delta.family} {delta.table} in one transaction, only if the table holds "
        f"{delta.old}: otherwise its first command fails and nothing changes.",
    ]
    return delta, delta.render(header)
