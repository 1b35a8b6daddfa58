"""The lab's report: one row per probe and round, the table, the summary line, the list of skipped
probes, and the exit decision (a mismatch always fails; a skipped probe fails unless allowed)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from . import probes as pr
from .compare import MISMATCH, OK, SKIPPED
from .expected import Expectation


@dataclass(slots=True)
class Row:
    probe: pr.Probe
    observed: pr.Observation
    reference: Expectation | None
    status: str  # ok | MISMATCH | skipped
    why: list[str]
    round: int = 0  # with --repeat: which round of probes
    # the positive control of a drop (control.py): what the same probe saw without NetworkPolicies
    control: str | None = None

    def to_json(self) -> dict[str, Any]:
        p, o = self.probe, self.observed
        return {
            "from": p.source.label,
            "src": str(p.source.address),
            "to": p.target,
            "dst": str(p.dst),
            "protocol": p.protocol.value,
            "port": p.port,
            "observed": {
                "status": o.status,
                "pod": o.pod,
                "peer": o.peer,
                "port": o.port,
                "ms": o.ms,
                "error": o.error,
            },
            "reference": None
            if self.reference is None
            else [
                {
                    "verdict": f.verdict.value,
                    "pod": f.server,
                    "port": f.port,
                    "source": str(f.source) if f.source else None,
                    "probability": str(prob),
                }
                for f, prob in sorted(self.reference.distribution.items(), key=lambda kv: kv[0].key)
                if prob > 0
            ],
            "expect": None
            if p.wanted is None
            else {
                "expect": p.wanted.expect,
                "pods": list(p.wanted.pods) if p.wanted.pods is not None else None,
                "source": p.wanted.source,
            },
            "round": self.round,
            "status": self.status,
            "why": self.why,
            "control": self.control,
        }

    @property
    def what(self) -> str:
        """The probe in one line: from, to, port (and round)."""
        p = self.probe
        target = p.target if p.target == str(p.dst) else f"{p.target} ({p.dst})"
        rnd = f" (round {self.round + 1})" if self.round else ""
        return f"{p.source.label} -> {target} {p.protocol.value.lower()}/{p.port}{rnd}"


@dataclass(slots=True)
class LabReport:
    prefix: str
    rows: list[Row]
    notes: list[str]
    timings: dict[str, float]
    reference_used: bool
    kept: bool
    namespaces: list[str]

    @property
    def mismatches(self) -> list[Row]:
        return [r for r in self.rows if r.status == MISMATCH]

    @property
    def skipped(self) -> list[Row]:
        return [r for r in self.rows if r.status == SKIPPED]

    def passed(self, allow_skips: bool = False) -> bool:
        """No mismatch, and nothing left unchecked (unless skips are allowed)."""
        return not self.mismatches and (allow_skips or not self.skipped)

    def to_json(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "probes": [r.to_json() for r in self.rows],
            "summary": {
                "probes": len(self.rows),
                "ok": sum(r.status == OK for r in self.rows),
                "mismatches": len(self.mismatches),
                "skipped": len(self.skipped),
                "controlled": sum(r.control is not None for r in self.rows),
            },
            "reference": self.reference_used,
            "notes": self.notes,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "kept": self.namespaces if self.kept else [],
        }


# --- the table ---------------------------------------------------------------------------------------


def format_table(report: LabReport, *, all_rows: bool = True) -> list[str]:
    headers = ("FROM", "TO", "PORT", "OBSERVED", "REFERENCE", "RESULT")
    lines: list[tuple[str, ...]] = []
    for row in report.rows:
        if not all_rows and row.status == OK:
            continue
        p = row.probe
        ref = row.reference.describe(p.source.address) if row.reference else "-"
        if p.wanted is not None:
            ref = f"{ref} | expect {p.wanted.expect}" if row.reference else f"expect {p.wanted.expect}"
        result = row.status + (": " + "; ".join(row.why) if row.why and row.status != OK else "")
        if row.status == OK and row.control is not None:
            result += f" (control: {row.control.removeprefix('without NetworkPolicies: ')})"
        target = p.target if p.target == str(p.dst) else f"{p.target} ({p.dst})"
        source = p.source.label + (f" #{row.round + 1}" if row.round else "")
        port = f"{p.protocol.value.lower()}/{p.port}"
        lines.append((source, target, port, str(row.observed), ref, result))
    widths = [max([len(h), *(len(line[i]) for line in lines)]) for i, h in enumerate(headers[:-1])]
    out = []
    for line in [headers, *lines]:
        out.append("  ".join(cell.ljust(w) for cell, w in zip(line[:-1], widths, strict=True)) + "  " + line[-1])
    return out


def summary(report: LabReport) -> str:
    n = len(report.rows)
    bad = len(report.mismatches)
    skipped = len(report.skipped)
    t = report.timings
    parts = [f"{n} probes", f"{n - bad - skipped} ok", f"{bad} mismatch{'es' if bad != 1 else ''}"]
    if skipped:
        parts.append(f"{skipped} skipped")
    phases = ", ".join(
        f"{k} {t[k]:.2f}s" for k in ("build", "apply", "servers", "probe", "control", "teardown") if k in t
    )
    return f"lab {report.prefix}: {', '.join(parts)} in {t.get('total', 0):.2f}s ({phases})"


def skipped_lines(report: LabReport, allow_skips: bool = False) -> list[str]:
    """Every skipped probe, what and why, then what it means for the exit code."""
    if not report.skipped:
        return []
    out = [f"skipped: {r.what}: {'; '.join(r.why)}" for r in report.skipped]
    n = len(report.skipped)
    if allow_skips:
        out.append(f"{n} probe(s) skipped, not checked (allowed by --allow-skips)")
    else:
        out.append(f"{n} probe(s) skipped, not checked: that is not a pass (exit 1; --allow-skips accepts it)")
    return out


def stderr_progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\rprobing: {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()
    elif done == total or done % max(1, total // 4) == 0:
        sys.stderr.write(f"probing: {done}/{total}\n")
        sys.stderr.flush()
