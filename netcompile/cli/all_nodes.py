"""`compile --all-nodes -o DIR/`: one ruleset per node, `DIR/<node>.nft`, from one load and one completion.

The input is read and completed once (`pipeline.complete`), and what does not depend on the node (the
indexes, every Service port's endpoints) resolved once (`pipeline.share_across_nodes`); each node's
ruleset is then compiled from those (`pipeline.compile_node`, as `compile --node NAME` would). The first
node is compiled here: its compile makes the part of the Service stage that other nodes replay where
their inputs are the same (compile/reuse.py; most of a ruleset's text, written once: nft/render.py).
With more than one worker, the other nodes are shared out among forked children (`os.fork`: they
inherit the completed objects, the shared indexes and that part without copying or pickling them;
`gc.freeze` first, so the collector does not touch, and so copy, the parent's pages). The children take
the next node from a queue (a pipe of node numbers) as they finish one, so a worker slowed by other work
on the machine takes fewer; each writes its nodes' rulesets to temporary files beside their targets and
reports only names, sizes and times back. The files are renamed into place once every node is
compiled: a failure leaves none of them written (each rename is atomic; together they are all or
nothing as far as the compile is concerned).
"""

from __future__ import annotations

import gc
import os
import pickle
import struct
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..model import Objects
from ..pipeline import ClusterError, CompileOptions, compile_node, node_names, share_across_nodes

__all__ = ["NodeRuleset", "compile_all", "ruleset_path"]


@dataclass(frozen=True, slots=True)
class NodeRuleset:
    node: str
    path: Path  # where it goes
    bytes: int
    notices: tuple[str, ...]
    temporary: Path  # where it is until `compile_all` renames it
    worker: int = 0  # who compiled it: 0 this process, k > 0 the k-th forked worker
    started: float = 0.0  # when its compile began and its file was written: time.monotonic(), the same
    finished: float = 0.0  # clock in every process (so a benchmark can lay the workers' times side by side)
    cpu: float = 0.0  # CPU seconds its compile and write took
    waited: float = 0.0  # seconds it was ready to run but waited for a CPU (Linux's run queue; 0 elsewhere)


def ruleset_path(directory: Path, node: str) -> Path:
    """`DIR/<node>.nft`; a Node name is a DNS subdomain, so it is a plain file name (checked anyway)."""
    if not node or "/" in node or node.startswith(".") or "\0" in node:
        raise ClusterError(f"Node {node!r}: its name cannot be a file name in {directory}")
    return directory / f"{node}.nft"


def _write_temporary(target: Path, data: bytes) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(name, 0o644)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _compile(
    completed: Objects, opts: CompileOptions, directory: Path, nodes: Iterable[str], worker: int = 0
) -> list[NodeRuleset]:
    out: list[NodeRuleset] = []
    try:
        for node in nodes:
            started, cpu, queued = time.monotonic(), time.process_time(), _run_queue_seconds()
            output = compile_node(completed, replace(opts, node=node)).output
            target = ruleset_path(directory, node)
            data = output.text.encode()
            temporary = _write_temporary(target, data)
            out.append(
                NodeRuleset(
                    node,
                    target,
                    len(data),
                    tuple(output.notices),
                    temporary,
                    worker,
                    started,
                    time.monotonic(),
                    time.process_time() - cpu,
                    _run_queue_seconds() - queued,
                )
            )
    except BaseException:
        _discard(out)
        raise
    return out


def _run_queue_seconds() -> float:
    """How long this process has waited, ready to run, for a CPU (the second field of /proc/self/schedstat,
    in nanoseconds): what tells a worker slowed by other work on the machine from one that waits on I/O."""
    try:
        with open("/proc/self/schedstat", "rb") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def _discard(results: Sequence[NodeRuleset]) -> None:
    for result in results:
        result.temporary.unlink(missing_ok=True)


_INDEX = struct.Struct("=I")  # a node's number in the queue: 4 bytes, written and read whole (< PIPE_BUF)


def _queued(read_fd: int, nodes: Sequence[str]) -> Iterator[str]:
    """The nodes this worker takes from the queue, one at a time, until it is empty."""
    while len(data := os.read(read_fd, _INDEX.size)) == _INDEX.size:
        yield nodes[_INDEX.unpack(data)[0]]


def _in_children(
    completed: Objects, opts: CompileOptions, directory: Path, nodes: list[str], workers: int
) -> list[NodeRuleset]:
    """`_compile` over `nodes`, taken from a queue by `workers` forked children."""
    queue_read, queue_write = os.pipe()
    queued = len(nodes) * _INDEX.size <= 60_000  # what a pipe holds before anyone reads it
    if queued:
        os.write(queue_write, b"".join(_INDEX.pack(i) for i in range(len(nodes))))
    os.close(queue_write)  # the queue ends when it is empty
    # The parent's objects leave the collector's generations, so that a child's collection does not touch
    # (and so copy) their pages; no collection first: it would cost the parent a pass over the whole heap
    # while the other core waits, for garbage that is small next to it.
    gc.freeze()
    children: list[tuple[int, int]] = []
    try:
        for k in range(workers):
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child; its result is checked by the parent
                gc.disable()  # what it makes is acyclic, and it exits once its nodes are written
                os.close(read_fd)
                try:
                    mine = _queued(queue_read, nodes) if queued else nodes[k::workers]  # else round-robin
                    payload = pickle.dumps((True, _compile(completed, opts, directory, mine, k + 1)))
                except BaseException as exc:
                    payload = pickle.dumps((False, f"{type(exc).__name__}: {exc}"))
                with os.fdopen(write_fd, "wb") as f:
                    f.write(payload)
                os._exit(0)
            os.close(write_fd)
            children.append((pid, read_fd))
        results: list[NodeRuleset] = []
        failures: list[str] = []
        for pid, read_fd in children:
            with os.fdopen(read_fd, "rb") as f:
                data = f.read()
            os.waitpid(pid, 0)
            if not data:
                failures.append(f"the worker process {pid} died")
                continue
            ok, value = pickle.loads(data)
            if ok:
                results += value
            else:
                failures.append(value)
    finally:
        os.close(queue_read)
        gc.unfreeze()
    if failures:
        _discard(results)
        raise ClusterError("; ".join(failures))
    order = {node: i for i, node in enumerate(nodes)}
    return sorted(results, key=lambda r: order[r.node])


def compile_all(completed: Objects, opts: CompileOptions, directory: Path, workers: int = 1) -> list[NodeRuleset]:
    """Every Node's ruleset, written to `directory/<node>.nft`; ClusterError (nothing written) when the
    input has no Node or a node cannot be compiled."""
    nodes = [n for n in node_names(completed, opts) if n is not None]
    if not nodes:
        raise ClusterError("--all-nodes: the input has no Node (and simulates none): compile one ruleset with -o FILE")
    for node in nodes:
        ruleset_path(directory, node)
    directory.mkdir(parents=True, exist_ok=True)
    share_across_nodes(completed, opts)
    # The first node here: its compile makes the Service part every node replays (compile/reuse.py), which
    # the workers then inherit rather than each making it again.
    results = _compile(completed, opts, directory, nodes[:1])
    rest = nodes[1:]
    workers = max(1, min(workers, len(rest)))
    try:
        if workers == 1:
            results += _compile(completed, opts, directory, rest)
        else:
            results += _in_children(completed, opts, directory, rest, workers)
    except BaseException:
        _discard(results)
        raise
    try:
        for result in results:
            os.replace(result.temporary, result.path)
    except BaseException:
        _discard(results)
        raise
    return results
