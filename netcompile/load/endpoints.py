"""The endpoints of Services: EndpointSlice (discovery.k8s.io/v1) and the older Endpoints (core/v1)."""

from __future__ import annotations

import functools
from typing import cast

from ..errors import duplicate, invalid, required, too_many
from ..model import (
    EndpointAddress,
    EndpointConditions,
    EndpointPort,
    Endpoints,
    EndpointSlice,
    EndpointSubset,
    IPAddress,
    SliceEndpoint,
)
from .parse_common import (
    PLAIN_PROTOCOLS as _PROTOCOLS,
)
from .parse_common import (
    SERVICE_NAME_LABEL,
    ParseOptions,
    label_problem,
    meta_field,
    port_number_field,
    protocol_field,
)
from .source import RawObject, YList, YMap
from .validation import (
    Field,
    dns1123_label,
    dns1123_subdomain,
    fqdn,
    ip_field,
    name_field,
    parse_ip,
    special_ip,
)

# validateEndpoints, validatePorts (pkg/apis/discovery/validation): how much one EndpointSlice may hold.
MAX_ENDPOINTS = 1000
MAX_ADDRESSES = 100
MAX_PORTS = 100


@functools.cache
def _node_name_problem(name: str) -> str | None:
    """ValidateNodeName, once per name: nodes are few, endpoints many."""
    return dns1123_subdomain(name)


_SLICE_PORT = frozenset({"name", "port", "protocol", "appProtocol"})


def _plain_slice_ports(given: object) -> tuple[EndpointPort, ...] | None:
    """An EndpointSlice's ports read without `Field`s, when none can need a message: distinct valid names,
    port numbers in range, known protocols (`_endpoint_ports` says what is wrong otherwise; the API rule
    tables run both ways)."""
    if given is None:
        return ()
    if not isinstance(given, YList) or len(given) > MAX_PORTS:
        return None
    out: list[EndpointPort] = []
    names: set[str] = set()
    for item in given:
        if item.__class__ is not YMap or not _SLICE_PORT.issuperset(item):  # appProtocol is not read
            return None
        name, port, given_protocol = item.get("name"), item.get("port"), item.get("protocol")
        protocol = _PROTOCOLS.get(given_protocol) if given_protocol is None or given_protocol.__class__ is str else None
        if name is None or name == "":
            name = ""
        elif name.__class__ is not str or label_problem(name) is not None:
            return None
        if name in names or protocol is None or port.__class__ is not int or not 1 <= port <= 65535:
            return None
        names.add(name)
        out.append(EndpointPort(name, port, protocol))
    return tuple(out)


def _endpoint_ports(f: Field, *, slice_ports: bool) -> tuple[EndpointPort, ...]:
    """EndpointSlice ports (`slice_ports`: the port number may be absent, which no Service port can use,
    so it is left out) or an Endpoints subset's (a name for each when there are several)."""
    plain = _plain_slice_ports(f.value) if slice_ports else None
    if plain is not None:
        return plain
    out: list[EndpointPort] = []
    names: set[str] = set()
    items = list(f.object_items())
    if slice_ports and len(items) > MAX_PORTS:
        f.error(too_many(len(items), MAX_PORTS))
    for item in items:
        if not item.is_map():
            continue
        name = name_field(item.child("name"), dns1123_label, required_=not slice_ports and len(items) > 1) or ""
        if name in names:
            item.child("name").error(duplicate(name))
        names.add(name)
        port = port_number_field(item.child("port"), required_=not slice_ports)
        protocol = protocol_field(item.child("protocol"))
        if port is not None and protocol is not None:
            out.append(EndpointPort(name, port, protocol))
    return tuple(out)


_DEFAULT_CONDITIONS = EndpointConditions()


_CONDITION_KEYS = ("ready", "serving", "terminating")


def _conditions(f: Field) -> EndpointConditions:
    """An endpoint's conditions: absent ready or serving means true, absent terminating false."""
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
    # discovery/v1 EndpointConditions: nil ready and nil serving are "true", nil terminating "false".
    return _endpoint_conditions(ready is not False, serving is not False, terminating is True)


@functools.cache
def _endpoint_conditions(ready: bool, serving: bool, terminating: bool) -> EndpointConditions:
    return EndpointConditions(ready, serving, terminating)  # 8 values, shared by every endpoint


def _plain_endpoint(entry: YMap, version: int) -> SliceEndpoint | None:
    """An endpoint read without `Field`s, when nothing in it can need a message: addresses of the slice's
    family, boolean conditions, nodeName and zone strings, no hints and no hostname. None sends it down
    the field-by-field path, which reports what is wrong; both give the same endpoint (tested). 100k
    endpoints are most of what 10k Services are, so this is the hot path of reading them."""
    addresses = entry.get("addresses")
    if addresses.__class__ is not YList or not addresses or "hints" in entry or "hostname" in entry:
        return None
    if len(addresses) > MAX_ADDRESSES:
        return None
    addrs: list[IPAddress] = []
    for text in addresses:
        addr = parse_ip(text) if text.__class__ is str else None
        if addr is None or addr.version != version or special_ip(addr) is not None:
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
    if node_name and _node_name_problem(node_name) is not None:
        return None
    return SliceEndpoint(tuple(addrs), conditions, node_name or None, zone or None, None)


def parse_endpoint_slice(raw: RawObject, root: Field, opts: ParseOptions) -> EndpointSlice | None:
    meta = meta_field(raw, root, True, dns1123_subdomain)
    address_type = root.child("addressType").choice(("IPv4", "IPv6", "FQDN"))
    if root.child("addressType").value is None:
        root.child("addressType").error(required())
    endpoints: list[SliceEndpoint] = []
    version = {"IPv4": 4, "IPv6": 6}.get(address_type or "")
    endpoints_f = root.child("endpoints")
    if isinstance(endpoints_f.value, list) and len(endpoints_f.value) > MAX_ENDPOINTS:
        endpoints_f.error(too_many(len(endpoints_f.value), MAX_ENDPOINTS))
    given = endpoints_f.value
    plain: list[SliceEndpoint | None] = []
    if version is not None and given.__class__ is YList:
        plain = [_plain_endpoint(entry, version) if entry.__class__ is YMap else None for entry in given]
    if plain and None not in plain:
        endpoints = cast(list[SliceEndpoint], plain)
    else:
        for index, item in enumerate(endpoints_f.object_items()):
            endpoint = plain[index] if index < len(plain) else None
            if endpoint is None:
                endpoint = _field_endpoint(item, address_type)
            if endpoint is not None:
                endpoints.append(endpoint)
    ports = _endpoint_ports(root.child("ports"), slice_ports=True)
    if meta is None or address_type is None:
        return None
    service_name = dict(meta.labels).get(SERVICE_NAME_LABEL)
    return EndpointSlice(meta, service_name, address_type, ports, tuple(endpoints))


def _field_endpoint(item: Field, address_type: str | None) -> SliceEndpoint | None:
    """An endpoint read field by field, saying what is wrong with it; None when it is not a mapping."""
    entry = item.value
    if not item.is_map():
        return None
    addrs: list[IPAddress] = []
    addresses = item.child("addresses")
    addr_items = list(addresses.items())
    if not addr_items:
        addresses.error(required("must contain at least 1 address"))
    elif len(addr_items) > MAX_ADDRESSES:
        addresses.error(too_many(len(addr_items), MAX_ADDRESSES))
    for a in addr_items:
        if address_type == "FQDN":
            name = a.string(required_=True)
            if name is not None and (problem := fqdn(name)):
                a.error(invalid(name, problem))
            continue
        addr = ip_field(a, required_=True)
        if addr is None:
            continue
        if address_type in ("IPv4", "IPv6") and addr.version != (4 if address_type == "IPv4" else 6):
            a.error(invalid(str(addr), f"must be an {address_type} address"))
            continue
        if (problem := special_ip(addr)) is not None:
            a.error(invalid(a.value, problem))
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
    node_name = name_field(item.child("nodeName"), dns1123_subdomain, required_=False) if "nodeName" in entry else None
    zone = item.child("zone").string() if "zone" in entry else None
    hostname = name_field(item.child("hostname"), dns1123_label, required_=False) if "hostname" in entry else None
    return SliceEndpoint(tuple(addrs), conditions, node_name, zone, hint_zones, hostname)


def parse_endpoints(raw: RawObject, root: Field, opts: ParseOptions) -> Endpoints | None:
    meta = meta_field(raw, root, True, dns1123_subdomain)
    subsets: list[EndpointSubset] = []
    for subset in root.child("subsets").object_items():
        if not subset.is_map():
            continue
        groups: list[tuple[EndpointAddress, ...]] = []
        for key in ("addresses", "notReadyAddresses"):
            group: list[EndpointAddress] = []
            for a in subset.child(key).object_items():
                if a.is_map():
                    ip_f = a.child("ip")
                    addr = ip_field(ip_f, required_=True)
                    if addr is not None and (problem := special_ip(addr)) is not None:
                        ip_f.error(invalid(ip_f.value, problem))
                    node_name = name_field(a.child("nodeName"), dns1123_subdomain, required_=False)
                    if addr is not None:
                        group.append(EndpointAddress(addr, node_name))
            groups.append(tuple(group))
        if not subset.child("addresses").value and not subset.child("notReadyAddresses").value:
            subset.error(required("must specify `addresses` or `notReadyAddresses`"))
        subsets.append(EndpointSubset(groups[0], groups[1], _endpoint_ports(subset.child("ports"), slice_ports=False)))
    if meta is None:
        return None
    return Endpoints(meta, tuple(subsets))
