"""Workloads: the objects whose controllers create pods (Deployment, ReplicaSet, ReplicationController,
StatefulSet, DaemonSet, Job, CronJob), as netcompile reads them.

Only what shapes the network is kept: the pod template's labels, host networking, node placement and
container ports; how many pods run; the selector; a StatefulSet's governing Service. `complete/` turns
them into the Pods their controllers would create.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from ..values import Frozen, set_field
from .naming import NO_NAMING, PodNaming
from .selectors import LabelSelector

if TYPE_CHECKING:  # model/__init__ imports this module: its names are for annotations only here
    from . import ContainerPort, Labels, Meta


class WorkloadKind(StrEnum):
    DEPLOYMENT = "Deployment"
    REPLICA_SET = "ReplicaSet"
    REPLICATION_CONTROLLER = "ReplicationController"
    STATEFUL_SET = "StatefulSet"
    DAEMON_SET = "DaemonSet"
    JOB = "Job"
    CRON_JOB = "CronJob"


WORKLOAD_API_VERSIONS: dict[str, str] = {
    WorkloadKind.DEPLOYMENT: "apps/v1",
    WorkloadKind.REPLICA_SET: "apps/v1",
    WorkloadKind.STATEFUL_SET: "apps/v1",
    WorkloadKind.DAEMON_SET: "apps/v1",
    WorkloadKind.REPLICATION_CONTROLLER: "v1",
    WorkloadKind.JOB: "batch/v1",
    WorkloadKind.CRON_JOB: "batch/v1",
}


@dataclass(init=False, slots=True, eq=False, repr=False)
class OwnerReference(Frozen):
    """One `metadata.ownerReferences` entry (the owner is in the same namespace as the object)."""

    api_version: str
    kind: str
    name: str
    uid: str | None
    controller: bool

    def __init__(self, api_version: str, kind: str, name: str, uid: str | None, controller: bool) -> None:
        set_field(self, "api_version", api_version)
        set_field(self, "kind", kind)
        set_field(self, "name", name)
        set_field(self, "uid", uid)
        set_field(self, "controller", controller)


@dataclass(init=False, slots=True, eq=False, repr=False)
class PodTemplate(Frozen):
    """`spec.template` (a CronJob's `spec.jobTemplate.spec.template`), what of it reaches the network."""

    labels: Labels
    host_network: bool
    node_name: str | None
    node_selector: Labels
    ports: tuple[ContainerPort, ...]
    digest: int  # FNV-1a (32 bits) of the template as written, canonical JSON: what pod-template-hash encodes
    naming: PodNaming = NO_NAMING  # hostname, subdomain, enableServiceLinks, containers' env (model/naming.py)

    def __init__(
        self,
        labels: Labels,
        host_network: bool,
        node_name: str | None,
        node_selector: Labels,
        ports: tuple[ContainerPort, ...],
        digest: int,
        naming: PodNaming = NO_NAMING,
    ) -> None:
        set_field(self, "labels", labels)
        set_field(self, "host_network", host_network)
        set_field(self, "node_name", node_name)
        set_field(self, "node_selector", node_selector)
        set_field(self, "ports", ports)
        set_field(self, "digest", digest)
        set_field(self, "naming", naming)


@dataclass(init=False, slots=True, eq=False, repr=False)
class Workload(Frozen):
    """A workload, defaulted as the API server defaults it.

    `replicas` is how many pods run at once: `spec.replicas` (default 1) for Deployments, ReplicaSets,
    ReplicationControllers and StatefulSets; for Jobs (and a CronJob's job) the pods of one run,
    `min(parallelism, completions)` with the API server's defaults; None for DaemonSets (one per node).
    """

    meta: Meta
    owners: tuple[OwnerReference, ...]
    selector: LabelSelector | None  # None for Jobs whose selector the API server generates
    template: PodTemplate
    replicas: int | None
    service_name: str | None = None  # StatefulSet spec.serviceName
    indexed: bool = False  # Job completionMode: Indexed
    uid: str | None = None  # metadata.uid, when the input has it (a dump of a live cluster)
    ordinal_start: int = 0  # StatefulSet spec.ordinals.start

    def __init__(
        self,
        meta: Meta,
        owners: tuple[OwnerReference, ...],
        selector: LabelSelector | None,
        template: PodTemplate,
        replicas: int | None,
        service_name: str | None = None,
        indexed: bool = False,
        uid: str | None = None,
        ordinal_start: int = 0,
    ) -> None:
        set_field(self, "meta", meta)
        set_field(self, "owners", owners)
        set_field(self, "selector", selector)
        set_field(self, "template", template)
        set_field(self, "replicas", replicas)
        set_field(self, "service_name", service_name)
        set_field(self, "indexed", indexed)
        set_field(self, "uid", uid)
        set_field(self, "ordinal_start", ordinal_start)

    @property
    def kind(self) -> WorkloadKind:
        return WorkloadKind(self.meta.kind)
