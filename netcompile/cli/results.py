"""Results with their probabilities, as trace's and matrix's JSON give them."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..verify.packet import Result


def result_json(result: Result, probability: Fraction) -> dict[str, Any]:
    return {
        "verdict": result.verdict.value,
        "destination": str(result.dst) if result.dst is not None else None,
        "port": result.dport,
        "masquerade": result.masquerade,
        "probability": str(probability),
    }


def distribution_json(dist: dict[Result, Fraction]) -> list[dict[str, Any]]:
    items = sorted(dist.items(), key=lambda kv: (-kv[1], kv[0].sort_key()))
    return [result_json(r, p) for r, p in items]
