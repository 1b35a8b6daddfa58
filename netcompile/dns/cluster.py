"""What cluster DNS knows of the completed objects: namespaces, Services with their ready endpoints, pods.

Read as CoreDNS's `kubernetes` plugin reads the API (it watches Services, EndpointSlices, Namespaces and
Pods): an endpoint is ready when its EndpointSlice says so (`conditions.ready`, which the EndpointSlice
controller already sets for every pod of a Service with `publishNotReadyAddresses`; netcompile also
honours the flag for slices written by hand), or, for a Service whose endpoints only a legacy Endpoints
object gives, when it is listed in `addresses` (`notReadyAddresses` too with the flag).

The _hostname_ of an endpoint (DNS specification 2.1) is, in order: the endpoint's hostname, which the
EndpointSlice controller takes from the pod at that address when its `spec.hostname` is set and its
`spec.subdomain` names the Service (a StatefulSet's pods under their governing Service); else a
system-assigned identifier, which CoreDNS makes from the address (`10-244-0-5`, `fd00-10-244--5`).

A namespace exists (CoreDNS answers NXDOMAIN for names in one that does not) when the input declares it,
when an object of the input is in it (the API server would have refused the object otherwise; the
simulated cluster makes it implicitly), or when every cluster has it (default, kube-system, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import ip_address

from ..model import EndpointSlice, IPAddress, Objects, Pod, Service, ServiceType

DEFAULT_DOMAIN = "cluster.local"
TTL = 5  # CoreDNS kubernetes plugin: `ttl` defaults to 5 seconds
SCHEMA_VERSION = "1.1.0"  # the DNS specification's schema version CoreDNS serves at dns-version.<zone>
BUILTIN_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")  # in every cluster
POD_MODES = ("insecure", "verified", "disabled")  # CoreDNS `pods POD-MODE`; kubeadm's Corefile: insecure


@dataclass(frozen=True, slots=True)
class Port:
    """A port as DNS names it: `_<name>._<protocol>` (protocol in lower case), and its number."""

    name: str  # "" for a Service's single unnamed port
    protocol: str  # "tcp", "udp", "sctp"
    number: int


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A ready endpoint of a Service, as CoreDNS answers for it."""

    address: IPAddress
    hostname: str  # the endpoint's hostname, else the address with '.' or ':' replaced by '-'
    named: bool  # the hostname comes from the pod (spec.hostname with spec.subdomain = the Service)
    ports: tuple[Port, ...]  # its EndpointSlice's ports (the pods' port numbers); () when it has none
    pod: str | None  # `ns/name` of the pod at that address


@dataclass(frozen=True, slots=True)
class Entry:
    """A Service and its ready endpoints."""

    service: Service
    endpoints: tuple[Endpoint, ...]

    @property
    def key(self) -> str:
        return self.service.meta.key

    @property
    def kind(self) -> str:
        """`ExternalName`, `headless` or `ClusterIP` (NodePort and LoadBalancer Services have a ClusterIP)."""
        if self.service.type == ServiceType.EXTERNAL_NAME:
            return "ExternalName"
        return "headless" if self.service.headless or not self.service.cluster_ips else "ClusterIP"

    @property
    def ports(self) -> tuple[Port, ...]:
        return tuple(Port(p.name, p.protocol.value.lower(), p.port) for p in self.service.ports)


def dashed(address: IPAddress) -> str:
    """The address as one DNS label, as CoreDNS writes a system-assigned endpoint hostname or a pod's name."""
    return str(address).replace(".", "-").replace(":", "-")


def undashed(label: str) -> IPAddress | None:
    """The address a pod label names (CoreDNS findPods: three dashes and no `--` make IPv4, else IPv6)."""
    text = label.replace("-", ".") if label.count("-") == 3 and "--" not in label else label.replace("-", ":")
    try:
        return ip_address(text)
    except ValueError:
        return None


def check_domain(domain: str) -> str:
    """The cluster domain in canonical form (lower case, no leading or trailing dot); ValueError if it is
    not a DNS name (the kubelet's --cluster-domain)."""
    text = domain.strip().strip(".").lower()
    labels = text.split(".")
    if not text or len(text) > 253 or not all(_label_ok(label) for label in labels):
        raise ValueError(f"--cluster-domain {domain!r}: must be a DNS name, e.g. cluster.local")
    return text


def _label_ok(label: str) -> bool:
    return (
        0 < len(label) <= 63
        and label.isascii()
        and all(c.isalnum() or c == "-" for c in label)
        and (label[0].isalnum() and label[-1].isalnum())
    )


class DnsCluster:
    """The completed objects as cluster DNS sees them, for one cluster domain."""

    def __init__(self, objects: Objects, domain: str = DEFAULT_DOMAIN, pod_mode: str = "insecure") -> None:
        if pod_mode not in POD_MODES:
            raise ValueError(f"pods {pod_mode!r}: must be one of {', '.join(POD_MODES)}")
        self.objects = objects
        self.domain = check_domain(domain)
        self.pod_mode = pod_mode
        kinds = (objects.pods, objects.services, objects.endpoint_slices, objects.endpoints, objects.network_policies)
        used = {o.meta.namespace for objects_of_kind in kinds for o in objects_of_kind}
        used |= {w.meta.namespace for w in objects.workloads} | {i.meta.namespace for i in objects.ingresses}
        self.namespaces = set(BUILTIN_NAMESPACES) | {n.meta.name for n in objects.namespaces} | used
        self.pods_at: dict[tuple[str, IPAddress], Pod] = {}
        for pod in objects.pods:
            for address in pod.ips:
                if not pod.host_network or (pod.meta.namespace, address) not in self.pods_at:
                    self.pods_at[(pod.meta.namespace, address)] = pod
        self.slices: dict[tuple[str, str], list[EndpointSlice]] = {}  # by (namespace, Service name)
        for piece in objects.endpoint_slices:
            if piece.service_name:
                self.slices.setdefault((piece.meta.namespace, piece.service_name), []).append(piece)
        self.legacy = {(e.meta.namespace, e.meta.name): e for e in objects.endpoints}
        self.entries: dict[tuple[str, str], Entry] = {}
        for service in objects.services:
            key = (service.meta.namespace, service.meta.name)
            self.entries[key] = Entry(service, self._endpoints(service))

    def fqdn(self, *labels: str) -> str:
        """`web.shop.svc.cluster.local.` from ("web", "shop", "svc")."""
        return ".".join((*labels, self.domain)) + "."

    def service_name(self, entry: Entry, hostname: str | None = None) -> str:
        svc = entry.service.meta
        return self.fqdn(*((hostname,) if hostname else ()), svc.name, svc.namespace, "svc")

    def _endpoints(self, service: Service) -> tuple[Endpoint, ...]:
        ns, name = service.meta.namespace, service.meta.name
        found: dict[tuple[IPAddress, str], Endpoint] = {}
        slices = self.slices.get((ns, name), [])
        for piece in slices:
            if piece.address_type not in ("IPv4", "IPv6"):
                continue
            ports = tuple(Port(p.name, p.protocol.value.lower(), p.port) for p in piece.ports)
            for ep in piece.endpoints:
                if ep.conditions.ready or service.publish_not_ready_addresses:
                    for address in ep.addresses:
                        endpoint = self._endpoint(service, address, ports, ep.hostname)
                        found.setdefault((address, endpoint.hostname), endpoint)
        legacy = self.legacy.get((ns, name))
        if not slices and legacy is not None:  # only a legacy Endpoints object (a snapshot from before slices)
            for subset in legacy.subsets:
                ports = tuple(Port(p.name, p.protocol.value.lower(), p.port) for p in subset.ports)
                addresses = subset.addresses
                if service.publish_not_ready_addresses:
                    addresses += subset.not_ready_addresses
                for a in addresses:
                    endpoint = self._endpoint(service, a.ip, ports)
                    found.setdefault((a.ip, endpoint.hostname), endpoint)
        return tuple(sorted(found.values(), key=lambda e: (e.address.version, int(e.address), e.hostname)))

    def _endpoint(
        self, service: Service, address: IPAddress, ports: tuple[Port, ...], hostname: str | None = None
    ) -> Endpoint:
        """The endpoint at `address`, named by the slice's `hostname` when it has one (as the EndpointSlice
        controller publishes a pod's `spec.hostname`, or as a hand-written slice of a Service without a
        selector says it), else by its pod's hostname and subdomain, else by its address."""
        pod = self.pods_at.get((service.meta.namespace, address))
        if hostname:
            return Endpoint(address, hostname, True, ports, pod.meta.key if pod is not None else None)
        naming = pod.naming if pod is not None else None
        if naming is not None and naming.hostname and naming.subdomain == service.meta.name:
            return Endpoint(address, naming.hostname, True, ports, pod.meta.key if pod else None)
        return Endpoint(address, dashed(address), False, ports, pod.meta.key if pod is not None else None)

    def service(self, namespace: str, name: str) -> Entry | None:
        return self.entries.get((namespace, name))

    def services(self) -> list[Entry]:
        """Every Service, by namespace and name."""
        return [self.entries[key] for key in sorted(self.entries)]
