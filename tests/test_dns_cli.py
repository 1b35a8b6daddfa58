"""The verbs of issue 20 on the command line: `dns`, `env`, `trace --to NAME`. Exit codes as every verb's
(0 ok, 1 a finding: a name that does not resolve; 2 bad input or usage), bad input in the API server's
words at its place, and the fuzzer of tests/test_cli_fuzz.py driving both new verbs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from netcompile.cli import app
from tests import test_cli_fuzz as fuzz
from tests.test_cli_fuzz import places  # noqa: F401 - the fuzzer's inputs, a fixture
from tests.test_dns import CLUSTER, GIT

runner = CliRunner()


@pytest.fixture
def shop(tmp_path: Path) -> str:
    path = tmp_path / "cluster.yaml"
    path.write_text(CLUSTER)
    return str(path)


def invoke(argv: list[str]) -> tuple[int, str, str]:
    result = runner.invoke(app, argv)
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    return result.exit_code, result.stdout, result.stderr


def test_dns_lists_the_records_sorted_with_their_sections(shop: str) -> None:
    code, out, _ = invoke(["dns", shop])
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("; cluster DNS of cluster.local: ")
    assert any(line.split()[:5] == ["web.shop.svc.cluster.local.", "5", "IN", "A", "10.96.0.10"] for line in lines)
    assert any(
        "_http._tcp.web.shop.svc.cluster.local." in line and "; 2.3.2 Service shop/web" in line for line in lines
    )
    assert any(line.startswith("; note: Service shop/empty is headless") for line in lines)
    assert invoke(["dns", shop])[1] == out  # deterministic


def test_dns_json_and_a_file(shop: str, tmp_path: Path) -> None:
    target = tmp_path / "new" / "zone.json"
    code, out, _ = invoke(["dns", shop, "--format", "json", "-o", str(target), "--cluster-domain", "corp.example"])
    assert code == 0 and out == ""
    doc = json.loads(target.read_text())
    assert doc["domain"] == "corp.example"
    assert {"name": "web.shop.svc.corp.example.", "ttl": 5, "type": "A", "data": "10.96.0.10"}.items() <= next(
        r for r in doc["records"] if r["name"] == "web.shop.svc.corp.example." and r["type"] == "A"
    ).items()


def test_dns_query_from_a_pod(shop: str) -> None:
    code, out, _ = invoke(["dns", shop, "--query", "web.shop", "--from", "other/client"])
    assert code == 0
    assert ";; tried web.shop.other.svc.cluster.local. NXDOMAIN" in out
    assert ";; tried web.shop.svc.cluster.local. NOERROR" in out
    assert "web.shop.svc.cluster.local. 5 IN A" in out
    code, out, _ = invoke(["dns", shop, "--query", "_pg._tcp.db.shop", "--from", "shop/web-1", "--type", "srv"])
    assert code == 0 and "db-0.db.shop.svc.cluster.local." in out and ";; additional" in out
    code, out, _ = invoke(["dns", shop, "--query", "web.shop.svc.cluster.local", "--format", "json"])
    doc = json.loads(out)
    assert code == 0 and doc["status"] == "NOERROR" and [r["data"] for r in doc["answer"]] == ["10.96.0.10"]


def test_dns_query_of_an_address_is_its_ptr(shop: str) -> None:
    """As `dig -x`: spec 2.3.3 for a ClusterIP, 2.4.3 for an endpoint of a headless Service."""
    code, out, _ = invoke(["dns", shop, "--query", "10.96.0.10"])
    assert code == 0 and "10.0.96.10.in-addr.arpa. 5 IN PTR   web.shop.svc.cluster.local. ; 2.3.3" in out
    code, _, err = invoke(["dns", shop, "--query", "10.96.0.10", "--type", "SRV"])
    assert code == 2 and "an address asks for its PTR record, not SRV" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--query", "nope.shop.svc.cluster.local"], "nope.shop.svc.cluster.local: no such name (NXDOMAIN)"),
        (["--query", "web.shop.svc.cluster.local", "--type", "AAAA"], "no AAAA record (the name exists"),
        (["--query", "web.shop"], "needs --from POD"),
        (["--query", "empty.shop.svc.cluster.local"], "no such name (NXDOMAIN)"),
    ],
)
def test_dns_query_without_an_answer_is_a_finding(shop: str, argv: list[str], message: str) -> None:
    code, _, err = invoke(["dns", shop, *argv])
    assert code == 1 and message in err, err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--query", "web", "--type", "MX"], '--type: Unsupported value: "MX"'),
        (["--from", "shop/web-1"], "give --query NAME"),
        (["--query", "web", "--from", "shop/web"], "names Service shop/web, not a pod"),
        (["--query", "web", "--from", "shop/nope"], "--from shop/nope"),
        (["--cluster-domain", "bad_domain"], "--cluster-domain 'bad_domain': must be a DNS name"),
        (["--pods", "sometimes"], '--pods: Unsupported value: "sometimes"'),
        (["--query", " . "], "--query: an empty name"),
        (["--format", "yaml"], '--format: Unsupported value: "yaml"'),
    ],
)
def test_dns_usage_errors(shop: str, argv: list[str], message: str) -> None:
    code, _, err = invoke(["dns", shop, *argv])
    assert code == 2 and message in err, err


@pytest.mark.parametrize("verb", [["dns"], ["env", "--pod", "shop/a"]])
def test_bad_input_is_reported_at_its_place(tmp_path: Path, verb: list[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: shop}\n"
        "spec:\n  hostname: Not_A_Label\n  containers: [{name: c, env: [{name: X, value: 8080}]}]\n"
    )
    code, out, err = invoke([verb[0], str(bad), *verb[1:]])
    assert code == 2 and out == ""
    assert f'{bad}:5:13: Pod "shop/a": spec.hostname: Invalid value: "Not_A_Label": a lowercase RFC 1123 label' in err
    assert f'{bad}:6:49: Pod "shop/a": spec.containers[0].env[0].value: Invalid value: 8080: must be a string' in err
    assert err.splitlines()[-1] == "netcompile: 2 errors in the input; nothing was written"


def test_env_of_a_pod_and_of_a_workload(shop: str, tmp_path: Path) -> None:
    code, out, _ = invoke(["env", shop, "--pod", "shop/web-1"])
    assert code == 0
    assert out.splitlines()[0].startswith("pod shop/web-1: enableServiceLinks true: the Services of namespace shop")
    assert "  WEB_SERVICE_HOST=10.96.0.10" in out and "# Service shop/web" in out
    assert "DB_SERVICE_HOST" not in out  # headless
    git = tmp_path / "git.yaml"
    git.write_text(
        GIT
        + "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: data}\nspec:\n"
        + "  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n"
        + "    spec: {containers: [{name: api, image: x, env: [{name: PG_SERVICE_HOST, value: pg-0.pg}]}]}\n"
        + "---\napiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: data}\n"
        + "spec: {selector: {app: api}, ports: [{port: 80}]}\n"
    )
    code, out, _ = invoke(["env", str(git), "--pod", "data/deploy/api", "--format", "json"])
    doc = json.loads(out)
    assert code == 0 and doc["workload"] == "data/deployment/api" and doc["services"] == ["data/api"]
    (container,) = doc["containers"]
    assert container["name"] == "api" and container["shadowed"] == {}  # pg is headless: no PG_SERVICE_HOST
    assert [v["name"] for v in container["variables"]][:2] == ["API_SERVICE_HOST", "API_SERVICE_PORT"]


def test_env_shows_what_the_container_shadows(tmp_path: Path) -> None:
    path = tmp_path / "in.yaml"
    path.write_text(
        CLUSTER + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: own, namespace: shop}\n"
        "spec: {containers: [{name: c, env: [{name: WEB_SERVICE_PORT, value: '8080'}]}]}\n"
    )
    code, out, _ = invoke(["env", str(path), "--pod", "shop/own"])
    assert code == 0
    assert "WEB_SERVICE_PORT=80" in out and "shadowed by the container's env: WEB_SERVICE_PORT=8080" in out
    assert "container c: 28 variables, 1 shadowed" in out  # dual 8, plain 7, web 13 (two ports)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--pod", "shop/web"], "names Service shop/web, not a pod"),
        (["--pod", "shop/nope"], "--pod shop/nope"),
        ([], "Missing option '--pod'"),
    ],
)
def test_env_usage_errors(shop: str, argv: list[str], message: str) -> None:
    code, _, err = invoke(["env", shop, *argv])
    assert code == 2 and message in err, err


def test_trace_to_a_dns_name(shop: str) -> None:
    code, out, _ = invoke(["trace", shop, "--from", "other/client", "--to", "_http._tcp.web.shop"])
    assert code == 0, out
    first, packet = out.splitlines()[:2]
    assert first.startswith("name        _http._tcp.web.shop -> _http._tcp.web.shop.svc.cluster.local. SRV port 80/tcp")
    assert packet.startswith("packet      tcp 10.244.0.40:40000 -> 10.96.0.10:80")
    code, out, _ = invoke(
        ["trace", shop, "--from", "shop/web-1", "--to", "db-0.db", "--port", "5432", "--format", "json"]
    )
    doc = json.loads(out)
    assert (
        code == 0
        and doc["name"]["fqdn"] == "db-0.db.shop.svc.cluster.local."
        and doc["name"]["addresses"] == ["10.244.0.20"]
    )
    assert doc["to"] == "db-0.db = pod shop/db-0"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--to", "_http._tcp.web.shop", "--port", "81"],
            "--port 81: the SRV name --to _http._tcp.web.shop gives port 80",
        ),
        (["--to", "_http._tcp.web.shop", "--protocol", "udp"], "gives tcp"),
        (["--to", "web.shop"], "--port PORT is required"),
        (["--to", "nope.shop", "--port", "80"], "--to nope.shop: not a cluster name from pod other/client"),
        (["--to", "empty.shop", "--port", "80"], "empty.shop.svc.cluster.local. NXDOMAIN"),  # spec 2.4.1
    ],
)
def test_trace_to_a_name_usage_errors(shop: str, argv: list[str], message: str) -> None:
    code, _, err = invoke(["trace", shop, "--from", "other/client", *argv])
    assert code == 2 and message in err, err


# --- the fuzzer of every verb, on these two ---------------------------------------------------------------

DNS_NAMES = st.sampled_from(
    ["web", "web.default", "web.default.svc.cluster.local.", "_http._tcp.web.default", "db.shop", "x..y", "."]
)
NEW_VERBS = {
    "dns": {
        **fuzz.COMPILE,
        "--query": DNS_NAMES | fuzz.NAMES,
        "--type": st.sampled_from(["A", "aaaa", "SRV", "CNAME", "PTR", "TXT", "MX", ""]) | fuzz.TEXT,
        "--from": fuzz.TARGETS,
        "--pods": st.sampled_from(["insecure", "verified", "disabled", ""]) | fuzz.TEXT,
        "--cluster-domain": st.sampled_from(["cluster.local", "Corp.Example.", "a..b", ""]) | fuzz.NAMES,
        "--format": fuzz.formats("text", "json"),
    },
    "env": {**fuzz.COMPILE, "--pod": fuzz.TARGETS, "--format": fuzz.formats("text", "json")},
}


@pytest.mark.parametrize("verb", sorted(NEW_VERBS))
def test_no_command_line_of_dns_or_env_ends_in_a_traceback(
    verb: str,
    places: fuzz.Places,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(fuzz.VERBS, verb, NEW_VERBS[verb])
    monkeypatch.setitem(fuzz.PLACES, verb, fuzz.MANIFEST_PLACES)

    @fuzz.FUZZ
    @given(fuzz.commands(verb, places))
    def check(command: fuzz.Command) -> None:
        fuzz.run(command, places)

    check()


def test_env_expands_references_and_resolves_the_names_in_values(tmp_path: Path) -> None:
    path = tmp_path / "in.yaml"
    path.write_text(
        CLUSTER + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: own, namespace: shop}\nspec:\n  containers:\n"
        "  - name: c\n    env:\n    - {name: API, value: 'http://web'}\n    - {name: TYPO, value: 'http://wbe:80'}\n"
        "    - {name: OUT, value: 'smtp.example.net:25'}\n    - {name: RAW, value: 'http://$(WEB_SERVICE_HOST)/x'}\n"
    )
    code, out, _ = invoke(["env", str(path), "--pod", "shop/own"])
    assert code == 0
    assert "  env RAW=http://$(WEB_SERVICE_HOST)/x -> http://10.96.0.10/x" in out
    assert "  name in API: web -> web.shop.svc.cluster.local. A 10.96.0.10 (Service shop/web)" in out
    assert (
        "  name in TYPO: wbe -> resolves to nothing in the cluster (wbe.shop.svc.cluster.local. NXDOMAIN, "
        "wbe.svc.cluster.local. NXDOMAIN, wbe.cluster.local. NXDOMAIN); then the upstream servers" in out
    )
    assert "  name in OUT: smtp.example.net -> not a cluster name: the upstream servers answer" in out
    code, out, _ = invoke(["env", str(path), "--pod", "shop/own", "--format", "json"])
    names = {n["variable"]: n for n in json.loads(out)["containers"][0]["names"]}
    assert names["API"]["fqdn"] == "web.shop.svc.cluster.local." and names["TYPO"]["status"] == "upstream"


@pytest.mark.parametrize("verb", [["dns"], ["env", "--pod", "shop/web-1"]])
def test_the_conventions_of_every_verb(shop: str, verb: list[str], tmp_path: Path) -> None:
    """As tests/test_cli_conventions.py checks the others: help in words, --format refused by name, -o FILE."""
    code, out, _ = invoke([verb[0], "--help"])
    assert code == 0 and "-o, --output FILE" in out and not re.search(r"<(str|int|float|list|path)", out), out
    code, _, err = invoke([verb[0], shop, *verb[1:], "--format", "yaml"])
    assert code == 2 and err.splitlines()[-1].startswith('netcompile: --format: Unsupported value: "yaml"')
    target = tmp_path / "a" / "b.txt"
    code, out, _ = invoke([verb[0], shop, *verb[1:], "-o", str(target)])
    assert code == 0 and out == "" and target.read_text() == invoke([verb[0], shop, *verb[1:]])[1]
