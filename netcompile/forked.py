"""A second process for one side of a computation: forked now, warmed up while this one goes on, then given
batches of work through a pipe and answering each batch in order.

Why: a matrix's answers are made twice, by the reference evaluator and by the interpreter of the compiled
rulesets, and the interpreter's side (parsing every node's ruleset text, then its journeys) shares nothing
with the reference's but the completed objects. Forked after the compile, a helper parses while this
process works out the classes and the cells to ask; then both sides evaluate the same asks at once, on two
CPUs. The helper inherits everything (`os.fork`: nothing is copied or pickled but the batches and the
answers) and never writes to stdout or files; it ends with `os._exit`, so nothing of this process (atexit
handlers, buffered output) runs twice.

A batch is written by a thread, so a batch larger than the pipe's buffer does not stall this process while
the helper is still warming up. An exception in the helper is raised here, as itself when it can be
pickled; a helper that dies is an error, never a silent partial answer.
"""

from __future__ import annotations

import os
import pickle
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar, cast

A = TypeVar("A")
R = TypeVar("R")


class HelperError(RuntimeError):
    """The helper process failed in a way that cannot be raised here as itself."""


def cpus() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Helper(Generic[A, R]):
    """A forked process that runs `warm_up()` at once (what it returns: `warmed`), then `work(item)` for
    each item of each batch sent."""

    def __init__(self, warm_up: Callable[[], object], work: Callable[[A], R]) -> None:
        reap()
        requests_read, self._requests = os.pipe()
        self._answers, answers_write = os.pipe()
        self._sender: threading.Thread | None = None
        self._warm: tuple[str, object] | None = None  # the warm-up's answer, once read
        self._pid = os.fork()
        if self._pid == 0:  # pragma: no cover - the helper's side (coverage does not follow a fork)
            os.close(self._requests)
            os.close(self._answers)
            _serve(requests_read, answers_write, warm_up, work)
        os.close(requests_read)
        os.close(answers_write)
        self._reader = os.fdopen(self._answers, "rb")

    def send(self, batch: Sequence[A]) -> None:
        """Give the helper a batch (answered, in order, by the next `receive`)."""
        self._join()
        data = pickle.dumps(list(batch), pickle.HIGHEST_PROTOCOL)
        self._sender = threading.Thread(target=_write_all, args=(self._requests, data), daemon=True)
        self._sender.start()

    def warmed(self) -> object:
        """What `warm_up()` returned (waiting for it); raises what it raised."""
        if self._warm is None:
            self._warm = self._read()
        status, payload = self._warm
        if status == "error":
            assert isinstance(payload, BaseException)
            raise payload
        return payload

    def receive(self) -> list[R]:
        """The answers to the last batch sent; raises what the helper raised (a failed warm-up first)."""
        self.warmed()
        status, payload = self._read()
        self._join()
        if status == "error":
            assert isinstance(payload, BaseException)
            raise payload
        return cast(list[R], payload)

    def _read(self) -> tuple[str, object]:
        try:
            message: tuple[str, object] = pickle.load(self._reader)
        except EOFError:
            raise HelperError("the helper process ended without answering") from None
        return message

    def close(self) -> None:
        """End the helper: it exits when its requests pipe closes. It is reaped once it has ended (`reap`),
        without waiting here for the kernel to take down its memory (3 ms at 1 000 pods)."""
        if self._pid:
            self._join()
            os.close(self._requests)
            self._reader.close()
            _ending.add(self._pid)
            self._pid = 0
            reap()

    def _join(self) -> None:
        if self._sender is not None:
            self._sender.join()
            self._sender = None


_ending: set[int] = set()  # helpers told to end, not reaped yet


def reap() -> set[int]:
    """Reap the helpers that have ended since they were closed; the ones still ending are left for the next
    `reap` (each new helper and each close reaps), or for init once this process is gone. Returns them."""
    for pid in list(_ending):
        try:
            ended, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere
            ended = pid
        if ended:
            _ending.discard(pid)
    return set(_ending)


def _write_all(fd: int, data: bytes) -> None:
    """A batch, its length first. A helper that is gone (a broken pipe) is reported by `receive`."""
    view = memoryview(data)
    try:
        os.write(fd, len(data).to_bytes(8, "little"))  # 8 bytes: never split
        while view:
            view = view[os.write(fd, view) :]
    except BrokenPipeError:
        pass


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks: list[bytes] = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _serve(
    requests: int, answers: int, warm_up: Callable[[], object], work: Callable[[A], R]
) -> None:  # pragma: no cover - runs in the helper
    code = 0
    try:
        with os.fdopen(answers, "wb") as out:
            failure: BaseException | None = None
            try:
                blob = pickle.dumps(("ok", warm_up()), pickle.HIGHEST_PROTOCOL)
            except BaseException as exc:  # raised there, where the parent asks for it
                failure = exc
                blob = _error(exc)
            out.write(blob)
            out.flush()
            while (header := _read_exactly(requests, 8)) is not None:
                data = _read_exactly(requests, int.from_bytes(header, "little"))
                if data is None:
                    break
                try:
                    if failure is not None:
                        raise failure
                    message = ("ok", [work(item) for item in pickle.loads(data)])
                    blob = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
                except BaseException as exc:
                    blob = _error(exc)
                out.write(blob)
                out.flush()
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _error(exc: BaseException) -> bytes:
    """The exception, pickled as itself if it comes back whole, else as a HelperError naming it."""
    try:
        blob = pickle.dumps(("error", exc), pickle.HIGHEST_PROTOCOL)
        pickle.loads(blob)
        return blob
    except Exception:
        return pickle.dumps(("error", HelperError(f"{type(exc).__name__}: {exc}")), pickle.HIGHEST_PROTOCOL)
