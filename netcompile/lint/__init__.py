"""`netcompile lint`: what a reviewer wants flagged in manifests, each finding at the field that causes it.

    selectors   dangling references (load/references.py) against the pods the cluster will run, and
                policy peers that select no pod
    policies    rules that admit everything, ipBlocks that hold pod addresses, excepts admitted again
    reach       asked of the reference evaluator (verify/reference/): pods without DNS, Ingress backends
                the ingress controller's pods may not reach; once per class of pods (analysis/classes.py)
    names       cluster DNS and kubelet's Service variables (dns/): names that lead nowhere, collisions,
                variables a container hides

Reads the objects as loaded and as completed (pipeline.complete): never the compiler (nor the journeys,
which need it: of the matrix's engine, lint uses the classes, computed from the reference's reading). The reference's
reading of the model (selectors, named ports, verdicts) is the one lint uses, so that what lint says
about a policy is what the proof says.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from ipaddress import ip_network

from ..dns import DnsCluster
from ..model import IPNetwork, Objects
from . import names, policies, reach, selectors
from .findings import CHECKS, Finding
from .reach import Nodes, ScopeArgs

__all__ = ["CHECKS", "Finding", "ScopeArgs", "lint"]

DEFAULT_SCOPE = ScopeArgs()


def lint(
    loaded: Objects,
    completed: Objects,
    scope: ScopeArgs = DEFAULT_SCOPE,
    disabled: Collection[str] = (),
    *,
    by_classes: bool = True,
) -> list[Finding]:
    """Every finding of the enabled checks, each once, by file, line and column (then check and message).
    `by_classes=False`: reachability asked pod by pod (what the classes are proven against)."""
    unknown = set(disabled) - CHECKS.keys()
    if unknown:
        raise ValueError(f"unknown checks: {', '.join(sorted(unknown))}")
    enabled = CHECKS.keys() - set(disabled)
    found: list[Finding] = []

    def want(*checks: str) -> bool:
        return bool(enabled & set(checks))

    if want("selects-nothing", "undeclared-port", "dangling-reference"):
        found += selectors.references(loaded, completed)
    if want("selects-nothing"):
        found += selectors.empty_peers(completed)
    nodes = Nodes(completed, scope, by_classes=by_classes)
    pod_networks = policies.PodNetworks(_pod_networks(completed, nodes))
    for policy in completed.network_policies:
        if want("allows-everything"):
            found += policies.allows_everything(policy)
        if want("ipblock-pod-network"):
            found += policies.ipblock_pod_network(policy, pod_networks)
        if want("except-readmitted"):
            found += policies.except_readmitted(policy)
    if want("no-dns"):
        found += reach.no_dns(completed, nodes)
    if want("ingress-unreachable"):
        found += reach.ingress_unreachable(completed, nodes)
    if want("unresolved-name"):
        cluster = DnsCluster(completed)
        found += names.unresolved(completed, cluster)
        found += names.env_hosts(completed, cluster)
    if want("env-collision"):
        found += names.env_collisions(completed)
    if want("env-shadowed"):
        found += names.env_shadowed(completed)
    return _ordered(f for f in found if f.check in enabled)


def _pod_networks(completed: Objects, nodes: Nodes) -> tuple[IPNetwork, ...]:
    """P as the reference reads it (--cluster-cidr, else the Nodes' podCIDRs); when it is only the running
    pods' own addresses, each of them (the reference merges neighbours into wider prefixes)."""
    known = nodes.args.cluster_cidrs or any(n.pod_cidrs for n in completed.nodes)
    if known:
        return nodes.at(min(nodes.names) if nodes.names else None).cluster.cluster_cidrs
    running = {ip_network(a) for p in completed.pods if p.running and not p.host_network for a in p.ips}
    return tuple(sorted(running, key=lambda n: (n.version, n)))


def _ordered(found: Iterable[Finding]) -> list[Finding]:
    return sorted(dict.fromkeys(found), key=Finding.sort_key)
