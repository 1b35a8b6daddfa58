"""The core/v1 kinds of a cluster's shape: Namespace, Node, Pod."""

from __future__ import annotations

import json

from ..errors import duplicate, invalid, required
from ..model import (
    ContainerPort,
    IPNetwork,
    Meta,
    Namespace,
    Node,
    NodeAddress,
    Pod,
)
from ..model.naming import NO_NAMING, Container, EnvVar, PodNaming
from .parse_common import (
    NAMESPACE_NAME_LABEL,
    ParseOptions,
    meta_field,
    port_number_field,
    protocol_field,
)
from .pods_plain import plain_pod
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
            cidrs = _pod_cidrs(pod_cidrs)
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


def _pod_cidrs(f: Field) -> list[IPNetwork]:
    """spec.podCIDRs as ValidateNode checks them: CIDRs, at most one of each IP family, none twice."""
    items = list(f.items())
    cidrs = [cidr_field(item, required_=True) for item in items]
    if len(items) > 1 and all(cidrs):
        if len(items) > 2 or len({c.version for c in cidrs if c}) < len(items):
            f.error(invalid(f.value, "may specify no more than one CIDR for each IP family"))
        for index, item in enumerate(items):
            if item.value in [i.value for i in items[:index]]:
                item.error(duplicate(item.value))
    return [c for c in cidrs if c]


def _container_ports(spec: Field) -> tuple[ContainerPort, ...]:
    ports: list[ContainerPort] = []
    for containers_key in ("containers", "initContainers"):
        for container in spec.child(containers_key).object_items():
            if not container.is_map():
                continue
            if containers_key == "initContainers" and container.child("restartPolicy").value != "Always":
                continue  # only sidecar init containers keep running and serve ports
            names: set[str] = set()  # validateContainerPorts: a name once per container
            for item in container.child("ports").object_items():
                if not item.is_map():
                    continue
                name = name_field(item.child("name"), port_name, required_=False)
                if name is not None and name in names:
                    item.child("name").error(duplicate(name))
                elif name is not None:
                    names.add(name)
                number_f = item.child("containerPort")
                if number_f.value.__class__ is int and number_f.value == 0:
                    number_f.value = None  # 0 is the unset value: Required, as absent
                number = port_number_field(number_f)
                protocol = protocol_field(item.child("protocol"))
                if number is not None and protocol is not None:
                    ports.append(ContainerPort(name, number, protocol))
    return tuple(ports)


def parse_pod(raw: RawObject, root: Field, opts: ParseOptions) -> Pod | None:
    plain = plain_pod(raw)  # the common shape, read without Fields (load/pods_plain.py)
    if plain is not None:
        return plain
    meta = meta_field(raw, root, True, dns1123_subdomain)
    spec, status = root.child("spec"), root.child("status")
    node_name = host_network = None
    ports: tuple[ContainerPort, ...] = ()
    naming = NO_NAMING
    if spec.is_map():
        node_name = spec.child("nodeName").string()
        host_network = spec.child("hostNetwork").boolean(default=False)
        ports = _container_ports(spec)
        naming = pod_naming(spec)
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
        naming=naming,
    )


def pod_naming(spec: Field) -> PodNaming:
    """What `dns` and `env` read of a pod spec (model/naming.py): hostname and subdomain (DNS-1123 labels,
    as ValidatePodSpec checks them), enableServiceLinks (default true), each container's env and envFrom."""
    hostname = name_field(spec.child("hostname"), dns1123_label, required_=False)
    subdomain = name_field(spec.child("subdomain"), dns1123_label, required_=False)
    links = spec.child("enableServiceLinks").boolean(default=True)
    containers: list[Container] = []
    for key, init in (("initContainers", True), ("containers", False)):
        for item in spec.child(key).object_items():
            if not item.is_map():
                continue
            env: list[EnvVar] = []
            for var in item.child("env").object_items():
                if var.is_map():
                    name = var.child("name").string(required_=True)
                    source = var.child("valueFrom").value
                    value = None if source is not None else var.child("value").string(default="")
                    if name is not None:
                        shown = json.dumps(source, sort_keys=True) if source is not None else None
                        env.append(EnvVar(name, value, shown))
            sources: list[str] = []
            for source in item.child("envFrom").object_items():
                if not source.is_map():
                    continue
                prefix = source.child("prefix").string()
                for ref, what in (("configMapRef", "configMap"), ("secretRef", "secret")):
                    if source.child(ref).is_map():
                        named = source.child(ref).child("name").string() or ""
                        sources.append(f"{what} {named}" + (f" (prefix {prefix})" if prefix else ""))
            containers.append(Container(item.child("name").string() or "", init, tuple(env), tuple(sources)))
    policy = spec.child("dnsPolicy").choice(DNS_POLICIES, default="ClusterFirst") or "ClusterFirst"
    config = spec.child("dnsConfig")
    searches: list[str] = []
    options: list[tuple[str, str | None]] = []
    if config.is_map():
        searches = [s for s in (item.string(required_=True) for item in config.child("searches").items()) if s]
        for option in config.child("options").object_items():
            if option.is_map():
                name = option.child("name").string(required_=True)
                if name is not None:
                    options.append((name, option.child("value").string()))
    elif policy == "None":  # validatePodDNSConfig
        config.error(required("must provide `dnsConfig` when `dnsPolicy` is None"))
    dns = (policy, tuple(searches), tuple(options))
    if hostname is None and subdomain is None and links and not containers and dns == ("ClusterFirst", (), ()):
        return NO_NAMING
    return PodNaming(hostname, subdomain, links, tuple(containers), *dns)


DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
