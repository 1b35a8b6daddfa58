"""Every golden case (the layout: golden/README.md): the compiled output equals expected.nft byte for
byte, is deterministic, loads in libnftables, and means what Kubernetes means: the interpreter of its
expected.nft agrees with the reference evaluator on every probe packet (one check, for every case).

`pytest --update-goldens` (or `make golden-update`) rewrites expected.nft from the current compiler.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from ipaddress import ip_address
from pathlib import Path

import pytest

from netcompile.compile.compiler import CompileOptions
from netcompile.compile.index import Cluster
from netcompile.golden import Case, check_cases, discover
from netcompile.host.nftlib import check
from netcompile.model import IPAddress, Protocol
from netcompile.pipeline import COMPILE_FLAGS
from netcompile.verify.interpreter import Ruleset
from netcompile.verify.packet import Origin, Packet, Result, Verdict
from netcompile.verify.reference import evaluate, reference_for
from tests.conftest import ROOT

CASES = discover(ROOT / "golden")
IDS = [c.name for c in CASES]
INPUT_SUFFIXES = (".yaml", ".yml", ".json")


def test_there_are_golden_cases() -> None:
    assert len(CASES) >= 8


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_matches(case: Case, request: pytest.FixtureRequest) -> None:
    update = bool(request.config.getoption("--update-goldens"))
    problems = check_cases([case], update=update)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_is_deterministic(case: Case) -> None:
    assert case.texts() == case.texts()


@pytest.mark.kernel
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_loads_in_libnftables(case: Case) -> None:
    check(case.compile().text)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_case_has_the_layout(case: Case) -> None:
    """golden/README.md: NN-what.yaml inputs, an optional args file of compile flags, expected.nft and
    expected.iptables; nothing else."""
    names = sorted(p.name for p in case.directory.iterdir())
    inputs = [n for n in names if n.endswith(INPUT_SUFFIXES)]
    assert inputs and all(n[:2].isdigit() and n[2] == "-" for n in inputs), names
    expected = {"expected.nft", "expected.iptables"}
    assert set(names) - set(inputs) <= {"args", *expected} and expected <= set(names), names
    assert case.name.split("-", 1)[0] in ("basic", "policy", "svc"), case.name


# --- what the expected rulesets mean: interpreter vs reference, packet by packet ---------------------------

OUTSIDE = ("203.0.113.200", "100.64.0.1", "2001:db8::200", "2001:db9::1")


def service_packets(cluster: Cluster, opts: CompileOptions) -> Iterator[Packet]:
    """Packets at every frontend and ClusterIP (and a port it lacks), at pods and node addresses directly,
    from every kind of source: the node, pods (also each endpoint: hairpin), outside clients."""
    stage = reference_for(cluster, opts.nodeport_addresses).services
    pods = [ip for pod in cluster.objects.pods for ip in pod.ips]
    endpoints = [e.address for s in cluster.services.values() for p in s.ports for e in cluster.endpoints(s, p)]
    sources: list[tuple[IPAddress, Origin]] = [(a, Origin.NODE) for a in cluster.node_addresses]
    extra = [ip_address(a) for a in (*OUTSIDE, "10.244.1.250", "10.244.2.250", "fd00:244:1::250", "192.168.0.2")]
    sources += [(a, Origin.NETWORK) for a in dict.fromkeys([*pods, *endpoints, *extra])]
    targets: list[tuple[IPAddress, Protocol, int]] = list(stage.frontends)
    targets += [(address, Protocol.TCP, 1) for address in stage.cluster_ips]
    # not frontends: untouched by the Service stage
    targets += [(address, Protocol.TCP, 8080) for address in [*pods, *cluster.node_addresses]]
    for dst, protocol, port in targets:
        for src, origin in sources:
            if src.version == dst.version:
                yield Packet(src, dst, protocol, port, origin=origin)


def policy_packets(cluster: Cluster) -> Iterator[Packet]:
    """Packets between every pair of interesting addresses, on the ports the policies talk about."""
    addresses: set[IPAddress] = set(cluster.node_addresses)
    for p in cluster.objects.pods:
        addresses.update(cluster.pod_ips(p))
    for s in cluster.objects.services:
        addresses.update(s.cluster_ips)
    addresses.update(ip_address(a) for a in ("192.168.1.1", "192.168.2.2", "8.8.8.8", "2001:db8::1", "2001:db8:bad::1"))
    ports = {(Protocol.TCP, 80), (Protocol.TCP, 443), (Protocol.UDP, 53), (Protocol.SCTP, 9000)}
    for p in cluster.objects.pods:
        ports.update((c.protocol, c.port) for c in p.ports)
    for s in cluster.objects.services:
        ports.update((sp.protocol, sp.port) for sp in s.ports)
    for pol in cluster.policies:
        for rule in (*pol.ingress, *pol.egress):
            for entry in rule.ports or ():
                if isinstance(entry.port, int):  # both ends of a range, and just outside them
                    end = entry.end_port or entry.port
                    ports.update((entry.protocol, n) for n in (entry.port - 1, entry.port, end, end + 1))
    ordered = sorted(addresses, key=lambda a: (a.version, a))
    for src in ordered:
        for dst in ordered:
            if src == dst or src.version != dst.version:
                continue
            for proto, port in sorted(ports):
                yield Packet(src, dst, proto, port)
                if src in cluster.node_addresses:
                    yield Packet(src, dst, proto, port, origin=Origin.NODE)
    v4 = [a for a in ordered if a.version == 4]
    if v4:
        yield Packet(v4[0], v4[-1], Protocol.TCP, 80, ct_state="established")  # replies pass, whatever isolates


def golden_packets(cluster: Cluster, opts: CompileOptions) -> list[Packet]:
    """The probes of a golden case: those aimed at Services and those aimed at policies, each once."""
    return list(dict.fromkeys([*service_packets(cluster, opts), *policy_packets(cluster)]))


def disagreements(case: Case) -> tuple[list[str], int, set[tuple[Verdict, bool]], bool]:
    """Where the interpreter of the case's expected.nft and the reference differ; the number of packets,
    the (verdict, masquerade) pairs the reference gave, and whether a hairpin happened."""
    (cluster, _), opts = case.compiled()
    ruleset = Ruleset.parse(case.expected_path.read_text())
    packets = golden_packets(cluster, opts)
    problems = []
    seen: set[tuple[Verdict, bool]] = set()
    hairpin = False
    for packet in packets:
        expected = evaluate(cluster, packet, opts.nodeport_addresses)
        got = ruleset.evaluate(packet, cluster.node_addresses)
        for result in expected.distribution:
            seen.add((result.verdict, result.masquerade))
            hairpin |= isinstance(result, Result) and result.masquerade and result.dst == packet.src
        if not got.agrees_with(expected):
            problems.append(
                f"{packet}\n  reference:   {expected.describe()} {expected.reasons}\n  interpreter: {got.describe()}"
                + "".join(f"\n    {step}" for step in got.path)
            )
    return problems, len(packets), seen, hairpin


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_case_agrees_with_the_reference(case: Case) -> None:
    problems, packets, outcomes, _ = disagreements(case)
    assert packets
    if case.name.startswith("policy-"):  # a policy case isolates something, and lets something through
        assert {Verdict.DELIVERED, Verdict.DROPPED} <= {verdict for verdict, _ in outcomes}
    assert not problems, f"{len(problems)} of {packets} packets disagree:\n" + "\n".join(problems[:10])


def test_the_golden_probes_cover_every_outcome() -> None:
    """Over the golden cases, the probes meet rejects, drops, deliveries with and without masquerade, and
    a hairpin (an endpoint reaching itself through its Service)."""
    seen: set[tuple[Verdict, bool]] = set()
    hairpin = False
    for case in CASES:
        _, _, outcomes, hairpinned = disagreements(case)
        seen |= outcomes
        hairpin |= hairpinned
    assert seen >= {
        (Verdict.REJECTED, False),
        (Verdict.DROPPED, False),
        (Verdict.DELIVERED, True),
        (Verdict.DELIVERED, False),
    }
    assert hairpin


def test_output_does_not_depend_on_hash_seed() -> None:
    """Set and dict orders vary with PYTHONHASHSEED across processes; the output must not."""
    import subprocess
    import sys

    script = (
        "import hashlib, sys\n"
        "from netcompile.golden import discover\n"
        "h = hashlib.sha256()\n"
        "for c in discover(sys.argv[1]):\n"
        "    for text in c.texts().values(): h.update(text.encode())\n"
        "print(h.hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script, str(ROOT / "golden")],
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(digests) == 1


def test_a_cases_args_take_every_compile_option(tmp_path: Path) -> None:
    """golden/README.md: an args file takes every compile option of the command line (pipeline.COMPILE_FLAGS),
    read and checked as the command line reads and checks them."""
    directory = tmp_path / "svc-nodeport"
    shutil.copytree(ROOT / "golden" / "svc-nodeport", directory)
    args = (
        "--node node-a --cluster-cidr 10.244.0.0/16,fd00:1::/64 --cluster-cidr 10.245.0.0/16 "
        "--nodeport-addresses 192.168.0.0/16 --table other --service-node-port-range 30000-32767 "
        "--validate=warn --strict --nodes 1 --service-cidr 10.96.0.0/12 --load-balancer-cidr 172.19.255.0/24 "
        "--detect-local-mode NodeCIDR --masquerade-all --proxy-config kube-proxy.conf"
    )
    (directory / "kube-proxy.conf").write_text(  # relative to the case's folder; the flags above win over it
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nclusterCIDR: 10.0.0.0/8\n"
        "nftables: {masqueradeBit: 15}\nmode: nftables\n"
    )
    assert {word.partition("=")[0] for word in args.split() if word.startswith("--")} == {
        flag for _, flag, _ in COMPILE_FLAGS
    }
    (directory / "args").write_text(args)
    case = Case("svc-nodeport", directory)
    opts = case.options()
    assert (opts.node, opts.table, [str(n) for n in opts.cluster_cidrs]) == (
        "node-a",
        "other",
        ["10.244.0.0/16", "fd00:1::/64", "10.245.0.0/16"],
    )
    assert (opts.detect_local_mode, opts.masquerade_all, opts.masquerade_mark) == ("NodeCIDR", True, 0x8000)
    simulated = case.args().complete_options()
    assert (simulated.nodes, [str(c) for c in simulated.load_balancer_cidrs]) == (1, ["172.19.255.0/24"])
    assert [str(c) for c in simulated.pod_cidrs] == ["10.244.0.0/16", "fd00:1::/64"]  # one per family
    assert ([str(c) for c in simulated.service_cidrs], simulated.service_cidrs_configured) == (["10.96.0.0/12"], True)
    assert "table inet other {" in case.compile().text
    for words, message in (
        ("--bogus", "unknown flags: --bogus"),
        ("--node", "argument --node: expected one argument"),
        ("--cluster-cidr nope", "--cluster-cidr 'nope': must be a valid CIDR value"),
        ("--table 'Not A Table'", "--table 'Not A Table': must be an nftables table name"),
        ("--service-node-port-range 3-2", "--service-node-port-range '3-2': must be LOW-HIGH"),
        ("--validate maybe", '--validate: Unsupported value: "maybe"'),
    ):
        (directory / "args").write_text(words)
        (problem,) = check_cases([case], update=False)
        assert problem.startswith(f"svc-nodeport: does not compile:\n{directory / 'args'}: ") and message in problem
    # --strict: a dangling reference fails the case, as it fails `compile --strict`
    dangling = tmp_path / "basic-dangling"
    dangling.mkdir()
    (dangling / "00-input.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: {app: web}}\nspec: {containers: [{name: c}]}\n"
        "status: {phase: Running, podIP: 10.244.0.5}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {name: p}\nspec: {podSelector: {matchLabels: {app: nothing}}}\n"
    )
    assert check_cases([Case("basic-dangling", dangling)], update=True) == []
    (dangling / "args").write_text("--strict")
    (problem,) = check_cases([Case("basic-dangling", dangling)], update=False)
    assert "1 dangling reference in the input (--strict):" in problem, problem
