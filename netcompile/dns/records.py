"""The records cluster DNS serves for the input, as the Kubernetes DNS specification lists them.

Each record names the section of the specification (kubernetes/dns docs/specification.md) that requires
it and the object it comes from:

    2.2    dns-version.<zone>. TXT "<schema version>"
    2.3.1  <svc>.<ns>.svc.<zone>. A/AAAA <cluster IP>                        (a Service with a ClusterIP)
    2.3.2  _<port>._<proto>.<svc>.<ns>.svc.<zone>. SRV 0 <w> <port> <svc>.<ns>.svc.<zone>.   (named ports)
    2.3.3  <reversed cluster IP>.in-addr.arpa. PTR <svc>.<ns>.svc.<zone>.
    2.4.1  <svc>.<ns>.svc.<zone>. A/AAAA <endpoint IP>, and <hostname>.<svc>.<ns>.svc.<zone>.   (headless:
           every ready endpoint; none ready: NXDOMAIN)
    2.4.2  _<port>._<proto>.<svc>.<ns>.svc.<zone>. SRV 0 <w> <port> <hostname>.<svc>.<ns>.svc.<zone>.
    2.4.3  <reversed endpoint IP>.in-addr.arpa. PTR <hostname>.<svc>.<ns>.svc.<zone>.
    2.5    <svc>.<ns>.svc.<zone>. CNAME <externalName>.                     (ExternalName)
    2.6    <a>-<b>-<c>-<d>.<ns>.pod.<zone>. A <a>.<b>.<c>.<d>               (deprecated; CoreDNS `pods`)

Where the specification leaves a choice, CoreDNS's `kubernetes` plugin decides: priority 0 and weight
100/n (n the records of the answer, rounded down) in SRV records; a headless Service's SRV records carry
the endpoints' port numbers (the pods' ports, as its EndpointSlices give them); an endpoint without a
hostname is named by its address (`10-244-0-5`); pod records are listed for the pods of the input that
have addresses of their own (not hostNetwork, not terminating): what `pods verified` serves; `pods
insecure`, kubeadm's default, answers any address written that way (`netcompile dns --query` does).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import ip_address

from ..model import IPAddress
from .cluster import SCHEMA_VERSION, TTL, DnsCluster, Entry, dashed

TYPE_ORDER = {"TXT": 0, "CNAME": 1, "A": 2, "AAAA": 3, "SRV": 4, "PTR": 5}


@dataclass(frozen=True, slots=True)
class Record:
    """One resource record: owner name (absolute, lower case), type, data as a zone file writes it."""

    name: str
    type: str
    data: str
    source: str = ""  # the object it comes from: `Service shop/web`, `pod shop/web-1`
    rule: str = ""  # the section of the DNS specification that requires it
    ttl: int = TTL

    def sort_key(self) -> tuple[bool, tuple[str, ...], int, str]:
        """The cluster's zone, then the reverse zones; by labels from the root, type, data."""
        labels = tuple(reversed(self.name.rstrip(".").split(".")))
        return labels[0] == "arpa", labels, TYPE_ORDER.get(self.type, 9), self.data

    def text(self) -> str:
        return f"{self.name} {self.ttl} IN {self.type} {self.data}"


def address_record(name: str, address: IPAddress, source: str, rule: str) -> Record:
    return Record(name, "A" if address.version == 4 else "AAAA", str(address), source, rule)


def reverse_name(address: IPAddress) -> str:
    """`1.0.96.10.in-addr.arpa.`, or the nibbles of an IPv6 address under `ip6.arpa.`."""
    return address.reverse_pointer + "."


def srv_data(weight: int, port: int, target: str) -> str:
    return f"0 {weight} {port} {target}"


@dataclass(frozen=True, slots=True)
class Zone:
    """The records, sorted (the cluster's zone, then the reverse zones; by owner name from the root, type,
    data), and notes on names that do not exist although the input seems to expect them."""

    domain: str
    records: tuple[Record, ...]
    notes: tuple[str, ...]


def zone(cluster: DnsCluster) -> Zone:
    """Every record the specification requires for the completed objects, and pod records."""
    records: list[Record] = [
        Record(cluster.fqdn("dns-version"), "TXT", f'"{SCHEMA_VERSION}"', "", "2.2"),
    ]
    notes: list[str] = []
    for entry in cluster.services():
        if entry.kind == "ExternalName":
            records += _external(cluster, entry, notes)
        elif entry.kind == "headless":
            records += _headless(cluster, entry, notes)
        else:
            records += _cluster_ip(cluster, entry)
    records += _pods(cluster, notes)
    unique = {(r.name, r.type, r.data): r for r in records}
    return Zone(cluster.domain, tuple(sorted(unique.values(), key=Record.sort_key)), tuple(sorted(set(notes))))


def _cluster_ip(cluster: DnsCluster, entry: Entry) -> list[Record]:
    name, source = cluster.service_name(entry), f"Service {entry.key}"
    out = [address_record(name, ip, source, "2.3.1") for ip in entry.service.cluster_ips]
    weight = 100 // len(entry.service.cluster_ips)  # CoreDNS: one answer per ClusterIP, then deduplicated
    for port in entry.ports:
        if port.name:
            owner = f"_{port.name}._{port.protocol}.{name}"
            out.append(Record(owner, "SRV", srv_data(weight, port.number, name), source, "2.3.2"))
    out += [Record(reverse_name(ip), "PTR", name, source, "2.3.3") for ip in entry.service.cluster_ips]
    return out


def _headless(cluster: DnsCluster, entry: Entry, notes: list[str]) -> list[Record]:
    name, source = cluster.service_name(entry), f"Service {entry.key}"
    if not entry.endpoints:
        notes.append(f"Service {entry.key} is headless and has no ready endpoint: {name} is NXDOMAIN (2.4.1)")
        return []
    out: list[Record] = []
    for ep in entry.endpoints:
        host = cluster.service_name(entry, ep.hostname)
        why = f"{source}, " + (f"pod {ep.pod}" if ep.pod else f"endpoint {ep.address}")
        out.append(address_record(name, ep.address, why, "2.4.1"))
        out.append(address_record(host, ep.address, why, "2.4.1"))
        out.append(Record(reverse_name(ep.address), "PTR", host, why, "2.4.3"))
    for port in {p for ep in entry.endpoints for p in ep.ports if p.name}:
        owner = f"_{port.name}._{port.protocol}.{name}"
        having = [
            ep for ep in entry.endpoints if any((p.name, p.protocol) == (port.name, port.protocol) for p in ep.ports)
        ]
        weight = 100 // len(having)
        for ep in having:
            if port in ep.ports:
                host = cluster.service_name(entry, ep.hostname)
                out.append(Record(owner, "SRV", srv_data(weight, port.number, host), source, "2.4.2"))
    return out


def _external(cluster: DnsCluster, entry: Entry, notes: list[str]) -> list[Record]:
    target = (entry.service.external_name or "").rstrip(".").lower()
    name = cluster.service_name(entry)
    if not target or _is_address(target):
        notes.append(
            f"Service {entry.key} is ExternalName {target!r}: an address, not a name: CoreDNS serves no CNAME, "
            f"{name} is NXDOMAIN"
        )
        return []
    return [Record(name, "CNAME", target + ".", f"Service {entry.key}", "2.5")]


def _pods(cluster: DnsCluster, notes: list[str]) -> list[Record]:
    out: list[Record] = []
    headless = {(e.service.meta.namespace, e.service.meta.name) for e in cluster.services() if e.kind == "headless"}
    for pod in sorted(cluster.objects.pods, key=lambda p: p.meta.key):
        naming, ns = pod.naming, pod.meta.namespace
        if naming.hostname and naming.subdomain and (ns, naming.subdomain) not in headless:
            notes.append(
                f"pod {pod.meta.key} has hostname {naming.hostname!r} and subdomain {naming.subdomain!r}, but "
                f"namespace {ns} has no headless Service {naming.subdomain!r}: "
                f"{naming.hostname}.{naming.subdomain}.{ns}.svc.{cluster.domain} does not exist"
            )
        if cluster.pod_mode == "disabled" or pod.terminating or pod.host_network:
            continue
        for address in pod.ips:
            name = cluster.fqdn(dashed(address), ns, "pod")
            out.append(address_record(name, address, f"pod {pod.meta.key}", "2.6"))
    return out


def _is_address(text: str) -> bool:
    try:
        ip_address(text)
    except ValueError:
        return False
    return True
