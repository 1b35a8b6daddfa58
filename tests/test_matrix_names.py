"""`matrix --from/--to NAME` (issue 20.3): a DNS name picks the pods it leads to, as trace resolves it."""

from __future__ import annotations

from typer.testing import CliRunner

from netcompile.cli import app
from tests.conftest import ROOT

runner = CliRunner()
REPO = str(ROOT / "examples-repo" / "manifests")


def matrix(*options: str) -> tuple[int, str]:
    result = runner.invoke(app, ["matrix", REPO, *options])
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout


def test_a_service_name_is_its_pods() -> None:
    by_name = matrix("--from", "frontend.shop", "--to", "catalog.shop.svc.cluster.local")
    by_target = matrix("--from", "shop/deploy/frontend", "--to", "shop/deploy/catalog")
    assert by_name == by_target and by_name[0] == 0
    assert "shop/deployment/catalog (1 pod):8080/tcp" in by_name[1]


def test_a_headless_service_s_pod_name() -> None:
    code, out = matrix("--to", "postgres-0.postgres.shop")
    assert code == 0 and "shop/statefulset/postgres" in out


def test_a_name_that_leads_nowhere() -> None:
    result = runner.invoke(app, ["matrix", REPO, "--to", "nope.shop"])
    assert result.exit_code == 2 and "--to nope.shop" in result.output
