"""The completed cluster as manifests: what `netcompile get --format yaml|json` writes.

Each object as the API server would hold it (apiVersion, kind, metadata, spec, status), with what the
simulated cluster added (complete/): Nodes, the pods of workloads with their status (phase, podIPs,
Ready), ClusterIPs, nodePorts, the EndpointSlices the controller derives, the namespaces objects use.
Only what netcompile reads is written, so that netcompile reads the manifests back to the same cluster
(tests/test_get.py: the compiled ruleset is the same, byte for byte). The pods stand for their
workloads (by `ownerReferences`, as in a `kubectl get -o yaml` dump): workloads are not written, and
reading the manifests back simulates nothing.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..model import (
    ContainerPort,
    EndpointConditions,
    EndpointPort,
    Endpoints,
    EndpointSlice,
    Namespace,
    NetworkPolicy,
    Node,
    Objects,
    Pod,
    PolicyPeer,
    PolicyPort,
    PolicyRule,
    Service,
    ServiceType,
    TrafficPolicy,
)
from ..model.naming import Container, PodNaming
from ..model.proxy import PROXY_KIND, PROXY_VERSION, ProxyConfig
from ..model.selectors import LabelSelector

Manifest = dict[str, Any]
SIMULATED_IMAGE = "netcompile.invalid/simulated"  # pods of workloads: the template's images are not kept
DELETED_AT = "1970-01-01T00:00:00Z"  # a terminating pod's deletionTimestamp (netcompile keeps only that it is set)
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def _metadata(name: str, namespace: str, labels: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if namespace:
        out["namespace"] = namespace
    if labels:
        out["labels"] = dict(labels)
    return out


def namespace_manifest(ns: Namespace) -> Manifest:
    labels = tuple((k, v) for k, v in ns.meta.labels if not (k == NAMESPACE_NAME_LABEL and v == ns.meta.name))
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _metadata(ns.meta.name, "", labels)}


def node_manifest(node: Node) -> Manifest:
    spec: dict[str, Any] = {}
    if node.pod_cidrs:
        spec = {"podCIDR": str(node.pod_cidrs[0]), "podCIDRs": [str(c) for c in node.pod_cidrs]}
    status = {"addresses": [{"type": a.type, "address": str(a.address)} for a in node.addresses]}
    return {"apiVersion": "v1", "kind": "Node", "metadata": _metadata(node.meta.name, "", node.meta.labels)} | {
        "spec": spec,
        "status": status,
    }


def _containers(ports: tuple[ContainerPort, ...], naming: PodNaming) -> list[dict[str, Any]]:
    """The ports in as few containers as their names allow (a name once per container), named and with the
    env of the pod's own containers where the input gave them (model/naming.py)."""
    groups: list[list[ContainerPort]] = [[]]
    for port in ports:
        group = next((g for g in groups if port.name is None or port.name not in {p.name for p in g}), None)
        if group is None:
            groups.append(group := [])
        group.append(port)
    given = [c for c in naming.containers if not c.init]
    out = []
    for index in range(max(len(groups), len(given))):
        own = given[index] if index < len(given) else None
        name = own.name if own is not None else "main" if index == 0 else f"main-{index + 1}"
        container: dict[str, Any] = {"name": name, "image": SIMULATED_IMAGE}
        if index < len(groups) and groups[index]:
            container["ports"] = [
                ({"name": p.name} if p.name else {}) | {"containerPort": p.port, "protocol": p.protocol.value}
                for p in groups[index]
            ]
        out.append(container | (_env(own) if own is not None else {}))
    return out


def _env(container: Container) -> dict[str, Any]:
    """A container's `env` and `envFrom`, as the input gave them."""
    out: dict[str, Any] = {}
    if container.env:
        out["env"] = [
            {"name": v.name}
            | ({"valueFrom": json.loads(v.value_from)} if v.value_from is not None else {"value": v.value or ""})
            for v in container.env
        ]
    sources = [_ENV_FROM.fullmatch(text) for text in container.env_from]
    if container.env_from:
        out["envFrom"] = [
            {f"{m.group(1)}Ref": {"name": m.group(2)}} | ({"prefix": m.group(3)} if m.group(3) else {})
            for m in sources
            if m is not None
        ]
    return out


_ENV_FROM = re.compile(r"(configMap|secret) (\S*)(?: \(prefix (.*)\))?")  # load/core.py pod_naming's words


def _naming(naming: PodNaming) -> dict[str, Any]:
    """What names the pod and how it resolves names (hostname, subdomain, Service links, DNS policy)."""
    out: dict[str, Any] = {}
    if naming.hostname:
        out["hostname"] = naming.hostname
    if naming.subdomain:
        out["subdomain"] = naming.subdomain
    if not naming.enable_service_links:
        out["enableServiceLinks"] = False
    if naming.dns_policy != "ClusterFirst":
        out["dnsPolicy"] = naming.dns_policy
    config: dict[str, Any] = {}
    if naming.dns_searches:
        config["searches"] = list(naming.dns_searches)
    if naming.dns_options:
        config["options"] = [{"name": k} | ({"value": v} if v is not None else {}) for k, v in naming.dns_options]
    if config or naming.dns_policy == "None":
        out["dnsConfig"] = config
    init = [c for c in naming.containers if c.init]
    if init:
        out["initContainers"] = [{"name": c.name, "image": SIMULATED_IMAGE} | _env(c) for c in init]
    return out


def pod_manifest(pod: Pod) -> Manifest:
    metadata = _metadata(pod.meta.name, pod.meta.namespace, pod.meta.labels)
    if pod.owners:
        metadata["ownerReferences"] = [
            {"apiVersion": o.api_version, "kind": o.kind, "name": o.name}
            | ({"uid": o.uid} if o.uid else {})
            | ({"controller": True} if o.controller else {})
            for o in pod.owners
        ]
    if pod.terminating:
        metadata["deletionTimestamp"] = DELETED_AT
    spec: dict[str, Any] = {}
    if pod.node_name:
        spec["nodeName"] = pod.node_name
    if pod.host_network:
        spec["hostNetwork"] = True
    spec |= _naming(pod.naming)
    spec["containers"] = _containers(pod.ports, pod.naming)
    status: dict[str, Any] = {}
    if pod.phase:
        status["phase"] = pod.phase
    if pod.ips:
        status["podIP"] = str(pod.ips[0])
        status["podIPs"] = [{"ip": str(a)} for a in pod.ips]
    status["conditions"] = [{"type": "Ready", "status": "True" if pod.ready else "False"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status}


def service_manifest(svc: Service) -> Manifest:
    spec: dict[str, Any] = {"type": svc.type.value}
    if svc.selector is not None:
        spec["selector"] = dict(svc.selector.match_labels)
    if svc.headless:
        spec["clusterIP"] = "None"
    elif svc.cluster_ips:
        spec["clusterIP"] = str(svc.cluster_ips[0])
        spec["clusterIPs"] = [str(a) for a in svc.cluster_ips]
        spec["ipFamilies"] = [f"IPv{a.version}" for a in svc.cluster_ips]
        dual = len(svc.cluster_ips) > 1
        spec["ipFamilyPolicy"] = svc.ip_family_policy or ("RequireDualStack" if dual else "SingleStack")
    if svc.external_name is not None:
        spec["externalName"] = svc.external_name
    ports = []
    for p in svc.ports:
        item: dict[str, Any] = {"name": p.name} if p.name else {}
        item |= {"protocol": p.protocol.value, "port": p.port, "targetPort": p.target_port}
        if p.node_port is not None:
            item["nodePort"] = p.node_port
        ports.append(item)
    if ports:
        spec["ports"] = ports
    if svc.external_ips:
        spec["externalIPs"] = [str(a) for a in svc.external_ips]
    if svc.load_balancer_source_ranges:
        spec["loadBalancerSourceRanges"] = [str(c) for c in svc.load_balancer_source_ranges]
    if svc.external_traffic_policy != TrafficPolicy.CLUSTER:
        spec["externalTrafficPolicy"] = svc.external_traffic_policy.value
    if svc.internal_traffic_policy != TrafficPolicy.CLUSTER:
        spec["internalTrafficPolicy"] = svc.internal_traffic_policy.value
    if svc.session_affinity_timeout is not None:
        spec["sessionAffinity"] = "ClientIP"
        spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": svc.session_affinity_timeout}}
    if svc.traffic_distribution is not None:
        spec["trafficDistribution"] = svc.traffic_distribution
    if svc.publish_not_ready_addresses:
        spec["publishNotReadyAddresses"] = True
    out = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(svc.meta.name, svc.meta.namespace, svc.meta.labels),
    }
    out["spec"] = spec
    if svc.load_balancer_ingress and svc.type == ServiceType.LOAD_BALANCER:
        ingress = [
            {"ip": str(i.ip)} | ({"ipMode": i.ip_mode} if i.ip_mode != "VIP" else {}) for i in svc.load_balancer_ingress
        ]
        out["status"] = {"loadBalancer": {"ingress": ingress}}
    return out


def _conditions(c: EndpointConditions) -> dict[str, bool]:
    return {"ready": c.ready, "serving": c.serving, "terminating": c.terminating}


def _endpoint_port(port: EndpointPort) -> dict[str, Any]:
    out: dict[str, Any] = {"name": port.name} if port.name else {}
    return out | {"port": port.port, "protocol": port.protocol.value}


def endpoint_slice_manifest(eps: EndpointSlice) -> Manifest:
    endpoints = []
    for e in eps.endpoints:
        item: dict[str, Any] = {"addresses": [str(a) for a in e.addresses], "conditions": _conditions(e.conditions)}
        if e.node_name is not None:
            item["nodeName"] = e.node_name
        if e.zone is not None:
            item["zone"] = e.zone
        if e.hint_zones is not None:
            item["hints"] = {"forZones": [{"name": z} for z in e.hint_zones]}
        if e.hostname is not None:
            item["hostname"] = e.hostname
        endpoints.append(item)
    ports = [_endpoint_port(p) for p in eps.ports]
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": _metadata(eps.meta.name, eps.meta.namespace, eps.meta.labels),
        "addressType": eps.address_type,
        "endpoints": endpoints,
        "ports": ports,
    }


def endpoints_manifest(ep: Endpoints) -> Manifest:
    subsets = []
    for s in ep.subsets:
        subset: dict[str, Any] = {}
        for key, group in (("addresses", s.addresses), ("notReadyAddresses", s.not_ready_addresses)):
            if group:
                subset[key] = [{"ip": str(a.ip)} | ({"nodeName": a.node_name} if a.node_name else {}) for a in group]
        subset["ports"] = [_endpoint_port(p) for p in s.ports]
        subsets.append(subset)
    metadata = _metadata(ep.meta.name, ep.meta.namespace, ep.meta.labels)
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": metadata, "subsets": subsets}


def selector_manifest(sel: LabelSelector) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if sel.match_labels:
        out["matchLabels"] = dict(sel.match_labels)
    if sel.match_expressions:
        out["matchExpressions"] = [
            {"key": r.key, "operator": r.operator.value} | ({"values": sorted(r.values)} if r.values else {})
            for r in sel.match_expressions
        ]
    return out


def _peer(peer: PolicyPeer) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if peer.pod_selector is not None:
        out["podSelector"] = selector_manifest(peer.pod_selector)
    if peer.namespace_selector is not None:
        out["namespaceSelector"] = selector_manifest(peer.namespace_selector)
    if peer.ip_block is not None:
        block: dict[str, Any] = {"cidr": str(peer.ip_block.cidr)}
        if peer.ip_block.except_:
            block["except"] = [str(c) for c in peer.ip_block.except_]
        out["ipBlock"] = block
    return out


def _port(port: PolicyPort) -> dict[str, Any]:
    out: dict[str, Any] = {"protocol": port.protocol.value}
    if port.port is not None:
        out["port"] = port.port
    if port.end_port is not None:
        out["endPort"] = port.end_port
    return out


def _rules(rules: tuple[PolicyRule, ...], peers_key: str) -> list[dict[str, Any]]:
    out = []
    for rule in rules:
        item: dict[str, Any] = {}
        if rule.peers is not None:
            item[peers_key] = [_peer(p) for p in rule.peers]
        if rule.ports is not None:
            item["ports"] = [_port(p) for p in rule.ports]
        out.append(item)
    return out


def network_policy_manifest(policy: NetworkPolicy) -> Manifest:
    spec: dict[str, Any] = {
        "podSelector": selector_manifest(policy.pod_selector),
        "policyTypes": [t.value for t in policy.policy_types],
    }
    if policy.ingress:
        spec["ingress"] = _rules(policy.ingress, "from")
    if policy.egress:
        spec["egress"] = _rules(policy.egress, "to")
    metadata = _metadata(policy.meta.name, policy.meta.namespace, policy.meta.labels)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": metadata, "spec": spec}


def service_cidr_manifests(objects: Objects) -> list[Manifest]:
    """The ServiceCIDRs of the input, or one (named `kubernetes`, as the API server's own) holding the
    range the cluster's ClusterIPs come from, when completion knows it (the simulated cluster's)."""
    given = [(o.meta.name, o.cidrs) for o in objects.service_cidr_objects]
    if not given and objects.service_cidrs:
        given = [("kubernetes", objects.service_cidrs)]
    return [
        {"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR", "metadata": {"name": name}}
        | {"spec": {"cidrs": [str(c) for c in cidrs]}}
        for name, cidrs in given
    ]


def proxy_config_manifest(config: ProxyConfig) -> Manifest:
    """kube-proxy's configuration, as far as netcompile honours it (model/proxy.py)."""
    section = "nftables" if config.mode == "nftables" else "iptables"
    out: Manifest = {"apiVersion": PROXY_VERSION, "kind": PROXY_KIND}
    if config.mode:
        out["mode"] = config.mode
    if config.cluster_cidrs:
        out["clusterCIDR"] = ",".join(str(c) for c in config.cluster_cidrs)
    out["detectLocalMode"] = config.detect_local_mode
    if config.detect_local_mode == "BridgeInterface":
        out["detectLocal"] = {"bridgeInterface": config.bridge_interface}
    elif config.detect_local_mode == "InterfaceNamePrefix":
        out["detectLocal"] = {"interfaceNamePrefix": config.interface_name_prefix}
    if config.nodeport_primary or config.nodeport_addresses:
        out["nodePortAddresses"] = (
            ["primary"] if config.nodeport_primary else [str(n) for n in config.nodeport_addresses]
        )
    out[section] = {"masqueradeAll": config.masquerade_all, "masqueradeBit": config.masquerade_bit}
    return out


KINDS = ("namespaces", "nodes", "pods", "services", "endpoints", "networkpolicies")


def manifests(objects: Objects, kinds: frozenset[str] = frozenset(KINDS)) -> list[Manifest]:
    """The completed objects of `kinds` (KINDS; `endpoints`: EndpointSlices and Endpoints) as manifests,
    kind by kind in the order a cluster needs them (namespaces and nodes first)."""
    out: list[Manifest] = []
    if "namespaces" in kinds:
        out += [namespace_manifest(n) for n in objects.namespaces]
    if "nodes" in kinds:
        out += [node_manifest(n) for n in objects.nodes]
    if "pods" in kinds:
        out += [pod_manifest(p) for p in objects.pods]
    if "services" in kinds:  # with what shapes every Service: its ranges, and kube-proxy's configuration
        out += service_cidr_manifests(objects)
        out += [proxy_config_manifest(objects.proxy_config)] if objects.proxy_config else []
        out += [service_manifest(s) for s in objects.services]
    if "endpoints" in kinds:
        out += [endpoint_slice_manifest(e) for e in objects.endpoint_slices]
        out += [endpoints_manifest(e) for e in objects.endpoints]
    if "networkpolicies" in kinds:
        out += [network_policy_manifest(p) for p in objects.network_policies]
    return out
