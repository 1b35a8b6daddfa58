"""NetworkPolicies of the common shape, read without `Field`s: a hot path of reading large inputs.

As `services_plain` and `pods_plain` do for their kinds: `plain_network_policy` reads a policy straight
from its mappings (selectors, rules with peers and ports, ipBlocks, policyTypes), and answers None as
soon as it meets anything that could need a message (a value of another type, an invalid label, CIDR or
port, a null list item): `policies.parse_network_policy` then reads it field by field and says what is
wrong. Both paths give the same policy (tests/test_load_policies.py compares them on generated policies).
Its metadata is read by the metadata's plain path (`parse_common.plain_meta`, looked up when called), so
that reading without the plain paths (tests/plain_paths.py) reads policies field by field too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..model import IPBlock, IPNetwork, NetworkPolicy, PolicyPeer, PolicyPort, PolicyRule, PolicyType
from ..model.selectors import LabelSelector, Operator, Requirement
from . import parse_common
from .documents import YList, YMap
from .parse_common import PLAIN_PROTOCOLS, label_key_problem, label_value_problem, plain_labels, port_name_problem
from .source import RawObject
from .validation import dns1123_subdomain, parse_cidr

_NOT_TEXT = object()
_OPERATORS: dict[object, Operator] = {o.value: o for o in Operator}
_TYPES: dict[object, PolicyType] = {t.value: t for t in PolicyType}


class _Off(Exception):
    """The policy leaves the common shape: it is read field by field."""


def plain_network_policy(raw: RawObject) -> NetworkPolicy | None:
    """A NetworkPolicy of the common shape (`policies.parse_network_policy`), or None."""
    spec = raw.body.get("spec")
    if spec.__class__ is not YMap:
        return None
    try:
        given = spec.get("podSelector")
        selector = LabelSelector() if given is None else _selector(given)
        ingress = _rules(spec.get("ingress"), "from")
        egress = _rules(spec.get("egress"), "to")
        types = _types(spec.get("policyTypes"), egress)
    except _Off:
        return None
    meta = parse_common.plain_meta(raw, True, dns1123_subdomain)
    if meta is None:
        return None
    return NetworkPolicy(
        meta,
        selector,
        types,
        ingress if PolicyType.INGRESS in types else (),
        egress if PolicyType.EGRESS in types else (),
    )


def _list(given: object) -> Sequence[Any]:
    """A list, absent as empty; a null item (the API server's empty object) is read field by field."""
    if given is None:
        return ()
    if given.__class__ is not YList:
        raise _Off
    assert isinstance(given, YList)
    if None in given:
        raise _Off
    return given


def _types(given: object, egress: tuple[PolicyRule, ...]) -> tuple[PolicyType, ...]:
    """spec.policyTypes, at most two, each Ingress or Egress; absent or empty as SetDefaults_NetworkPolicy."""
    items = _list(given)
    if len(items) > 2:
        raise _Off
    types: set[PolicyType] = set()
    for item in items:  # a repeated type is accepted, as the API server does
        known = _TYPES.get(_text(item))
        if known is None:
            raise _Off
        types.add(known)
    if not items:
        types = {PolicyType.INGRESS, PolicyType.EGRESS} if egress else {PolicyType.INGRESS}
    return tuple(sorted(types))


def _text(value: object) -> object:
    """A string or None as it is, anything else as a value no table here holds (and that can be looked up)."""
    return value if value is None or value.__class__ is str else _NOT_TEXT


def _selector(given: object) -> LabelSelector:
    """A metav1.LabelSelector (`parse_common.selector_field`)."""
    if given.__class__ is not YMap:
        raise _Off
    assert isinstance(given, YMap)
    labels = plain_labels(given.get("matchLabels"))
    if labels is None:
        raise _Off
    expressions: list[Requirement] = []
    for item in _list(given.get("matchExpressions")):
        if item.__class__ is not YMap:
            raise _Off
        key, operator = item.get("key"), _OPERATORS.get(_text(item.get("operator")))
        if key.__class__ is not str or not key or label_key_problem(key) is not None or operator is None:
            raise _Off
        values = _list(item.get("values"))
        for value in values:
            if value.__class__ is not str or label_value_problem(value) is not None:
                raise _Off
        if bool(values) != (operator in (Operator.IN, Operator.NOT_IN)):
            raise _Off
        expressions.append(Requirement(key, operator, frozenset(values)))
    return LabelSelector(labels, tuple(expressions))


def _rules(given: object, peers_key: str) -> tuple[PolicyRule, ...]:
    rules: list[PolicyRule] = []
    for item in _list(given):
        if item.__class__ is not YMap:
            raise _Off
        peers, ports = item.get(peers_key), item.get("ports")
        rules.append(PolicyRule(None if peers is None else _peers(peers), None if ports is None else _ports(ports)))
    return tuple(rules)


def _peers(given: object) -> tuple[PolicyPeer, ...]:
    """A rule's `from` or `to`: each peer pod and/or namespace selectors, or an ipBlock."""
    peers: list[PolicyPeer] = []
    for item in _list(given):
        if item.__class__ is not YMap:
            raise _Off
        pods, namespaces, block = item.get("podSelector"), item.get("namespaceSelector"), item.get("ipBlock")
        if block is not None:
            if pods is not None or namespaces is not None:
                raise _Off
            peers.append(PolicyPeer(None, None, _ip_block(block)))
        elif pods is None and namespaces is None:
            raise _Off
        else:
            peers.append(
                PolicyPeer(
                    None if pods is None else _selector(pods),
                    None if namespaces is None else _selector(namespaces),
                    None,
                )
            )
    return tuple(peers)


def _ip_block(given: object) -> IPBlock:
    """An ipBlock: a CIDR, and CIDRs strictly inside it to leave out."""
    if given.__class__ is not YMap:
        raise _Off
    assert isinstance(given, YMap)
    cidr = _cidr(given.get("cidr"))
    excepts = []
    for item in _list(given.get("except")):
        net = _cidr(item)
        if net.version != cidr.version or not net.subnet_of(cidr) or net == cidr:  # type: ignore[arg-type]
            raise _Off
        excepts.append(net)
    return IPBlock(cidr, tuple(excepts))


def _cidr(given: object) -> IPNetwork:
    network = parse_cidr(given) if isinstance(given, str) and given else None
    if network is None:
        raise _Off
    return network


def _ports(given: object) -> tuple[PolicyPort, ...]:
    """A rule's ports: a protocol, a port number or name (or none: every port), a number range's end."""
    out: list[PolicyPort] = []
    for item in _list(given):
        if item.__class__ is not YMap:
            raise _Off
        protocol = PLAIN_PROTOCOLS.get(_text(item.get("protocol")))
        port, end = item.get("port"), item.get("endPort")
        if protocol is None:
            raise _Off
        if port.__class__ is str:  # a name, of a port of the selected pods; no range
            valid = port_name_problem(port) is None and end is None
        elif port is None:  # every port of the protocol
            valid = end is None
        else:  # a number, perhaps the start of a range
            number = port.__class__ is int and 1 <= port <= 65535
            valid = number and (end is None or (end.__class__ is int and port <= end <= 65535))
        if not valid:
            raise _Off
        out.append(PolicyPort(protocol, port, end))
    return tuple(out)
