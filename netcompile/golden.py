"""Golden cases: a folder of input manifests, optional compile flags, and the expected ruleset.

    golden/<case>/NN-what.yaml  the input (read as a directory: recursive, sorted)
    golden/<case>/args          optional compile flags, shell syntax: --node node-a --cluster-cidr 10.0.0.0/16
                                (every compile option of the command line: pipeline.COMPILE_FLAGS)
    golden/<case>/expected.nft

(golden/README.md). `netcompile golden golden/` compares; `--update` rewrites expected.nft. The test
suite runs every case, also through libnftables and against the reference evaluator, and compiles each
twice to prove the output deterministic.
"""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass
from pathlib import Path

from .atomic import write_atomically
from .compile.index import ClusterError
from .errors import InputError
from .load.references import dangling_references
from .pipeline import (
    CompileArgs,
    Compiled,
    CompileOptions,
    Output,
    ParseOptions,
    compile_node,
    complete,
    load,
    parse_compile_args,
)

EXPECTED = "expected.nft"
ARGS = "args"


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    directory: Path

    @property
    def expected_path(self) -> Path:
        return self.directory / EXPECTED

    def args(self) -> CompileArgs:
        """The case's compile flags (its args file, if any), read as the command line reads them; ValueError
        (OptionError) on an unknown flag or a flag without its value."""
        args_file = self.directory / ARGS
        try:
            words = shlex.split(args_file.read_text()) if args_file.exists() else []
            return parse_compile_args(words, f"golden case {self.name}")
        except ValueError as exc:  # also OptionError, shlex's "No closing quotation", UnicodeDecodeError
            raise ValueError(f"{args_file}: {exc}") from None

    def checked(self) -> tuple[CompileOptions, ParseOptions, bool]:
        """The options of the case (checked as the command line checks them), and --strict."""
        args = self.args()
        try:
            opts, parse = args.check()
        except ValueError as exc:
            raise ValueError(f"{self.directory / ARGS}: {exc}") from None
        return opts, parse, args.strict

    def options(self) -> CompileOptions:
        """The options the case is compiled with: its flags, over kube-proxy's configuration in its input."""
        return self.compiled()[1]

    def compile(self) -> Output:
        """The pipeline (load, complete, compile) on the case's folder with its flags. Raises InputError,
        ClusterError, ValueError (a bad args file; with --strict, a dangling reference)."""
        return self.compiled()[0].output

    def compiled(self) -> tuple[Compiled, CompileOptions]:
        """The case compiled (its Cluster, for the reference, and its Output, the input's notices first),
        and the options it was compiled with (`options`)."""
        _, parse, strict = self.checked()
        args = self.args()
        simulated = args.complete_options()  # checked already, by `checked`
        proxy_config = str(self.directory / args.proxy_config) if args.proxy_config else None
        objects = load([str(self.directory)], parse=parse, proxy_config=proxy_config)
        if strict and (found := dangling_references(objects)):
            n = len(found)
            listed = "".join(f"\n{diagnostic}" for diagnostic in found)
            raise ValueError(f"{n} dangling reference{'s' if n != 1 else ''} in the input (--strict):{listed}")
        opts = args.compile_options(objects.proxy_config)
        compiled = compile_node(complete(objects, simulated), opts)
        compiled.output.notices[:0] = objects.notices
        return compiled, opts


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
