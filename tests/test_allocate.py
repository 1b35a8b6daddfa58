"""Allocation is deterministic and stable (complete/allocate.py, issue 15.3).

What is guaranteed, exactly: an identity whose first choice is neither taken (reserved or given) nor any
other identity's first choice gets its first choice. So adding, removing or changing one object moves
another only when that other one's first choice is contested in the input before or after the change,
and a contested one is reported (a notice naming it). The properties below check exactly that, for the
allocator alone and for whole generated repositories through `complete()`.
"""

from __future__ import annotations

import json
import tempfile
from ipaddress import ip_network
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netcompile.complete import CompleteOptions, complete
from netcompile.complete.allocate import allocate, choice
from netcompile.load.manifests import load
from netcompile.model import Objects

NAMES = st.text("abcdefgh", min_size=1, max_size=3)


def test_deterministic_and_independent_of_order() -> None:
    ids = [f"Service/ns/s{i}" for i in range(200)]
    one = allocate(256, {0, 1, 255}, ids)
    assert one == allocate(256, {0, 1, 255}, list(reversed(ids)))
    assert len(set(one.slots.values())) == 200 and not {0, 1, 255} & set(one.slots.values())


def test_the_pool_running_out_leaves_the_largest_identities_without() -> None:
    result = allocate(4, {0}, ["a", "b", "c", "d", "e"])
    assert len(result.slots) == 3 and sorted(result.slots.values()) == [1, 2, 3]


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(8, 64),
    taken=st.sets(st.integers(0, 63), max_size=4),
    others=st.sets(NAMES, max_size=12),
    old=st.none() | NAMES,
    new=st.none() | NAMES,
    old_taken=st.none() | st.integers(0, 63),
)
def test_one_change_moves_only_contested_identities(
    size: int, taken: set[int], others: set[str], old: str | None, new: str | None, old_taken: int | None
) -> None:
    """Before: `others` and `old`; after: `others` and `new` (None: absent), and a given value that
    appears or disappears (`old_taken`)."""
    others -= {old, new}
    taken = {t for t in taken if t < size}
    if len(others) + 2 + len(taken) + 1 > size:
        return
    before_taken = taken | ({old_taken % size} if old_taken is not None else set())
    before = allocate(size, before_taken, others | ({old} if old else set()))
    after = allocate(size, taken, others | ({new} if new else set()))
    for identity in others:
        if identity not in before.contested:
            assert before.slots[identity] == choice(identity, 0, size)
        if identity not in after.contested:
            assert after.slots[identity] == choice(identity, 0, size)
        if before.slots[identity] != after.slots[identity]:
            assert identity in before.contested or identity in after.contested


# --- whole repositories through complete() -------------------------------------------------------------


def deployment(name: str, replicas: int, app: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": app}},
            "template": {
                "metadata": {"labels": {"app": app}},
                "spec": {"containers": [{"name": "c", "image": "x", "ports": [{"name": "http", "containerPort": 80}]}]},
            },
        },
    }


SERVICE_TYPES = st.sampled_from(["ClusterIP", "NodePort", "LoadBalancer"])
LOAD_BALANCER_POOL = ip_network("172.18.255.0/28")  # small: ingress IPs collide often enough to be tested


def service(name: str, type_: str, port: int) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"app": name}, "ports": [{"port": port, "targetPort": "http"}]}
    if type_ != "ClusterIP":
        spec["type"] = type_
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "shop"}, "spec": spec}


def pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "labels": {"app": name}},
        "spec": {"containers": [{"name": "c", "image": "x"}]},
    }


@st.composite
def repository(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    """Objects by key (kind/name): Deployments, Services, bare Pods."""
    out: dict[str, dict[str, Any]] = {}
    for i in range(draw(st.integers(0, 6))):
        out[f"Deployment/d{i}"] = deployment(f"d{i}", draw(st.integers(0, 12)), f"d{i}")
    for i in range(draw(st.integers(0, 6))):
        out[f"Service/s{i}"] = service(f"s{i}", draw(SERVICE_TYPES), draw(st.sampled_from([80, 443])))
    for i in range(draw(st.integers(0, 4))):
        out[f"Pod/p{i}"] = pod(f"p{i}")
    return out


@st.composite
def changed(draw: st.DrawFn, repo: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any] | None]:
    """One object added, removed or changed: its key and its new value (None: removed)."""
    keys = sorted(repo)
    what = draw(st.sampled_from(["add", "remove", "change"] if keys else ["add"]))
    if what == "remove":
        return draw(st.sampled_from(keys)), None
    if what == "add":
        kind = draw(st.sampled_from(["Deployment", "Service", "Pod"]))
        name = f"new{kind[0].lower()}"
        if kind == "Deployment":
            return f"{kind}/{name}", deployment(name, draw(st.integers(0, 12)), name)
        if kind == "Service":
            return f"{kind}/{name}", service(name, draw(SERVICE_TYPES), 80)
        return f"{kind}/{name}", pod(name)
    key = draw(st.sampled_from(keys))
    kind, name = key.split("/")
    if kind == "Deployment":
        return key, deployment(name, draw(st.integers(0, 12)), draw(st.sampled_from([name, "other"])))
    if kind == "Service":
        return key, service(name, draw(SERVICE_TYPES), draw(st.sampled_from([8080, 9090])))
    return key, pod(name) | {"spec": {"hostNetwork": True, "containers": [{"name": "c", "image": "x"}]}}


def completed(repo: dict[str, dict[str, Any]]) -> Objects:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "repo.yaml"
        path.write_text("\n---\n".join(json.dumps(doc) for doc in repo.values()) + "\n")
        options = CompleteOptions(nodes=2, simulate=True, load_balancer_cidrs=(LOAD_BALANCER_POOL,))
        return complete(load([str(path)]), options)


INGRESS = ": load-balancer ingress IP"  # how a notice names a Service's ingress IP, and its key here


def addresses(objects: Objects) -> dict[str, object]:
    """What was allocated, by what notices call it: pod IPs, clusterIPs, nodePorts, load-balancer IPs."""
    out: dict[str, object] = {p.meta.ref: p.ips for p in objects.pods if not p.host_network}
    for s in objects.services:
        out[s.meta.ref] = s.cluster_ips
        out[s.meta.ref + INGRESS] = s.load_balancer_ingress
        for port in s.ports:
            out[f'Service "{s.meta.key}/{port.protocol}/{port.port}"'] = port.node_port
    return out


def owner(ref: str) -> str:
    """The object of the repository a pod or port belongs to: `Deployment/d1`, `Service/s0`, `Pod/p1`."""
    kind, _, rest = ref.removesuffix(INGRESS).partition(' "')
    name = rest.rstrip('"').split("/")[1]
    if kind == "Pod" and name.startswith("d") and "-" in name:
        return f"Deployment/{name.split('-')[0]}"
    return f"{kind}/{name}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_changing_one_object_moves_nothing_else_but_reported_collisions(data: st.DataObject) -> None:
    repo = data.draw(repository())
    key, value = data.draw(changed(repo))
    after_repo = dict(repo)
    if value is None:
        after_repo.pop(key, None)
    else:
        after_repo[key] = value
    before, after = completed(repo), completed(after_repo)
    old, new = addresses(before), addresses(after)
    reported = " ".join(before.notices + after.notices)
    for ref in old.keys() & new.keys():
        if owner(ref) == key or old[ref] == new[ref]:
            continue
        assert ref in reported, (ref, old[ref], new[ref], key)
