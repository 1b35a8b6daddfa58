"""The workloads (apps/v1 Deployment, ReplicaSet, StatefulSet, DaemonSet; core/v1 ReplicationController;
batch/v1 Job, CronJob), and what Pods and Services carry for the simulated cluster: a Pod's
ownerReferences, a Service's requested IP families.

Defaulting and validation follow the API server (`pkg/apis/apps/validation`, `pkg/apis/batch/validation`,
`pkg/apis/core/validation`, and the kinds' `SetDefaults_*`), messages included:

- selector: required (a ReplicationController's defaults to its template's labels); an empty one is
  `empty selector is invalid for deployment` (the API server says `deployment` for ReplicaSets too);
  the template's labels must match it: `spec.template.metadata.labels: Invalid value: ...: \\`selector\\`
  does not match template \\`labels\\``. A Job's selector is generated unless `manualSelector: true`.
- replicas, parallelism, completions: `must be greater than or equal to 0`; replicas default to 1.
- the template's restartPolicy: `Always` for the controllers of long-running pods; `OnFailure` or
  `Never` (required) for Jobs; at least one container.
- a CronJob's schedule is required, its name at most 52 characters.
"""

from __future__ import annotations

import json
from dataclasses import replace

from ..errors import invalid, required, unsupported
from ..model import IPAddress, Pod, Service, ServiceType
from ..model.selectors import LabelSelector, Operator
from ..model.workloads import OwnerReference, PodTemplate, Workload, WorkloadKind
from .core import _container_ports, parse_pod, pod_naming
from .parse_common import ParseOptions, meta_field, selector_field
from .services import parse_service
from .source import RawObject
from .validation import Field, dns1123_subdomain, ip_field, labels_field

RESTART_POLICIES = ("Always", "OnFailure", "Never")
JOB_RESTART_POLICIES = ("OnFailure", "Never")
IP_FAMILIES = ("IPv4", "IPv6")
CRON_JOB_NAME_MAX = 52  # validation.ValidateCronJob: a DNS-1035 label (63) less the Job's 11-character suffix
IP_FAMILY_POLICIES = ("SingleStack", "PreferDualStack", "RequireDualStack")

FNV32_OFFSET = 0x811C9DC5
FNV32_PRIME = 0x01000193


def fnv1a_32(data: bytes) -> int:
    """FNV-1a, 32 bits: the hash Kubernetes' `controller.ComputeHash` uses for pod-template-hash."""
    h = FNV32_OFFSET
    for byte in data:
        h = ((h ^ byte) * FNV32_PRIME) & 0xFFFFFFFF
    return h


def template_digest(value: object) -> int:
    """A deterministic hash of a pod template as written: FNV-1a (32 bits) of its canonical JSON (sorted
    keys, no spaces). Kubernetes hashes the defaulted Go struct as `spew` prints it; the shape (a 32-bit
    FNV-1a of the whole template) is the same, the digits are not."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return fnv1a_32(text.encode())


def owner_references(md: Field) -> tuple[OwnerReference, ...]:
    out: list[OwnerReference] = []
    for item in md.child("ownerReferences").object_items():
        if not item.is_map():
            continue
        api_version = item.child("apiVersion").string(required_=True)
        kind = item.child("kind").string(required_=True)
        name = item.child("name").string(required_=True)
        uid = item.child("uid").string()
        controller = item.child("controller").boolean(default=False)
        if api_version is not None and kind is not None and name is not None:
            out.append(OwnerReference(api_version, kind, name, uid, controller))
    return tuple(out)


def _nonnegative(f: Field, default: int | None) -> int | None:
    value = f.integer()
    if value is None:
        return default
    if value < 0:
        f.error(invalid(value, "must be greater than or equal to 0"))
        return None
    return value


def _template(template: Field, policies: tuple[str, ...], *, job: bool = False) -> PodTemplate | None:
    """The pod template at `template` (required), with its restartPolicy among `policies`."""
    if not template.required_map():
        return None
    labels = labels_field(template.child("metadata").child("labels"))
    spec = template.child("spec")
    if not spec.required_map():
        return None
    containers = spec.child("containers")
    if not containers.present or containers.value == []:
        containers.error(required())
    restart = spec.child("restartPolicy")
    if job and not restart.present:
        restart.error(required("valid values: " + ", ".join(json.dumps(p) for p in policies)))
    else:
        value = restart.choice(RESTART_POLICIES, default="Always")
        if value is not None and value not in policies:
            restart.error(unsupported(value, policies))
    node_name = spec.child("nodeName").string()
    node_selector = labels_field(spec.child("nodeSelector"))
    host_network = spec.child("hostNetwork").boolean(default=False)
    ports = _container_ports(spec)
    digest = template_digest(template.value)
    return PodTemplate(labels, host_network, node_name, node_selector, ports, digest, pod_naming(spec))


def _matches(selector: LabelSelector, labels: dict[str, str]) -> bool:
    """`labels.Selector.Matches`, as the API server checks a template against its selector."""
    if any(labels.get(key) != value for key, value in selector.match_labels):
        return False
    for req in selector.match_expressions:
        present = req.key in labels
        ok = {
            Operator.IN: present and labels.get(req.key) in req.values,
            Operator.NOT_IN: not present or labels.get(req.key) not in req.values,
            Operator.EXISTS: present,
            Operator.DOES_NOT_EXIST: not present,
        }[req.operator]
        if not ok:
            return False
    return True


def _selected(selector: LabelSelector | None, f: Field, template: PodTemplate | None, empty_for: str) -> None:
    """The API server's checks of a selector against the template's labels."""
    if selector is None or template is None:
        return
    if not selector.match_labels and not selector.match_expressions:
        f.error(invalid(dict(f.value or {}), f"empty selector is invalid for {empty_for}"))
        return
    if not _matches(selector, dict(template.labels)):
        labels = f.up.child("template").child("metadata").child("labels") if f.up else f
        labels.error(invalid(dict(template.labels), "`selector` does not match template `labels`"))


def parse_workload(raw: RawObject, root: Field, opts: ParseOptions) -> Workload | None:
    """Deployment, ReplicaSet, StatefulSet, DaemonSet, ReplicationController, Job, CronJob."""
    kind = WorkloadKind(raw.kind)
    meta = meta_field(raw, root, True, dns1123_subdomain)
    md = root.child("metadata")
    owners = owner_references(md) if md.is_map() else ()
    uid = md.child("uid").string() if md.is_map() else None
    spec = root.child("spec")
    if not spec.required_map():
        return None
    before = root.report.count
    replicas: int | None = None
    selector: LabelSelector | None = None
    indexed = False
    service_name = None
    ordinal_start = 0
    if kind == WorkloadKind.CRON_JOB:
        if meta is not None and len(meta.name) > CRON_JOB_NAME_MAX:  # its Jobs' names add 11 characters
            md.child("name").error(invalid(meta.name, f"must be no more than {CRON_JOB_NAME_MAX} characters"))
        spec.child("schedule").string(required_=True)
        job_template = spec.child("jobTemplate")
        if not job_template.required_map():
            return None
        job_spec = job_template.child("spec")
        if not job_spec.required_map():
            return None
        template, replicas, selector, indexed = _job(job_spec)
    elif kind == WorkloadKind.JOB:
        template, replicas, selector, indexed = _job(spec)
    elif kind == WorkloadKind.REPLICATION_CONTROLLER:
        replicas = _nonnegative(spec.child("replicas"), 1)
        template = _template(spec.child("template"), ("Always",))
        given = labels_field(spec.child("selector"))
        # SetDefaults_ReplicationController: an empty selector is the template's labels.
        labels = given or (template.labels if template else ())
        if not labels:
            spec.child("selector").error(required())
        else:
            selector = LabelSelector(labels, ())
            if template is not None and not _matches(selector, dict(template.labels)):
                where = spec.child("template").child("metadata").child("labels")
                where.error(invalid(dict(template.labels), "`selector` does not match template `labels`"))
    else:
        if kind != WorkloadKind.DAEMON_SET:
            replicas = _nonnegative(spec.child("replicas"), 1)
        if kind == WorkloadKind.STATEFUL_SET:
            service_name = spec.child("serviceName").string()
            ordinal_start = _nonnegative(spec.child("ordinals").child("start"), 0) or 0
        template = _template(spec.child("template"), ("Always",))
        selector_f = spec.child("selector")
        if not selector_f.present:
            selector_f.error(required())
        selector = selector_field(selector_f)
        empty_for = {WorkloadKind.STATEFUL_SET: "statefulset", WorkloadKind.DAEMON_SET: "daemonset"}
        _selected(selector, selector_f, template, empty_for.get(kind, "deployment"))
    if meta is None or template is None or root.report.count != before:
        return None
    return Workload(meta, owners, selector, template, replicas, service_name, indexed, uid, ordinal_start)


def _job(spec: Field) -> tuple[PodTemplate | None, int | None, LabelSelector | None, bool]:
    """A Job's spec: its template, how many pods run at once, its selector (None: generated), Indexed."""
    template = _template(spec.child("template"), JOB_RESTART_POLICIES, job=True)
    parallelism = _nonnegative(spec.child("parallelism"), 1)
    completions_f = spec.child("completions")
    completions = _nonnegative(completions_f, None)
    if completions is None and not completions_f.present and not spec.child("parallelism").present:
        completions = 1  # SetDefaults_Job: neither given means one pod, once
    mode = spec.child("completionMode").choice(("NonIndexed", "Indexed"), default="NonIndexed")
    indexed = mode == "Indexed"
    if indexed and completions is None:
        completions_f.error(required("when completion mode is Indexed"))
    running = parallelism if completions is None or parallelism is None else min(parallelism, completions)
    selector_f = spec.child("selector")
    selector = None
    if spec.child("manualSelector").boolean(default=False):
        if not selector_f.present:
            selector_f.error(required())
        selector = selector_field(selector_f)
        _selected(selector, selector_f, template, "job")
    elif selector_f.present:
        selector_f.error(invalid(dict(selector_f.value or {}), "`selector` will be auto-generated"))
    return template, running, selector, indexed


def parse_owned_pod(raw: RawObject, root: Field, opts: ParseOptions) -> Pod | None:
    """A Pod (`core.parse_pod`) with its ownerReferences."""
    pod = parse_pod(raw, root, opts)
    md = raw.body.get("metadata")
    if pod is None or not isinstance(md, dict) or "ownerReferences" not in md:
        return pod
    return replace(pod, owners=owner_references(root.child("metadata")))


def parse_service_families(raw: RawObject, root: Field, opts: ParseOptions) -> Service | None:
    """A Service (`services.parse_service`) with the IP families it asks for, which allocation follows."""
    service = parse_service(raw, root, opts)
    spec = root.child("spec")
    if service is None or not isinstance(spec.value, dict):
        return service
    given = spec.value.get("ipFamilies")  # validated by parse_service
    families = tuple(f for f in given if f in IP_FAMILIES) if isinstance(given, list) else ()
    policy = spec.child("ipFamilyPolicy").choice(IP_FAMILY_POLICIES)
    # What a simulated cluster's load balancer honours: the address asked for (deprecated, and only a
    # warning in the API server when it is no IP; no load balancer could give such an address, so it is
    # refused here), and whether nodePorts are allocated (validated by parse_service: LoadBalancer only).
    lb_ip: IPAddress | None = None
    allocate = True
    if service.type is ServiceType.LOAD_BALANCER:
        lb_field = spec.child("loadBalancerIP")
        lb_ip = ip_field(lb_field) if lb_field.value not in (None, "") else None
        allocate = spec.child("allocateLoadBalancerNodePorts").boolean(default=True)
    if not families and policy is None and lb_ip is None and allocate:
        return service
    return replace(
        service,
        ip_families=families,
        ip_family_policy=policy,
        load_balancer_ip=lb_ip,
        allocate_load_balancer_node_ports=allocate,
    )
