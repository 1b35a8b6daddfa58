"""`netcompile get` (issue 15, point 7): the simulated cluster as kubectl get -o wide shows one, and as
manifests netcompile reads back to the same cluster; the simulated cluster's options on every verb."""

from __future__ import annotations

import json
import shlex
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from netcompile.cli import app
from tests.conftest import ROOT, WriteYaml

runner = CliRunner()

# The YAML a team keeps in Git: workloads, Services without addresses, a policy; no Node, no Namespace.
APP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: client, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: client}}
  template:
    metadata: {labels: {app: client}}
    spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: postgres, ports: [{containerPort: 5432}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{port: 5432}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: http}]
"""


def get(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["get", *argv], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def table(text: str) -> list[dict[str, str]]:
    """The rows of one kubectl-like table, by column (columns are separated by 3 or more spaces)."""
    lines = text.splitlines()
    header = lines[0].split()
    starts: list[int] = []
    for h in header:  # in order: "NAME" is also inside "NAMESPACE"
        starts.append(lines[0].index(h, starts[-1] + 1 if starts else 0))
    rows = []
    for line in lines[1:]:
        cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def test_pods_as_kubectl_shows_them(write_yaml: WriteYaml) -> None:
    code, out, err = get(str(write_yaml(APP)), "pods")
    assert code == 0, err
    rows = table(out)
    assert [r["NAME"] for r in rows] == sorted(r["NAME"] for r in rows)  # kubectl's order
    owners = sorted({r["OWNER"] for r in rows})
    assert owners == ["Deployment/client", "Deployment/web", "StatefulSet/db"]
    assert [r["NAME"] for r in rows if r["OWNER"] == "StatefulSet/db"] == ["db-0", "db-1"]
    for r in rows:
        assert (r["NAMESPACE"], r["READY"], r["STATUS"], r["NODE"]) == ("shop", "1/1", "Running", "kind-worker")
        assert ip_address(r["IP"]) in ip_network("10.244.0.0/24")
    assert {r["PORTS"] for r in rows if r["OWNER"] == "Deployment/web"} == {"http:8080/TCP"}
    assert "LABELS" not in out.splitlines()[0]
    # each of completion's notices once, on stderr
    assert err.count("notice: no Node in the input: simulating 1 (kind-worker (172.18.0.2") == 1
    assert err.count('notice: Namespace "shop": not in the input') == 1


def test_show_labels_services_and_kind_names(write_yaml: WriteYaml) -> None:
    path = str(write_yaml(APP))
    code, out, _ = get(path, "po", "--show-labels")
    assert code == 0
    web = next(r for r in table(out) if r["OWNER"] == "Deployment/web")
    assert web["LABELS"].startswith("app=web,pod-template-hash=")
    code, out, _ = get(path, "svc")
    services = {r["NAME"]: r for r in table(out)}
    assert services["db"]["CLUSTER-IP"] == "None"
    assert ip_address(services["web"]["CLUSTER-IP"]) in ip_network("10.96.0.0/12")
    port, _, node_port = services["web"]["PORT(S)"].removesuffix("/TCP").partition(":")
    assert port == "80" and 30000 <= int(node_port) <= 32767
    assert services["web"]["SELECTOR"] == "app=web"
    code, out, _ = get(path, "svc,po")
    assert code == 0 and "service/web" in out and "pod/db-0" in out
    code, out, _ = get(path, "endpoints")
    slices = {r["SERVICE"]: r for r in table(out)}
    assert slices["web"]["PORTS"] == "8080" and len(slices["web"]["ENDPOINTS"].split(",")) == 3


def test_all_is_one_table_per_kind(write_yaml: WriteYaml) -> None:
    path = str(write_yaml(APP))
    code, out, _ = get(path)
    assert code == 0
    assert out == get(path, "all")[1]
    blocks = out.split("\n\n")
    assert [b.splitlines()[1].split()[0 if i == 0 else 1].split("/")[0] for i, b in enumerate(blocks)] == [
        "node",
        "pod",
        "service",
        "endpointslice",
    ]


def test_workloads_as_kubectl_shows_them(write_yaml: WriteYaml) -> None:
    """deployments, statefulsets (kubectl's names, short ones too): ready pods of those wanted, and the
    pods each stands for; a workload whose pods the input gives (a dump) counts those."""
    path = str(write_yaml(APP))
    code, out, _ = get(path, "deploy,sts")
    assert code == 0, out
    rows = {r["NAME"]: r for r in table(out.split("\n\n")[0])}
    assert rows["deployment/web"]["READY"] == "3/3" and rows["deployment/web"]["PODS"] == "3"
    assert rows["deployment/web"]["SELECTOR"] == "app=web"
    code, out, _ = get(path, "statefulsets")
    assert code == 0 and table(out)[0]["NAME"] == "db" and table(out)[0]["READY"] == "2/2"
    code, out, err = get(path, "deploy", "--format", "yaml")  # never an empty document without a word
    assert code == 2 and out == "" and "the workloads themselves are not written" in err


def test_a_kind_that_is_also_a_path_and_a_kind_without_path(
    write_yaml: WriteYaml, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = write_yaml(APP)
    monkeypatch.chdir(d)
    (d / "pods").mkdir()
    code, _, err = get(str(d), "pods")
    assert code == 2 and "pods: both a kind and a path here: write ./pods" in err
    code, _, err = get("svc")
    assert code == 2 and "svc: a kind, but no PATH to read" in err
    code, _, err = get(str(d), "configmaps")  # not a kind get shows: a path, which does not exist
    assert code == 2


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_manifests_read_back_to_the_same_cluster(write_yaml: WriteYaml, fmt: str) -> None:
    path = str(write_yaml(APP))
    code, text, _ = get(path, "--format", fmt)
    assert code == 0
    docs = json.loads(text)["items"] if fmt == "json" else list(yaml.safe_load_all(text))
    kinds = [d["kind"] for d in docs]
    assert kinds == [
        "Namespace",
        "Node",
        *["Pod"] * 7,
        "ServiceCIDR",  # the simulated cluster's Service range, which drops its unallocated addresses
        "Service",
        "Service",
        "EndpointSlice",
        "EndpointSlice",
        "NetworkPolicy",
    ]
    pod = next(d for d in docs if d["kind"] == "Pod" and d["metadata"]["name"] == "db-0")
    assert pod["metadata"]["ownerReferences"] == [
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "controller": True}
    ]
    assert pod["status"]["phase"] == "Running" and pod["status"]["conditions"] == [{"type": "Ready", "status": "True"}]
    direct = runner.invoke(app, ["compile", path])
    again = runner.invoke(app, ["compile", "-"], input=text)
    assert direct.exit_code == again.exit_code == 0, again.output
    assert again.stdout == direct.stdout
    assert "simulating" not in again.stderr  # read back, nothing is left to simulate
    # and `get` of the manifests shows the same cluster
    assert get("-", "all", stdin=text)[1] == get(path, "all")[1]


def _golden_cases() -> list[Path]:
    return sorted(d for d in (ROOT / "golden").iterdir() if d.is_dir() and any(d.glob("*.yaml")))


@pytest.mark.parametrize("case", _golden_cases(), ids=lambda d: d.name)
def test_every_golden_case_reads_back_to_the_same_ruleset(case: Path) -> None:
    args = shlex.split((case / "args").read_text()) if (case / "args").exists() else []
    direct = runner.invoke(app, ["compile", str(case), *args])
    code, text, err = get(str(case), "all", "--format", "yaml", *args)
    assert code == 0, err
    again = runner.invoke(app, ["compile", "-", *args], input=text)
    assert (again.exit_code, again.stdout) == (direct.exit_code, direct.stdout), again.stderr


def test_the_simulated_cluster_options(write_yaml: WriteYaml) -> None:
    path = str(write_yaml(APP))
    options = ["--nodes", "3", "--cluster-cidr", "10.100.0.0/16", "--service-cidr", "10.0.0.0/16"]
    code, out, err = get(path, "nodes", *options, "--service-node-port-range", "31000-31009")
    assert code == 0, err
    nodes = table(out)
    assert [(n["NAME"], n["POD-CIDRS"]) for n in nodes] == [
        ("kind-worker", "10.100.0.0/24"),
        ("kind-worker2", "10.100.1.0/24"),
        ("kind-worker3", "10.100.2.0/24"),
    ]
    pods = table(get(path, "pods", *options)[1])
    assert all(ip_address(p["IP"]) in ip_network("10.100.0.0/16") for p in pods)
    assert len({p["NODE"] for p in pods}) > 1  # spread over the nodes
    services = {r["NAME"]: r for r in table(get(path, "svc", *options, "--service-node-port-range", "31000-31009")[1])}
    assert ip_address(services["web"]["CLUSTER-IP"]) in ip_network("10.0.0.0/16")
    assert 31000 <= int(services["web"]["PORT(S)"].split(":")[1].split("/")[0]) <= 31009
    # an IPv6 pod network: the Services' default family follows it
    services = {r["NAME"]: r for r in table(get(path, "svc", "--cluster-cidr", "fd00:100::/48")[1])}
    assert ip_address(services["web"]["CLUSTER-IP"]) in ip_network("fd00:10:96::/112")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--nodes", "x"], "--nodes 'x': must be a number of nodes"),
        (["--nodes", "-1"], "--nodes '-1': must be a number of nodes"),
        (["--nodes", "300"], "--nodes 300: pod network 10.244.0.0/16 has room for 256 nodes"),
        (
            ["--service-cidr", "10.0.0.0/16,10.1.0.0/16"],
            "--service-cidr 10.0.0.0/16,10.1.0.0/16: at most one CIDR per IP",
        ),
        (["--service-cidr", "x"], "--service-cidr 'x': must be a valid CIDR"),
        (["--node", "nope"], "--node nope: no such Node in the input (known: kind-worker)"),
    ],
)
def test_bad_options_are_usage_errors(write_yaml: WriteYaml, argv: list[str], message: str) -> None:
    for verb in (["get"], ["compile"], ["matrix"]):
        if verb == ["matrix"] and argv[0] == "--node":
            continue
        result = runner.invoke(app, [*verb, str(write_yaml(APP)), *argv])
        assert result.exit_code == 2, result.output
        assert message in result.stderr, (verb, result.stderr)
        assert "Traceback" not in result.output


def test_every_verb_prints_completions_notices_once(write_yaml: WriteYaml) -> None:
    path = str(write_yaml(APP))
    trace = ["trace", path, "--from", "shop/deploy/client", "--to", "shop/svc/web", "--port", "80"]
    for argv in (["compile", path], ["get", path], ["matrix", path], trace):
        result = runner.invoke(app, argv)
        assert result.exit_code == 0, result.output
        assert result.stderr.count("notice: no Node in the input: simulating 1") == 1, argv
        assert result.stderr.count('notice: Namespace "shop": not in the input') == 1, argv


def test_output_file_is_written_atomically(write_yaml: WriteYaml, tmp_path: Path) -> None:
    target = tmp_path / "out" / "cluster.yaml"
    code, out, _ = get(str(write_yaml(APP)), "--format", "yaml", "-o", str(target))
    assert code == 0 and out == ""
    assert "kind: EndpointSlice" in target.read_text()
    code, _, err = get(str(write_yaml(APP)), "--format", "xml")
    assert code == 2 and '--format: Unsupported value: "xml"' in err


def test_a_snapshot_passes_through() -> None:
    """examples/ is a snapshot: get shows its pods as they are, and its manifests read back the same."""
    code, out, _ = get(str(ROOT / "examples"), "pods")
    assert code == 0 and "OWNER" in out
    code, text, _ = get(str(ROOT / "examples"), "--format", "yaml")
    direct = runner.invoke(app, ["compile", str(ROOT / "examples")])
    assert runner.invoke(app, ["compile", "-"], input=text).stdout == direct.stdout


LOAD_BALANCERS = """\
apiVersion: v1
kind: Service
metadata: {name: lb, namespace: shop}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 443, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: fixed, namespace: shop}
spec:
  clusterIP: 10.200.0.5
  selector: {app: web}
  ports: [{port: 443}]
"""


def test_load_balancer_cidr_and_service_cidr(write_yaml: WriteYaml) -> None:
    write_yaml(APP)
    path = str(write_yaml(LOAD_BALANCERS, "lb.yaml"))
    code, out, err = get(path, "svc", "--load-balancer-cidr", "203.0.113.0/28")
    assert code == 0, err
    services = {r["NAME"]: r for r in table(out)}
    assert ip_address(services["lb"]["EXTERNAL-IP"]) in ip_network("203.0.113.0/28")
    # the ingress IP is in the manifests, and read back as given
    code, text, _ = get(path, "--format", "yaml", "--load-balancer-cidr", "203.0.113.0/28")
    lb = next(d for d in yaml.safe_load_all(text) if d["metadata"]["name"] == "lb")
    assert lb["status"]["loadBalancer"]["ingress"] == [{"ip": services["lb"]["EXTERNAL-IP"]}]
    direct = runner.invoke(app, ["compile", path, "--load-balancer-cidr", "203.0.113.0/28"])
    assert runner.invoke(app, ["compile", "-"], input=text).stdout == direct.stdout
    # a clusterIP of the input outside --service-cidr: the API server's error, exit 2, no traceback
    code, _, err = get(path, "svc", "--service-cidr", "10.96.0.0/16")
    assert code == 2
    assert "the provided IP (10.200.0.5) is not in the valid range" in err
    assert err.splitlines()[-1] == "netcompile: 1 error in the input; nothing was written"
    code, _, err = get(path, "--load-balancer-cidr", "10.0.0.0/24,10.0.0.0/25")
    assert code == 2 and "load-balancer CIDRs 10.0.0.0/24 and 10.0.0.0/25 overlap" in err


def test_what_names_pods_reads_back_the_same(tmp_path: Path) -> None:
    """Hostnames, subdomains, Service links, DNS policy and each container's env survive the round trip:
    `dns` and `env` answer the same from the written manifests (issue 20)."""
    repo = str(ROOT / "examples-repo" / "manifests")
    code, text, _ = get(repo, "--format", "yaml")
    assert code == 0
    written = tmp_path / "cluster.yaml"
    written.write_text(text)
    for argv in (["dns"], ["env", "--pod", "shop/deploy/cart"], ["env", "--pod", "shop/sts/postgres"]):
        direct = runner.invoke(app, [argv[0], repo, *argv[1:]])
        again = runner.invoke(app, [argv[0], str(written), *argv[1:]])
        assert direct.exit_code == again.exit_code == 0, (argv, again.output)
        assert again.stdout.replace(str(written), repo) == direct.stdout, argv
