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

from ..values import Value

if TYPE_CHECKING:  # model/__init__ imports this module: its names are for annotations only here
    from ..errors import Position
    from . import Meta


class PathType(StrEnum):
    EXACT = "Exact"
    PREFIX = "Prefix"
    IMPLEMENTATION_SPECIFIC = "ImplementationSpecific"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ServiceBackend(Value):
    """`backend.service`: a Service of the Ingress's namespace, and one of its ports by number or name."""

    name: str
    port: int | str


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ResourceBackend(Value):
    """`backend.resource`: another object of the Ingress's namespace (a bucket, a CRD), not a Service."""

    api_group: str | None
    kind: str
    name: str


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class IngressBackend(Value):
    """One backend and where it is written (`spec.rules[0].http.paths[1].backend`), for notices."""

    service: ServiceBackend | None
    resource: ResourceBackend | None
    path: str
    position: Position | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class HTTPIngressPath(Value):
    """One `http.paths` entry of an Ingress rule."""

    path: str  # "" when absent (ImplementationSpecific only)
    path_type: PathType
    backend: IngressBackend


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class IngressRule(Value):
    """One of an Ingress's `spec.rules`: a host and its paths."""

    host: str | None  # None: every host; "*.example.com": a wildcard of one label
    paths: tuple[HTTPIngressPath, ...]  # empty when the rule has no `http`


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class IngressTLS(Value):
    """One of an Ingress's `spec.tls` entries."""

    hosts: tuple[str, ...]
    secret_name: str | None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Ingress(Value):
    """An Ingress (networking.k8s.io/v1), validated, not compiled."""

    meta: Meta
    ingress_class_name: str | None
    default_backend: IngressBackend | None
    rules: tuple[IngressRule, ...]
    tls: tuple[IngressTLS, ...]

    def backends(self) -> tuple[IngressBackend, ...]:
        """Every backend, the default one first, then the rules' in order."""
        default = (self.default_backend,) if self.default_backend is not None else ()
        return default + tuple(p.backend for rule in self.rules for p in rule.paths)
