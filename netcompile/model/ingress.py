"""Ingress (`networking.k8s.io/v1`), as netcompile reads it.

HTTP routing is L7: an ingress controller (a pod like any other) proxies requests to the backends'
Services, so nothing of an Ingress is compiled into the ruleset; the traffic it causes is the
controller's own, which Services and NetworkPolicies already govern. netcompile loads and validates
Ingresses as the API server does and, once the cluster is complete, says which backends lead nowhere
(complete/ingress.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from ..values import Frozen, set_field

if TYPE_CHECKING:  # model/__init__ imports this module: its names are for annotations only here
    from ..errors import Position
    from . import Meta


class PathType(StrEnum):
    EXACT = "Exact"
    PREFIX = "Prefix"
    IMPLEMENTATION_SPECIFIC = "ImplementationSpecific"


@dataclass(init=False, slots=True, eq=False, repr=False)
class ServiceBackend(Frozen):
    """`backend.service`: a Service of the Ingress's namespace, and one of its ports by number or name."""

    name: str
    port: int | str

    def __init__(self, name: str, port: int | str) -> None:
        set_field(self, "name", name)
        set_field(self, "port", port)


@dataclass(init=False, slots=True, eq=False, repr=False)
class ResourceBackend(Frozen):
    """`backend.resource`: another object of the Ingress's namespace (a bucket, a CRD), not a Service."""

    api_group: str | None
    kind: str
    name: str

    def __init__(self, api_group: str | None, kind: str, name: str) -> None:
        set_field(self, "api_group", api_group)
        set_field(self, "kind", kind)
        set_field(self, "name", name)


@dataclass(init=False, slots=True, eq=False, repr=False)
class IngressBackend(Frozen):
    """One backend and where it is written (`spec.rules[0].http.paths[1].backend`), for notices."""

    service: ServiceBackend | None
    resource: ResourceBackend | None
    path: str
    position: Position | None = field(default=None, compare=False, repr=False)

    def __init__(
        self,
        service: ServiceBackend | None,
        resource: ResourceBackend | None,
        path: str,
        position: Position | None = None,
    ) -> None:
        set_field(self, "service", service)
        set_field(self, "resource", resource)
        set_field(self, "path", path)
        set_field(self, "position", position)


@dataclass(init=False, slots=True, eq=False, repr=False)
class HTTPIngressPath(Frozen):
    """One `http.paths` entry of an Ingress rule."""

    path: str  # "" when absent (ImplementationSpecific only)
    path_type: PathType
    backend: IngressBackend

    def __init__(self, path: str, path_type: PathType, backend: IngressBackend) -> None:
        set_field(self, "path", path)
        set_field(self, "path_type", path_type)
        set_field(self, "backend", backend)


@dataclass(init=False, slots=True, eq=False, repr=False)
class IngressRule(Frozen):
    """One of an Ingress's `spec.rules`: a host and its paths."""

    host: str | None  # None: every host; "*.example.com": a wildcard of one label
    paths: tuple[HTTPIngressPath, ...]  # empty when the rule has no `http`

    def __init__(self, host: str | None, paths: tuple[HTTPIngressPath, ...]) -> None:
        set_field(self, "host", host)
        set_field(self, "paths", paths)


@dataclass(init=False, slots=True, eq=False, repr=False)
class IngressTLS(Frozen):
    """One of an Ingress's `spec.tls` entries."""

    hosts: tuple[str, ...]
    secret_name: str | None

    def __init__(self, hosts: tuple[str, ...], secret_name: str | None) -> None:
        set_field(self, "hosts", hosts)
        set_field(self, "secret_name", secret_name)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Ingress(Frozen):
    """An Ingress (networking.k8s.io/v1), validated, not compiled."""

    meta: Meta
    ingress_class_name: str | None
    default_backend: IngressBackend | None
    rules: tuple[IngressRule, ...]
    tls: tuple[IngressTLS, ...]

    def __init__(
        self,
        meta: Meta,
        ingress_class_name: str | None,
        default_backend: IngressBackend | None,
        rules: tuple[IngressRule, ...],
        tls: tuple[IngressTLS, ...],
    ) -> None:
        set_field(self, "meta", meta)
        set_field(self, "ingress_class_name", ingress_class_name)
        set_field(self, "default_backend", default_backend)
        set_field(self, "rules", rules)
        set_field(self, "tls", tls)

    def backends(self) -> tuple[IngressBackend, ...]:
        """Every backend, the default one first, then the rules' in order."""
        default = (self.default_backend,) if self.default_backend is not None else ()
        return default + tuple(p.backend for rule in self.rules for p in rule.paths)
