"""Benchmark: new TCP connections through a Service with either back end, as the Services grow (issue 18.6).

Not a test: run on demand, as root (it builds network namespaces and removes them):

    .venv/bin/python bench/dataplane_backends.py                       # 10, 1 000, 10 000 Services
    .venv/bin/python bench/dataplane_backends.py --services 10 1000 --connections 1000 --rounds 2

The node, the pods, the Service app/web and the synthetic other Services (10 endpoints each) are those of
bench/dataplane.py, plus zz-last/web, a second Service of the same server pod. The same compiled ruleset
is loaded with each back end in turn: nftables (`nft -f`), the iptables back end with iptables-nft and
with iptables-legacy (`netcompile.host.iptables.apply_iptables`: ipset restore, then iptables-restore).
Each case is loaded (timed), then the client opens N connections one after another to each of the two
Services, whose frontend rules come before and after every other Service's, and each connect() is timed
(SYN to SYN-ACK through the node both ways); the cases run in rounds, in a different order each round.
Printed, side by side from the same run: load times, and the median and 99th-percentile connect times as
ratios to nftables with the fewest Services. kube-proxy's own measurements say iptables grows with the
number of Services (a Service's rules are found by walking a chain) while nftables stays flat (one map
lookup); this prints what this machine measures.
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

from bench.dataplane import SERVER, SERVER_CODE, VIP, build, manifest, measure, p99, sh  # noqa: E402
from netcompile.compile.options import CompileOptions  # noqa: E402
from netcompile.host.iptables import apply_iptables, delete_iptables  # noqa: E402
from netcompile.iptables import render as render_iptables  # noqa: E402
from netcompile.pipeline import compile_node, complete, load  # noqa: E402

BACKENDS = ("nftables", "iptables-nft", "iptables-legacy")
# Two Services of the same server pod: app/web (bench/dataplane.py's) and zz-last/web, whose frontend rules
# come before and after every other Service's: where iptables finds a frontend by walking a chain of rules,
# the first is found at once and the last after every other Service's rule.
LAST_VIP = "10.98.255.250"
POSITIONS = {"first": VIP, "last": LAST_VIP}
LAST_SERVICE = (  # in a namespace of its own that sorts last, its endpoint the server pod (no selector)
    "apiVersion: v1\nkind: Namespace\nmetadata: {name: zz-last}\n---\n"
    "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: zz-last}\n"
    f"spec: {{clusterIP: {LAST_VIP}, ports: [{{name: http, port: 80, targetPort: 8080}}]}}\n---\n"
    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
    "metadata: {name: web-x, namespace: zz-last, labels: {kubernetes.io/service-name: web}}\n"
    f"addressType: IPv4\nports: [{{name: http, port: 8080, protocol: TCP}}]\nendpoints:\n"
    f"- addresses: [{SERVER}]\n  conditions: {{ready: true}}\n---\n"
)


def rulesets(work: Path, services: int) -> tuple[str, str]:
    """The nftables text and the iptables back end's text of the case with `services` other Services."""
    directory = work / f"in-{services}"
    directory.mkdir()
    (directory / "cluster.yaml").write_text(manifest(services, 0) + LAST_SERVICE)
    output = compile_node(complete(load([str(directory)])), CompileOptions(node="node-a")).output
    return output.text, render_iptables(output.table).text


def unload(node: str) -> None:
    """Whatever either back end left in the node: netcompile's table, chains and sets."""
    subprocess.run(["ip", "netns", "exec", node, "nft", "delete", "table", "inet", "netcompile"], capture_output=True)
    for variant in ("nft", "legacy"):
        delete_iptables(netns=node, variant=variant)


def load_case(node: str, backend: str, texts: tuple[str, str], work: Path) -> float:
    """Load one case with one back end (after unloading everything); the seconds the load took."""
    unload(node)
    start = time.perf_counter()
    if backend == "nftables":
        path = work / "current.nft"
        path.write_text(texts[0])
        sh("nft", "-f", str(path), netns=node)
    else:
        apply_iptables(texts[1], netns=node, variant=backend.removeprefix("iptables-"))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, nargs="+", default=[10, 1000, 10000])
    parser.add_argument("--connections", type=int, default=2000, help="connections per case and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/dataplane_backends.py builds network namespaces: run it as root")
    prefix = f"ncdb{os.getpid()}"
    cases = [(backend, n) for n in args.services for backend in args.backends]
    samples: dict[tuple[str, int, str], list[int]] = {(b, n, p): [] for b, n in cases for p in POSITIONS}
    loads: dict[tuple[str, int], list[float]] = {case: [] for case in cases}
    with tempfile.TemporaryDirectory(prefix="ncdb-") as tmp:
        work = Path(tmp)
        texts = {n: rulesets(work, n) for n in args.services}
        node, client, server = build(prefix)
        listener = subprocess.Popen(
            ["ip", "netns", "exec", server, sys.executable, "-c", SERVER_CODE], stdout=subprocess.PIPE, text=True
        )
        try:
            assert listener.stdout is not None and listener.stdout.readline().strip() == "ready"
            order = list(cases)
            rng = random.Random(18)
            for r in range(args.rounds):
                rng.shuffle(order)
                for backend, n in order:
                    loads[backend, n].append(load_case(node, backend, texts[n], work))
                    time.sleep(0.2)
                    for position, vip in POSITIONS.items():
                        measure(client, 200, vip)  # warm up: caches, conntrack, the first ARP
                        samples[backend, n, position] += measure(client, args.connections, vip)
                print(f"round {r + 1}: {', '.join(f'{b} {n}' for b, n in order)}", flush=True)
        finally:
            listener.kill()
            for ns in (client, server, node):
                subprocess.run(["ip", "netns", "del", ns], check=False)
    base = samples[(*cases[0], "first")]
    base_median, base_p99 = statistics.median(base), p99(base)
    print(f"\n{args.connections} connections x {args.rounds} rounds per case; connect() time through the node")
    print(f"to the Service whose frontend sorts first ({VIP}) and last ({LAST_VIP}) among the others;")
    print(f"ratios against {cases[0][0]} with {cases[0][1]} Services, first; load: median seconds of the rounds")
    print("| back end | Services | load | Service | median | ratio | p99 | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for backend, n in sorted(cases, key=lambda c: (BACKENDS.index(c[0]), c[1])):
        for position in POSITIONS:
            values = samples[backend, n, position]
            median, tail = statistics.median(values), p99(values)
            print(
                f"| {backend} | {n} | {statistics.median(loads[backend, n]):.2f} s | {position} | "
                f"{median / 1000:.1f} µs | {median / base_median:.2f} | {tail / 1000:.1f} µs | {tail / base_p99:.2f} |"
            )


if __name__ == "__main__":
    main()
