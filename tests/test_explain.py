"""`netcompile explain` (issue 17.3): a pod, workload or Service as a reviewer asks about it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from netcompile.cli import app
from tests.test_diff import repository

runner = CliRunner()


def explain(tmp_path: Path, target: str, *options: str) -> tuple[int, str]:
    folder = tmp_path / "repo" if (tmp_path / "repo").exists() else repository(tmp_path, "repo")
    result = runner.invoke(app, ["explain", str(folder), target, *options])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stdout


def test_a_workload_in_plain_words(tmp_path: Path) -> None:
    code, out = explain(tmp_path, "backend/deploy/api")
    assert code == 0, out
    assert out.startswith("backend/deployment/api (2 pods)")
    assert "Ingress: isolated by 1 policy" in out
    assert (
        'NetworkPolicy "backend/allow-web" (podSelector app=api) ingress[0]: from pods app=web in namespaces '
        "team=web on TCP 8080" in out
    )
    assert "Egress: not isolated: every connection allowed" in out
    assert 'Service "backend/api": ClusterIP ' in out and "NodePort " in out


def test_egress_to_cidrs_and_a_pod(tmp_path: Path) -> None:
    code, out = explain(tmp_path, "frontend/deploy/batch")
    assert code == 0
    assert "to addresses in 198.51.100.0/24 except 198.51.100.128/25 on TCP 443" in out
    assert "Services routing to it\n  none" in out


def test_a_service_its_endpoints_and_pods(tmp_path: Path) -> None:
    code, out = explain(tmp_path, "backend/svc/api", "--format", "json")
    assert code == 0
    data = json.loads(out)
    titles = [s["title"] for s in data["sections"]]
    assert data["target"] == 'Service "backend/api" (NodePort)'
    assert titles[:2] == ["Frontends", "Endpoints (2)"]
    assert all("ready" in line for line in data["sections"][1]["lines"])
    assert any(t.startswith("pod backend/api-") for t in titles)


def test_what_it_cannot_explain(tmp_path: Path) -> None:
    assert explain(tmp_path, "backend/nope")[0] == 2
    assert explain(tmp_path, "10.0.0.1")[0] == 2
    result = runner.invoke(app, ["explain", "backend/api"])
    assert result.exit_code == 2


def test_the_lint_findings_about_it(tmp_path: Path) -> None:
    """explain ends with lint's findings about what it explained (here: batch cannot resolve names)."""
    code, out = explain(tmp_path, "frontend/deploy/batch")
    assert code == 0
    section = out.split("Lint findings (1)\n")[1]
    assert 'Deployment "frontend/batch"' in section and "[no-dns]" in section
    assert "Lint findings (0)\n  none" in explain(tmp_path, "backend/svc/api")[1]
