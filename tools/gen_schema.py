"""Generate netcompile/load/schema/k8s-vX.Y.Z.json: the fields of the Kubernetes API kinds netcompile reads.

Dev-time only (`make schema`); netcompile itself reads the generated file. The source is the OpenAPI
(v2) definitions of one Kubernetes release: either the release's `api/openapi-spec/swagger.json` (given
with --spec), or, by default, the same definitions as the PyPI package kubernetes-validate ships them
(`kubernetes-json-schema/vX.Y.Z-local/_definitions.json`: swagger.json's `definitions` converted to JSON
Schema by openapi2jsonschema, `$ref`s under `#/$defs/`, types made nullable). The package is fetched by
pip (`pip download --no-deps`, into a temporary folder) or, where this Python has no pip (a virtualenv
made by uv), by uv (`uv run --no-project --with`, in uv's cache): it is never installed in the project.

The output keeps, for each definition reachable from the kinds below, each field's name and type:

    "io.k8s.api.networking.v1.NetworkPolicySpec": {"egress": "[io.k8s.api.networking.v1.NetworkPolicyEgressRule",
                                                   "podSelector": "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
                                                   "policyTypes": "[string", ...}

A type is a definition's name (an object with declared fields), `[T` (a list of T), `{T` (a map from any
key to T), or a scalar: `string`, `integer`, `number`, `boolean`, `integer|string` (IntOrString),
`number|string` (Quantity), `object` (free-form: any content, e.g. FieldsV1 or a definition declaring no
field) or `any` (no type at all, or x-kubernetes-preserve-unknown-fields). Definitions that are scalars
(Time, Quantity, IntOrString, ...) are inlined as their scalar type. `kinds` lists every kind of the API
groups netcompile reads, by apiVersion: the definition for the kinds whose fields are kept, "" for the
others (known to the API server, not read by netcompile).

Usage: python tools/gen_schema.py [--version 1.37.0] [--spec swagger.json] [--uv UV] [--out netcompile/load/schema/]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VERSION = "1.37.0"  # the Kubernetes release; kubernetes-validate X.Y.0 ships vX.Y.0 and older
VALIDATE_PACKAGE = "kubernetes-validate"

# The API groups and versions netcompile reads: every kind of them is listed under `kinds`.
GROUP_VERSIONS = ("v1", "apps/v1", "batch/v1", "discovery.k8s.io/v1", "networking.k8s.io/v1")
# The kinds whose fields are kept (with their List kinds): the ones netcompile compiles, the workloads
# (whose pods the simulated cluster derives), Ingress (validated, not compiled) and ServiceCIDR (the
# ranges ClusterIPs come from).
KINDS = {
    "v1": ("Namespace", "Node", "Pod", "Service", "Endpoints", "ReplicationController"),
    "discovery.k8s.io/v1": ("EndpointSlice",),
    "networking.k8s.io/v1": ("NetworkPolicy", "Ingress", "ServiceCIDR"),
    "apps/v1": ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"),
    "batch/v1": ("Job", "CronJob"),
}
SCALARS = {"string", "integer", "number", "boolean"}


def definitions_from_validate_package(version: str, uv: str | None) -> tuple[dict[str, Any], str]:
    """The definitions of Kubernetes `version`, from the kubernetes-validate package of its minor version."""
    minor = ".".join(version.split(".")[:2])
    requirement = f"{VALIDATE_PACKAGE}=={minor}.*"
    member = f"kubernetes_validate/kubernetes-json-schema/v{version}-local/_definitions.json"
    if importlib.util.find_spec("pip") is not None and uv is None:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "-q",
                    "--no-deps",
                    "--only-binary=:all:",
                    "-d",
                    tmp,
                    requirement,
                ],
                check=True,
            )
            wheel = next(Path(tmp).glob("*.whl"))
            with zipfile.ZipFile(wheel) as archive:
                data = json.loads(archive.read(member))
            package_version = wheel.name.split("-")[1]
    else:
        uv = uv or shutil.which("uv")
        if uv is None:
            sys.exit("gen_schema: needs pip in this Python, or uv (--uv PATH)")
        where = subprocess.run(
            [
                uv,
                "run",
                "--quiet",
                "--no-project",
                "--with",
                requirement,
                "python",
                "-c",
                "import importlib.metadata as m, kubernetes_validate as k, os; "
                f"print(m.version({VALIDATE_PACKAGE!r})); print(os.path.dirname(os.path.dirname(k.__file__)))",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split("\n")
        package_version = where[0]
        data = json.loads((Path(where[1]) / member).read_text())
    source = (
        f"Kubernetes v{version} OpenAPI v2 definitions (api/openapi-spec/swagger.json), as JSON Schema in "
        f"{VALIDATE_PACKAGE} {package_version} (PyPI): {member}"
    )
    return data["$defs"], source


def definitions_from_spec(path: Path, version: str) -> tuple[dict[str, Any], str]:
    data = json.loads(path.read_text())
    defs = data.get("definitions") or data.get("$defs") or data.get("components", {}).get("schemas")
    if not isinstance(defs, dict):
        sys.exit(f"{path}: no definitions")
    return defs, f"Kubernetes v{version} OpenAPI definitions: {path.name}"


def _types(schema: dict[str, Any]) -> list[str]:
    t = schema.get("type")
    types = [t] if isinstance(t, str) else list(t or [])
    return [x for x in types if x != "null"]


class Generator:
    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs
        self.out: dict[str, dict[str, str]] = {}
        self.pending: list[str] = []

    def type_of(self, schema: dict[str, Any]) -> str:
        """The compact type of a field's schema (queues the definitions it names)."""
        ref = schema.get("$ref")
        if ref is None and isinstance(schema.get("allOf"), list) and len(schema["allOf"]) == 1:
            ref = schema["allOf"][0].get("$ref")  # OpenAPI v3 wraps references to add a description
        if ref is not None:
            return self.reference(ref.rsplit("/", 1)[-1])
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return "any"
        if "oneOf" in schema or "anyOf" in schema:
            options = sorted({self.type_of(s) for s in schema.get("oneOf") or schema["anyOf"]})
            return "|".join(options)
        types = _types(schema)
        if "properties" in schema:
            raise ValueError(f"inline object schema: {json.dumps(schema)[:200]}")
        if types == ["array"]:
            return "[" + self.type_of(schema.get("items") or {})
        if types == ["object"]:
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict):
                return "{" + self.type_of(extra)
            return "object"
        if len(types) == 1 and types[0] in SCALARS:
            return types[0]
        if not types:
            return "any"
        raise ValueError(f"unexpected schema: {json.dumps(schema)[:200]}")

    def reference(self, name: str) -> str:
        schema = self.defs[name]
        if "properties" not in schema:  # a scalar (Time, Quantity, IntOrString) or a free-form object
            return self.type_of(schema)
        if name not in self.out and name not in self.pending:
            self.pending.append(name)
        return name

    def run(self, roots: list[str]) -> dict[str, dict[str, str]]:
        for root in roots:
            self.reference(root)
        while self.pending:
            name = self.pending.pop()
            schema = self.defs[name]
            if schema.get("x-kubernetes-preserve-unknown-fields") or isinstance(
                schema.get("additionalProperties"), dict
            ):
                raise ValueError(f"{name}: declared fields and free-form ones")
            self.out[name] = {key: self.type_of(field) for key, field in sorted(schema["properties"].items())}
        return dict(sorted(self.out.items()))


def group_version(gvk: dict[str, str]) -> str:
    return f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]


def generate(defs: dict[str, Any], version: str, source: str) -> dict[str, Any]:
    by_gv: dict[str, dict[str, str]] = {gv: {} for gv in GROUP_VERSIONS}
    for name, schema in defs.items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or ():
            gv = group_version(gvk)
            if gv in by_gv:
                by_gv[gv][gvk["kind"]] = name
    roots: list[str] = []
    kinds: dict[str, dict[str, str]] = {}
    for gv, found in by_gv.items():
        wanted = {k for kind in KINDS.get(gv, ()) for k in (kind, kind + "List")}
        missing = wanted - set(found)
        if missing:
            sys.exit(f"{gv}: no definition for {sorted(missing)}")
        kinds[gv] = {kind: (found[kind] if kind in wanted else "") for kind in sorted(found)}
        roots.extend(found[kind] for kind in sorted(wanted))
    return {
        "kubernetes": f"v{version}",
        "source": source,
        "generator": "tools/gen_schema.py (make schema)",
        "kinds": kinds,
        "definitions": Generator(defs).run(roots),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", default=DEFAULT_VERSION, help="Kubernetes release (X.Y.Z)")
    parser.add_argument("--spec", type=Path, help="swagger.json (or JSON Schema definitions) of that release")
    parser.add_argument("--uv", help="uv, to fetch the definitions with when this Python has no pip")
    parser.add_argument("--out", type=Path, default=ROOT / "netcompile" / "load" / "schema")
    args = parser.parse_args()
    if args.spec:
        defs, source = definitions_from_spec(args.spec, args.version)
    else:
        defs, source = definitions_from_validate_package(args.version, args.uv)
    data = generate(defs, args.version, source)
    target = args.out / f"k8s-v{args.version}.json"
    text = json.dumps(data, indent=0, separators=(",", ":"), sort_keys=False)
    target.write_text(text + "\n")
    for old in args.out.glob("k8s-v*.json"):
        if old != target:
            old.unlink()
    print(
        f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}: "
        f"{len(data['definitions'])} definitions, {len(text)} bytes; {source}"
    )


if __name__ == "__main__":
    main()
