"""What a node's compile makes that another node's compile of the same input can take as it is.

Kept for one set of completed objects compiled with one set of options (but the node), by `reuse_for`:
the Service part of the ruleset (below), and for the policy part (`policies.py`) what does not depend on
the node at all: the pods a peer selects and their addresses, what each policy allows, and the elements
of each set of what some policies allow (`PolicyReuse`); which of those sets a node's ruleset holds
depends on its pods, and is decided on each node.

The Service part of a ruleset is made once for every node whose inputs it depends on are the same.

What a Service adds to a node's table (`services.py`: its elements in the Service maps and sets, the
`endpoints-N` maps of the list lengths it uses, its endpoints as hairpin candidates) is a `Fragment`. It
depends on the node through these inputs only, and only when the Service has what reads them:

    the node's NodePort addresses         a NodePort (type NodePort or LoadBalancer with a nodePort)
    the node's primary addresses          loadBalancerSourceRanges (`frontends.firewall_sources`)
    the node's zone                       an endpoint with topology hints (`frontends.endpoint_lists`)
    which of its endpoints are local      internalTrafficPolicy or externalTrafficPolicy Local

and through the frontends of the Services before it (a frontend already taken is not programmed: a
collision, told in a notice). So a Fragment is kept under the Service and the values of the inputs it
reads (`Reuse.inputs`), for one set of completed objects and compile options; a node whose values
are the same replays it, when none of its frontends is taken yet on that node; anything else (a
collision, sessionAffinity's per-Service chains and sets) is compiled as if there were no Fragments. A
Fragment is made by compiling the Service on the first node that needs it, so the text is the same
whichever way a node gets it: `compile --all-nodes` writes what `compile --node` writes, byte for byte.

Fragments whose inputs hold the node's own addresses are not kept (no other node has them). The elements
of a kept Fragment are shared by every node's table; each is written once (`nft/render.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ..model import IPAddress, Pod, Service, ServiceType, TrafficPolicy
from ..model.selectors import LabelSelector
from ..nft.ir import Block, Element
from ..values import Frozen, set_field
from .allow import Grant, Interval
from .frontends import Frontend
from .index import Cluster, Shared
from .options import CompileOptions

__all__ = ["Fragment", "NodeInputs", "Part", "PeerKey", "PolicyReuse", "Reuse", "Run", "has_external", "reuse_for"]


class Fragment:
    """What one Service adds to the Service part of a table, in the order it adds it."""

    __slots__ = ("elements", "frontends", "hairpin", "maps")

    def __init__(self) -> None:
        self.frontends: list[Frontend] = []  # each programmed (none lost a collision)
        self.maps: list[tuple[str, int]] = []  # (endpoint list role, length): the maps it uses
        self.elements: list[tuple[str, list[Element]]] = []  # set name, elements added
        self.hairpin: dict[tuple[str, str, str], IPAddress] = {}  # its endpoints (services.py)


# One part of the Service stage, in order: a Service, why it is not programmed (None: it is), and which of
# its frontends (False: its ClusterIPs; True: the others).
Part = tuple[Service, str | None, bool]


class Run:
    """Consecutive parts that read nothing of the node, their Fragments merged into one (and the notices
    of the Services among them that are not programmed), so that a node replays them at once."""

    __slots__ = ("_keys", "_sets", "blocks", "fragment", "notices", "parts")

    def __init__(self) -> None:
        self.fragment = Fragment()
        self.notices: list[str] = []
        self.parts: list[Part] = []  # to compile one by one where a frontend is taken
        self.blocks: list[tuple[str, Block]] = []  # its elements, by set (`seal`)
        self._keys: set[tuple[str, str, str]] = set()
        self._sets: dict[str, list[Element]] = {}

    def add(self, fragment: Fragment) -> bool:
        """Merge `fragment` (False, leaving the run as it was, when one of its frontends is already one of
        the run's: each of the run's must be new for the run to replay as its parts would)."""
        keys = [fe.key for fe in fragment.frontends]
        if self._keys.intersection(keys) or len(set(keys)) != len(keys):
            return False
        self._keys.update(keys)
        merged = self.fragment
        merged.frontends += fragment.frontends
        merged.maps += [used for used in fragment.maps if used not in merged.maps]
        for set_name, elements in fragment.elements:
            self._sets.setdefault(set_name, []).extend(elements)
        merged.elements = list(self._sets.items())
        merged.hairpin.update(fragment.hairpin)
        return True

    def seal(self) -> Run:
        """The run complete: its elements of each set become one Block, written once for every node."""
        self.blocks = [(set_name, Block(elements)) for set_name, elements in self._sets.items()]
        return self


@dataclass(init=False, slots=True, eq=False, repr=False)
class _Reads(Frozen):
    """Which of the node's inputs a Service's Fragment depends on (whatever the node)."""

    node_ports: bool
    primary: bool
    zone: bool
    endpoint_nodes: tuple[str | None, ...] | None  # its endpoints' nodes, when their locality matters

    def __init__(
        self, node_ports: bool, primary: bool, zone: bool, endpoint_nodes: tuple[str | None, ...] | None
    ) -> None:
        set_field(self, "node_ports", node_ports)
        set_field(self, "primary", primary)
        set_field(self, "zone", zone)
        set_field(self, "endpoint_nodes", endpoint_nodes)

    @property
    def nothing(self) -> bool:
        return not (self.node_ports or self.primary or self.zone) and self.endpoint_nodes is None


@dataclass(init=False, slots=True, eq=False, repr=False)
class NodeInputs(Frozen):
    """The inputs of one node a Fragment can depend on."""

    node_ports: tuple[IPAddress, ...]
    primary: tuple[IPAddress, ...]
    zone: str | None

    def __init__(self, node_ports: tuple[IPAddress, ...], primary: tuple[IPAddress, ...], zone: str | None) -> None:
        set_field(self, "node_ports", node_ports)
        set_field(self, "primary", primary)
        set_field(self, "zone", zone)


# A selector peer's namespace (without a namespace selector), or its namespace selector; its pod selector.
PeerKey = tuple[str | None, LabelSelector | None, LabelSelector]


class PolicyReuse:
    """The policy compiler's caches of what does not depend on the node (`policies.PolicyCompiler`)."""

    __slots__ = (
        "elements",
        "grants",
        "kind_grants",
        "label_index",
        "matching",
        "named_grants",
        "peer_addresses",
        "peer_pods",
        "pods_at",
    )

    def __init__(self) -> None:
        self.peer_addresses: dict[tuple[PeerKey, int], tuple[Interval, ...]] = {}
        self.grants: dict[tuple[str, ...], list[Grant]] = {}
        self.kind_grants: dict[tuple[str, ...], list[Grant]] = {}
        self.named_grants: dict[tuple[str, ...], list[Grant]] = {}
        self.elements: dict[tuple[str, ...], list[Element]] = {}
        self.peer_pods: dict[PeerKey, list[Pod]] = {}
        self.label_index: dict[str, dict[tuple[str, str], list[Pod]]] = {}
        self.matching: dict[tuple[str, LabelSelector], list[Pod]] = {}
        self.pods_at: dict[IPAddress, list[Pod]] | None = None


class Reuse:
    """What is kept of one set of completed objects compiled with one set of options (but the node): the
    Services' Fragments and what they are made of, and the policy compiler's `PolicyReuse`."""

    def __init__(self) -> None:
        self.policies = PolicyReuse()
        self.fragments: dict[tuple[object, ...], Fragment] = {}
        self._reads: dict[tuple[str, bool], _Reads | None] = {}
        # the same on every node: the Services in order, each with why it is not programmed (or None),
        # and the elements of the `cluster-ips` sets
        self.parts: list[Part] | None = None
        self.cluster_ips: dict[str, list[Element]] = {}
        # `parts` with runs of those that read nothing of the node merged (`plan`), once they have Fragments
        self.plan: list[Run | Part] | None = None

    def inputs(self, cluster: Cluster, service: Service, node: NodeInputs, external: bool) -> tuple[object, ...] | None:
        """The key of the Fragment of `service`'s ClusterIP frontends (`external` False) or of its other
        frontends on `cluster`'s node: the Service, which part, and the values of the node's inputs that
        part reads; None when it is never reused (sessionAffinity)."""
        name = service.meta.key
        if (name, external) in self._reads:
            reads = self._reads[(name, external)]
        else:
            reads = self._reads[(name, external)] = _reads(cluster, service, external)
        if reads is None:
            return None
        if reads.nothing:
            return (name, external)
        return (
            name,
            external,
            node.node_ports if reads.node_ports else None,
            node.primary if reads.primary else None,
            node.zone if reads.zone else None,
            None if reads.endpoint_nodes is None else tuple(cluster.is_local(n) for n in reads.endpoint_nodes),
        )

    def make_plan(self, notice: Callable[[Service, str], str]) -> list[Run | Part]:
        """`parts`, where consecutive ones read nothing of the node and have their Fragment (or are not
        programmed: `notice` says why, as a node's compile does) merged into Runs."""
        assert self.parts is not None, "the parts are listed by the first compile"
        plan: list[Run | Part] = []
        run = Run()
        for part in self.parts:
            service, why, external = part
            fragment = self.fragments.get((service.meta.key, external)) if why is None else None
            if why is not None:
                run.notices.append(notice(service, why))
            elif fragment is None or not run.add(fragment):
                if run.parts:
                    plan.append(run.seal())
                run = Run()
                if fragment is None or not run.add(fragment):
                    plan.append(part)
                    continue
            run.parts.append(part)
        if run.parts:
            plan.append(run.seal())
        return plan

    def keep(self, key: tuple[object, ...], fragment: Fragment) -> None:
        """Keep `fragment` for the next node with the same inputs, unless they hold this node's own
        addresses (a NodePort, loadBalancerSourceRanges against the node's primary address)."""
        if len(key) == 2 or not (key[2] or key[3]):
            self.fragments[key] = fragment


def has_external(service: Service) -> bool:
    """Can the Service have frontends other than its ClusterIPs (NodePorts, externalIPs, LoadBalancer IPs)?"""
    return service.type in (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER) or bool(service.external_ips)


def _reads(cluster: Cluster, service: Service, external: bool) -> _Reads | None:
    """What the part of `service` reads of the node: its ClusterIP frontends draw from the internal list
    (the local one under internalTrafficPolicy Local), the others also from the local list under
    externalTrafficPolicy Local, on the node's addresses (NodePorts) and behind source ranges that may
    hold the node's primary address."""
    if service.session_affinity_timeout is not None:
        return None  # its chains and sets are per Service (`affinity.py`): compiled on each node
    endpoints = [e for port in service.ports for e in cluster.endpoints(service, port)]
    local = service.internal_traffic_policy is TrafficPolicy.LOCAL or (
        external and service.external_traffic_policy is TrafficPolicy.LOCAL
    )
    return _Reads(
        node_ports=external
        and service.type in (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER)
        and any(port.node_port is not None for port in service.ports),
        primary=external and service.type is ServiceType.LOAD_BALANCER and bool(service.load_balancer_source_ranges),
        zone=any(e.hint_zones for e in endpoints),
        endpoint_nodes=tuple(e.node_name for e in endpoints) if local else None,
    )


_LAST: list[tuple[Shared, dict[CompileOptions, Reuse]]] = []  # for the last objects compiled


def reuse_for(cluster: Cluster, opts: CompileOptions) -> Reuse:
    """What is kept of `cluster`'s objects (their shared indexes: `index.shared`) and `opts` but the node."""
    shared = cluster.shared_indexes
    if not _LAST or _LAST[0][0] is not shared:
        _LAST[:] = [(shared, {})]
    by_options = _LAST[0][1]
    key = replace(opts, node=None)
    found = by_options.get(key)
    if found is None:
        found = by_options[key] = Reuse()
    return found
