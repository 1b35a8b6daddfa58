"""netcompile/forked.py: a forked helper answers batches in order, after its warm-up, and never fails quietly."""

from __future__ import annotations

import os
import signal
import time

import pytest

from netcompile.forked import Helper, HelperError, reap

WARMED: list[str] = []  # what the warm-up did: in the helper's copy of this module only


def warm() -> str:
    WARMED.append(f"warm in {os.getpid()}")
    return "warmed up"


def work(item: int) -> tuple[int, int, list[str]]:
    return item * item, os.getpid(), list(WARMED)


def test_batches_are_answered_in_order_by_the_warmed_up_helper() -> None:
    helper: Helper[int, tuple[int, int, list[str]]] = Helper(warm, work)
    try:
        for batch in ([3, 1, 2], [], list(range(1000))):
            helper.send(batch)
            answers = helper.receive()
            assert [a[0] for a in answers] == [n * n for n in batch]
            assert {a[1] for a in answers} <= {helper._pid}  # made in the helper, not here
            assert all(a[2] == [f"warm in {helper._pid}"] for a in answers)  # after its warm-up, once
        assert WARMED == []  # this process did not warm up
        assert helper.warmed() == "warmed up"  # what the warm-up returned
    finally:
        helper.close()


def echo(item: bytes) -> int:
    return len(item)


def test_a_batch_larger_than_the_pipe_does_not_stall() -> None:
    helper: Helper[bytes, int] = Helper(lambda: None, echo)
    try:
        batch = [b"x" * (1 << 20)] * 8  # 8 MiB one way: the pipe holds 64 KiB
        helper.send(batch)
        assert helper.receive() == [1 << 20] * 8
    finally:
        helper.close()


def failing(item: int) -> int:
    if item == 2:
        raise ValueError(f"item {item} is bad")
    return item


class Unpicklable(Exception):
    def __init__(self, a: int, b: int) -> None:  # pickle re-creates it with one argument: fails
        super().__init__(f"{a} and {b}")


def unpicklable(item: int) -> int:
    raise Unpicklable(item, item + 1)


def test_an_exception_in_the_helper_is_raised_here() -> None:
    helper: Helper[int, int] = Helper(lambda: None, failing)
    try:
        helper.send([1, 2, 3])
        with pytest.raises(ValueError, match="item 2 is bad"):
            helper.receive()
        helper.send([1, 3])  # the helper goes on
        assert helper.receive() == [1, 3]
    finally:
        helper.close()
    helper2: Helper[int, int] = Helper(lambda: None, unpicklable)
    try:
        helper2.send([5])
        with pytest.raises(HelperError, match="Unpicklable: 5 and 6"):
            helper2.receive()
    finally:
        helper2.close()


def broken_warm_up() -> None:
    raise OSError("cannot warm up")


def test_a_failed_warm_up_is_raised_at_the_first_batch() -> None:
    helper: Helper[int, int] = Helper(broken_warm_up, failing)
    try:
        with pytest.raises(OSError, match="cannot warm up"):
            helper.warmed()
        helper.send([1])
        with pytest.raises(OSError, match="cannot warm up"):
            helper.receive()
    finally:
        helper.close()


def dying(item: int) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return item  # pragma: no cover


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_helper_that_dies_is_an_error_not_an_empty_answer(capfd: pytest.CaptureFixture[str]) -> None:
    helper: Helper[int, int] = Helper(lambda: None, dying)
    try:
        helper.send([1])
        with pytest.raises(HelperError, match="ended without answering"):
            helper.receive()
        helper.send(list(range(200_000)))  # to a helper that is gone: a broken pipe, and no traceback of it
        with pytest.raises(HelperError, match="ended without answering"):
            helper.receive()
    finally:
        helper.close()
    assert "Traceback" not in capfd.readouterr().err


def test_close_reaps_the_helper_and_it_writes_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    helper: Helper[int, tuple[int, int, list[str]]] = Helper(warm, work)
    pid = helper._pid
    helper.send([1])
    helper.receive()
    helper.close()
    deadline = time.monotonic() + 30
    while pid in reap():  # it ends on its own, and is reaped once it has
        assert time.monotonic() < deadline, "the closed helper did not end"
        time.sleep(0.01)
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped: no zombie left
    helper.close()  # twice is harmless
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
