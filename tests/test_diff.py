"""`netcompile diff` (issue 17.1): the semantic diff of a change, by workload and port, with the rules
responsible, then the ruleset diff; the changes a reviewer meets, one by one, on a small repository."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcompile.cli import app
from netcompile.journeys import Network
from netcompile.pipeline import compile_nodes, complete, load, parse_compile_args
from netcompile.review.services import decisions
from tests.conftest import ROOT

BASE = {
    "namespaces.yaml": """\
apiVersion: v1
kind: Namespace
metadata: {name: frontend, labels: {team: web}}
---
apiVersion: v1
kind: Namespace
metadata: {name: backend}
""",
    "web.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: frontend}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web, ports: [{name: http, containerPort: 80}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: batch, namespace: frontend}
spec:
  replicas: 1
  selector: {matchLabels: {app: batch}}
  template:
    metadata: {labels: {app: batch}}
    spec: {containers: [{name: batch, image: batch}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: admin, namespace: frontend}
spec:
  replicas: 1
  selector: {matchLabels: {app: admin}}
  template:
    metadata: {labels: {app: admin}}
    spec: {containers: [{name: admin, image: admin}]}
""",
    "api.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: backend}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, image: api, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: backend}
spec:
  type: NodePort
  selector: {app: api}
  ports: [{name: http, port: 80, targetPort: http}]
""",
    "policies.yaml": """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web, namespace: backend}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: web}}, podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress, namespace: frontend}
spec:
  podSelector: {matchLabels: {app: batch}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 198.51.100.0/24, except: [198.51.100.128/25]}}]
    ports: [{port: 443}]
""",
}

runner = CliRunner()


def repository(root: Path, name: str, changes: dict[str, tuple[str, str]] | None = None) -> Path:
    """BASE written under root/name, each (file: (old, new)) of `changes` replaced."""
    folder = root / name
    folder.mkdir()
    for file, text in BASE.items():
        for old, new in [v for f, v in (changes or {}).items() if f == file]:
            assert old in text, old
            text = text.replace(old, new)
        (folder / file).write_text(text)
    return folder


def diff(tmp_path: Path, changes: dict[str, tuple[str, str]], *options: str) -> tuple[int, str]:
    old, new = repository(tmp_path, "old"), repository(tmp_path, "new", changes)
    result = runner.invoke(app, ["diff", str(old), str(new), *options])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stdout


WEB_TO_API = "frontend/deployment/web → backend/deployment/api TCP"

CASES: list[tuple[str, dict[str, tuple[str, str]], list[str]]] = [
    (
        "a policy added",
        {
            "policies.yaml": (
                "---\napiVersion",
                "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
                "metadata: {name: deny-all, namespace: frontend}\nspec: {podSelector: {}, policyTypes: "
                "[Egress]}\n---\napiVersion",
            )
        },
        [f"closes {WEB_TO_API} 8080", 'is isolated for egress by NetworkPolicy "frontend/deny-all"'],
    ),
    (
        "a selector widened",
        {"policies.yaml": (", podSelector: {matchLabels: {app: web}}}", "}")},
        [
            "opens frontend/deployment/admin → backend/deployment/api TCP 8080",
            'NetworkPolicy "backend/allow-web" ingress[0] allows',
        ],
    ),
    (
        "a port changed",
        {
            "policies.yaml": ("ports: [{port: 8080}]", "ports: [{port: 8443}]"),
            "api.yaml": ("containerPort: 8080", "containerPort: 8443"),
        },
        [f"changes {WEB_TO_API} 8080 → 8443"],
    ),
    (
        "an ipBlock except changed",
        {"policies.yaml": ("except: [198.51.100.128/25]", "except: [198.51.100.0/25]")},
        [
            "opens frontend/deployment/batch → outside 198.51.100.128/25 TCP 443",
            "closes frontend/deployment/batch → outside 198.51.100.0/25 TCP 443",
        ],
    ),
    (
        "Service endpoints changed",
        {"api.yaml": ("replicas: 2", "replicas: 3")},
        ["backend/deployment/api: 2 → 3 pods", "Service backend/api: ClusterIP"],
    ),
    (
        "externalTrafficPolicy switched to Local",
        {"api.yaml": ("type: NodePort", "type: NodePort\n  externalTrafficPolicy: Local")},
        ["Service backend/api: NodePort TCP", "from outside clients", "source kept"],
    ),
    (
        "a workload's labels changed",
        {"web.yaml": ("app: web}", "app: website}")},  # its selector and its pods' labels
        [f"closes {WEB_TO_API} 8080", "no rule allows"],
    ),
    (
        "a namespace label changed",
        {"namespaces.yaml": ("labels: {team: web}", "labels: {team: shop}")},
        [f"closes {WEB_TO_API} 8080", "no rule allows"],
    ),
]


@pytest.mark.parametrize(("name", "changes", "expected"), CASES, ids=[c[0] for c in CASES])
def test_the_semantic_diff(tmp_path: Path, name: str, changes: dict[str, tuple[str, str]], expected: list[str]) -> None:
    code, out = diff(tmp_path, changes)
    assert code == 1, out
    semantic = out.split("\nRuleset of ")[0]
    for line in expected:
        assert line in semantic, f"{name}: {line!r} not in\n{out}"
    assert "DISAGREEMENT" not in out


def test_a_label_no_selector_reads_changes_nothing(tmp_path: Path) -> None:
    """New pod names (the template's hash), the same addresses and rulesets: no change, exit 0."""
    code, out = diff(tmp_path, {"web.yaml": ("metadata: {labels: {app: web}}", "metadata: {labels: {app: web, x: y}}")})
    assert (code, out.splitlines()[0].endswith("no change: the rulesets are the same")) == (0, True), out


def test_nothing_changed_is_exit_0(tmp_path: Path) -> None:
    code, out = diff(tmp_path, {})
    assert code == 0 and "no change" in out


def test_markdown_and_json(tmp_path: Path) -> None:
    changes = {"policies.yaml": ("ports: [{port: 8080}]", "ports: [{port: 8443}]")}
    code, out = diff(tmp_path, changes, "--format", "markdown")
    assert code == 1
    assert out.startswith("**netcompile diff**") and "closes 1" in out.splitlines()[0]
    assert "<details><summary>Connections</summary>" in out and "```diff" in out
    code, out = (
        runner.invoke(app, ["diff", str(tmp_path / "old"), str(tmp_path / "new"), "--format", "json"]).exit_code,
        runner.invoke(app, ["diff", str(tmp_path / "old"), str(tmp_path / "new"), "--format", "json"]).stdout,
    )
    data = json.loads(out)
    assert data["changed"] and data["connections"][0]["kind"] == "closes" and data["connections"][0]["port"] == "8080"


def test_git_revisions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`diff --git REV -- PATH`: the path at a revision against the work tree, the work tree untouched."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    folder = repository(repo, "k8s")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "base"], check=True)
    (folder / "policies.yaml").write_text(BASE["policies.yaml"].replace("port: 8080", "port: 8443"))
    monkeypatch.chdir(repo)
    result = runner.invoke(app, ["diff", "--git", "HEAD", "k8s"])
    assert result.exit_code == 1, result.output
    assert f"closes {WEB_TO_API} 8080" in result.stdout and "--git HEAD → the work tree" in result.stdout
    assert "port: 8443" in (folder / "policies.yaml").read_text()  # the work tree as it was
    subprocess.run([*git, "commit", "-q", "-am", "change"], check=True)
    both = runner.invoke(app, ["diff", "--git", "HEAD~1", "--git", "HEAD", "--", "k8s"])
    assert both.exit_code == 1 and f"closes {WEB_TO_API} 8080" in both.stdout
    assert runner.invoke(app, ["diff", "--git", "no-such-rev", "k8s"]).exit_code == 2


@pytest.mark.parametrize(
    "argv",
    [["diff"], ["diff", "one"], ["diff", "a", "b", "c"], ["diff", "--git", "a", "--git", "b", "--git", "c"]],
)
def test_usage(argv: list[str]) -> None:
    result = runner.invoke(app, argv)
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_a_disagreement_is_reported_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Were the compiled rulesets to answer otherwise than the reference (a netcompile bug), diff says so
    first: here the interpreter is made to drop every new connection."""
    from netcompile.verify.interpreter import Ruleset
    from netcompile.verify.packet import Outcome, Result, Verdict

    monkeypatch.setattr(Ruleset, "evaluate", lambda self, packet, addresses: Outcome.certain(Result(Verdict.DROPPED)))
    code, out = diff(tmp_path, {"api.yaml": ("replicas: 2", "replicas: 3")})
    assert code == 1
    assert "DISAGREEMENT (a netcompile bug, please report it)" in out.splitlines()[1]


def test_a_namespace_opened_to_another_reads_as_one_line() -> None:
    """The same change for every workload of a namespace (two or more) on one side is one line naming
    the namespace; a change for some of them only stays as it is."""
    from netcompile.model import Protocol
    from netcompile.review.reach import Change, _by_namespace

    whole = {"front": {"front/deployment/a", "front/deployment/b"}, "back": {"back/deployment/x", "back/deployment/y"}}

    def opens(src: str, dst: str) -> Change:
        return Change("opens", src, dst, Protocol.TCP, "8080", "closed", "open")

    every = [opens(f"front/deployment/{s}", f"back/deployment/{d}") for s in "ab" for d in "xy"]
    merged = _by_namespace(_by_namespace(every, whole, "destination"), whole, "source")
    assert [(c.source, c.destination) for c in merged] == [
        ("namespace front (all 2 workloads)", "namespace back (all 2 workloads)")
    ]
    some = [opens("front/deployment/a", "back/deployment/x"), opens("front/deployment/b", "back/deployment/x")]
    merged = _by_namespace(_by_namespace(some, whole, "destination"), whole, "source")
    assert [(c.source, c.destination) for c in merged] == [("namespace front (all 2 workloads)", "back/deployment/x")]


@pytest.mark.parametrize("case", ["svc-detect-local-bridge", "svc-detect-local-prefix"])
def test_pods_reach_services_on_their_interface(case: str) -> None:
    """Under kube-proxy's interface detect-local modes the diff's "pods" client arrives on a pod interface,
    so a ClusterIP keeps its source as kube-proxy does (and both evaluators agree on every decision)."""
    source = ROOT / "golden" / case
    args = parse_compile_args((source / "args").read_text().split())
    completed = complete(load([str(source)]), args.complete_options())
    opts = args.compile_options(completed.proxy_config)
    net = Network(compile_nodes(completed, opts), opts)
    disagreements: list[str] = []
    found = decisions(net, disagreements)
    assert disagreements == []
    clusterip = [
        clients
        for per in found.values()
        for (_, _, frontend), clients in per.items()
        if frontend.startswith("ClusterIP")
    ]
    assert clusterip and all("masqueraded" not in clients["pods"].how for clients in clusterip)
    assert all("masqueraded" in clients["outside clients"].how for clients in clusterip if clients["pods"].endpoints)


@pytest.mark.parametrize("folder", ["examples", "examples-repo/manifests", "golden/policy-peers-ipblock"])
def test_outside_destinations_asked_by_role_are_asked_pod_by_pod(folder: str) -> None:
    """`version` asks each outside destination once per source role (review/reach.py `_to_outside`); every
    pod asked on its own, by a journey, gives the same tallies."""
    from collections import Counter

    from netcompile.analysis import matrix_pods
    from netcompile.review.reach import group_of, outside_destinations, version
    from netcompile.targets import Workloads

    args = parse_compile_args(["--nodes", "2"])
    completed = complete(load([str(ROOT / folder)]), args.complete_options())
    opts = args.compile_options(completed.proxy_config)
    net = Network(compile_nodes(completed, opts), opts)
    outside, ports = outside_destinations(net)
    assert outside and ports  # the case has ipBlocks and ports to ask about
    labels = {label for _, label in outside}
    tallies = version(net, [], outside, ports).tallies
    by_roles = Counter({k: (t.cells, t.open) for k, t in tallies.items() if k[1] in labels})
    pods, _ = matrix_pods(net)
    workloads = Workloads(net.objects)
    one_by_one: dict[tuple[str, str, int, object], tuple[int, int]] = {}
    for pod in pods:
        place = net.place_of_pod(pod)
        for address, label in outside:
            if address.version != place.address.version:
                continue
            for port, protocol in ports:
                key = (group_of(workloads, pod), label, port, protocol)
                cells, opened = one_by_one.get(key, (0, 0))
                delivered = net.journey(place, address, port, protocol).delivered() > 0
                one_by_one[key] = (cells + 1, opened + delivered)
    assert by_roles == Counter(one_by_one)


@pytest.mark.parametrize(("name", "changes"), [(c[0], c[1]) for c in CASES], ids=[c[0] for c in CASES])
def test_tallies_by_blocks_are_the_tallies_cell_by_cell(
    tmp_path: Path, name: str, changes: dict[str, tuple[str, str]]
) -> None:
    """`version`'s tallies (review/tallies.py: summed from the class-to-class cells) equal the matrix summed
    pod pair by pod pair (`all_cells`): cells, open, disagreements, on each repository of CASES."""
    from tests.test_diff_scale import tallies_pod_by_pod

    args = parse_compile_args([])
    completed = complete(load([str(repository(tmp_path, "new", changes))]), args.complete_options())
    opts = args.compile_options(completed.proxy_config)
    tallies_pod_by_pod(Network(compile_nodes(completed, opts), opts))


def test_the_ruleset_of_an_input_without_nodes_is_the_nodes(tmp_path: Path) -> None:
    """Bare pods and no Node: one ruleset, for the one node the input implies, which has no name."""
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: default, labels: {app: web}}\n"
        "spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}\nstatus: {phase: Running, podIP: 10.244.0.5}\n"
    )
    policy = (
        "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: default}\n"
        "spec: {podSelector: {}, ingress: [{ports: [{port: 80}]}]}\n"
    )
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    (tmp_path / "old" / "in.yaml").write_text(pod + policy)
    (tmp_path / "new" / "in.yaml").write_text(pod + policy.replace("port: 80", "port: 81"))
    result = runner.invoke(app, ["diff", str(tmp_path / "old"), str(tmp_path / "new")])
    assert result.exit_code == 1, result.output
    assert "\nRuleset of the node:\n--- a/ruleset.nft\n+++ b/ruleset.nft\n" in result.stdout
    assert "None" not in result.stdout
