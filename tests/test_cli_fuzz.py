"""No command line ends in a traceback or an internal error (issue 14, point 5).

Hypothesis drives every verb through typer's CliRunner with generated option values: names (valid,
empty, with spaces, unicode, undecodable bytes as Python's argv carries them, too long, nft keywords),
addresses of both families and malformed ones, ports and port ranges (0, 65536, reversed, malformed),
CIDRs, paths that do not exist, empty folders, files that are not manifests, `-` with generated stdin,
and the root's input limits. Every run must exit 0 (ok), 1 (a finding) or 2 (bad input or usage) with
no traceback and no "internal error" (exit 70, a bug in netcompile): NETCOMPILE_TRACEBACK=1 makes an
internal error print its traceback, so the assertion sees it.

Nothing here touches this host's ruleset: `apply` always runs with --check (a libnftables dry run),
`delete` always names a network namespace that does not exist, and `lab` stops at its preflight
(monkeypatched to say the lab is unavailable) after every option and the input were checked. A command
line cannot carry a NUL byte, so no value holds one.
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from netcompile.cli import COMPILE_OPTIONS, app
from netcompile.host.nftlib import NftUnavailable
from tests.conftest import ROOT

runner = CliRunner()
FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the same command lines every run: a failure here is a bug, never a flake
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

# Small inputs, so that a run takes milliseconds: two dual-stack nodes, pods of one family and of both.
NODES = """\
apiVersion: v1
kind: Node
metadata: {name: node-a}
spec: {podCIDRs: [10.244.1.0/24, "fd00:244:1::/64"]}
status: {addresses: [{type: InternalIP, address: 192.168.0.1}, {type: InternalIP, address: "fd00:192::1"}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-b}
spec: {podCIDRs: [10.244.2.0/24, "fd00:244:2::/64"]}
status: {addresses: [{type: InternalIP, address: 192.168.0.2}, {type: InternalIP, address: "fd00:192::2"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: default, labels: {app: web}}
spec: {nodeName: node-a, containers: [{name: web, ports: [{name: http, containerPort: 8080}]}]}
status:
  phase: Running
  podIPs: [{ip: 10.244.1.10}, {ip: "fd00:244:1::10"}]
  conditions: [{type: Ready, status: "True"}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: default, labels: {app: client}}
spec: {nodeName: node-b, containers: [{name: c, ports: [{containerPort: 9000}]}]}
status: {phase: Running, podIP: 10.244.2.20, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: default}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}], ports: [{port: http}]}]
---
"""
SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: NodePort
  ipFamilyPolicy: PreferDualStack
  clusterIPs: [10.96.0.10, "fd00:96::10"]
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http, nodePort: %d}]
"""
SMALL = NODES + SERVICE % 30080
LOW_NODEPORT = NODES + SERVICE % 8080  # valid only with --service-node-port-range covering 8080
# Manifests as kept in Git: workloads and Services without addresses, left to the simulated cluster.
APP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: idle, namespace: shop}
spec:
  replicas: 0
  selector: {matchLabels: {app: idle}}
  template:
    metadata: {labels: {app: idle}}
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
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: shop}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {hostNetwork: true, containers: [{name: a, image: agent, ports: [{containerPort: 9100}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
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
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]
"""
KIND_WORDS = ["pods", "svc", "endpoints", "nodes", "all", "po,svc", "netpol", "ns", "deployments", "pods,"]
NOT_MANIFESTS = ["", "hello: [", "- just\n- a list\n", "{{{", "\x7fELF\x02\x01", "kind: Pod\n", "a: *b\n", "[" * 600]


@dataclass(frozen=True)
class Places:
    """Paths the fuzzer names: inputs that work, and everything that should be refused cleanly."""

    root: Path

    def path(self, name: str) -> str:
        if name in KIND_WORDS:  # `get PATH... KIND`: a word, not a place
            return name
        if name == "examples":
            return str(ROOT / "examples")
        return "-" if name == "-" else str(self.root / name)


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Places]:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "small").mkdir()
    (root / "small" / "input.yaml").write_text(SMALL)
    (root / "low-nodeport").mkdir()
    (root / "low-nodeport" / "input.yaml").write_text(LOW_NODEPORT)
    (root / "app").mkdir()
    (root / "app" / "input.yaml").write_text(APP)
    (root / "empty").mkdir()
    (root / "junk").mkdir()
    (root / "junk" / "junk.yaml").write_text("hello: [\n")
    (root / "binary.yaml").write_bytes(b"\xff\xfe\x00garbage")
    (root / "list.yaml").write_text("- {from: a, to: b}\n")
    (root / "in-the-way").write_text("a file, where a folder is wanted\n")
    (root / "script.nft").write_text("table inet netcompile {\n}\n")
    (root / "broken.nft").write_text("table inet netcompile {\n\tchain c { tcp dport 99999 accept }\n}\n")
    (root / "expect.yaml").write_text("- {from: default/client, to: default/web-1, port: 8080, expect: delivered}\n")
    golden = root / "golden"
    shutil.copytree(ROOT / "golden" / "svc-nodeport", golden / "svc-nodeport")
    shutil.copytree(ROOT / "golden" / "svc-nodeport", root / "golden-args" / "case")  # its args: generated
    (golden / "broken").mkdir()
    (golden / "broken" / "input.yaml").write_text("kind: Service\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NETCOMPILE_TRACEBACK", "1")  # an internal error prints its traceback: the test sees it

        def no_lab() -> None:
            raise NftUnavailable("the fuzz test builds no lab")

        mp.setattr("netcompile.lab.run.preflight", no_lab)
        yield Places(root)


# --- values ------------------------------------------------------------------------------------------

# What a command line can carry: any character but NUL, and (as Python's argv) undecodable bytes as
# lone surrogates U+DC80..U+DCFF.
CHARS = st.characters(exclude_categories=["Cs"], exclude_characters="\x00") | st.sampled_from(["\udcff", "\udc80"])
TEXT = st.text(CHARS, max_size=16)
NAMES = (
    st.sampled_from(
        ["node-a", "node-b", "netcompile", "nc.test/x", "", " ", "bad name", "Ünïcode", "x" * 65, "inet", "add", "-"]
    )
    | TEXT
)
ADDRESSES = (
    st.ip_addresses(v=4).map(str)
    | st.ip_addresses(v=6).map(str)
    | st.sampled_from(["192.168.0.1", "fd00:192::1", "10.244.1.10", "256.1.1.1", "1.2.3", "::g", "fe80::1%eth0", ""])
    | TEXT
)
NUMBERS = st.integers(-1, 70000).map(str) | st.sampled_from(["0", "65536", "80", "8080", "", "x", "٣", "+80", "1_0"])
RANGES = (
    st.tuples(st.integers(-1, 70000), st.integers(-1, 70000)).map(lambda t: f"{t[0]}-{t[1]}")
    | st.sampled_from(["30000-32767", "1-65535", "8000-9000", "32767-30000", "0-0", "30000", "a-b", "1--2", "²-3"])
    | TEXT
)
PREFIXES = st.integers(-1, 130)
CIDRS = (
    st.tuples(st.ip_addresses(v=4), PREFIXES).map(lambda t: f"{t[0]}/{t[1]}")
    | st.tuples(st.ip_addresses(v=6), PREFIXES).map(lambda t: f"{t[0]}/{t[1]}")
    | st.sampled_from(["10.244.0.0/16", "192.168.0.0/16,fd00::/8", "10.0.0.1/24", "::/129", "10.0.0.0/8,", "x", ""])
    | TEXT
)
TARGETS = (
    st.sampled_from(
        [
            *("default/web-1", "default/web", "default/svc/web", "default/pod/web", "client", "node:node-a"),
            *("node:nope", "shop/frontend-1", "shop/api", "shop/svc/api", "monitoring/prometheus-0", "10.96.0.10"),
            *("shop/deploy/web", "shop/deployment/web", "shop/sts/db", "shop/ds/agent", "shop/deploy/idle"),
            *("shop/web", "shop/db", "shop/cj/backup", "deploy:shop/web", "shop/rs/web", "default/deploy/x"),
        ]
    )
    | ADDRESSES
    | NAMES
)
PORT_LISTS = st.lists(
    st.tuples(NUMBERS, st.sampled_from(["", "/udp", "/tcp", "/SCTP", "/icmp", "/"])).map("".join), max_size=3
).map(",".join)
PROTOCOLS = st.sampled_from(["tcp", "udp", "sctp", "TCP", "icmp", ""]) | TEXT
VALIDATE = st.sampled_from(["strict", "warn", "ignore", "true", "false", "maybe", ""])
FLAG = st.just("")  # an option without a value

COMPILE = {
    "--node": NAMES,
    "--cluster-cidr": CIDRS,
    "--nodeport-addresses": CIDRS,
    "--table": NAMES,
    "--service-node-port-range": RANGES,
    "--validate": VALIDATE,
    "--strict": FLAG,
    "--nodes": NUMBERS | st.sampled_from(["1", "3", "256", "257", "-1"]),
    "--service-cidr": CIDRS
    | st.sampled_from(["10.96.0.0/12,fd00:10:96::/112", "10.0.0.0/30", "10.0.0.0/8,10.1.0.0/16"]),
    "--load-balancer-cidr": CIDRS | st.sampled_from(["172.19.255.0/24", "fd00:19::/112", "203.0.113.7/32"]),
    "--detect-local-mode": st.sampled_from(["ClusterCIDR", "NodeCIDR", "None", "none", "BridgeInterface", ""]) | TEXT,
    "--masquerade-all": FLAG,
    "--proxy-config": st.sampled_from(  # relative to the folder pytest runs in (the repository), or a case's
        ["golden/svc-kube-proxy-config/05-kube-proxy.yaml", "05-kube-proxy.yaml", "examples", "absent.yaml", "", "-"]
    )
    | TEXT,
}
assert tuple(COMPILE) == COMPILE_OPTIONS  # the fuzzer covers every compile option


def formats(*names: str) -> st.SearchStrategy[str]:
    return st.sampled_from([*names, "yaml", ""])


# Each verb: its own options (flag -> values), its arguments (the places it reads), its formats.
VERBS: dict[str, dict[str, st.SearchStrategy[str]]] = {
    "compile": {**COMPILE, "--format": formats("nft")},
    "trace": {
        **COMPILE,
        "--from": TARGETS,
        "--to": TARGETS,
        "--port": st.integers(1, 65535).map(str) | NUMBERS,
        "--protocol": PROTOCOLS,
        "--format": formats("text", "json"),
    },
    "matrix": {
        **COMPILE,
        "--ports": PORT_LISTS,
        "--external": ADDRESSES,
        "--pods": FLAG,
        "--format": formats("text", "markdown", "html", "svg"),
    },
    "lab": {
        **COMPILE,
        "--client": ADDRESSES,
        "--timeout": st.sampled_from(["1", "0", "0.01", "31", "nan", "inf", "-1", "x"]),
        "--repeat": NUMBERS,
        "--keep": FLAG,
        "--allow-skips": FLAG,
        "--format": formats("text", "json"),
    },
    "apply": {**COMPILE, "--force": FLAG},
    "get": {**COMPILE, "--show-labels": FLAG, "--format": formats("table", "yaml", "json")},
    "delete": {"--table": NAMES},
    "check": {"--format": formats("text", "json")},
    "golden": {"--format": formats("text", "json"), "--update": FLAG},
    "dns": {
        **COMPILE,
        "--cluster-domain": NAMES | st.sampled_from(["cluster.local", "example.org.", "a..b"]),
        "--query": NAMES | st.sampled_from(["kubernetes.default", "_http._tcp.web.default", "10.96.0.10", "web"]),
        "--type": st.sampled_from(["A", "AAAA", "SRV", "CNAME", "PTR", "TXT", "MX", ""]),
        "--from": TARGETS,
        "--pods": st.sampled_from(["insecure", "verified", "disabled", "x"]),
        "--format": formats("text", "json"),
    },
    "env": {**COMPILE, "--pod": TARGETS, "--cluster-domain": NAMES, "--format": formats("text", "json")},
    "lint": {
        **COMPILE,
        "--disable": st.sampled_from(["selects-nothing", "no-dns", "bogus"]) | TEXT,
        "--list-checks": FLAG,
        "--format": formats("text", "json"),
    },
    "explain": {**COMPILE, "--format": formats("text", "json")},
    "diff": {
        **COMPILE,
        "--git": st.sampled_from(["HEAD", "HEAD~1", "no-such-revision", "-x", ""]) | TEXT,
        "--external": ADDRESSES,
        "--format": formats("text", "markdown", "json", "html"),
    },
}
LIMITS = st.sampled_from(["1", "2", "100", "1000000", str(2**32), str(2**62), "99999999999999999999"]) | NUMBERS
ROOT_OPTIONS = {
    "--max-objects": LIMITS,
    "--max-file-bytes": LIMITS,
    "--max-depth": LIMITS,
    "--max-alias-nodes": LIMITS,
    "--strict": FLAG,
}
# Inputs that load (examples/: one node; small: two) come up more often than the others.
MANIFEST_PLACES = [
    "examples",
    "examples",
    "small",
    "small",
    "app",
    "app",
    "low-nodeport",
    "empty",
    "junk",
    "binary.yaml",
    "list.yaml",
    "in-the-way",
    "absent",
    "-",
]
PLACES = {
    "compile": MANIFEST_PLACES,
    "trace": MANIFEST_PLACES,
    "matrix": MANIFEST_PLACES,
    "lab": MANIFEST_PLACES,
    "apply": [*MANIFEST_PLACES, "script.nft", "broken.nft"],
    "get": [*MANIFEST_PLACES, *KIND_WORDS],  # PATH... [KIND]: a kind alone is refused, a kind after paths chosen
    "delete": [],
    "check": ["script.nft", "broken.nft", "empty", "binary.yaml", "absent", "-"],  # one FILE
    "golden": ["golden", "golden-args", "golden-args", "empty", "junk", "in-the-way", "absent"],  # one DIR
    "dns": MANIFEST_PLACES,
    "env": MANIFEST_PLACES,
    "lint": MANIFEST_PLACES,
    "explain": MANIFEST_PLACES,  # PATH... TARGET: the last place is taken for the target
    "diff": MANIFEST_PLACES,  # OLD NEW (or, with --git, the paths to read at each revision)
}
OUTPUTS = ["out/result.txt", "in-the-way/result.txt", "-"]  # a new folder, a file in the way, stdout
STDIN = st.sampled_from([SMALL, LOW_NODEPORT, APP, *NOT_MANIFESTS]) | TEXT


@dataclass(frozen=True)
class Command:
    argv: list[str]
    stdin: str
    golden_args: str = ""  # the args file of golden-args/case: compile flags, as a case's author writes them


@st.composite
def commands(draw: st.DrawFn, verb: str, places: Places) -> Command:
    """A command line for `verb`: root options, the verb, its places, and a few of its options."""
    argv: list[str] = []
    for flag in draw(st.lists(st.sampled_from(sorted(ROOT_OPTIONS)), max_size=1)):
        value = draw(ROOT_OPTIONS[flag])
        argv += [flag] if flag == "--strict" else [flag, value]
    argv.append(verb)
    if PLACES[verb]:
        most = 1 if verb in ("check", "golden") else 3 if verb == "get" else 2
        argv += [places.path(p) for p in draw(st.lists(st.sampled_from(PLACES[verb]), min_size=1, max_size=most))]
    options = VERBS[verb]
    chosen = draw(st.lists(st.sampled_from(sorted(options)), max_size=6))
    if verb == "trace":  # usually with its required options, so that runs get past the usage check
        chosen = [*draw(st.sampled_from([["--from", "--to", "--port"]] * 3 + [[]])), *chosen]
    for flag in chosen:
        value = draw(options[flag])
        argv += [flag] if options[flag] is FLAG else [flag, value]
    if verb not in ("apply", "delete") and draw(st.booleans()):
        argv += ["-o", places.path(draw(st.sampled_from(OUTPUTS)))]
    if verb == "apply":
        argv.append("--check")  # a dry run: the kernel keeps nothing
    if verb == "delete":  # never this host's ruleset: a namespace that is not there (or no valid name)
        argv += ["--netns", draw(st.sampled_from(["ncfuzz-absent", "", "..", "a/b"]) | TEXT.map("ncfuzz-".__add__))]
    golden_args = ""
    if verb == "golden":
        flags = draw(st.lists(st.sampled_from(sorted(COMPILE)), max_size=3))
        words = [w for flag in flags for w in (flag, draw(COMPILE[flag]))]
        golden_args = " ".join(draw(st.sampled_from([shlex.quote(w), w])) for w in words) + draw(
            st.sampled_from(["", " --node", " --bogus", " 'unclosed", "\n"])
        )
    return Command(argv, draw(STDIN), golden_args)


def run(command: Command, places: Places) -> None:
    (places.root / "golden-args" / "case" / "args").write_text(command.golden_args, errors="surrogateescape")
    result = runner.invoke(app, command.argv, input=command.stdin)
    shown = f"netcompile {command.argv!r}\n{result.output}"
    assert result.exit_code in (0, 1, 2), shown
    assert "Traceback" not in result.output, shown
    assert "internal error" not in result.output, shown
    assert result.exception is None or isinstance(result.exception, SystemExit), shown


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_no_command_line_ends_in_a_traceback(verb: str, places: Places) -> None:
    @FUZZ
    @given(commands(verb, places))
    def check(command: Command) -> None:
        run(command, places)

    check()


def test_the_reported_command_lines_are_clean_errors(places: Places) -> None:
    """The command lines of issue 14's findings: each a one-line message and exit 2."""
    small, low = places.path("small"), places.path("low-nodeport")
    trace = ["--from", "default/client", "--to", "default/web", "--port", "80"]
    cases = [
        (["compile", small, "--table", "bad name"], "--table 'bad name': must be an nftables table name"),
        (["matrix", small, "--external", "2001:db8::1", "--cluster-cidr", "10.244.0.0/16"], None),
        (["trace", low, *trace], "spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid"),
        (["golden", places.path("absent")], "not a directory of golden cases"),
        (["--max-file-bytes", "99999999999999999999", "compile", small], "Invalid value for '--max-file-bytes'"),
        (["--max-file-bytes", str(2**32 + 1), "compile", small], "Invalid value for '--max-file-bytes'"),
        (
            ["trace", small, "--from", "192.168.0.1", "--to", "fd00:192::2", "--port", "80"],
            "a packet has one IP family",
        ),
    ]
    for argv, message in cases:
        result = runner.invoke(app, argv)
        assert "Traceback" not in result.output and "internal error" not in result.output, result.output
        if message is not None:
            assert result.exit_code == 2, result.output
            assert message in result.stderr, result.stderr


def test_trace_matrix_and_lab_take_the_node_port_range_compile_takes(places: Places) -> None:
    low = places.path("low-nodeport")
    wide = ["--service-node-port-range", "1-32767"]
    refused = runner.invoke(app, ["compile", low, "--node", "node-a"])
    assert refused.exit_code == 2 and "nodePort: Invalid value: 8080" in refused.stderr, refused.output
    assert runner.invoke(app, ["compile", low, "--node", "node-a", *wide]).exit_code == 0
    trace = ["trace", low, "--from", "default/client", "--to", "192.168.0.1", "--port", "8080", *wide]
    traced = runner.invoke(app, trace)
    assert traced.exit_code == 0, traced.output
    assert "1  delivered to 10.244.1.10:8080 (masqueraded) (pod default/web-1)" in traced.stdout
    assert runner.invoke(app, ["matrix", low, *wide]).exit_code == 0
    lab = runner.invoke(app, ["lab", low, *wide])  # stops at the (monkeypatched) preflight: the input was read
    assert lab.exit_code == 2 and lab.stderr.splitlines()[-1] == "netcompile: the fuzz test builds no lab"
    assert "nodePort" not in lab.stderr


def test_an_external_client_of_a_family_no_pod_has_is_a_usage_error(places: Places) -> None:
    v4_only = places.root / "v4-only"
    v4_only.mkdir(exist_ok=True)
    (v4_only / "input.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: default}\n"
        "spec: {containers: [{name: a, ports: [{containerPort: 80}]}]}\n"
        'status: {phase: Running, podIP: 10.0.0.1, conditions: [{type: Ready, status: "True"}]}\n'
    )
    result = runner.invoke(app, ["matrix", str(v4_only), "--external", "2001:db8::1"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "netcompile: --external 2001:db8::1: no pod of the matrix has an IPv6 address to reach"
    )
    both = runner.invoke(app, ["matrix", places.path("small"), "--external", "2001:db8::1"])
    assert both.exit_code == 0, both.output
    # the client pod has no IPv6 address: its column, from the IPv6 outsider, says so
    row = next(line for line in both.stdout.splitlines() if line.startswith("external 2001:db8::1"))
    assert "n/a" in row and "n/a: the pod has no address of the source's IP family" in both.stdout


@pytest.mark.parametrize("verb", ["compile", "apply", "trace", "matrix", "lab", "get"])
def test_every_verb_that_reads_manifests_takes_the_compile_options(verb: str) -> None:
    result = runner.invoke(app, [verb, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    listed = [line.split()[0].rstrip(",") for line in result.stdout.splitlines() if line.startswith("  --")]
    assert [flag for flag in listed if flag in COMPILE_OPTIONS] == list(COMPILE_OPTIONS)
    help_of = {
        line.split()[0]: " ".join(line.split()[1:]) for line in result.stdout.splitlines() if line.startswith("  --")
    }
    compile_help = runner.invoke(app, ["compile", "--help"], env={"COLUMNS": "200"}).stdout
    compile_of = {
        line.split()[0]: " ".join(line.split()[1:]) for line in compile_help.splitlines() if line.startswith("  --")
    }
    assert {f: help_of[f] for f in COMPILE_OPTIONS} == {f: compile_of[f] for f in COMPILE_OPTIONS}


def test_the_table_is_checked_before_the_input_is_read(places: Places) -> None:
    trace = ["--from", "a", "--to", "b", "--port", "80"]
    for verb in ("compile", "trace", "matrix", "lab", "apply", "get"):
        argv = [verb, places.path("absent"), "--table", "Table", *(trace if verb == "trace" else [])]
        result = runner.invoke(app, argv)
        assert result.exit_code == 2, result.output
        assert result.stderr.splitlines() == [
            "netcompile: --table 'Table': must be an nftables table name: a lowercase "
            "letter, then lowercase letters, digits or _ . / -, at most 64 characters, and not a word of nft's syntax "
            "(inet, table, add...)"
        ], (verb, result.stderr)
