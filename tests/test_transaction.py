"""Transactions (netcompile/nft/transaction.py): how each operation renders, that `full` loads to the
same table as today's script, and that `delta(OLD, NEW)` applied on a loaded OLD leaves the same table
as a full load of NEW — on every golden case and on generated clusters, each changed a little (a
Service, a port, an endpoint, a pod, a label, a policy added or removed), in both directions.

Kernel tests load into two network namespaces made for this module (deleted afterwards): one where the
deltas go, one where the full loads go. Listings are compared up to the order of the table's sets and
chains, which the kernel lists in the order they were created (a delta adds a new chain last).
"""

from __future__ import annotations

import copy
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import cache
from ipaddress import ip_address
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, note, reject, settings
from hypothesis import strategies as st

from netcompile.compile.index import ClusterError
from netcompile.compile.options import CompileOptions
from netcompile.errors import InputError
from netcompile.golden import Case, discover
from netcompile.host import nftlib
from netcompile.host.apply import in_netns, scope_problems
from netcompile.nft import fingerprint, ir
from netcompile.nft.delta import Command
from netcompile.nft.ir import Table
from netcompile.nft.render import render
from netcompile.nft.syntax import quote
from netcompile.nft.transaction import Transaction, delta, full
from netcompile.pipeline import compile_paths
from tests.conftest import ROOT
from tests.strategies import scenarios

CASES = discover(ROOT / "golden")
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")  # as tests/test_properties.py: ci, dev or long
GOLDEN_EXAMPLES = {"dev": 1, "long": 50}.get(PROFILE, 2)  # changes per golden case, each tried both ways
CLUSTER_EXAMPLES = {"dev": 5, "long": 1000}.get(PROFILE, 25)
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

Docs = list[dict[str, Any]]


def compile_docs(docs: Docs, opts: CompileOptions) -> Table:
    with TemporaryDirectory() as tmp:
        (Path(tmp) / "00-input.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
        return compile_paths([tmp], opts)[1].table


def golden_docs(case: Case) -> Docs:
    """The case's manifests as dicts, `List`s unpacked, in the order the loader reads them."""
    docs: Docs = []
    for path in sorted(case.directory.iterdir()):
        if path.suffix in (".yaml", ".yml", ".json"):
            for doc in yaml.safe_load_all(path.read_text()):
                if isinstance(doc, dict):
                    docs += doc.get("items") or [] if doc.get("kind", "").endswith("List") else [doc]
    return docs


@pytest.fixture(scope="module")
def tables() -> dict[str, tuple[Table, CompileOptions]]:
    return {case.name: (case.compile().table, case.options()) for case in CASES}


# --- rendering, one operation at a time -----------------------------------------------------------------


def one(table: Table, act: Callable[[Transaction], None]) -> str:
    tx = Transaction(table.family, table.name)
    act(tx)
    assert len(tx) == 1
    return tx.render().removeprefix("#!/usr/sbin/nft -f\n")


def test_each_operation_renders_as_nft_says(tables: dict[str, tuple[Table, CompileOptions]]) -> None:
    table = tables["svc-clusterip-ports"][0]
    t = f"{table.family} {table.name}"
    base = table.chains["nat-prerouting"]
    assert base.base is not None and base.comment
    regular = table.chains["clusterip"]
    vmap = table.sets["service-ips-v4"]
    plain = table.sets["cluster-ips-v4"]
    element = vmap.elements[0]
    commented = next(r for c in table.chains.values() for r in c.rules if r.comment)
    rule = next(r for c in table.chains.values() for r in c.rules if not r.comment)

    assert one(table, lambda tx: tx.add(table)) == f"add table {t} {{ comment {quote(table.comment or '')}; }}\n"
    assert one(table, lambda tx: tx.delete(table)) == f"delete table {t}\n"
    assert one(table, lambda tx: tx.create(base)) == (
        f"create chain {t} nat-prerouting {{\n\tcomment {quote(base.comment)}\n"
        f"\ttype nat hook prerouting priority -100; policy accept;\n}}\n"
    )
    assert one(table, lambda tx: tx.flush(regular)) == f"flush chain {t} clusterip\n"
    assert one(table, lambda tx: tx.delete(regular)) == f"delete chain {t} clusterip\n"
    assert one(table, lambda tx: tx.add_rule(regular, rule)) == f"add rule {t} clusterip {rule.text}\n"
    assert one(table, lambda tx: tx.add_rule("x", commented)) == (
        f"add rule {t} x {commented.text} comment {quote(commented.comment or '')}\n"
    )
    assert one(table, lambda tx: tx.add(vmap)) == (
        f"add map {t} service-ips-v4 {{\n\t{vmap.declaration}\n\tsize {vmap.size}\n"
        f"\tcomment {quote(vmap.comment or '')}\n"
        "\telements = {\n" + "".join(f"\t\t{e.text},\n" for e in vmap.elements) + "\t}\n}\n"
    )
    assert one(table, lambda tx: tx.add(plain, elements=False)) == (
        f"add set {t} cluster-ips-v4 {{\n\t{plain.declaration}\n\tsize {plain.size}\n"
        f"\tcomment {quote(plain.comment or '')}\n}}\n"
    )
    assert one(table, lambda tx: tx.flush(vmap)) == f"flush map {t} service-ips-v4\n"
    assert one(table, lambda tx: tx.delete(plain)) == f"delete set {t} cluster-ips-v4\n"
    assert one(table, lambda tx: tx.add_elements(vmap, [element])) == (
        f"add element {t} service-ips-v4 {{\n\t{element.text},\n}}\n"
    )
    assert one(table, lambda tx: tx.delete_elements(vmap, [element])) == (
        f"delete element {t} service-ips-v4 {{\n\t{element.key_text},\n}}\n"
    )
    assert " : goto " in element.text and " : " not in element.key_text


def test_full_is_todays_script_in_statements(tables: dict[str, tuple[Table, CompileOptions]]) -> None:
    table = tables["svc-clusterip-ports"][0]
    tx = full(table)
    text = tx.render(["a header"])
    assert text.startswith(
        f"#!/usr/sbin/nft -f\n# a header\nadd table inet {table.name}\ndelete table inet {table.name}\n"
    )
    rules = sum(len(c.rules) for c in table.chains.values())
    assert len(tx) == 3 + len(table.chains) + len(table.sets) + rules
    assert tx.items == rules + sum(len(s.elements) for s in table.sets.values())
    assert scope_problems(text, table.name) == []


def test_delta_of_identical_tables_only_checks_the_fingerprint(
    tables: dict[str, tuple[Table, CompileOptions]],
) -> None:
    for name, (table, _) in tables.items():
        again = CASES[[c.name for c in CASES].index(name)].compile().table
        tx = delta(table, again)
        assert [(c.verb, c.kind, c.name) for c in tx] == [
            ("delete", "element", fingerprint.NAME),
            ("add", "element", fingerprint.NAME),
        ], name
        assert tx.old == tx.new


def test_delta_orders_what_refers_before_what_is_referred_to(tables: dict[str, tuple[Table, CompileOptions]]) -> None:
    """A set whose declaration changes is deleted after the rules using it are flushed and re-created
    before they are added again; a chain re-created is freed of the map elements jumping to it first."""
    old = tables["svc-clusterip-ports"][0]
    new = copy.deepcopy(old)
    new.sets["service-ips-v4"].comment = "another comment"  # only by re-creating the map
    new.chains["clusterip"].comment = "another comment"  # only by re-creating the chain
    lines = [line for line in delta(old, new).render().splitlines() if not line.startswith("\t")]
    t = f"inet {old.name}"
    users = [n for n, c in old.chains.items() if any("@service-ips-v4" in r.text for r in c.rules)]
    assert users
    for user in users:
        assert lines.index(f"flush chain {t} {user}") < lines.index(f"delete map {t} service-ips-v4")
        assert lines.index(f"add map {t} service-ips-v4 {{") < lines.index(
            next(line for line in lines if line.startswith(f"add rule {t} {user} "))
        )
    jumping = [e for e in old.sets["service-ips-v4"].elements if e.value_text == "goto clusterip"]
    assert jumping  # deleted from the map (which goes anyway) before the chain goes
    assert lines.index(f"delete map {t} service-ips-v4") < lines.index(f"delete chain {t} clusterip")
    assert lines.index(f"add chain {t} clusterip {{") < lines.index(f"add map {t} service-ips-v4 {{")
    assert lines[1] == f"delete element {t} {fingerprint.NAME} {{"  # after the shebang: the check first
    assert lines[-3].startswith("add rule ") and lines[-2:] == [f"add element {t} {fingerprint.NAME} {{", "}"]


def test_delta_changes_an_element_by_deleting_and_adding_it(tables: dict[str, tuple[Table, CompileOptions]]) -> None:
    old = tables["svc-clusterip-ports"][0]
    new = copy.deepcopy(old)
    target = new.sets["service-ips-v4"]
    target.elements[0] = replace(target.elements[0], comment="renamed")
    tx = delta(old, new)
    assert [(op.verb, op.kind, op.name) for op in tx][1:-1] == [
        ("delete", "element", "service-ips-v4"),
        ("add", "element", "service-ips-v4"),
    ]
    assert tx.items == 4  # with the fingerprint's delete and add


def test_delta_updates_a_base_chain_policy_in_place(tables: dict[str, tuple[Table, CompileOptions]]) -> None:
    old = tables["policy-default-deny"][0]
    new = copy.deepcopy(old)
    chain = next(c for c in new.chains.values() if c.base is not None)
    assert chain.base is not None
    chain.base = replace(chain.base, policy=ir.Policy.DROP)
    assert [(op.verb, op.kind) for op in delta(old, new)][1:-1] == [("add", "chain")]


def test_a_table_comment_change_is_a_full_replacement(tables: dict[str, tuple[Table, CompileOptions]]) -> None:
    old = tables["basic-clusterip"][0]
    new = copy.deepcopy(old)
    new.comment = "another node"
    ops = [(op.verb, op.kind) for op in delta(old, new)]
    assert ops[:3] == [("delete", "element"), ("delete", "table"), ("add", "table")]
    rules = sum(len(c.rules) for c in new.chains.values())
    assert ops.count(("add", "rule")) == rules and ops[-1] == ("add", "element")


def test_a_set_growing_past_its_size_is_re_created(tables: dict[str, tuple[Table, CompileOptions]]) -> None:
    """The kernel holds a set to its old `size` until the transaction commits, so a set whose new
    elements do not fit its old size is re-created; one that fits gets its new size declared."""
    old = tables["svc-clusterip-ports"][0]
    new = copy.deepcopy(old)
    grown = new.sets["cluster-ips-v4"]
    size = old.sets["cluster-ips-v4"].size
    assert size is not None and size >= 2 * len(grown.elements)  # room to double
    grown.elements.append(replace(grown.elements[0], key=("10.96.7.7",), comment=None))
    ops = [(op.verb, op.kind, op.name) for op in delta(old, new)]
    assert ("add", "element", "cluster-ips-v4") in ops and ("delete", "set", "cluster-ips-v4") not in ops
    grown.elements += [replace(grown.elements[0], key=(f"10.96.8.{i}",), comment=None) for i in range(size)]
    ops = [(op.verb, op.kind, op.name) for op in delta(old, new)]
    assert ("delete", "set", "cluster-ips-v4") in ops and ("add", "set", "cluster-ips-v4") in ops


# --- on the kernel -----------------------------------------------------------------------------------------


def _netns() -> Iterator[str]:
    name = f"nctx-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


@pytest.fixture(scope="module")
def deltas_ns() -> Iterator[str]:
    yield from _netns()


@pytest.fixture(scope="module")
def full_ns() -> Iterator[str]:
    yield from _netns()


def _load_and_list(table: str, scripts: list[str]) -> list[str]:
    """In the namespace: load each script as one transaction and list the table after each."""
    listings = []
    for script in scripts:
        nftlib.run(script, dry_run=False)
        listings.append(nftlib.run(f"list table inet {table}", dry_run=False).output)
    return listings


def load_and_list(netns: str, table: str, *scripts: str) -> list[str]:
    return in_netns(netns, _load_and_list, table, list(scripts))


def canonical(listing: str) -> list[str]:
    """The table's sets, maps and chains as text, sorted by name (their order is creation order)."""
    body = listing.strip()
    assert body.endswith("\n}")
    blocks = body[:-2].split("\n\n")  # without the table's closing brace
    head, _, first = blocks[0].partition("\n")
    return [head, *sorted([first, *blocks[1:]])]


def check_both_ways(old: Table, new: Table, deltas_ns: str, full_ns: str) -> None:
    """full(OLD), then delta(OLD, NEW), lists as full(NEW) does; delta(NEW, OLD) then lists as full(OLD)."""
    forward, backward = delta(old, new), delta(new, old)
    assert len(delta(new, new)) == 2  # the fingerprint checked, and left
    at_old, after_forward, after_backward = load_and_list(
        deltas_ns, old.name, full(old).render(), forward.render(), backward.render()
    )
    (at_new,) = load_and_list(full_ns, new.name, full(new).render())
    assert canonical(after_forward) == canonical(at_new), forward.render()
    assert canonical(after_backward) == canonical(at_old), backward.render()


@pytest.mark.kernel
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_full_loads_to_the_same_table_as_todays_script(case: Case, deltas_ns: str, full_ns: str) -> None:
    output = case.compile()
    table = output.table
    (todays,) = load_and_list(full_ns, table.name, output.text)
    (ours,) = load_and_list(deltas_ns, table.name, full(table).render())
    assert ours == todays
    assert render(table, []) != full(table).render()  # two different texts, one table


@pytest.mark.kernel
def test_a_full_replacement_delta_lists_as_a_full_load(
    tables: dict[str, tuple[Table, CompileOptions]], deltas_ns: str, full_ns: str
) -> None:
    """A table comment that changes (another node, another netcompile version) makes the delta the whole
    table again, after the check of OLD's fingerprint."""
    old = tables["svc-clusterip-ports"][0]
    new = copy.deepcopy(old)
    new.comment = "another node"
    check_both_ways(old, new, deltas_ns, full_ns)


@pytest.mark.kernel
def test_why_typeof_maps_with_th_are_re_created(
    tables: dict[str, tuple[Table, CompileOptions]], deltas_ns: str
) -> None:
    """nft 1.0.6 refuses a rule that refers to an existing `typeof` map whose value names `th` ("conflicting
    protocols specified"), so `delta` re-creates such a map with the rule. When this test fails, nft has
    lost the bug: `transaction._unreferable` can go."""
    table = tables["svc-clusterip-ports"][0]
    chain = next(c for c in table.chains.values() if any("@service-endpoints-" in r.text for r in c.rules))
    rule = next(r for r in chain.rules if "@service-endpoints-" in r.text)
    assert " th " in f"{table.sets[rule.text.split('@')[1]].value} "
    tx = Transaction(table.family, table.name)
    tx.add_rule(chain, rule)
    with pytest.raises(nftlib.NftRejected, match="conflicting protocols"):
        load_and_list(deltas_ns, table.name, full(table).render(), tx.render())


# --- small changes to a cluster -----------------------------------------------------------------------------


def _free_address(used: set[str], near: str, start: int = 100) -> str:
    base = ip_address(near)
    for step in range(start, start + 1000):
        candidate = str(base + step)
        if candidate not in used:
            return candidate
    raise AssertionError("no free address")


def _addresses(docs: Docs) -> set[str]:
    return {str(ip_address(w)) for w in yaml.safe_dump_all(docs).replace(",", " ").split() if _is_ip(w)}


def _is_ip(word: str) -> bool:
    try:
        ip_address(word.strip("'\"[]{}"))
    except ValueError:
        return False
    return True


def _of(docs: Docs, kind: str) -> list[int]:
    return [i for i, d in enumerate(docs) if d.get("kind") == kind]


@st.composite
def changes(draw: st.DrawFn, docs: Docs) -> tuple[str, Docs]:
    """One small change to `docs`: a Service, a Service port, an endpoint, a pod, a label or a policy
    added or removed (the test also applies it backwards, so each is both)."""
    docs = copy.deepcopy(docs)
    services, pods, policies = _of(docs, "Service"), _of(docs, "Pod"), _of(docs, "NetworkPolicy")
    slices = [i for i in _of(docs, "EndpointSlice") if docs[i].get("endpoints")]
    running = [i for i in pods if docs[i].get("status", {}).get("podIP")]
    kinds = ["add-service", "add-policy"]
    kinds += ["remove-service", "add-port"] if services else []
    kinds += ["remove-port"] if any(len(docs[i]["spec"].get("ports") or []) > 1 for i in services) else []
    kinds += ["remove-pod", "label", "readiness"] if pods else []
    kinds += ["add-pod"] if running else []
    kinds += ["remove-endpoint"] if slices else []
    kinds += ["remove-policy"] if policies else []
    kind = draw(st.sampled_from(kinds))
    if kind == "add-service":
        cluster_ips = [d["spec"]["clusterIP"] for d in docs if d.get("kind") == "Service" and "clusterIP" in d["spec"]]
        near = next((ip for ip in cluster_ips if ip != "None"), "10.96.0.10")
        pod = docs[draw(st.sampled_from(pods))] if pods else {"metadata": {}}
        labels = pod["metadata"].get("labels") or {"app": "web"}
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "added-svc", "namespace": pod["metadata"].get("namespace", "default")},
                "spec": {
                    "clusterIP": _free_address(_addresses(docs), near),
                    "selector": labels,
                    "ports": [{"name": "added", "protocol": "TCP", "port": 8765, "targetPort": 8080}],
                },
            }
        )
    elif kind == "remove-service":
        gone = docs.pop(draw(st.sampled_from(services)))
        name = gone["metadata"]["name"]
        docs = [
            d for d in docs if d.get("kind") not in ("Endpoints", "EndpointSlice") or name not in str(d["metadata"])
        ]
    elif kind == "add-port":
        spec = docs[draw(st.sampled_from(services))]["spec"]
        ports = spec.setdefault("ports", [])
        for j, port in enumerate(ports):
            port.setdefault("name", f"p{j}")
        ports.append({"name": "added", "protocol": "TCP", "port": 8765, "targetPort": 8080})
    elif kind == "remove-port":
        spec = docs[draw(st.sampled_from([i for i in services if len(docs[i]["spec"].get("ports") or []) > 1]))]["spec"]
        spec["ports"].pop(draw(st.integers(0, len(spec["ports"]) - 1)))
    elif kind == "remove-pod":
        docs.pop(draw(st.sampled_from(pods)))
    elif kind == "add-pod":  # another endpoint like an existing one
        pod = copy.deepcopy(docs[draw(st.sampled_from(running))])
        pod["metadata"]["name"] += "-added"
        used = _addresses(docs)
        status = pod["status"]
        ips = [_free_address(used, p["ip"], 1) for p in status.get("podIPs") or [{"ip": status["podIP"]}]]
        status["podIP"], status["podIPs"] = ips[0], [{"ip": ip} for ip in ips]
        docs.append(pod)
    elif kind == "label":
        meta = docs[draw(st.sampled_from(pods))]["metadata"]
        labels = meta.setdefault("labels", {})
        value = draw(st.sampled_from(["web", "db", "api", None]))
        if value is None or labels.get("app") == value:
            labels.pop("app", None)
        else:
            labels["app"] = value
    elif kind == "readiness":
        status = docs[draw(st.sampled_from(pods))].setdefault("status", {})
        conditions = status.setdefault("conditions", [])
        ready = next((c for c in conditions if c.get("type") == "Ready"), None)
        if ready is None:
            conditions.append({"type": "Ready", "status": "False"})
        else:
            ready["status"] = "False" if ready["status"] == "True" else "True"
    elif kind == "remove-endpoint":
        endpoints = docs[draw(st.sampled_from(slices))]["endpoints"]
        endpoints.pop(draw(st.integers(0, len(endpoints) - 1)))
    elif kind == "add-policy":
        pod = docs[draw(st.sampled_from(pods))] if pods else {"metadata": {}}
        selector = {"matchLabels": pod["metadata"]["labels"]} if pod["metadata"].get("labels") else {}
        docs.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": "added-policy", "namespace": pod["metadata"].get("namespace", "default")},
                "spec": {
                    "podSelector": selector,
                    "ingress": [{"from": [{"podSelector": {}}], "ports": [{"protocol": "TCP", "port": 80}]}],
                },
            }
        )
    else:
        docs.pop(draw(st.sampled_from(policies)))
    return kind, docs


def changed(docs: Docs, draw: st.DataObject, opts: CompileOptions) -> tuple[Table, Table]:
    old = compile_docs(docs, opts)
    kind, new_docs = draw.draw(changes(docs), label="change")
    try:
        new = compile_docs(new_docs, opts)
    except (InputError, ClusterError):  # a change the API server would refuse: not this test's business
        reject()
    note(f"{kind}: {len(delta(old, new))} statements")
    return old, new


@pytest.mark.kernel
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@settings(SETTINGS, max_examples=GOLDEN_EXAMPLES)
@given(data=st.data())
def test_delta_on_golden_cases(case: Case, data: st.DataObject, deltas_ns: str, full_ns: str) -> None:
    old, new = changed(golden_docs(case), data, case.options())
    check_both_ways(old, new, deltas_ns, full_ns)


@pytest.mark.kernel
@settings(SETTINGS, max_examples=CLUSTER_EXAMPLES)
@given(data=st.data())
def test_delta_on_generated_clusters(data: st.DataObject, deltas_ns: str, full_ns: str) -> None:
    scenario = data.draw(scenarios(max_packets=1), label="cluster")
    old, new = changed(scenario.docs, data, CompileOptions(node="node-a"))
    check_both_ways(old, new, deltas_ns, full_ns)


# --- the size of a delta does not grow with the cluster -----------------------------------------------------


def services(count: int) -> Docs:
    """`count` Services, each with one port and one ready pod behind it, on one node."""
    docs: Docs = [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "node-a"},
            "spec": {"podCIDR": "10.244.0.0/16"},
            "status": {"addresses": [{"type": "InternalIP", "address": "192.168.0.1"}]},
        }
    ]
    for i in range(count):
        pod_ip, cluster_ip = f"10.244.{i // 250}.{i % 250 + 1}", f"10.96.{i // 250}.{i % 250 + 1}"
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"pod-{i}", "labels": {"app": f"app-{i}"}},
                "spec": {"nodeName": "node-a", "containers": [{"name": "c", "ports": [{"containerPort": 8080}]}]},
                "status": {"phase": "Running", "podIP": pod_ip, "conditions": [{"type": "Ready", "status": "True"}]},
            }
        )
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": f"svc-{i}"},
                "spec": {
                    "clusterIP": cluster_ip,
                    "selector": {"app": f"app-{i}"},
                    "ports": [{"port": 80, "targetPort": 8080}],
                },
            }
        )
    return docs


@cache
def adding_one_service(count: int) -> tuple[Table, Table]:
    docs = services(count + 1)
    return compile_docs(docs[:-2], CompileOptions()), compile_docs(docs, CompileOptions())


def test_adding_a_service_is_a_delta_of_constant_size() -> None:
    """Sets leave room to double (`Set.size`), so adding a Service adds elements in place: the same
    commands, carrying as many elements, at 10 and at 1000 Services; nothing is re-created."""
    small, large = (delta(*adding_one_service(n)) for n in (10, 1000))
    assert (len(small), small.items) == (len(large), large.items)
    assert [(op.verb, op.kind, op.name) for op in small] == [(op.verb, op.kind, op.name) for op in large]
    assert not any(op.verb == "delete" and op.kind in ("set", "map", "chain") for op in large)
    assert all(isinstance(op, Command) for op in large)


@pytest.mark.kernel
def test_a_constant_size_delta_applies(deltas_ns: str, full_ns: str) -> None:
    check_both_ways(*adding_one_service(1000), deltas_ns, full_ns)
