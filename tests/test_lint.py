"""`netcompile lint` (issues 17.4 and 20.4): one row per check, with a minimal manifest where it fires and
one where it must not; exit codes, the JSON shape, --disable, --list-checks; the examples."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcompile.cli import app
from netcompile.lint import CHECKS, lint
from netcompile.lint.reach import Nodes, ScopeArgs
from netcompile.pipeline import CompileArgs, complete, load, parse_compile_args
from tests.conftest import ROOT

runner = CliRunner()

# A pod and the Service in front of it, in a declared namespace; each row adds what makes its check fire
# (or a near miss that must not).
BASE = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  containers:
    - name: web
      image: web
      ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
"""

DNS = """\
---
apiVersion: v1
kind: Pod
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  containers:
    - name: coredns
      image: coredns
      ports: [{name: dns, containerPort: 53, protocol: UDP}, {name: dns-tcp, containerPort: 53}]
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system}
spec:
  selector: {k8s-app: kube-dns}
  ports: [{name: dns, port: 53, protocol: UDP}, {name: dns-tcp, port: 53}]
"""

CONTROLLER = """\
---
apiVersion: v1
kind: Pod
metadata:
  name: controller
  namespace: ingress-nginx
  labels: {app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/component: controller}
spec:
  containers: [{name: controller, image: nginx}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: shop}
spec:
  rules:
    - http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
"""


def policy(spec: str, name: str = "p") -> str:
    return f"""\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: {name}, namespace: shop}}
spec:
{spec}"""


def service(name: str, spec: str) -> str:
    return f"""\
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: shop}}
spec:
{spec}"""


DENY_INGRESS = policy("  podSelector: {}\n  policyTypes: [Ingress]\n", "deny")
ALLOW_DNS = """\
  egress:
    - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]
      ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
"""
DNS_INGRESS = """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: dns, namespace: kube-system}}
spec:
  podSelector: {{matchLabels: {{k8s-app: kube-dns}}}}
  policyTypes: [Ingress]
{}"""

# (check, the manifest where it fires, the field it fires at, the manifest where it must not)
ROWS: list[tuple[str, str, str, str]] = [
    (
        "selects-nothing",
        BASE + policy("  podSelector: {matchLabels: {app: wbe}}\n"),
        "spec.podSelector",
        BASE + policy("  podSelector: {matchLabels: {app: web}}\n"),
    ),
    (
        "selects-nothing",
        BASE + policy("  podSelector: {}\n  ingress: [{from: [{podSelector: {matchLabels: {app: nope}}}]}]\n"),
        "spec.ingress[0].from[0]",
        BASE + policy("  podSelector: {}\n  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]\n"),
    ),
    (
        "selects-nothing",
        BASE + policy("  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {team: x}}}]}]\n"),
        "spec.ingress[0].from[0]",
        BASE + policy("  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {}}], ports: [{port: 80}]}]\n"),
    ),
    (
        "selects-nothing",
        BASE + service("api", "  selector: {app: api}\n  ports: [{port: 80}]\n"),
        "spec.selector",
        BASE + service("api", "  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]\n"),
    ),
    (
        "undeclared-port",
        BASE + service("api", "  selector: {app: web}\n  ports: [{port: 80, targetPort: htp}]\n"),
        "spec.ports[0].targetPort",
        BASE + service("api", "  selector: {app: web}\n  ports: [{port: 80, targetPort: http}]\n"),
    ),
    (
        "undeclared-port",
        BASE + service("api", "  selector: {app: web}\n  ports: [{port: 80, targetPort: 9090}]\n"),
        "spec.ports[0].targetPort",
        BASE + service("api", "  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]\n"),
    ),
    (
        "undeclared-port",
        BASE + policy("  podSelector: {}\n  ingress: [{ports: [{port: htp}]}]\n"),
        "spec.ingress[0].ports[0].port",
        BASE + policy("  podSelector: {}\n  ingress: [{ports: [{port: http}]}]\n"),
    ),
    (
        "allows-everything",
        BASE + policy("  podSelector: {}\n  ingress: [{}]\n"),
        "spec.ingress[0]",
        BASE + policy("  podSelector: {}\n  ingress: [{ports: [{port: 8080}]}]\n"),
    ),
    (
        "allows-everything",
        BASE + policy("  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {}}]}]\n"),
        "spec.ingress[0].from[0]",
        BASE
        + policy(
            "  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {}, podSelector: {matchLabels: {a: b}}}]}]\n"
        ),
    ),
    (
        "allows-everything",
        BASE + policy("  podSelector: {}\n  egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0}}]}]\n") + DNS,
        "spec.egress[0].to[0]",
        BASE + policy("  podSelector: {}\n  egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]}]\n"),
    ),
    (
        "no-dns",
        BASE + DNS + policy("  podSelector: {}\n  policyTypes: [Egress]\n"),
        "metadata.labels",
        BASE + DNS + policy("  podSelector: {}\n  policyTypes: [Egress]\n" + ALLOW_DNS),
    ),
    (
        "no-dns",  # allowed on UDP alone: TCP (large answers, retries) fails
        BASE + DNS + policy("  podSelector: {}\n  egress: [{ports: [{protocol: UDP, port: 53}]}]\n"),
        "metadata.labels",
        BASE + DNS + policy("  podSelector: {}\n  egress: [{ports: [{protocol: UDP, port: 53}, {port: 53}]}]\n"),
    ),
    (
        "no-dns",  # without the kube-dns Service in the input: no rule allows port 53 anywhere
        BASE + policy("  podSelector: {}\n  egress: [{ports: [{port: 443}]}]\n"),
        "metadata.labels",
        BASE + policy("  podSelector: {}\n  egress: [{ports: [{port: 443}, {port: 53, protocol: UDP}, {port: 53}]}]\n"),
    ),
    (
        "no-dns",  # egress allowed, but kube-system isolates the DNS pods for ingress (judged on their node)
        BASE + DNS + policy("  podSelector: {}\n  policyTypes: [Egress]\n" + ALLOW_DNS) + DNS_INGRESS.format(""),
        "metadata.labels",
        BASE
        + DNS
        + policy("  podSelector: {}\n  policyTypes: [Egress]\n" + ALLOW_DNS)
        + DNS_INGRESS.format(
            "  ingress: [{from: [{namespaceSelector: {}}], ports: [{port: 53, protocol: UDP}, {port: 53}]}]\n"
        ),
    ),
    (
        "ingress-unreachable",
        BASE + CONTROLLER + DENY_INGRESS,
        "spec.rules[0].http.paths[0].backend",
        BASE
        + CONTROLLER
        + DENY_INGRESS
        + policy(
            "  podSelector: {}\n  ingress:\n    - from: [{namespaceSelector: {matchLabels: "
            "{kubernetes.io/metadata.name: ingress-nginx}}}]\n      ports: [{port: http}]\n",
            "from-ingress",
        ),
    ),
    (
        "ipblock-pod-network",
        BASE + policy("  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}], ports: [{port: 80}]}]\n"),
        "spec.ingress[0].from[0].ipBlock.cidr",
        BASE
        + policy(
            "  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.244.0.0/16]}}], "
            "ports: [{port: 80}]}]\n"
        ),
    ),
    (
        "except-readmitted",
        BASE
        + policy(
            "  podSelector: {}\n  ingress:\n    - from: [{ipBlock: {cidr: 192.168.0.0/16, except: [192.168.1.0/24]}}]\n"
            "    - from: [{ipBlock: {cidr: 192.168.1.0/26}}]\n"
        ),
        "spec.ingress[0].from[0].ipBlock.except[0]",
        BASE
        + policy(
            "  podSelector: {}\n  ingress:\n    - from: [{ipBlock: {cidr: 192.168.0.0/16, except: [192.168.1.0/24]}}]\n"
            "      ports: [{port: 80}]\n    - from: [{ipBlock: {cidr: 192.168.1.0/26}}]\n      ports: [{port: 443}]\n"
        ),
    ),
    (
        "unresolved-name",
        BASE + CONTROLLER.replace("name: web, port", "name: wbe, port"),
        "spec.rules[0].http.paths[0].backend.service.name",
        BASE + CONTROLLER,
    ),
    (
        "unresolved-name",
        BASE + CONTROLLER.replace("port: {name: http}", "port: {number: 8080}"),
        "spec.rules[0].http.paths[0].backend.service.port",
        BASE + CONTROLLER.replace("port: {name: http}", "port: {number: 80}"),
    ),
    (
        "unresolved-name",
        BASE + service("alias", "  type: ExternalName\n  externalName: wbe.shop.svc.cluster.local\n"),
        "spec.externalName",
        BASE + service("alias", "  type: ExternalName\n  externalName: web.shop.svc.cluster.local\n"),
    ),
    (
        "unresolved-name",  # a typo in a host an env value names; the near miss: in-cluster and upstream names
        BASE.replace(
            "      ports: [{name: http", "      env: [{name: API, value: http://wbe:80}]\n      ports: [{name: http"
        ),
        "spec.containers[0].env[0].name",
        BASE.replace(
            "      ports: [{name: http",
            "      env: [{name: API, value: http://web:80}, {name: B, value: web.shop}, {name: C, value: "
            "https://api.example.com/v1}, {name: D, value: app.kubernetes.io/name}]\n      ports: [{name: http",
        ),
    ),
    (
        "env-collision",  # a's A_PORT_80_TCP_PORT is "80"; a-port-80-tcp's A_PORT_80_TCP_PORT is its tcp:// URL
        BASE
        + service("a", "  selector: {app: web}\n  ports: [{port: 80, targetPort: http}]\n")
        + service("a-port-80-tcp", "  selector: {app: web}\n  ports: [{port: 81, targetPort: http}]\n"),
        "metadata.name",
        BASE
        + service("a", "  selector: {app: web}\n  ports: [{port: 80, targetPort: http}]\n")
        + service("b-port-80-tcp", "  selector: {app: web}\n  ports: [{port: 81, targetPort: http}]\n"),
    ),
    (
        "env-shadowed",
        BASE.replace(
            "      ports: [{name: http", "      env: [{name: WEB_SERVICE_HOST, value: web}]\n      ports: [{name: http"
        ),
        "spec.containers[0].env[0].name",
        BASE.replace(
            "      ports: [{name: http", "      env: [{name: WEB_URL, value: http://web}]\n      ports: [{name: http"
        ),
    ),
    (
        "dangling-reference",
        BASE + service("api", "  ports: [{port: 80}]\n").replace("namespace: shop", "namespace: shpo"),
        "metadata.namespace",
        BASE + service("api", "  ports: [{port: 80}]\n"),
    ),
]


def run(text: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["lint", "-", *args], input=text)
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    return result.exit_code, result.stdout, result.stderr


def findings(text: str) -> list[dict[str, object]]:
    code, out, err = run(text, "--format", "json")
    assert code in (0, 1), err
    found: list[dict[str, object]] = json.loads(out)["findings"]
    assert (code == 1) == bool(found)
    return found


def test_every_check_has_a_row() -> None:
    assert {row[0] for row in ROWS} == set(CHECKS)


@pytest.mark.parametrize(("check", "fires", "field", "quiet"), ROWS, ids=[f"{r[0]}-{r[2]}" for r in ROWS])
def test_check_fires_at_its_field_and_not_on_the_near_miss(check: str, fires: str, field: str, quiet: str) -> None:
    hits = [f for f in findings(fires) if f["check"] == check]
    assert [f["field"] for f in hits] == [field], hits
    assert hits[0]["file"] == "<stdin>" and isinstance(hits[0]["line"], int) and hits[0]["line"] > 1
    assert not [f for f in findings(quiet) if f["check"] == check]


def test_the_base_manifest_has_no_finding() -> None:
    assert run(BASE) == (0, "", run(BASE)[2])
    assert findings(BASE) == []


def test_text_lines_name_place_object_field_message_and_check() -> None:
    code, out, err = run(BASE + policy("  podSelector: {matchLabels: {app: wbe}}\n"))
    assert code == 1
    assert out == (
        '<stdin>:25:16: NetworkPolicy "shop/p": spec.podSelector: selects no pod of the input (namespace shop, '
        "selector app=wbe): the policy applies to nothing [selects-nothing]\n"
    )
    assert "netcompile: 1 finding" in err
    assert "warning:" not in err  # a dangling reference is a finding here, not also a warning


def test_findings_are_ordered_by_file_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        BASE + policy("  podSelector: {}\n  ingress: [{}, {from: [{podSelector: {matchLabels: {x: y}}}]}]\n")
    )
    (tmp_path / "b.yaml").write_text(service("api", "  selector: {app: nope}\n  ports: [{port: 80}]\n"))
    result = runner.invoke(app, ["lint", str(tmp_path), "--format", "json"])
    assert result.exit_code == 1
    found = json.loads(result.stdout)["findings"]
    keys = [(f["file"], f["line"], f["column"]) for f in found]
    assert keys == sorted(keys) and len(found) == 3
    assert [f["check"] for f in found] == ["allows-everything", "selects-nothing", "selects-nothing"]


def test_json_shape() -> None:
    code, out, _ = run(BASE + policy("  podSelector: {}\n  ingress: [{}]\n"), "--format", "json")
    assert code == 1
    doc = json.loads(out)
    assert set(doc) == {"findings", "count"} and doc["count"] == 1
    (item,) = doc["findings"]
    assert item == {
        "check": "allows-everything",
        "file": "<stdin>",
        "line": 26,  # `  ingress: [{}]`: the rule `{}`
        "column": 13,
        "object": 'NetworkPolicy "shop/p"',
        "field": "spec.ingress[0]",
        "message": item["message"],
    }
    assert "every pod, node and outside client" in str(item["message"])


def test_disable_silences_exactly_the_check_named() -> None:
    text = BASE + policy("  podSelector: {}\n  ingress: [{}, {from: [{podSelector: {matchLabels: {x: y}}}]}]\n")
    assert {f["check"] for f in findings(text)} == {"allows-everything", "selects-nothing"}
    code, out, _ = run(text, "--disable", "allows-everything")
    assert code == 1 and "[allows-everything]" not in out and "[selects-nothing]" in out
    code, out, _ = run(text, "--disable", "allows-everything", "--disable", "selects-nothing")
    assert (code, out) == (0, "")


def test_list_checks_and_usage_errors() -> None:
    result = runner.invoke(app, ["lint", "--list-checks"])
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.stdout.splitlines()] == list(CHECKS)
    result = runner.invoke(app, ["lint", "--list-checks", "--format", "json"])
    assert [c["check"] for c in json.loads(result.stdout)] == list(CHECKS)
    code, _, err = run(BASE, "--disable", "no-such-check")
    assert code == 2 and 'Unsupported value: "no-such-check"' in err
    code, _, err = run(BASE, "--format", "yaml")
    assert code == 2
    assert runner.invoke(app, ["lint"]).exit_code == 2


def test_bad_input_exits_2_with_its_errors() -> None:
    code, out, err = run("kind: Service\napiVersion: v1\nmetadata: {name: Bad_Name}\n")
    assert code == 2 and out == "" and "metadata.name" in err
    code, _, err = run(BASE, "--cluster-cidr", "nope")
    assert code == 2 and "--cluster-cidr" in err


def test_output_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "lint.txt"
    result = runner.invoke(
        app, ["lint", "-", "-o", str(target)], input=BASE + policy("  podSelector: {}\n  ingress: [{}]\n")
    )
    assert result.exit_code == 1 and result.stdout == ""
    assert target.read_text().endswith("[allows-everything]\n")


@pytest.mark.parametrize("path", ["examples", "examples-repo/manifests"])
def test_no_findings_on_the_examples(path: str) -> None:
    """Both example inputs are clean: every shop pod may resolve names (allow-dns), the ingress controller
    reaches frontend, gateway and admin (allow-from-ingress-nginx), the external CIDRs hold no pod address."""
    loaded = load([str(ROOT / path)])
    assert [str(f) for f in lint(loaded, complete(loaded))] == []
    assert runner.invoke(app, ["lint", str(ROOT / path)]).exit_code == 0


def test_the_readme_example_is_real_output() -> None:
    """The README's `lint` example: the same edits of examples-repo/helm-template.yaml, the same lines."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("### `lint`", 1)[1].split("```\n", 2)[1]
    shown = [line for line in block.splitlines() if line.startswith("<stdin>:")]
    text = (ROOT / "examples-repo" / "helm-template.yaml").read_text()
    text = re.sub(r"port: http$", "port: htpp", text, flags=re.MULTILINE)
    text = text.replace("cidr: 203.0.113.0/24", "cidr: 0.0.0.0/0").replace("http://catalog", "http://catlog")
    code, out, _ = run(text)
    assert code == 1 and "exit 1" in block
    assert out.splitlines() == shown


@pytest.mark.parametrize(("check", "fires", "field", "quiet"), ROWS, ids=[f"{r[0]}-{r[2]}" for r in ROWS])
def test_the_same_on_three_nodes(check: str, fires: str, field: str, quiet: str) -> None:
    """Each pod's policies are judged on its own node (the controller's egress on its node, the backend's
    ingress on its): spread over three simulated nodes, every row reads the same."""

    def on_three(text: str) -> list[dict[str, object]]:
        code, out, err = run(text, "--nodes", "3", "--format", "json")
        assert code in (0, 1), err
        return [f for f in json.loads(out)["findings"] if f["check"] == check]

    assert [f["field"] for f in on_three(fires)] == [field]
    assert on_three(quiet) == []


def test_an_ingress_is_judged_by_the_controller_of_its_class() -> None:
    """Two controllers; the Ingress is of class nginx and only ingress-nginx's pods are let in: traefik's
    being denied is no finding (it does not serve this Ingress)."""
    traefik = CONTROLLER.split("---\napiVersion: networking.k8s.io/v1\nkind: Ingress")[0]
    traefik = traefik.replace("ingress-nginx", "traefik").replace("name: controller", "name: traefik")
    allow = policy(
        "  podSelector: {}\n  ingress:\n    - from: [{namespaceSelector: {matchLabels: "
        "{kubernetes.io/metadata.name: ingress-nginx}}}]\n",
        "from-ingress",
    )
    text = BASE + CONTROLLER.replace("spec:\n  rules:", "spec:\n  ingressClassName: nginx\n  rules:") + traefik
    assert not [f for f in findings(text + DENY_INGRESS + allow) if f["check"] == "ingress-unreachable"]
    without_class = BASE + CONTROLLER + traefik + DENY_INGRESS + allow
    assert [f["check"] for f in findings(without_class) if f["check"] == "ingress-unreachable"] == [
        "ingress-unreachable"
    ]


# Golden cases built to exercise edge cases hold real findings; each says why it is one.
GOLDEN_FINDINGS = [
    # targetPort 9000 on pods that each declare their ports, none of them 9000
    ("basic-named-targetport", "undeclared-port", "spec.ports[1].targetPort"),
    # the policy names port "metrics" over TCP; the pods declare "metrics" over UDP only
    ("policy-named-ports", "undeclared-port", "spec.ingress[0].ports[1].port"),
    # `egress: [{}]`: frontend pods may send anything anywhere
    ("policy-peers-selectors", "allows-everything", "spec.egress[0]"),
    # egress to 0.0.0.0/0 without an except: it admits the two pods of the input by address
    ("policy-peers-ipblock", "ipblock-pod-network", "spec.egress[0].to[0].ipBlock.cidr"),
]


@pytest.mark.parametrize(("case", "check", "field"), GOLDEN_FINDINGS)
def test_real_findings_in_golden_cases(case: str, check: str, field: str) -> None:
    loaded = load([str(ROOT / "golden" / case)])
    found = [f for f in lint(loaded, complete(loaded)) if f.check == check]
    assert [f.diagnostic.path for f in found] == [field]


# --- reachability by classes (issue 16.5): the findings are those asked pod by pod --------------------------


def _doubled(text: str) -> str:
    """Every Pod twice (a copy named NAME-2): classes of two pods, so the answers shared are real ones."""
    docs = text.split("---\n")
    copies = [re.sub(r"name: ([\w.-]+)", r"name: \1-2", doc, count=1) for doc in docs if "\nkind: Pod\n" in doc]
    return "---\n".join([*docs, *copies])


def _both(paths: list[str], nodes: str = "1") -> list[str]:
    """lint's findings by classes, after checking that they equal its findings pod by pod."""
    loaded = load(paths)
    completed = complete(loaded, CompileArgs(nodes=nodes).complete_options())
    by_classes = [str(f) for f in lint(loaded, completed)]
    assert by_classes == [str(f) for f in lint(loaded, completed, by_classes=False)]
    return by_classes


@pytest.mark.parametrize("nodes", ["1", "3"])
@pytest.mark.parametrize(("check", "fires", "field", "quiet"), ROWS, ids=[f"{r[0]}-{r[2]}" for r in ROWS])
def test_reachability_by_classes_is_reachability_pod_by_pod(
    tmp_path: Path, check: str, fires: str, field: str, quiet: str, nodes: str
) -> None:
    for n, text in enumerate((fires, quiet, _doubled(fires), _doubled(quiet))):
        (tmp_path / f"{n}.yaml").write_text(text)
        found = _both([str(tmp_path / f"{n}.yaml")], nodes)
        if n == 2:  # a row's check fires for the copies too (or once for a workload): never less
            assert any(f"[{check}]" in f for f in found)


@pytest.mark.parametrize("case", sorted(p.name for p in (ROOT / "golden").iterdir() if p.is_dir()))
def test_reachability_by_classes_on_golden_cases(case: str) -> None:
    _both([str(ROOT / "golden" / case)])


def test_reachability_by_classes_on_the_bench_cluster(tmp_path: Path) -> None:
    """Apps of ten pods isolated for egress, no kube-dns Service: no-dns by class, for many pods (the
    namespace-wide policies that isolate pods for egress come from the 180th on)."""
    sys.path.insert(0, str(ROOT))
    from bench.policies import manifest

    (tmp_path / "c.yaml").write_text(manifest(400, 200))
    found = _both([str(tmp_path / "c.yaml")])
    assert sum("[no-dns]" in f for f in found) > 20


@pytest.mark.parametrize(
    ("case", "interface"), [("svc-detect-local-bridge", "cbr0"), ("svc-detect-local-prefix", "veth")]
)
def test_pods_send_from_their_interface(case: str, interface: str) -> None:
    """Under kube-proxy's interface detect-local modes lint's packets from pods carry the pod's interface
    (what the reference reads to tell a pod's traffic from an outside client's); hostNetwork pods none."""
    source = ROOT / "golden" / case
    args = parse_compile_args((source / "args").read_text().split())
    objects = complete(load([str(source)]), args.complete_options())
    opts = args.compile_options(objects.proxy_config)
    nodes = Nodes(objects, ScopeArgs(opts.cluster_cidrs, opts.detect_local_mode, opts.masquerade_all))
    pods = [p for p in objects.pods if p.running]
    assert pods and all(nodes.iif(p).startswith(interface) for p in pods if not p.host_network)
    assert all(nodes.iif(replace(p, host_network=True)) == "" for p in pods)
