"""The core/v1 kinds of a cluster's shape: Namespace, Node, Pod."""

from __future__ import annotations

from ..model import (
    ContainerPort,
    Meta,
    Namespace,
    Node,
    NodeAddress,
    Pod,
)
from .parse_common import (
    NAMESPACE_NAME_LABEL,
    ParseOptions,
    meta_field,
    port_number_field,
    protocol_field,
)
from .source import RawObject
from .validation import (
    Field,
    cidr_field,
    dns1123_label,
    dns1123_subdomain,
    ip_field,
    name_field,
    port_name,
)


def parse_namespace(raw: RawObject, root: Field, opts: ParseOptions) -> Namespace | None:
    meta = meta_field(raw, root, False, dns1123_label)
    if meta is None:
        return None
    # The API server labels every namespace with its own name; namespaceSelectors rely on it.
    labels = dict(meta.labels)
    labels[NAMESPACE_NAME_LABEL] = meta.name
    return Namespace(Meta(meta.kind, "", meta.name, tuple(sorted(labels.items())), meta.position))


def parse_node(raw: RawObject, root: Field, opts: ParseOptions) -> Node | None:
    meta = meta_field(raw, root, False, dns1123_subdomain)
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
                number = port_number_field(item.child("containerPort"))
                protocol = protocol_field(item.child("protocol"))
                if number is not None and protocol is not None:
                    ports.append(ContainerPort(name, number, protocol))
    return tuple(ports)


def parse_pod(raw: RawObject, root: Field, opts: ParseOptions) -> Pod | None:
    meta = meta_field(raw, root, True, dns1123_subdomain)
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
