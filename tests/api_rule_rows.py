"""The rows of tests/test_api_rules.py: the API server's defaulting and validation rules, one per row;
here the row types, the manifest builders and the Service rows (the other kinds: api_rule_rows_more.py).

Each row cites its source in kubernetes/kubernetes (file and function), gives one manifest, and expects
either the defaulted value in the model (`Default`) or an error (`Refused`: field path and message gist).
`note` marks a deliberate difference from the API server, also listed in docs/semantics.md ("Loading").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import ip_address, ip_network

from netcompile.model import (
    Objects,
    Protocol,
    ServiceType,
    TrafficPolicy,
)


@dataclass(frozen=True)
class Default:
    """The API server accepts the manifest; the model holds `expected` at `read`."""

    source: str
    manifest: str
    read: Callable[[Objects], object]
    expected: object
    note: str = ""


@dataclass(frozen=True)
class Refused:
    """The API server refuses the manifest, with an error at `path` whose message holds `gist`."""

    source: str
    manifest: str
    path: str
    gist: str
    note: str = ""


Row = Default | Refused

# --- sources --------------------------------------------------------------------------------------------
CORE_DEFAULTS = "pkg/apis/core/v1/defaults.go"
CORE = "pkg/apis/core/validation/validation.go"
NET = "pkg/apis/networking/validation/validation.go"
NET_DEFAULTS = "pkg/apis/networking/v1/defaults.go"
DISCOVERY = "pkg/apis/discovery/validation/validation.go"
DISCOVERY_DEFAULTS = "pkg/apis/discovery/v1/defaults.go SetDefaults_EndpointPort"
CONDITIONS = "staging/src/k8s.io/api/discovery/v1/types.go EndpointConditions"
META = "staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/validation/validation.go"
# Kubernetes' IP and CIDR parser (k8s.io/utils/net ParseIPSloppy, ParseCIDRSloppy): Go's before 1.17.
SLOPPY = "vendor/k8s.io/utils/internal/third_party/forked/golang/net/ip.go"
UTIL = "staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go"
OBJECT_META = "staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go ValidateObjectMeta"

SET_DEFAULTS_SERVICE = f"{CORE_DEFAULTS} SetDefaults_Service"
VALIDATE_SERVICE = f"{CORE} ValidateService"
SERVICE_PORT = f"{CORE} validateServicePort"
CLUSTER_IPS = f"{CORE} ValidateServiceClusterIPsRelatedFields"
AFFINITY = f"{CORE} validateClientIPAffinityConfig"
ETP = f"{CORE} validateServiceExternalTrafficPolicy"
ITP = f"{CORE} validateServiceInternalTrafficFieldsValue"
NON_SPECIAL = f"{CORE} ValidateNonSpecialIP"
NODE_PORTS = "pkg/registry/core/service/portallocator/allocator.go ErrNotInRange"
IP_FAMILIES = "pkg/registry/core/service/storage/alloc.go initIPFamilyFields"
NP_PORT = f"{NET} ValidateNetworkPolicyPort"
NP_PEER = f"{NET} ValidateNetworkPolicyPeer"
IP_BLOCK = f"{NET} ValidateIPBlock"
NP_SPEC = f"{NET} ValidateNetworkPolicySpec"
REQUIREMENT = f"{META} ValidateLabelSelectorRequirement"
LABELS = f"{META} ValidateLabels"
SLICE_ENDPOINTS = f"{DISCOVERY} validateEndpoints"
SLICE_PORTS = f"{DISCOVERY} validatePorts"


# --- manifests ------------------------------------------------------------------------------------------
def service(spec: str, status: str = "", name: str = "web") -> str:
    tail = f"status: {status}\n" if status else ""
    return f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: default}}\n{tail}spec: {spec}\n"


def policy(spec: str) -> str:
    return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: default}\n" + (
        f"spec: {spec}\n"
    )


def endpoint_slice(body: str) -> str:
    head = "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
    return (
        head + "metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}\n" + body + "\n"
    )


def endpoints(subsets: str) -> str:
    return f"apiVersion: v1\nkind: Endpoints\nmetadata: {{name: web, namespace: default}}\nsubsets: {subsets}\n"


def pod(spec: str, metadata: str = "{name: p, namespace: default}") -> str:
    return f"apiVersion: v1\nkind: Pod\nmetadata: {metadata}\nspec: {spec}\n"


def node(spec: str, name: str = "n1") -> str:
    return f"apiVersion: v1\nkind: Node\nmetadata: {{name: {name}}}\nspec: {spec}\n"


def namespace(metadata: str) -> str:
    return f"apiVersion: v1\nkind: Namespace\nmetadata: {metadata}\n"


PORT = "ports: [{port: 80}]"


def selector(expression: str) -> str:
    return policy(f"{{podSelector: {{matchExpressions: [{expression}]}}}}")


_AFFINITY = "{sessionAffinity: ClientIP, sessionAffinityConfig: {clientIP: {timeoutSeconds: 0}}, ports: [{port: 80}]}"

SERVICE_DEFAULTS: list[Row] = [
    Default(SET_DEFAULTS_SERVICE, service(f"{{{PORT}}}"), lambda o: o.services[0].type, ServiceType.CLUSTER_IP),
    Default(SET_DEFAULTS_SERVICE, service(f"{{{PORT}}}"), lambda o: o.services[0].session_affinity_timeout, None),
    Default(
        SET_DEFAULTS_SERVICE,
        service(f"{{sessionAffinity: ClientIP, {PORT}}}"),
        lambda o: o.services[0].session_affinity_timeout,
        10800,
    ),
    Default(
        SET_DEFAULTS_SERVICE,
        service(f"{{sessionAffinity: ClientIP, sessionAffinityConfig: {{clientIP: {{}}}}, {PORT}}}"),
        lambda o: o.services[0].session_affinity_timeout,
        10800,
    ),
    Default(
        SET_DEFAULTS_SERVICE,
        service(f"{{sessionAffinity: ClientIP, sessionAffinityConfig: {{clientIP: {{timeoutSeconds: 60}}}}, {PORT}}}"),
        lambda o: o.services[0].session_affinity_timeout,
        60,
    ),
    Default(  # sessionAffinity None: the config is dropped, so ValidateService's Forbidden never fires
        SET_DEFAULTS_SERVICE,
        service(f"{{sessionAffinity: None, sessionAffinityConfig: {{clientIP: {{timeoutSeconds: 60}}}}, {PORT}}}"),
        lambda o: o.services[0].session_affinity_timeout,
        None,
    ),
    Default(SET_DEFAULTS_SERVICE, service(f"{{{PORT}}}"), lambda o: o.services[0].ports[0].protocol, Protocol.TCP),
    Default(SET_DEFAULTS_SERVICE, service(f"{{{PORT}}}"), lambda o: o.services[0].ports[0].target_port, 80),
    Default(
        SET_DEFAULTS_SERVICE,
        service("{ports: [{port: 80, targetPort: 0}]}"),
        lambda o: o.services[0].ports[0].target_port,
        80,
    ),
    Default(
        SET_DEFAULTS_SERVICE,
        service('{ports: [{port: 80, targetPort: ""}]}'),
        lambda o: o.services[0].ports[0].target_port,
        80,
    ),
    Default(
        SET_DEFAULTS_SERVICE,
        service("{ports: [{port: 80, targetPort: http}]}"),
        lambda o: o.services[0].ports[0].target_port,
        "http",
    ),
    Default(
        SET_DEFAULTS_SERVICE,
        service(f"{{type: NodePort, {PORT}}}"),
        lambda o: o.services[0].external_traffic_policy,
        TrafficPolicy.CLUSTER,
    ),
    Default(
        SET_DEFAULTS_SERVICE,
        service(f"{{{PORT}}}"),
        lambda o: o.services[0].internal_traffic_policy,
        TrafficPolicy.CLUSTER,
    ),
    Default(
        SET_DEFAULTS_SERVICE,
        service(f"{{type: LoadBalancer, {PORT}}}", status="{loadBalancer: {ingress: [{ip: 192.0.2.7}]}}"),
        lambda o: o.services[0].load_balancer_ingress[0].ip_mode,
        "VIP",
    ),
    Default(
        IP_FAMILIES,
        service(f'{{clusterIP: "fd00::10", clusterIPs: ["fd00::10", 10.96.0.10], {PORT}}}'),
        lambda o: [a.version for a in o.services[0].cluster_ips],
        [6, 4],
    ),
    Default(
        CLUSTER_IPS,
        service(f"{{clusterIPs: [10.96.0.10], {PORT}}}"),
        lambda o: [str(a) for a in o.services[0].cluster_ips],
        ["10.96.0.10"],
        note="the API server wants clusterIP beside clusterIPs ('must be empty when `clusterIP` is not "
        "specified'); netcompile reads clusterIPs alone as clusterIP = clusterIPs[0]",
    ),
]

SERVICE_RULES: list[Row] = [
    Refused(SERVICE_PORT, service("{ports: [{port: 0}]}"), "spec.ports[0].port", "between 1 and 65535"),
    Refused(SERVICE_PORT, service("{ports: [{port: 65536}]}"), "spec.ports[0].port", "between 1 and 65535"),
    Refused(SERVICE_PORT, service("{ports: [{name: a, port: 80}, {port: 81}]}"), "spec.ports[1].name", "Required"),
    Refused(
        SERVICE_PORT, service("{ports: [{name: a, port: 80}, {name: a, port: 81}]}"), "spec.ports[1].name", "Duplicate"
    ),
    Refused(SERVICE_PORT, service("{ports: [{name: Http, port: 80}]}"), "spec.ports[0].name", "RFC 1123 label"),
    Default(SERVICE_PORT, service(f"{{{PORT}}}"), lambda o: o.services[0].ports[0].name, ""),
    Refused(SERVICE_PORT, service("{ports: [{port: 80, protocol: ICMP}]}"), "spec.ports[0].protocol", "Unsupported"),
    Refused(SERVICE_PORT, service("{ports: [{port: 80, targetPort: 70000}]}"), "spec.ports[0].targetPort", "65535"),
    Refused(
        SERVICE_PORT,
        service("{ports: [{port: 80, targetPort: web_port}]}"),
        "spec.ports[0].targetPort",
        "alpha-numeric characters",
    ),
    Refused(
        VALIDATE_SERVICE, service("{ports: [{name: a, port: 80}, {name: b, port: 80}]}"), "spec.ports[1]", "Duplicate"
    ),
    Default(
        VALIDATE_SERVICE,
        service("{ports: [{name: a, port: 53}, {name: b, port: 53, protocol: UDP}]}"),
        lambda o: len(o.services[0].ports),
        2,
    ),
    Refused(VALIDATE_SERVICE, service("{}"), "spec.ports", "Required"),
    Default(VALIDATE_SERVICE, service("{clusterIP: None}"), lambda o: o.services[0].headless, True),
    Refused(VALIDATE_SERVICE, service("{ports: [{port: 80, nodePort: 30080}]}"), "spec.ports[0].nodePort", "ClusterIP"),
    Refused(
        VALIDATE_SERVICE,
        service(
            "{type: NodePort, ports: [{name: a, port: 80, nodePort: 30080}, {name: b, port: 81, nodePort: 30080}]}"
        ),
        "spec.ports[1].nodePort",
        "Duplicate",
    ),
    Default(
        VALIDATE_SERVICE,
        service(
            "{type: NodePort, ports: [{name: a, port: 53, nodePort: 30053}, "
            "{name: b, port: 53, protocol: UDP, nodePort: 30053}]}"
        ),
        lambda o: [p.node_port for p in o.services[0].ports],
        [30053, 30053],
    ),
    Refused(
        NODE_PORTS,
        service("{type: NodePort, ports: [{port: 80, nodePort: 8080}]}"),
        "spec.ports[0].nodePort",
        "not in the valid range",
    ),
    Refused(VALIDATE_SERVICE, service(f"{{type: NodePort, clusterIP: None, {PORT}}}"), "spec.clusterIP", "'None'"),
    Refused(
        VALIDATE_SERVICE,
        service(f"{{type: LoadBalancer, clusterIP: None, clusterIPs: [None], {PORT}}}"),
        "spec.clusterIPs[0]",
        "may not be set to 'None' for LoadBalancer services",
    ),
    Refused(
        VALIDATE_SERVICE,
        service(f"{{type: ExternalName, externalName: db.example.com, clusterIPs: [10.96.0.10], {PORT}}}"),
        "spec.clusterIPs",
        "may not be set for ExternalName services",
    ),
    Refused(
        VALIDATE_SERVICE,
        service("{type: ExternalName, externalName: db.example.com, ipFamilies: [IPv4]}"),
        "spec.ipFamilies",
        "may not be set for ExternalName services",
    ),
    Refused(VALIDATE_SERVICE, service("{type: ExternalName}"), "spec.externalName", "Required"),
    Refused(VALIDATE_SERVICE, service("{type: ExternalName, externalName: Db_1}"), "spec.externalName", "subdomain"),
    Default(
        VALIDATE_SERVICE,
        service("{type: ExternalName, externalName: db.example.com.}"),
        lambda o: o.services[0].external_name,
        "db.example.com.",
    ),
    Refused(VALIDATE_SERVICE, service(f"{{type: Internal, {PORT}}}"), "spec.type", "Unsupported"),
    Refused(VALIDATE_SERVICE, service(f"{{sessionAffinity: Sticky, {PORT}}}"), "spec.sessionAffinity", "Unsupported"),
    Refused(VALIDATE_SERVICE, service(f"{{selector: {{app: a b}}, {PORT}}}"), "spec.selector[app]", "valid label"),
    Refused(VALIDATE_SERVICE, service(f"{{{PORT}}}", name="1web"), "metadata.name", "DNS-1035"),
    Refused(VALIDATE_SERVICE, service(f"{{{PORT}}}", name="web.a"), "metadata.name", "DNS-1035"),
    Refused(
        VALIDATE_SERVICE,
        service(f"{{type: NodePort, loadBalancerSourceRanges: [10.0.0.0/8], {PORT}}}"),
        "spec.loadBalancerSourceRanges",
        "may only be used when `type` is 'LoadBalancer'",
        note="the API server spells the path spec.LoadBalancerSourceRanges",
    ),
    Refused(
        VALIDATE_SERVICE,
        service(f"{{type: LoadBalancer, loadBalancerSourceRanges: [10.0.0.0/33], {PORT}}}"),
        "spec.loadBalancerSourceRanges[0]",
        "CIDR",
        note="the API server spells the path spec.LoadBalancerSourceRanges[0]",
    ),
    Default(
        VALIDATE_SERVICE,
        service(f'{{type: LoadBalancer, loadBalancerSourceRanges: [" 10.0.0.0/8 "], {PORT}}}'),
        lambda o: o.services[0].load_balancer_source_ranges,
        (ip_network("10.0.0.0/8"),),
    ),
    Default(  # the prefix length read by dtoi, which takes leading zeros
        f"{SLOPPY} ParseCIDR",
        service(f'{{type: LoadBalancer, loadBalancerSourceRanges: [" 10.0.0.0/08 ", "fd00::/064"], {PORT}}}'),
        lambda o: o.services[0].load_balancer_source_ranges,
        (ip_network("10.0.0.0/8"), ip_network("fd00::/64")),
    ),
    Default(  # each part read by dtoi: leading zeros, as many as given, are decimal
        f"{SLOPPY} parseIPv4",
        service(f"{{externalIPs: [010.0000.0.0001], {PORT}}}"),
        lambda o: o.services[0].external_ips,
        (ip_address("10.0.0.1"),),
    ),
    Refused(
        f"{SLOPPY} parseIPv4", service(f"{{externalIPs: [10.0.0.0256], {PORT}}}"), "spec.externalIPs[0]", "valid IP"
    ),
    Refused(
        f"{SLOPPY} ParseCIDR",
        service(f"{{type: LoadBalancer, loadBalancerSourceRanges: [10.0.0.0/033], {PORT}}}"),
        "spec.loadBalancerSourceRanges[0]",
        "valid CIDR",
    ),
    Refused(VALIDATE_SERVICE, service(f"{{externalIPs: [127.0.0.1], {PORT}}}"), "spec.externalIPs[0]", "loopback"),
    Refused(NON_SPECIAL, service(f"{{externalIPs: [169.254.1.1], {PORT}}}"), "spec.externalIPs[0]", "link-local"),
    Refused(NON_SPECIAL, service(f"{{externalIPs: [0.0.0.0], {PORT}}}"), "spec.externalIPs[0]", "unspecified"),
    Refused(
        f"{CORE} validateServiceTrafficDistribution",
        service(f"{{trafficDistribution: Anywhere, {PORT}}}"),
        "spec.trafficDistribution",
        "Unsupported",
    ),
    Refused(AFFINITY, service(_AFFINITY), "spec.sessionAffinityConfig.clientIP.timeoutSeconds", "greater than 0"),
    Refused(
        AFFINITY,
        service(_AFFINITY.replace("timeoutSeconds: 0", "timeoutSeconds: 86401")),
        "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
        "less than 86400",
    ),
    Default(
        AFFINITY,
        service(_AFFINITY.replace("timeoutSeconds: 0", "timeoutSeconds: 86400")),
        lambda o: o.services[0].session_affinity_timeout,
        86400,
    ),
    Refused(CLUSTER_IPS, service(f"{{clusterIPs: [None, 10.96.0.1], {PORT}}}"), "spec.clusterIPs", "first and only"),
    Refused(
        CLUSTER_IPS,
        service(f"{{clusterIP: 10.96.0.1, clusterIPs: [10.96.0.1, 10.96.0.2], {PORT}}}"),
        "spec.clusterIPs",
        "no more than one IP for each IP family",
    ),
    Refused(
        CLUSTER_IPS,
        service(f'{{clusterIP: 10.96.0.1, clusterIPs: [10.96.0.1, "fd00::1", 10.96.0.2], {PORT}}}'),
        "spec.clusterIPs",
        "up to 2 values",
    ),
    Refused(
        CLUSTER_IPS,
        service(f"{{clusterIP: 10.96.0.2, clusterIPs: [10.96.0.1], {PORT}}}"),
        "spec.clusterIPs",
        "first value must match `clusterIP`",
    ),
    Refused(
        CLUSTER_IPS,
        service(f"{{clusterIP: 10.96.0.1, clusterIPs: [10.96.0.1], ipFamilies: [IPv6], {PORT}}}"),
        "spec.clusterIPs[0]",
        "expected an IPv6 value as indicated by `ipFamilies[0]`",
    ),
    Refused(CLUSTER_IPS, service(f"{{ipFamilies: [IPv4, IPv4], {PORT}}}"), "spec.ipFamilies[1]", "Duplicate"),
    Refused(CLUSTER_IPS, service(f"{{ipFamilies: [IPv5], {PORT}}}"), "spec.ipFamilies[0]", "Unsupported"),
    Refused(
        CLUSTER_IPS,
        service(f"{{clusterIP: 10.96.0.300, {PORT}}}"),
        "spec.clusterIP",
        "valid IP address",
        note="the API server reports it at spec.clusterIPs[0], which it fills from clusterIP",
    ),
    Refused(ETP, service(f"{{externalTrafficPolicy: Local, {PORT}}}"), "spec.externalTrafficPolicy", "externally"),
    Refused(
        ETP,
        service(f"{{type: NodePort, externalTrafficPolicy: Global, {PORT}}}"),
        "spec.externalTrafficPolicy",
        "Unsup",
    ),
    Default(
        ETP,
        service(f"{{externalIPs: [192.0.2.1], externalTrafficPolicy: Local, {PORT}}}"),
        lambda o: o.services[0].external_traffic_policy,
        TrafficPolicy.LOCAL,
    ),
    Refused(ITP, service(f"{{internalTrafficPolicy: Node, {PORT}}}"), "spec.internalTrafficPolicy", "Unsupported"),
    Refused(
        VALIDATE_SERVICE,
        service(f"{{type: NodePort, allocateLoadBalancerNodePorts: false, {PORT}}}"),
        "spec.allocateLoadBalancerNodePorts",
        "may only be used when `type` is 'LoadBalancer'",
    ),
    Refused(
        f"{CORE} validateLoadBalancerClassField",
        service(f"{{loadBalancerClass: example.com/lb, {PORT}}}"),
        "spec.loadBalancerClass",
        "may only be used when `type` is 'LoadBalancer'",
    ),
    Refused(
        f"{CORE} validateLoadBalancerClassField",
        service(f"{{type: LoadBalancer, loadBalancerClass: example.com/-lb, {PORT}}}"),
        "spec.loadBalancerClass",
        "name part must consist of alphanumeric characters",
    ),
    Refused(
        ETP,
        service(f"{{type: NodePort, healthCheckNodePort: 30999, {PORT}}}"),
        "spec.healthCheckNodePort",
        "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
    ),
    Default(
        ETP,
        service(f"{{type: LoadBalancer, externalTrafficPolicy: Local, healthCheckNodePort: 30999, {PORT}}}"),
        lambda o: o.services[0].external_traffic_policy,
        TrafficPolicy.LOCAL,
    ),
    Refused(
        SERVICE_PORT,
        service("{ports: [{port: 80, appProtocol: kubernetes.io/h2c!}]}"),
        "spec.ports[0].appProtocol",
        "name part must consist of alphanumeric characters",
    ),
    Default(
        SERVICE_PORT,
        service("{ports: [{port: 80, appProtocol: kubernetes.io/h2c}]}"),
        lambda o: o.services[0].ports[0].port,
        80,
    ),
]

SERVICE_ROWS: list[Row] = [*SERVICE_DEFAULTS, *SERVICE_RULES]
