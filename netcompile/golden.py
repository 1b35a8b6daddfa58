"""Golden cases: a folder of input manifests, optional compile flags, and the expected ruleset.

    golden/<case>/NN-what.yaml  the input (read as a directory: recursive, sorted)
    golden/<case>/args          optional compile flags, shell syntax: --node node-a --cluster-cidr 10.0.0.0/16
    golden/<case>/expected.nft

(golden/README.md). `netcompile golden golden/` compares; `--update` rewrites expected.nft. The test
suite runs every case, also through libnftables and against the reference evaluator, and compiles each
twice to prove the output deterministic.
"""

from __future__ import annotations

import argparse
import difflib
import shlex
from dataclasses import dataclass
from pathlib import Path

from .atomic import write_atomically
from .compile.compiler import CompileOptions, Output, compile_paths
from .compile.index import ClusterError
from .errors import InputError
from .load.validation import parse_cidr

EXPECTED = "expected.nft"
ARGS = "args"


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    directory: Path

    @property
    def expected_path(self) -> Path:
        return self.directory / EXPECTED

    def options(self) -> CompileOptions:
        args_file = self.directory / ARGS
        words = shlex.split(args_file.read_text()) if args_file.exists() else []
        parser = argparse.ArgumentParser(prog=f"golden case {self.name}", exit_on_error=False)
        parser.add_argument("--node")
        parser.add_argument("--cluster-cidr", action="append", default=[])
        parser.add_argument("--nodeport-addresses", action="append", default=[])
        parser.add_argument("--table", default="netcompile")
        try:  # exit_on_error=False: a bad args file is the case's problem, never an exit from here
            ns, unknown = parser.parse_known_args(words)
        except argparse.ArgumentError as exc:
            raise ValueError(f"{args_file}: {exc}") from None
        if unknown:
            raise ValueError(f"{args_file}: unknown flags: {' '.join(unknown)}")

        def nets(values: list[str]) -> tuple:  # type: ignore[type-arg]
            out = [parse_cidr(v) for value in values for v in value.split(",")]
            if any(n is None for n in out):
                raise ValueError(f"{args_file}: invalid CIDR in {values}")
            return tuple(out)

        return CompileOptions(
            node=ns.node,
            cluster_cidrs=nets(ns.cluster_cidr),
            nodeport_addresses=nets(ns.nodeport_addresses),
            table=ns.table,
        )

    def compile(self) -> Output:
        return compile_paths([str(self.directory)], self.options())[1]


def discover(root: Path) -> list[Case]:
    """Every sub-folder of `root` holding at least one YAML file, sorted by name."""
    return [
        Case(d.name, d)
        for d in sorted(Path(root).iterdir())
        if d.is_dir() and any(p.suffix in (".yaml", ".yml") for p in d.iterdir())
    ]


def check_cases(cases: list[Case], *, update: bool) -> list[str]:
    """Compare (or rewrite) every case; returns one message per case that differs or fails."""
    problems: list[str] = []
    for case in cases:
        try:
            text = case.compile().text
        except (InputError, ClusterError, ValueError, OSError) as exc:
            problems.append(f"{case.name}: does not compile:\n{exc}")
            continue
        if not update and not case.expected_path.exists():
            problems.append(f"{case.name}: {EXPECTED} is missing (run with --update)")
            continue
        try:
            if update:
                write_atomically(case.expected_path, text)
                continue
            expected = case.expected_path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{case.name}: cannot {'write' if update else 'read'} {EXPECTED}: {exc}")
            continue
        if expected != text:
            diff = difflib.unified_diff(
                expected.splitlines(keepends=True), text.splitlines(keepends=True), str(case.expected_path), "compiled"
            )
            problems.append(f"{case.name}: differs from {EXPECTED}:\n{''.join(diff)}")
    return problems
