"""Service (core/v1): type, cluster IPs, ports, external addresses, traffic policies, session affinity."""

from __future__ import annotations

from ..errors import duplicate, forbidden, invalid, required
from ..model import (
    IPAddress,
    IPNetwork,
    LoadBalancerIngress,
    Protocol,
    Service,
    ServiceCIDR,
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
from .services_plain import plain_service
from .source import RawObject
from .validation import (
    Field,
    cidr_field,
    dns1035_label,
    dns1123_label,
    dns1123_subdomain,
    ip_field,
    labels_field,
    name_field,
    parse_ip,
    port_name,
    qualified_name,
    special_ip,
)

# spec.trafficDistribution: PreferClose, and since Kubernetes 1.33 PreferSameZone and PreferSameNode.
TRAFFIC_DISTRIBUTIONS = ("PreferClose", "PreferSameZone", "PreferSameNode")


def _service_ports(spec: Field, service_type: str | None, opts: ParseOptions) -> tuple[ServicePort, ...]:
    out: list[ServicePort] = []
    items = list(spec.child("ports").object_items())
    names: set[str] = set()
    seen: set[tuple[int, Protocol]] = set()
    node_ports: set[tuple[int, Protocol]] = set()
    for item in items:
        if not item.is_map():
            continue
        name_f = item.child("name")
        name = name_field(name_f, dns1123_label, required_=len(items) > 1) or ""
        if name and name in names:
            name_f.error(duplicate(name))
        names.add(name)
        protocol = protocol_field(item.child("protocol"))
        app_f = item.child("appProtocol")
        if (app := app_f.string()) is not None and (problem := qualified_name(app)):
            app_f.error(invalid(app, problem))
        port = port_number_field(item.child("port"))
        if port is not None and protocol is not None:
            if (port, protocol) in seen:
                item.error(duplicate(f"{port}/{protocol}"))  # at spec.ports[i], as ValidateService
            seen.add((port, protocol))
        target: int | str | None = port
        target_f = item.child("targetPort")
        if target_f.value == "" or (target_f.value.__class__ is int and target_f.value == 0):
            pass  # SetDefaults_Service: a targetPort of 0 or "" is the port
        elif isinstance(target_f.value, int) and not isinstance(target_f.value, bool):
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
            if service_type == "ClusterIP":
                np_f.error(forbidden("may not be used when `type` is 'ClusterIP'"))
            elif service_type == "ExternalName":
                node_port = None  # accepted, and meaningless: nothing proxies an ExternalName Service
            if node_port is not None and protocol is not None:
                if (node_port, protocol) in node_ports:
                    np_f.error(duplicate(node_port))
                node_ports.add((node_port, protocol))
        if port is not None and protocol is not None and target is not None:
            out.append(ServicePort(name, protocol, port, target, node_port))
    return tuple(out)


def parse_service(raw: RawObject, root: Field, opts: ParseOptions) -> Service | None:
    plain = plain_service(raw, dns1035_label, opts)  # the common shape, without Fields
    if plain is not None:
        return plain
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
    cluster_ips, headless = _cluster_ips(spec, stype)
    external_name = _external_name(spec) if stype == ServiceType.EXTERNAL_NAME else None
    ports = _service_ports(spec, type_text, opts)
    if not spec.child("ports").value and stype not in (ServiceType.EXTERNAL_NAME, None) and not headless:
        spec.child("ports").error(required())
    external_ips = ips_field(spec.child("externalIPs"))
    for item in spec.child("externalIPs").items():
        addr = parse_ip(item.value) if isinstance(item.value, str) else None
        if addr is not None and (problem := special_ip(addr)) is not None:
            item.error(invalid(item.value, problem))
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
    ranges = _source_ranges(spec.child("loadBalancerSourceRanges"), stype)
    external = stype in (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER) or bool(external_ips)
    etp_f = spec.child("externalTrafficPolicy")
    etp = etp_f.choice(("Cluster", "Local"), default="Cluster")
    if etp_f.present and not external and etp_f.value:
        etp_f.error(invalid(etp_f.value, "may only be set for externally-accessible services"))
    itp = spec.child("internalTrafficPolicy").choice(("Cluster", "Local"), default="Cluster")
    _load_balancer_fields(spec, stype, etp)
    affinity = spec.child("sessionAffinity").choice(("None", "ClientIP"), default="None")
    timeout = None
    config = spec.child("sessionAffinityConfig")
    timeout_f = config.child("clientIP").child("timeoutSeconds") if config.present else config
    if affinity == "ClientIP":
        timeout = timeout_f.integer() if timeout_f.present else DEFAULT_AFFINITY_TIMEOUT
        if timeout is not None and not 0 < timeout <= 86400:
            timeout_f.error(invalid(timeout, "must be greater than 0 and less than 86400"))
            timeout = None
    # With sessionAffinity None, SetDefaults_Service drops sessionAffinityConfig: it is not an error.
    distribution = spec.child("trafficDistribution").choice(TRAFFIC_DISTRIBUTIONS)
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


def _cluster_ips(spec: Field, stype: ServiceType | None) -> tuple[list[IPAddress], bool]:
    """spec.clusterIP and spec.clusterIPs as ValidateServiceClusterIPsRelatedFields checks them: the
    addresses, and whether the Service is headless (clusterIP None). netcompile reads clusterIPs alone
    too (the API server wants clusterIP beside it); errors are at the field the input spells out."""
    ips_f, ip_f = spec.child("clusterIPs"), spec.child("clusterIP")
    texts = [i.value for i in ips_f.items()] if ips_f.present else ([ip_f.value] if ip_f.present else [])
    texts = [t for t in texts if t != ""] if not ips_f.present else texts
    where = ips_f if ips_f.present else ip_f
    if stype == ServiceType.EXTERNAL_NAME:
        if texts:
            where.error(forbidden("may not be set for ExternalName services"))
        for key in ("ipFamilies", "ipFamilyPolicy"):
            if spec.child(key).present:
                spec.child(key).error(forbidden("may not be set for ExternalName services"))
        return [], False
    if texts and texts[0] == "None":
        if len(texts) > 1:
            ips_f.error(invalid(texts, "'None' must be the first and only value"))
        elif stype in (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER):
            first = next(ips_f.items()) if ips_f.present else ip_f
            first.error(invalid("None", f"may not be set to 'None' for {stype.value} services"))
        return [], True
    cluster_ips: list[IPAddress] = []
    if ips_f.present:
        cluster_ips = list(ips_field(ips_f))
        if ip_f.present and ip_f.value != "" and texts and ip_f.value != texts[0]:
            ips_f.error(invalid(texts, "first value must match `clusterIP`"))
    elif ip_f.present and ip_f.value != "":
        addr = ip_field(ip_f)
        cluster_ips = [addr] if addr else []
    if len(texts) > 2:
        where.error(invalid(texts, "may only hold up to 2 values"))
    elif len(cluster_ips) == 2 and cluster_ips[0].version == cluster_ips[1].version:
        where.error(invalid(texts, "may specify no more than one IP for each IP family"))
    family_items = list(spec.child("ipFamilies").items())
    families = [item.item_choice(("IPv4", "IPv6")) for item in family_items]
    for index, (item, family) in enumerate(zip(family_items, families, strict=True)):
        if family is not None and family in families[:index]:
            item.error(duplicate(family))
    ip_items = list(ips_f.items()) if ips_f.present else [ip_f]
    for index, (addr, family) in enumerate(zip(cluster_ips, families, strict=False)):
        if family is not None and family != f"IPv{addr.version}":
            ip_items[index].error(
                invalid(ip_items[index].value, f"expected an {family} value as indicated by `ipFamilies[{index}]`")
            )
    return cluster_ips, False


def _external_name(spec: Field) -> str | None:
    """An ExternalName Service's name: a DNS-1123 subdomain, with a trailing dot or not."""
    f = spec.child("externalName")
    name = f.string()
    if name is None or not name.removesuffix("."):
        f.error(required())
        return None
    problem = dns1123_subdomain(name.removesuffix("."))
    if problem:
        f.error(invalid(name, problem))
        return None
    return name


def _source_ranges(f: Field, stype: ServiceType | None) -> tuple[IPNetwork, ...]:
    """spec.loadBalancerSourceRanges: for LoadBalancer Services only; CIDRs, which may be space-padded."""
    if f.present and f.value and stype not in (ServiceType.LOAD_BALANCER, None):
        f.error(forbidden("may only be used when `type` is 'LoadBalancer'"))
    out: list[IPNetwork] = []
    for item in f.items():
        if isinstance(item.value, str):
            item.value = item.value.strip()
        net = cidr_field(item, required_=True)
        if net is not None:
            out.append(net)
    return tuple(out)


def _load_balancer_fields(spec: Field, stype: ServiceType | None, etp: str | None) -> None:
    """What only a LoadBalancer Service may set (ValidateService, validateLoadBalancerClassField,
    validateServiceExternalTrafficPolicy); netcompile reads none of them, and refuses them elsewhere."""
    load_balancer = stype == ServiceType.LOAD_BALANCER
    for key in ("allocateLoadBalancerNodePorts", "loadBalancerClass"):
        f = spec.child(key)
        if f.present and stype is not None and not load_balancer:
            f.error(forbidden("may only be used when `type` is 'LoadBalancer'"))
    class_f = spec.child("loadBalancerClass")
    if load_balancer and (name := class_f.string()) is not None and (problem := qualified_name(name)):
        class_f.error(invalid(name, problem))
    health_f = spec.child("healthCheckNodePort")
    if health_f.present and health_f.value != 0 and stype is not None and etp is not None:
        if not (load_balancer and etp == "Local"):
            health_f.error(
                invalid(
                    health_f.value,
                    "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
                )
            )
        else:
            port_number_field(health_f)


def parse_service_cidr(raw: RawObject, root: Field, opts: ParseOptions) -> ServiceCIDR | None:
    """A ServiceCIDR (ValidateServiceCIDR): spec.cidrs, one or two CIDRs, at most one per IP family."""
    meta = meta_field(raw, root, False, dns1123_subdomain)
    spec = root.child("spec")
    cidrs: list[IPNetwork] = []
    if spec.required_map():
        items = list(spec.child("cidrs").items())
        if not items:
            spec.child("cidrs").error(required())
        elif len(items) > 2:
            spec.child("cidrs").error(invalid(spec.child("cidrs").value, "may only hold up to 2 values"))
        for item in items:
            net = cidr_field(item, required_=True)
            if net is not None and any(c.version == net.version for c in cidrs):
                item.error(invalid(item.value, "may specify no more than one IP for each IP family"))
            elif net is not None:
                cidrs.append(net)
    if meta is None or not cidrs:
        return None
    return ServiceCIDR(meta, tuple(cidrs))
