"""The random choice of an endpoint as iptables makes it, exactly.

Endpoint i of N (0-based) is chosen by a rule `-m statistic --mode random --probability P_i` with
P_i = 1/(N-i) printed with 10 decimals (as kube-proxy prints it); the last endpoint has no statistic
match. iptables parses the text to a double and stores `lround(P_i * 2^31)` (libxt_statistic); the
kernel matches when `(random_u32 & 0x7fffffff) < stored` (xt_statistic), so rule i matches with
probability exactly stored_i / 2^31, and endpoint i gets that times the chance that every earlier rule
missed. `endpoint_probabilities(N)` returns those exact fractions (they sum to 1).
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache

SCALE = 1 << 31  # the kernel's 31-bit fraction


def probability_text(remaining: int) -> str:
    """The `--probability` text of the rule that picks one of `remaining` endpoints: 1/remaining, 10 decimals."""
    if remaining < 1:
        raise ValueError(f"no endpoint to pick among {remaining}")
    return f"{1 / remaining:.10f}"


def stored(text: str) -> int:
    """What iptables stores for `--probability text`: lround(strtod(text) * 2^31), halves away from zero."""
    exact = Fraction(float(text)) * SCALE  # a double times 2^31 is exact in C as here
    whole, rest = divmod(exact, 1)
    return int(whole) + (1 if rest >= Fraction(1, 2) else 0)


def rule_probability(text: str) -> Fraction:
    """The exact probability that a `--probability text` rule matches a packet."""
    return Fraction(stored(text), SCALE)


@cache
def endpoint_probabilities(n: int) -> tuple[Fraction, ...]:
    """The exact probability of each of `n` endpoints in the statistic cascade (sums to 1)."""
    if n < 1:
        raise ValueError(f"no endpoints: {n}")
    out: list[Fraction] = []
    missed = Fraction(1)
    for index in range(n - 1):
        hit = rule_probability(probability_text(n - index))
        out.append(missed * hit)
        missed *= 1 - hit
    out.append(missed)
    return tuple(out)
