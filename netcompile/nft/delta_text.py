"""Where two element blocks differ, found on their text (`LoadedSet.written`: each line `\\t\\t\\t<element>,\\n`,
in the text of the ruleset, which is not copied whole).

A delta (nft/delta.py) needs the lines only one of OLD and NEW holds. Cutting every element line of a
large cluster into strings to compare them costs more than the rest of a delta (bench/delta.py), and a
delta's sets mostly differ in a few lines: so stretches of text alike in both are found by comparing
slices in C, and only what is left is cut into lines. Offsets are always at the start of a line (or the
end of the text).

Any pairing of stretches alike in both gives the same lines only one side holds, once the lines left
on each side are compared as sets: a line is never twice in one set (one element per key), so a line of
one side that the other holds is not in a stretch paired with a different line, hence left on both sides.
"""

from __future__ import annotations

from collections.abc import Callable

from .reader import Stretch

__all__ = ["differing", "unaligned"]

Span = tuple[int, int]


def differing(old: Stretch, new: Stretch) -> tuple[int, int, int]:
    """`old[start:old_end]` and `new[start:new_end]`: what is left once the lines alike at the start and
    at the end of both are set aside (the order of the lines is kept: see `unaligned` otherwise)."""
    limit, shift = min(len(old), len(new)), len(new) - len(old)
    alike = _alike(limit, _from(old, 0, new, 0))
    start = old.rfind("\n", 0, alike) + 1  # the lines wholly alike
    alike = _alike(limit - start, lambda low, high: old.same(len(old) - high, new, len(new) - high, len(new) - low))
    end = len(old) - alike
    if not (_line_start(old, end) and _line_start(new, end + shift)):
        end = old.find("\n", end, len(old)) + 1  # the next line: in the common part, so a line in both
    return start, end, end + shift


def unaligned(old: Stretch, new: Stretch) -> tuple[list[Span], list[Span]]:
    """The stretches of `old` and of `new` left once stretches alike in both are paired, in order: after
    the lines alike at the start and end (`differing`), from the first lines that differ, the nearer of
    the next place `old` holds `new`'s line and the next place `new` holds `old`'s line is where the two
    meet again (a line gone, or come, or moved); neither found, the two lines differ. What is searched is
    bounded (a few times the text left), then the rest is left whole."""
    start, old_end, new_end = differing(old, new)
    gone: list[Span] = []
    come: list[Span] = []
    i, j = start, start
    budget = 2 * (old_end - start + new_end - start)
    while i < old_end and j < new_end and budget > 0:
        old_line = old.part(i, old.find("\n", i, old_end) + 1)
        new_line = new.part(j, new.find("\n", j, new_end) + 1)
        at_old = old.find("\n" + new_line, i, old_end) + 1  # 0: not there (a line at i + 1 or after)
        at_new = new.find("\n" + old_line, j, new_end) + 1
        budget -= (at_old or old_end) - i + (at_new or new_end) - j
        if at_old and (not at_new or at_old - i <= at_new - j):
            _leave(gone, i, at_old)
            i = at_old
        elif at_new:
            _leave(come, j, at_new)
            j = at_new
        else:
            _leave(gone, i, i + len(old_line))
            _leave(come, j, j + len(new_line))
            i, j = i + len(old_line), j + len(new_line)
        alike = _alike(min(old_end - i, new_end - j), _from(old, i, new, j))
        last = old.rfind("\n", i, i + alike)  # the lines wholly alike end there
        if last >= 0:
            i, j = last + 1, j + last + 1 - i
    _leave(gone, i, old_end)
    _leave(come, j, new_end)
    return gone, come


def _leave(spans: list[Span], start: int, end: int) -> None:
    """Add the stretch from `start` to `end` to `spans`, joined to the last if it ends there."""
    if start >= end:
        return
    if spans and spans[-1][1] == start:
        start = spans.pop()[0]
    spans.append((start, end))


def _from(old: Stretch, i: int, new: Stretch, j: int) -> Callable[[int, int], bool]:
    """`same` for `_alike`: `old` from offset `i` against `new` from offset `j`."""
    return lambda low, high: old.same(i + low, new, j + low, j + high)


def _line_start(text: Stretch, at: int) -> bool:
    return at == 0 or text.char(at - 1) == "\n"


def _alike(limit: int, same: Callable[[int, int], bool]) -> int:
    """The largest n <= `limit` such that `same(0, n)`, given `same(low, high)` (a stretch of two texts
    compared in C, from their start or from their end). Stretches of growing length are compared, so
    that what is copied to compare is about what is alike, then the first that differs is halved."""
    low, step = 0, 4096
    while low < limit:
        high = min(low + step, limit)
        if not same(low, high):
            break
        low, step = high, min(2 * step, 1 << 20)
    else:
        return low
    high -= 1  # same(0, high) is false: at most high - 1 are alike
    while low < high:
        middle = (low + high + 1) // 2
        if same(low, middle):
            low = middle
        else:
            high = middle - 1
    return low
