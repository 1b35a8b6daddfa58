"""Benchmark: reading the same objects as JSON and as YAML, side by side in one run.

Not a test: run on demand (no root needed):

    .venv/bin/python bench/json_read.py                      # N = 1k, 10k Services; 10 endpoints each
    .venv/bin/python bench/json_read.py --services 25000 --repeat 5

N Services (one port each) with one EndpointSlice of E endpoints each are written three ways: as
`kubectl get -o json` prints them (a `List` with `items`, indent 4), as `kubectl get -o yaml` prints the
same List (block style), and as a multi-document YAML file.
Each is read with `netcompile.load.manifests.load` (read + validate) and with the reader alone
(`source.read_documents`, the documents without validation); the best of --repeat runs, interleaved, is
printed with the ratio to the YAML List.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import mb  # noqa: E402
from netcompile.gcpause import paused_gc  # noqa: E402
from netcompile.load.manifests import load  # noqa: E402
from netcompile.load.source import Limits, read_documents, read_pieces  # noqa: E402

try:
    from yaml import CSafeDumper as Dumper
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeDumper as Dumper  # type: ignore[assignment]

DEFAULT_SIZES = (1_000, 10_000)


def objects(services: int, endpoints: int) -> list[dict[str, Any]]:
    """The objects of bench/services.py: ClusterIP Services and their EndpointSlices, all distinct."""
    out: list[dict[str, Any]] = []
    for i in range(services):
        name, ns = f"svc-{i:05d}", f"ns-{i % 50:02d}"
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": ns},
                "spec": {
                    "clusterIP": _ip(0x0A600000 + i + 1),
                    "selector": {"app": name},
                    "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}],
                },
            }
        )
        out.append(
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": f"{name}-abcde",
                    "namespace": ns,
                    "labels": {"kubernetes.io/service-name": name},
                },
                "addressType": "IPv4",
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                "endpoints": [
                    {
                        "addresses": [_ip(0x0A800000 + i * endpoints + j + 1)],
                        "conditions": {"ready": True},
                        "nodeName": "node-a",
                    }
                    for j in range(endpoints)
                ],
            }
        )
    return out


def _ip(value: int) -> str:
    return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


def write_inputs(directory: Path, services: int, endpoints: int) -> dict[str, Path]:
    items = objects(services, endpoints)
    listed = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}
    files = {
        "YAML List (kubectl -o yaml)": directory / "list.yaml",
        "JSON List (kubectl -o json)": directory / "list.json",
        "YAML documents (---)": directory / "documents.yaml",
    }
    paths = list(files.values())
    paths[0].write_text(yaml.dump(listed, Dumper=Dumper, sort_keys=False, default_flow_style=False))
    paths[1].write_text(json.dumps(listed, indent=4) + "\n")
    paths[2].write_text(yaml.dump_all(items, Dumper=Dumper, sort_keys=False, default_flow_style=False))
    return files


def read_only(path: Path) -> int:
    """The documents of a file, as the reader gives them (no validation); how many objects they hold."""
    pieces, errors = read_pieces([str(path)], Limits(), 1 << 62)
    count = 0
    with paused_gc():
        for piece in pieces:
            for doc, _ in read_documents(piece, Limits(), errors):
                items = doc.get("items")
                count += len(items) if isinstance(items, list) else 1
    assert not errors, errors[:3]
    return count


def timed(runs: dict[str, list[float]], name: str, action: Callable[[], object]) -> None:
    gc.collect()
    start = time.perf_counter()
    action()
    runs.setdefault(name, []).append(time.perf_counter() - start)


def measure(services: int, endpoints: int, repeat: int, directory: Path) -> list[str]:
    files = write_inputs(directory, services, endpoints)
    counts = {name: read_only(path) for name, path in files.items()}
    assert len(set(counts.values())) == 1, counts
    loads: dict[str, list[float]] = {}
    reads: dict[str, list[float]] = {}
    for _ in range(repeat):  # interleaved, so that a busy moment of the host hits every format alike
        for name, path in files.items():
            timed(loads, name, functools.partial(load, [str(path)]))
            timed(reads, name, functools.partial(read_only, path))
    reference = "YAML List (kubectl -o yaml)"
    lines = [f"{services} Services x {endpoints} endpoints ({2 * services} objects), best of {repeat}:"]
    for name, path in files.items():
        load_s, read_s = min(loads[name]), min(reads[name])
        lines.append(
            f"  {name:<28} {mb(path.stat().st_size):>9} | load {load_s:6.3f} s "
            f"({load_s / min(loads[reference]):.2f}x) | reader alone {read_s:6.3f} s "
            f"({read_s / min(reads[reference]):.2f}x)"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, action="append", help="N (repeatable); default 1k, 10k")
    parser.add_argument("--endpoints", type=int, default=10, help="endpoints per Service (default 10)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per format; the best counts (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ncbench-json-") as tmp:
        for n in args.services or DEFAULT_SIZES:
            print("\n".join(measure(n, args.endpoints, args.repeat, Path(tmp))), flush=True)


if __name__ == "__main__":
    main()
