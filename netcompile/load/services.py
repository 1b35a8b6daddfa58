"""Service (core/v1): type, cluster IPs, ports, external addresses, traffic policies, session affinity."""

from __future__ import annotations

from ..errors import duplicate, forbidden, invalid, required
from ..model import (
    IPAddress,
    LoadBalancerIngress,
    Protocol,
    Service,
    ServicePort,
    ServiceType,
    TrafficPolicy,
)
from ..model.selectors import LabelSelector
from .parse_common import (
    DEFAULT_AFFINITY_TIMEOUT,
    SERVICE_TYPES,
    ParseOptions,
    ips_field,
    meta_field,
    port_number_field,
    protocol_field,
)
from .source import RawObject
from .validation import (
    Field,
    cidr_field,
    dns1035_label,
    dns1123_label,
    ip_field,
    labels_field,
    name_field,
    port_name,
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
        protocol = protocol_field(item.child("protocol"))
        port = port_number_field(item.child("port"))
        if port is not None and protocol is not None:
            if (port, protocol) in seen:
                item.child("port").error(duplicate(f"{port}/{protocol}"))
            seen.add((port, protocol))
        target: int | str | None = port
        target_f = item.child("targetPort")
        if isinstance(target_f.value, int) and not isinstance(target_f.value, bool):
            target = port_number_field(target_f)
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
            node_port = port_number_field(np_f)
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
    meta = meta_field(raw, root, True, dns1035_label)
    spec = root.child("spec")
    if not spec.required_map():
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
        cluster_ips = list(ips_field(ips_f))
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
    external_ips = ips_field(spec.child("externalIPs"))
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
        bool(spec.child("publishNotReadyAddresses").boolean(default=False)),
    )
