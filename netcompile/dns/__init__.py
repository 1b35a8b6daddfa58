"""How a name becomes a packet: cluster DNS and Service environment variables, from completed objects.

    cluster   what cluster DNS knows: namespaces, Services with their ready endpoints and hostnames, pods
    records   the records the Kubernetes DNS specification requires, each with its section
    lookup    one query as CoreDNS's kubernetes plugin answers it; a name resolved from a pod's search path
    envvars   the Service environment variables kubelet gives a pod's containers

Reads the completed model objects only (what `pipeline.complete` gives every verb): never the compiler,
the loader or the completion step. `resolve_name` is what `trace --to NAME` (and `matrix`) call.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import ip_address

from ..model import IPAddress, Objects, Pod, Protocol
from .cluster import DEFAULT_DOMAIN, POD_MODES, DnsCluster, check_domain
from .lookup import QUERY_TYPES, Resolution, resolve

__all__ = [
    "DEFAULT_DOMAIN", "POD_MODES", "QUERY_TYPES", "DnsCluster", "NameTarget", "UnresolvedName", "check_domain",
    "looks_like_name", "resolve", "resolve_name",
]  # fmt: skip


class UnresolvedName(ValueError):
    """A DNS name that resolves to no address (NXDOMAIN, no data, outside the cluster domain)."""


@dataclass(frozen=True, slots=True)
class NameTarget:
    """A destination named by DNS: its addresses (in answer order), and the port and protocol an SRV
    name gives (`_http._tcp.web.shop.svc.cluster.local`)."""

    name: str
    addresses: tuple[IPAddress, ...]
    port: int | None
    protocol: Protocol | None
    resolution: Resolution

    @property
    def fqdn(self) -> str:
        return self.resolution.answer.name


def looks_like_name(text: str) -> bool:
    """A DNS name rather than another target form: a dot, no `/` nor `:` (not an address, `ns/name` or
    `node:NAME`), only letters, digits, `-`, `_` and dots."""
    return (
        "." in text
        and text.isascii()
        and all(c.isalnum() or c in "-_." for c in text)
        and not all(c.isdigit() or c == "." for c in text)
    )


def resolve_name(
    objects: Objects | DnsCluster,
    name: str,
    pod: Pod | None = None,
    *,
    domain: str = DEFAULT_DOMAIN,
    family: int | None = None,
) -> NameTarget:
    """`name` resolved from `pod`'s search path (or as an absolute name): the addresses it leads to, of
    `family` when given (A for 4, AAAA for 6; else A, then AAAA). An SRV name (`_port._proto.` first)
    gives the port and protocol too. UnresolvedName with a message for the user when nothing answers.
    Callers that resolve many names (matrix) pass a DnsCluster, built once (its `domain` then wins)."""
    cluster = objects if isinstance(objects, DnsCluster) else DnsCluster(objects, domain)
    labels = name.strip().rstrip(".").split(".")
    srv = len(labels) > 2 and labels[0].startswith("_") and labels[1].startswith("_")
    if srv:
        resolution = resolve(cluster, name, "SRV", pod)
        answer = resolution.answer
        if not answer.found:
            raise UnresolvedName(_why(resolution))
        first = next(r for r in answer.records if r.type == "SRV")
        _, _, port, target = first.data.split()
        protocol = Protocol.__members__.get(labels[1].removeprefix("_").upper())
        wanted = [r for r in answer.additional if r.name == target]
        addresses = tuple(_address(r.data) for r in wanted if family is None or _address(r.data).version == family)
        if not addresses:
            raise UnresolvedName(f"{name}: the SRV record names {target}, which has no address of the IP family wanted")
        return NameTarget(name, addresses, int(port), protocol, resolution)
    for qtype in ("A", "AAAA") if family is None else ("A" if family == 4 else "AAAA",):
        resolution = resolve(cluster, name, qtype, pod)
        if resolution.addresses():
            return NameTarget(name, tuple(resolution.addresses()), None, None, resolution)
    aliases = [r for r in resolution.answer.records if r.type == "CNAME"]
    if aliases:  # an ExternalName Service: the name leaves the cluster
        alias = aliases[-1]
        if alias.data.endswith("." + cluster.domain + "."):
            chain = " -> ".join([aliases[0].name] + [a.data for a in aliases])
            raise UnresolvedName(f"{name}: CNAMEs that lead to no address, inside the cluster domain: {chain}")
        raise UnresolvedName(
            f"{name}: {alias.name} is a CNAME to {alias.data} ({alias.source}), outside the cluster domain "
            f"{cluster.domain}: its upstream servers answer for it, netcompile cannot"
        )
    raise UnresolvedName(_why(resolution))


def _address(text: str) -> IPAddress:
    return ip_address(text)


def _why(resolution: Resolution) -> str:
    tried = ", ".join(f"{a.name} {a.status}" for a in resolution.tried)
    where = f" from {resolution.source} (search {' '.join(resolution.search)})" if resolution.source else ""
    last = resolution.answer
    hint = "" if resolution.source else " (a name relative to a namespace needs --from a pod, for its search path)"
    if last.rcode == "UPSTREAM":
        return f"{resolution.query}: not a cluster name{where}: {last.name} is {last.note}; tried {tried}{hint}"
    return f"{resolution.query}: no {resolution.type} record{where}: tried {tried}{hint}"
