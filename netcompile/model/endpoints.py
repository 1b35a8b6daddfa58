"""EndpointSlices (discovery.k8s.io/v1) and core/v1 Endpoints: a Service's endpoints as given, or as
complete/ derives them from pods."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..values import Frozen, set_field

if TYPE_CHECKING:  # model/__init__ imports this module: its names are for annotations only here
    from . import IPAddress, Meta, Protocol


@dataclass(init=False, slots=True, eq=False, repr=False)
class EndpointPort(Frozen):
    """A port of an EndpointSlice (or of an Endpoints subset)."""

    name: str
    port: int
    protocol: Protocol

    def __init__(self, name: str, port: int, protocol: Protocol) -> None:
        set_field(self, "name", name)
        set_field(self, "port", port)
        set_field(self, "protocol", protocol)


@dataclass(init=False, slots=True, eq=False, repr=False)
class EndpointConditions(Frozen):
    """EndpointSlice conditions; absent `ready`/`serving` mean true, absent `terminating` false."""

    ready: bool = True
    serving: bool = True
    terminating: bool = False

    def __init__(self, ready: bool = True, serving: bool = True, terminating: bool = False) -> None:
        set_field(self, "ready", ready)
        set_field(self, "serving", serving)
        set_field(self, "terminating", terminating)


@dataclass(init=False, slots=True, eq=False, repr=False)
class SliceEndpoint(Frozen):
    """One endpoint of an EndpointSlice: its addresses, conditions, node and zone hints."""

    addresses: tuple[IPAddress, ...]
    conditions: EndpointConditions
    node_name: str | None
    zone: str | None
    hint_zones: tuple[str, ...] | None  # hints.forZones; None when there are no hints
    hostname: str | None = None  # the endpoint's DNS name under a headless Service (cluster DNS reads it)

    def __init__(
        self,
        addresses: tuple[IPAddress, ...],
        conditions: EndpointConditions,
        node_name: str | None,
        zone: str | None,
        hint_zones: tuple[str, ...] | None,
        hostname: str | None = None,
    ) -> None:
        set_field(self, "addresses", addresses)
        set_field(self, "conditions", conditions)
        set_field(self, "node_name", node_name)
        set_field(self, "zone", zone)
        set_field(self, "hint_zones", hint_zones)
        set_field(self, "hostname", hostname)


@dataclass(init=False, slots=True, eq=False, repr=False)
class EndpointSlice(Frozen):
    """An EndpointSlice (discovery.k8s.io/v1), given or derived from pods."""

    meta: Meta
    service_name: str | None  # the kubernetes.io/service-name label
    address_type: str  # IPv4, IPv6, FQDN
    ports: tuple[EndpointPort, ...]
    endpoints: tuple[SliceEndpoint, ...]

    def __init__(
        self,
        meta: Meta,
        service_name: str | None,
        address_type: str,
        ports: tuple[EndpointPort, ...],
        endpoints: tuple[SliceEndpoint, ...],
    ) -> None:
        set_field(self, "meta", meta)
        set_field(self, "service_name", service_name)
        set_field(self, "address_type", address_type)
        set_field(self, "ports", ports)
        set_field(self, "endpoints", endpoints)


@dataclass(init=False, slots=True, eq=False, repr=False)
class EndpointAddress(Frozen):
    """An address of an Endpoints subset (core/v1 Endpoints)."""

    ip: IPAddress
    node_name: str | None

    def __init__(self, ip: IPAddress, node_name: str | None) -> None:
        set_field(self, "ip", ip)
        set_field(self, "node_name", node_name)


@dataclass(init=False, slots=True, eq=False, repr=False)
class EndpointSubset(Frozen):
    """A subset of core/v1 Endpoints: ready and not-ready addresses, and their ports."""

    addresses: tuple[EndpointAddress, ...]
    not_ready_addresses: tuple[EndpointAddress, ...]
    ports: tuple[EndpointPort, ...]

    def __init__(
        self,
        addresses: tuple[EndpointAddress, ...],
        not_ready_addresses: tuple[EndpointAddress, ...],
        ports: tuple[EndpointPort, ...],
    ) -> None:
        set_field(self, "addresses", addresses)
        set_field(self, "not_ready_addresses", not_ready_addresses)
        set_field(self, "ports", ports)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Endpoints(Frozen):
    """core/v1 Endpoints: the older form of a Service's endpoints (read when it has no EndpointSlice)."""

    meta: Meta
    subsets: tuple[EndpointSubset, ...]

    def __init__(self, meta: Meta, subsets: tuple[EndpointSubset, ...]) -> None:
        set_field(self, "meta", meta)
        set_field(self, "subsets", subsets)
