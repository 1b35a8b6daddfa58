"""NetworkPolicy compilation (issue 5, docs/semantics.md §3): the compiled layout, point by point.

Unit tests read the IR (`Output.table`) and the rendered text; the golden cases `golden/policy-*` pin
the whole output and load in libnftables, and are checked packet by packet against the reference
evaluator (tests/test_golden.py, with every other golden case).
"""

from __future__ import annotations

import re
import tempfile
import textwrap
from ipaddress import ip_address
from pathlib import Path

import pytest

from netcompile.compile.compiler import CompileOptions, Output
from netcompile.compile.index import Cluster
from netcompile.compile.ports import merge_ranges
from netcompile.golden import discover
from netcompile.load.manifests import load
from netcompile.model import Protocol
from netcompile.nft.names import chain_name
from netcompile.nft.types import Hook
from netcompile.pipeline import compile_paths, complete
from netcompile.verify.packet import Origin, Packet
from tests.conftest import ROOT, CompileYaml

# --- helpers -------------------------------------------------------------------------------------------


def pod(name: str, ip: str, labels: str = "{}", ns: str = "default", extra: str = "", ports: str = "[]") -> str:
    """A running pod as YAML; `ip` may be "a,b" for dual stack, "" for none (hostNetwork pods)."""
    ips = ", ".join(f"{{ip: '{a}'}}" for a in ip.split(",") if a)
    status = f"{{phase: Running, podIPs: [{ips}]}}" if ips else "{phase: Running}"
    return textwrap.dedent(
        f"""\
        apiVersion: v1
        kind: Pod
        metadata: {{name: {name}, namespace: {ns}, labels: {labels}}}
        spec: {{{extra}containers: [{{name: c, image: x, ports: {ports}}}]}}
        status: {status}
        ---
        """
    )


def policy(name: str, spec: str, ns: str = "default") -> str:
    return (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        f"metadata: {{name: {name}, namespace: {ns}}}\nspec:\n" + textwrap.indent(textwrap.dedent(spec), "  ") + "---\n"
    )


def namespace(name: str, labels: str) -> str:
    return f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {labels}}}\n---\n"


def rules(out: Output, chain: str) -> list[str]:
    return [r.text for r in out.table.chains[chain].rules]


def comments(out: Output, chain: str) -> list[str | None]:
    return [r.comment for r in out.table.chains[chain].rules]


def elements(out: Output, name: str) -> list[str]:
    return [e.key_text for e in out.table.sets[name].elements]


def vmap(out: Output, direction: str, family: str = "v4") -> dict[str, str]:
    """Pod address -> chain, from `<direction>-isolated-<family>`."""
    return {
        e.key_text: e.value_text.removeprefix("goto ")
        for e in out.table.sets[f"{direction}-isolated-{family}"].elements
    }


def set_of(out: Output, rule: str) -> str:
    """The first `@set` a rule refers to."""
    return rule.split("@", 1)[1].split()[0]


def lookups(out: Output, chain: str) -> dict[str, str]:
    """The sets a pod group's chain looks up, by kind and family (`allow-v4`, `any-v6`, `named-v4`)."""
    found = {}
    for rule in rules(out, chain):
        if "@" in rule:
            name = set_of(out, rule)
            _, kind, _, fam = name.split("-")
            found[f"{kind}-{fam}"] = name
    return found


def allowed(out: Output, direction: str, pod_ip: str, kind: str = "allow", fam: str = "v4") -> list[str]:
    """The elements of the `kind` set that the chain of the pod at `pod_ip` looks up ([] if none)."""
    chain = vmap(out, direction, "v6" if ":" in pod_ip else "v4")[pod_ip]
    name = lookups(out, chain).get(f"{kind}-{fam}")
    return [] if name is None else elements(out, name)


def labelled(out: Output, direction: str, pod_ip: str, kind: str = "allow", fam: str = "v4") -> dict[str, list[str]]:
    """Rule label (`ns/name ingress[0] from[1]`) -> the keys it allows, from the element comments (an
    element allowed by several rules names them all)."""
    chain = vmap(out, direction, "v6" if ":" in pod_ip else "v4")[pod_ip]
    name = lookups(out, chain).get(f"{kind}-{fam}")
    found: dict[str, list[str]] = {}
    for element in out.table.sets[name].elements if name else ():
        assert element.comment
        for label in element.comment.split(", "):
            found.setdefault(label, []).append(element.key_text)
    return found


# --- 1. isolation per direction ----------------------------------------------------------------------


def test_isolation_is_per_direction(compile_yaml: CompileYaml) -> None:
    _, out = compile_yaml(
        pod("web", "10.0.0.1", "{app: web}")
        + pod("db", "10.0.0.2", "{app: db}")
        + pod("free", "10.0.0.3", "{app: free}")
        + policy("web-in", "podSelector: {matchLabels: {app: web}}\n")
        + policy("db-out", "podSelector: {matchLabels: {app: db}}\npolicyTypes: [Egress]\n")
    )
    assert set(vmap(out, "ingress")) == {"10.0.0.1"}
    assert set(vmap(out, "egress")) == {"10.0.0.2"}
    for direction in ("ingress", "egress"):
        chain = next(iter(vmap(out, direction).values()))
        assert rules(out, chain) == ["drop"]  # selected, no rules: nothing allowed
    assert "10.0.0.3" not in out.text


def test_no_policies_leaves_everything_open(compile_yaml: CompileYaml) -> None:
    _, out = compile_yaml(pod("web", "10.0.0.1"))
    assert vmap(out, "ingress") == vmap(out, "egress") == {}
    assert [c for c in out.table.chains if c.startswith(("ingress", "egress"))] == []


def test_base_chains_are_forward_filter_after_dnat(compile_yaml: CompileYaml) -> None:
    _, out = compile_yaml(pod("web", "10.0.0.1"))
    filters = {c.name: c.base for c in out.table.base_chains if c.base and c.base.type == "filter"}
    assert set(filters) == {"filter-forward-egress", "filter-forward-ingress"}
    for base in filters.values():
        assert base.hook == Hook.FORWARD  # never output/input: the node's own traffic is exempt
        assert base.policy == "accept"
        assert base.priority_value > -100  # after dstnat
    assert filters["filter-forward-egress"].priority_value < filters["filter-forward-ingress"].priority_value


# --- 6. stateful ---------------------------------------------------------------------------------------


def test_stateful_rules_come_first(compile_yaml: CompileYaml) -> None:
    _, out = compile_yaml(pod("web", "10.0.0.1"))
    for chain in ("filter-forward-egress", "filter-forward-ingress"):
        assert rules(out, chain)[:2] == ["ct state established,related accept", "ct state invalid drop"]
    assert rules(out, "filter-forward-ingress")[2:] == [
        "ip daddr vmap @ingress-isolated-v4",
        "ip6 daddr vmap @ingress-isolated-v6",
    ]
    assert rules(out, "filter-forward-egress")[2:] == [
        "ip saddr vmap @egress-isolated-v4",
        "ip6 saddr vmap @egress-isolated-v6",
    ]


# --- 2. union, and chain sharing ----------------------------------------------------------------------


UNION = (
    pod("a", "10.0.0.1", "{app: web, role: x}")
    + pod("b", "10.0.0.2", "{app: web, role: x}")
    + pod("c", "10.0.0.3", "{app: web, role: y}")
    + pod("client", "10.0.0.9", "{app: client}")
    + policy("p1", "podSelector: {matchLabels: {app: web}}\ningress:\n- ports: [{port: 80}]\n")
    + policy(
        "p2",
        "podSelector: {matchLabels: {role: x}}\ningress:\n- from: [{podSelector: {matchLabels: {app: client}}}]\n",
    )
)


def test_union_of_selecting_policies_and_shared_chains(compile_yaml: CompileYaml) -> None:
    _, out = compile_yaml(UNION)
    chains = vmap(out, "ingress")
    assert chains["10.0.0.1"] == chains["10.0.0.2"] != chains["10.0.0.3"]
    both, p1 = lookups(out, chains["10.0.0.1"]), lookups(out, chains["10.0.0.3"])
    assert rules(out, chains["10.0.0.1"]) == [
        f"ip saddr . meta l4proto . th dport @{both['allow-v4']} accept",
        f"ip saddr @{both['any-v4']} accept",
        "drop",
    ]
    assert rules(out, chains["10.0.0.3"]) == [f"ip saddr . meta l4proto . th dport @{p1['allow-v4']} accept", "drop"]
    assert both["allow-v4"] == p1["allow-v4"]  # only p1 has ports: one set for both groups
    assert labelled(out, "ingress", "10.0.0.1") == {"default/p1 ingress[0]": ["0.0.0.0/0 . tcp . 80"]}
    assert labelled(out, "ingress", "10.0.0.1", "any") == {"default/p2 ingress[0] from[0]": ["10.0.0.9"]}
    assert out.table.chains[chains["10.0.0.1"]].comment == "ingress of 2 pods isolated by default/p1, default/p2"


def test_a_packet_costs_the_same_lookups_whatever_the_number_of_policies(compile_yaml: CompileYaml) -> None:
    """The chain of a pod selected by 1 or by 40 policies holds the same lookups: the rules of the policies
    are elements of its sets, not rules of its chain."""

    def chain_rules(count: int) -> list[str]:
        text = pod("web", "10.0.0.1", "{app: web}") + pod("c", "10.0.0.2", "{app: c}")
        for q in range(count):
            text += policy(
                f"q{q}",
                f"podSelector: {{matchLabels: {{app: web}}}}\ningress:\n"
                f"- from: [{{podSelector: {{matchLabels: {{app: c}}}}}}]\n  ports: [{{port: {1000 + q}}}]\n"
                "- from: [{ipBlock: {cidr: 192.168.0.0/16}}]\n",
            )
        _, out = compile_yaml(text)
        chain = vmap(out, "ingress")["10.0.0.1"]
        return [re.sub(r"@\S+", "@SET", r) for r in rules(out, chain)]

    assert (
        chain_rules(1)
        == chain_rules(40)
        == [
            "ip saddr . meta l4proto . th dport @SET accept",
            "ip saddr @SET accept",
            "drop",
        ]
    )


def test_order_of_policies_and_pods_does_not_matter(compile_yaml: CompileYaml) -> None:
    documents = UNION.split("---\n")[:-1]
    _, forward = compile_yaml("---\n".join(documents))
    _, backward = compile_yaml("---\n".join(reversed(documents)))
    assert forward.text == backward.text


def test_policies_of_other_namespaces_do_not_select(compile_yaml: CompileYaml) -> None:
    _, out = compile_yaml(pod("web", "10.0.0.1", "{app: web}", ns="a") + policy("deny", "podSelector: {}\n", ns="b"))
    assert vmap(out, "ingress") == {}


# --- 3. policyTypes ------------------------------------------------------------------------------------


def test_policy_types_defaulted_and_explicit(compile_yaml: CompileYaml) -> None:
    _, out = compile_yaml(
        pod("a", "10.0.0.1", "{app: a}")
        + pod("b", "10.0.0.2", "{app: b}")
        + pod("c", "10.0.0.3", "{app: c}")
        + pod("d", "10.0.0.4", "{app: d}")
        + policy("both", "podSelector: {matchLabels: {app: a}}\negress:\n- ports: [{port: 53, protocol: UDP}]\n")
        + policy("empty-egress", "podSelector: {matchLabels: {app: b}}\ningress: [{}]\negress: []\n")
        + policy(
            "ingress-only",
            "podSelector: {matchLabels: {app: c}}\npolicyTypes: [Ingress]\negress:\n- ports: [{port: 1}]\n",
        )
        + policy("egress-only", "podSelector: {matchLabels: {app: d}}\npolicyTypes: [Egress]\ningress: [{}]\n")
    )
    assert set(vmap(out, "ingress")) == {"10.0.0.1", "10.0.0.2", "10.0.0.3"}
    assert set(vmap(out, "egress")) == {"10.0.0.1", "10.0.0.4"}
    assert allowed(out, "egress", "10.0.0.1") == ["0.0.0.0/0 . udp . 53"]
    assert "tcp . 1 " not in out.text + " "  # ingress-only: its egress section is ignored
    assert rules(out, vmap(out, "egress")["10.0.0.4"]) == ["drop"]  # egress-only: its ingress section too
    assert rules(out, vmap(out, "ingress")["10.0.0.3"]) == ["drop"]
    assert allowed(out, "ingress", "10.0.0.2", "any") == ["0.0.0.0/0"]


# --- 4. peers ------------------------------------------------------------------------------------------


PEERS = (
    namespace("prod", "{env: prod}")
    + namespace("dev", "{env: dev}")
    + pod("api", "10.0.0.1", "{app: api}", ns="prod")
    + pod("fe", "10.0.0.2", "{app: fe, tier: web}", ns="prod")
    + pod("fe", "10.0.1.2", "{app: fe, tier: web}", ns="dev")
    + pod("tool", "10.0.1.3", "{app: tool, legacy: 'yes'}", ns="dev")
    + pod("batch", "10.0.2.4", "{app: batch}", ns="jobs")
)


def peer_addresses(out: Output, pod_ip: str, key: str) -> list[list[str]]:
    """For each peer of a policy's first ingress rule (no ports): the addresses it allows on every port."""
    found = labelled(out, "ingress", pod_ip, "any")
    return [found.get(f"{key} ingress[0] from[{index}]", []) for index in range(len(found))]


def test_selector_peers(compile_yaml: CompileYaml) -> None:
    _, out = compile_yaml(
        PEERS
        + policy(
            "peers",
            """\
            podSelector: {matchLabels: {app: api}}
            ingress:
            - from:
              - podSelector: {matchLabels: {app: fe}}
              - namespaceSelector: {matchLabels: {env: dev}}
              - namespaceSelector: {matchLabels: {env: dev}}
                podSelector: {matchLabels: {tier: web}}
              - namespaceSelector: {}
                podSelector: {matchLabels: {app: batch}}
              - podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [api]}]}
              - namespaceSelector: {matchExpressions: [{key: env, operator: Exists}]}
                podSelector: {matchExpressions: [{key: legacy, operator: DoesNotExist},
                                                  {key: app, operator: In, values: [fe, api]}]}
              - namespaceSelector: {}
            """,
            ns="prod",
        )
    )
    assert peer_addresses(out, "10.0.0.1", "prod/peers") == [
        ["10.0.0.2"],  # podSelector: the policy's namespace only
        ["10.0.1.2", "10.0.1.3"],  # namespaceSelector: every pod there
        ["10.0.1.2"],  # both: pods matching in namespaces matching
        ["10.0.2.4"],  # {} namespaces: every namespace, also undeclared ones
        ["10.0.0.2"],  # NotIn
        ["10.0.0.1", "10.0.0.2", "10.0.1.2"],  # Exists / DoesNotExist / In
        ["10.0.0.1", "10.0.0.2", "10.0.1.2", "10.0.1.3", "10.0.2.4"],  # {}: every pod of every namespace
    ]
    # overlapping peers are one element naming every rule that allows it
    (element,) = [
        e
        for e in out.table.sets[lookups(out, vmap(out, "ingress")["10.0.0.1"])["any-v4"]].elements
        if e.key_text == "10.0.2.4"
    ]
    assert element.comment == "prod/peers ingress[0] from[3], prod/peers ingress[0] from[6]"


def test_empty_from_and_empty_rule_allow_every_source(compile_yaml: CompileYaml) -> None:
    _, out = compile_yaml(
        PEERS
        + policy("empty-from", "podSelector: {}\ningress:\n- from: []\n  ports: [{port: 80}]\n", ns="prod")
        + policy("empty-rule", "podSelector: {}\ningress:\n- {}\n", ns="dev")
    )
    assert labelled(out, "ingress", "10.0.0.1") == {"prod/empty-from ingress[0]": ["0.0.0.0/0 . tcp . 80"]}
    assert labelled(out, "ingress", "10.0.1.2", "any") == {"dev/empty-rule ingress[0]": ["0.0.0.0/0"]}


def test_only_running_pods_with_addresses_are_peers(compile_yaml: CompileYaml) -> None:
    pending = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default, labels: {app: c}}\n"
        "spec: {containers: [{name: c, image: x}]}\nstatus: {phase: Pending}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: done, namespace: default, labels: {app: c}}\n"
        "spec: {containers: [{name: c, image: x}]}\nstatus: {phase: Succeeded, podIP: 10.0.0.7}\n---\n"
    )
    _, out = compile_yaml(
        pod("web", "10.0.0.1", "{app: web}")
        + pod("c", "10.0.0.2", "{app: c}")
        + pending
        + policy(
            "p", "podSelector: {matchLabels: {app: web}}\ningress:\n- from: [{podSelector: {matchLabels: {app: c}}}]\n"
        )
    )
    assert peer_addresses(out, "10.0.0.1", "default/p") == [["10.0.0.2"]]


def test_ip_block_with_except_v4_and_v6(compile_yaml: CompileYaml) -> None:
    _, out = compile_yaml(
        pod("gw", "10.0.0.1,fd00::1", "{app: gw}")
        + policy(
            "blocks",
            """\
            podSelector: {}
            policyTypes: [Ingress, Egress]
            ingress:
            - from:
              - ipBlock: {cidr: 192.168.0.0/16, except: [192.168.1.0/24, 192.168.2.0/24]}
              - ipBlock: {cidr: "2001:db8::/32", except: ["2001:db8:1::/48"]}
            egress:
            - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}}]
              ports: [{port: 443}]
            """,
        )
    )
    # the excepts cut the CIDR into ranges (a prefix where one fits)
    assert allowed(out, "ingress", "10.0.0.1", "any") == ["192.168.0.0/24", "192.168.3.0-192.168.255.255"]
    assert allowed(out, "ingress", "10.0.0.1", "any", "v6") == [
        "2001:db8::/48",
        "2001:db8:2::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
    ]
    assert allowed(out, "egress", "10.0.0.1") == [
        "0.0.0.0-169.254.169.253 . tcp . 443",
        "169.254.169.255-255.255.255.255 . tcp . 443",
    ]
    assert allowed(out, "egress", "10.0.0.1", "allow", "v6") == []  # an IPv4 block allows no IPv6 peer
    # dual stack: both addresses lead to the same chain
    assert list(vmap(out, "ingress", "v6").values()) == list(vmap(out, "ingress", "v4").values()) != []


def test_families_without_protected_addresses_get_no_rules(compile_yaml: CompileYaml) -> None:
    _, out = compile_yaml(
        pod("web", "10.0.0.1", "{app: web}")
        + pod("c", "fd00::2", "{app: c}")
        + pod("c4", "10.0.0.3", "{app: c}")
        + policy(
            "p",
            "podSelector: {matchLabels: {app: web}}\ningress:\n- from:\n"
            "  - podSelector: {matchLabels: {app: c}}\n  - ipBlock: {cidr: 'fd00::/8'}\n",
        )
    )
    # web has only an IPv4 address: IPv6 sources can never reach this chain
    chain = vmap(out, "ingress")["10.0.0.1"]
    assert list(lookups(out, chain)) == ["any-v4"]
    assert allowed(out, "ingress", "10.0.0.1", "any") == ["10.0.0.3"]


# --- 5. ports ------------------------------------------------------------------------------------------


def test_port_forms(compile_yaml: CompileYaml) -> None:
    _, out = compile_yaml(
        pod("s", "10.0.0.1", "{app: s}")
        + pod("t", "10.0.0.2", "{app: t}")
        + pod("u", "10.0.0.3", "{app: u}")
        + policy(
            "ports",
            """\
            podSelector: {matchLabels: {app: s}}
            ingress:
            - ports:
              - {port: 80}
              - {port: 8000, endPort: 8100}
              - {port: 8050, endPort: 8200}
              - {port: 8201}
              - {port: 53, protocol: UDP}
              - {port: 9000, endPort: 9010, protocol: SCTP}
            """,
        )
        + policy("whole", "podSelector: {matchLabels: {app: t}}\ningress:\n- ports: [{protocol: UDP}]\n- ports: [{}]\n")
        + policy("none", "podSelector: {matchLabels: {app: u}}\ningress:\n- {}\n")
    )
    assert allowed(out, "ingress", "10.0.0.1") == [
        "0.0.0.0/0 . tcp . 80",
        "0.0.0.0/0 . tcp . 8000-8201",  # overlapping and adjacent ranges merged
        "0.0.0.0/0 . udp . 53",
        "0.0.0.0/0 . sctp . 9000-9010",
    ]
    assert labelled(out, "ingress", "10.0.0.2") == {
        "default/whole ingress[0]": ["0.0.0.0/0 . udp . 0-65535"],  # a protocol without a port: all its ports
        "default/whole ingress[1]": ["0.0.0.0/0 . tcp . 0-65535"],  # `{}`: every TCP port
    }
    assert allowed(out, "ingress", "10.0.0.3", "any") == ["0.0.0.0/0"]  # no ports: every port and protocol
    assert allowed(out, "ingress", "10.0.0.3") == []


def test_overlapping_rules_become_disjoint_elements(compile_yaml: CompileYaml) -> None:
    """nftables refuses overlapping elements: the ports are cut where the rules' ranges start and end, the
    addresses united where they overlap, and each piece names every rule allowing it."""
    _, out = compile_yaml(
        pod("s", "10.0.0.1", "{app: s}")
        + pod("c", "10.1.0.5", "{app: c}")
        + policy(
            "a",
            "podSelector: {}\ningress:\n- from: [{ipBlock: {cidr: 10.1.0.0/16}}]\n  ports: [{port: 80, endPort: 90}]\n",
        )
        + policy(
            "b",
            "podSelector: {}\ningress:\n- from: [{podSelector: {matchLabels: {app: c}}}]\n"
            "  ports: [{port: 85, endPort: 100}]\n",
        )
    )
    chain = vmap(out, "ingress")["10.0.0.1"]
    items = [(e.key_text, e.comment) for e in out.table.sets[lookups(out, chain)["allow-v4"]].elements]
    assert items == [
        ("10.1.0.0/16 . tcp . 80-84", "default/a ingress[0] from[0]"),
        ("10.1.0.0/16 . tcp . 85-90", "default/a ingress[0] from[0], default/b ingress[0] from[0]"),
        ("10.1.0.5 . tcp . 91-100", "default/b ingress[0] from[0]"),
    ]


def test_sctp_never_opens_tcp(compile_yaml: CompileYaml) -> None:
    _, out = compile_yaml(
        pod("s", "10.0.0.1") + policy("p", "podSelector: {}\ningress:\n- ports: [{port: 9, protocol: SCTP}]\n")
    )
    assert allowed(out, "ingress", "10.0.0.1") == ["0.0.0.0/0 . sctp . 9"]


def test_merge_ranges() -> None:
    assert merge_ranges([(5, 5), (1, 3), (4, 4), (10, 20), (12, 15)]) == [(1, 5), (10, 20)]


NAMED = (
    pod(
        "w1",
        "10.0.0.1",
        "{app: web}",
        ports="[{name: http, containerPort: 8080}, {name: m, containerPort: 9100, protocol: UDP}]",
    )
    + pod("w2", "10.0.0.2", "{app: web}", ports="[{name: http, containerPort: 9090}]")
    + pod("c", "10.0.0.9", "{app: client}")
)


def test_named_ports_for_ingress_resolve_on_each_protected_pod(compile_yaml: CompileYaml) -> None:
    _, out = compile_yaml(
        NAMED
        + pod("w3", "10.0.0.3", "{app: web}", ports="[{name: http, containerPort: 8080}]")
        + policy(
            "web",
            "podSelector: {matchLabels: {app: web}}\ningress:\n- ports: [{port: http}, {port: m}, {port: 443}]\n",
        )
    )
    chains = vmap(out, "ingress")
    # pods giving the named ports the same numbers share a chain; w2's http is another number
    assert chains["10.0.0.1"] == chains["10.0.0.3"] != chains["10.0.0.2"]
    assert out.table.chains[chains["10.0.0.2"]].comment == (
        "ingress of 1 pod isolated by default/web (named ports TCP/http=9090, TCP/m=none)"
    )
    w1, w2 = lookups(out, chains["10.0.0.1"]), lookups(out, chains["10.0.0.2"])
    assert w1["allow-v4"] == w2["allow-v4"]  # the numeric port: one set for both groups
    assert allowed(out, "ingress", "10.0.0.1") == ["0.0.0.0/0 . tcp . 443"]
    assert f"ip saddr . meta l4proto . th dport @{w1['named-v4']} accept" in rules(out, chains["10.0.0.1"])
    # "m" is a UDP port: the TCP entry `{port: m}` matches nothing
    assert labelled(out, "ingress", "10.0.0.1", "named") == {
        "default/web ingress[0] port http": ["0.0.0.0/0 . tcp . 8080"]
    }
    assert labelled(out, "ingress", "10.0.0.2", "named") == {
        "default/web ingress[0] port http": ["0.0.0.0/0 . tcp . 9090"]
    }


def test_named_ports_for_egress_resolve_on_each_peer_pod(compile_yaml: CompileYaml) -> None:
    _, out = compile_yaml(
        NAMED
        + pod("outside-like", "192.168.5.5", "{app: other}", ports="[{name: http, containerPort: 1}]")
        + policy(
            "client",
            """\
            podSelector: {matchLabels: {app: client}}
            policyTypes: [Egress]
            egress:
            - to: [{podSelector: {matchLabels: {app: web}}}]
              ports: [{port: http}]
            - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.2/32]}}]
              ports: [{port: http}]
            - to: [{ipBlock: {cidr: 172.16.0.0/12}}]
              ports: [{port: http}]
            - ports: [{port: m, protocol: UDP}]
            """,
        )
    )
    # the peer pod's address . its port: the element stands for the peer too
    assert labelled(out, "egress", "10.0.0.9") == {
        "default/client egress[0] to[0] port http": ["10.0.0.1 . tcp . 8080", "10.0.0.2 . tcp . 9090"],
        "default/client egress[1] to[0] port http": ["10.0.0.1 . tcp . 8080"],  # the except is honoured
        # egress[2]: no pod there: a named port never matches outside pods
        "default/client egress[3] port m": ["10.0.0.1 . udp . 9100"],
    }


# --- 7. node and host network --------------------------------------------------------------------------


NODES = """\
apiVersion: v1
kind: Node
metadata: {name: node-a}
spec: {podCIDR: 10.0.0.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.1.10}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-b}
spec: {podCIDR: 10.0.1.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.1.11}]}
---
"""


def test_only_local_pods_are_protected_and_host_network_never(compile_yaml: CompileYaml) -> None:
    _, out = compile_yaml(
        NODES
        + pod("local", "10.0.0.5", "{app: web}", extra="nodeName: node-a, ")
        + pod("remote", "10.0.1.5", "{app: web}", extra="nodeName: node-b, ")
        + pod("agent", "", "{app: web}", extra="nodeName: node-a, hostNetwork: true, ")
        + pod("agent-b", "", "{app: agent}", extra="nodeName: node-b, hostNetwork: true, ")
        + policy("p", "podSelector: {}\npolicyTypes: [Ingress, Egress]\ningress:\n- from: [{podSelector: {}}]\n"),
        node="node-a",
    )
    assert set(vmap(out, "ingress")) == set(vmap(out, "egress")) == {"10.0.0.5"}
    # as peers, hostNetwork pods stand for their node's addresses
    # (the two nodes' addresses are consecutive: one element)
    assert peer_addresses(out, "10.0.0.5", "default/p") == [["10.0.0.5", "10.0.1.5", "192.168.1.10/31"]]
    hooks = {c.base.hook for c in out.table.base_chains if c.base and c.base.type == "filter"}
    assert hooks == {Hook.FORWARD}  # node-originated traffic (output) is never filtered


# --- 8. Services and policies together -----------------------------------------------------------------


def test_policy_sees_pod_address_and_target_port(compile_yaml: CompileYaml) -> None:
    _, out = compile_yaml(
        pod("b", "10.0.0.1", "{app: b}", ports="[{name: http, containerPort: 8080}]")
        + pod("c", "10.0.0.2", "{app: c}")
        + "apiVersion: v1\nkind: Service\nmetadata: {name: b, namespace: default}\n"
        "spec: {clusterIP: 10.96.0.1, selector: {app: b}, ports: [{port: 80, targetPort: http}]}\n---\n"
        + policy("b", "podSelector: {matchLabels: {app: b}}\ningress:\n- ports: [{port: 8080}]\n")
    )
    assert allowed(out, "ingress", "10.0.0.1") == ["0.0.0.0/0 . tcp . 8080"]  # the pod's port, not the Service's
    assert vmap(out, "ingress") == {"10.0.0.1": vmap(out, "ingress")["10.0.0.1"]}
    nat = {c.base.priority_value for c in out.table.base_chains if c.base and c.base.hook == Hook.PREROUTING}
    assert max(nat) < min(
        c.base.priority_value for c in out.table.base_chains if c.base and c.base.hook == Hook.FORWARD
    )


# --- 9. scale in the layout ----------------------------------------------------------------------------


def test_sets_are_shared_between_groups_of_pods(compile_yaml: CompileYaml) -> None:
    """A set is named after the policies that put elements in it: pods told apart only by a policy that
    adds nothing of its kind (here a default deny) look up the same set."""
    _, out = compile_yaml(
        UNION
        + pod("d", "10.0.0.4", "{app: web, role: z}")
        + policy("deny-z", "podSelector: {matchLabels: {role: z}}\n")
    )
    chains = vmap(out, "ingress")
    assert chains["10.0.0.3"] != chains["10.0.0.4"]  # {p1} and {p1, deny-z}
    assert lookups(out, chains["10.0.0.3"]) == lookups(out, chains["10.0.0.4"])
    assert lookups(out, chains["10.0.0.1"])["allow-v4"] == lookups(out, chains["10.0.0.4"])["allow-v4"]
    assert len([s for s in out.table.sets if s.startswith("ingress-allow-")]) == 1


def synthetic(pods: int, policies: int) -> str:
    out = []
    for i in range(pods):
        out.append(pod(f"p{i}", f"10.1.{i // 250}.{i % 250 + 1}", f"{{app: a{i % 10}}}"))
    for q in range(policies):
        out.append(
            policy(
                f"q{q}",
                f"podSelector: {{matchLabels: {{app: a{q % 10}}}}}\n"
                f"ingress:\n- from: [{{podSelector: {{matchLabels: {{app: a{(q + 1) % 10}}}}}}}]\n"
                f"  ports: [{{port: {1000 + q}}}]\n",
            )
        )
    return "".join(out)


def compiled_lines(text: str) -> int:
    return compile_text(text).text.count("\n")


_DIRS: dict[str, Path] = {}
_SCRATCH = tempfile.TemporaryDirectory(prefix="nc-policies-")  # removed when the test process ends


def out_dir(text: str) -> Path:
    """A directory holding `text` as in.yaml (one per distinct text, for the test session)."""
    if text not in _DIRS:
        directory = Path(_SCRATCH.name) / str(len(_DIRS))
        directory.mkdir()
        (directory / "in.yaml").write_text(text)
        _DIRS[text] = directory
    return _DIRS[text]


def compile_text(text: str, opts: CompileOptions | None = None) -> Output:
    return compile_paths([str(out_dir(text))], opts or CompileOptions())[1]


def test_size_grows_with_what_the_policies_allow() -> None:
    """Chains and rules grow with the groups of pods, not with policies; elements are the allowed
    peer addresses (consecutive ones as one range) times ports, per set of policies selecting a group."""
    out = compile_text(synthetic(400, 80))
    groups = [c for c in out.table.chains if c.startswith("ingress-pods-")]
    assert len(groups) == 10  # one per app
    assert all(len(out.table.chains[c].rules) == 2 for c in groups)  # one lookup, then drop
    allow = [s for s in out.table.sets.values() if s.name.startswith("ingress-allow-")]
    assert len(allow) == 10
    # app a<k> is selected by 8 policies, each allowing the 40 pods of the next app on its own port
    assert all(len(s.elements) == 8 * 40 for s in allow)
    assert compiled_lines(synthetic(100, 80)) < compiled_lines(synthetic(400, 80))


# --- 10. comments and names ----------------------------------------------------------------------------


def test_every_policy_rule_names_its_policy(compile_yaml: CompileYaml) -> None:
    _, out = compile_yaml(UNION)
    group = vmap(out, "ingress")["10.0.0.1"]
    sets = lookups(out, group)
    assert [e.comment for e in out.table.sets[sets["allow-v4"]].elements] == ["default/p1 ingress[0]"]
    assert [e.comment for e in out.table.sets[sets["any-v4"]].elements] == ["default/p2 ingress[0] from[0]"]
    assert comments(out, group)[-1] == "ingress not allowed by any policy selecting these pods"
    assert [e.comment for e in out.table.sets["ingress-isolated-v4"].elements] == [
        "default/a",
        "default/b",
        "default/c",
    ]


def test_long_names_are_hashed_within_the_limit() -> None:
    short = chain_name("ingress", "default/web")
    assert short == "ingress/default/web"
    long_key = "n" * 63 + "/" + "p" * 200
    name = chain_name("ingress", long_key)
    assert len(name) == 64 and name.startswith("ingress/") and name != chain_name("ingress", long_key[:-1] + "q")


def test_duplicate_pod_addresses_are_reported(compile_yaml: CompileYaml) -> None:
    _, out = compile_yaml(pod("a", "10.0.0.1", "{app: a}") + pod("b", "10.0.0.1") + policy("p", "podSelector: {}\n"))
    assert vmap(out, "ingress") == {"10.0.0.1": vmap(out, "ingress")["10.0.0.1"]}
    assert any("address 10.0.0.1 is also pod default/a's" in n for n in out.notices)


# --- against the reference evaluator, packet by packet ------------------------------------------------


POLICY_CASES = [c for c in discover(ROOT / "golden") if c.name.startswith("policy-")]


def test_there_are_policy_golden_cases() -> None:
    assert len(POLICY_CASES) >= 9


# --- packet by packet, with the expected verdict written down -----------------------------------------

TABLE = (
    NODES
    + namespace("ops", "{team: ops}")
    + pod(
        "web",
        "10.0.0.1",
        "{app: web}",
        extra="nodeName: node-a, ",
        ports="[{name: http, containerPort: 8080}]",
    )
    + pod("client", "10.0.0.2", "{app: client}", extra="nodeName: node-a, ")
    + pod("remote", "10.0.1.2", "{app: client}", extra="nodeName: node-b, ", ports="[{name: http, containerPort: 81}]")
    + pod("mon", "10.0.1.3", "{app: mon}", ns="ops", extra="nodeName: node-b, ")
    + pod("agent", "", "{app: agent}", extra="nodeName: node-b, hostNetwork: true, ")
    + "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\n"
    "spec: {clusterIP: 10.96.0.1, selector: {app: web}, ports: [{port: 80, targetPort: http}]}\n---\n"
    + policy(
        "web",
        """\
        podSelector: {matchLabels: {app: web}}
        ingress:
        - from: [{podSelector: {matchLabels: {app: client}}}]
          ports: [{port: http}]
        - from: [{namespaceSelector: {matchLabels: {team: ops}}, podSelector: {matchLabels: {app: mon}}}]
          ports: [{port: 9000, endPort: 9100}]
        - from: [{ipBlock: {cidr: 172.16.0.0/12, except: [172.16.9.0/24]}}]
          ports: [{port: 7, protocol: SCTP}]
        - from: [{podSelector: {matchLabels: {app: agent}}}]
        """,
    )
    + policy(
        "client",
        """\
        podSelector: {matchLabels: {app: client}}
        policyTypes: [Egress]
        egress:
        - to: [{podSelector: {matchLabels: {app: web}}}]
          ports: [{port: http}]
        - to: [{podSelector: {matchLabels: {app: client}}}]
          ports: [{port: http}]
        """,
    )
)

WEB, CLIENT, REMOTE, MON, NODE_A, NODE_B = (
    "10.0.0.1",
    "10.0.0.2",
    "10.0.1.2",
    "10.0.1.3",
    "192.168.1.10",
    "192.168.1.11",
)
TCP, UDP, SCTP = Protocol.TCP, Protocol.UDP, Protocol.SCTP

ROWS = [
    # (why, src, dst, protocol, port, origin, ct_state, delivered)
    ("named ingress port, egress named port on the peer", CLIENT, WEB, TCP, 8080, "network", "new", True),
    ("other port: ingress denies", REMOTE, WEB, TCP, 80, "network", "new", False),
    ("named port over UDP is another port", REMOTE, WEB, UDP, 8080, "network", "new", False),
    ("via the Service: DNAT to 8080 first, then judged", CLIENT, "10.96.0.1", TCP, 80, "network", "new", True),
    ("egress allows web, ingress isolation still applies", CLIENT, WEB, TCP, 9000, "network", "new", False),
    ("egress denies what ingress would allow", CLIENT, REMOTE, TCP, 9000, "network", "new", False),
    ("egress named port resolved on the peer pod (81)", CLIENT, REMOTE, TCP, 81, "network", "new", True),
    ("egress named port: 8080 is not remote's http", CLIENT, REMOTE, TCP, 8080, "network", "new", False),
    ("namespace+pod selector, endPort inclusive", MON, WEB, TCP, 9100, "network", "new", True),
    ("endPort range ends at 9100", MON, WEB, TCP, 9101, "network", "new", False),
    ("ipBlock, SCTP", "172.20.0.1", WEB, SCTP, 7, "network", "new", True),
    ("an SCTP rule never opens TCP", "172.20.0.1", WEB, TCP, 7, "network", "new", False),
    ("ipBlock except", "172.16.9.9", WEB, SCTP, 7, "network", "new", False),
    ("hostNetwork peer: its node's address", NODE_B, WEB, UDP, 53, "network", "new", True),
    ("the node itself: always allowed (kubelet)", NODE_A, WEB, TCP, 1, "node", "new", True),
    ("replies of allowed connections pass", WEB, CLIENT, TCP, 40000, "network", "established", True),
    ("non-isolated pod ingress", REMOTE, CLIENT, TCP, 1, "network", "new", True),
    ("to the node's own address: not filtered", CLIENT, NODE_A, TCP, 22, "network", "new", True),
    ("remote pods are not protected here", "8.8.8.8", REMOTE, TCP, 1, "network", "new", True),
]


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_packets(row: tuple[str, str, str, Protocol, int, str, str, bool]) -> None:
    from netcompile.verify.interpreter import Ruleset
    from netcompile.verify.reference import evaluate

    _, src, dst, proto, port, origin, state, delivered = row
    out = compile_text(TABLE, CompileOptions(node="node-a"))
    cluster = Cluster(complete(load([str(out_dir(TABLE))])), "node-a")
    packet = Packet(ip_address(src), ip_address(dst), proto, port, origin=Origin(origin), ct_state=state)
    got = Ruleset.parse(out.text).evaluate(packet, cluster.node_addresses)
    verdicts = {r.verdict.value for r in got.distribution}
    assert verdicts == ({"delivered"} if delivered else {"dropped"}), got.path
    assert got.agrees_with(evaluate(cluster, packet))


def test_generated_names_survive_hash_collisions(monkeypatch: pytest.MonkeyPatch, compile_yaml: CompileYaml) -> None:
    from netcompile.nft import names

    real = names.hex_hash

    def colliding(*parts: str, length: int = names.HEX_WIDTH) -> str:
        """Every hash the same in its first HEX_WIDTH digits (a name's), as it is after them."""
        return "0" * min(length, names.HEX_WIDTH) + real(*parts, length=length)[names.HEX_WIDTH :]

    monkeypatch.setattr(names, "hex_hash", colliding)
    _, out = compile_yaml(UNION)
    chains = sorted(set(vmap(out, "ingress").values()))
    assert len(chains) == 2 and chains[0] == "ingress-pods-" + "0" * names.HEX_WIDTH
    assert len(chains[1]) == len(chains[0]) + 2
