"""The completion step against Kubernetes' EndpointSlice controller.

The expected rows are the controller's documented behaviour, from its source:
- `staging/src/k8s.io/endpointslice/utils.go`, `podToEndpoint`: serving = the pod is Ready;
  terminating = deletionTimestamp is set; ready = publishNotReadyAddresses || (serving && !terminating);
  nodeName from the pod; zone from the Node's `topology.kubernetes.io/zone` label; no hints.
- same file, `getEndpointPorts` and `FindPort`: a numeric targetPort as is; a named one through the
  container ports of that name *and protocol*; a Service port that does not resolve is left out.
- same file, `getEndpointAddresses` and `getAddressTypesForService`: one address type per family of the
  Service (both families for a headless Service), each with the pod's addresses of that family.
- `staging/src/k8s.io/endpointslice/util/controller_utils.go`, `ShouldPodBeInEndpoints` (called with
  includeTerminating = true by the reconciler): terminal pods (Succeeded, Failed) and pods without an
  address are left out; Pending pods with an address and terminating pods are published.
- `staging/src/k8s.io/endpointslice/reconciler.go`: pods are grouped by their resolved ports (one slice
  set per distinct port list); at most `--max-endpoints-per-slice` (default 100) endpoints per slice.
- `pkg/controller/endpointslice/endpointslice_controller.go`, `syncService`: only Services with a
  selector get slices. (Here also only those without slices or Endpoints of their own in the input.)
"""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

import pytest

from netcompile.compile.compiler import CompileOptions, compile_cluster
from netcompile.compile.index import Cluster
from netcompile.complete import complete
from netcompile.load.manifests import load
from netcompile.model import EndpointSlice, Objects, Protocol
from netcompile.verify.interpreter import Ruleset
from netcompile.verify.packet import Origin, Packet, Verdict
from netcompile.verify.reference import evaluate
from tests.conftest import WriteYaml

NODES = """
apiVersion: v1
kind: Node
metadata: {name: n1, labels: {topology.kubernetes.io/zone: zone-a}}
spec: {podCIDR: 10.0.1.0/24}
status: {addresses: [{type: ExternalIP, address: 192.168.1.9}, {type: InternalIP, address: 192.168.1.1}]}
---
apiVersion: v1
kind: Node
metadata: {name: n2}
spec: {podCIDR: 10.0.2.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.1.2}]}
"""


def service(extra: str = "", ports: str = "[{name: http, port: 80, targetPort: 8080}]") -> str:
    return f"""
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: ns}}
spec:
  clusterIP: 10.96.0.1
  selector: {{app: web}}
  ports: {ports}
  {extra}
"""


def pod(
    name: str,
    status: str,
    *,
    node: str = "n1",
    meta: str = "",
    spec: str = "",
    ports: str = "[{name: http, containerPort: 8080}]",
) -> str:
    return f"""
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: ns, labels: {{app: web}}{meta}}}
spec: {{nodeName: {node}, containers: [{{name: c, ports: {ports}}}]{spec}}}
status: {status}
"""


READY = '{phase: Running, podIP: 10.0.1.5, conditions: [{type: Ready, status: "True"}]}'
NOT_READY = '{phase: Running, podIP: 10.0.1.5, conditions: [{type: Ready, status: "False"}]}'
DELETED = ', deletionTimestamp: "2024-01-01T00:00:00Z"'


def completed(write_yaml: WriteYaml, *docs: str) -> Objects:
    return complete_in(write_yaml("", "empty.yaml"), *docs)


def complete_in(directory: Path, *docs: str) -> Objects:
    """Load `docs` (alone) from `directory` and complete them."""
    for old in directory.glob("*.yaml"):
        old.unlink()
    (directory / "in.yaml").write_text("\n---\n".join(docs))
    return complete(load([str(directory)]))


def derived(objects: Objects) -> list[EndpointSlice]:
    return [s for s in objects.endpoint_slices if s.service_name == "web"]


# (case, service extra, pod status, pod metadata extra) -> (ready, serving, terminating), or None: not published
CONDITIONS = [
    ("ready pod", "", READY, "", (True, True, False)),
    ("not ready pod", "", NOT_READY, "", (False, False, False)),
    ("terminating ready pod", "", READY, DELETED, (False, True, True)),
    ("terminating unready pod", "", NOT_READY, DELETED, (False, False, True)),
    ("publishNotReadyAddresses, unready", "publishNotReadyAddresses: true", NOT_READY, "", (True, False, False)),
    ("publishNotReadyAddresses, terminating", "publishNotReadyAddresses: true", READY, DELETED, (True, True, True)),
    ("pending with an address", "", "{phase: Pending, podIP: 10.0.1.5}", "", (False, False, False)),
    ("succeeded", "", "{phase: Succeeded, podIP: 10.0.1.5}", "", None),
    ("failed", "", "{phase: Failed, podIP: 10.0.1.5}", "", None),
    ("no address yet", "", "{phase: Pending}", "", None),
]


def published_conditions(directory: Path, extra: str, status: str, meta: str) -> list[tuple[bool, bool, bool]]:
    objects = complete_in(directory, NODES, service(extra), pod("p", status, meta=meta))
    return [
        (ep.conditions.ready, ep.conditions.serving, ep.conditions.terminating)
        for s in derived(objects)
        for ep in s.endpoints
    ]


NAMED_PORTS = "[{name: http, port: 80, targetPort: http}, {name: raw, port: 81, targetPort: 9999}]"
NAMED_PORT_PODS = (
    pod("a", READY, ports="[{name: http, containerPort: 8080}]"),
    pod("b", READY.replace("1.5", "1.6"), ports="[{name: http, containerPort: 8081}]"),
    pod("c", READY.replace("1.5", "1.7"), ports="[{name: http, containerPort: 8080, protocol: UDP}]"),
)
NAMED_PORT_SLICES = {
    (("http", 8080, Protocol.TCP), ("raw", 9999, Protocol.TCP)): ["10.0.1.5"],
    (("http", 8081, Protocol.TCP), ("raw", 9999, Protocol.TCP)): ["10.0.1.6"],
    (("raw", 9999, Protocol.TCP),): ["10.0.1.7"],
}


def named_port_slices(directory: Path) -> dict[tuple[tuple[str, int, Protocol], ...], list[str]]:
    objects = complete_in(directory, NODES, service(ports=NAMED_PORTS), *NAMED_PORT_PODS)
    return {
        tuple((p.name, p.port, p.protocol) for p in s.ports): sorted(str(ep.addresses[0]) for ep in s.endpoints)
        for s in derived(objects)
    }


def controller_table_failures(directory: Path) -> list[str]:
    """Every row of the controller table that the completion step gets wrong (the mutation tests use it)."""
    failures = []
    for case, extra, status, meta, conditions in CONDITIONS:
        got = published_conditions(directory, extra, status, meta)
        if got != ([conditions] if conditions else []):
            failures.append(f"{case}: published {got}, the controller publishes {conditions}")
    if (got_ports := named_port_slices(directory)) != NAMED_PORT_SLICES:
        failures.append(f"named ports: {got_ports}, the controller publishes {NAMED_PORT_SLICES}")
    return failures


def test_the_whole_table(tmp_path: Path) -> None:
    assert controller_table_failures(tmp_path) == []


@pytest.mark.parametrize(("case", "extra", "status", "meta", "conditions"), CONDITIONS, ids=[c[0] for c in CONDITIONS])
def test_conditions_and_which_pods(
    write_yaml: WriteYaml,
    case: str,
    extra: str,
    status: str,
    meta: str,
    conditions: tuple[bool, bool, bool] | None,
) -> None:
    objects = completed(write_yaml, NODES, service(extra), pod("p", status, meta=meta))
    endpoints = [ep for s in derived(objects) for ep in s.endpoints]
    if conditions is None:
        assert endpoints == [], case
        return
    (ep,) = endpoints
    c = ep.conditions
    assert (c.ready, c.serving, c.terminating) == conditions, case
    assert ep.addresses == (ip_address("10.0.1.5"),)
    assert (ep.node_name, ep.zone, ep.hint_zones) == ("n1", "zone-a", None)


def test_zone_only_from_a_labelled_node(write_yaml: WriteYaml) -> None:
    objects = completed(
        write_yaml, NODES, service(), pod("p", READY, node="n2"), pod("q", READY.replace("1.5", "1.6"), node="n9")
    )
    got = sorted((ep.node_name, ep.zone) for s in derived(objects) for ep in s.endpoints)
    assert got == [("n2", None), ("n9", None)]


def test_named_ports_resolved_per_pod(write_yaml: WriteYaml) -> None:
    """Pods with different numbers for one name get separate slices; a port that does not resolve (no
    such name, or the name for another protocol) is left out of that pod's slice."""
    assert named_port_slices(write_yaml("", "empty.yaml")) == NAMED_PORT_SLICES
    objects = completed(write_yaml, NODES, service(ports=NAMED_PORTS), *NAMED_PORT_PODS)
    assert all(
        s.meta.labels
        == (
            ("endpointslice.kubernetes.io/managed-by", "endpointslice-controller.k8s.io"),
            ("kubernetes.io/service-name", "web"),
        )
        for s in derived(objects)
    )


def test_address_types_follow_the_service_families(write_yaml: WriteYaml) -> None:
    dual = '{phase: Running, podIPs: [{ip: 10.0.1.5}, {ip: "fd00::5"}]}'
    v4_only = completed(write_yaml, NODES, service(), pod("p", dual))
    assert [(s.address_type, [str(a) for e in s.endpoints for a in e.addresses]) for s in derived(v4_only)] == [
        ("IPv4", ["10.0.1.5"])
    ]
    both = completed(
        write_yaml,
        NODES,
        service("clusterIPs: [10.96.0.1, 'fd00:96::1']\n  ipFamilyPolicy: RequireDualStack"),
        pod("p", dual),
    )
    assert sorted((s.address_type, str(s.endpoints[0].addresses[0])) for s in derived(both)) == [
        ("IPv4", "10.0.1.5"),
        ("IPv6", "fd00::5"),
    ]


def test_host_network_pod_has_its_nodes_address(write_yaml: WriteYaml) -> None:
    objects = completed(write_yaml, NODES, service(), pod("h", "{phase: Running}", spec=", hostNetwork: true"))
    (ep,) = [ep for s in derived(objects) for ep in s.endpoints]
    assert ep.addresses == (ip_address("192.168.1.1"),)  # the first InternalIP, not the ExternalIP listed first


def test_slices_hold_at_most_100_endpoints(write_yaml: WriteYaml) -> None:
    pods = [pod(f"p{i}", READY.replace("10.0.1.5", f"10.0.1.{i + 1}")) for i in range(150)]
    slices = derived(completed(write_yaml, NODES, service(), *pods))
    assert sorted(len(s.endpoints) for s in slices) == [50, 100]
    assert len({s.meta.name for s in slices}) == 2


def test_only_services_with_a_selector_and_nothing_of_their_own(write_yaml: WriteYaml) -> None:
    own_slice = """
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-mine, namespace: ns, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 7000}]
endpoints: [{addresses: [10.9.9.9]}]
"""
    own_endpoints = """
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: ns}
subsets: [{addresses: [{ip: 10.9.9.8}], ports: [{name: http, port: 7000}]}]
"""
    assert [s.meta.name for s in derived(completed(write_yaml, service(), pod("p", READY), own_slice))] == ["web-mine"]
    assert derived(completed(write_yaml, service(), pod("p", READY), own_endpoints)) == []
    selectorless = service().replace("  selector: {app: web}\n", "")
    assert derived(completed(write_yaml, selectorless, pod("p", READY))) == []
    once = completed(write_yaml, NODES, service(), pod("p", READY))
    assert complete(once) is once  # idempotent: a completed cluster (a snapshot) passes through


def test_terminating_endpoints_serve_when_none_is_ready(write_yaml: WriteYaml) -> None:
    """The fix this step brought: a Service whose only pod is terminating (and still Ready) falls back to
    it, and both evaluators agree; a terminating pod that is not Ready is not used."""
    for status, delivered in ((READY, True), (NOT_READY, False)):
        objects = load([str(write_yaml("\n---\n".join([NODES, service(), pod("p", status, meta=DELETED)]), "in.yaml"))])
        cluster = Cluster(complete(objects), "n1")
        ruleset = Ruleset.parse(compile_cluster(cluster, CompileOptions(node="n1")).text)
        packet = Packet(ip_address("10.0.2.7"), ip_address("10.96.0.1"), Protocol.TCP, 80, origin=Origin.NETWORK)
        outcome = evaluate(cluster, packet)
        assert ruleset.evaluate(packet, cluster.node_addresses).agrees_with(outcome)
        verdicts = {r.verdict for r in outcome.distribution}
        assert verdicts == ({Verdict.DELIVERED} if delivered else {Verdict.REJECTED})
