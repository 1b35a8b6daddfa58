"""The Service stage, one part of a Service at a time: what each programs on this node, compiled or
replayed from another node's compile of the same input (`reuse.py`).

The Services in order (namespace/name), each split into two parts: its ClusterIP frontends, then its
others (NodePorts, externalIPs, LoadBalancer IPs), in the order `frontends.service_frontends` lists them.
A part made for a node whose inputs it reads were the same is replayed, unless one of its frontends is
already taken on this node (then it is compiled, and the collision told in a notice, as always); once a
node has been compiled, consecutive parts that read nothing of the node are merged into Runs that the
next nodes replay at once. `services.Builder` writes the elements, whichever way they come.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..model import IPAddress, Service
from ..nft.ir import Element, Table
from ..nft.names import family_name
from ..nft.types import ADDRESS_FAMILIES, family_of
from .frontends import Frontend, Lists, dns_only, endpoint_lists, node_port_addresses, service_frontends
from .index import Cluster
from .options import CompileOptions
from .reuse import Fragment, NodeInputs, Part, Reuse, Run, has_external, reuse_for
from .services import Builder

__all__ = ["compile_services"]


def _cluster_ip_elements(services: Iterable[Service]) -> dict[str, list[Element]]:
    """The elements of the `cluster-ips` sets: each ClusterIP once, with the first Service holding it."""
    out: dict[str, list[Element]] = {family_name("cluster-ips", fam): [] for fam in ADDRESS_FAMILIES}
    holders: dict[IPAddress, Service] = {}
    for service in services:
        for address in service.cluster_ips:
            if holders.setdefault(address, service) is service:
                element = Element((str(address),), comment=service.meta.key)
                out[family_name("cluster-ips", family_of(address))].append(element)
    return out


def _frontend(
    cluster: Cluster,
    builder: Builder,
    fe: Frontend,
    winners: dict[tuple[str, str, str], Frontend],
    lists: dict[tuple[str, int], Lists],
    zone: str | None,
    notices: list[str],
) -> None:
    """One frontend of a Service, unless another has its address, protocol and port (a notice then)."""
    service = fe.service
    winner = winners.setdefault(fe.key, fe)
    if winner is not fe:
        notices.append(
            f"{service.meta.ref} port {fe.service_port.label}: {fe.describe()} is already a frontend of "
            f"{winner.service.meta.ref} port {winner.service_port.label} ({winner.kind.value}): not programmed"
        )
        return
    list_key = (fe.service_port.label, fe.address.version)
    if list_key not in lists:
        endpoints = [e for e in cluster.endpoints(service, fe.service_port) if e.address.version == fe.address.version]
        lists[list_key] = endpoint_lists(cluster, service, endpoints, zone)
    builder.frontend(fe, lists[list_key])
    if builder.recording is not None:
        builder.recording.frontends.append(fe)


def _not_programmed(service: Service, why: str) -> str:
    return f"{service.meta.ref}: {why}"


class _Node:
    """One node's compile of the Service stage: a part at a time (`Reuse.parts`), or a Run of them."""

    __slots__ = ("builder", "cluster", "inputs", "keep", "notices", "reuse", "winners")

    def __init__(self, cluster: Cluster, builder: Builder, reuse: Reuse, inputs: NodeInputs, keep: bool) -> None:
        self.cluster = cluster
        self.builder = builder
        self.reuse = reuse
        self.inputs = inputs
        self.keep = keep  # several nodes are compiled: each part is replayed or kept (`Shared.several_nodes`)
        self.notices: list[str] = []
        self.winners: dict[tuple[str, str, str], Frontend] = {}

    def run(self, run: Run) -> None:
        """Parts that read nothing of the node: replayed at once, unless a frontend of theirs is taken."""
        if any(fe.key in self.winners for fe in run.fragment.frontends):
            for part in run.parts:
                self.part(part)
            return
        self.builder.replay(run.fragment, run.blocks)
        self.winners.update((fe.key, fe) for fe in run.fragment.frontends)
        self.notices += run.notices

    def part(self, part: Part) -> None:
        """A Service's ClusterIP frontends, or its others (as `service_frontends` lists them: ClusterIPs
        first): replayed when made for a node with the same inputs and none of its frontends is taken,
        else compiled (and kept, when nothing was taken)."""
        service, why, external = part
        if why is not None:
            self.notices.append(_not_programmed(service, why))
            return
        builder, winners = self.builder, self.winners
        key = self.reuse.inputs(self.cluster, service, self.inputs, external) if self.keep else None
        if key is not None:
            fragment = self.reuse.fragments.get(key)
            if fragment is not None and not any(fe.key in winners for fe in fragment.frontends):
                builder.replay(fragment)
                winners.update((fe.key, fe) for fe in fragment.frontends)
                return
            builder.recording = Fragment()
        told = len(self.notices)
        lists: dict[tuple[str, int], Lists] = {}
        for fe in service_frontends(service, self.inputs.node_ports):
            if fe.kind.external == external:
                _frontend(self.cluster, builder, fe, winners, lists, self.inputs.zone, self.notices)
        if key is not None and builder.recording is not None and len(self.notices) == told:  # none taken
            self.reuse.keep(key, builder.recording)
        builder.recording = None


def compile_services(cluster: Cluster, table: Table, opts: CompileOptions) -> list[str]:
    """Add every Service to `table`; returns notices for the user (Services given no DNAT, collisions)."""
    builder = Builder(cluster, table, opts)
    builder.declare()
    zone = cluster.node.zone if cluster.node else None
    reuse = reuse_for(cluster, opts)
    inputs = NodeInputs(node_port_addresses(cluster, opts), builder.primary, zone)
    node = _Node(cluster, builder, reuse, inputs, keep=cluster.shared_indexes.several_nodes)
    if reuse.parts is None:  # the same for every node: made once
        ordered = sorted(cluster.services.values(), key=lambda s: (s.meta.namespace, s.meta.name))
        programmed = [(service, dns_only(service)) for service in ordered]
        reuse.cluster_ips = _cluster_ip_elements(service for service, why in programmed if why is None)
        reuse.parts = [
            (service, why, external)
            for service, why in programmed
            for external in ((False, True) if why is None and has_external(service) else (False,))
        ]
    for set_name, elements in reuse.cluster_ips.items():
        table.extend_elements(set_name, elements)
    for step in reuse.plan if reuse.plan is not None else reuse.parts:
        if isinstance(step, Run):
            node.run(step)
        else:
            node.part(step)
    builder.finish()
    if reuse.plan is None and node.keep:  # the parts that read nothing of the node have their Fragments now
        reuse.plan = reuse.make_plan(_not_programmed)
    return node.notices
