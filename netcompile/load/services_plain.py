"""Services of the common shape, read without `Field`s: a hot path of reading large inputs.

Reading field by field (`validation.Field`, in `services`) keeps a path and a position for every value,
so that any problem can be reported where it is. Most Services have none: as kubectl and Helm write them,
they hold a selector, ports and a clusterIP. `plain_service` reads such a Service straight from its
mapping, and answers None as soon as it meets anything that could need a message or that it does not
read (another type of Service, external addresses, a value of another type, an invalid name, a repeated
port): `services.parse_service` then reads it field by field and says what is wrong. Both paths give the
same Service (tests/test_plain.py compares them on generated Services). Metadata has a plain path of its
own (`parse_common.meta_field`), and so do endpoints (`endpoints._plain_endpoint`).
"""

from __future__ import annotations

from collections.abc import Callable

from ..model import IPAddress, Service, ServicePort, ServiceType, TrafficPolicy
from ..model.selectors import LabelSelector
from .documents import YList, YMap
from .parse_common import (
    DEFAULT_AFFINITY_TIMEOUT,
    ParseOptions,
    label_key_problem,
    label_problem,
    plain_labels,
    plain_meta,
    port_name_problem,
)
from .parse_common import (
    PLAIN_PROTOCOLS as _PROTOCOLS,
)
from .source import RawObject
from .validation import parse_ip

# The fields of a Service's spec read here; any other sends the Service down the field-by-field path.
_SERVICE_SPEC = frozenset(
    {
        "type",
        "clusterIP",
        "clusterIPs",
        "ipFamilies",
        "ipFamilyPolicy",  # read by workloads.parse_service_families, as for any Service
        "selector",
        "ports",
        "sessionAffinity",
        "externalTrafficPolicy",
        "internalTrafficPolicy",
        "publishNotReadyAddresses",
    }
)
_SERVICE_PORT = frozenset({"name", "protocol", "port", "targetPort", "nodePort", "appProtocol"})
_TYPES: dict[object, ServiceType] = {
    None: ServiceType.CLUSTER_IP,
    "": ServiceType.CLUSTER_IP,
    "ClusterIP": ServiceType.CLUSTER_IP,
    "NodePort": ServiceType.NODE_PORT,
}
_POLICIES: dict[object, TrafficPolicy] = {
    None: TrafficPolicy.CLUSTER,
    "": TrafficPolicy.CLUSTER,
    "Cluster": TrafficPolicy.CLUSTER,
    "Local": TrafficPolicy.LOCAL,
}
_AFFINITY_TIMEOUTS: dict[object, int | None] = {
    None: None,
    "": None,
    "None": None,
    "ClientIP": DEFAULT_AFFINITY_TIMEOUT,
}


def plain_service(raw: RawObject, name_check: Callable[[str], str | None], opts: ParseOptions) -> Service | None:
    """A ClusterIP or NodePort Service of the common shape (`services.parse_service`)."""
    body = raw.body
    spec = body.get("spec")
    if spec.__class__ is not YMap or not _SERVICE_SPEC.issuperset(spec):
        return None
    status = body.get("status")
    if status is not None and not _empty_status(status):
        return None
    stype = _TYPES.get(_text(spec.get("type")))
    etp = _POLICIES.get(_text(spec.get("externalTrafficPolicy")))
    itp = _POLICIES.get(_text(spec.get("internalTrafficPolicy")))
    affinity = _text(spec.get("sessionAffinity"))
    publish = spec.get("publishNotReadyAddresses")
    if stype is None or etp is None or itp is None or affinity not in _AFFINITY_TIMEOUTS:
        return None
    if spec.get("externalTrafficPolicy") and stype is not ServiceType.NODE_PORT:
        return None
    if not (publish is None or publish.__class__ is bool):
        return None
    selector_labels = plain_labels(spec.get("selector"))
    if selector_labels is None:
        return None
    addresses = _cluster_ips(spec, stype)
    if addresses is None:
        return None
    cluster_ips, headless = addresses
    ports = _ports(spec.get("ports"), stype, opts)
    if ports is None or (not ports and not headless):
        return None
    meta = plain_meta(raw, True, name_check)
    if meta is None:
        return None
    return Service(
        meta,
        stype,
        None if spec.get("selector") is None else LabelSelector(selector_labels),
        cluster_ips,
        headless,
        ports,
        (),
        (),
        (),
        etp,
        itp,
        _AFFINITY_TIMEOUTS[affinity],
        None,
        None,
        bool(publish),
    )


_NOT_TEXT = object()


def _text(value: object) -> object:
    """A string or None as it is, anything else as a value that no table here holds (and that, unlike a
    mapping or a list, can be looked up)."""
    return value if value is None or value.__class__ is str else _NOT_TEXT


def _empty_status(status: object) -> bool:
    """A status without load balancer ingress (`status: {loadBalancer: {}}`, as kubectl prints it): the
    only part of a Service's status that netcompile reads."""
    if status.__class__ is not YMap:
        return False
    assert isinstance(status, YMap)
    balancer = status.get("loadBalancer")
    return balancer is None or balancer == {}


def _cluster_ips(spec: YMap, stype: ServiceType) -> tuple[tuple[IPAddress, ...], bool] | None:
    """spec.clusterIPs (one or two addresses, of two families, the first also spec.clusterIP when it is
    given) or spec.clusterIP alone, with spec.ipFamilies to match; "None" is headless."""
    many, one = spec.get("clusterIPs"), spec.get("clusterIP")
    if many is not None:
        if many.__class__ is not YList or not 1 <= len(many) <= 2 or not (one is None or one == "" or one == many[0]):
            return None
        texts = list(many)
    elif one is None or one == "":
        texts = []
    elif one.__class__ is str:
        texts = [one]
    else:
        return None
    if texts and texts[0] == "None":
        if len(texts) > 1 or stype is not ServiceType.CLUSTER_IP:
            return None
        return (), True  # the field-by-field path does not look at ipFamilies then either
    addresses: list[IPAddress] = []
    for text in texts:
        address = parse_ip(text) if text.__class__ is str else None
        if address is None or any(a.version == address.version for a in addresses):
            return None
        addresses.append(address)
    families = spec.get("ipFamilies")
    if families is not None:
        if families.__class__ is not YList or not all(family in ("IPv4", "IPv6") for family in families):
            return None
        if len(set(families)) != len(families):
            return None
        if any(family != f"IPv{a.version}" for a, family in zip(addresses, families, strict=False)):
            return None
    return tuple(addresses), False


def _ports(given: object, stype: ServiceType, opts: ParseOptions) -> tuple[ServicePort, ...] | None:
    """spec.ports, each with a valid name (one is needed when there are several), protocol, port,
    targetPort and (NodePort Services) nodePort in the range, none repeated."""
    if given is None:
        return ()
    if given.__class__ is not YList:
        return None
    assert isinstance(given, YList)
    out: list[ServicePort] = []
    seen: set[object] = set()
    for item in given:
        if item.__class__ is not YMap or not _SERVICE_PORT.issuperset(item):
            return None
        name = item.get("name")
        if name is None or name == "":
            if len(given) > 1:
                return None
            name = ""
        elif name.__class__ is not str or label_problem(name) is not None:
            return None
        protocol = _PROTOCOLS.get(_text(item.get("protocol")))
        port = item.get("port")
        if protocol is None or port.__class__ is not int or not 1 <= port <= 65535:
            return None
        app = item.get("appProtocol")
        if not (app is None or app == "" or (app.__class__ is str and label_key_problem(app) is None)):
            return None
        target = _target_port(item.get("targetPort"), port)
        node_port = item.get("nodePort")
        if node_port == 0 and node_port.__class__ is int:
            node_port = None
        elif node_port is not None:
            low, high = opts.node_port_range
            if node_port.__class__ is not int or stype is not ServiceType.NODE_PORT or not low <= node_port <= high:
                return None
        keys = [("name", name), ("port", port, protocol)]
        if node_port is not None:
            keys.append(("nodePort", node_port, protocol))
        if target is None or any(key in seen for key in keys):
            return None
        seen.update(keys)
        out.append(ServicePort(name, protocol, port, target, node_port))
    return tuple(out)


def _target_port(given: object, port: int) -> int | str | None:
    """A targetPort: the port itself when absent, 0 or ""; a port number; a valid port name."""
    if given is None or given == "" or (given == 0 and given.__class__ is int):
        return port
    if given.__class__ is int:
        assert isinstance(given, int)
        return given if 1 <= given <= 65535 else None
    if given.__class__ is str:
        assert isinstance(given, str)
        return given if port_name_problem(given) is None else None
    return None
