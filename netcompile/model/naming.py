"""What names a pod and what its containers are told: the fields of a pod spec that cluster DNS and
kubelet's Service environment variables read (`netcompile dns`, `netcompile env`).

Kept apart from the rest of a pod: the compiler and the reference evaluator never read them. Pods of
workloads get them from their template (model/workloads.py `PodTemplate.naming`), and a StatefulSet's
pods their hostname and subdomain from the controller (complete/workloads.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..values import Frozen, set_field


@dataclass(init=False, slots=True, eq=False, repr=False)
class EnvVar(Frozen):
    """One `env` entry of a container: its value, or None when it comes from `valueFrom` (a ConfigMap,
    a Secret, a field of the pod: known only in the cluster)."""

    name: str
    value: str | None
    value_from: str | None = None  # the `valueFrom` given, as JSON (only to be written back: `get -o yaml`)

    def __init__(self, name: str, value: str | None, value_from: str | None = None) -> None:
        set_field(self, "name", name)
        set_field(self, "value", value)
        set_field(self, "value_from", value_from)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Container(Frozen):
    """A container (`spec.containers`, `spec.initContainers`) as `env` reads it: its name, whether it is an
    init container, the variables it sets itself in order, and its `envFrom` sources (`configMap NAME`,
    `secret NAME`, with `prefix PREFIX` when given): their keys live in objects netcompile does not read."""

    name: str
    init: bool
    env: tuple[EnvVar, ...] = ()
    env_from: tuple[str, ...] = ()

    def __init__(self, name: str, init: bool, env: tuple[EnvVar, ...] = (), env_from: tuple[str, ...] = ()) -> None:
        set_field(self, "name", name)
        set_field(self, "init", init)
        set_field(self, "env", env)
        set_field(self, "env_from", env_from)


@dataclass(init=False, slots=True, eq=False, repr=False)
class PodNaming(Frozen):
    """`spec.hostname`, `spec.subdomain`, `spec.enableServiceLinks` (default true), the containers, and how
    the pod resolves names: `spec.dnsPolicy` (default ClusterFirst) and `spec.dnsConfig`'s searches and
    options (`ndots`, ...: (name, value) pairs)."""

    hostname: str | None = None
    subdomain: str | None = None
    enable_service_links: bool = True
    containers: tuple[Container, ...] = ()
    dns_policy: str = "ClusterFirst"
    dns_searches: tuple[str, ...] = ()
    dns_options: tuple[tuple[str, str | None], ...] = ()

    def __init__(
        self,
        hostname: str | None = None,
        subdomain: str | None = None,
        enable_service_links: bool = True,
        containers: tuple[Container, ...] = (),
        dns_policy: str = "ClusterFirst",
        dns_searches: tuple[str, ...] = (),
        dns_options: tuple[tuple[str, str | None], ...] = (),
    ) -> None:
        set_field(self, "hostname", hostname)
        set_field(self, "subdomain", subdomain)
        set_field(self, "enable_service_links", enable_service_links)
        set_field(self, "containers", containers)
        set_field(self, "dns_policy", dns_policy)
        set_field(self, "dns_searches", dns_searches)
        set_field(self, "dns_options", dns_options)


NO_NAMING = PodNaming()
