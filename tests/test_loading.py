"""Loading and validation: positions, the Kubernetes message vocabulary, all errors at once."""

from __future__ import annotations

import io
import json
import sys
import textwrap
from pathlib import Path

import pytest

from netcompile.compile.compiler import CompileOptions
from netcompile.errors import Diagnostic, InputError
from netcompile.load.manifests import load
from netcompile.load.source import Limits, Piece
from netcompile.model import Protocol, ServiceType
from netcompile.pipeline import compile_paths
from tests.conftest import WriteYaml


def errors_of(directory: Path, limits: Limits = Limits()) -> list[str]:
    with pytest.raises(InputError) as info:
        load([str(directory)], limits)
    return [str(d) for d in info.value.diagnostics]


def test_the_issue_example_message(write_yaml: WriteYaml) -> None:
    d = write_yaml(
        """
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: shop}
        spec:
          ports:
          - port: 0
        """,
        "svc.yaml",
    )
    assert errors_of(d) == [
        f'{d}/svc.yaml:7:11: Service "shop/web": spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, '
        "inclusive"
    ]


def test_every_error_is_reported_at_once_sorted_by_position(write_yaml: WriteYaml) -> None:
    d = write_yaml(
        """
        apiVersion: v1
        kind: Service
        metadata: {name: Bad_Name}
        spec:
          clusterIP: 10.96.0.300
          ports:
          - {name: a, port: 70000, protocol: ICMP}
          - {name: a, port: 80, targetPort: "8080"}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        status: {phase: Running, podIP: not-an-ip}
        """,
    )
    errs = errors_of(d)
    f = f"{d}/input.yaml"
    assert errs == [
        f'{f}:4:18: Service "default/Bad_Name": metadata.name: Invalid value: "Bad_Name": a DNS-1035 label must '
        "consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an "
        "alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
        "'[a-z]([-a-z0-9]*[a-z0-9])?')",
        f'{f}:6:14: Service "default/Bad_Name": spec.clusterIP: Invalid value: "10.96.0.300": must be a valid IP '
        "address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        f'{f}:8:21: Service "default/Bad_Name": spec.ports[0].port: Invalid value: 70000: must be between 1 and '
        "65535, inclusive",
        f'{f}:8:38: Service "default/Bad_Name": spec.ports[0].protocol: Unsupported value: "ICMP": supported values: '
        '"TCP", "UDP", "SCTP"',
        f'{f}:9:12: Service "default/Bad_Name": spec.ports[1].name: Duplicate value: "a"',
        f'{f}:9:37: Service "default/Bad_Name": spec.ports[1].targetPort: Invalid value: "8080": must contain at least '
        "one letter (a-z)",
        f'{f}:14:33: Pod "default/p": status.podIP: Invalid value: "not-an-ip": must be a valid IP address, (e.g. '
        "10.9.8.7 or 2001:db8::ffff)",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kind: [unclosed\n", "YAML syntax error"),
        ("a: b\n c: d\n", "2:3: YAML syntax error: mapping values are not allowed in this context"),
        ("just a string\n", "document is not a mapping"),
        ("kind: Service\nmetadata: {name: x}\n", "apiVersion: Required value"),
        ("apiVersion: v1\nmetadata: {name: x}\n", "kind: Required value"),
        ("apiVersion: v1\nkind: Service\nspec: {ports: [{port: 1}]}\n", "Service: metadata: Required value"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {namespace: x}\n", "Pod: metadata.name: Required value"),
        ("apiVersion: 1\nkind: Pod\n", "apiVersion: Invalid value: 1: must be a string"),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x, name: y}\n",
            'Duplicate value: "name": mapping key appears more than once',
        ),
        (
            "apiVersion: networking.k8s.io/v1beta1\nkind: NetworkPolicy\nmetadata: {name: x}\nspec: {}\n",
            'apiVersion: Unsupported value: "networking.k8s.io/v1beta1": supported values: "networking.k8s.io/v1"',
        ),
        (
            "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nspec: {podCIDR: 10.0.0.0/33}\n",
            'spec.podCIDR: Invalid value: "10.0.0.0/33": must be a valid CIDR value',
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {app: [x]}}\n",
            'metadata.labels[app]: Invalid value: "<list>": must be a string',
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {'a/b/c': x}}\n",
            "metadata.labels[a/b/c]: Invalid value",
        ),
        (
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: Magic, ports: [{port: 1}]}\n",
            'spec.type: Unsupported value: "Magic"',
        ),
        (
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
            "spec: {ports: [{port: 1, nodePort: 80}], type: NodePort}\n",
            "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid "
            "ports is 30000-32767",
        ),
        (
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 1}, {port: 2}]}\n",
            "spec.ports[0].name: Required value",
        ),
        (
            "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e}\naddressType: IPv4\n"
            "endpoints: [{addresses: ['fd00::1']}]\n",
            'endpoints[0].addresses[0]: Invalid value: "fd00::1": must be an IPv4 address',
        ),
    ],
)
def test_bad_input_messages(write_yaml: WriteYaml, text: str, expected: str) -> None:
    d = write_yaml(text, "bad.yaml")
    errs = errors_of(d)
    assert any(expected in e for e in errs), errs
    assert all(e.startswith(f"{d}/bad.yaml:") for e in errs), errs


def test_allocations_are_unique_across_services(write_yaml: WriteYaml) -> None:
    d = write_yaml(
        """
        apiVersion: v1
        kind: Service
        metadata: {name: a}
        spec:
          type: NodePort
          clusterIP: 10.96.0.1
          ports:
          - {name: t, port: 53, nodePort: 30053}
          - {name: u, port: 53, protocol: UDP, nodePort: 30053}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: b}
        spec: {type: NodePort, clusterIPs: [10.96.0.1], ports: [{port: 1, nodePort: 30053}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: c}
        spec: {clusterIPs: [10.96.0.3], ipFamilies: [IPv6], ports: [{port: 1}]}
        """
    )
    assert [e.split(": ", 1)[1] for e in errors_of(d)] == [
        'Service "default/b": spec.clusterIPs[0]: Invalid value: "10.96.0.1": provided IP is already allocated to '
        'Service "default/a"',
        'Service "default/b": spec.ports[0].nodePort: Invalid value: 30053: provided port is already allocated to '
        'Service "default/a"',
        'Service "default/c": spec.clusterIPs[0]: Invalid value: "10.96.0.3": expected an IPv6 value as indicated '
        "by `ipFamilies[0]`",
    ]


def test_duplicate_objects_across_files_point_at_the_first(write_yaml: WriteYaml) -> None:
    svc = "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: a}\nspec: {ports: [{port: 1}]}\n"
    write_yaml(svc, "1.yaml")
    d = write_yaml(svc, "2.yaml")
    errs = errors_of(d)
    assert len(errs) == 1
    assert errs[0].startswith(f'{d}/2.yaml:3:11: Service "a/s": metadata.name: Duplicate value: "s": already defined')
    assert errs[0].endswith(f"{d}/1.yaml:1:1")


def test_same_name_in_other_kind_or_namespace_is_no_duplicate(write_yaml: WriteYaml) -> None:
    d = write_yaml(
        """
        apiVersion: v1
        kind: Service
        metadata: {name: s, namespace: a}
        spec: {ports: [{port: 1}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: s, namespace: b}
        spec: {ports: [{port: 1}]}
        ---
        apiVersion: v1
        kind: Endpoints
        metadata: {name: s, namespace: a}
        """
    )
    objects = load([str(d)])
    assert [s.meta.key for s in objects.services] == ["a/s", "b/s"]


def test_directories_are_read_recursively_in_sorted_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    for path, name in (("b/1.yaml", "third"), ("a/2.yml", "second"), ("a/1.yaml", "first"), ("notes.txt", "x")):
        (tmp_path / path).write_text(f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}}}\n")
    assert [n.meta.name for n in load([str(tmp_path)]).namespaces] == ["first", "second", "third"]


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"apiVersion: v1\nkind: Namespace\nmetadata: {name: from-stdin}\n---\nkind: Pod\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    with pytest.raises(InputError) as info:
        load(["-"])
    assert [str(d) for d in info.value.diagnostics] == ["<stdin>:5:1: apiVersion: Required value"]


def test_list_kind_and_unknown_kinds(write_yaml: WriteYaml) -> None:
    d = write_yaml(
        """
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: Namespace
          metadata: {name: a}
        - apiVersion: apps/v1
          kind: ControllerRevision
          metadata: {name: d, namespace: a}
        - apiVersion: v1
          kind: ServiceList
          items: []
        """
    )
    objects = load([str(d)])
    assert [n.meta.name for n in objects.namespaces] == ["a"]
    assert objects.notices == ("skipped 1 object of 1 kind netcompile does not read: ControllerRevision (1)",)


def test_positions_survive_lists_flow_style_and_anchors(write_yaml: WriteYaml) -> None:
    d = write_yaml(
        """
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: Service
          metadata: {name: s}
          spec:
            ports: &ports
            - {name: a, port: 80}
            - {name: b, port: -1}
        """
    )
    assert errors_of(d) == [
        f'{d}/input.yaml:11:23: Service "default/s": spec.ports[1].port: Invalid value: -1: must be between 1 and '
        "65535, inclusive"
    ]


@pytest.mark.parametrize("field", ["name", "namespace"])
def test_a_trailing_newline_is_not_a_valid_name(write_yaml: WriteYaml, field: str) -> None:
    """`$` in a Python regex matches before a trailing newline: names are checked with fullmatch."""
    other = "" if field == "name" else "name: web, "
    d = write_yaml(f'apiVersion: v1\nkind: Pod\nmetadata: {{{other}{field}: "web\\n"}}\n')
    assert f'metadata.{field}: Invalid value: "web\\n"' in errors_of(d)[0]


def test_messages_stay_on_one_line_whatever_the_names(write_yaml: WriteYaml) -> None:
    d = write_yaml(
        'apiVersion: v1\nkind: "Odd\\nKind"\nmetadata: {name: x}\n---\n'
        'apiVersion: v1\nkind: Pod\nmetadata: {name: "a\\nb", labels: {"k\\ny": v}}\n'
    )
    with pytest.raises(InputError) as info:
        load([str(d)])
    messages = [str(x) for x in info.value.diagnostics]
    assert all("\n" not in m for m in messages)
    assert messages[0] == (
        f'{d}/input.yaml:2:7: "Odd\\nKind" "default/x": no matches for kind "Odd\\nKind" in version "v1"'
    )
    assert messages[1].startswith(f'{d}/input.yaml:7:18: Pod "default/a\\nb": metadata.name: Invalid value: "a\\nb"')
    assert messages[2].startswith(f'{d}/input.yaml:7:43: Pod "default/a\\nb": metadata.labels["k\\ny"]: Invalid value')
    objects = load([str(write_yaml('apiVersion: example.com/v1\nkind: "Odd\\nKind"\nmetadata: {name: x}\n'))])
    assert objects.notices == ('skipped 1 object of 1 kind netcompile does not read: "Odd\\nKind.example.com" (1)',)


def test_duplicate_keys_name_object_and_field(write_yaml: WriteYaml) -> None:
    d = write_yaml(
        """
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: Pod
          metadata:
            name: p
            namespace: n
            labels: {a: x, a: y}
        """
    )
    assert errors_of(d) == [
        f'{d}/input.yaml:10:20: Pod "n/p": metadata.labels.a: Duplicate value: "a": mapping key appears more than once'
    ]


def test_merge_keys_are_expanded(write_yaml: WriteYaml) -> None:
    d = write_yaml(
        """
        apiVersion: v1
        kind: Pod
        metadata:
          name: p
          labels:
            <<: {app: web, tier: front}
            tier: back
        """
    )
    (pod,) = load([str(d)]).pods
    assert pod.meta.label_dict() == {"app": "web", "tier": "back"}


def test_alias_bomb_is_refused(write_yaml: WriteYaml) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n" + textwrap.indent("\n".join(lines), "  ")
    d = write_yaml(text, "bomb.yaml")
    errs = errors_of(d)
    assert len(errs) == 1 and "YAML aliases expand to more than 100000 nodes (--max-alias-nodes)" in errs[0]


@pytest.mark.parametrize("anchor", ["", "base: &b {x: 1}\n"])  # with an anchor, only PyYAML reads it
def test_nesting_too_deep_for_the_yaml_parser_is_an_error_not_a_crash(write_yaml: WriteYaml, anchor: str) -> None:
    """PyYAML composes on the C stack: 100k levels used to crash the process (found this session)."""
    d = write_yaml(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n" + anchor + "x: " + "[" * 100_000 + "]" * 100_000 + "\n"
    )
    assert errors_of(d) == [f"{d}/input.yaml:{4 + bool(anchor)}:68: nesting deeper than 64 levels (--max-depth)"]
    assert errors_of(d, Limits(max_depth=10**6)) == [
        f"{d}/input.yaml:{4 + bool(anchor)}:515: nesting deeper than 511 levels (--max-depth cannot go higher)"
    ]


@pytest.mark.parametrize("c_reader", [True, False])
@pytest.mark.parametrize("depth", [511, 512, 999, 1000, 1001, 2500])
def test_what_is_too_deep_does_not_depend_on_the_libyaml_pyyaml_bundles(
    monkeypatch: pytest.MonkeyPatch, c_reader: bool, depth: int
) -> None:
    """PyYAML 6.0.4's wheels bundle a libyaml that refuses more than 1 000 nested collections ("YAML syntax
    error: exceeded maximum nesting depth"); Debian's libyaml 0.2.5 and PyYAML 6.0.3 take any depth. Both
    readers refuse from depth 512 on with netcompile's own message, before any libyaml limit, and read
    what is below it, with or without the C reader."""
    from netcompile.load import pyyaml_reader, source

    if not c_reader:
        monkeypatch.setattr(source, "_fastyaml", None)
        monkeypatch.setattr(pyyaml_reader, "_fastyaml", None)
    text = "apiVersion: v1\nkind: Namespace\nx: " + "[" * depth + "]" * depth + "\n"
    errors: list[Diagnostic] = []
    docs = source.read_documents(source.Piece("f.yaml", text), Limits(max_depth=10**6), errors)
    if depth <= 511:
        assert (len(docs), errors) == (1, [])
    else:
        assert docs == []
        message = "nesting deeper than 511 levels (--max-depth cannot go higher)"
        assert [str(e) for e in errors] == [f"f.yaml:3:515: {message}"]


def test_limits(write_yaml: WriteYaml) -> None:
    d = write_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n" + "#" * 100, "big.yaml")
    assert "file is larger than 50 bytes (--max-file-bytes)" in errors_of(d, Limits(max_file_bytes=50))[0]
    deep = write_yaml("a: " + "[" * 100 + "]" * 100 + "\n", "big.yaml")
    assert "nesting deeper than 64 levels (--max-depth)" in errors_of(deep)[0]


def test_not_utf8_and_control_characters(tmp_path: Path) -> None:
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00junk")
    assert errors_of(tmp_path)[0].startswith(f"{tmp_path}/bin.yaml:1:1: not UTF-8 text")
    (tmp_path / "bin.yaml").write_bytes(b"kind: \x07\n")
    assert "YAML syntax error: unacceptable character" in errors_of(tmp_path)[0]


def test_parsed_service(write_yaml: WriteYaml) -> None:
    d = write_yaml(
        """
        apiVersion: v1
        kind: Service
        metadata: {name: s, namespace: n}
        spec:
          type: LoadBalancer
          clusterIPs: [10.96.0.1, "fd00::1"]
          selector: {app: x}
          externalTrafficPolicy: Local
          sessionAffinity: ClientIP
          externalIPs: [010.001.002.003]
          loadBalancerSourceRanges: [10.0.0.1/8]
          ports:
          - {name: dns, port: 53, protocol: UDP, nodePort: 30053}
        status:
          loadBalancer:
            ingress: [{ip: 1.2.3.4}, {ip: 1.2.3.5, ipMode: Proxy}, {hostname: lb.example.com}]
        """
    )
    (svc,) = load([str(d)]).services
    assert svc.type == ServiceType.LOAD_BALANCER
    assert [str(ip) for ip in svc.cluster_ips] == ["10.96.0.1", "fd00::1"]
    assert [str(ip) for ip in svc.external_ips] == ["10.1.2.3"]  # leading zeros read as decimal
    assert [str(n) for n in svc.load_balancer_source_ranges] == ["10.0.0.0/8"]
    assert [(str(i.ip), i.ip_mode) for i in svc.load_balancer_ingress] == [("1.2.3.4", "VIP"), ("1.2.3.5", "Proxy")]
    assert svc.session_affinity_timeout == 10800
    assert svc.ports[0].protocol == Protocol.UDP and svc.ports[0].target_port == 53 and svc.ports[0].node_port == 30053


def test_ipv4_mapped_ipv6_is_ipv4(write_yaml: WriteYaml) -> None:
    d = write_yaml(
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        status: {phase: Running, podIPs: [{ip: "::ffff:10.0.0.1"}]}
        """
    )
    assert [str(ip) for ip in load([str(d)]).pods[0].ips] == ["10.0.0.1"]


EDGE_ADDRESSES = """
apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  clusterIP: CLUSTER_IP
  externalIPs: [EXTERNAL_IP]
  selector: {app: a}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: p, labels: {app: a}}
status: {phase: Running, podIP: POD_IP}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: n}
spec:
  podSelector: {}
  ingress: [{from: [{ipBlock: {cidr: BLOCK, except: [EXCEPT]}}]}]
"""


@pytest.mark.parametrize(
    "spelling",
    [
        {
            "CLUSTER_IP": "010.096.000.001",
            "EXTERNAL_IP": "203.000.113.001",
            "POD_IP": "10.244.0.05",
            "BLOCK": "0.0.0.0/0",
            "EXCEPT": "010.244.000.005/32",
        },
        {
            "CLUSTER_IP": "'::ffff:10.96.0.1'",
            "EXTERNAL_IP": "'::ffff:203.0.113.1'",
            "POD_IP": "'::ffff:af4:5'",
            "BLOCK": "'::ffff:0.0.0.0/96'",
            "EXCEPT": "'::ffff:10.244.0.5/128'",
        },
    ],
)
def test_addresses_are_normalized_as_kubernetes_does(write_yaml: WriteYaml, spelling: dict[str, str]) -> None:
    """Leading zeros (decimal) and IPv4-mapped IPv6 compile exactly like the canonical spelling."""
    canonical = {
        "CLUSTER_IP": "10.96.0.1",
        "EXTERNAL_IP": "203.0.113.1",
        "POD_IP": "10.244.0.5",
        "BLOCK": "0.0.0.0/0",
        "EXCEPT": "10.244.0.5/32",
    }

    def compiled(values: dict[str, str], name: str) -> str:
        text = EDGE_ADDRESSES
        for key, value in values.items():
            text = text.replace(key, value)
        directory = write_yaml(text, name)
        return compile_paths([str(directory / name)], CompileOptions())[1].text

    assert compiled(spelling, "odd.yaml") == compiled(canonical, "canonical.yaml")


def test_namespace_gets_its_name_label(write_yaml: WriteYaml) -> None:
    d = write_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {x: y}}\n")
    assert load([str(d)]).namespaces[0].meta.label_dict() == {"kubernetes.io/metadata.name": "a", "x": "y"}


def test_network_policy_types_are_defaulted_like_the_api_server(write_yaml: WriteYaml) -> None:
    d = write_yaml(
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: only-ingress}
        spec:
          podSelector: {}
          egress: []
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: both}
        spec:
          podSelector: {}
          egress: [{}]
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: ingress-type-ignores-egress}
        spec:
          podSelector: {}
          policyTypes: [Ingress]
          egress: [{}]
        """
    )
    policies = {p.meta.name: p for p in load([str(d)]).network_policies}
    assert [t.value for t in policies["only-ingress"].policy_types] == ["Ingress"]
    assert [t.value for t in policies["both"].policy_types] == ["Egress", "Ingress"]
    assert policies["ingress-type-ignores-egress"].egress == ()


@pytest.mark.parametrize(
    ("peer", "expected"),
    [
        ("{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}}", "must be a strict subset of `cidr`"),
        ("{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}}", "must be a strict subset of `cidr`"),
        ("{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}", "may not specify both ipBlock and another peer"),
        ("{}", "Required value: must specify a peer"),
        (
            "{podSelector: {matchExpressions: [{key: a, operator: In}]}}",
            "Required value: must be specified when `operator` is 'In' or 'NotIn'",
        ),
        (
            "{podSelector: {matchExpressions: [{key: a, operator: Near}]}}",
            'Invalid value: "Near": not a valid selector operator',
        ),
    ],
)
def test_bad_policy_peers(write_yaml: WriteYaml, peer: str, expected: str) -> None:
    d = write_yaml(
        f"""
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {{name: p}}
        spec:
          podSelector: {{}}
          ingress: [{{from: [{peer}]}}]
        """
    )
    errs = errors_of(d)
    assert any(expected in e for e in errs), errs


@pytest.mark.parametrize(
    ("ports", "expected"),
    [
        ("[{port: 80, endPort: 79}]", "endPort: Invalid value: 79: must be greater than or equal to `port`"),
        ("[{port: http, endPort: 90}]", "may not be specified when `port` is non-numeric"),
        ("[{endPort: 90}]", "Invalid value: 90: may not be specified when `port` is not specified"),
        ("[{protocol: ICMP}]", 'Unsupported value: "ICMP"'),
    ],
)
def test_bad_policy_ports(write_yaml: WriteYaml, ports: str, expected: str) -> None:
    d = write_yaml(
        f"""
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {{name: p}}
        spec:
          podSelector: {{}}
          ingress: [{{ports: {ports}}}]
        """
    )
    errs = errors_of(d)
    assert any(expected in e for e in errs), errs


SCALAR_TEXTS = [
    "",
    "x",
    "name",
    "10.0.0.1",
    "80",
    "0x1F",
    "0o17",
    "1_000",
    "-1",
    "+1",
    "1.5",
    ".5",
    "1e3",
    ".inf",
    "-.inf",
    ".nan",
    "yes",
    "No",
    "on",
    "OFF",
    "true",
    "False",
    "y",
    "n",
    "null",
    "Null",
    "~",
    "<<",
    "=",
    "2024-01-01",
    "2024-01-01T10:00:00Z",
    "1:20",
    "190:20:30",
    "fd00::1",
    "*",
    "&a",
    "!x",
    "tcp",
    "TCP",
    "v1",
    "0",
    "08",
    "0b1",
    "1.2.3",
    "1..2",
    "..5",
    ".1.",
    "1.5e3.",
    "190:20:30.15",
    "1:20.5.1",
    "2024-01-01 10:00:00.5",
]


@pytest.mark.parametrize("value", SCALAR_TEXTS)
def test_fast_scalar_resolution_matches_pyyaml(value: str) -> None:
    from yaml.nodes import ScalarNode
    from yaml.resolver import Resolver

    from netcompile.load.pyyaml_reader import _Loader
    from netcompile.load.scalars import resolved_tag

    loader = _Loader("")
    for implicit in ((True, False), (False, True), (False, False)):
        expected = Resolver().resolve(ScalarNode, value, implicit)  # type: ignore[no-untyped-call]
        node = ScalarNode(loader.resolve(ScalarNode, value, implicit), value)
        assert resolved_tag(node) == expected


@pytest.mark.parametrize("value", [t for t in SCALAR_TEXTS if t[:1] not in ("*", "&", "!")])  # plain forms
def test_plain_scalar_values_match_pyyaml(value: str) -> None:
    """The converter's table of plain scalar values agrees with PyYAML, on the first and the cached read."""
    import math

    import yaml

    from netcompile.load.scalars import SLOW, plain_value

    if value in ("<<", "="):  # merge and value keys: constructed node by node, never from the table
        assert plain_value(value) is SLOW
        return
    expected = value if value.startswith("20") else yaml.safe_load(f"k: {value}" if value else "k:")["k"]
    for _ in range(2):
        got = plain_value(value)
        assert type(got) is type(expected)
        assert got == expected or (
            isinstance(got, float) and isinstance(expected, float) and math.isnan(got) and math.isnan(expected)
        )


@pytest.mark.parametrize("aliases", [True, False])
def test_read_values_match_pyyaml_safe_load(tmp_path: Path, aliases: bool) -> None:
    """Every scalar form (plain, quoted, block, explicitly tagged, non-specific `!`) in keys, values and
    sequences reads as PyYAML's own safe loader reads it. Left out of the plain forms: what PyYAML
    itself cannot construct (`=`) and timestamps (kept as text, as Kubernetes keeps them). Read both
    with alias and merge-key bookkeeping (the text has `*` or `<<`) and without."""
    import yaml

    from netcompile.load.source import Limits, Piece, read_documents

    quoted_only = ("", "*", "&a", "!x", "<<", "=", "2024-01-01", "2024-01-01T10:00:00Z", "2024-01-01 10:00:00.5")
    lines = []
    for index, text in enumerate(SCALAR_TEXTS):
        quoted = json.dumps(text)
        if text in quoted_only:
            lines.append(f"k{index}: [{quoted}, '{text}', {{{quoted}: 1}}]")
        else:
            lines.append(f"k{index}: [{text}, {quoted}, '{text}', ! {text}, !!str {text}, {{{text}: 1}}]")
    lines += ["i: !!int '7'", "b: |\n  80\n", "f: >-\n  true\n", "n:"]
    if aliases:
        lines.append("<<: {merged: 1, i: 0}")
    else:
        lines = [line for line in lines if "*" not in line and "<<" not in line]
    document = "\n".join(lines) + "\n"
    errors: list[Diagnostic] = []
    ((ours, _),) = read_documents(Piece(str(tmp_path / "s.yaml"), document), Limits(), errors)

    def keys_as_text(value: object) -> object:
        if isinstance(value, dict):
            return {
                "null" if k is None else str(k).lower() if isinstance(k, bool) else str(k): keys_as_text(v)
                for k, v in value.items()
            }
        return [keys_as_text(v) for v in value] if isinstance(value, list) else value

    assert errors == []
    assert ours == keys_as_text(yaml.safe_load(document))


def _many_services(count: int, extra: str = "") -> str:
    docs = [
        f"apiVersion: v1\nkind: Service\nmetadata: {{name: s{i}, namespace: ns}}\n"
        f"spec:\n  clusterIP: 10.96.0.{i + 1}\n  ports:\n  - {{port: 80, nodePort: {30000 + i}}}\n  type: NodePort\n"
        for i in range(count)
    ]
    return "---\n".join(docs) + extra


def test_claims_meet_across_files_and_pieces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large files are read piece by piece; a name, clusterIP or nodePort claimed again in a later piece or
    file is an error at the later claim, naming the first."""
    from netcompile.load import manifests

    extra = (
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: s1, namespace: ns}\nspec: {ports: [{port: 1}]}\n"
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: late, namespace: ns}\n"
        "spec:\n  clusterIP: 10.96.0.3\n  ports:\n  - {port: 80, nodePort: 30004}\n  type: NodePort\n"
    )
    (tmp_path / "a.yaml").write_text(_many_services(40, extra))
    (tmp_path / "b.yaml").write_text(_many_services(3).replace("name: s", "name: t").replace("10.96.0.", "10.97.0."))
    monkeypatch.setattr(manifests, "PIECE_BYTES", 500)
    with pytest.raises(InputError) as info:
        load([str(tmp_path)])
    messages = [str(d) for d in info.value.diagnostics]
    a, last = f"{tmp_path}/a.yaml", len(_many_services(40).splitlines())
    assert messages[0] == (
        f'{a}:{last + 4}:11: Service "ns/s1": metadata.name: Duplicate value: "s1": already defined at {a}:10:1'
    )
    taken = 'provided {} is already allocated to Service "ns/{}"'
    assert any(f"{a}:{last + 11}:" in m and taken.format("IP", "s2") in m for m in messages), messages
    assert any(f"{a}:{last + 13}:" in m and taken.format("port", "s4") in m for m in messages), messages
    assert any(f"{tmp_path}/b.yaml:7:" in m and taken.format("port", "s0") in m for m in messages), messages


def test_the_object_limit_stops_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--max-objects bounds what is read into memory: past the limit no further piece is read."""
    from netcompile.load import manifests, source

    (tmp_path / "a.yaml").write_text(_many_services(200))
    monkeypatch.setattr(manifests, "PIECE_BYTES", 500)
    read: list[int] = []
    read_documents = source.read_documents

    def counted(piece: Piece, limits: Limits, errors: list[Diagnostic]) -> list[tuple[object, bool]]:
        read.append(piece.first_line)
        return read_documents(piece, limits, errors)  # type: ignore[return-value]

    monkeypatch.setattr(source, "read_documents", counted)
    with pytest.raises(InputError) as info:
        load([str(tmp_path)], Limits(max_objects=10))
    messages = [str(d) for d in info.value.diagnostics]
    assert messages == [f"{tmp_path}/a.yaml:91:1: more than 10 objects (--max-objects)"]
    assert 1 <= len(read) <= 11, read  # about a piece per object here: not the 200
    read.clear()
    assert len(load([str(tmp_path)]).services) == 200
    assert len(read) >= 50


def test_a_control_character_is_reported_at_its_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\x07b\n")
    assert errors_of(tmp_path) == [
        f"{tmp_path}/a.yaml:4:10: YAML syntax error: unacceptable character 7: control characters are not allowed"
    ]


VALID_ENDPOINTS = [
    "{addresses: [10.0.0.1]}",
    "{addresses: [10.0.0.2, 10.0.0.3], conditions: {ready: true}, nodeName: a, zone: z}",
    "{addresses: [10.0.0.4], conditions: {ready: false, serving: true, terminating: true}}",
    "{addresses: [10.0.0.5], conditions: {}, nodeName: '', zone: ''}",
    "{addresses: [10.0.0.6], conditions: {ready: false}}",
    "{addresses: [010.0.0.7]}",
    "{addresses: ['::ffff:10.0.0.8']}",
    "{addresses: [10.0.0.9], hints: {forZones: [{name: z}]}}",
    "{addresses: [fd00::1]}",
    "{addresses: [fd00::2], conditions: {serving: false}, nodeName: b}",
]
INVALID_ENDPOINTS = [
    "{addresses: [10.0.0.9], conditions: {ready: 'true'}}",
    "{addresses: [10.0.0.11], conditions: [ready]}",
    "{addresses: [10.0.0.12], nodeName: 7}",
    "{addresses: [10.0.0.13], zone: [z]}",
    "{addresses: []}",
    "{addresses: [10.0.0.300]}",
    "{addresses: [7]}",
    "{addresses: ''}",
    "{conditions: {ready: true}}",
    "[10.0.0.14]",
    "~",
]


@pytest.mark.parametrize("address_type", ["IPv4", "IPv6", "FQDN"])
@pytest.mark.parametrize("shapes", [VALID_ENDPOINTS, INVALID_ENDPOINTS], ids=["valid", "invalid"])
def test_plain_endpoints_read_as_field_by_field(
    write_yaml: WriteYaml, monkeypatch: pytest.MonkeyPatch, address_type: str, shapes: list[str]
) -> None:
    """Endpoints of the common shape skip the field-by-field path; objects and messages are the same."""
    from netcompile.load import endpoints

    family = [s for s in shapes if ("fd00" in s) == (address_type == "IPv6")] if address_type != "FQDN" else shapes
    d = write_yaml(
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
        "metadata: {name: s, namespace: n, labels: {kubernetes.io/service-name: s}}\n"
        f"addressType: {address_type}\nendpoints:\n" + "".join(f"- {shape}\n" for shape in family)
    )
    plain = endpoints._plain_endpoint
    taken: list[object] = []

    def counted(entry: object, version: int) -> object:
        endpoint = plain(entry, version)  # type: ignore[arg-type]
        taken.append(endpoint)
        return endpoint

    results: list[tuple[object, ...]] = []
    for fast in (counted, lambda entry, version: None):
        monkeypatch.setattr(endpoints, "_plain_endpoint", fast)
        try:
            results.append(load([str(d)]).endpoint_slices)
        except InputError as exc:
            results.append(tuple(str(diagnostic) for diagnostic in exc.diagnostics))
    assert results[0] == results[1]
    if address_type == "IPv4":
        assert all(isinstance(r, str) for r in results[0]) == (shapes is INVALID_ENDPOINTS)
        assert len(results[0]) >= (len(family) if shapes is INVALID_ENDPOINTS else 1)
        assert any(e is not None for e in taken) == (shapes is VALID_ENDPOINTS)
        assert any(e is None for e in taken)


def test_an_fqdn_endpoint_slice_is_said_to_reach_no_rule(write_yaml: WriteYaml) -> None:
    """kube-proxy programs nothing for addressType FQDN: its endpoints are dropped, with a notice at the
    slice (an IPv4 slice of the same Service is not noticed)."""
    d = write_yaml(
        """\
        apiVersion: v1
        kind: Service
        metadata: {name: ext, namespace: default}
        spec: {clusterIP: 10.96.0.50, ports: [{port: 80}]}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: ext-names, namespace: default, labels: {kubernetes.io/service-name: ext}}
        addressType: FQDN
        endpoints: [{addresses: [db.example.com]}]
        ports: [{port: 80}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: ext-v4, namespace: default, labels: {kubernetes.io/service-name: ext}}
        addressType: IPv4
        endpoints: [{addresses: [10.244.0.7]}]
        ports: [{port: 80}]
        """
    )
    objects = load([str(d)])
    assert [n for n in objects.notices if "EndpointSlice" in n] == [
        f'{d}/input.yaml:6:1: EndpointSlice "default/ext-names": addressType FQDN: kube-proxy programs no rule for '
        "names, so its endpoints reach no Service's rules (nor netcompile's)"
    ]
