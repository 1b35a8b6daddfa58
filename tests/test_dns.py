"""Cluster DNS from the manifests (netcompile/dns/): table tests whose rows come from the Kubernetes DNS
specification (kubernetes/dns docs/specification.md, cited by section as `spec 2.3.1`) and, where the
specification leaves a choice, from CoreDNS's kubernetes plugin (plugin/kubernetes: parse.go, kubernetes.go
findServices/findPods, plugin/backend_lookup.go; cited as `CoreDNS ...`) and glibc's resolver (res_search,
with the resolv.conf kubelet writes for ClusterFirst pods: `search <ns>.svc.<zone> svc.<zone> <zone>`,
`ndots:5`; cited as `resolv.conf`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from netcompile.dns import DnsCluster, UnresolvedName, looks_like_name, resolve_name
from netcompile.dns.lookup import candidates, lookup, resolv_conf, resolve
from netcompile.dns.records import zone
from netcompile.model import Objects, Pod
from netcompile.pipeline import complete, load

CLUSTER = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 10.96.0.10
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}, {name: dns, port: 53, protocol: UDP}]
---
apiVersion: v1
kind: Service
metadata: {name: plain, namespace: shop}
spec: {clusterIP: 10.96.0.11, selector: {app: web}, ports: [{port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: dual, namespace: shop}
spec:
  ipFamilyPolicy: RequireDualStack
  clusterIPs: [10.96.0.12, "fd00:96::12"]
  selector: {app: web}
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec: {clusterIP: None, selector: {app: db}, ports: [{name: pg, port: 5432, targetPort: 5432}]}
---
apiVersion: v1
kind: Service
metadata: {name: db-all, namespace: shop}
spec: {clusterIP: None, publishNotReadyAddresses: true, selector: {app: db}, ports: [{name: pg, port: 5432}]}
---
apiVersion: v1
kind: Service
metadata: {name: empty, namespace: shop}
spec: {clusterIP: None, selector: {app: nothing}, ports: [{name: x, port: 1}]}
---
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: shop}
spec: {type: ExternalName, externalName: www.example.com}
---
apiVersion: v1
kind: Service
metadata: {name: inner, namespace: other}
spec: {type: ExternalName, externalName: web.shop.svc.cluster.local}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}}
spec: {containers: [{name: web, ports: [{containerPort: 8080}, {containerPort: 53, protocol: UDP}]}]}
status: {phase: Running, podIP: 10.244.0.10}
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: shop, labels: {app: db}}
spec: {hostname: db-0, subdomain: db, containers: [{name: pg, ports: [{containerPort: 5432}]}]}
status: {phase: Running, podIP: 10.244.0.20}
---
apiVersion: v1
kind: Pod
metadata: {name: db-1, namespace: shop, labels: {app: db}}
spec: {hostname: db-1, subdomain: db, containers: [{name: pg, ports: [{containerPort: 5432}]}]}
status: {phase: Running, podIP: 10.244.0.21, conditions: [{type: Ready, status: "False"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db-x, namespace: shop, labels: {app: db}}
spec: {containers: [{name: pg, ports: [{containerPort: 5432}]}]}
status: {phase: Running, podIP: 10.244.0.22}
---
apiVersion: v1
kind: Pod
metadata: {name: lonely, namespace: shop}
spec: {hostname: lonely, subdomain: nosuch, containers: [{name: c}]}
status: {phase: Running, podIP: 10.244.0.30}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: other}
spec: {containers: [{name: c}]}
status: {phase: Running, podIP: 10.244.0.40}
"""

# As kept in Git: a StatefulSet and its governing headless Service, no addresses (the simulated cluster).
GIT = """\
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: pg, namespace: data}
spec:
  replicas: 2
  serviceName: pg
  selector: {matchLabels: {app: pg}}
  template:
    metadata: {labels: {app: pg}}
    spec: {containers: [{name: pg, image: postgres, ports: [{name: pg, containerPort: 5432}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: pg, namespace: data}
spec: {clusterIP: None, selector: {app: pg}, ports: [{name: pg, port: 5432, targetPort: pg}]}
"""


def completed(tmp_path: Path, text: str) -> Objects:
    path = tmp_path / "input.yaml"
    path.write_text(text)
    return complete(load([str(path)]))


@pytest.fixture
def cluster(tmp_path: Path) -> DnsCluster:
    return DnsCluster(completed(tmp_path, CLUSTER))


def records(cluster: DnsCluster) -> set[tuple[str, str, str]]:
    return {(r.name, r.type, r.data) for r in zone(cluster).records}


Z = ".cluster.local."
# (name, type, data, what requires it): every row must be in the listing
PRESENT = [
    ("dns-version" + Z, "TXT", '"1.1.0"', "spec 2.2: the schema version (CoreDNS serves 1.1.0)"),
    ("web.shop.svc" + Z, "A", "10.96.0.10", "spec 2.3.1: a Service with a ClusterIP"),
    ("_http._tcp.web.shop.svc" + Z, "SRV", "0 100 80 web.shop.svc" + Z, "spec 2.3.2: a named port; CoreDNS: 0 100"),
    ("_dns._udp.web.shop.svc" + Z, "SRV", "0 100 53 web.shop.svc" + Z, "spec 2.3.2: the protocol in lower case"),
    ("10.0.96.10.in-addr.arpa.", "PTR", "web.shop.svc" + Z, "spec 2.3.3: PTR of the ClusterIP"),
    ("plain.shop.svc" + Z, "A", "10.96.0.11", "spec 2.3.1"),
    ("dual.shop.svc" + Z, "A", "10.96.0.12", "spec 2.3.1: each family"),
    ("dual.shop.svc" + Z, "AAAA", "fd00:96::12", "spec 2.3.1: each family"),
    ("_http._tcp.dual.shop.svc" + Z, "SRV", "0 50 80 dual.shop.svc" + Z, "CoreDNS: 100/n for n = 2 ClusterIPs"),
    ("db.shop.svc" + Z, "A", "10.244.0.20", "spec 2.4.1: a ready endpoint of a headless Service"),
    ("db.shop.svc" + Z, "A", "10.244.0.22", "spec 2.4.1: every ready endpoint"),
    ("db-0.db.shop.svc" + Z, "A", "10.244.0.20", "spec 2.4.1: the endpoint's hostname (pod hostname+subdomain)"),
    ("10-244-0-22.db.shop.svc" + Z, "A", "10.244.0.22", "spec 2.1 hostname: system-assigned (CoreDNS: dashed IP)"),
    ("_pg._tcp.db.shop.svc" + Z, "SRV", "0 50 5432 db-0.db.shop.svc" + Z, "spec 2.4.2: one SRV per ready endpoint"),
    ("_pg._tcp.db.shop.svc" + Z, "SRV", "0 50 5432 10-244-0-22.db.shop.svc" + Z, "spec 2.4.2"),
    ("20.0.244.10.in-addr.arpa.", "PTR", "db-0.db.shop.svc" + Z, "spec 2.4.3: PTR of a ready endpoint"),
    ("db-all.shop.svc" + Z, "A", "10.244.0.21", "spec 2.1 ready: publishNotReadyAddresses lists a not-ready pod"),
    ("10-244-0-21.db-all.shop.svc" + Z, "A", "10.244.0.21", "subdomain db, not db-all: a system-assigned name"),
    ("ext.shop.svc" + Z, "CNAME", "www.example.com.", "spec 2.5: ExternalName"),
    ("inner.other.svc" + Z, "CNAME", "web.shop.svc" + Z, "spec 2.5"),
    ("10-244-0-10.shop.pod" + Z, "A", "10.244.0.10", "spec 2.6: the deprecated pod record"),
]
# (name, type, data, why it must not exist)
ABSENT = [
    ("_8080._tcp.plain.shop.svc" + Z, "SRV", "0 100 8080 plain.shop.svc" + Z, "spec 2.3.2: no SRV for an unnamed port"),
    ("db.shop.svc" + Z, "A", "10.244.0.21", "spec 2.4.1: only ready endpoints (db-1 is not ready)"),
    ("db-1.db.shop.svc" + Z, "A", "10.244.0.21", "spec 2.4.1: a not-ready endpoint has no hostname record"),
    ("db.shop.svc" + Z, "A", "10.96.0.10", "a headless Service has no ClusterIP record"),
    ("lonely.nosuch.shop.svc" + Z, "A", "10.244.0.30", "no headless Service named by the subdomain"),
]


@pytest.mark.parametrize(("name", "rtype", "data", "why"), PRESENT, ids=[r[3] + " " + r[0] for r in PRESENT])
def test_the_listing_has_what_the_specification_requires(
    cluster: DnsCluster, name: str, rtype: str, data: str, why: str
) -> None:
    assert (name, rtype, data) in records(cluster), why


@pytest.mark.parametrize(("name", "rtype", "data", "why"), ABSENT, ids=[r[3] for r in ABSENT])
def test_the_listing_has_nothing_the_specification_rules_out(
    cluster: DnsCluster, name: str, rtype: str, data: str, why: str
) -> None:
    assert (name, rtype, data) not in records(cluster), why


def test_the_listing_says_which_names_do_not_exist(cluster: DnsCluster) -> None:
    notes = zone(cluster).notes
    assert any("shop/empty is headless and has no ready endpoint" in n and "NXDOMAIN (2.4.1)" in n for n in notes)
    assert any("pod shop/lonely" in n and "no headless Service 'nosuch'" in n for n in notes)
    listing = zone(cluster).records
    assert not any(r.name.startswith("empty.shop.svc") for r in listing)  # spec 2.4.1: NXDOMAIN, no record


def test_the_listing_is_sorted_and_deterministic(tmp_path: Path) -> None:
    first = zone(DnsCluster(completed(tmp_path, CLUSTER))).records
    docs = CLUSTER.split("---\n")
    again = zone(DnsCluster(completed(tmp_path, "---\n".join(reversed(docs))))).records
    assert [r.text() for r in first] == [r.text() for r in again]  # the input's order does not matter
    assert list(first) == sorted(first, key=lambda r: r.sort_key())


def test_git_manifests_statefulset_pods_are_named_under_their_governing_service(tmp_path: Path) -> None:
    """spec 2.4.1 with the StatefulSet controller's identity: pod pg-N gets hostname pg-N, subdomain pg."""
    dns = DnsCluster(completed(tmp_path, GIT))
    names = {r.name: r for r in zone(dns).records if r.type == "A"}
    assert "pg-0.pg.data.svc" + Z in names and "pg-1.pg.data.svc" + Z in names
    pods = {p.meta.name: p for p in dns.objects.pods}
    assert names["pg-0.pg.data.svc" + Z].data == str(pods["pg-0"].ips[0])  # the simulated pod's address
    srv = {r.data for r in zone(dns).records if r.type == "SRV"}
    assert srv == {"0 50 5432 pg-0.pg.data.svc" + Z, "0 50 5432 pg-1.pg.data.svc" + Z}  # spec 2.4.2, target port


def test_another_cluster_domain(tmp_path: Path) -> None:
    dns = DnsCluster(completed(tmp_path, CLUSTER), "Corp.Example.")
    assert ("web.shop.svc.corp.example.", "A", "10.96.0.10") in records(dns)
    with pytest.raises(ValueError, match="must be a DNS name"):
        DnsCluster(Objects(), "bad_domain..x")


# --- one query, as CoreDNS answers it -----------------------------------------------------------------

# (query, type, status, answer data, what says so)
QUERIES = [
    ("web.shop.svc.cluster.local", "A", "NOERROR", {"10.96.0.10"}, "spec 2.3.1"),
    ("WEB.Shop.SVC.cluster.local.", "A", "NOERROR", {"10.96.0.10"}, "spec 2.1: comparisons are case-insensitive"),
    ("web.shop.svc.cluster.local", "AAAA", "NOERROR (no data)", set(), "CoreDNS: the name exists, no AAAA"),
    ("dual.shop.svc.cluster.local", "AAAA", "NOERROR", {"fd00:96::12"}, "spec 2.3.1"),
    ("_http._tcp.web.shop.svc.cluster.local", "SRV", "NOERROR", {"0 100 80 web.shop.svc" + Z}, "spec 2.3.2"),
    ("_https._tcp.web.shop.svc.cluster.local", "SRV", "NXDOMAIN", set(), "CoreDNS findServices: no such port"),
    ("_http._udp.web.shop.svc.cluster.local", "SRV", "NXDOMAIN", set(), "CoreDNS: port name and protocol must match"),
    (
        "web.shop.svc.cluster.local",
        "SRV",
        "NOERROR",
        {"0 50 80 web.shop.svc" + Z, "0 50 53 web.shop.svc" + Z},
        "CoreDNS: a Service name asked for SRV answers every port",
    ),
    ("plain.shop.svc.cluster.local", "SRV", "NOERROR", {"0 100 8080 plain.shop.svc" + Z}, "CoreDNS: unnamed too"),
    ("db.shop.svc.cluster.local", "A", "NOERROR", {"10.244.0.20", "10.244.0.22"}, "spec 2.4.1: ready endpoints"),
    ("db-0.db.shop.svc.cluster.local", "A", "NOERROR", {"10.244.0.20"}, "spec 2.4.1: hostname"),
    ("db-1.db.shop.svc.cluster.local", "A", "NXDOMAIN", set(), "spec 2.4.1: db-1 is not ready"),
    ("empty.shop.svc.cluster.local", "A", "NXDOMAIN", set(), "spec 2.4.1: no ready endpoint is NXDOMAIN"),
    ("10-244-0-10.web.shop.svc.cluster.local", "A", "NOERROR", {"10.244.0.10"}, "CoreDNS: an endpoint by name"),
    ("ext.shop.svc.cluster.local", "CNAME", "NOERROR", {"www.example.com."}, "spec 2.5"),
    ("ext.shop.svc.cluster.local", "A", "NOERROR", {"www.example.com."}, "spec 2.5: A answers the CNAME"),
    ("inner.other.svc.cluster.local", "A", "NOERROR", {"web.shop.svc" + Z, "10.96.0.10"}, "CoreDNS: follows in-zone"),
    ("10-244-0-99.shop.pod.cluster.local", "A", "NOERROR", {"10.244.0.99"}, "spec 2.6, CoreDNS pods insecure"),
    ("10-244-0-99.nosuchns.pod.cluster.local", "A", "NXDOMAIN", set(), "CoreDNS: the namespace must exist"),
    ("web.nosuchns.svc.cluster.local", "A", "NXDOMAIN", set(), "CoreDNS: the namespace must exist"),
    ("shop.svc.cluster.local", "A", "NOERROR (no data)", set(), "CoreDNS: a namespace exists, no data"),
    ("a.b._http._tcp.web.shop.svc.cluster.local", "A", "NXDOMAIN", set(), "CoreDNS parse.go: too many labels"),
    ("web.shop.nope.cluster.local", "A", "NXDOMAIN", set(), "CoreDNS parse.go: neither svc nor pod"),
    ("dns-version.cluster.local", "TXT", "NOERROR", {'"1.1.0"'}, "spec 2.2"),
    ("10.0.96.10.in-addr.arpa", "PTR", "NOERROR", {"web.shop.svc" + Z}, "spec 2.3.3"),
    (
        "22.0.244.10.in-addr.arpa",
        "PTR",
        "NOERROR",
        {"10-244-0-22.db.shop.svc" + Z, "10-244-0-22.db-all.shop.svc" + Z},
        "spec 2.4.3: one per headless Service the endpoint is in",
    ),
    ("www.example.com", "A", "upstream", set(), "outside the cluster domain: CoreDNS forwards it"),
]


@pytest.mark.parametrize(("name", "qtype", "status", "data", "why"), QUERIES, ids=[f"{q[0]} {q[1]}" for q in QUERIES])
def test_one_query_as_coredns_answers_it(
    cluster: DnsCluster, name: str, qtype: str, status: str, data: set[str], why: str
) -> None:
    answer = lookup(cluster, name, qtype)
    assert answer.status == status, why
    assert {r.data for r in answer.records} == data, why


def test_pods_verified_and_disabled(tmp_path: Path) -> None:
    """CoreDNS `pods verified`: only a pod of that namespace with that address; `disabled`: none."""
    objects = completed(tmp_path, CLUSTER)
    verified = DnsCluster(objects, pod_mode="verified")
    assert lookup(verified, "10-244-0-10.shop.pod.cluster.local", "A").status == "NOERROR"
    assert lookup(verified, "10-244-0-99.shop.pod.cluster.local", "A").status == "NXDOMAIN"
    assert lookup(verified, "10-244-0-10.other.pod.cluster.local", "A").status == "NXDOMAIN"
    disabled = DnsCluster(objects, pod_mode="disabled")
    assert lookup(disabled, "10-244-0-10.shop.pod.cluster.local", "A").status == "NXDOMAIN"
    assert not any(r.name.endswith(".pod" + Z) for r in zone(disabled).records)


def test_srv_answers_carry_the_targets_addresses(cluster: DnsCluster) -> None:
    """spec 2.4.2: the Additional section may hold the A records the SRV records name (CoreDNS adds them)."""
    answer = lookup(cluster, "_pg._tcp.db.shop.svc.cluster.local", "SRV")
    assert {(r.name, r.data) for r in answer.additional} == {
        ("db-0.db.shop.svc" + Z, "10.244.0.20"),
        ("10-244-0-22.db.shop.svc" + Z, "10.244.0.22"),
    }


# --- a name from a pod: its search path ---------------------------------------------------------------

SEARCH = ("shop.svc.cluster.local", "svc.cluster.local", "cluster.local")
# (name, the names tried in order, what says so)
CANDIDATES = [
    ("web", ["web.shop.svc" + Z, "web.svc" + Z, "web" + Z, "web."], "resolv.conf: 0 dots < ndots:5, search first"),
    (
        "web.shop.svc.cluster.local",
        [
            "web.shop.svc.cluster.local.shop.svc" + Z,
            "web.shop.svc.cluster.local.svc" + Z,
            "web.shop.svc" + Z + "cluster.local.",
            "web.shop.svc" + Z,
        ],
        "resolv.conf: 4 dots < ndots:5: even a full name is searched first",
    ),
    ("a.b.c.d.e.f", ["a.b.c.d.e.f.", "a.b.c.d.e.f.shop.svc" + Z, "a.b.c.d.e.f.svc" + Z, "a.b.c.d.e.f" + Z], "5 dots"),
    ("web.shop.svc.cluster.local.", ["web.shop.svc" + Z], "a trailing dot: absolute, never searched"),
]


@pytest.mark.parametrize(("name", "tried", "why"), CANDIDATES, ids=[c[0] for c in CANDIDATES])
def test_the_names_a_pod_resolver_tries(name: str, tried: list[str], why: str) -> None:
    assert candidates(name, SEARCH) == tried, why


def pod(cluster: DnsCluster, key: str) -> Pod:
    return next(p for p in cluster.objects.pods if p.meta.key == key)


# (from pod, name, type, the first name that answers, its data)
RESOLVED = [
    ("shop/web-1", "web", "A", "web.shop.svc" + Z, {"10.96.0.10"}),
    ("other/client", "web.shop", "A", "web.shop.svc" + Z, {"10.96.0.10"}),
    ("other/client", "inner", "A", "inner.other.svc" + Z, {"web.shop.svc" + Z, "10.96.0.10"}),
    (
        "other/client",
        "_pg._tcp.db.shop",
        "SRV",
        "_pg._tcp.db.shop.svc" + Z,
        {"0 50 5432 db-0.db.shop.svc" + Z, "0 50 5432 10-244-0-22.db.shop.svc" + Z},
    ),
    ("shop/web-1", "db-0.db", "A", "db-0.db.shop.svc" + Z, {"10.244.0.20"}),
]


@pytest.mark.parametrize(
    ("source", "name", "qtype", "fqdn", "data"), RESOLVED, ids=[f"{r[0]} {r[1]}" for r in RESOLVED]
)
def test_a_name_from_a_pod(cluster: DnsCluster, source: str, name: str, qtype: str, fqdn: str, data: set[str]) -> None:
    resolution = resolve(cluster, name, qtype, pod(cluster, source))
    assert resolution.found and resolution.answer.name == fqdn
    assert {r.data for r in resolution.answer.records} == data
    assert resolution.search[0] == f"{source.split('/')[0]}.svc.cluster.local"  # resolv.conf: its namespace first


def test_a_name_of_another_namespace_needs_its_namespace(cluster: DnsCluster) -> None:
    """resolv.conf: `web` from namespace other is web.other.svc...: NXDOMAIN everywhere, then upstream."""
    resolution = resolve(cluster, "web", "A", pod(cluster, "other/client"))
    assert not resolution.found
    assert [a.status for a in resolution.tried] == ["NXDOMAIN", "NXDOMAIN", "NXDOMAIN", "upstream"]


def test_resolve_name_gives_trace_an_address_and_an_srv_port(cluster: DnsCluster) -> None:
    client = pod(cluster, "other/client")
    named = resolve_name(cluster.objects, "_http._tcp.web.shop", client)
    assert (named.addresses, named.port, named.protocol and named.protocol.value) == (
        (cluster.service("shop", "web").service.cluster_ips[0],),  # type: ignore[union-attr]
        80,
        "TCP",
    )
    v6 = resolve_name(cluster.objects, "dual.shop.svc.cluster.local.", None, family=6)
    assert [str(a) for a in v6.addresses] == ["fd00:96::12"]
    with pytest.raises(UnresolvedName, match="needs --from a pod"):
        resolve_name(cluster.objects, "web.shop", None)
    with pytest.raises(UnresolvedName, match="not a cluster name"):
        resolve_name(cluster.objects, "web", client)


@pytest.mark.parametrize(
    ("text", "is_name"),
    [
        ("web.shop", True),
        ("_http._tcp.web.shop.svc.cluster.local", True),
        ("web", False),  # default/web, or a Node, as targets.py reads it
        ("shop/web", False),
        ("node:a.b", False),
        ("10.0.0.1", False),
        ("fd00::1", False),
    ],
)
def test_what_trace_takes_for_a_dns_name(text: str, is_name: bool) -> None:
    assert looks_like_name(text) == is_name


SNAPSHOT = """\
apiVersion: v1
kind: Service
metadata: {name: legacy, namespace: old}
spec: {clusterIP: None, publishNotReadyAddresses: true, ports: [{name: p, port: 7000}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: legacy, namespace: old}
subsets:
- addresses: [{ip: 10.1.0.1}]
  notReadyAddresses: [{ip: 10.1.0.2}]
  ports: [{name: p, port: 7000}]
---
apiVersion: v1
kind: Service
metadata: {name: sliced, namespace: old}
spec: {clusterIP: None, ports: [{name: p, port: 7000}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: sliced-abc, namespace: old, labels: {kubernetes.io/service-name: sliced}}
addressType: IPv4
ports: [{name: p, port: 7001, protocol: TCP}]
endpoints:
- addresses: [10.1.0.3]
- addresses: [10.1.0.4]
  conditions: {ready: false}
"""


def test_endpoints_as_a_snapshot_gives_them(tmp_path: Path) -> None:
    """spec 2.1 ready: an address in `addresses` (legacy Endpoints), or any with publishNotReadyAddresses;
    an EndpointSlice endpoint whose conditions say ready (absent: ready). The SRV port is the endpoint's
    (CoreDNS findServices reads the slice's ports)."""
    dns = DnsCluster(completed(tmp_path, SNAPSHOT))
    assert {r.data for r in lookup(dns, "legacy.old.svc.cluster.local", "A").records} == {"10.1.0.1", "10.1.0.2"}
    assert {r.data for r in lookup(dns, "sliced.old.svc.cluster.local", "A").records} == {"10.1.0.3"}
    srv = lookup(dns, "_p._tcp.sliced.old.svc.cluster.local", "SRV").records
    assert [r.data for r in srv] == ["0 100 7001 10-1-0-3.sliced.old.svc" + Z]


def test_an_external_name_leaves_the_cluster(cluster: DnsCluster) -> None:
    """spec 2.5: a CNAME to a name outside the cluster domain; trace cannot follow it (the upstream answers)."""
    with pytest.raises(UnresolvedName, match=r"ext.shop.svc.cluster.local. is a CNAME to www.example.com. \(Service"):
        resolve_name(cluster.objects, "ext.shop", pod(cluster, "other/client"))
    inner = resolve_name(cluster.objects, "inner", pod(cluster, "other/client"))  # a CNAME inside: followed
    assert [str(a) for a in inner.addresses] == ["10.96.0.10"]


def test_external_names_naming_each_other_end(tmp_path: Path) -> None:
    """ExternalName Services whose CNAMEs loop inside the zone: the chase stops (lookup.MAX_CHASE), no crash."""
    loop = (
        "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: x}\n"
        "spec: {type: ExternalName, externalName: b.x.svc.cluster.local}\n---\n"
        "apiVersion: v1\nkind: Service\nmetadata: {name: b, namespace: x}\n"
        "spec: {type: ExternalName, externalName: a.x.svc.cluster.local}\n"
    )
    dns = DnsCluster(completed(tmp_path, loop))
    answer = lookup(dns, "a.x.svc.cluster.local", "A")
    assert answer.status == "NOERROR" and {r.type for r in answer.records} == {"CNAME"}
    with pytest.raises(UnresolvedName, match=r"CNAMEs that lead to no address, inside the cluster domain: a\.x\.svc"):
        resolve_name(dns, "a.x.svc.cluster.local.")


POLICIES = """\
apiVersion: v1
kind: Pod
metadata: {name: plain, namespace: shop}
spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: host, namespace: shop}
spec: {hostNetwork: true, containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: host-cluster, namespace: shop}
spec: {hostNetwork: true, dnsPolicy: ClusterFirstWithHostNet, containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: default, namespace: shop}
spec: {dnsPolicy: Default, containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: none, namespace: shop}
spec:
  dnsPolicy: None
  dnsConfig: {searches: [corp.example], options: [{name: ndots, value: "2"}]}
  containers: [{name: c}]
---
apiVersion: v1
kind: Pod
metadata: {name: tuned, namespace: shop}
spec:
  dnsConfig: {searches: [svc.cluster.local, corp.example.], options: [{name: ndots, value: "1"}, {name: edns0}]}
  containers: [{name: c}]
"""
# (pod, search domains, ndots, a note about the node's resolv.conf, the rule in kubelet's network/dns/dns.go)
RESOLV_CONFS = [
    ("plain", ("shop.svc.cluster.local", "svc.cluster.local", "cluster.local"), 5, False, "ClusterFirst"),
    ("host", (), 1, True, "ClusterFirst on the host network: the node's resolv.conf (podDNSHost)"),
    ("host-cluster", ("shop.svc.cluster.local", "svc.cluster.local", "cluster.local"), 5, False, "WithHostNet"),
    ("default", (), 1, True, "Default: the node's resolv.conf"),
    ("none", ("corp.example",), 2, False, "None: dnsConfig alone"),
    (
        "tuned",
        ("shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"),
        1,
        False,
        "dnsConfig: searches appended without duplicates, options override ndots",
    ),
]


@pytest.mark.parametrize(("name", "search", "ndots", "node", "rule"), RESOLV_CONFS, ids=[r[0] for r in RESOLV_CONFS])
def test_the_resolv_conf_kubelet_writes(
    tmp_path: Path, name: str, search: tuple[str, ...], ndots: int, node: bool, rule: str
) -> None:
    dns = DnsCluster(completed(tmp_path, POLICIES))
    conf = resolv_conf(dns, pod(dns, f"shop/{name}"))
    assert (conf.search, conf.ndots) == (search, ndots), rule
    assert any("its node's resolv.conf" in note for note in conf.notes) == node, rule


def test_ndots_decides_what_is_tried_first(tmp_path: Path) -> None:
    """resolv.conf: with ndots:1 a name with a dot is tried as it is first, then with the search domains."""
    dns = DnsCluster(completed(tmp_path, POLICIES + "---\n" + CLUSTER))
    resolution = resolve(dns, "web.shop", "A", pod(dns, "shop/tuned"))
    assert [a.name for a in resolution.tried][:2] == ["web.shop.", "web.shop.shop.svc.cluster.local."]
    assert resolution.answer.name == "web.shop.svc.cluster.local." and resolution.ndots == 1
    assert "this answer holds if the upstream servers know no web.shop. (asked first)" in resolution.notes
    missing = resolve(dns, "nope.shop", "A", pod(dns, "shop/tuned"))  # the search fails: the upstream's answer
    assert missing.answer.name == "nope.shop." and missing.answer.status == "upstream"


def test_a_hand_written_slice_names_its_endpoints(tmp_path: Path) -> None:
    """DNS specification 2.4.1: a headless Service's endpoint with a hostname is
    `<hostname>.<svc>.<ns>.svc.<zone>`, here from a slice of a Service without a selector (the
    EndpointSlice's `hostname`, which the controller also sets from a pod's spec.hostname)."""
    (tmp_path / "in.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: shop}\n"
        "spec: {clusterIP: None, ports: [{port: 5432}]}\n---\n"
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
        "metadata: {name: db-1, namespace: shop, labels: {kubernetes.io/service-name: db}}\n"
        "addressType: IPv4\nports: [{port: 5432}]\n"
        "endpoints: [{addresses: [10.1.2.3], hostname: primary}, {addresses: [10.1.2.4]}]\n"
    )
    cluster = DnsCluster(complete(load([str(tmp_path)])))
    names = {name for name, rtype, _ in records(cluster) if rtype == "A"}
    assert "primary.db.shop.svc.cluster.local." in names
    assert "10-1-2-4.db.shop.svc.cluster.local." in names
