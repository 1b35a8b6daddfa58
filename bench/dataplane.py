"""Benchmark: the time to open new TCP connections through a Service, as the rulesets grow (issue 19.4).

Not a test: run on demand, as root (it builds network namespaces and removes them):

    .venv/bin/python bench/dataplane.py                    # 2000 connections per case, 3 rounds
    .venv/bin/python bench/dataplane.py --connections 5000 --rounds 5
    .venv/bin/python bench/dataplane.py --compare-tree /tmp/old   # also the policy cases as /tmp/old compiles them

A node (a network namespace routing as DESIGN.md §3 says: each pod behind its own veth, 169.254.1.1 as
the pods' gateway, proxy_arp) with two local pods: a client in namespace `client` and a server in
namespace `app`, behind Service app/web (10.96.0.10:80 -> 8080). Every new connection's first packet
goes through the node's ruleset: Service DNAT at prerouting, NetworkPolicy at forward. Cases:
- 10, 1 000 and 10 000 other Services (10 endpoints each) loaded, no policy;
- 10 other Services and 100 or 1 000 NetworkPolicies in namespace `app` selecting the server pod, each
  allowing ingress from other pods, one of them from the client's namespace.
For each case the client opens N connections one after another (connect, then close with a reset) and
times each connect (SYN to SYN-ACK, in the kernel through the node both ways); the cases run in rounds,
in a different order each round, and the medians and 99th percentiles of all rounds are printed as ratios
against the smallest case (10 Services, no policy). Goal (issue 19): at most 1.15 at 10 000 Services and
at 1 000 policies.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from netcompile.compile.options import CompileOptions  # noqa: E402
from netcompile.pipeline import compile_node, complete, load  # noqa: E402

VIP, CLIENT, SERVER, GATEWAY = "10.96.0.10", "10.244.0.2", "10.244.0.3", "169.254.1.1"
CASES: tuple[tuple[str, int, int], ...] = (
    ("10 Services", 10, 0),
    ("1000 Services", 1000, 0),
    ("10000 Services", 10000, 0),
    ("100 policies", 10, 100),
    ("1000 policies", 10, 1000),
)


def _ip(value: int) -> str:
    return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


def manifest(services: int, policies: int) -> str:
    out = [
        "apiVersion: v1\nkind: Node\nmetadata: {name: node-a}\nspec: {podCIDR: 10.244.0.0/24}\n"
        "status: {addresses: [{type: InternalIP, address: 192.168.0.1}]}\n---\n",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: client, labels: {role: client}}\n---\n",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: app}\n---\n",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: client, labels: {role: client}}\n"
        "spec: {nodeName: node-a, containers: [{name: c, image: x}]}\n"
        f"status: {{phase: Running, podIP: {CLIENT}, conditions: [{{type: Ready, status: 'True'}}]}}\n---\n",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: server, namespace: app, labels: {app: server}}\n"
        "spec: {nodeName: node-a, containers: [{name: c, image: x, ports: [{containerPort: 8080}]}]}\n"
        f"status: {{phase: Running, podIP: {SERVER}, conditions: [{{type: Ready, status: 'True'}}]}}\n---\n",
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: app}\n"
        f"spec: {{clusterIP: {VIP}, selector: {{app: server}}, ports: [{{port: 80, targetPort: 8080}}]}}\n---\n",
    ]
    for i in range(services):
        name, vip = f"svc-{i:05d}", _ip(0x0A610000 + i + 1)
        eps = "".join(
            f"  - addresses: [{_ip(0x0AC80000 + i * 10 + j + 1)}]\n    conditions: {{ready: true}}\n" for j in range(10)
        )
        out.append(
            f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: other}}\n"
            f"spec:\n  clusterIP: {vip}\n  ports: [{{name: http, port: 80, targetPort: 8080}}]\n---\n"
            "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
            f"metadata: {{name: {name}-x, namespace: other, labels: {{kubernetes.io/service-name: {name}}}}}\n"
            "addressType: IPv4\nports: [{name: http, port: 8080, protocol: TCP}]\nendpoints:\n" + eps + "---\n"
        )
    for q in range(policies):
        peer = (
            "{namespaceSelector: {matchLabels: {role: client}}}"
            if q == policies // 2
            else (f"{{podSelector: {{matchLabels: {{peer: p{q}}}}}}}")
        )
        out.append(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
            f"metadata: {{name: pol-{q:04d}, namespace: app}}\n"
            f"spec:\n  podSelector: {{matchLabels: {{app: server}}}}\n  ingress:\n  - from: [{peer}]\n"
            f"    ports: [{{port: {8080 if q == policies // 2 else 9000 + q % 100}}}]\n---\n"
        )
    return "".join(out)


def ruleset(work: Path, services: int, policies: int) -> Path:
    directory = work / f"in-{services}-{policies}"
    directory.mkdir()
    (directory / "cluster.yaml").write_text(manifest(services, policies))
    path = work / f"{services}-{policies}.nft"
    path.write_text(compile_node(complete(load([str(directory)])), CompileOptions(node="node-a")).output.text)
    return path


COMPILE_WITH = """
import sys
sys.path.insert(0, sys.argv[1])
from netcompile.compile.options import CompileOptions
from netcompile.pipeline import compile_node, complete, load
text = compile_node(complete(load([sys.argv[2]])), CompileOptions(node="node-a")).output.text
open(sys.argv[3], "w").write(text)
"""


def ruleset_of_tree(tree: Path, work: Path, services: int, policies: int) -> Path:
    """The same case compiled by the netcompile of another source tree (`--compare-tree`)."""
    path = work / f"{services}-{policies}-other.nft"
    argv = [sys.executable, "-c", COMPILE_WITH, str(tree), str(work / f"in-{services}-{policies}"), str(path)]
    subprocess.run(argv, check=True, capture_output=True, text=True)
    return path


def sh(*argv: str, netns: str | None = None) -> None:
    cmd = ["ip", "netns", "exec", netns, *argv] if netns else list(argv)
    subprocess.run(cmd, check=True, capture_output=True, text=True)


def build(prefix: str) -> tuple[str, str, str]:
    node, client, server = f"{prefix}-node", f"{prefix}-client", f"{prefix}-server"
    for ns in (node, client, server):
        sh("ip", "netns", "add", ns)
    sh("sysctl", "-qw", "net.ipv4.ip_forward=1", netns=node)
    for ns, address, veth in ((client, CLIENT, "vc"), (server, SERVER, "vs")):
        sh("ip", "link", "add", veth, "netns", node, "type", "veth", "peer", "eth0", "netns", ns)
        sh("sysctl", "-qw", f"net.ipv4.conf.{veth}.proxy_arp=1", netns=node)
        sh("ip", "addr", "add", f"{GATEWAY}/32", "dev", veth, "scope", "link", netns=node)
        sh("ip", "link", "set", veth, "up", netns=node)
        sh("ip", "route", "add", f"{address}/32", "dev", veth, netns=node)
        sh("ip", "addr", "add", f"{address}/32", "dev", "eth0", netns=ns)
        sh("ip", "link", "set", "lo", "up", netns=ns)
        sh("ip", "link", "set", "eth0", "up", netns=ns)
        sh("ip", "route", "add", GATEWAY, "dev", "eth0", "scope", "link", netns=ns)
        sh("ip", "route", "add", "default", "via", GATEWAY, "dev", "eth0", netns=ns)
    return node, client, server


SERVER_CODE = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080)); s.listen(4096); print("ready", flush=True)
while True:
    c, _ = s.accept(); c.close()
"""

CLIENT_CODE = """
import socket, struct, sys, time
n, vip = int(sys.argv[1]), sys.argv[2]
linger = struct.pack("ii", 1, 0)
out = []
for _ in range(n):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
    t = time.perf_counter_ns(); s.connect((vip, 80)); out.append(time.perf_counter_ns() - t); s.close()
print(" ".join(map(str, out)))
"""


def measure(client: str, connections: int, vip: str = VIP) -> list[int]:
    """connect() times in nanoseconds of `connections` new connections from `client` to vip:80."""
    done = subprocess.run(
        ["ip", "netns", "exec", client, sys.executable, "-c", CLIENT_CODE, str(connections), vip],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return [int(x) for x in done.stdout.split()]


def p99(values: list[int]) -> float:
    return sorted(values)[int(len(values) * 0.99)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=2000, help="connections per case and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--compare-tree",
        type=Path,
        metavar="DIR",
        help="also measure the cases with policies as compiled by the netcompile source tree DIR (e.g. an older "
        "checkout), in the same rounds",
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/dataplane.py builds network namespaces: run it as root")
    prefix = f"ncdp{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="ncdp-") as tmp:
        work = Path(tmp)
        files = {name: ruleset(work, s, p) for name, s, p in CASES}
        cases = list(CASES)
        if args.compare_tree is not None:
            for name, s, p in CASES:
                if p:
                    other = f"{name} ({args.compare_tree})"
                    files[other] = ruleset_of_tree(args.compare_tree, work, s, p)
                    cases.append((other, s, p))
        node, client, server = build(prefix)
        listener = subprocess.Popen(
            ["ip", "netns", "exec", server, sys.executable, "-c", SERVER_CODE], stdout=subprocess.PIPE, text=True
        )
        try:
            assert listener.stdout is not None and listener.stdout.readline().strip() == "ready"
            samples: dict[str, list[int]] = {name: [] for name, _, _ in cases}
            order = [name for name, _, _ in cases]
            rng = random.Random(19)
            for r in range(args.rounds):
                rng.shuffle(order)
                for name in order:
                    sh("nft", "-f", str(files[name]), netns=node)
                    time.sleep(0.2)
                    measure(client, 200)  # warm up: caches, conntrack, the first ARP
                    samples[name] += measure(client, args.connections)
                print(f"round {r + 1}: {', '.join(order)}", flush=True)
        finally:
            listener.kill()
            for ns in (client, server, node):
                subprocess.run(["ip", "netns", "del", ns], check=False)
    base = samples[CASES[0][0]]
    base_median, base_p99 = statistics.median(base), p99(base)
    print(f"\n{args.connections} connections x {args.rounds} rounds per case; connect() time through the node")
    print("| case | median | ratio | p99 | ratio |")
    print("|---|---|---|---|---|")
    for name, _, _ in cases:
        values = samples[name]
        median, tail = statistics.median(values), p99(values)
        print(
            f"| {name} | {median / 1000:.1f} µs | {median / base_median:.2f} | {tail / 1000:.1f} µs | "
            f"{tail / base_p99:.2f} |"
        )


if __name__ == "__main__":
    main()
