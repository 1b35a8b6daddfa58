"""The compiler's and the reference's questions of the model: label selectors, named ports, and Service
endpoint resolution (each side answers on its own; these tests ask both)."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from netcompile.compile.index import Cluster, ClusterError, named_port, selector_matches
from netcompile.model import Protocol
from netcompile.model.selectors import LabelSelector, Operator, Requirement
from netcompile.pipeline import complete, load
from netcompile.verify.reference.view import View, container_port, labels_select
from tests.conftest import WriteYaml


def cluster_of(write_yaml: WriteYaml, text: str, node: str | None = None) -> Cluster:
    return Cluster(complete(load([str(write_yaml(text, "c.yaml"))])), node)


LABELS = {"app": "web", "tier": "front"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        (LabelSelector(), True),
        (LabelSelector((("app", "web"),)), True),
        (LabelSelector((("app", "db"),)), False),
        (LabelSelector((("app", "web"), ("tier", "back"))), False),
        (LabelSelector(match_expressions=(Requirement("app", Operator.IN, frozenset({"web", "db"})),)), True),
        (LabelSelector(match_expressions=(Requirement("app", Operator.IN, frozenset({"db"})),)), False),
        (LabelSelector(match_expressions=(Requirement("app", Operator.NOT_IN, frozenset({"db"})),)), True),
        (LabelSelector(match_expressions=(Requirement("app", Operator.NOT_IN, frozenset({"web"})),)), False),
        (LabelSelector(match_expressions=(Requirement("zone", Operator.NOT_IN, frozenset({"x"})),)), True),
        (LabelSelector(match_expressions=(Requirement("zone", Operator.IN, frozenset({"x"})),)), False),
        (LabelSelector(match_expressions=(Requirement("tier", Operator.EXISTS, frozenset()),)), True),
        (LabelSelector(match_expressions=(Requirement("zone", Operator.EXISTS, frozenset()),)), False),
        (LabelSelector(match_expressions=(Requirement("zone", Operator.DOES_NOT_EXIST, frozenset()),)), True),
        (LabelSelector(match_expressions=(Requirement("app", Operator.DOES_NOT_EXIST, frozenset()),)), False),
        (
            LabelSelector(
                (("app", "web"),), (Requirement("tier", Operator.IN, frozenset({"back"})),)
            ),  # labels AND expressions
            False,
        ),
    ],
)
def test_label_selector(selector: LabelSelector, matches: bool) -> None:
    assert selector_matches(selector, LABELS) is matches
    assert labels_select(selector, LABELS) is matches


def test_selector_renders_like_kubectl() -> None:
    sel = LabelSelector(
        (("app", "web"),),
        (
            Requirement("tier", Operator.IN, frozenset({"b", "a"})),
            Requirement("legacy", Operator.DOES_NOT_EXIST, frozenset()),
        ),
    )
    assert str(sel) == "app=web,tier in (a,b),!legacy"
    assert str(LabelSelector()) == "<all>"


SERVICE_AND_PODS = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ns}
spec:
  clusterIP: 10.96.0.1
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}, {name: raw, port: 81, targetPort: 9999}]
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: ns, labels: {app: web}}
spec:
  nodeName: n1
  containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]
status: {phase: Running, podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: ns, labels: {app: web}}
spec:
  containers: [{name: c, ports: [{name: http, containerPort: 8081, protocol: UDP}]}]
status: {phase: Running, podIP: 10.0.0.3, conditions: [{type: Ready, status: "False"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: gone, namespace: ns, labels: {app: web}, deletionTimestamp: "2024-01-01T00:00:00Z"}
spec:
  containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]
status: {phase: Running, podIP: 10.0.0.4}
---
apiVersion: v1
kind: Pod
metadata: {name: other-ns, namespace: elsewhere, labels: {app: web}}
status: {phase: Running, podIP: 10.0.0.5}
"""


def test_endpoints_from_pods(write_yaml: WriteYaml) -> None:
    cluster = cluster_of(write_yaml, SERVICE_AND_PODS)
    svc = cluster.services["ns/web"]
    http, raw = svc.ports
    # named targetPort: pods a and gone have "http" over TCP; b's "http" is UDP. A terminating pod is
    # published, not ready but serving (its readiness) and terminating, as the EndpointSlice controller does.
    a, gone = cluster.endpoints(svc, http)
    assert (str(a.address), a.port, a.ready, a.node_name, a.target) == ("10.0.0.2", 8080, True, "n1", "ns/a")
    assert (str(gone.address), gone.ready, gone.serving, gone.terminating) == ("10.0.0.4", False, True, True)
    expected_raw = [("10.0.0.2", 9999, True), ("10.0.0.3", 9999, False), ("10.0.0.4", 9999, False)]
    assert [(str(e.address), e.port, e.ready) for e in cluster.endpoints(svc, raw)] == expected_raw
    view = View(cluster)  # the reference reads the same completed slices its own way
    assert [(str(e.address), e.port, e.ready) for e in view.endpoints(svc, raw)] == expected_raw
    assert [(e.target, e.serving, e.terminating) for e in view.endpoints(svc, http)] == [
        ("ns/a", True, False),
        ("ns/gone", True, True),
    ]


def test_slices_win_over_pods_and_match_ports_by_name_and_protocol(write_yaml: WriteYaml) -> None:
    cluster = cluster_of(
        write_yaml,
        SERVICE_AND_PODS
        + """
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: ns, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 7000}, {name: raw, port: 7001, protocol: UDP}]
endpoints:
- {addresses: [10.1.0.1, 10.1.0.99], conditions: {ready: false, serving: true, terminating: true}, nodeName: n2,
   zone: z1, hints: {forZones: [{name: z1}]}}
""",
    )
    svc = cluster.services["ns/web"]
    http, raw = svc.ports
    (ep,) = cluster.endpoints(svc, http)
    assert (str(ep.address), ep.port, ep.ready, ep.serving, ep.terminating) == ("10.1.0.1", 7000, False, True, True)
    assert (ep.node_name, ep.zone, ep.hint_zones) == ("n2", "z1", ("z1",))
    assert cluster.endpoints(svc, raw) == ()  # the slice's "raw" port is UDP, the Service's TCP


def test_legacy_endpoints_when_no_slices(write_yaml: WriteYaml) -> None:
    cluster = cluster_of(
        write_yaml,
        """
apiVersion: v1
kind: Service
metadata: {name: s, namespace: ns}
spec: {clusterIP: 10.96.0.2, ports: [{port: 53, protocol: UDP}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: s, namespace: ns}
subsets:
- addresses: [{ip: 10.2.0.1, nodeName: n1}]
  notReadyAddresses: [{ip: 10.2.0.2}]
  ports: [{port: 5353, protocol: UDP}]
""",
    )
    svc = cluster.services["ns/s"]
    assert [(str(e.address), e.port, e.ready, e.serving) for e in cluster.endpoints(svc, svc.ports[0])] == [
        ("10.2.0.1", 5353, True, True),
        ("10.2.0.2", 5353, False, False),
    ]


def test_node_choice(write_yaml: WriteYaml) -> None:
    text = """
apiVersion: v1
kind: Node
metadata: {name: n1}
spec: {podCIDR: 10.0.1.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.1.1}, {type: Hostname, address: n1}]}
---
apiVersion: v1
kind: Node
metadata: {name: n2}
spec: {podCIDRs: [10.0.2.0/24, "fd00:2::/64"]}
"""
    with pytest.raises(ClusterError, match="the input has 2 Nodes; choose one with --node"):
        cluster_of(write_yaml, text)
    with pytest.raises(ClusterError, match=r"--node n3: no such Node in the input \(known: n1, n2\)"):
        cluster_of(write_yaml, text, "n3")
    cluster = cluster_of(write_yaml, text, "n1")
    assert cluster.node_addresses == (ip_address("192.168.1.1"),)
    assert [str(c) for c in cluster.cluster_cidrs] == ["10.0.1.0/24", "10.0.2.0/24", "fd00:2::/64"]
    assert cluster.is_local("n1") and not cluster.is_local("n2") and not cluster.is_local(None)


def test_single_node_cluster_has_every_pod_local(write_yaml: WriteYaml) -> None:
    cluster = cluster_of(write_yaml, SERVICE_AND_PODS)
    assert cluster.single_node and cluster.is_local(None) and cluster.is_local("anything")
    assert [str(c) for c in cluster.cluster_cidrs] == ["10.0.0.2/31", "10.0.0.4/31"]


def test_named_port_needs_the_protocol(write_yaml: WriteYaml) -> None:
    cluster = cluster_of(write_yaml, SERVICE_AND_PODS)
    (b,) = [p for p in cluster.pods_by_ns["ns"] if p.meta.name == "b"]
    assert named_port(b, "http", Protocol.UDP) == container_port(b, "http", Protocol.UDP) == 8081
    assert named_port(b, "http", Protocol.TCP) is None
    assert container_port(b, "http", Protocol.TCP) is None
