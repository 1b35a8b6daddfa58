"""Golden cases: a folder of input manifests, optional compile flags, and the expected ruleset.

    golden/<case>/NN-what.yaml  the input (read as a directory: recursive, sorted)
    golden/<case>/args          optional compile flags, shell syntax: --node node-a --cluster-cidr 10.0.0.0/16
                                (every compile option of the command line: pipeline.COMPILE_FLAGS)
    golden/<case>/expected.nft
    golden/<case>/expected.iptables  the same ruleset from the iptables back end (compile --backend iptables)

(golden/README.md). `netcompile golden golden/` compares; `--update` rewrites both expected files. The test
suite runs every case, also through libnftables and against the reference evaluator, and compiles each
twice to prove the output deterministic.
"""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass
from pathlib import Path

from .atomic import write_atomically
from .compile.compiler import Output
from .compile.index import ClusterError
from .errors import InputError
from .iptables import file_header
from .iptables import render as render_iptables
from .load.references import dangling_references
from .pipeline import (
    CompileArgs,
    Compiled,
    CompileOptions,
    ParseOptions,
    compile_node,
    complete,
    load,
    parse_compile_args,
)

EXPECTED = "expected.nft"
EXPECTED_IPTABLES = "expected.iptables"
ARGS = "args"


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    directory: Path

    @property
    def expected_path(self) -> Path:
        return self.directory / EXPECTED

    @property
    def expected_iptables_path(self) -> Path:
        return self.directory / EXPECTED_IPTABLES

    def texts(self) -> dict[str, str]:
        """Each expected file's name, and what the case compiles to for it: the nftables script, and the
        iptables back end's file of the same IR (`compile --backend iptables`)."""
        compiled = self.compiled()[0]
        table, node = compiled.output.table, compiled.cluster.node_name
        iptables = render_iptables(table, file_header(node)).text
        return {EXPECTED: compiled.output.text, EXPECTED_IPTABLES: iptables}

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
    """Compare (or rewrite) every case's expected files; returns one message per file that differs, and
    per case that fails."""
    problems: list[str] = []
    for case in cases:
        try:
            texts = case.texts()
        except (InputError, ClusterError, ValueError, OSError) as exc:
            problems.append(f"{case.name}: does not compile:\n{exc}")
            continue
        for name, text in texts.items():
            problem = _compare(case, case.directory / name, text, update)
            if problem is not None:
                problems.append(problem)
    return problems


def _compare(case: Case, path: Path, text: str, update: bool) -> str | None:
    if not update and not path.exists():
        return f"{case.name}: {path.name} is missing (run with --update)"
    try:
        if update:
            write_atomically(path, text)
            return None
        expected = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        return f"{case.name}: cannot {'write' if update else 'read'} {path.name}: {exc}"
    if expected == text:
        return None
    diff = difflib.unified_diff(
        expected.splitlines(keepends=True), text.splitlines(keepends=True), str(path), "compiled"
    )
    return f"{case.name}: differs from {path.name}:\n{''.join(diff)}"
