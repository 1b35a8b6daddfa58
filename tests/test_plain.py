"""The plain paths read what the field-by-field path reads (issue 14.6).

Metadata, Services and endpoints of the common shape are read straight from their mappings
(`parse_common.plain_meta`, `services_plain.plain_service`, `endpoints._plain_endpoint`), and anything
else field by field, which says what is wrong. Here generated objects, mostly of the common shape and
often one value away from it (another type, an invalid name, a repeated port, a value out of range), are
loaded both ways: the objects (and where their fields are) or the messages must be the same. The API
rule tables (tests/test_api_rules.py) also run both ways.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from netcompile.errors import InputError
from netcompile.load import parse_common, services, services_plain
from netcompile.load.manifests import load
from netcompile.model import KubeObject, Objects
from tests.plain_paths import field_by_field

ABSENT: Any = object()  # a field left out

# Values one step off the common shape (of another type, invalid, or read only field by field), by the
# field they go in. A generated object is valid and of the common shape, with none, one or two of these.
OFF: dict[str, list[Any]] = {
    "metadata": [None, "web", ["web"]],
    "metadata.name": ["Web", "1st", "x" * 64, "", 7, None, "web.shop", ABSENT],
    "metadata.namespace": ["Shop", "a" * 64, 5, ""],
    "metadata.labels": [{"bad key": "x"}, {"/x": "y"}, {"app": "-x"}, {"app": "x" * 64}, {"app": 3}, {"a": None}],
    "spec.type": ["LoadBalancer", "ExternalName", "Bogus", 3, "", ABSENT, "NodePort", "ClusterIP"],
    "spec.selector": [{"app": True}, {"a/b/c": "x"}, "app=web", {}],
    "spec.sessionAffinity": ["Sticky", 1, "", "ClientIP"],
    "spec.externalTrafficPolicy": ["Nearby", "Local", "Cluster", ""],
    "spec.internalTrafficPolicy": ["Nearby", ["Local"], ""],
    "spec.publishNotReadyAddresses": ["yes", None],
    "spec.ipFamilyPolicy": ["Other", "RequireDualStack"],
    "spec.clusterIPs": [[], [""], ["10.96.0.300"], ["10.96.0.10", "10.96.0.11"], ["None", "10.96.0.10"], [7], "x"],
    "spec.clusterIP": ["10.96.0.99", 7, "none", "None", "fd00::99", ""],
    "spec.ipFamilies": [["IPv4", "IPv4"], [""], ["IPv5"], "IPv4", ["IPv6"], ["IPv4"], []],
    "spec.ports": [ABSENT, [], "80", [None], ["80"]],
    "spec.ports[0].name": ["", "HTTP", "a" * 64, 8, ABSENT, "p1"],
    "spec.ports[0].protocol": ["ICMP", "tcp", 6, "", "UDP"],
    "spec.ports[0].port": [0, 65536, -1, "80", True, None, 81],
    "spec.ports[0].targetPort": ["8080", "web-http-is-too-long", 70000, False, 1.5, 0, "", "http"],
    "spec.ports[0].nodePort": [29999, 32768, "30080", False, 0, 30081, 30080],
    "spec.ports[1].port": [80, 443, 53],  # maybe the port of spec.ports[0]
    "spec.ports[1].nodePort": [30080],  # maybe that of spec.ports[0]
    "spec.ports[0].appProtocol": ["kubernetes.io/h2c!", "", "kubernetes.io/h2c"],
    "spec.externalIPs": [["192.0.2.1"]],
    "spec.sessionAffinityConfig": [{"clientIP": {"timeoutSeconds": 60}}],
    "spec.healthCheckNodePort": [30100],
    "spec.trafficDistribution": ["PreferClose"],
    "addressType": ["IPv6", "FQDN", "IPv5", None],
    "ports[0].name": ["", "HTTP", "a" * 64, 8, "p1"],
    "ports[0].port": [0, 65536, "80", True, None],
    "ports[0].protocol": ["ICMP", "tcp", 6, ""],
    "ports[0].appProtocol": ["http", "x!"],
    "endpoints[0].addresses": [[], ["10.0.0.300"], ["fd00::1"], ["127.0.0.1"], "10.0.0.1"],
    "endpoints[0].conditions": [{"ready": "true"}, {"ready": False}, [], None],
    "endpoints[0].nodeName": ["Node_A", 7, ""],
    "endpoints[0].hints": [{"forZones": [{"name": "z"}]}],
    "status": ["up", {"loadBalancer": {"ingress": [{"ip": "192.0.2.9"}]}}, {"loadBalancer": "x"}],
}


def _valid_service(draw: st.DrawFn) -> dict[str, Any]:
    """A Service of the shape the plain path reads."""
    node_port = draw(st.booleans())
    spec: dict[str, Any] = {"type": "NodePort"} if node_port else {"type": draw(st.sampled_from(["ClusterIP", ""]))}
    if draw(st.booleans()):
        spec["selector"] = draw(st.sampled_from([{}, {"app": "web"}, {"app.kubernetes.io/name": "v1.2", "t": ""}]))
    family = draw(st.sampled_from(["IPv4", "IPv6", "dual", "headless", "none"] if not node_port else ["IPv4", "dual"]))
    ips = {"IPv4": ["10.96.0.10"], "IPv6": ["fd00::10"], "dual": ["010.96.0.10", "fd00::10"], "headless": ["None"]}
    if family != "none":
        ways = ["clusterIPs", "both"] if family == "dual" else ["clusterIP", "clusterIPs", "both"]
        given = draw(st.sampled_from(ways))
        if given != "clusterIPs":
            spec["clusterIP"] = ips[family][0]
        if given != "clusterIP":
            spec["clusterIPs"] = ips[family]
        if family != "headless" and draw(st.booleans()):
            spec["ipFamilies"] = ["IPv4", "IPv6"] if family == "dual" else [family]
    count = draw(st.integers(0 if family == "headless" else 1, 3))
    ports: list[dict[str, Any]] = []
    for index in range(count):
        port: dict[str, Any] = {"name": f"p{index}"} if count > 1 or draw(st.booleans()) else {}
        port["port"] = draw(st.sampled_from([80, 443, 53])) + index * 1000
        port["protocol"] = draw(st.sampled_from([ABSENT, "TCP", "UDP", "SCTP"]))
        port["targetPort"] = draw(st.sampled_from([ABSENT, 8080, "http", 0, ""]))
        port["nodePort"] = draw(st.sampled_from([ABSENT, 0, 30080 + index])) if node_port else ABSENT
        port["appProtocol"] = draw(st.sampled_from([ABSENT, "http", "kubernetes.io/h2c"]))
        ports.append(_present(port))
    keep_empty: bool = draw(st.booleans())
    if ports or keep_empty:
        spec["ports"] = ports
    optional: dict[str, list[Any]] = {
        "sessionAffinity": ["None", "ClientIP"],
        "externalTrafficPolicy": ["Cluster", "Local"] if node_port else [],
        "internalTrafficPolicy": ["Cluster", "Local"],
        "publishNotReadyAddresses": [True, False],
        "ipFamilyPolicy": ["SingleStack", "PreferDualStack"],
    }
    for key, values in optional.items():
        wanted: bool = draw(st.booleans())
        if values and wanted:
            spec[key] = draw(st.sampled_from(values))
    document = {"apiVersion": "v1", "kind": "Service", "metadata": _valid_metadata(draw), "spec": spec}
    status = draw(st.sampled_from([ABSENT, {}, {"loadBalancer": {}}, {"loadBalancer": None}, {"conditions": []}]))
    return _present(document | {"status": status})


def _valid_metadata(draw: st.DrawFn) -> dict[str, Any]:
    metadata = {"name": draw(st.sampled_from(["web", "db-1", "a"]))}
    namespace = draw(st.sampled_from([ABSENT, "shop", "default", ""]))
    labels = draw(st.sampled_from([ABSENT, {}, {"app": "web"}, {"tier": "", "app.kubernetes.io/name": "v1.2"}]))
    return _present(metadata | {"namespace": namespace, "labels": labels})


def _present(mapping: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if value is not ABSENT}


def _off(draw: st.DrawFn, document: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """`document` with none, one or two of `fields` set to a value off the common shape."""
    for field in draw(st.lists(st.sampled_from(fields), max_size=2, unique=True)):
        *path, last = re.sub(r"\[(\d+)\]", r".\1", field).split(".")
        where: Any = document
        for step in path:
            if isinstance(where, list):
                where = where[int(step)] if int(step) < len(where) else None
            elif isinstance(where, dict):
                where = where.get(step)
        if not isinstance(where, dict):
            continue
        value = draw(st.sampled_from(OFF[field]))
        if value is ABSENT:
            where.pop(last, None)
        else:
            where[last] = value
    return document


@st.composite
def service_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A Service of the shape the plain path reads, with no, one or two fields off it."""
    return _off(draw, _valid_service(draw), list(OFF))


@st.composite
def metadata_documents(draw: st.DrawFn) -> dict[str, Any]:
    """An object of another kind (its metadata is what the plain path reads)."""
    kind = draw(st.sampled_from(["Namespace", "Node", "Pod", "NetworkPolicy"]))
    version = "networking.k8s.io/v1" if kind == "NetworkPolicy" else "v1"
    document = {"apiVersion": version, "kind": kind, "metadata": _valid_metadata(draw)}
    return _off(draw, document, [field for field in OFF if field.startswith("metadata")])


@st.composite
def slice_documents(draw: st.DrawFn) -> dict[str, Any]:
    """An EndpointSlice of the common shape, with no, one or two fields off it."""
    count = draw(st.integers(0, 3))
    ports = []
    for index in range(count):
        port: dict[str, Any] = {"name": f"p{index}"} if count > 1 or draw(st.booleans()) else {}
        port["port"] = 8080 + index
        port["protocol"] = draw(st.sampled_from([ABSENT, "TCP", "UDP", "SCTP"]))
        ports.append(_present(port))
    endpoints = [
        _present({"addresses": [f"10.0.0.{index + 1}"], "nodeName": draw(st.sampled_from([ABSENT, "node-a"]))})
        for index in range(draw(st.integers(1, 3)))
    ]
    document = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": _valid_metadata(draw) | {"labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "ports": ports,
        "endpoints": endpoints,
    }
    fields = ["addressType", *(f for f in OFF if f.startswith(("ports[", "endpoints[", "metadata")))]
    return _off(draw, document, fields)


def _both_ways(documents: list[dict[str, Any]]) -> tuple[object, object]:
    """What loading the documents gives, plainly and field by field."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.yaml"
        path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
        plain = _outcome(str(path))
        with field_by_field():
            fields = _outcome(str(path))
    return plain, fields


def _outcome(path: str) -> object:
    try:
        objects = load([path])
    except InputError as error:
        return [str(diagnostic) for diagnostic in error.diagnostics]
    return _with_positions(objects)


def _with_positions(objects: Objects) -> object:
    """The objects, and where their fields are (`Meta.fields`, which equality leaves out)."""
    everything: list[KubeObject] = [*objects.namespaces, *objects.nodes, *objects.pods, *objects.services]
    everything += [*objects.network_policies, *objects.endpoint_slices]
    return objects, [(o.meta.position, o.meta.fields) for o in everything]


SETTINGS = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.lists(slice_documents(), min_size=1, max_size=3))
def test_plain_endpoint_slices_read_as_field_by_field(documents: list[dict[str, Any]]) -> None:
    plain, fields = _both_ways(documents)
    assert plain == fields


def _service(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": spec}]


@SETTINGS
@given(st.lists(service_documents(), min_size=1, max_size=3))
@example(_service({"type": "NodePort", "clusterIP": "None", "ports": [{"port": 80}]}))
@example(_service({"clusterIP": "10.96.0.10", "ipFamilies": ["IPv4", "IPv4"], "ports": [{"port": 80}]}))
@example(_service({"clusterIP": "None", "ipFamilies": ["IPv5", "IPv4"], "ports": [{"port": 80}]}))
@example(_service({"ports": [{"name": "a", "port": 80}, {"name": "b", "port": 30080, "nodePort": 80}]}))
def test_plain_services_read_as_field_by_field(documents: list[dict[str, Any]]) -> None:
    plain, fields = _both_ways(documents)
    assert plain == fields


@SETTINGS
@given(st.lists(metadata_documents(), min_size=1, max_size=3))
def test_plain_metadata_reads_as_field_by_field(documents: list[dict[str, Any]]) -> None:
    plain, fields = _both_ways(documents)
    assert plain == fields


SHAPES = [
    "{ports: [{port: 80}]}",
    "{type: NodePort, clusterIP: 10.96.0.10, selector: {app: web}, ports: [{name: http, port: 80, nodePort: 30080}]}",
    "{clusterIP: None, selector: {app: web}}",
    "{clusterIPs: [10.96.0.10, 'fd00::10'], ipFamilies: [IPv4, IPv6], ipFamilyPolicy: PreferDualStack,"
    " ports: [{name: a, port: 53, protocol: UDP}, {name: b, port: 53, targetPort: dns}]}",
    "{sessionAffinity: ClientIP, internalTrafficPolicy: Local, ports: [{port: 80, appProtocol: http}]}",
]


def test_the_plain_path_takes_the_common_shapes(tmp_path: Path, monkeypatch: Any) -> None:
    """Services as kubectl and Helm write them, and their metadata, do not go field by field (so the
    properties above compare two paths, not one with itself)."""
    taken: list[object] = []
    plain_service, plain_meta = services_plain.plain_service, parse_common.plain_meta
    monkeypatch.setattr(services, "plain_service", lambda *a: _noted(taken, plain_service(*a)))
    monkeypatch.setattr(parse_common, "plain_meta", lambda *a: _noted(taken, plain_meta(*a)))
    for index, spec in enumerate(SHAPES):
        path = tmp_path / f"input-{index}.yaml"
        path.write_text(
            "apiVersion: v1\nkind: Service\n"
            f"metadata: {{name: web, namespace: shop, labels: {{app: web}}}}\nspec: {spec}\n"
            "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"
        )
        taken.clear()
        load([str(path)])
        assert taken and None not in taken, spec


def _noted(taken: list[object], result: object) -> object:
    taken.append(result)
    return result
