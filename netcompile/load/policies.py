"""NetworkPolicy (networking.k8s.io/v1): pod and namespace selectors, IP blocks, ports, policy types."""

from __future__ import annotations

from ..errors import forbidden, invalid, required
from ..model import (
    IPBlock,
    NetworkPolicy,
    PolicyPeer,
    PolicyPort,
    PolicyRule,
    PolicyType,
)
from ..model.selectors import LabelSelector
from .parse_common import (
    ParseOptions,
    meta_field,
    port_number_field,
    protocol_field,
    selector_field,
)
from .policies_plain import plain_network_policy
from .source import RawObject
from .validation import (
    Field,
    cidr_field,
    dns1123_subdomain,
    port_name,
)


def _policy_ports(f: Field) -> tuple[PolicyPort, ...] | None:
    if not f.present:
        return None
    out: list[PolicyPort] = []
    for item in f.object_items():
        if not item.is_map():
            continue
        protocol = protocol_field(item.child("protocol"))
        port_f, end_f = item.child("port"), item.child("endPort")
        port: int | str | None = None
        if isinstance(port_f.value, str):
            problem = port_name(port_f.value)
            if problem:
                port_f.error(invalid(port_f.value, problem))
            else:
                port = port_f.value
        elif port_f.present:
            port = port_number_field(port_f)
        end_port = None
        if end_f.present:
            end_port = port_number_field(end_f)
            if not isinstance(port, int):
                end_f.error(
                    invalid(end_f.value, "may not be specified when `port` is not specified")
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
            item.error(forbidden("may not specify both ipBlock and another peer"))
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
        pod_sel = selector_field(pod_f) if pod_f.present else None
        ns_sel = selector_field(ns_f) if ns_f.present else None
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
    plain = plain_network_policy(raw)  # the common shape, read without Fields (load/policies_plain.py)
    if plain is not None:
        return plain
    meta = meta_field(raw, root, True, dns1123_subdomain)
    spec = root.child("spec")
    if not spec.required_map():
        return None
    sel_f = spec.child("podSelector")
    selector = selector_field(sel_f) if sel_f.present else LabelSelector()
    ingress = _policy_rules(spec.child("ingress"), "from")
    egress = _policy_rules(spec.child("egress"), "to")
    types_f = spec.child("policyTypes")
    types: list[PolicyType] = []
    type_items = list(types_f.items())
    if len(type_items) > 2:
        types_f.error(invalid(types_f.value, "may not specify more than two policyTypes"))
    elif type_items:
        for item in type_items:  # a repeated type is accepted, as the API server does
            value = item.item_choice(("Ingress", "Egress"))
            if value is not None:
                types.append(PolicyType(value))
    else:
        # SetDefaults_NetworkPolicy (absent or empty): Ingress always, Egress when there is an egress rule.
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
