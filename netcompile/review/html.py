"""Pictures: who reaches whom as a self-contained HTML page (no network, no script), for `diff --format
html` and, through `grid_page`, for any matrix by groups.

Rows are the sources (workloads by namespace, outside clients), columns the destinations and their
ports, grouped by namespace; a cell's colour says open, closed or partly open, a changed cell is outlined
and marked (opened: ▲, closed: ▼), and its tooltip names the policy rules that decide it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from html import escape

from ..model import Protocol
from .reach import Change, Key, Tally, Version
from .report import Review

Explain = Callable[[Key], tuple[str, ...]]  # the rules deciding a cell (its tooltip)

STYLE = """
body { font: 13px/1.4 system-ui, sans-serif; margin: 16px; color: #222; }
h1 { font-size: 16px; } p.summary { font-weight: 600; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: center; white-space: nowrap; }
th.row { text-align: right; font-weight: normal; }
th.ns { background: #f3f3f3; }
td.open { background: #c8e6c9; } td.closed { background: #eeeeee; color: #999; }
td.partly { background: #ffe0b2; } td.none { background: #fff; color: #ccc; }
td.opened { outline: 3px solid #2e7d32; outline-offset: -3px; font-weight: 700; }
td.closed-now { outline: 3px solid #c62828; outline-offset: -3px; font-weight: 700; }
td.changed { outline: 3px solid #ef6c00; outline-offset: -3px; font-weight: 700; }
.legend span { display: inline-block; padding: 2px 8px; margin-right: 6px; border: 1px solid #ddd; }
"""


def _namespace(group: str) -> str:
    """A group's namespace: `shop` of `shop/deployment/web`, of `shop/web-1` and of a class of pods
    (`matrix`'s rows: `12 pods of shop/app=web`); `outside` for outside clients and addresses."""
    if group.startswith("outside"):
        return "outside"
    return group.split("/", 1)[0].rsplit(" pods of ", 1)[-1]


def grid_page(title: str, summary: str, version: Version, changes: list[Change], explain: Explain | None = None) -> str:
    """The matrix of `version` by groups and ports, `changes` highlighted, as one HTML page."""
    sources = sorted({k[0] for k in version.tallies}, key=lambda g: (_namespace(g) == "outside", g))
    columns = sorted(
        {(k[1], k[2], k[3].value) for k in version.tallies}, key=lambda c: (_namespace(c[0]) == "outside", c)
    )
    changed = {(c.source, c.destination, c.protocol.value, c.port): c for c in changes}
    moved = {(c.source, c.destination, c.protocol.value, c.port.split(" → ")[-1]): c for c in changes}
    by_ns: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    for column in columns:
        by_ns[_namespace(column[0])].append(column)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="summary">{escape(summary)}</p>',
        '<p class="legend"><span class="open" style="background:#c8e6c9">open</span>'
        '<span style="background:#eeeeee">closed</span><span style="background:#ffe0b2">partly open</span>'
        '<span style="outline:3px solid #2e7d32">▲ opened</span><span style="outline:3px solid #c62828">▼ closed</span>'
        '<span style="outline:3px solid #ef6c00">● changed</span></p>',
        "<table><thead><tr><th></th>",
        *(f'<th class="ns" colspan="{len(cols)}">{escape(ns)}</th>' for ns, cols in by_ns.items()),
        "</tr><tr><th>from \\ to</th>",
        *(_column(d, port, proto) for c in by_ns.values() for d, port, proto in c),
        "</tr></thead><tbody>",
    ]  # fmt: skip
    tallies = {(k[0], k[1], k[2], k[3].value): t for k, t in version.tallies.items()}
    for source in sources:
        out.append(f'<tr><th class="row">{escape(source)}</th>')
        for cols in by_ns.values():
            for destination, port, proto in cols:
                out.append(_cell(tallies, changed, moved, source, destination, port, proto, explain))
        out.append("</tr>")
    out += ["</tbody></table></body></html>"]
    return "\n".join(out) + "\n"


def _column(destination: str, port: int, proto: str) -> str:
    """A column's head: the workload's name (its namespace above it, its kind in the tooltip) and port."""
    name = destination.removeprefix("outside ") if destination.startswith("outside") else destination.rsplit("/", 1)[-1]
    return f'<th title="{escape(destination)}">{escape(name)}<br>{proto} {port}</th>'


def _cell(
    tallies: dict[tuple[str, str, int, str], Tally],
    changed: dict[tuple[str, str, str, str], Change],
    moved: dict[tuple[str, str, str, str], Change],
    source: str,
    destination: str,
    port: int,
    proto: str,
    explain: Explain | None = None,
) -> str:
    tally = tallies.get((source, destination, port, proto))
    if tally is None:
        return '<td class="none">·</td>'
    state = "open" if tally.open == tally.cells else "closed" if tally.open == 0 else "partly"
    mark = {"open": "✓", "closed": "-", "partly": f"{tally.open}/{tally.cells}"}[state]
    tip = [f"{source} → {destination} {proto} {port}: {tally.state}"]
    change = changed.get((source, destination, proto, str(port))) or moved.get((source, destination, proto, str(port)))
    classes = [state]
    if change is not None:
        kind = {"opens": "opened", "closes": "closed-now"}.get(change.kind, "changed")
        classes.append(kind)
        mark = {"opened": "▲ ", "closed-now": "▼ ", "changed": "● "}[kind] + mark
        tip += [f"{change.kind} {change.port}: {change.before} → {change.after}"]
        tip += [f"before: {w}" for w in change.why_before] + [f"after: {w}" for w in change.why_after]
    elif explain is not None:
        tip += list(explain((source, destination, port, Protocol(proto))))
    title = escape("\n".join(tip), quote=True)
    return f'<td class="{" ".join(classes)}" title="{title}">{escape(mark)}</td>'


def review_page(review: Review, new: Version) -> str:
    """`diff --format html`: the new version's matrix by groups, the changes highlighted."""
    return grid_page(f"netcompile diff {review.old} → {review.new}", review.summary(), new, review.reach)


FILL = {"open": "#c8e6c9", "closed": "#eeeeee", "partly": "#ffe0b2"}


def grid_svg(title: str, version: Version, explain: Explain | None = None) -> str:
    """The same matrix as one SVG picture: a square per source, destination and port, coloured open,
    closed or partly open, each with a `<title>` (its tooltip) naming the rules that decide it."""
    sources = sorted({k[0] for k in version.tallies}, key=lambda g: (_namespace(g) == "outside", g))
    columns = sorted(
        {(k[1], k[2], k[3]) for k in version.tallies},
        key=lambda c: (_namespace(c[0]) == "outside", c[0], c[1], c[2].value),
    )
    size, left, top = (
        18,
        8 + 7 * max((len(s) for s in sources), default=10),
        16 + 7 * max((len(f"{d.rsplit('/', 1)[-1]} {p.value} {n}") for d, n, p in columns), default=10),
    )
    width, height = left + size * len(columns) + top // 2 + 8, top + size * len(sources) + 8
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        f'font-size="11"><title>{escape(title)}</title>'
    ]
    for j, (destination, port, protocol) in enumerate(columns):
        x = left + j * size + size // 2 + 4
        label = escape(f"{destination.rsplit('/', 1)[-1]} {protocol.value} {port}")
        out.append(
            f'<text transform="translate({x},{top - 4}) rotate(-60)">{label}<title>{escape(destination)}</title></text>'
        )
    for i, source in enumerate(sources):
        y = top + i * size
        out.append(f'<text x="{left - 4}" y="{y + size - 5}" text-anchor="end">{escape(source)}</text>')
        for j, (destination, port, protocol) in enumerate(columns):
            tally = version.tallies.get((source, destination, port, protocol))
            if tally is None:
                continue
            state = "open" if tally.open == tally.cells else "closed" if tally.open == 0 else "partly"
            tip = [f"{source} → {destination} {protocol.value} {port}: {tally.state}"]
            tip += list(explain((source, destination, port, protocol))) if explain is not None else []
            out.append(
                f'<rect x="{left + j * size}" y="{y}" width="{size - 1}" height="{size - 1}" fill="{FILL[state]}" '
                f'data-state="{state}"><title>{escape(chr(10).join(tip))}</title></rect>'
            )
    out.append("</svg>")
    return "\n".join(out) + "\n"
