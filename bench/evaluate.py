"""Benchmark: per-packet cost of both evaluators as the cluster grows (it should stay flat).

Not a test (timings belong here, not in the suite): run on demand,

    .venv/bin/python bench/evaluate.py                      # 1k and 10k Services x 10 endpoints
    .venv/bin/python bench/evaluate.py --services 1000 --services 25000

For each size, the manifest of bench/services.py is compiled; then the same number of packets (to
ClusterIPs spread over the whole range) goes through the interpreter of the compiled text and through the
reference evaluator, in the same run. Printed: microseconds per packet for each, and the ratio of each
size's per-packet time to the smallest size's (1.0 = flat). Both evaluators must agree on every packet.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from ipaddress import IPv4Address
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.services import manifest  # noqa: E402
from netcompile.compile.compiler import CompileOptions, compile_cluster  # noqa: E402
from netcompile.compile.index import Cluster  # noqa: E402
from netcompile.load.manifests import load  # noqa: E402
from netcompile.model import Protocol  # noqa: E402
from netcompile.pipeline import complete  # noqa: E402
from netcompile.verify.interpreter import Ruleset  # noqa: E402
from netcompile.verify.packet import Packet  # noqa: E402
from netcompile.verify.reference import reference_for  # noqa: E402

CLIENT = IPv4Address("10.244.0.1")  # a pod address outside the endpoints' range: "network" origin


def measure(services: int, endpoints: int, packets: int, workdir: Path) -> dict[str, float]:
    path = workdir / f"services-{services}.yaml"
    path.write_text(manifest(services, endpoints))
    cluster = Cluster(complete(load([str(path)])), None, ())
    text = compile_cluster(cluster, CompileOptions()).text
    ruleset = Ruleset.parse(text)
    reference = reference_for(cluster)
    step = max(1, services // packets)
    sample = [
        Packet(CLIENT, IPv4Address(0x0A600000 + 1 + (i * step) % services), Protocol.TCP, 80) for i in range(packets)
    ]
    locals_ = [IPv4Address("192.168.0.1")]
    ruleset.evaluate(sample[0], locals_)  # lazy indexes built outside the timing
    reference.evaluate(sample[0])
    start = time.perf_counter()
    compiled = [ruleset.evaluate(p, locals_).distribution for p in sample]
    interpreter = (time.perf_counter() - start) / len(sample)
    start = time.perf_counter()
    expected = [reference.evaluate(p).distribution for p in sample]
    ref = (time.perf_counter() - start) / len(sample)
    disagreements = sum(a != b for a, b in zip(compiled, expected, strict=True))
    return {"interpreter": interpreter, "reference": ref, "disagreements": disagreements}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, action="append", help="N (repeatable); default 1000 and 10000")
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--packets", type=int, default=2000)
    args = parser.parse_args()
    sizes = sorted(args.services or [1_000, 10_000])
    rows: list[tuple[int, dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="nc-bench-eval-") as tmp:
        for n in sizes:
            rows.append((n, measure(n, args.endpoints, args.packets, Path(tmp))))
    base = rows[0][1]
    header = ("Services", "interpreter µs/pkt", "ratio", "reference µs/pkt", "ratio", "disagree")
    print("{:>9} {:>19} {:>6} {:>17} {:>6} {:>9}".format(*header))
    for n, row in rows:
        interpreter, reference = row["interpreter"], row["reference"]
        print(
            f"{n:>9} {interpreter * 1e6:>19.1f} {interpreter / base['interpreter']:>6.2f}"
            f" {reference * 1e6:>17.1f} {reference / base['reference']:>6.2f} {row['disagreements']:>9.0f}"
        )


if __name__ == "__main__":
    main()
