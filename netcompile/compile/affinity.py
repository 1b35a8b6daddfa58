"""Session affinity (sessionAffinity: ClientIP): the only per-Service state of the Service stage.

Per endpoint list of a Service port, a chain that sends known clients to their endpoint and balances
new ones uniformly; per endpoint of that list, a dynamic set of the clients sticking to it (timeout =
timeoutSeconds) and a chain that refreshes the client's entry and DNATs:

    service-<hash>-ns/name/port         ip saddr @affinity-<h1>-… goto endpoint-<h1>-…   (one per endpoint)
                                        numgen random mod N vmap { 0 : goto endpoint-<h1>-…, … }
    endpoint-<h1>-ns/name/port__addr    update @affinity-<h1>-… { ip saddr }
                                        meta l4proto tcp dnat ip to 10.0.0.1:8080

Lists do not share sets: the local list an externalTrafficPolicy Local frontend uses for outside
clients keeps its own memory, so it never overrides the ClusterIP's choice (and the other way round).
Names come from `nft.names.object_name`, as kube-proxy's: a hash of the identity and a readable tail.
"""

from __future__ import annotations

from ..nft.ir import Set, Table
from ..nft.names import object_name
from ..nft.statements import (
    L4PROTO,
    AnonVmap,
    Dnat,
    Integer,
    Match,
    Numgen,
    SetRef,
    SetUpdate,
    Statement,
    Symbol,
    Types,
    Vmap,
    goto,
    member,
    saddr,
)
from ..nft.types import SetFlag, family_of
from .frontends import Frontend
from .index import Endpoint

_Rule = tuple[tuple[Statement, ...], str]  # statements, comment


class Affinity:
    """The affinity chains and sets of one table. Sets are added as they are made; the chains wait for
    `finish`, so that they follow the shared chains in the output."""

    __slots__ = ("endpoints", "lists", "pending", "table")

    def __init__(self, table: Table) -> None:
        self.table = table
        self.lists: dict[tuple[object, ...], str] = {}  # list identity -> chain
        self.endpoints: dict[tuple[object, ...], tuple[str, str]] = {}  # -> chain, set
        self.pending: list[tuple[str, str, list[_Rule]]] = []  # chain, comment, rules

    def chain(self, fe: Frontend, endpoints: tuple[Endpoint, ...], tail_suffix: str) -> str:
        """The chain that keeps known clients on their endpoint and balances new ones over `endpoints`.

        `tail_suffix` tells the lists of one frontend apart in the names (`/local` for the local list)."""
        svc, sp = fe.service, fe.service_port
        base = f"{svc.meta.namespace}/{svc.meta.name}/{sp.protocol.value.lower()}/{sp.port}"
        identity = (base, tuple((e.address, e.port) for e in endpoints))
        found = self.lists.get(identity)
        if found is not None:
            return found
        fam = family_of(fe.address)
        tail = f"{svc.meta.namespace}/{svc.meta.name}/{sp.label}{tail_suffix}"
        ids = ",".join(f"{e.address}/{e.port}" for e in endpoints)
        list_id = f"{base}/list:{ids}"
        chain = object_name("service", list_id, tail)
        self.lists[identity] = chain
        rules: list[_Rule] = []
        targets: list[str] = []
        for ep in endpoints:
            ep_chain, ep_set = self._endpoint(fe, ep, list_id, tail)
            rules.append(((member(saddr(fam), ep_set), goto(ep_chain)), f"{fe.label}: a client of {ep.target}"))
            targets.append(ep_chain)
        if len(targets) == 1:
            rules.append(((goto(targets[0]),), f"{fe.label}: a new client"))
        else:
            branches = AnonVmap(tuple((Integer(i), goto(c)) for i, c in enumerate(targets)))
            rules.append(((Vmap(Numgen(len(targets)), branches),), f"{fe.label}: a new client, uniformly"))
        self.pending.append((chain, f"{fe.label}: sessionAffinity ClientIP over {len(targets)} endpoint(s)", rules))
        return chain

    def _endpoint(self, fe: Frontend, ep: Endpoint, list_id: str, tail: str) -> tuple[str, str]:
        """The chain that remembers the client and DNATs to `ep`, and the set of clients sticking to it
        (per endpoint *of one list*)."""
        key = (list_id, ep.address, ep.port)
        found = self.endpoints.get(key)
        if found is not None:
            return found
        fam = family_of(ep.address)
        identity = f"{list_id}/{ep.address}/{ep.port}"
        ep_tail = f"{tail}__{ep.address}/{ep.port}"
        chain = object_name("endpoint", identity, ep_tail)
        members = object_name("affinity", identity, ep_tail)
        timeout = fe.service.session_affinity_timeout
        self.table.add_set(
            Set(
                members,
                Types((fam.addr_type,)),
                flags=(SetFlag.DYNAMIC, SetFlag.TIMEOUT),
                timeout=timeout,
                comment=f"{fe.label}: clients sticking to {ep.target}",
            )
        )
        proto = Symbol(fe.service_port.protocol.value.lower())
        rules: list[_Rule] = [
            ((SetUpdate(SetRef(members), saddr(fam)),), f"{fe.label}: remember the client for {timeout}s"),
            ((Match(L4PROTO, proto), Dnat(fam, ep.address, ep.port)), f"{fe.label} -> {ep.target}"),
        ]
        self.pending.append((chain, f"{fe.label} -> {ep.target}", rules))
        self.endpoints[key] = (chain, members)
        return chain, members

    def finish(self) -> None:
        """Add the chains, in the order they were asked for."""
        for chain, comment, rules in self.pending:
            self.table.add_chain(chain, comment)
            for statements, rule_comment in rules:
                self.table.add_rule(chain, *statements, comment=rule_comment)
