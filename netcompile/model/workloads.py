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

from ..values import Value
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


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class OwnerReference(Value):
    """One `metadata.ownerReferences` entry (the owner is in the same namespace as the object)."""

    api_version: str
    kind: str
    name: str
    uid: str | None
    controller: bool


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PodTemplate(Value):
    """`spec.template` (a CronJob's `spec.jobTemplate.spec.template`), what of it reaches the network."""

    labels: Labels
    host_network: bool
    node_name: str | None
    node_selector: Labels
    ports: tuple[ContainerPort, ...]
    digest: int  # FNV-1a (32 bits) of the template as written, canonical JSON: what pod-template-hash encodes
    naming: PodNaming = NO_NAMING  # hostname, subdomain, enableServiceLinks, containers' env (model/naming.py)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Workload(Value):
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

    @property
    def kind(self) -> WorkloadKind:
        return WorkloadKind(self.meta.kind)
