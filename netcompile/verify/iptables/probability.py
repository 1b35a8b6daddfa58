"""Exact probabilities of `-m statistic --mode random --probability P`, and of a cascade of such rules.

libxt_statistic stores `lround(P * 2^31)` (P read by strtod) and the kernel's xt_statistic matches when
`get_random_u32() & 0x7FFFFFFF` is below that number: the rule matches with probability exactly
`lround(P * 2^31) / 2^31`, not P. A kube-proxy-style cascade gives endpoint i of n (from 0) the rule
`--probability 1/(n-i)` (the last endpoint takes what is left, without a rule), so endpoint i gets
`q_i * prod(1 - q_j for j < i)`: close to 1/n, but not 1/n unless n is a power of two.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

from .vocabulary import STATISTIC_SCALE

__all__ = ["cascade", "kube_proxy_cascade", "quantized", "statistic_threshold"]


def statistic_threshold(text: str) -> int | None:
    """lround(P * 2^31) of `--probability P` exactly as libxt_statistic computes it; None if not 0 <= P <= 1.

    strtod reads the text to the nearest double (as Python's float does); 0x80000000 * P is exact (a
    power of two); lround rounds halves away from zero, so the rounding is done here in exact arithmetic.
    """
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        return None
    return math.floor(Fraction(value) * STATISTIC_SCALE + Fraction(1, 2))


def quantized(text: str) -> Fraction:
    """The exact probability with which `--probability TEXT` matches."""
    threshold = statistic_threshold(text)
    if threshold is None:
        raise ValueError(f"not a probability: {text!r}")
    return Fraction(threshold, STATISTIC_SCALE)


def cascade(probabilities: Sequence[str]) -> list[Fraction]:
    """What each branch of a cascade gets: rule i (`--probability probabilities[i]`) is tried if every
    earlier one missed; the last entry is what falls through all of them (len(probabilities) + 1 entries)."""
    out: list[Fraction] = []
    remaining = Fraction(1)
    for text in probabilities:
        q = quantized(text)
        out.append(remaining * q)
        remaining *= 1 - q
    out.append(remaining)
    return out


def kube_proxy_cascade(n: int, digits: int = 10) -> list[Fraction]:
    """The exact share of each of `n` endpoints under kube-proxy's cascade: endpoint i's rule has
    `--probability` 1/(n-i) written with `digits` decimals (kube-proxy writes `%0.10f`); the last has no rule."""
    if n < 1:
        raise ValueError("a cascade needs at least one endpoint")
    return cascade([f"{1 / (n - i):.{digits}f}" for i in range(n - 1)])
