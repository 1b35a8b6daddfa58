"""One query answered as CoreDNS's `kubernetes` plugin answers it, and a name resolved from a pod.

`lookup` takes an absolute name. It follows the plugin's reading of a name (parse.go `parseRequest`):

    <service>.<ns>.svc.<zone>                 the Service
    <endpoint>.<service>.<ns>.svc.<zone>      one endpoint, by hostname (any Service, headless or not)
    _<port>._<proto>.<service>.<ns>.svc.<zone>  the Service's port of that name and protocol
    <a-b-c-d>.<ns>.pod.<zone>                 a pod (`pods insecure`: any address in an existing namespace)

more labels are NXDOMAIN, a namespace that does not exist is NXDOMAIN, `<ns>.svc.<zone>` of an existing
namespace has no data (NOERROR, no answer). A Service answers with its ClusterIPs (a headless one with its
ready endpoints, NXDOMAIN when none is ready), an ExternalName Service with a CNAME (followed when the
target is in the cluster domain). Names are compared in lower case (DNS specification 2.1).

`resolve` is what a pod's resolver does with a name (glibc `res_search` with the resolv.conf kubelet
writes, `resolv_conf`; for `dnsPolicy: ClusterFirst`: `search <ns>.svc.<zone> svc.<zone> <zone>` and
`options ndots:5`, then the pod's dnsConfig).
A name with fewer than 5 dots is tried with each search domain first, then as it is; one with a
trailing dot only as it is. A candidate that does not exist or has no data of the type asked leads to
the next; the first that answers is the answer. Names outside the cluster domain go upstream (CoreDNS
`forward`), which netcompile cannot answer for: a resolution goes on past them (as if the upstream
servers did not know the name) and says so when a later candidate answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address

from ..model import IPAddress, Pod
from .cluster import SCHEMA_VERSION, DnsCluster, Entry, Port, undashed
from .records import Record, address_record, reverse_name, srv_data

QUERY_TYPES = ("A", "AAAA", "SRV", "CNAME", "PTR", "TXT")
NDOTS = 5  # kubelet's resolv.conf for ClusterFirst pods
NOERROR, NXDOMAIN, UPSTREAM = "NOERROR", "NXDOMAIN", "UPSTREAM"
MAX_CHASE = 8  # CNAMEs followed inside the zone, at most (a loop of ExternalName Services ends)


@dataclass(frozen=True, slots=True)
class Answer:
    """The response to one question: rcode (NOERROR, NXDOMAIN, or UPSTREAM: outside the cluster domain, for
    the upstream servers to answer), answer and additional records."""

    name: str
    type: str
    rcode: str
    records: tuple[Record, ...] = ()
    additional: tuple[Record, ...] = ()
    note: str = ""

    @property
    def found(self) -> bool:
        return self.rcode == NOERROR and bool(self.records)

    @property
    def status(self) -> str:
        """`NOERROR`, `NOERROR (no data)`, `NXDOMAIN`, `upstream`."""
        if self.rcode == NOERROR and not self.records:
            return "NOERROR (no data)"
        return "upstream" if self.rcode == UPSTREAM else self.rcode


@dataclass(frozen=True, slots=True)
class _Hit:
    """What the plugin finds for a name (its msg.Service): an address and port, or a CNAME target."""

    host: str  # an address, or a name (ExternalName)
    port: int  # -1: no port (an endpoint without ports)
    key: str  # the name the hit stands for: the Service, or `<hostname>.<service>...` for an endpoint
    source: str
    sections: tuple[str, str] = ("", "")  # the DNS specification's sections of its address and SRV records


def absolute(name: str) -> str:
    """The name in lower case with exactly one trailing dot."""
    return name.strip().rstrip(".").lower() + "."


def lookup(cluster: DnsCluster, name: str, qtype: str, *, chased: int = 0) -> Answer:
    """The answer to `name` (absolute) and `qtype` (QUERY_TYPES) from the cluster's DNS; `chased`: the
    CNAMEs followed to get here (ExternalName Services naming each other)."""
    name = absolute(name)
    if name.endswith((".in-addr.arpa.", ".ip6.arpa.")):
        return _reverse(cluster, name, qtype)
    zone = cluster.domain + "."
    if name != zone and not name.endswith("." + zone):
        return Answer(name, qtype, UPSTREAM, note=f"outside the cluster domain {cluster.domain}: CoreDNS forwards it")
    base = name[: -len(zone)].rstrip(".")
    if base == "dns-version" and qtype == "TXT":
        return Answer(name, qtype, NOERROR, (Record(name, "TXT", f'"{SCHEMA_VERSION}"', "", "2.2"),))
    if base in ("", "svc", "pod"):
        return Answer(name, qtype, NOERROR, note="the zone apex: no data")
    labels = base.split(".")
    kind = labels.pop()
    if kind not in ("svc", "pod") or len(labels) > 4:
        return Answer(name, qtype, NXDOMAIN, note="not a name the kubernetes plugin serves")
    namespace = labels.pop() if labels else ""
    if namespace not in cluster.namespaces:
        return Answer(name, qtype, NXDOMAIN, note=f"no namespace {namespace!r}")
    if not labels:
        return Answer(name, qtype, NOERROR, note=f"namespace {namespace}: no data")
    target = labels.pop()
    if kind == "pod":
        return _answer(cluster, name, qtype, _pod_hits(cluster, namespace, target, name), chased)
    endpoint = port = protocol = ""
    if len(labels) == 1:
        endpoint = labels[0]
    elif len(labels) == 2:
        port, protocol = labels[0].removeprefix("_"), labels[1].removeprefix("_")
    elif labels:
        return Answer(name, qtype, NXDOMAIN, note="too many labels for a Service name")
    entry = cluster.service(namespace, target)
    hits = _service_hits(cluster, entry, endpoint, port, protocol) if entry is not None else []
    return _answer(cluster, name, qtype, hits, chased)


def _service_hits(cluster: DnsCluster, entry: Entry, endpoint: str, port: str, protocol: str) -> list[_Hit]:
    """findServices: what one Service contributes to the answer."""
    source = f"Service {entry.key}"
    if entry.kind == "ExternalName":
        target = (entry.service.external_name or "").rstrip(".").lower()
        if endpoint or not target or _is_ip(target):  # an address is no CNAME target: nothing
            return []
        return [_Hit(target + ".", 0, cluster.service_name(entry), source)]
    hits: list[_Hit] = []
    if entry.kind == "headless" or endpoint:
        for ep in entry.endpoints:
            if endpoint and endpoint != ep.hostname.lower():
                continue
            for p in ep.ports or (Port("", "", -1),):
                if _port_matches(p, port, protocol):
                    why = f"{source}, " + (f"pod {ep.pod}" if ep.pod else f"endpoint {ep.address}")
                    key = cluster.service_name(entry, ep.hostname)
                    rules = ("2.4.1", "2.4.2") if entry.kind == "headless" else ("", "")  # else: CoreDNS's own
                    hits.append(_Hit(str(ep.address), p.number, key, why, rules))
        return hits
    for p in entry.ports:
        if _port_matches(p, port, protocol):
            key = cluster.service_name(entry)
            hits += [_Hit(str(ip), p.number, key, source, ("2.3.1", "2.3.2")) for ip in entry.service.cluster_ips]
    return hits


def _port_matches(p: Port, port: str, protocol: str) -> bool:
    """matchPortAndProtocol: an empty request part matches anything, else equal ignoring case."""
    return (not port or port == p.name.lower()) and (not protocol or protocol == p.protocol)


def _pod_hits(cluster: DnsCluster, namespace: str, label: str, name: str) -> list[_Hit]:
    """findPods: the address the label spells, if the pod mode serves it."""
    address = undashed(label)
    if cluster.pod_mode == "disabled" or address is None:
        return []
    if cluster.pod_mode == "insecure":
        pod = cluster.pods_at.get((namespace, address))
        why = f"pod {pod.meta.key}" if pod else "pods insecure: any address"
        return [_Hit(str(address), 0, name, why, ("2.6", ""))]
    pods = [p for p in cluster.objects.pods if p.meta.namespace == namespace and p.ips[:1] == (address,)]
    return [_Hit(str(address), 0, name, f"pod {p.meta.key}", ("2.6", "")) for p in pods[:1]]


def _answer(cluster: DnsCluster, name: str, qtype: str, hits: list[_Hit], chased: int) -> Answer:
    """The records of `qtype` from the hits (backend_lookup.go): none at all is NXDOMAIN, none of the
    type asked is NOERROR without data. A CNAME into the cluster's zone is followed, MAX_CHASE at most
    (a loop of ExternalName Services ends there, with the CNAMEs so far)."""
    if not hits:
        return Answer(name, qtype, NXDOMAIN)
    records: list[Record] = []
    extra: list[Record] = []
    if qtype in ("A", "AAAA"):
        for hit in hits:
            if not _is_ip(hit.host):
                records.append(Record(name, "CNAME", hit.host, hit.source, "2.5"))
                inside = hit.host.endswith("." + cluster.domain + ".")
                if inside and chased < MAX_CHASE:  # CoreDNS follows a target inside its zone
                    records += lookup(cluster, hit.host, qtype, chased=chased + 1).records
                continue
            address = ip_address(hit.host)
            if (address.version == 4) == (qtype == "A"):
                records.append(address_record(name, address, hit.source, hit.sections[0]))
    elif qtype == "SRV":
        weight = 100 // len(hits)
        for hit in hits:
            if hit.port == -1:
                continue
            target = hit.host if not _is_ip(hit.host) else hit.key
            records.append(Record(name, "SRV", srv_data(weight, hit.port, target), hit.source, hit.sections[1]))
            if _is_ip(hit.host):
                extra.append(address_record(target, ip_address(hit.host), hit.source, hit.sections[0]))
    elif qtype == "CNAME":
        records += [Record(name, "CNAME", h.host, h.source, "2.5") for h in hits if not _is_ip(h.host)]
    return Answer(name, qtype, NOERROR, _unique(records), _unique(extra))


def _reverse(cluster: DnsCluster, name: str, qtype: str) -> Answer:
    """PTR: the Services with that ClusterIP, else the endpoints with that address (CoreDNS reverse.go)."""
    address = next((a for a in _all_addresses(cluster) if reverse_name(a) == name), None)
    if address is None:
        return Answer(name, qtype, NXDOMAIN)
    records = [
        Record(name, "PTR", cluster.service_name(e), f"Service {e.key}", "2.3.3")
        for e in cluster.services()
        if address in e.service.cluster_ips
    ]
    if not records:
        records = [
            Record(name, "PTR", cluster.service_name(e, ep.hostname), f"Service {e.key}", "2.4.3")
            for e in cluster.services()
            for ep in e.endpoints
            if ep.address == address
        ]
    return Answer(name, qtype, NOERROR, _unique(records) if qtype == "PTR" else ())


def _all_addresses(cluster: DnsCluster) -> list[IPAddress]:
    return [a for e in cluster.services() for a in (*e.service.cluster_ips, *(ep.address for ep in e.endpoints))]


def _unique(records: list[Record]) -> tuple[Record, ...]:
    return tuple({(r.name, r.type, r.data): r for r in records}.values())


def _is_ip(text: str) -> bool:
    try:
        ip_address(text.rstrip("."))
    except ValueError:
        return False
    return True


# --- a name, from a pod: its resolver's search path ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resolution:
    """A name as a pod's resolver looks it up: every candidate tried, in order, and the answer."""

    query: str
    type: str
    search: tuple[str, ...]  # the search domains (empty: the name is taken as absolute)
    tried: tuple[Answer, ...]
    source: str = ""  # `pod shop/web-1`
    notes: tuple[str, ...] = field(default=())
    ndots: int = NDOTS

    @property
    def answer(self) -> Answer:
        """The first candidate that answered; else the one asked upstream (whose answer netcompile cannot
        know: glibc returns the result of the name as written when the search fails), else the last."""
        found = [a for a in self.tried if a.found] or [a for a in self.tried if a.rcode == UPSTREAM]
        return found[0] if found else self.tried[-1]

    @property
    def found(self) -> bool:
        return self.answer.found

    def addresses(self) -> list[IPv4Address | IPv6Address]:
        """The addresses of the answer (A/AAAA records, also at the end of a CNAME chain)."""
        return [ip_address(r.data) for r in self.answer.records if r.type in ("A", "AAAA")]


@dataclass(frozen=True, slots=True)
class ResolvConf:
    """What kubelet writes in a pod's /etc/resolv.conf, as far as the input tells it (kubelet's
    pkg/kubelet/network/dns/dns.go): the search domains, ndots, and notes on what the input cannot tell."""

    search: tuple[str, ...]
    ndots: int
    notes: tuple[str, ...] = ()


def resolv_conf(cluster: DnsCluster, pod: Pod) -> ResolvConf:
    """ClusterFirst (not for a hostNetwork pod) and ClusterFirstWithHostNet: `search <ns>.svc.<zone>
    svc.<zone> <zone>` and `ndots:5`, before the node's own search domains; Default (and ClusterFirst on
    the host network): the node's resolv.conf; None: nothing. Then dnsConfig: its searches appended (each
    once), its options over those (`ndots`)."""
    naming, key, d = pod.naming, pod.meta.key, cluster.domain
    policy = naming.dns_policy
    notes: list[str] = []
    search: list[str] = []
    ndots = 1  # the resolver's own default (resolv.conf(5))
    if policy == "ClusterFirstWithHostNet" or (policy == "ClusterFirst" and not pod.host_network):
        search, ndots = [f"{pod.meta.namespace}.svc.{d}", f"svc.{d}", d], NDOTS
    elif policy == "None":
        notes.append(f"pod {key} has dnsPolicy None: only its dnsConfig (netcompile assumes cluster DNS answers)")
    else:
        why = "the host network with dnsPolicy ClusterFirst" if policy == "ClusterFirst" else "dnsPolicy Default"
        notes.append(
            f"pod {key} uses {why}: its node's resolv.conf, whose search domains and nameservers the input does "
            "not tell; shown: what cluster DNS answers for the name as written"
        )
    search += [domain.rstrip(".").lower() for domain in naming.dns_searches]
    for option, value in naming.dns_options:
        if option == "ndots" and value is not None and value.isascii() and value.isdigit():
            ndots = min(int(value), 15)  # glibc caps ndots at 15
    return ResolvConf(tuple(dict.fromkeys(search)), ndots, tuple(notes))


def candidates(name: str, search: tuple[str, ...], ndots: int = NDOTS) -> list[str]:
    """The names the resolver tries, in order (glibc res_search)."""
    text = name.strip()
    if text.endswith(".") or not search:
        return [absolute(text)]
    dots = text.count(".")
    out = [absolute(text)] if dots >= ndots else []
    out += [absolute(f"{text}.{domain}") for domain in search]
    if dots < ndots:
        out.append(absolute(text))
    return out


def resolve(cluster: DnsCluster, name: str, qtype: str = "A", pod: Pod | None = None) -> Resolution:
    """`name` looked up as `pod`'s resolver would (its resolv.conf), or as an absolute name without a pod."""
    conf = resolv_conf(cluster, pod) if pod is not None else ResolvConf((), 1)
    tried: list[Answer] = []
    notes = list(conf.notes)
    for candidate in candidates(name, conf.search, conf.ndots):
        answer = lookup(cluster, candidate, qtype)
        tried.append(answer)
        if answer.found:
            break
    asked = [a.name for a in tried[:-1] if a.rcode == UPSTREAM]
    if asked and tried[-1].found:  # the resolver went on only because the upstream servers had no answer
        notes.append(f"this answer holds if the upstream servers know no {', '.join(asked)} (asked first)")
    source = f"pod {pod.meta.key}" if pod is not None else ""
    return Resolution(name, qtype, conf.search, tuple(tried), source, tuple(notes), conf.ndots)
