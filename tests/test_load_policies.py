"""NetworkPolicies read plainly (`load/policies_plain.py`) are those read field by field (`policies.py`).

Generated policies, mostly of the common shape and often one or two values away from it, are loaded both
ways: the objects and where their fields are, or the messages, must be the same. The last test shows
that the plain path takes the common shapes, so that the property compares two paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from netcompile.load import policies, policies_plain
from netcompile.load.manifests import load
from netcompile.load.source import RawObject
from netcompile.model import NetworkPolicy
from tests.test_load_pods import ABSENT, both_ways, present, set_field

SELECTORS: list[Any] = [
    {},
    {"matchLabels": {"app": "web"}},
    {"matchLabels": {"app.kubernetes.io/name": "v1.2", "tier": ""}},
    {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api", "web"]}]},
    {"matchLabels": {"a": "b"}, "matchExpressions": [{"key": "x", "operator": "Exists"}]},
    {
        "matchExpressions": [
            {"key": "x", "operator": "DoesNotExist"},
            {"key": "y", "operator": "NotIn", "values": ["a"]},
        ]
    },
]
OFF_SELECTORS: list[Any] = [
    None,
    "app=web",
    {"matchLabels": {"app": 3}},
    {"matchLabels": {"app": None}},
    {"matchLabels": {"-x": "y"}},
    {"matchLabels": "x"},
    {"matchExpressions": [{"key": "x", "operator": "In"}]},
    {"matchExpressions": [{"key": "x", "operator": "In", "values": []}]},
    {"matchExpressions": [{"key": "x", "operator": "Exists", "values": ["a"]}]},
    {"matchExpressions": [{"key": "x", "operator": "Has"}]},
    {"matchExpressions": [{"key": "", "operator": "Exists"}]},
    {"matchExpressions": [{"key": "a/b/c", "operator": "Exists"}]},
    {"matchExpressions": [{"key": 5, "operator": "Exists"}]},
    {"matchExpressions": [{"key": "x", "operator": "In", "values": [None]}]},
    {"matchExpressions": [{"key": "x", "operator": "In", "values": ["-a"]}]},
    {"matchExpressions": [{"key": "x", "operator": "In", "values": "a"}]},
    {"matchExpressions": [None]},
    {"matchExpressions": "x"},
]
PEERS: list[Any] = [
    {"podSelector": {"matchLabels": {"app": "db"}}},
    {"namespaceSelector": {}},
    {"namespaceSelector": {"matchLabels": {"team": "a"}}, "podSelector": {}},
    {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "10.2.0.0/16"]}},
    {"ipBlock": {"cidr": "fd00::/64"}},
    {"ipBlock": {"cidr": "010.0.0.0/08", "except": []}},
]
OFF_PEERS: list[Any] = [
    None,
    {},
    "x",
    {"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}},
    {"ipBlock": "10.0.0.0/8"},
    {"ipBlock": {}},
    {"ipBlock": {"cidr": ""}},
    {"ipBlock": {"cidr": "10.0.0.0/33"}},
    {"ipBlock": {"cidr": 10}},
    {"ipBlock": {"cidr": "10.0.0.1/8"}},
    {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.0.0.0/8"]}},
    {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16"]}},
    {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["fd00::/64"]}},
    {"ipBlock": {"cidr": "10.0.0.0/8", "except": [None]}},
    {"ipBlock": {"cidr": "10.0.0.0/8", "except": "10.1.0.0/16"}},
    {"podSelector": {"matchLabels": {"app": 3}}},
    {"namespaceSelector": "x"},
]
PORTS: list[Any] = [
    {"port": 80},
    {"port": "http", "protocol": "TCP"},
    {"protocol": "UDP"},
    {"port": 5000, "endPort": 5100},
    {"port": 53, "protocol": "SCTP"},
    {"port": 8080, "endPort": 8080},
]
OFF_PORTS: list[Any] = [
    None,
    {},
    "80",
    {"port": 0},
    {"port": 65536},
    {"port": True},
    {"port": 1.5},
    {"port": ""},
    {"port": "HTTP"},
    {"port": "a--b"},
    {"port": "http", "endPort": 90},
    {"endPort": 90},
    {"port": 90, "endPort": 80},
    {"port": 80, "endPort": 70000},
    {"port": 80, "endPort": "90"},
    {"port": 80, "protocol": "ICMP"},
    {"port": 80, "protocol": ""},
    {"port": 80, "protocol": 6},
]


def _rule(draw: st.DrawFn, peers_key: str) -> dict[str, Any]:
    peers = draw(st.sampled_from([ABSENT, [], *([p] for p in PEERS), PEERS[:2], PEERS[3:5]]))
    ports = draw(st.sampled_from([ABSENT, [], *([p] for p in PORTS), PORTS[:3]]))
    return present({peers_key: peers, "ports": ports})


@st.composite
def policy_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A NetworkPolicy of the common shape, with none, one or two fields off it."""
    spec = present({
        "podSelector": draw(st.sampled_from([ABSENT, *SELECTORS])),
        "ingress": draw(st.sampled_from([ABSENT, []])) if draw(st.booleans()) else [_rule(draw, "from")],
        "egress": draw(st.sampled_from([ABSENT, []])) if draw(st.booleans()) else [_rule(draw, "to")],
        "policyTypes": draw(st.sampled_from([ABSENT, [], ["Ingress"], ["Egress"], ["Ingress", "Egress"]])),
    })  # fmt: skip
    metadata = present({"name": "p", "namespace": draw(st.sampled_from([ABSENT, "shop"]))})
    document = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": metadata, "spec": spec}
    off: dict[str, list[Any]] = {
        "metadata.name": ["P", 7, ABSENT],
        "spec": [None, "x", {}],
        "spec.podSelector": OFF_SELECTORS,
        "spec.ingress": [None, "x", [None], [{}], [5]],
        "spec.egress": [None, "x", [None], [{}], [{"to": [], "ports": []}]],
        "spec.ingress[0].from": [None, "x", [], *([p] for p in OFF_PEERS)],
        "spec.egress[0].to": [None, "x", [], *([p] for p in OFF_PEERS)],
        "spec.ingress[0].ports": [None, "x", [], *([p] for p in OFF_PORTS)],
        "spec.egress[0].ports": [None, [], *([p] for p in OFF_PORTS)],
        "spec.policyTypes": [None, "Ingress", ["Ingress", "Egress", "Ingress"], ["Egress", "Egress"], [""], [None]],
    }
    for field in draw(st.lists(st.sampled_from(list(off)), max_size=2, unique=True)):
        set_field(document, field, draw(st.sampled_from(off[field])))
    return document


def _policy(spec: Any) -> list[dict[str, Any]]:
    return [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "p"}, "spec": spec}]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(policy_documents(), min_size=1, max_size=3))
@example(_policy({"podSelector": {}, "egress": [{"to": [{"podSelector": {}}]}]}))
@example(_policy({"podSelector": {}, "policyTypes": ["Egress", "Ingress", "Egress"]}))
@example(_policy({"podSelector": {}, "ingress": [{"ports": [{"port": 90, "endPort": 80}]}]}))
@example(_policy({"podSelector": {}, "egress": [{"ports": [{"protocol": "UDP", "endPort": 80}]}]}))
@example(_policy({"podSelector": {}, "ingress": [{"ports": [{"port": "http", "endPort": 90}]}]}))
@example(
    _policy({"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "fd00::/8", "except": ["fd00::/8"]}}]}]})
)
@example(_policy({"podSelector": {"matchExpressions": [{"key": "x", "operator": "Exists", "values": ["a"]}]}}))
@example(_policy({"podSelector": {"matchExpressions": [{"key": "x", "operator": "In", "values": ["a", "a"]}]}}))
def test_plain_policies_read_as_field_by_field(documents: list[dict[str, Any]]) -> None:
    plain, fields = both_ways(documents, lambda objects: objects.network_policies)
    assert plain == fields


SHAPES = [
    "{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{podSelector: {matchLabels: {app: api}}}],"
    " ports: [{port: 8080}, {port: http, protocol: TCP}]}]}",
    "{podSelector: {matchExpressions: [{key: tier, operator: In, values: [web, api]}]}, policyTypes: [Ingress,"
    " Egress], ingress: [{from: [{namespaceSelector: {matchLabels: {team: t1}}, podSelector: {}}]}], egress:"
    " [{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}}], ports: [{port: 5000, endPort: 5100}]}]}",
    "{podSelector: {}, policyTypes: [Egress], egress: [{to: [], ports: [{port: 53, protocol: UDP}]}, {}]}",
    "{podSelector: {}}",
]


@pytest.mark.parametrize("spec", SHAPES)
def test_the_plain_path_takes_the_common_shapes(spec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[NetworkPolicy | None] = []

    def noted(raw: RawObject) -> NetworkPolicy | None:
        taken.append(policies_plain.plain_network_policy(raw))
        return taken[-1]

    monkeypatch.setattr(policies, "plain_network_policy", noted)
    path = tmp_path / "policy.yaml"
    path.write_text(f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p}}\nspec: {spec}\n")
    objects = load([str(path)])
    assert taken == list(objects.network_policies) and len(taken) == 1
