"""What an input leaves to the cluster: whether the simulated cluster has anything to fill in
(`needs_simulation`), and what of a Pod or a Service the cluster would add.

Kept apart from the simulation itself (complete/cluster.py and what it uses), which is imported only for
an input that needs it: a snapshot of a running cluster leaves nothing and is not simulated.
"""

from __future__ import annotations

from ..model import Objects, Pod, Service, ServiceType


def unstarted(pod: Pod) -> bool:
    """A Pod as written in a repository: no status (no phase, no address)."""
    return not pod.phase and not pod.ips


def wants_cluster_ip(service: Service) -> bool:
    return service.type != ServiceType.EXTERNAL_NAME and not service.headless


def wants_node_ports(service: Service) -> bool:
    """A NodePort Service, or a LoadBalancer Service that does not turn allocateLoadBalancerNodePorts off."""
    if service.type == ServiceType.LOAD_BALANCER:
        return service.allocate_load_balancer_node_ports
    return service.type == ServiceType.NODE_PORT


def needs_simulation(objects: Objects) -> bool:
    """Whether the input leaves anything to the cluster (a snapshot of a running one leaves nothing)."""
    if any(unstarted(p) for p in objects.pods):
        return True
    if objects.workloads:
        from .workloads import represented

        skip = represented(objects)
        if any((w.meta.namespace, w.meta.kind, w.meta.name) not in skip for w in objects.workloads):
            return True
    for s in objects.services:
        if wants_cluster_ip(s) and not s.cluster_ips:
            return True
        if wants_node_ports(s) and any(p.node_port is None for p in s.ports):
            return True
    return False
