"""Pictures (issue 17.2): `diff --format html` draws the matrix by workload and port, the changes
highlighted, each cell's tooltip naming the rules that decide it; Chromium renders it."""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcompile.cli import app
from tests.conftest import IN_CI
from tests.test_diff import repository

runner = CliRunner()


def page(tmp_path: Path) -> str:
    old = repository(tmp_path, "old")
    new = repository(tmp_path, "new", {"policies.yaml": ("ports: [{port: 8080}]", "ports: [{port: 8443}]")})
    result = runner.invoke(app, ["diff", str(old), str(new), "--format", "html"])
    assert result.exit_code == 1, result.output
    return result.stdout


def test_the_page_marks_what_changed(tmp_path: Path) -> None:
    html = page(tmp_path)
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html and "http" not in html  # self-contained
    closed = re.findall(r'<td class="open closed-now"[^>]*>|<td class="closed closed-now" title="([^"]*)"', html)
    assert closed, "the closed connection is outlined"
    tip = next(t for t in closed if t)
    assert "frontend/deployment/web → backend/deployment/api TCP 8080" in tip
    assert "NetworkPolicy &quot;backend/allow-web&quot; ingress[0]" in tip  # the rule, before the change
    assert html.count('class="ns"') >= 2  # columns grouped by namespace


@pytest.mark.skipif(shutil.which("chromium") is None and not IN_CI, reason="needs Debian's chromium (make setup)")
def test_chromium_renders_it(tmp_path: Path) -> None:
    (tmp_path / "review.html").write_text(page(tmp_path))
    shot = tmp_path / "review.png"
    done = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}", "--window-size=1200,600",
         (tmp_path / "review.html").as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(data[16:20], "big") == 1200
    colours = png_colours(data)
    assert colours[(0xC8, 0xE6, 0xC9)] > 0 and colours[(0xEE, 0xEE, 0xEE)] > 0  # open and closed cells, drawn
    # the closed connection's outline: more of its red than the legend alone draws (the page of a change
    # that closes nothing, for comparison: the same legend, no outlined cell)
    calm = runner.invoke(app, ["diff", str(tmp_path / "old"), str(tmp_path / "old"), "--format", "html"]).stdout
    (tmp_path / "calm.html").write_text(calm)
    calm_shot = tmp_path / "calm.png"
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={calm_shot}",
         "--window-size=1200,600", (tmp_path / "calm.html").as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    red = (0xC6, 0x28, 0x28)
    assert colours[red] > png_colours(calm_shot.read_bytes())[red] > 0
    dom = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", (tmp_path / "review.html").as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert "closed-now" in dom.stdout and "▼" in dom.stdout  # parsed as a page, the marks in place
    assert "NetworkPolicy &quot;backend/allow-web&quot; ingress[0]" in dom.stdout  # the tooltips' titles


def png_colours(data: bytes) -> Counter[tuple[int, int, int]]:
    """How many pixels of each colour an 8-bit RGB or RGBA PNG has (as Chromium writes screenshots)."""
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    depth, kind = data[24], data[25]
    assert depth == 8 and kind in (2, 6), (depth, kind)
    channels = 3 if kind == 2 else 4
    chunks, at = [], 8
    while at < len(data):
        size, name = int.from_bytes(data[at : at + 4], "big"), data[at + 4 : at + 8]
        if name == b"IDAT":
            chunks.append(data[at + 8 : at + 8 + size])
        at += 12 + size
    raw = zlib.decompress(b"".join(chunks))
    stride, previous = width * channels, bytearray(width * channels)
    colours: Counter[tuple[int, int, int]] = Counter()
    for row in range(height):
        start = row * (stride + 1)
        kind_, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind_ == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind_ == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind_ == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind_ == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        colours.update((line[i], line[i + 1], line[i + 2]) for i in range(0, stride, channels))
        previous = line
    return colours


def test_the_matrix_as_a_picture(tmp_path: Path) -> None:
    """`matrix --format html`: the text table's rows (classes of pods, by workload), a column per row and
    port, each tooltip with the rules that decide it (the reference's reasons)."""
    folder = repository(tmp_path, "repo")
    result = runner.invoke(app, ["matrix", str(folder), "--format", "html"])
    assert result.exit_code == 0, result.output
    html = result.stdout
    table = runner.invoke(app, ["matrix", str(folder)]).stdout
    rows = [line.rsplit(")", 1)[0] + ")" for line in table.splitlines()[1:] if line.endswith(("--", "ok"))]
    assert re.findall(r'<th class="row">([^<]*)</th>', html) == rows
    assert rows[-1] == "frontend/deployment/web (2 pods)"
    cell = re.search(
        r'<td class="open" title="frontend/deployment/web \(2 pods\) → backend/deployment/api \(2 pods\) TCP 8080: '
        r'open\n([^"]*)"',
        html,
    )
    assert cell is not None and "NetworkPolicy &quot;backend/allow-web&quot; ingress[0] allows" in cell.group(1)
    denied = re.search(
        r'<td class="closed" title="frontend/deployment/admin \(1 pod\) → backend/deployment/api \(2 pods\) TCP '
        r'8080[^"]*"',
        html,
    )
    assert denied is not None and "no rule allows" in denied.group(0)


def test_the_picture_of_many_bare_pods_has_a_row_per_class(tmp_path: Path) -> None:
    """Bare pods (no workload) that nothing tells apart are one row of the picture, as of the table: the
    bench's 200 pods are 41 rows (it was a row and a column per pod), `--pods` draws every pod; `--from` and
    `--to` pick rows of the tables only, and say so."""
    from bench.policies import manifest

    (tmp_path / "in.yaml").write_text(manifest(200, 40))
    table = runner.invoke(app, ["matrix", str(tmp_path)])
    html = runner.invoke(app, ["matrix", str(tmp_path), "--format", "html"])
    assert table.exit_code == html.exit_code == 0, html.output
    rows = re.findall(r'<th class="row">([^<]*)</th>', html.stdout)
    lines = table.stdout.splitlines()
    labels = [re.split(r"\s{2,}", line)[0] for line in lines[1 : lines.index("")]]  # the table's rows
    assert sorted(rows) == sorted(labels) and len(rows) == len(set(rows)) == 41
    assert sum(int(row.split()[0]) for row in rows if re.match(r"\d+ pods of ns-", row)) == 200  # bare pods, by class
    every = runner.invoke(app, ["matrix", str(tmp_path), "--format", "svg", "--pods"])
    assert every.exit_code == 0 and every.stdout.count('text-anchor="end"') == 201  # a row per pod
    picked = runner.invoke(app, ["matrix", str(tmp_path), "--format", "html", "--from", "ns-00/pod-00000"])
    assert picked.exit_code == 2 and "--from and --to pick the rows and columns of the text" in picked.stderr


def test_the_matrix_as_svg(tmp_path: Path) -> None:
    folder = repository(tmp_path, "repo")
    result = runner.invoke(app, ["matrix", str(folder), "--format", "svg"])
    assert result.exit_code == 0, result.output
    svg = result.stdout
    assert svg.startswith("<svg xmlns=") and svg.rstrip().endswith("</svg>")
    rect = re.search(
        r'data-state="open"><title>frontend/deployment/web \(2 pods\) → backend/deployment/api \(2 pods\) TCP '
        r"8080: open\n([^<]*)",
        svg,
    )
    assert rect is not None and "NetworkPolicy &quot;backend/allow-web&quot; ingress[0] allows" in rect.group(1)
    closed = 'data-state="closed"><title>frontend/deployment/admin (1 pod) → backend/deployment/api (2 pods) TCP 8080'
    assert closed in svg


@pytest.mark.parametrize("form", ["svg", "html"])
def test_the_pictures_are_the_same_whatever_the_hash_seed(form: str) -> None:
    """Byte-identical pictures from runs with different string hashes: the examples' DNS pod has port 53
    over UDP and TCP, whose columns were once in the order of a set."""
    import os
    import sys

    from tests.conftest import ROOT

    outputs = set()
    for seed in ("1", "2", "3", "4"):
        done = subprocess.run(
            [sys.executable, "-m", "netcompile", "matrix", str(ROOT / "examples"), "--format", form],
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1
