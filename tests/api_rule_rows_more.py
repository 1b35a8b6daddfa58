"""The rows of tests/test_api_rules.py beyond Services: NetworkPolicy, label selectors and labels,
EndpointSlice, Endpoints, Pod, Node, Namespace (the row types and manifest builders are in
tests/api_rule_rows.py)."""

from __future__ import annotations

from ipaddress import ip_network

from netcompile.model import EndpointConditions, EndpointPort, PolicyType, Protocol
from tests.api_rule_rows import (
    CONDITIONS,
    CORE,
    CORE_DEFAULTS,
    DISCOVERY,
    DISCOVERY_DEFAULTS,
    IP_BLOCK,
    LABELS,
    META,
    NET,
    NET_DEFAULTS,
    NP_PEER,
    NP_PORT,
    NP_SPEC,
    OBJECT_META,
    REQUIREMENT,
    SLICE_ENDPOINTS,
    SLICE_PORTS,
    UTIL,
    Default,
    Refused,
    Row,
    endpoint_slice,
    endpoints,
    namespace,
    node,
    pod,
    policy,
    selector,
)

POLICY_RULES: list[Row] = [
    Default(
        f"{NET_DEFAULTS} SetDefaults_NetworkPolicy",
        policy("{}"),
        lambda o: o.network_policies[0].policy_types,
        (PolicyType.INGRESS,),
    ),
    Default(
        f"{NET_DEFAULTS} SetDefaults_NetworkPolicy",
        policy("{egress: [{}]}"),
        lambda o: o.network_policies[0].policy_types,
        (PolicyType.EGRESS, PolicyType.INGRESS),
    ),
    Default(
        f"{NET_DEFAULTS} SetDefaults_NetworkPolicy",
        policy("{policyTypes: [], egress: [{}]}"),
        lambda o: o.network_policies[0].policy_types,
        (PolicyType.EGRESS, PolicyType.INGRESS),
    ),
    Default(
        f"{NET_DEFAULTS} SetDefaults_NetworkPolicy",
        policy("{egress: []}"),
        lambda o: o.network_policies[0].policy_types,
        (PolicyType.INGRESS,),
    ),
    Default(
        f"{NET_DEFAULTS} SetDefaults_NetworkPolicyPort",
        policy("{ingress: [{ports: [{port: 80}]}]}"),
        lambda o: o.network_policies[0].ingress[0].ports[0].protocol,  # type: ignore[index]
        Protocol.TCP,
    ),
    Default(NP_SPEC, policy("{}"), lambda o: o.network_policies[0].pod_selector.is_empty, True),
    Refused(NP_SPEC, policy("{policyTypes: [Ingress, Egress, Ingress]}"), "spec.policyTypes", "more than two"),
    Default(
        NP_SPEC,
        policy("{policyTypes: [Egress, Egress]}"),
        lambda o: o.network_policies[0].policy_types,
        (PolicyType.EGRESS,),
    ),
    Refused(NP_SPEC, policy("{policyTypes: [Both]}"), "spec.policyTypes[0]", "Unsupported"),
    Refused(
        NP_PORT,
        policy("{ingress: [{ports: [{port: http, endPort: 90}]}]}"),
        "spec.ingress[0].ports[0].endPort",
        "may not be specified when `port` is non-numeric",
    ),
    Refused(
        NP_PORT,
        policy("{ingress: [{ports: [{endPort: 90}]}]}"),
        "spec.ingress[0].ports[0].endPort",
        "may not be specified when `port` is not specified",
    ),
    Refused(
        NP_PORT,
        policy("{egress: [{ports: [{port: 90, endPort: 80}]}]}"),
        "spec.egress[0].ports[0].endPort",
        "greater than or equal to `port`",
    ),
    Default(
        NP_PORT,
        policy("{ingress: [{ports: [{port: 80, endPort: 80}]}]}"),
        lambda o: o.network_policies[0].ingress[0].ports[0].end_port,  # type: ignore[index]
        80,
    ),
    Refused(NP_PORT, policy("{ingress: [{ports: [{port: 0}]}]}"), "spec.ingress[0].ports[0].port", "between 1 and"),
    Refused(
        NP_PORT,
        policy("{ingress: [{ports: [{port: 80, endPort: 65536}]}]}"),
        "spec.ingress[0].ports[0].endPort",
        "between 1 and",
    ),
    Refused(NP_PORT, policy("{ingress: [{ports: [{port: web--ui}]}]}"), "spec.ingress[0].ports[0].port", "consecutive"),
    Refused(NP_PORT, policy("{ingress: [{ports: [{port: Web}]}]}"), "spec.ingress[0].ports[0].port", "alpha-numeric"),
    Refused(NP_PORT, policy("{ingress: [{ports: [{protocol: ICMP}]}]}"), "spec.ingress[0].ports[0].protocol", "Unsup"),
    Refused(NP_PEER, policy("{ingress: [{from: [{}]}]}"), "spec.ingress[0].from[0]", "must specify a peer"),
    Refused(
        NP_PEER,
        policy("{ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]}"),
        "spec.ingress[0].from[0]",
        "may not specify both ipBlock and another peer",
    ),
    Default(
        NP_PEER,
        policy("{ingress: [{from: [{podSelector: {}, namespaceSelector: {}}]}]}"),
        lambda o: len(o.network_policies[0].ingress[0].peers or ()),
        1,
    ),
    Refused(IP_BLOCK, policy("{egress: [{to: [{ipBlock: {}}]}]}"), "spec.egress[0].to[0].ipBlock.cidr", "Required"),
    Refused(
        IP_BLOCK,
        policy("{egress: [{to: [{ipBlock: {cidr: 10.0.0.0/40}}]}]}"),
        "spec.egress[0].to[0].ipBlock.cidr",
        "CIDR",
    ),
    Refused(
        IP_BLOCK,
        policy("{egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}}]}]}"),
        "spec.egress[0].to[0].ipBlock.except[0]",
        "strict subset",
    ),
    Refused(
        IP_BLOCK,
        policy("{egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}}]}]}"),
        "spec.egress[0].to[0].ipBlock.except[0]",
        "strict subset",
    ),
    Refused(
        IP_BLOCK,
        policy('{egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: ["fd00::/64"]}}]}]}'),
        "spec.egress[0].to[0].ipBlock.except[0]",
        "strict subset",
    ),
    Default(
        IP_BLOCK,
        policy("{egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]}]}"),
        lambda o: o.network_policies[0].egress[0].peers[0].ip_block.except_,  # type: ignore[index, union-attr]
        (ip_network("10.1.0.0/16"),),
    ),
    Default(  # ParseCIDRSloppy: host bits allowed, cleared
        IP_BLOCK,
        policy("{egress: [{to: [{ipBlock: {cidr: 10.1.2.3/8}}]}]}"),
        lambda o: o.network_policies[0].egress[0].peers[0].ip_block.cidr,  # type: ignore[index, union-attr]
        ip_network("10.0.0.0/8"),
        note="IsValidCIDRForLegacyField: newer API servers (StrictIPCIDRValidation) refuse host bits in new objects",
    ),
    Refused(f"{NET} ValidateNetworkPolicyName", policy("{}").replace("name: p", "name: P"), "metadata.name", "1123"),
]

SELECTOR_RULES: list[Row] = [
    Refused(
        REQUIREMENT,
        selector("{key: app, operator: In}"),
        "spec.podSelector.matchExpressions[0].values",
        "must be specified when `operator` is 'In' or 'NotIn'",
    ),
    Refused(
        REQUIREMENT,
        selector("{key: app, operator: NotIn, values: []}"),
        "spec.podSelector.matchExpressions[0].values",
        "Required",
    ),
    Refused(
        REQUIREMENT,
        selector("{key: app, operator: Exists, values: [a]}"),
        "spec.podSelector.matchExpressions[0].values",
        "may not be specified when `operator` is 'Exists'",
    ),
    Refused(
        REQUIREMENT,
        selector("{key: app, operator: Near, values: [a]}"),
        "spec.podSelector.matchExpressions[0].operator",
        "not a valid selector operator",
    ),
    Refused(
        REQUIREMENT,
        selector("{key: app, values: [a]}"),
        "spec.podSelector.matchExpressions[0].operator",
        "not a valid selector operator",
    ),
    Refused(
        REQUIREMENT,
        selector("{key: -app, operator: Exists}"),
        "spec.podSelector.matchExpressions[0].key",
        "name part must consist of alphanumeric characters",
    ),
    Refused(
        REQUIREMENT,
        selector("{key: app, operator: In, values: [a b]}"),
        "spec.podSelector.matchExpressions[0].values[0]",
        "valid label",
    ),
    Default(
        REQUIREMENT,
        selector("{key: app, operator: In, values: [web, api]}"),
        lambda o: sorted(o.network_policies[0].pod_selector.match_expressions[0].values),
        ["api", "web"],
    ),
    Refused(
        f"{META} ValidateLabelSelector",
        policy("{podSelector: {matchLabels: {app: -web}}}"),
        "spec.podSelector.matchLabels[app]",
        "valid label",
    ),
    Refused(LABELS, pod("{}", "{name: p, labels: {app: " + "x" * 64 + "}}"), "metadata.labels[app]", "63 characters"),
    Default(LABELS, pod("{}", '{name: p, labels: {app: ""}}'), lambda o: o.pods[0].meta.labels, (("app", ""),)),
    Default(
        f"{UTIL} IsQualifiedName",
        pod("{}", "{name: p, labels: {example.com/app: web}}"),
        lambda o: o.pods[0].meta.labels,
        (("example.com/app", "web"),),
    ),
    Refused(
        f"{UTIL} IsQualifiedName",
        pod("{}", "{name: p, labels: {Example.com/app: web}}"),
        "metadata.labels[Example.com/app]",
        "prefix part",
    ),
    Refused(
        f"{UTIL} IsQualifiedName",
        pod("{}", "{name: p, labels: {/app: web}}"),
        "metadata.labels[/app]",
        "prefix part must be non-empty",
    ),
    Refused(
        f"{UTIL} IsQualifiedName",
        pod("{}", "{name: p, labels: {" + "a" * 64 + ": web}}"),
        f"metadata.labels[{'a' * 64}]",
        "name part must be no more than 63",
    ),
]

SLICE_RULES: list[Row] = [
    Refused(f"{DISCOVERY} validateAddressType", endpoint_slice("endpoints: []"), "addressType", "Required"),
    Refused(f"{DISCOVERY} validateAddressType", endpoint_slice("addressType: IP"), "addressType", "Unsupported"),
    Refused(
        SLICE_ENDPOINTS,
        endpoint_slice("addressType: IPv4\nendpoints: [{addresses: []}]"),
        "endpoints[0].addresses",
        "must contain at least 1 address",
    ),
    Refused(
        SLICE_ENDPOINTS,
        endpoint_slice('addressType: IPv4\nendpoints: [{addresses: ["fd00::1"]}]'),
        "endpoints[0].addresses[0]",
        "IPv4",
    ),
    Refused(
        SLICE_ENDPOINTS,
        endpoint_slice("addressType: IPv4\nendpoints: [{addresses: [127.0.0.1]}]"),
        "endpoints[0].addresses[0]",
        "loopback",
    ),
    Refused(
        SLICE_ENDPOINTS,
        endpoint_slice('addressType: IPv6\nendpoints: [{addresses: ["fe80::1"]}]'),
        "endpoints[0].addresses[0]",
        "link-local",
    ),
    Refused(
        SLICE_ENDPOINTS,
        endpoint_slice("addressType: FQDN\nendpoints: [{addresses: [db]}]"),
        "endpoints[0].addresses[0]",
        "two segments",
    ),
    Refused(
        SLICE_ENDPOINTS,
        endpoint_slice("addressType: IPv4\nendpoints: [{addresses: [10.0.0.1], nodeName: N_1}]"),
        "endpoints[0].nodeName",
        "subdomain",
    ),
    Refused(
        SLICE_ENDPOINTS,
        endpoint_slice(
            "addressType: IPv4\nendpoints: [{addresses: [" + ", ".join(f"10.0.0.{i}" for i in range(1, 102)) + "]}]"
        ),
        "endpoints[0].addresses",
        "Too many",
    ),
    Default(
        SLICE_ENDPOINTS,
        endpoint_slice("addressType: FQDN\nendpoints: [{addresses: [db.example.com]}]"),
        lambda o: o.endpoint_slices[0].address_type,
        "FQDN",
    ),
    Default(
        DISCOVERY_DEFAULTS,
        endpoint_slice("addressType: IPv4\nports: [{port: 80}]"),
        lambda o: o.endpoint_slices[0].ports,
        (EndpointPort("", 80, Protocol.TCP),),
    ),
    Refused(
        SLICE_PORTS, endpoint_slice("addressType: IPv4\nports: [{port: 80}, {port: 81}]"), "ports[1].name", "Duplicate"
    ),
    Refused(SLICE_PORTS, endpoint_slice("addressType: IPv4\nports: [{name: Web, port: 80}]"), "ports[0].name", "1123"),
    Refused(
        SLICE_PORTS,
        endpoint_slice("addressType: IPv4\nports: [{port: 80, protocol: ICMP}]"),
        "ports[0].protocol",
        "Unsupported",
    ),
    Default(
        SLICE_PORTS,
        endpoint_slice("addressType: IPv4\nports: [{name: any}]"),
        lambda o: o.endpoint_slices[0].ports,
        (),
        note="a port without a number is valid (not a Service's); no Service port can use it: left out",
    ),
    Default(
        CONDITIONS,
        endpoint_slice("addressType: IPv4\nendpoints: [{addresses: [10.0.0.1]}]"),
        lambda o: o.endpoint_slices[0].endpoints[0].conditions,
        EndpointConditions(True, True, False),
    ),
    Default(
        CONDITIONS,
        endpoint_slice("addressType: IPv4\nendpoints: [{addresses: [10.0.0.1], conditions: {}}]"),
        lambda o: o.endpoint_slices[0].endpoints[0].conditions,
        EndpointConditions(True, True, False),
    ),
    Default(
        CONDITIONS,
        endpoint_slice(
            "addressType: IPv4\nendpoints: [{addresses: [10.0.0.1], conditions: {ready: false, terminating: true}}]"
        ),
        lambda o: o.endpoint_slices[0].endpoints[0].conditions,
        EndpointConditions(False, True, True),
    ),
    Default(
        CONDITIONS,
        endpoint_slice("addressType: IPv4\nendpoints: [{addresses: [10.0.0.1], conditions: {serving: false}}]"),
        lambda o: o.endpoint_slices[0].endpoints[0].conditions,
        EndpointConditions(True, False, False),
    ),
    Refused(
        f"{DISCOVERY} ValidateEndpointSliceName",
        endpoint_slice("addressType: IPv4").replace("web-1", "Web"),
        "metadata.name",
        "subdomain",
    ),
]

ENDPOINTS_RULES: list[Row] = [
    Default(
        f"{CORE_DEFAULTS} SetDefaults_Endpoints",
        endpoints("[{addresses: [{ip: 10.0.0.1}], ports: [{port: 80}]}]"),
        lambda o: o.endpoints[0].subsets[0].ports[0].protocol,
        Protocol.TCP,
    ),
    Refused(
        f"{CORE} validateEndpointSubsets",
        endpoints("[{ports: [{port: 80}]}]"),
        "subsets[0]",
        "must specify `addresses` or `notReadyAddresses`",
    ),
    Refused(
        f"{CORE} validateEndpointAddress",
        endpoints("[{addresses: [{ip: 127.0.0.1}]}]"),
        "subsets[0].addresses[0].ip",
        "loopback",
    ),
    Refused(
        f"{CORE} validateEndpointAddress",
        endpoints("[{notReadyAddresses: [{ip: 10.0.0.1, nodeName: N_1}]}]"),
        "subsets[0].notReadyAddresses[0].nodeName",
        "subdomain",
    ),
    Refused(
        f"{CORE} validateEndpointPort",
        endpoints("[{addresses: [{ip: 10.0.0.1}], ports: [{port: 80}, {name: b, port: 81}]}]"),
        "subsets[0].ports[0].name",
        "Required",
    ),
    Refused(
        f"{CORE} validateEndpointPort",
        endpoints("[{addresses: [{ip: 10.0.0.1}], ports: [{port: 0}]}]"),
        "subsets[0].ports[0].port",
        "between 1 and",
    ),
    Refused(
        f"{CORE} validateEndpointPort",
        endpoints("[{addresses: [{ip: 10.0.0.1}], ports: [{name: a, port: 80}, {name: a, port: 81}]}]"),
        "subsets[0].ports[1].name",
        "Duplicate",
        note="the API server accepts a name twice in one subset; netcompile refuses it: a Service port would "
        "name two ports",
    ),
]

POD_RULES: list[Row] = [
    Default(
        "staging/src/k8s.io/api/core/v1/types.go ContainerPort.Protocol (+default=TCP)",
        pod("{containers: [{name: c, ports: [{containerPort: 80}]}]}"),
        lambda o: o.pods[0].ports[0].protocol,
        Protocol.TCP,
    ),
    Refused(
        f"{CORE} validateContainerPorts",
        pod("{containers: [{name: c, ports: [{containerPort: 0}]}]}"),
        "spec.containers[0].ports[0].containerPort",
        "Required",
    ),
    Refused(
        f"{CORE} validateContainerPorts",
        pod("{containers: [{name: c, ports: [{containerPort: 65536}]}]}"),
        "spec.containers[0].ports[0].containerPort",
        "between 1 and",
    ),
    Refused(
        f"{CORE} validateContainerPorts",
        pod("{containers: [{name: c, ports: [{name: http, containerPort: 80}, {name: http, containerPort: 81}]}]}"),
        "spec.containers[0].ports[1].name",
        "Duplicate",
    ),
    Default(
        f"{CORE} validateContainerPorts",
        pod(
            "{containers: [{name: a, ports: [{name: http, containerPort: 80}]}, "
            "{name: b, ports: [{name: http, containerPort: 81}]}]}"
        ),
        lambda o: len(o.pods[0].ports),
        2,
    ),
    Refused(
        f"{UTIL} IsValidPortName",
        pod("{containers: [{name: c, ports: [{name: http-web-frontend, containerPort: 80}]}]}"),
        "spec.containers[0].ports[0].name",
        "15",
    ),
    Refused(
        f"{UTIL} IsValidPortName",
        pod("{containers: [{name: c, ports: [{name: '8080', containerPort: 80}]}]}"),
        "spec.containers[0].ports[0].name",
        "at least one letter",
    ),
    Refused(
        f"{UTIL} IsValidPortName",
        pod("{containers: [{name: c, ports: [{name: -web, containerPort: 80}]}]}"),
        "spec.containers[0].ports[0].name",
        "begin or end with a hyphen",
    ),
    Refused(
        f"{UTIL} IsValidPortName",
        pod("{containers: [{name: c, ports: [{name: Web, containerPort: 80}]}]}"),
        "spec.containers[0].ports[0].name",
        "alpha-numeric",
    ),
    Refused(f"{CORE} ValidatePodName", pod("{}", "{name: p_1}"), "metadata.name", "subdomain"),
    Refused(OBJECT_META, pod("{}", "{name: p, namespace: Team.A}"), "metadata.namespace", "RFC 1123 label"),
    Default(OBJECT_META, pod("{}", "{name: p}"), lambda o: o.pods[0].meta.namespace, "default"),
]

NODE_RULES: list[Row] = [
    Refused(
        f"{CORE} ValidateNode",
        node("{podCIDRs: [10.244.0.0/24, 10.245.0.0/24]}"),
        "spec.podCIDRs",
        "no more than one CIDR for each IP family",
    ),
    Refused(
        f"{CORE} ValidateNode",
        node('{podCIDRs: [10.244.0.0/24, "fd00::/64", 10.245.0.0/24]}'),
        "spec.podCIDRs",
        "no more than one CIDR for each IP family",
    ),
    Refused(f"{CORE} ValidateNode", node("{podCIDRs: [10.244.0.0/33]}"), "spec.podCIDRs[0]", "CIDR"),
    Default(
        f"{CORE} ValidateNode",
        node('{podCIDRs: [10.244.0.0/24, "fd00:244::/64"]}'),
        lambda o: [c.version for c in o.nodes[0].pod_cidrs],
        [4, 6],
    ),
    Default(
        "pkg/apis/core/v1/conversion.go Convert_v1_NodeSpec_To_core_NodeSpec",
        node("{podCIDR: 10.244.0.0/24}"),
        lambda o: o.nodes[0].pod_cidrs,
        (ip_network("10.244.0.0/24"),),
    ),
    Refused(f"{CORE} ValidateNodeName", node("{}", name="Node_1"), "metadata.name", "subdomain"),
    Default(
        f"{CORE_DEFAULTS} SetDefaults_Namespace",
        namespace("{name: team-a}"),
        lambda o: o.namespaces[0].meta.labels,
        (("kubernetes.io/metadata.name", "team-a"),),
    ),
    Refused(f"{CORE} ValidateNamespace", namespace("{name: team.a}"), "metadata.name", "RFC 1123 label"),
    Refused(f"{UTIL} IsDNS1123Label", namespace("{name: " + "a" * 64 + "}"), "metadata.name", "63 characters"),
    Refused(OBJECT_META, namespace("{}"), "metadata.name", "Required"),
]

MORE_ROWS: list[Row] = [
    *POLICY_RULES,
    *SELECTOR_RULES,
    *SLICE_RULES,
    *ENDPOINTS_RULES,
    *POD_RULES,
    *NODE_RULES,
]
