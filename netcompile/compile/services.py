"""Services → the NAT part of the ruleset, in a layout whose chains do not grow with the cluster.

kube-proxy's nftables mode writes a chain per Service port and per endpoint; loading 10k Services takes
minutes. Here Services are *elements* of a few maps (one per address family) and the chains are shared;
docs/semantics.md §2 is what they implement. A new connection to a Service walks:

    nat-prerouting / nat-output (the node's own traffic: marked for masquerade first)
      services        ip daddr . meta l4proto . th dport @lb-firewall-v4  ... . ip saddr != @lb-source-ranges-v4 drop
                      ip daddr . meta l4proto . th dport vmap @service-ips-v4      which kind of frontend:
                          → goto clusterip        masquerade unless the source is a pod
                          → goto external         NodePort/externalIP/LB IP, externalTrafficPolicy Cluster: masquerade
                          → goto external-local   externalTrafficPolicy Local: node and pods as ClusterIP,
                                                  external clients to local endpoints only, source kept
                      ip daddr @cluster-ips-v4 goto service-reject             a ClusterIP on a port it lacks
      service-pick    ip daddr . meta l4proto . th dport vmap @service-picks-v4   (local-pick: @local-picks-v4)
                          → goto endpoints-3      a list of 3 endpoints
                          → goto service-reject   no usable endpoint at all          (§2.4)
                          → goto service-drop     usable endpoints, none in this list (a Local policy)
                          → goto service-<hash>-ns/name/port    sessionAffinity ClientIP (per-Service chains)
      endpoints-3     dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 3 map @service-endpoints-3-v4
    nat-postrouting
      masquerading    hairpin (ct status dnat, ip saddr . ip daddr @hairpin-v4) marks too; marked → masquerade

One `endpoints-N` (and `local-endpoints-N`) chain, with its maps `service-endpoints-N-v4/-v6`, exists per
distinct list length N, so the number of chains and maps depends on the spread of endpoint counts, never
on the number of Services (why a map per length: `Builder._endpoint_maps`); `numgen random mod N`
picks each of the N map elements with probability exactly 1/N. Per packet: a constant number of set and
map lookups. Only session affinity needs per-Service state (as kube-proxy): `affinity.py`. Which
frontends a Service has and which endpoints each may use is `frontends.py`; this module writes them
into the maps, as typed statements and elements (`nft/statements.py`; the syntax is `nft/syntax.py`'s).

`service_parts.py` goes through the Services and hands each frontend to `Builder`; what a Service adds
is kept (a `reuse.Fragment`), and another node's compile of the same input whose inputs for that Service
are the same replays it rather than compiling it again.

Marks: the Service stage owns one bit (CompileOptions.masquerade_mark, 0x4000 as kube-proxy). nat-output
sets it before looking for a Service (the node's own traffic is always masqueraded; `external-local`
reads it to tell the node from outside clients) and clears it again when no Service matched.
Rejects: TCP gets a reset (not subject to the kernel's ICMP rate limits), other protocols ICMP
port-unreachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ..model import IPAddress, IPNetwork, TrafficPolicy
from ..nft.ir import Block, Element, Set, Table
from ..nft.names import family_name
from ..nft.statements import (
    CT_STATUS,
    DPORT,
    DROP,
    L4PROTO,
    META_MARK,
    RETURN,
    VERDICTS,
    BitAnd,
    Concat,
    DnatMap,
    Integer,
    Mark,
    MarkOp,
    MarkSet,
    Masquerade,
    Match,
    Numgen,
    Op,
    Reject,
    SetRef,
    SetType,
    Symbol,
    TypeOf,
    Types,
    daddr,
    goto,
    jump,
    member,
    not_member,
    saddr,
    vmap,
)
from ..nft.types import ADDRESS_FAMILIES, AddressFamily, DataType, SetFlag, family_of
from ..values import Frozen, set_field
from .affinity import Affinity
from .frontends import (
    Frontend,
    Lists,
    firewall_sources,
    local_detector,
    primary_addresses,
)
from .index import Cluster, Endpoint, collapse
from .options import CompileOptions
from .reuse import Fragment


@cache
def _num(n: int) -> str:
    """Indexes and ports as text, one shared string each (100k map elements repeat a few values)."""
    return str(n)


# Shared chains, in the order they are written.
SERVICES = "services"
CLUSTER_IP_CHAIN = "clusterip"
EXTERNAL_CHAIN = "external"
EXTERNAL_LOCAL_CHAIN = "external-local"
PICK = "service-pick"
LOCAL_PICK = "local-pick"
REJECT = "service-reject"
DROP_CHAIN = "service-drop"
MASQUERADING = "masquerading"


@dataclass(init=False, slots=True, eq=False, repr=False)
class ListRole(Frozen):
    """One kind of endpoint list a frontend draws from: the primary one or, for external clients of an
    externalTrafficPolicy Local frontend, the local one. Each has its own maps and endpoints-N chains."""

    picks: str  # verdict map stem: frontend -> how to pick
    endpoints: str  # map stem: frontend . index -> endpoint
    chain_prefix: str  # endpoints-N chains
    affinity_tail: str  # suffix of affinity chain tails

    def __init__(self, picks: str, endpoints: str, chain_prefix: str, affinity_tail: str) -> None:
        set_field(self, "picks", picks)
        set_field(self, "endpoints", endpoints)
        set_field(self, "chain_prefix", chain_prefix)
        set_field(self, "affinity_tail", affinity_tail)


PRIMARY = ListRole("service-picks", "service-endpoints", "endpoints", "")
LOCAL = ListRole("local-picks", "local-endpoints", "local-endpoints", "/local")
_ROLES = {role.chain_prefix: role for role in (PRIMARY, LOCAL)}  # as a Fragment names them


def frontend_key(fam: AddressFamily) -> Concat:
    """`ip daddr . meta l4proto . th dport`: the frontend a packet is addressed to."""
    return Concat((daddr(fam), L4PROTO, DPORT))


def _frontend_type(fam: AddressFamily, *more: DataType) -> Types:
    """`type ipv4_addr . inet_proto . inet_service`, and more datatypes after it."""
    return Types((fam.addr_type, DataType.INET_PROTO, DataType.INET_SERVICE, *more))


def _index_key(fam: AddressFamily) -> TypeOf:
    """`typeof ip daddr . meta l4proto . th dport . numgen random mod 1`: frontend . index."""
    return TypeOf(Concat((*frontend_key(fam).parts, Numgen(1))))


def _endpoint_value(fam: AddressFamily) -> TypeOf:
    """`typeof ip daddr . th dport`: the DNAT target."""
    return TypeOf(Concat((daddr(fam), DPORT)))


# name stem, key, value, flags, comment: one set or map per address family each
_Declaration = tuple[str, SetType, SetType | None, tuple[SetFlag, ...], str]


def _declarations(fam: AddressFamily) -> list[_Declaration]:
    addr = fam.addr_type
    return [
        ("service-ips", _frontend_type(fam), VERDICTS, (), "Service frontends (address . protocol . port) -> kind"),
        ("service-picks", _frontend_type(fam), VERDICTS, (), "frontend -> its endpoint list (length, or why empty)"),
        (
            "local-picks",
            _frontend_type(fam),
            VERDICTS,
            (),
            "externalTrafficPolicy Local, external clients: local list",
        ),
        (
            "cluster-ips",
            Types((addr,)),
            None,
            (),
            "every ClusterIP: traffic to one on a port its Service lacks is rejected",
        ),
        ("lb-firewall", _frontend_type(fam), None, (), "LoadBalancer IP frontends with loadBalancerSourceRanges"),
        (
            "lb-source-ranges",
            _frontend_type(fam, addr),
            None,
            (SetFlag.INTERVAL,),
            "frontend . allowed source range: other sources are dropped",
        ),
        (
            "hairpin",
            Types((addr, addr, DataType.INET_PROTO, DataType.INET_SERVICE)),
            None,
            (),
            "endpoint . endpoint . protocol . port: a connection DNATed back to its source",
        ),
    ]


def family_sets(table: Table, name: str, comment: str, networks: tuple[IPNetwork, ...]) -> None:
    """`<name>-v4` and `<name>-v6`: interval sets of addresses, one per family."""
    for fam in ADDRESS_FAMILIES:
        family_set = f"{name}-{fam.suffix}"
        table.add_set(Set(family_set, Types((fam.addr_type,)), flags=(SetFlag.INTERVAL,), comment=comment))
        table.add_elements(family_set, [Element((str(net),)) for net in networks if net.version == fam.version])


class Builder:
    __slots__ = ("affinity", "cluster", "counts", "hairpin", "mark", "opts", "primary", "recording", "table")

    def __init__(self, cluster: Cluster, table: Table, opts: CompileOptions) -> None:
        self.cluster = cluster
        self.table = table
        self.opts = opts
        self.affinity = Affinity(table)
        self.mark = Mark(opts.masquerade_mark)
        self.counts: dict[str, set[int]] = {}  # chain prefix -> list lengths used
        # every endpoint as DNAT leaves its packets: (address, protocol, port) as text -> address
        self.hairpin: dict[tuple[str, str, str], IPAddress] = {}
        self.primary = primary_addresses(cluster)  # the node's primary address of each family
        self.recording: Fragment | None = None  # what the Service being compiled adds, to replay it (`reuse.py`)

    # --- the fixed skeleton ----------------------------------------------------------------------

    def declare(self) -> None:
        t = self.table
        by_family = {fam: _declarations(fam) for fam in ADDRESS_FAMILIES}
        for index in range(len(by_family[ADDRESS_FAMILIES[0]])):
            for fam in ADDRESS_FAMILIES:
                stem, key, value, flags, comment = by_family[fam][index]
                t.add_set(Set(family_name(stem, fam), key, value, flags=flags, comment=comment))
        set_mark, unmark = MarkSet(MarkOp.OR, self.mark), MarkSet(MarkOp.XOR, self.mark)
        marked = Match(BitAnd(META_MARK, self.mark), self.mark, Op.EQ)
        t.add_rule("nat-prerouting", jump(SERVICES))
        t.add_rule("nat-output", set_mark, comment="from the node itself: masquerade if a Service")
        t.add_rule("nat-output", jump(SERVICES))
        t.add_rule("nat-output", unmark, comment="not a Service: unmark")
        t.add_rule("nat-postrouting", jump(MASQUERADING))

        t.add_chain(SERVICES, "find the Service frontend a new connection is addressed to")
        for fam in ADDRESS_FAMILIES:
            t.add_rule(
                SERVICES,
                member(frontend_key(fam), family_name("lb-firewall", fam)),
                not_member(Concat((*frontend_key(fam).parts, saddr(fam))), family_name("lb-source-ranges", fam)),
                DROP,
                comment="loadBalancerSourceRanges: a source outside every range",
            )
        ranges = self.cluster.objects.service_cidrs
        if ranges:  # as kube-proxy's cluster-ips-check, before any DNAT (docs/semantics.md §2.4)
            family_sets(t, "service-cidrs", "the ranges ClusterIPs come from", ranges)
            for fam in ADDRESS_FAMILIES:
                t.add_rule(
                    SERVICES,
                    member(daddr(fam), family_name("service-cidrs", fam)),
                    not_member(daddr(fam), family_name("cluster-ips", fam)),
                    DROP,
                    comment="an address of the Service range that no Service holds",
                )
        for fam in ADDRESS_FAMILIES:
            t.add_rule(SERVICES, vmap(frontend_key(fam), family_name("service-ips", fam)))
        for fam in ADDRESS_FAMILIES:
            t.add_rule(
                SERVICES,
                member(daddr(fam), family_name("cluster-ips", fam)),
                goto(REJECT),
                comment="a ClusterIP on a port its Service lacks",
            )

        detector = local_detector(self.cluster, self.opts)
        if self.opts.masquerade_all:
            t.add_chain(CLUSTER_IP_CHAIN, "ClusterIP: the internal list; masquerade every connection (masqueradeAll)")
            t.add_rule(CLUSTER_IP_CHAIN, set_mark, comment="masqueradeAll")
        elif detector is not None:
            t.add_chain(CLUSTER_IP_CHAIN, "ClusterIP: the internal list; masquerade unless the source is a pod")
            for matches in detector.if_not_local():
                t.add_rule(CLUSTER_IP_CHAIN, *matches, set_mark, comment=f"{detector.outside}: masquerade")
        else:  # kube-proxy without a local detector masquerades no ClusterIP traffic, not even the node's
            t.add_chain(CLUSTER_IP_CHAIN, "ClusterIP: the internal list; no pod traffic told apart: source kept")
            clear = MarkSet(MarkOp.AND, Mark(~self.mark.value & 0xFFFFFFFF))
            t.add_rule(CLUSTER_IP_CHAIN, clear, comment="from the node too: source kept")
        t.add_rule(CLUSTER_IP_CHAIN, goto(PICK))

        t.add_chain(EXTERNAL_CHAIN, "NodePort/externalIP/LoadBalancer, externalTrafficPolicy Cluster: masquerade")
        t.add_rule(EXTERNAL_CHAIN, set_mark)
        t.add_rule(EXTERNAL_CHAIN, goto(PICK))

        t.add_chain(EXTERNAL_LOCAL_CHAIN, "NodePort/externalIP/LoadBalancer, externalTrafficPolicy Local: which list")
        t.add_rule(EXTERNAL_LOCAL_CHAIN, marked, goto(PICK), comment="from the node: internal list, masquerade")
        for matches in detector.if_local() if detector is not None else ():
            t.add_rule(EXTERNAL_LOCAL_CHAIN, *matches, goto(PICK), comment="from a pod: internal list, source kept")
        t.add_rule(EXTERNAL_LOCAL_CHAIN, goto(LOCAL_PICK), comment="external: local endpoints only, source kept")

        for chain, role, comment in (
            (PICK, PRIMARY, "the frontend's endpoint list: how many, or why none"),
            (LOCAL_PICK, LOCAL, "the frontend's local endpoints: how many, or why none"),
        ):
            t.add_chain(chain, comment)
            for fam in ADDRESS_FAMILIES:
                t.add_rule(chain, vmap(frontend_key(fam), family_name(role.picks, fam)))

        t.add_chain(REJECT, "no usable endpoint, or a ClusterIP port that does not exist")
        # A TCP reset is not subject to the kernel's ICMP rate limits; other protocols get ICMP unreachable.
        t.add_rule(REJECT, Match(L4PROTO, Symbol("tcp")), Reject(tcp_reset=True))
        t.add_rule(REJECT, Reject())
        t.add_chain(DROP_CHAIN, "usable endpoints exist, but none in the list this traffic may use")
        t.add_rule(DROP_CHAIN, DROP)

        t.add_chain(MASQUERADING, "source NAT for what the Service stage marked, and for hairpin connections")
        for fam in ADDRESS_FAMILIES:
            t.add_rule(
                MASQUERADING,
                Match(CT_STATUS, Symbol("dnat")),
                member(Concat((saddr(fam), daddr(fam), L4PROTO, DPORT)), family_name("hairpin", fam)),
                set_mark,
                comment="hairpin: DNATed to its own source",
            )
        t.add_rule(MASQUERADING, Match(BitAnd(META_MARK, self.mark), Integer(0), Op.EQ), RETURN)
        t.add_rule(MASQUERADING, unmark)
        t.add_rule(MASQUERADING, Masquerade(fully_random=True))

    # --- one frontend ------------------------------------------------------------------------------

    def frontend(self, fe: Frontend, lists: Lists) -> None:
        fam = family_of(fe.address)
        if not fe.kind.external:
            kind, primary = CLUSTER_IP_CHAIN, lists.internal
        elif fe.service.external_traffic_policy is TrafficPolicy.CLUSTER:
            kind, primary = EXTERNAL_CHAIN, lists.cluster
        else:
            kind, primary = EXTERNAL_LOCAL_CHAIN, lists.internal
        self.add(family_name("service-ips", fam), [Element(fe.key, (goto(kind),), fe.element_comment)])
        self.pick(fe, PRIMARY, primary, lists)
        if kind == EXTERNAL_LOCAL_CHAIN:
            self.pick(fe, LOCAL, lists.local, lists)
        allowed = firewall_sources(fe, self.primary) if fe.source_ranges else ()
        if allowed:
            self.add(family_name("lb-firewall", fam), [Element(fe.key, comment=fe.element_comment)])
            ranges = family_name("lb-source-ranges", fam)
            self.add(ranges, [Element((*fe.key, str(net)), comment=fe.label) for net in collapse(allowed)])

    def pick(self, fe: Frontend, role: ListRole, endpoints: tuple[Endpoint, ...], lists: Lists) -> None:
        fam = family_of(fe.address)
        picks = family_name(role.picks, fam)
        if not endpoints:
            verdict = goto(DROP_CHAIN) if lists.usable else goto(REJECT)
            self.add(picks, [Element(fe.key, (verdict,), fe.label)])
            return
        texts = [str(ep.address) for ep in endpoints]
        # the endpoints as their DNATed packets are seen after it, by address, protocol and port (hairpin)
        seen = {(text, fe.key[1], _num(ep.port)): ep.address for text, ep in zip(texts, endpoints, strict=True)}
        self.hairpin.update(seen)
        if self.recording is not None:
            self.recording.hairpin.update(seen)
        if fe.service.session_affinity_timeout is not None:
            assert self.recording is None, "a Service with session affinity is compiled on each node"
            chain = self.affinity.chain(fe, endpoints, role.affinity_tail)
            self.table.add_element(picks, Element(fe.key, (goto(chain),), f"{fe.label}: ClientIP affinity"))
            return
        n = len(endpoints)
        self.add(picks, [Element(fe.key, (goto(f"{role.chain_prefix}-{n}"),), fe.label)])
        target, (address, protocol, port), label = family_name(self._endpoint_maps(role, n), fam), fe.key, fe.label
        # The comment names the pod behind the endpoint when the input has it; the address is the value.
        self.add(
            target,
            [
                Element(
                    (address, protocol, port, _num(index)),
                    (texts[index], _num(ep.port)),
                    f"{label} -> {ep.pod}" if ep.pod else label,
                )
                for index, ep in enumerate(endpoints)
            ],
        )

    def _endpoint_maps(self, role: ListRole, n: int) -> str:
        """The stem of the maps `frontend . index -> endpoint` of the lists of `n` endpoints, made on first use.

        One pair of maps per list length, each looked up by its `endpoints-N` chain only: nft 1.0.6
        refuses a new rule on an existing map whose `typeof` value names `th` ("conflicting protocols
        specified: ip vs. th"), and such a map cannot be declared by `type` (numgen's integer has no type
        name) nor its value by another expression (`tcp dport` makes the rule TCP's only). So a Service
        whose number of endpoints changes moves its elements from one map to another, and a length not
        used before comes with its chain and its maps in the same transaction, where nft takes the rule:
        a delta never re-creates a map of every Service's endpoints (nft/delta.py)."""
        stem = f"{role.endpoints}-{n}"
        if self.recording is not None and (role.chain_prefix, n) not in self.recording.maps:
            self.recording.maps.append((role.chain_prefix, n))
        counts = self.counts.setdefault(role.chain_prefix, set())
        if n not in counts:
            counts.add(n)
            for fam in ADDRESS_FAMILIES:
                comment = f"frontend . index -> endpoint, for lists of {n}: {role.chain_prefix}-{n} draws the index"
                self.table.add_set(Set(family_name(stem, fam), _index_key(fam), _endpoint_value(fam), comment=comment))
        return stem

    def add(self, set_name: str, elements: list[Element]) -> None:
        """Add a Service's elements (and record them, when its Fragment is being made)."""
        self.table.add_elements(set_name, elements)
        if self.recording is not None:
            self.recording.elements.append((set_name, elements))

    def replay(self, fragment: Fragment, blocks: list[tuple[str, Block]] | None = None) -> None:
        """Add what a Service added to another node's table, where it had the same inputs (`reuse.py`);
        with `blocks`, those of a Run of Services (the fragment's elements, as Blocks)."""
        for prefix, n in fragment.maps:
            self._endpoint_maps(_ROLES[prefix], n)
        if blocks is None:
            for set_name, elements in fragment.elements:
                self.table.extend_elements(set_name, elements)
        else:
            for set_name, block in blocks:
                self.table.add_block(set_name, block)
        self.hairpin.update(fragment.hairpin)

    # --- what depends on the whole cluster ----------------------------------------------------------

    def finish(self) -> None:
        t = self.table
        for role in (PRIMARY, LOCAL):
            for n in sorted(self.counts.get(role.chain_prefix, ())):
                chain = f"{role.chain_prefix}-{n}"
                which = "local endpoint" if role is LOCAL else "endpoint"
                t.add_chain(chain, f"pick one of {n} {which}{'s' if n > 1 else ''} uniformly at random")
                for fam in ADDRESS_FAMILIES:
                    index = Concat((*frontend_key(fam).parts, Numgen(n)))
                    t.add_rule(chain, DnatMap(fam, index, SetRef(family_name(f"{role.endpoints}-{n}", fam))))
        self.affinity.finish()
        # No element comments here: 100k endpoints make 100k elements, and `a . a . tcp . 80` speaks for
        # itself. The protocol and port are the endpoint's (DNAT set them), so that iptables can look the
        # key up in one hash:ip,port,ip set, where `a . a` alone would be one rule per endpoint.
        seen = sorted(self.hairpin.items(), key=lambda kv: (kv[1].version, int(kv[1]), kv[0][1], int(kv[0][2])))
        for fam in ADDRESS_FAMILIES:
            hairpin = family_name("hairpin", fam)
            t.add_elements(
                hairpin, [Element((a, a, proto, port)) for (a, proto, port), ip in seen if ip.version == fam.version]
            )
