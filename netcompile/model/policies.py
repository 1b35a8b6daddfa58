"""NetworkPolicies (networking.k8s.io/v1): selectors, rules, peers, ports."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ..values import Frozen, set_field

if TYPE_CHECKING:  # model/__init__ imports this module: its names are for annotations only here
    from . import IPNetwork, Meta, Protocol
    from .selectors import LabelSelector


class PolicyType(StrEnum):
    INGRESS = "Ingress"
    EGRESS = "Egress"


@dataclass(init=False, slots=True, eq=False, repr=False)
class IPBlock(Frozen):
    """A policy peer's `ipBlock`: a CIDR less its exceptions."""

    cidr: IPNetwork
    except_: tuple[IPNetwork, ...]

    def __init__(self, cidr: IPNetwork, except_: tuple[IPNetwork, ...]) -> None:
        set_field(self, "cidr", cidr)
        set_field(self, "except_", except_)


@dataclass(init=False, slots=True, eq=False, repr=False)
class PolicyPeer(Frozen):
    """One `from`/`to` entry: pod and/or namespace selectors, or an ipBlock."""

    pod_selector: LabelSelector | None
    namespace_selector: LabelSelector | None
    ip_block: IPBlock | None

    def __init__(
        self, pod_selector: LabelSelector | None, namespace_selector: LabelSelector | None, ip_block: IPBlock | None
    ) -> None:
        set_field(self, "pod_selector", pod_selector)
        set_field(self, "namespace_selector", namespace_selector)
        set_field(self, "ip_block", ip_block)


@dataclass(init=False, slots=True, eq=False, repr=False)
class PolicyPort(Frozen):
    """One of a policy rule's `ports`: a protocol, and a port (number, name or none) or a range.

    Hashed and compared in volume: its own `__eq__` and `__hash__`, as a dataclass generates them (a call
    quicker than Value's; tests/test_prefix_values.py checks them against its twin's)."""

    protocol: Protocol
    port: int | str | None  # None: every port of the protocol
    end_port: int | None

    def __init__(self, protocol: Protocol, port: int | str | None, end_port: int | None) -> None:
        set_field(self, "protocol", protocol)
        set_field(self, "port", port)
        set_field(self, "end_port", end_port)

    def __eq__(self, other: Any) -> bool:
        if other.__class__ is self.__class__:
            return (self.protocol, self.port, self.end_port) == (other.protocol, other.port, other.end_port)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.protocol, self.port, self.end_port))


@dataclass(init=False, slots=True, eq=False, repr=False)
class PolicyRule(Frozen):
    """An ingress or egress rule; `peers` None means every peer, `ports` None every port and protocol."""

    peers: tuple[PolicyPeer, ...] | None
    ports: tuple[PolicyPort, ...] | None

    def __init__(self, peers: tuple[PolicyPeer, ...] | None, ports: tuple[PolicyPort, ...] | None) -> None:
        set_field(self, "peers", peers)
        set_field(self, "ports", ports)


@dataclass(init=False, slots=True, eq=False, repr=False)
class NetworkPolicy(Frozen):
    """A NetworkPolicy (networking.k8s.io/v1), defaulted (`policyTypes`)."""

    meta: Meta
    pod_selector: LabelSelector
    policy_types: tuple[PolicyType, ...]
    ingress: tuple[PolicyRule, ...]
    egress: tuple[PolicyRule, ...]

    def __init__(
        self,
        meta: Meta,
        pod_selector: LabelSelector,
        policy_types: tuple[PolicyType, ...],
        ingress: tuple[PolicyRule, ...],
        egress: tuple[PolicyRule, ...],
    ) -> None:
        set_field(self, "meta", meta)
        set_field(self, "pod_selector", pod_selector)
        set_field(self, "policy_types", policy_types)
        set_field(self, "ingress", ingress)
        set_field(self, "egress", egress)
