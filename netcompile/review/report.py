"""A review of one change: the semantic diff (reachability by groups, Service behaviour), then the ruleset
diff per node; as text, Markdown (a pull-request comment: the summary line first, details collapsed) or
JSON."""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from .reach import Change
from .services import ServiceChange


@dataclass(slots=True)
class Review:
    """What changed between two versions."""

    old: str  # how each version was named (a path, `--git REV`)
    new: str
    reach: list[Change] = field(default_factory=list)
    services: list[ServiceChange] = field(default_factory=list)
    added: list[str] = field(default_factory=list)  # groups of pods only in the new version
    removed: list[str] = field(default_factory=list)
    resized: list[tuple[str, int, int]] = field(default_factory=list)
    rulesets: dict[str, list[str]] = field(default_factory=dict)  # node -> unified diff lines
    disagreements: list[str] = field(default_factory=list)  # the evaluators differ: said loudly

    @property
    def changed(self) -> bool:
        return bool(self.reach or self.services or self.added or self.removed or self.resized or self.rulesets)

    def summary(self) -> str:
        opens = sum(c.kind == "opens" for c in self.reach)
        closes = sum(c.kind == "closes" for c in self.reach)
        other = len(self.reach) - opens - closes
        services = len({c.service for c in self.services})
        parts = [
            f"opens {_count(opens, 'connection')}",
            f"closes {closes}",
            *([f"changes {_count(other, 'other connection')}"] if other else []),
            f"changes {_count(services, 'Service')}",
        ]
        nodes = _count(len(self.rulesets), "node's ruleset", "nodes' rulesets")
        return f"{', '.join(parts)}; {nodes} differ" if self.changed else "no change: the rulesets are the same"


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one}" if n == 1 else f"{n} {many or one + 's'}"


def ruleset_diff(old: str, new: str, node: str) -> list[str]:
    """The unified diff of one node's rulesets (empty when equal)."""
    return list(
        difflib.unified_diff(old.splitlines(), new.splitlines(), f"a/{node}.nft", f"b/{node}.nft", lineterm="", n=3)
    )


def _reach_line(c: Change) -> str:
    line = f"{c.kind} {c.source} → {c.destination} {c.protocol.value} {c.port}"
    if c.kind == "changes" and "→" not in c.port:
        line += f" ({c.before} → {c.after})"
    return line


def _why(c: Change) -> list[str]:
    out = []
    if c.why_before and c.kind != "opens":
        out.append("before: " + "; ".join(c.why_before))
    if c.why_after:
        out.append("after: " + "; ".join(c.why_after))
    return out


def _service_change(c: ServiceChange) -> str:
    """What changed for one frontend and kind of client, in short."""
    if not c.client:
        return "added" if c.before is None else "removed"
    before, after = c.before, c.after
    same = before is not None and after is not None and before.verdict is None and after.verdict is None
    if same and before is not None and after is not None and before.endpoints == after.endpoints:
        return f"the same {_count(len(before.endpoints), 'endpoint')}, ({before.how}) → ({after.how})"  # how only
    return f"{before or '-'} → {after or '-'}"


def service_lines(changes: list[ServiceChange], every: int) -> list[str]:
    """One line per Service and change, with the frontends and kinds of clients it applies to."""
    grouped: dict[tuple[str, str, tuple[str, ...]], tuple[dict[str, None], dict[str, None]]] = {}
    for c in changes:
        frontends, clients = grouped.setdefault((c.service, _service_change(c), c.nodes), ({}, {}))
        frontends[f"{c.frontend} (port {c.port})"] = None
        if c.client:
            clients[c.client] = None
    out = []
    for (service, change, nodes), (frontends, clients) in grouped.items():
        where = "every node" if len(nodes) == every else "node " + ", ".join(nodes)
        whom = f", from {' and '.join(clients)}" if clients else ""
        out.append(f"Service {service}: {'; '.join(frontends)}{whom}: {change} ({where})")
    return out


def text(review: Review, nodes: int) -> str:
    lines = [f"netcompile diff {review.old} → {review.new}: {review.summary()}"]
    lines += [f"DISAGREEMENT (a netcompile bug, please report it): {d}" for d in review.disagreements]
    if review.reach:
        lines += ["", "Connections (by workload, port):"]
        for c in review.reach:
            lines.append(f"  {_reach_line(c)}")
            lines += [f"      {w}" for w in _why(c)]
    if review.added or review.removed or review.resized:
        lines += ["", "Pods:"]
        lines += [f"  new: {g}" for g in review.added] + [f"  gone: {g}" for g in review.removed]
        lines += [f"  {g}: {a} → {b} pods" for g, a, b in review.resized]
    if review.services:
        lines += ["", "Services:"]
        lines += [f"  {line}" for line in service_lines(review.services, nodes)]
    for node, diff in review.rulesets.items():
        lines += ["", f"Ruleset of {node}:", *diff]
    return "\n".join(lines) + "\n"


def markdown(review: Review, nodes: int) -> str:
    """Ready to paste into a pull-request comment: the summary first, each part collapsed."""
    out = [f"**netcompile diff** `{review.old}` → `{review.new}`: {review.summary()}", ""]
    warning = "> :warning: **The evaluators disagree** (a netcompile bug, please report it):"
    out += [f"{warning} {d}" for d in review.disagreements]
    if review.reach:
        out += ["<details><summary>Connections</summary>", ""]
        out += ["| change | from | to | port | why |", "|---|---|---|---|---|"]
        for c in review.reach:
            why = "<br>".join(_why(c)).replace("|", "\\|")
            out.append(f"| {c.kind} | `{c.source}` | `{c.destination}` | {c.protocol.value} {c.port} | {why} |")
        out += ["", "</details>", ""]
    if review.added or review.removed or review.resized:
        out += ["<details><summary>Pods</summary>", ""]
        out += [f"- new: `{g}`" for g in review.added] + [f"- gone: `{g}`" for g in review.removed]
        out += [f"- `{g}`: {a} → {b} pods" for g, a, b in review.resized]
        out += ["", "</details>", ""]
    if review.services:
        out += ["<details><summary>Services</summary>", ""]
        out += [f"- {line}" for line in service_lines(review.services, nodes)]
        out += ["", "</details>", ""]
    for node, diff in review.rulesets.items():
        out += [f"<details><summary>Ruleset of {node}</summary>", "", "```diff", *diff, "```", "", "</details>", ""]
    return "\n".join(out).rstrip() + "\n"


def _texts(c: ServiceChange) -> dict[str, str]:
    """`before` and `after` as text, for JSON: a frontend added is `none` → `a frontend`, a frontend
    removed `a frontend` → `no longer`."""
    if not c.client:
        return {
            "before": "none" if c.before is None else "a frontend",
            "after": "no longer" if c.after is None else "a frontend",
        }
    return {"before": str(c.before or "-"), "after": str(c.after or "-")}


def as_json(review: Review) -> str:
    data: dict[str, Any] = {
        "old": review.old,
        "new": review.new,
        "summary": review.summary(),
        "changed": review.changed,
        "connections": [asdict(c) | {"protocol": c.protocol.value} for c in review.reach],
        "pods": {"new": review.added, "gone": review.removed, "resized": review.resized},
        "services": [asdict(c) | _texts(c) for c in review.services],
        "rulesets": {node: "\n".join(diff) for node, diff in review.rulesets.items()},
        "disagreements": review.disagreements,
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
