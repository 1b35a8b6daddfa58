"""From raw documents to validated model objects, one parser per kind.

Each parser reads the fields netcompile uses, checks them as the API server would, and records every
problem on the object's Report; an object with problems is not built. `load()` runs the whole pipeline
(read → parse → cross-object checks) and raises one InputError carrying every diagnostic.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized

from ..errors import Diagnostic, InputError, Position, duplicate, forbidden, invalid, required, unsupported
from ..gcpause import paused_gc
from ..model import (
    ContainerPort,
    EndpointAddress,
    EndpointConditions,
    EndpointPort,
    Endpoints,
    EndpointSlice,
    EndpointSubset,
    IPAddress,
    IPBlock,
    KubeObject,
    LoadBalancerIngress,
    Meta,
    Namespace,
    NetworkPolicy,
    Node,
    NodeAddress,
    Objects,
    Pod,
    PolicyPeer,
    PolicyPort,
    PolicyRule,
    PolicyType,
    Protocol,
    Service,
    ServicePort,
    ServiceType,
    SliceEndpoint,
    TrafficPolicy,
    pickled_by_fields,
)
from ..model.selectors import LabelSelector, Operator, Requirement
from .schema.check import check_fields, check_list, skip_or_refuse, skipped_notice
from .source import Limits, Piece, RawObject, YList, YMap, object_ref, raw_objects, read_pieces
from .validation import (
    Field,
    Report,
    cidr_field,
    dns1035_label,
    dns1123_label,
    dns1123_subdomain,
    ip_field,
    labels_field,
    name_field,
    parse_ip,
    port_name,
    port_number,
    qualified_name,
)

PROTOCOLS = tuple(p.value for p in Protocol)
SERVICE_TYPES = tuple(t.value for t in ServiceType)
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
DEFAULT_AFFINITY_TIMEOUT = 10800
NODE_PORT_RANGE = (30000, 32767)


@dataclass(frozen=True, slots=True)
class ParseOptions:
    """Choices that change what counts as valid input."""

    node_port_range: tuple[int, int] = NODE_PORT_RANGE
    # Fields the API schema does not declare, as kubectl's --validate: "strict" (errors), "warn", "ignore".
    validate: str = "strict"


# --- shared pieces ----------------------------------------------------------------------------------


def _meta(raw: RawObject, root: Field, namespaced: bool, name_check: Callable[[str], str | None]) -> Meta | None:
    md = root.child("metadata")
    if not md.present:
        md.error(required())
        return None
    if not md.is_map():
        return None
    name = name_field(md.child("name"), name_check)
    namespace = ""
    if namespaced:
        namespace = name_field(md.child("namespace"), dns1123_label, required_=False) or "default"
    labels = labels_field(md.child("labels"))
    if name is None:
        return None
    return Meta(raw.kind, namespace, name, labels, raw.position)


def _protocol(f: Field) -> Protocol | None:
    value = f.choice(PROTOCOLS, default="TCP")
    return Protocol(value) if value else None


def _port_number(f: Field, *, required_: bool = True) -> int | None:
    value = f.integer(required_=required_)
    if value is None:
        return None
    problem = port_number(value)
    if problem:
        f.error(invalid(value, problem))
        return None
    return value


def _ips(f: Field) -> tuple[IPAddress, ...]:
    out: list[IPAddress] = []
    for item in f.items():
        addr = ip_field(item, required_=True)
        if addr is not None:
            if addr in out:
                item.error(duplicate(str(addr)))
            else:
                out.append(addr)
    return tuple(out)


def _selector(f: Field) -> LabelSelector | None:
    """A metav1.LabelSelector; None when absent or invalid (callers decide what absent means)."""
    if not f.is_map():
        return None
    before = f.report.count
    match_labels = labels_field(f.child("matchLabels"))
    exprs: list[Requirement] = []
    for item in f.child("matchExpressions").object_items():
        if not item.is_map():
            continue
        key = item.child("key").string(required_=True)
        if key is not None and (problem := qualified_name(key)):
            item.child("key").error(invalid(key, problem))
        op_text = item.child("operator").choice(tuple(o.value for o in Operator))
        if item.child("operator").value is None:
            item.child("operator").error(required())
        values_field = item.child("values")
        values: list[str] = []
        for v in values_field.items():
            text = "" if v.value is None else v.string(required_=True) if not isinstance(v.value, str) else v.value
            if text is not None:
                values.append(text)
        if op_text in (Operator.IN, Operator.NOT_IN) and not values:
            values_field.error(required("must be specified when `operator` is 'In' or 'NotIn'"))
        if op_text in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and values:
            values_field.error(forbidden("may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        if key is not None and op_text is not None:
            exprs.append(Requirement(key, Operator(op_text), frozenset(values)))
    if f.report.count != before:
        return None
    return LabelSelector(match_labels, tuple(exprs))


# --- kinds ------------------------------------------------------------------------------------------


def parse_namespace(raw: RawObject, root: Field, opts: ParseOptions) -> Namespace | None:
    meta = _meta(raw, root, False, dns1123_label)
    if meta is None:
        return None
    # The API server labels every namespace with its own name; namespaceSelectors rely on it.
    labels = dict(meta.labels)
    labels[NAMESPACE_NAME_LABEL] = meta.name
    return Namespace(Meta(meta.kind, "", meta.name, tuple(sorted(labels.items())), meta.position))


def parse_node(raw: RawObject, root: Field, opts: ParseOptions) -> Node | None:
    meta = _meta(raw, root, False, dns1123_subdomain)
    spec = root.child("spec")
    cidrs = []
    if spec.is_map():
        pod_cidrs = spec.child("podCIDRs")
        if pod_cidrs.present:
            cidrs = [c for c in (cidr_field(i, required_=True) for i in pod_cidrs.items()) if c]
        else:
            single = cidr_field(spec.child("podCIDR"))
            cidrs = [single] if single else []
    addresses: list[NodeAddress] = []
    status = root.child("status")
    if status.is_map():
        for item in status.child("addresses").object_items():
            if not item.is_map():
                continue
            kind = item.child("type").string(required_=True)
            if kind in ("InternalIP", "ExternalIP"):
                addr = ip_field(item.child("address"), required_=True)
                if addr is not None and addr not in [a.address for a in addresses]:
                    addresses.append(NodeAddress(kind, addr))
            else:
                item.child("address").string(required_=True)
    if meta is None:
        return None
    return Node(meta, tuple(cidrs), tuple(addresses))


def _container_ports(spec: Field) -> tuple[ContainerPort, ...]:
    ports: list[ContainerPort] = []
    for containers_key in ("containers", "initContainers"):
        for container in spec.child(containers_key).object_items():
            if not container.is_map():
                continue
            if containers_key == "initContainers" and container.child("restartPolicy").value != "Always":
                continue  # only sidecar init containers keep running and serve ports
            for item in container.child("ports").object_items():
                if not item.is_map():
                    continue
                name = name_field(item.child("name"), port_name, required_=False)
                number = _port_number(item.child("containerPort"))
                protocol = _protocol(item.child("protocol"))
                if number is not None and protocol is not None:
                    ports.append(ContainerPort(name, number, protocol))
    return tuple(ports)


def parse_pod(raw: RawObject, root: Field, opts: ParseOptions) -> Pod | None:
    meta = _meta(raw, root, True, dns1123_subdomain)
    spec, status = root.child("spec"), root.child("status")
    node_name = host_network = None
    ports: tuple[ContainerPort, ...] = ()
    if spec.is_map():
        node_name = spec.child("nodeName").string()
        host_network = spec.child("hostNetwork").boolean(default=False)
        ports = _container_ports(spec)
    phase, ips, ready = "", [], None
    if status.is_map():
        phase = status.child("phase").string() or ""
        pod_ips = status.child("podIPs")
        if pod_ips.present:
            for item in pod_ips.object_items():
                if item.is_map():
                    addr = ip_field(item.child("ip"), required_=True)
                    if addr is not None and addr not in ips:
                        ips.append(addr)
        else:
            addr = ip_field(status.child("podIP"))
            if addr is not None:
                ips.append(addr)
        for cond in status.child("conditions").object_items():
            if cond.is_map() and cond.child("type").value == "Ready":
                ready = cond.child("status").value == "True"
    terminating = root.child("metadata").child("deletionTimestamp").present
    if meta is None:
        return None
    return Pod(
        meta,
        node_name,
        bool(host_network),
        phase,
        tuple(ips),
        ports,
        terminating,
        ready if ready is not None else phase == "Running",
    )


def _service_ports(spec: Field, service_type: str | None, opts: ParseOptions) -> tuple[ServicePort, ...]:
    out: list[ServicePort] = []
    items = list(spec.child("ports").object_items())
    names: set[str] = set()
    seen: set[tuple[int, Protocol]] = set()
    for item in items:
        if not item.is_map():
            continue
        name_f = item.child("name")
        name = name_field(name_f, dns1123_label, required_=len(items) > 1) or ""
        if name and name in names:
            name_f.error(duplicate(name))
        names.add(name)
        protocol = _protocol(item.child("protocol"))
        port = _port_number(item.child("port"))
        if port is not None and protocol is not None:
            if (port, protocol) in seen:
                item.child("port").error(duplicate(f"{port}/{protocol}"))
            seen.add((port, protocol))
        target: int | str | None = port
        target_f = item.child("targetPort")
        if isinstance(target_f.value, int) and not isinstance(target_f.value, bool):
            target = _port_number(target_f)
        elif isinstance(target_f.value, str):
            problem = port_name(target_f.value)
            if problem:
                target_f.error(invalid(target_f.value, problem))
                target = None
            else:
                target = target_f.value
        elif target_f.present:
            target_f.error(invalid(target_f.value, "must be a port number or a port name"))
            target = None
        node_port: int | None = None
        np_f = item.child("nodePort")
        if np_f.present and np_f.value != 0:
            node_port = _port_number(np_f)
            low, high = opts.node_port_range
            if node_port is not None and not low <= node_port <= high:
                np_f.error(
                    invalid(
                        node_port, f"provided port is not in the valid range. The range of valid ports is {low}-{high}"
                    )
                )
                node_port = None
            if service_type not in ("NodePort", "LoadBalancer"):
                np_f.error(forbidden("may not be used when `type` is 'ClusterIP'"))
        if port is not None and protocol is not None and target is not None:
            out.append(ServicePort(name, protocol, port, target, node_port))
    return tuple(out)


def parse_service(raw: RawObject, root: Field, opts: ParseOptions) -> Service | None:
    meta = _meta(raw, root, True, dns1035_label)
    spec = root.child("spec")
    if not spec.present:
        spec.error(required())
        return None
    if not spec.is_map():
        return None
    type_text = spec.child("type").choice(SERVICE_TYPES, default="ClusterIP")
    stype = ServiceType(type_text) if type_text else None
    selector = None
    sel_f = spec.child("selector")
    if sel_f.present and sel_f.is_map():
        selector = LabelSelector(labels_field(sel_f))
    # clusterIP / clusterIPs
    headless = False
    cluster_ips: list[IPAddress] = []
    ips_f, ip_f = spec.child("clusterIPs"), spec.child("clusterIP")
    texts = [i.value for i in ips_f.items()] if ips_f.present else ([ip_f.value] if ip_f.present else [])
    if texts and texts[0] == "None":
        headless = True
        if len(texts) > 1:
            ips_f.error(invalid(texts, "must not contain other addresses when the first is 'None'"))
    elif ips_f.present:
        cluster_ips = list(_ips(ips_f))
        if ip_f.present and cluster_ips and ip_f.value != str(cluster_ips[0]) and ip_f.value != ips_f.value[0]:
            ip_f.error(invalid(ip_f.value, "must match the first value of `clusterIPs`"))
    elif ip_f.present:
        addr = ip_field(ip_f)
        cluster_ips = [addr] if addr else []
    if len(cluster_ips) > 2 or (len(cluster_ips) == 2 and cluster_ips[0].version == cluster_ips[1].version):
        ips_f.error(invalid([str(a) for a in cluster_ips], "may specify no more than one IP for each IP family"))
    family_items = list(spec.child("ipFamilies").items())
    families = [item.item_choice(("IPv4", "IPv6")) for item in family_items]
    for index, (item, family) in enumerate(zip(family_items, families, strict=True)):
        if family is not None and family in families[:index]:
            item.error(duplicate(family))
        elif family is not None and index < len(cluster_ips) and family != f"IPv{cluster_ips[index].version}":
            item.error(invalid(family, f"does not match the IP family of `clusterIPs[{index}]`"))
    if stype == ServiceType.EXTERNAL_NAME:
        cluster_ips, headless = [], False
    external_name = spec.child("externalName").string(required_=stype == ServiceType.EXTERNAL_NAME)
    ports = _service_ports(spec, type_text, opts)
    if not spec.child("ports").value and stype not in (ServiceType.EXTERNAL_NAME, None) and not headless:
        spec.child("ports").error(required())
    external_ips = _ips(spec.child("externalIPs"))
    lb_ingress: list[LoadBalancerIngress] = []
    status = root.child("status")
    if status.is_map():
        lb = status.child("loadBalancer")
        if lb.is_map():
            for item in lb.child("ingress").object_items():
                if not item.is_map():
                    continue
                addr = ip_field(item.child("ip"))
                mode = item.child("ipMode").choice(("VIP", "Proxy"), default="VIP")
                if addr is not None and mode is not None:
                    lb_ingress.append(LoadBalancerIngress(addr, mode))
    ranges = tuple(
        r for r in (cidr_field(i, required_=True) for i in spec.child("loadBalancerSourceRanges").items()) if r
    )
    external = stype in (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER) or bool(external_ips)
    etp_f = spec.child("externalTrafficPolicy")
    etp = etp_f.choice(("Cluster", "Local"), default="Cluster")
    if etp_f.present and not external and etp_f.value:
        etp_f.error(invalid(etp_f.value, "may only be set for externally-accessible services"))
    itp = spec.child("internalTrafficPolicy").choice(("Cluster", "Local"), default="Cluster")
    affinity = spec.child("sessionAffinity").choice(("None", "ClientIP"), default="None")
    timeout = None
    config = spec.child("sessionAffinityConfig")
    timeout_f = config.child("clientIP").child("timeoutSeconds") if config.present else config
    if affinity == "ClientIP":
        timeout = timeout_f.integer() if timeout_f.present else DEFAULT_AFFINITY_TIMEOUT
        if timeout is not None and not 0 < timeout <= 86400:
            timeout_f.error(invalid(timeout, "must be greater than 0 and less than 86400"))
            timeout = None
    elif timeout_f.present:
        timeout_f.error(forbidden("must not be set when `sessionAffinity` is None"))
    distribution = spec.child("trafficDistribution").string()
    if meta is None or stype is None or etp is None or itp is None or affinity is None:
        return None
    if affinity == "ClientIP" and timeout is None:
        return None
    return Service(
        meta,
        stype,
        selector if stype != ServiceType.EXTERNAL_NAME else None,
        tuple(cluster_ips),
        headless,
        ports,
        external_ips,
        tuple(lb_ingress),
        ranges,
        TrafficPolicy(etp),
        TrafficPolicy(itp),
        timeout,
        external_name if stype == ServiceType.EXTERNAL_NAME else None,
        distribution,
    )


def _endpoint_ports(f: Field, *, allow_unnamed: bool = True) -> tuple[EndpointPort, ...]:
    out: list[EndpointPort] = []
    names: set[str] = set()
    for item in f.object_items():
        if not item.is_map():
            continue
        name = name_field(item.child("name"), dns1123_label, required_=False) or ""
        if name in names:
            item.child("name").error(duplicate(name))
        names.add(name)
        port = _port_number(item.child("port"))
        protocol = _protocol(item.child("protocol"))
        if port is not None and protocol is not None:
            out.append(EndpointPort(name, port, protocol))
    return tuple(out)


_DEFAULT_CONDITIONS = EndpointConditions()


_CONDITION_KEYS = ("ready", "serving", "terminating")


def _conditions(f: Field) -> EndpointConditions:
    """An endpoint's conditions: absent ready means ready; absent serving follows ready."""
    if not f.is_map():
        return _DEFAULT_CONDITIONS
    assert isinstance(f.value, YMap)
    conditions = _boolean_conditions(f.value)
    if conditions is None:
        for key in _CONDITION_KEYS:
            f.child(key).boolean(default=False)  # reports the ones that are not booleans
        return _DEFAULT_CONDITIONS
    return conditions


def _boolean_conditions(given: YMap) -> EndpointConditions | None:
    """The conditions when each is a boolean or absent; None when one is something else."""
    ready, serving, terminating = given.get("ready"), given.get("serving"), given.get("terminating")
    for value in (ready, serving, terminating):
        if value is not None and value.__class__ is not bool:
            return None
    ready = ready is not False
    return _endpoint_conditions(ready, ready if serving is None else serving, terminating is True)


@functools.cache
def _endpoint_conditions(ready: bool, serving: bool, terminating: bool) -> EndpointConditions:
    return EndpointConditions(ready, serving, terminating)  # 8 values, shared by every endpoint


def _plain_endpoint(entry: YMap, version: int) -> SliceEndpoint | None:
    """An endpoint read without `Field`s, when nothing in it can need a message: addresses of the slice's
    family, boolean conditions, nodeName and zone strings, no hints. None sends it down the field-by-field
    path, which reports what is wrong; both give the same endpoint (tested). 100k endpoints are most of
    what 10k Services are, so this is the hot path of reading them."""
    addresses = entry.get("addresses")
    if addresses.__class__ is not YList or not addresses or "hints" in entry:
        return None
    addrs: list[IPAddress] = []
    for text in addresses:
        addr = parse_ip(text) if text.__class__ is str else None
        if addr is None or addr.version != version:
            return None
        addrs.append(addr)
    given = entry.get("conditions")
    conditions = (
        _DEFAULT_CONDITIONS if given is None else _boolean_conditions(given) if given.__class__ is YMap else None
    )
    if conditions is None:
        return None
    node_name, zone = entry.get("nodeName"), entry.get("zone")
    if not (node_name is None or node_name.__class__ is str) or not (zone is None or zone.__class__ is str):
        return None
    return SliceEndpoint(tuple(addrs), conditions, node_name or None, zone or None, None)


def parse_endpoint_slice(raw: RawObject, root: Field, opts: ParseOptions) -> EndpointSlice | None:
    meta = _meta(raw, root, True, dns1123_subdomain)
    address_type = root.child("addressType").choice(("IPv4", "IPv6", "FQDN"))
    if root.child("addressType").value is None:
        root.child("addressType").error(required())
    endpoints: list[SliceEndpoint] = []
    version = {"IPv4": 4, "IPv6": 6}.get(address_type or "")
    for item in root.child("endpoints").object_items():
        entry = item.value
        if version is not None and entry.__class__ is YMap:
            endpoint = _plain_endpoint(entry, version)
            if endpoint is not None:
                endpoints.append(endpoint)
                continue
        if not item.is_map():
            continue
        addrs: list[IPAddress] = []
        addresses = item.child("addresses")
        addr_items = list(addresses.items())
        if not addr_items:
            addresses.error(required())
        for a in addr_items:
            if address_type == "FQDN":
                a.string(required_=True)
                continue
            addr = ip_field(a, required_=True)
            if addr is None:
                continue
            if address_type in ("IPv4", "IPv6") and addr.version != (4 if address_type == "IPv4" else 6):
                a.error(invalid(str(addr), f"must be an {address_type} address"))
                continue
            addrs.append(addr)
        # fields that are absent are not visited
        conditions = _conditions(item.child("conditions")) if "conditions" in entry else _DEFAULT_CONDITIONS
        hint_zones: tuple[str, ...] | None = None
        hints = item.child("hints") if "hints" in entry else None
        if hints is not None and hints.is_map() and hints.child("forZones").present:
            hint_zones = tuple(
                z for z in (i.child("name").string(required_=True) for i in hints.child("forZones").object_items()) if z
            )
        node_name = item.child("nodeName").string() if "nodeName" in entry else None
        zone = item.child("zone").string() if "zone" in entry else None
        endpoints.append(SliceEndpoint(tuple(addrs), conditions, node_name, zone, hint_zones))
    ports = _endpoint_ports(root.child("ports"))
    if meta is None or address_type is None:
        return None
    service_name = dict(meta.labels).get(SERVICE_NAME_LABEL)
    return EndpointSlice(meta, service_name, address_type, ports, tuple(endpoints))


def parse_endpoints(raw: RawObject, root: Field, opts: ParseOptions) -> Endpoints | None:
    meta = _meta(raw, root, True, dns1123_subdomain)
    subsets: list[EndpointSubset] = []
    for subset in root.child("subsets").object_items():
        if not subset.is_map():
            continue
        groups: list[tuple[EndpointAddress, ...]] = []
        for key in ("addresses", "notReadyAddresses"):
            group: list[EndpointAddress] = []
            for a in subset.child(key).object_items():
                if a.is_map():
                    addr = ip_field(a.child("ip"), required_=True)
                    if addr is not None:
                        group.append(EndpointAddress(addr, a.child("nodeName").string()))
            groups.append(tuple(group))
        subsets.append(EndpointSubset(groups[0], groups[1], _endpoint_ports(subset.child("ports"))))
    if meta is None:
        return None
    return Endpoints(meta, tuple(subsets))


def _policy_ports(f: Field) -> tuple[PolicyPort, ...] | None:
    if not f.present:
        return None
    out: list[PolicyPort] = []
    for item in f.object_items():
        if not item.is_map():
            continue
        protocol = _protocol(item.child("protocol"))
        port_f, end_f = item.child("port"), item.child("endPort")
        port: int | str | None = None
        if isinstance(port_f.value, str):
            problem = port_name(port_f.value)
            if problem:
                port_f.error(invalid(port_f.value, problem))
            else:
                port = port_f.value
        elif port_f.present:
            port = _port_number(port_f)
        end_port = None
        if end_f.present:
            end_port = _port_number(end_f)
            if not isinstance(port, int):
                end_f.error(
                    required("must be specified when `endPort` is specified")
                    if port is None and not port_f.present
                    else invalid(end_f.value, "may not be specified when `port` is non-numeric")
                )
                end_port = None
            elif end_port is not None and end_port < port:
                end_f.error(invalid(end_port, "must be greater than or equal to `port`"))
                end_port = None
        if protocol is not None:
            out.append(PolicyPort(protocol, port, end_port))
    return tuple(out)


def _policy_peers(f: Field) -> tuple[PolicyPeer, ...] | None:
    if not f.present:
        return None
    peers: list[PolicyPeer] = []
    for item in f.object_items():
        if not item.is_map():
            continue
        pod_f, ns_f, ip_f = item.child("podSelector"), item.child("namespaceSelector"), item.child("ipBlock")
        if not (pod_f.present or ns_f.present or ip_f.present):
            item.error(required("must specify a peer"))
            continue
        if ip_f.present and (pod_f.present or ns_f.present):
            item.error(forbidden("may not specify more than 1 peer type: ipBlock with a selector"))
            continue
        block = None
        if ip_f.present and ip_f.is_map():
            cidr = cidr_field(ip_f.child("cidr"), required_=True)
            excepts = []
            for e in ip_f.child("except").items():
                net = cidr_field(e, required_=True)
                if net is None or cidr is None:
                    continue
                if net.version != cidr.version or not net.subnet_of(cidr) or net == cidr:  # type: ignore[arg-type]
                    e.error(invalid(e.value, "must be a strict subset of `cidr`"))
                else:
                    excepts.append(net)
            if cidr is None:
                continue
            block = IPBlock(cidr, tuple(excepts))
        pod_sel = _selector(pod_f) if pod_f.present else None
        ns_sel = _selector(ns_f) if ns_f.present else None
        if (pod_f.present and pod_sel is None) or (ns_f.present and ns_sel is None):
            continue
        peers.append(PolicyPeer(pod_sel, ns_sel, block))
    return tuple(peers)


def _policy_rules(f: Field, peers_key: str) -> tuple[PolicyRule, ...]:
    rules: list[PolicyRule] = []
    for item in f.object_items():
        if not item.is_map():
            continue
        rules.append(PolicyRule(_policy_peers(item.child(peers_key)), _policy_ports(item.child("ports"))))
    return tuple(rules)


def parse_network_policy(raw: RawObject, root: Field, opts: ParseOptions) -> NetworkPolicy | None:
    meta = _meta(raw, root, True, dns1123_subdomain)
    spec = root.child("spec")
    if not spec.present:
        spec.error(required())
        return None
    if not spec.is_map():
        return None
    sel_f = spec.child("podSelector")
    selector = _selector(sel_f) if sel_f.present else LabelSelector()
    ingress = _policy_rules(spec.child("ingress"), "from")
    egress = _policy_rules(spec.child("egress"), "to")
    types_f = spec.child("policyTypes")
    types: list[PolicyType] = []
    if types_f.present:
        for item in types_f.items():
            value = item.item_choice(("Ingress", "Egress"))
            if value is not None:
                if PolicyType(value) in types:
                    item.error(duplicate(value))
                types.append(PolicyType(value))
    else:
        # Defaulted as the API server does: Ingress always, Egress when there is an egress rule.
        types.append(PolicyType.INGRESS)
        if egress:
            types.append(PolicyType.EGRESS)
    if meta is None or selector is None:
        return None
    return NetworkPolicy(
        meta,
        selector,
        tuple(sorted(set(types))),
        ingress if PolicyType.INGRESS in types else (),
        egress if PolicyType.EGRESS in types else (),
    )


# --- the pipeline -----------------------------------------------------------------------------------

Parser = Callable[[RawObject, Field, ParseOptions], KubeObject | None]

# kind -> (apiVersion, parser)
KINDS: dict[str, tuple[str, Parser]] = {
    "Namespace": ("v1", parse_namespace),
    "Node": ("v1", parse_node),
    "Pod": ("v1", parse_pod),
    "Service": ("v1", parse_service),
    "EndpointSlice": ("discovery.k8s.io/v1", parse_endpoint_slice),
    "Endpoints": ("v1", parse_endpoints),
    "NetworkPolicy": ("networking.k8s.io/v1", parse_network_policy),
}


def _ref(raw: RawObject) -> str:
    return object_ref(raw.kind, raw.body)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Claim:
    """Something the API server hands out once: an object's name, a clusterIP, a nodePort.

    The first claimer in input order keeps it; a later one with another `holder` is an error at its
    own field, naming the first (`message`). Claims are made for every object and almost never meet, so
    the message is only written when they do.
    """

    key: tuple[str, object]  # (kind, namespace/name), ("clusterIP", address) or ("nodePort", port)
    holder: str | Position  # how a later claim names this one: the Service, or where the object is defined
    position: Position | None
    ref: str  # Kind "ns/name" of the claimer
    path: str
    value: object  # what is claimed, as the message shows it: the name, the address, the port

    def message(self, first: Claim) -> str:
        """This claim's error, `first` having been first."""
        what = self.key[0]
        if what == "clusterIP":
            return invalid(str(self.value), f'provided IP is already allocated to Service "{first.holder}"')
        if what == "nodePort":
            return invalid(self.value, f'provided port is already allocated to Service "{first.holder}"')
        return f"{duplicate(self.value)}: already defined at {first.holder}"


def _claims(raw: RawObject, obj: KubeObject, report: Report) -> tuple[Claim, ...]:
    """The object's name; a Service's clusterIPs and nodePorts (it may reuse its own nodePort for another
    protocol)."""
    ref, key = obj.meta.ref, obj.meta.key
    out = [Claim((raw.kind, key), raw.position, raw.body.position("metadata"), ref, "metadata.name", obj.meta.name)]
    if isinstance(obj, Service):
        spec = Field(report, raw.body).child("spec")
        ips_f = spec.child("clusterIPs")
        ip_fields = list(ips_f.items()) if ips_f.present else [spec.child("clusterIP")]
        for index, address in enumerate(obj.cluster_ips):
            where = ip_fields[index] if index < len(ip_fields) else spec.child("clusterIP")
            out.append(Claim(("clusterIP", address), key, where.position, ref, where.path, address))
        port_fields = list(spec.child("ports").items())
        for index, port in enumerate(obj.ports):
            if port.node_port is not None:
                where = port_fields[index].child("nodePort")
                out.append(Claim(("nodePort", port.node_port), key, where.position, ref, where.path, port.node_port))
    return tuple(out)


@dataclass(slots=True)
class _Reading:
    """What one reader hands back: valid objects with their claims, problems, notices, where each
    object read stood (for --max-objects across readers), warnings, and the kinds it skipped."""

    parsed: list[tuple[KubeObject, tuple[Claim, ...]]]
    errors: list[Diagnostic]
    notices: list[str]
    object_positions: list[tuple[str, int, int]]
    warnings: list[str]
    skipped: Counter[str]


def _read_and_parse(pieces: list[Piece], limits: Limits, opts: ParseOptions) -> _Reading:
    """Read and validate objects one by one: the part of loading that can run in several processes."""
    with paused_gc():  # the objects are acyclic; in a reader process, keep it paused while they are pickled
        errors: list[Diagnostic] = []
        reading = _Reading([], errors, [], [], [], Counter())
        lists: list[RawObject] = []
        raws = raw_objects(pieces, limits, errors, reading.notices, lists)
        for raw in lists:
            check_list(raw, opts.validate, errors, reading.warnings)
        for raw in raws:
            position = raw.position
            reading.object_positions.append((position.file, position.line, position.col))
            if raw.kind not in KINDS:
                skip_or_refuse(raw, errors, reading.skipped)
                continue
            version, parser = KINDS[raw.kind]
            report = Report(functools.partial(_ref, raw), errors)
            root = Field(report, raw.body)
            if raw.api_version != version:
                root.child("apiVersion").error(unsupported(raw.api_version, (version,)))
                continue
            check_fields(raw, report, opts.validate, reading.warnings)
            obj = parser(raw, root, opts)
            if obj is not None and not report.count:
                reading.parsed.append((obj, _claims(raw, obj, report)))
        return reading


def _settle(readings: list[_Reading], limits: Limits, errors: list[Diagnostic]) -> Objects:
    """Put the readers' objects together in input order; the first claimer of a name or address keeps it."""
    by_kind: dict[str, list[KubeObject]] = {kind: [] for kind in KINDS}
    notices: list[str] = []
    warnings: list[str] = []
    first: dict[tuple[object, ...], Claim] = {}
    positions = [p for reading in readings for p in reading.object_positions]
    if len(positions) > limits.max_objects:
        file, line, col = positions[limits.max_objects]
        errors.append(
            Diagnostic(Position(file, line, col), "", "", f"more than {limits.max_objects} objects (--max-objects)")
        )
    for reading in readings:
        errors.extend(reading.errors)
        notices.extend(reading.notices)
        warnings.extend(reading.warnings)
        for obj, claims in reading.parsed:
            for claim in claims:
                kept = first.setdefault(claim.key, claim)
                if kept.holder != claim.holder:
                    errors.append(Diagnostic(claim.position, claim.ref, claim.path, claim.message(kept)))
                    if claim is claims[0]:  # the object itself is a duplicate: nothing else of it counts
                        break
            else:
                by_kind[obj.meta.kind].append(obj)
    summary = skipped_notice(kv for reading in readings for kv in reading.skipped.items())
    if summary is not None:
        notices.append(summary)
    return Objects(
        namespaces=tuple(o for o in by_kind["Namespace"] if isinstance(o, Namespace)),
        nodes=tuple(o for o in by_kind["Node"] if isinstance(o, Node)),
        pods=tuple(o for o in by_kind["Pod"] if isinstance(o, Pod)),
        services=tuple(o for o in by_kind["Service"] if isinstance(o, Service)),
        endpoint_slices=tuple(o for o in by_kind["EndpointSlice"] if isinstance(o, EndpointSlice)),
        endpoints=tuple(o for o in by_kind["Endpoints"] if isinstance(o, Endpoints)),
        network_policies=tuple(o for o in by_kind["NetworkPolicy"] if isinstance(o, NetworkPolicy)),
        notices=tuple(notices),
        warnings=tuple(warnings),
    )


# Inputs larger than this are read by two processes at once: reading and validating is most of the time
# of a large compile, and what the processes read only meets in `_settle`. They take pieces of a quarter
# of it in turn, so that both stay busy to the end whatever else the machine is doing.
PARALLEL_BYTES = 1_000_000


def _readers() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return 1
    return 2 if cpus >= 2 and "fork" in multiprocessing.get_all_start_methods() else 1


def load(
    paths: list[str], limits: Limits = Limits(), opts: ParseOptions = ParseOptions(), readers: int | None = None
) -> Objects:
    """Read and validate `paths`; every problem found is raised at once as an InputError.

    `readers`: processes that read (1 or 2); by default 2 for inputs over PARALLEL_BYTES on a machine
    with two CPUs or more. The result is the same either way.
    """
    pieces, errors = read_pieces(paths, limits, PARALLEL_BYTES // 4)
    size = sum(len(p.text) for p in pieces)
    if readers is None:
        readers = _readers() if size > PARALLEL_BYTES else 1
    with paused_gc():  # also while the other reader's objects are unpickled
        readings = _read_in_two(pieces, limits, opts) if readers > 1 and len(pieces) > 1 else None
        if readings is None:  # one reader, or more than --max-objects: read as one reader would
            readings = [_read_and_parse(pieces, limits, opts)]
        objects = _settle(readings, limits, errors)
    if errors:
        raise InputError(errors)
    return objects


def _read_in_two(pieces: list[Piece], limits: Limits, opts: ParseOptions) -> list[_Reading] | None:
    """The pieces read by this process and a forked one, each taking the next unread piece until none is
    left; the readings, in piece order. The other process sends each reading as soon as it has it (a
    thread here receives them), so little is left to hand over at the end. Pieces it took but did not
    hand back (it died) are read here. None when the pieces hold more than --max-objects objects: both
    stop taking pieces then, and the caller reads as one reader does (which stops at the limit)."""
    context = multiprocessing.get_context("fork")
    shared = _Shared(context.Value("i", 0), context.Value("i", 0))
    receiver, sender = context.Pipe(duplex=False)
    other = context.Process(target=_other_reader, args=(pieces, shared, limits, opts, sender), daemon=True)
    other.start()
    sender.close()
    received: dict[int, _Reading] = {}
    receiving = threading.Thread(target=_receive, args=(receiver, received), daemon=True)
    receiving.start()
    readings = _take_pieces(pieces, shared, limits, opts, None)
    receiving.join()
    receiver.close()
    other.join()
    if shared.objects.value > limits.max_objects:
        return None
    readings.update(received)
    return [readings.get(i) or _read_and_parse([piece], limits, opts) for i, piece in enumerate(pieces)]


@dataclass(frozen=True, slots=True)
class _Shared:
    """What both readers count: pieces taken, and objects read (to stop at --max-objects)."""

    taken: Synchronized[int]
    objects: Synchronized[int]


def _receive(receiver: Connection, into: dict[int, _Reading]) -> None:
    try:
        while True:
            index, reading = receiver.recv()
            into[index] = reading
    except (EOFError, OSError):  # the other reader is done (or died)
        return


def _take_pieces(
    pieces: list[Piece], shared: _Shared, limits: Limits, opts: ParseOptions, sender: Connection | None
) -> dict[int, _Reading]:
    """Read the next piece nobody has taken, until none is left (or the objects read pass the limit);
    each reading is kept, or sent."""
    readings: dict[int, _Reading] = {}
    while True:
        with shared.taken.get_lock():
            index = shared.taken.value
            shared.taken.value = index + 1
        if index >= len(pieces) or shared.objects.value > limits.max_objects:
            return readings
        reading = _read_and_parse([pieces[index]], limits, opts)
        with shared.objects.get_lock():
            shared.objects.value += len(reading.object_positions)
        if sender is None:
            readings[index] = reading
        else:
            sender.send((index, reading))


def _other_reader(pieces: list[Piece], shared: _Shared, limits: Limits, opts: ParseOptions, sender: Connection) -> None:
    _take_pieces(pieces, shared, limits, opts, sender)
    sender.close()
