"""Reading pieces of input in two processes at once: this one and a forked one.

The whole interface is `read_in_two(pieces, read, count, max_objects)`: `read` turns a list of pieces
into a reading (anything picklable), `count` says how many objects a reading holds. Each process takes
the next unread piece until none is left, so that both stay busy to the end whatever else the machine
is doing; the forked one sends each reading as soon as it has it (a thread here receives them). What the
processes read only meets in the caller, which gets the readings back in piece order.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from typing import Generic, TypeVar

_P = TypeVar("_P")
_R = TypeVar("_R")


def available() -> bool:
    """Whether two processes can read at once here: two CPUs or more, and fork."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return False
    return cpus >= 2 and "fork" in multiprocessing.get_all_start_methods()


def read_in_two(
    pieces: Sequence[_P], read: Callable[[list[_P]], _R], count: Callable[[_R], int], max_objects: int
) -> list[_R] | None:
    """The reading of each piece, in piece order. Pieces the other process took but did not hand back
    (it died) are read here. None when the pieces hold more than `max_objects` objects: both stop taking
    pieces then (each may finish the one it has), so that memory stays bounded."""
    context = multiprocessing.get_context("fork")
    shared = _Shared(context.Value("i", 0), context.Value("i", 0))
    job = _Job(pieces, read, count, max_objects, shared)
    receiver, sender = context.Pipe(duplex=False)
    other = context.Process(target=_other_reader, args=(job, sender), daemon=True)
    other.start()
    sender.close()
    received: dict[int, _R] = {}
    receiving = threading.Thread(target=_receive, args=(receiver, received), daemon=True)
    receiving.start()
    readings = _take_pieces(job, None)
    receiving.join()
    receiver.close()
    other.join()
    if shared.objects.value > max_objects:
        return None
    readings.update(received)
    return [readings[i] if i in readings else read([piece]) for i, piece in enumerate(pieces)]


@dataclass(frozen=True, slots=True)
class _Shared:
    """What both processes count: pieces taken, and objects read (to stop past the limit)."""

    taken: Synchronized[int]
    objects: Synchronized[int]


@dataclass(frozen=True, slots=True)
class _Job(Generic[_P, _R]):
    pieces: Sequence[_P]
    read: Callable[[list[_P]], _R]
    count: Callable[[_R], int]
    max_objects: int
    shared: _Shared


def _receive(receiver: Connection, into: dict[int, _R]) -> None:
    try:
        while True:
            index, reading = receiver.recv()
            into[index] = reading
    except (EOFError, OSError):  # the other process is done (or died)
        return


def _take_pieces(job: _Job[_P, _R], sender: Connection | None) -> dict[int, _R]:
    """Read the next piece nobody has taken, until none is left (or the objects read pass the limit);
    each reading is kept, or sent."""
    readings: dict[int, _R] = {}
    shared = job.shared
    while True:
        with shared.taken.get_lock():
            index = shared.taken.value
            shared.taken.value = index + 1
        if index >= len(job.pieces) or shared.objects.value > job.max_objects:
            return readings
        reading = job.read([job.pieces[index]])
        with shared.objects.get_lock():
            shared.objects.value += job.count(reading)
        if sender is None:
            readings[index] = reading
        else:
            sender.send((index, reading))


def _other_reader(job: _Job[_P, _R], sender: Connection) -> None:
    _take_pieces(job, sender)
    sender.close()
