"""The two versions a review compares: paths as given, or the same paths at a Git revision.

A revision is read with `git archive REV -- PATHS` into a temporary folder: the work tree, the index
and the repository's state are never touched (a review runs in a pull request's checkout).
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path


class RevisionError(ValueError):
    """A revision or path that Git cannot give: the message says which and why."""


def _git(args: list[str], cwd: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)


def at_revision(revision: str, paths: list[str], into: Path) -> list[str]:
    """`paths` (relative to the current folder, inside a Git work tree) as they are at `revision`,
    written under `into`; the paths to read there."""
    cwd = os.getcwd()
    top = _git(["rev-parse", "--show-toplevel"], cwd)
    if top.returncode != 0:
        raise RevisionError(f"--git {revision}: not inside a Git work tree ({cwd})")
    root = Path(top.stdout.decode().strip())
    commit = _git(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], cwd)
    if commit.returncode != 0 or revision.startswith("-"):
        raise RevisionError(f"--git {revision}: no such revision")
    inside = []
    for path in paths or ["."]:
        resolved = Path(os.path.realpath(path if os.path.isabs(path) else os.path.join(cwd, path)))
        try:
            inside.append(resolved.relative_to(root.resolve()).as_posix() or ".")
        except ValueError:
            raise RevisionError(f"--git {revision}: {path} is outside the repository ({root})") from None
    archive = _git(["archive", "--format=tar", commit.stdout.decode().strip(), "--", *inside], str(root))
    if archive.returncode != 0:
        message = archive.stderr.decode(errors="replace").strip().splitlines()
        raise RevisionError(f"--git {revision}: {message[-1] if message else 'git archive failed'}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        for member in tar.getmembers():  # a repository's own files: regular files and folders only
            if not (member.isfile() or member.isdir()) or member.name.startswith(("/", "..")) or "/../" in member.name:
                continue
            tar.extract(member, into)
    return [str(into / p) for p in inside]


def scratch() -> tempfile.TemporaryDirectory[str]:
    """A temporary folder for one version's files."""
    return tempfile.TemporaryDirectory(prefix="netcompile-diff-")
