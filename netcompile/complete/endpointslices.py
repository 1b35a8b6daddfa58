"""EndpointSlices derived from pods, as Kubernetes' EndpointSlice controller publishes them.

The controller (`pkg/controller/endpointslice`, with the helpers of `staging/src/k8s.io/endpointslice`)
manages the slices of every Service that has a selector. Here it runs once, for each such Service that
has neither EndpointSlices nor an Endpoints object of its own in the input (a snapshot from a live
cluster keeps the slices it has). What it publishes, per the controller's source:

- pods: those the selector picks in the Service's namespace that are not terminal (phase Succeeded or
  Failed) and have an address (`ShouldPodBeInEndpoints` with terminating pods included);
- one address type per family of the Service (its clusterIPs; both families for a headless Service),
  and in it the pod's addresses of that family (`getEndpointAddresses`);
- conditions (`podToEndpoint`): serving = the pod is Ready; terminating = its deletionTimestamp is set;
  ready = `publishNotReadyAddresses`, or serving and not terminating;
- nodeName from the pod, zone from its Node's `topology.kubernetes.io/zone` label; no hints;
- ports (`getEndpointPorts`, `FindPort`): each Service port whose targetPort resolves on the pod (a
  number as is; a name through the pod's container ports of that name and protocol); pods whose ports
  resolve differently land in different slices, at most 100 endpoints each.

The slices' names are stable (derived from the Service, the address type and the ports), not random as
the controller's `generateName`, so that a review diff shows only what changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from hashlib import sha256

from ..model import (
    EndpointConditions,
    EndpointPort,
    EndpointSlice,
    IPAddress,
    Meta,
    Node,
    Objects,
    Pod,
    Service,
    SliceEndpoint,
)
from ..model.selectors import LabelSelector, Operator

MAX_ENDPOINTS_PER_SLICE = 100  # the controller's --max-endpoints-per-slice default
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
ZONE_LABEL = "topology.kubernetes.io/zone"
ADDRESS_TYPES = {4: "IPv4", 6: "IPv6"}


def _label_selected(selector: LabelSelector, labels: Mapping[str, str]) -> bool:
    """The controller lists pods with `labels.Set(spec.selector)`: every pair must be present."""
    for key, value in selector.match_labels:
        if labels.get(key) != value:
            return False
    for req in selector.match_expressions:  # Services have none; kept for a selector built otherwise
        present = req.key in labels
        if req.operator == Operator.EXISTS and not present:
            return False
        if req.operator == Operator.DOES_NOT_EXIST and present:
            return False
        if req.operator == Operator.IN and not (present and labels[req.key] in req.values):
            return False
        if req.operator == Operator.NOT_IN and present and labels[req.key] in req.values:
            return False
    return True


def _addresses(pod: Pod, nodes: Mapping[str, Node]) -> tuple[IPAddress, ...]:
    """status.podIPs; a hostNetwork pod without them has what its kubelet reports: the node's primary
    address of each family (its first InternalIP, else its first address)."""
    if pod.ips or not pod.host_network:
        return pod.ips
    node = nodes.get(pod.node_name or "")
    if node is None:
        return ()
    chosen: dict[int, IPAddress] = {}
    for a in [a for a in node.addresses if a.type == "InternalIP"] + list(node.addresses):
        chosen.setdefault(a.address.version, a.address)
    return tuple(chosen[v] for v in sorted(chosen))


def _resolve(pod: Pod, target: int | str, protocol: str) -> int | None:
    """`FindPort`: a number as is; a name through the container ports of that name and protocol."""
    if isinstance(target, int):
        return target
    return next((p.port for p in pod.ports if p.name == target and p.protocol == protocol), None)


def _slice_name(service: Service, address_type: str, ports: tuple[EndpointPort, ...], chunk: int) -> str:
    key = f"{address_type}|{'|'.join(f'{p.name}/{p.protocol}/{p.port}' for p in ports)}|{chunk}"
    return f"{service.meta.name}-{sha256(key.encode()).hexdigest()[:5]}"


def _zone(node: Node | None) -> str | None:
    """The node's topology.kubernetes.io/zone label (None when absent or empty)."""
    if node is None:
        return None
    for key, value in node.meta.labels:
        if key == ZONE_LABEL:
            return value or None
    return None


def service_slices(service: Service, pods: list[Pod], nodes: Mapping[str, Node]) -> list[EndpointSlice]:
    """The EndpointSlices the controller publishes for one Service with a selector."""
    selector = service.selector
    assert selector is not None
    families = sorted({a.version for a in service.cluster_ips}) or [4, 6]
    groups: dict[tuple[str, tuple[EndpointPort, ...]], list[SliceEndpoint]] = {}
    shared: dict[tuple[bool, bool], EndpointConditions] = {}  # (serving, terminating): immutable, made once
    resolved: dict[int, tuple[EndpointPort, ...]] = {}  # by id(pod.ports): `pods` keeps each tuple alive
    wanted = selector.match_labels
    plain = not selector.match_expressions
    for pod in pods:
        if pod.phase in ("Succeeded", "Failed"):
            continue
        labels = pod.meta.labels  # sorted pairs, one key each: a pair is in them or the pod is not selected
        if plain:
            if any(pair not in labels for pair in wanted):
                continue
        elif not _label_selected(selector, dict(labels)):
            continue
        addresses = pod.ips if pod.ips or not pod.host_network else _addresses(pod, nodes)
        if not addresses:
            continue
        ports = resolved.get(id(pod.ports))  # the pods of a workload share one tuple of container ports
        if ports is None:
            found = [(sp, _resolve(pod, sp.target_port, sp.protocol)) for sp in service.ports]
            ports = resolved[id(pod.ports)] = tuple(
                EndpointPort(sp.name, n, sp.protocol) for sp, n in found if n is not None
            )
        serving = pod.ready
        conditions = shared.get((serving, pod.terminating))
        if conditions is None:
            conditions = shared[(serving, pod.terminating)] = EndpointConditions(
                ready=service.publish_not_ready_addresses or (serving and not pod.terminating),
                serving=serving,
                terminating=pod.terminating,
            )
        zone = _zone(nodes.get(pod.node_name or ""))
        # The controller names the endpoint by the pod's spec.hostname when its subdomain is the Service's.
        naming = pod.naming
        hostname = naming.hostname if naming.hostname and naming.subdomain == service.meta.name else None
        mine: tuple[IPAddress, ...]
        for family in families:
            if len(addresses) == 1:  # most pods: one address, of one family
                mine = addresses if addresses[0].version == family else ()
            else:
                mine = tuple(a for a in addresses if a.version == family)
            if mine:
                endpoint = SliceEndpoint(mine, conditions, pod.node_name or None, zone, None, hostname)
                groups.setdefault((ADDRESS_TYPES[family], ports), []).append(endpoint)
    slice_labels = dict(service.meta.labels)
    slice_labels.update({SERVICE_NAME_LABEL: service.meta.name, MANAGED_BY_LABEL: CONTROLLER_NAME})
    out: list[EndpointSlice] = []
    for (address_type, ports), endpoints in groups.items():
        for chunk, start in enumerate(range(0, len(endpoints), MAX_ENDPOINTS_PER_SLICE)):
            meta = Meta(
                "EndpointSlice",
                service.meta.namespace,
                _slice_name(service, address_type, ports, chunk),
                tuple(sorted(slice_labels.items())),
                service.meta.position,
            )
            part = tuple(endpoints[start : start + MAX_ENDPOINTS_PER_SLICE])
            out.append(EndpointSlice(meta, service.meta.name, address_type, ports, part))
    return out


def complete_endpoint_slices(objects: Objects) -> Objects:
    """The objects with the EndpointSlices the controller would add; unchanged when it adds none."""
    owned = {(s.meta.namespace, s.service_name) for s in objects.endpoint_slices if s.service_name}
    owned |= {(e.meta.namespace, e.meta.name) for e in objects.endpoints}
    services = [s for s in objects.services if s.selector is not None and (s.meta.namespace, s.meta.name) not in owned]
    if not services:
        return objects
    nodes = {n.meta.name: n for n in objects.nodes}
    keys = {key for s in services if s.selector is not None for key, _ in s.selector.match_labels}
    pods_by_ns: dict[str, list[Pod]] = {}
    by_label: dict[tuple[str, str, str], list[Pod]] = {}  # (namespace, key, value): the pods, in input order
    for pod in objects.pods:
        ns = pod.meta.namespace
        pods_by_ns.setdefault(ns, []).append(pod)
        for key, value in pod.meta.labels:
            if key in keys:  # only the keys selectors name narrow the candidates
                by_label.setdefault((ns, key, value), []).append(pod)
    added: list[EndpointSlice] = []
    for service in services:
        assert service.selector is not None
        ns = service.meta.namespace
        candidates = pods_by_ns.get(ns, [])
        for key, value in service.selector.match_labels:  # only pods with every pair can be selected
            having = by_label.get((ns, key, value), [])
            if len(having) < len(candidates):
                candidates = having
        added += service_slices(service, candidates, nodes)
    if not added:
        return objects
    return replace(objects, endpoint_slices=objects.endpoint_slices + tuple(added))
