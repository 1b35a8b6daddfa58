"""Benchmark: a delta (`compile --since`, `apply --since`) against a full reload, as issue 19 measures it.

Not a test: run on demand, as root (the loads go into two scratch network namespaces):

    .venv/bin/python bench/delta.py                      # 10k Services x 10 endpoints, 50 local pods
    .venv/bin/python bench/delta.py --services 1000

With N Services (one TCP port, E ready endpoints each, as bench/services.py) and 50 local pods in one
namespace loaded, five changes, one at a time: one Service added, one removed, one endpoint changed, one
NetworkPolicy added, one endpoint added to a Service (its list length then new). For each, side by side in this one run:
- compile: the full ruleset of NEW (load, complete, compile, render, write) against the delta from OLD.nft
  as `compile --since` makes it (read and check OLD.nft, the same compile, then diff, render and write the
  delta), each run end to end in this process; in parentheses, what is not the shared compile: writing
  the full ruleset, against reading OLD.nft, diffing and writing the delta;
- apply: `nft -f delta.nft` on a table holding OLD against `nft -f new.nft` (the full replacement) on
  another holding OLD; then both tables are listed and must be identical (up to the order of blocks);
- the delta's size: commands (statements), rules and elements carried, bytes.
Then the delta back (NEW to OLD) is applied, timed too, so the next change starts from OLD again. Last,
the two compiles of "add a Service" run again, alternately, `--rounds` times each: the medians, the median
of each round's ratio, and the medians of the parts that differ (the rest is the same code).
Goals (issue 19): one Service added to 10k applied in < 100 ms (kube-proxy's partial sync: ~141 ms);
compiling the delta not slower than compiling the whole ruleset.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from netcompile.atomic import write_atomically  # noqa: E402
from netcompile.cli.since import delta_from, load_since  # noqa: E402
from netcompile.compile.options import CompileOptions  # noqa: E402
from netcompile.nft.delta import Delta, between  # noqa: E402
from netcompile.nft.reader import read  # noqa: E402
from netcompile.pipeline import compile_node, complete, load  # noqa: E402

PODS = 50
CHANGES = ("add a Service", "remove a Service", "change an endpoint", "add a policy", "add an endpoint")


def _ip(value: int) -> str:
    return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


def service(i: int, endpoints: int, moved: bool = False, more: int = 0) -> str:
    """Service `svc-i` and its EndpointSlice (as bench/services.py); `moved`: its first endpoint elsewhere;
    `more`: that many endpoints more (a list length no other Service has)."""
    name, ns = f"svc-{i:05d}", f"ns-{i % 50:02d}"
    eps = []
    for j in range(endpoints + more):
        pod = 0x0AF00000 + j + 1 if moved and j == 0 else 0x0A800000 + i * endpoints + j + 1
        eps.append(f"  - addresses: [{_ip(pod)}]\n    conditions: {{ready: true}}\n    nodeName: node-b\n")
    return (
        "apiVersion: v1\nkind: Service\n"
        f"metadata: {{name: {name}, namespace: {ns}}}\n"
        f"spec:\n  clusterIP: {_ip(0x0A600000 + i + 1)}\n  selector: {{app: {name}}}\n"
        "  ports:\n  - {name: http, port: 80, targetPort: 8080, protocol: TCP}\n---\n"
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
        f"metadata:\n  name: {name}-abcde\n  namespace: {ns}\n"
        f"  labels: {{kubernetes.io/service-name: {name}}}\n"
        "addressType: IPv4\nports:\n- {name: http, port: 8080, protocol: TCP}\n"
        "endpoints:\n" + "".join(eps) + "---\n"
    )


def nodes_and_pods() -> str:
    """Two Nodes (the ruleset is node-a's) and PODS pods on node-a, in namespace ns-00, five apps."""
    out = []
    for n, cidr in (("node-a", "10.200.0.0/24"), ("node-b", "10.128.0.0/9")):
        out.append(
            f"apiVersion: v1\nkind: Node\nmetadata: {{name: {n}}}\nspec: {{podCIDR: {cidr}}}\n"
            f"status: {{addresses: [{{type: InternalIP, address: 192.168.0.{1 if n == 'node-a' else 2}}}]}}\n---\n"
        )
    for p in range(PODS):
        out.append(
            "apiVersion: v1\nkind: Pod\n"
            f"metadata: {{name: pod-{p:03d}, namespace: ns-00, labels: {{app: a{p % 5}}}}}\n"
            "spec: {nodeName: node-a, containers: [{name: c, image: x, ports: [{containerPort: 8080}]}]}\n"
            f"status: {{phase: Running, podIP: 10.200.0.{p + 10}, conditions: [{{type: Ready, status: 'True'}}]}}\n"
            "---\n"
        )
    return "".join(out)


POLICY = (
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
    "metadata: {name: added, namespace: ns-00}\n"
    "spec:\n  podSelector: {matchLabels: {app: a0}}\n"
    "  ingress:\n  - from: [{podSelector: {matchLabels: {app: a1}}}]\n    ports: [{port: 8080}]\n---\n"
)


def manifest(services: int, endpoints: int, change: str | None) -> str:
    indexes = [i for i in range(services) if not (change == CHANGES[1] and i == services // 2)]
    if change == CHANGES[0]:
        indexes.append(services)
    parts = [nodes_and_pods()]
    parts += [
        service(
            i, endpoints, moved=change == CHANGES[2] and i == services // 3, more=int(change == CHANGES[4] and i == 7)
        )
        for i in indexes
    ]
    if change == CHANGES[3]:
        parts.append(POLICY)
    return "".join(parts)


OPTIONS = CompileOptions(node="node-a")


def compile_full(inputs: Path, out: Path) -> tuple[float, float]:
    """`compile INPUTS -o OUT`, in this process: seconds, and the seconds of writing OUT (fsynced)."""
    start = time.perf_counter()
    text = compile_node(complete(load([str(inputs)])), OPTIONS).output.text
    middle = time.perf_counter()
    write_atomically(out, text)
    end = time.perf_counter()
    return end - start, end - middle


def compile_delta(inputs: Path, since: Path, out: Path) -> tuple[float, float, Delta]:
    """`compile INPUTS --since SINCE -o OUT`, in this process, as the command runs it (cli/since.py: OLD
    read and its layout checked first, its fingerprint checked in a thread beside the compile, then the
    delta and its file): seconds, the seconds of all but the compile (read OLD, wait for its check, diff,
    render, write), and the delta."""
    start = time.perf_counter()
    old = load_since(since)
    before = time.perf_counter()
    text = compile_node(complete(load([str(inputs)])), OPTIONS).output.text
    after = time.perf_counter()
    delta, script = delta_from(since, old, text)
    write_atomically(out, script)
    end = time.perf_counter()
    return end - start, (before - start) + (end - after), delta


def nft_f(netns: str, path: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(["ip", "netns", "exec", netns, "nft", "-f", str(path)], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"nft -f {path} failed in {netns}:\n{done.stderr[:2000]}")
    return elapsed


def listing(netns: str) -> list[str]:
    """`nft list table inet netcompile`, its blocks sorted (the kernel lists them in creation order)."""
    out = subprocess.run(
        ["ip", "netns", "exec", netns, "nft", "list", "table", "inet", "netcompile"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    blocks = out[:-2].split("\n\n")
    head, _, first = blocks[0].partition("\n")
    return [head, *sorted([first, *blocks[1:]])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=10_000, help="N (default 10000)")
    parser.add_argument("--endpoints", type=int, default=10, help="endpoints per Service (default 10)")
    parser.add_argument("--keep", type=Path, help="write inputs and rulesets here instead of a temporary dir")
    parser.add_argument(
        "--rounds", type=int, default=7, help="rounds of the two compiles of 'add a Service', alternately (default 7)"
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/delta.py loads rulesets into scratch network namespaces: run it as root")
    with tempfile.TemporaryDirectory(prefix="ncdelta-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        run(work, args.services, args.endpoints)
        compile_rounds(work, args.rounds)


def run(work: Path, services: int, endpoints: int) -> None:
    ns_delta, ns_full = f"ncdelta-d{os.getpid()}", f"ncdelta-f{os.getpid()}"
    for ns in (ns_delta, ns_full):
        subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        base = work / "old"
        base.mkdir(exist_ok=True)
        (base / "manifest.yaml").write_text(manifest(services, endpoints, None))
        old_nft = work / "old.nft"
        full_old, _ = compile_full(base, old_nft)
        load_old = nft_f(ns_delta, old_nft)
        nft_f(ns_full, old_nft)
        print(
            f"{services} Services x {endpoints} endpoints, {PODS} local pods: full compile {full_old:.2f} s, "
            f"nft -f {load_old:.2f} s, ruleset {old_nft.stat().st_size / 1e6:.1f} MB",
            flush=True,
        )
        print(
            "| change | compile full (writing) | compile delta (OLD read, diff, writing) | ratio | "
            "nft -f full | nft -f delta | ratio | delta back | delta: commands, rules+elements, bytes | "
            "listings equal |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for change in CHANGES:
            inputs = work / change.replace(" ", "-")
            inputs.mkdir(exist_ok=True)
            (inputs / "manifest.yaml").write_text(manifest(services, endpoints, change))
            new_nft, delta_nft, back_nft = (work / f"{inputs.name}.{s}.nft" for s in ("full", "delta", "back"))
            full_s, write_s = compile_full(inputs, new_nft)
            delta_s, tail_s, delta = compile_delta(inputs, old_nft, delta_nft)
            apply_delta_s = nft_f(ns_delta, delta_nft)
            apply_full_s = nft_f(ns_full, new_nft)
            equal = listing(ns_delta) == listing(ns_full)
            back = between(read(new_nft.read_text()), read(old_nft.read_text()))
            write_atomically(back_nft, back.render(["netcompile delta (bench, back)"]))
            back_s = nft_f(ns_delta, back_nft)
            nft_f(ns_full, old_nft)
            print(
                f"| {change} | {full_s:.2f} s ({write_s * 1000:.0f} ms) | {delta_s:.2f} s ({tail_s * 1000:.0f} ms) | "
                f"{delta_s / full_s:.2f} | "
                f"{apply_full_s * 1000:.0f} ms | {apply_delta_s * 1000:.0f} ms | {apply_delta_s / apply_full_s:.3f} | "
                f"{back_s * 1000:.0f} ms | {len(delta)}, {delta.items}, {delta_nft.stat().st_size} | "
                f"{'yes' if equal else 'NO'} |",
                flush=True,
            )
    finally:
        for ns in (ns_delta, ns_full):
            subprocess.run(["ip", "netns", "del", ns], check=False)


def compile_rounds(work: Path, rounds: int) -> None:
    """The compiles of 'add a Service' again, full and delta alternately, `rounds` times each: medians."""
    inputs, old_nft = work / CHANGES[0].replace(" ", "-"), work / "old.nft"
    full: list[tuple[float, float]] = []
    delta: list[tuple[float, float]] = []
    for r in range(rounds):
        for kind in ("full", "delta") if r % 2 == 0 else ("delta", "full"):
            if kind == "full":
                full.append(compile_full(inputs, work / "rounds.full.nft"))
            else:
                delta.append(compile_delta(inputs, old_nft, work / "rounds.delta.nft")[:2])
    f, d = statistics.median(t for t, _ in full), statistics.median(t for t, _ in delta)
    paired = statistics.median(dt / ft for (ft, _), (dt, _) in zip(full, delta, strict=True))
    print(
        f"\nadd a Service, compiled {rounds} times each, alternately: full {f:.2f} s "
        f"({min(t for t, _ in full):.2f}-{max(t for t, _ in full):.2f}), delta {d:.2f} s "
        f"({min(t for t, _ in delta):.2f}-{max(t for t, _ in delta):.2f}): ratio of medians {d / f:.2f}, "
        f"median of the rounds' ratios {paired:.2f} (load average {os.getloadavg()[0]:.1f})\n"
        f"what differs (medians): writing the full ruleset {statistics.median(w for _, w in full) * 1000:.0f} ms "
        f"({min(w for _, w in full) * 1000:.0f}-{max(w for _, w in full) * 1000:.0f}), against reading and checking "
        f"OLD.nft, diffing, rendering and writing the delta {statistics.median(w for _, w in delta) * 1000:.0f} ms "
        f"({min(w for _, w in delta) * 1000:.0f}-{max(w for _, w in delta) * 1000:.0f})"
    )


if __name__ == "__main__":
    main()
