"""The simulated cluster (complete/cluster.py): manifests kept in Git become the cluster their controllers
and API server would make, deterministically; snapshots of a running cluster pass through unchanged."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest

from netcompile.complete import CompleteOptions, complete
from netcompile.complete.endpointslices import complete_endpoint_slices
from netcompile.errors import InputError
from netcompile.load.manifests import load
from netcompile.model import Objects, Pod, Service
from tests.conftest import WriteYaml

GOLDEN = Path(__file__).parent.parent / "golden"

APP = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: web:1, ports: [{name: http, containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: pg, ports: [{name: pg, containerPort: 5432}]}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: shop}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: report}}
        spec: {restartPolicy: OnFailure, containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: shop}
spec: {containers: [{name: c, image: busybox}]}
"""

DAEMON_SET = """
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      nodeSelector: {role: worker}
      containers: [{name: c, image: x, ports: [{containerPort: 9100}]}]
"""


def simulated(write_yaml: WriteYaml, text: str, options: CompleteOptions | None = None) -> Objects:
    return complete(load([str(write_yaml(text))]), options or CompleteOptions())


def pods_by_name(objects: Objects) -> dict[str, Pod]:
    return {p.meta.name: p for p in objects.pods}


def test_workloads_become_pods_as_their_controllers_make_them(write_yaml: WriteYaml) -> None:
    objects = simulated(write_yaml, APP)
    (node,) = objects.nodes
    assert node.meta.name == "kind-worker" and node.pod_cidrs == (ip_network("10.244.0.0/24"),)
    assert [str(a.address) for a in node.addresses] == ["172.18.0.2"]
    pods = pods_by_name(objects)
    web = [p for p in pods.values() if p.meta.label_dict().get("app") == "web"]
    assert len(web) == 3
    hash_ = web[0].meta.label_dict()["pod-template-hash"]
    assert all(p.meta.name.startswith(f"web-{hash_}-") and len(p.meta.name) == len(f"web-{hash_}-") + 5 for p in web)
    assert {p.owners[0].kind for p in web} == {"ReplicaSet"} and web[0].owners[0].name == f"web-{hash_}"
    db0 = pods["db-0"]
    assert db0.meta.label_dict() == {
        "app": "db",
        "statefulset.kubernetes.io/pod-name": "db-0",
        "apps.kubernetes.io/pod-index": "0",
        "controller-revision-hash": db0.meta.label_dict()["controller-revision-hash"],
    }
    assert "db-1" in pods and "db-2" not in pods
    (job_pod,) = [p for p in pods.values() if p.meta.label_dict().get("app") == "report"]
    job = job_pod.meta.label_dict()["batch.kubernetes.io/job-name"]
    assert job.startswith("report-") and job_pod.meta.label_dict()["job-name"] == job
    assert job_pod.meta.name.startswith(f"{job}-")
    debug = pods["debug"]
    for pod in pods.values():
        assert pod.running and pod.ready and pod.node_name == "kind-worker"
        assert len(pod.ips) == 1 and pod.ips[0] in ip_network("10.244.0.0/24")
        assert pod.ips[0] not in (ip_address("10.244.0.0"), ip_address("10.244.0.1"), ip_address("10.244.0.255"))
    assert len({p.ips for p in pods.values()}) == len(pods)
    assert debug.owners == ()


def test_services_get_addresses_ports_and_endpoints(write_yaml: WriteYaml) -> None:
    objects = simulated(write_yaml, APP)
    (service,) = objects.services
    (ip,) = service.cluster_ips
    assert ip in ip_network("10.96.0.0/12") and ip != ip_address("10.96.0.1")
    (port,) = service.ports
    assert port.node_port is not None and 30000 <= port.node_port <= 32767
    (eps,) = objects.endpoint_slices
    web_ips = {p.ips for p in objects.pods if p.meta.label_dict().get("app") == "web"}
    assert {e.addresses for e in eps.endpoints} == web_ips
    assert [(p.name, p.port) for p in eps.ports] == [("http", 8080)]  # the named target port, per pod


def test_the_same_input_gives_the_same_cluster_and_completing_twice_adds_nothing(write_yaml: WriteYaml) -> None:
    once = simulated(write_yaml, APP)
    assert simulated(write_yaml, APP) == once
    again = complete(once)
    assert again.pods == once.pods and again.services == once.services and again.nodes == once.nodes
    assert again.endpoint_slices == once.endpoint_slices


def test_replicas_zero_and_default(write_yaml: WriteYaml) -> None:
    zero = APP.replace("replicas: 3", "replicas: 0").replace("replicas: 2", "")
    pods = pods_by_name(simulated(write_yaml, zero))
    assert not [n for n in pods if n.startswith("web-")]
    assert [n for n in pods if n.startswith("db-")] == ["db-0"]


def test_one_daemon_set_pod_per_matching_node(write_yaml: WriteYaml) -> None:
    nodes = "".join(
        f"""
---
apiVersion: v1
kind: Node
metadata: {{name: n{i}, labels: {{role: {role}}}}}
spec: {{podCIDR: 10.244.{i}.0/24}}
status: {{addresses: [{{type: InternalIP, address: 192.168.0.{i + 10}}}]}}
"""
        for i, role in enumerate(["worker", "worker", "control-plane"])
    )
    objects = simulated(write_yaml, DAEMON_SET + nodes)
    agents = sorted(objects.pods, key=lambda p: p.node_name or "")
    assert [p.node_name for p in agents] == ["n0", "n1"]
    cidrs = {n.meta.name: n.pod_cidrs[0] for n in objects.nodes}
    assert all(p.ips[0] in cidrs[p.node_name or ""] for p in agents)
    assert agents[0].meta.name != agents[1].meta.name and all(p.meta.name.startswith("agent-") for p in agents)


def test_synthetic_nodes_and_spreading(write_yaml: WriteYaml) -> None:
    objects = simulated(write_yaml, APP.replace("replicas: 3", "replicas: 30"), CompleteOptions(nodes=3))
    assert [n.meta.name for n in objects.nodes] == ["kind-worker", "kind-worker2", "kind-worker3"]
    assert [str(n.addresses[0].address) for n in objects.nodes] == ["172.18.0.2", "172.18.0.3", "172.18.0.4"]
    assert [str(n.pod_cidrs[0]) for n in objects.nodes] == ["10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"]
    cidrs = {n.meta.name: n.pod_cidrs[0] for n in objects.nodes}
    used = {p.node_name for p in objects.pods}
    assert used == set(cidrs)
    assert all(p.ips[0] in cidrs[p.node_name or ""] for p in objects.pods)


def test_a_dump_does_not_count_pods_twice(write_yaml: WriteYaml) -> None:
    """`kubectl get all -o yaml`: pods owned by the Deployment's ReplicaSet (in the input or not) and by a
    StatefulSet stand for their workloads."""
    dump = (
        APP
        + """
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5c7f9-abcde
  namespace: shop
  labels: {app: web, pod-template-hash: 5c7f9}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5c7f9, uid: u1, controller: true}]
spec: {nodeName: kind-worker, containers: [{name: web, image: web:1, ports: [{name: http, containerPort: 8080}]}]}
status: {phase: Running, podIP: 10.244.0.9}
---
apiVersion: v1
kind: Pod
metadata:
  name: db-0
  namespace: shop
  labels: {app: db}
  ownerReferences: [{apiVersion: apps/v1, kind: StatefulSet, name: db, uid: u2, controller: true}]
spec: {nodeName: kind-worker, containers: [{name: db, image: pg}]}
status: {phase: Running, podIP: 10.244.0.10}
"""
    )
    pods = pods_by_name(simulated(write_yaml, dump))
    assert [n for n in pods if n.startswith(("web-", "db-"))] == ["web-5c7f9-abcde", "db-0"]
    assert pods["web-5c7f9-abcde"].ips == (ip_address("10.244.0.9"),)


def test_values_given_win(write_yaml: WriteYaml) -> None:
    text = (
        APP
        + "\n---\n"
        + APP.split("---")[1]
        .replace("name: web,", "name: web2,")
        .replace("type: NodePort", "type: NodePort\n  clusterIP: 10.96.0.10")
        .replace("port: 80,", "port: 80, nodePort: 30080,")
    )
    objects = simulated(write_yaml, text)
    given = next(s for s in objects.services if s.meta.name == "web2")
    assert given.cluster_ips == (ip_address("10.96.0.10"),) and given.ports[0].node_port == 30080
    other = next(s for s in objects.services if s.meta.name == "web")
    assert other.cluster_ips != given.cluster_ips and other.ports[0].node_port != 30080


def test_ip_families_as_asked(write_yaml: WriteYaml) -> None:
    text = """
apiVersion: v1
kind: Service
metadata: {name: v6}
spec: {ipFamilies: [IPv6], ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: dual}
spec: {ipFamilyPolicy: PreferDualStack, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: v4}
spec: {ports: [{port: 80}]}
"""
    v6, dual, v4 = simulated(write_yaml, text).services
    assert [a.version for a in v6.cluster_ips] == [6] and v6.cluster_ips[0] in ip_network("fd00:10:96::/112")
    assert [a.version for a in dual.cluster_ips] == [4, 6]
    assert [a.version for a in v4.cluster_ips] == [4]


def test_undeclared_namespaces_exist_implicitly_with_a_notice(write_yaml: WriteYaml) -> None:
    objects = simulated(write_yaml, "apiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n---\n" + APP)
    assert [(n.meta.name, n.meta.labels) for n in objects.namespaces] == [
        ("other", (("kubernetes.io/metadata.name", "other"),)),
        ("shop", (("kubernetes.io/metadata.name", "shop"),)),
    ]
    assert [n for n in objects.notices if n.startswith("Namespace")] == [
        'Namespace "shop": not in the input: it exists implicitly (kubernetes.io/metadata.name only)'
    ]


SNAPSHOT_CASES = (
    "basic-clusterip",
    "basic-dns-only-services",
    "basic-endpointslices",
    "basic-hostile-names",
    "basic-kubectl-list",
    "basic-legacy-endpoints",
    "basic-multiport-protocols",
    "basic-named-targetport",
    "basic-no-endpoints",
    "basic-node-selection",
    "policy-default-deny",
    "policy-isolation",
    "policy-named-ports",
    "policy-node-hostnetwork",
    "policy-peers-ipblock",
    "policy-peers-selectors",
    "policy-ports",
    "policy-services",
    "policy-types",
    "policy-union",
    "svc-affinity",
    "svc-clusterip-ports",
    "svc-collisions",
    "svc-dns-only",
    "svc-dual-stack",
    "svc-endpoint-conditions",
    "svc-etp-local",
    "svc-external-ips",
    "svc-hairpin",
    "svc-hostile-names",
    "svc-itp-local",
    "svc-loadbalancer",
    "svc-no-endpoints",
    "svc-nodeport",
    "svc-nodeport-addresses",
    "svc-topology",
)


@pytest.mark.parametrize("case", SNAPSHOT_CASES)
def test_snapshots_pass_through_unchanged(case: str) -> None:
    """The golden cases from before issue 15 are snapshots: completing them only adds EndpointSlices."""
    objects = load([str(GOLDEN / case)])
    assert complete(objects) == complete_endpoint_slices(objects)


def test_simulation_can_be_forced_or_refused(write_yaml: WriteYaml) -> None:
    objects = load([str(write_yaml(APP))])
    assert complete(objects, CompleteOptions(simulate=False)) == complete_endpoint_slices(objects)
    assert complete(objects, CompleteOptions(simulate=True)) == complete(objects)


def test_generated_names_are_unique(write_yaml: WriteYaml) -> None:
    """A bare Pod that has the name a ReplicaSet's pod would get: the controller picks another suffix."""
    first = next(p for p in simulated(write_yaml, APP).pods if p.meta.name.startswith("web-"))
    clash = f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {first.meta.name}, namespace: shop}}\n"
    clash += "spec: {containers: [{name: c, image: x}]}\n"
    names = [p.meta.name for p in simulated(write_yaml, APP + clash).pods]
    assert len(names) == len(set(names)) and names.count(first.meta.name) == 1
    assert len([n for n in names if n.startswith(first.meta.name[:-5])]) == 3 + 1


def test_stateful_set_ordinals_start_and_a_node_without_pod_cidr(write_yaml: WriteYaml) -> None:
    text = APP.replace("  serviceName: db\n", "  serviceName: db\n  ordinals: {start: 5}\n")
    text += "---\napiVersion: v1\nkind: Node\nmetadata: {name: bare}\n"
    objects = simulated(write_yaml, text)
    pods = pods_by_name(objects)
    assert "db-5" in pods and "db-6" in pods and "db-0" not in pods
    assert pods["db-6"].meta.label_dict()["apps.kubernetes.io/pod-index"] == "6"
    assert pods["db-5"].node_name == "bare" and pods["db-5"].ips == ()
    assert 'Node "bare": no spec.podCIDR(s): the pods netcompile places on it get no address' in objects.notices


def test_a_pod_of_the_input_keeps_its_name_from_a_stateful_set(write_yaml: WriteYaml) -> None:
    text = APP + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: db-0, namespace: shop, labels: {app: db}}\n"
    text += (
        "spec: {nodeName: kind-worker, containers: [{name: c, image: x}]}\nstatus: {phase: Running, podIP: 10.1.2.3}\n"
    )
    objects = simulated(write_yaml, text)
    (db0,) = [p for p in objects.pods if p.meta.name == "db-0"]
    assert db0.ips == (ip_address("10.1.2.3"),) and "db-1" in pods_by_name(objects)
    assert 'Pod "shop/db-0": in the input already, not owned by its workload: kept as is' in objects.notices


# --- LoadBalancer Services: ingress IPs from the load-balancer pool ------------------------------------------

LOAD_BALANCERS = """
apiVersion: v1
kind: Service
metadata: {name: front, namespace: shop}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 443, targetPort: 8443}]}
---
apiVersion: v1
kind: Service
metadata: {name: given, namespace: shop}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
status: {loadBalancer: {ingress: [{ip: 172.18.255.1}]}}
---
apiVersion: v1
kind: Service
metadata: {name: v6, namespace: shop}
spec: {type: LoadBalancer, ipFamilies: [IPv6], selector: {app: web}, ports: [{port: 80}]}
"""


def services_by_name(objects: Objects) -> dict[str, Service]:
    return {s.meta.name: s for s in objects.services}


def completed_with(write_yaml: WriteYaml, text: str, options: CompleteOptions, **changes: dict[str, object]) -> Objects:
    """Completed after changing fields of some Services (by name) that the loader does not read yet."""
    objects = load([str(write_yaml(text))])
    services = tuple(replace(s, **changes.get(s.meta.name, {})) for s in objects.services)  # type: ignore[arg-type]
    return complete(replace(objects, services=services), options)


def test_load_balancers_get_an_ingress_ip_from_the_pool(write_yaml: WriteYaml) -> None:
    objects = simulated(write_yaml, LOAD_BALANCERS, CompleteOptions(simulate=True))
    services = services_by_name(objects)
    (front,) = [i.ip for i in services["front"].load_balancer_ingress]
    assert front in ip_network("172.18.255.0/24") and front not in map(ip_address, ["172.18.255.0", "172.18.255.255"])
    assert front != ip_address("172.18.255.1")  # given to "given", never handed out again
    assert [i.ip for i in services["given"].load_balancer_ingress] == [ip_address("172.18.255.1")]
    assert services["v6"].load_balancer_ingress == ()
    assert any(n.startswith('Service "shop/v6": LoadBalancer without an ingress IP') for n in objects.notices)
    assert objects == simulated(write_yaml, LOAD_BALANCERS, CompleteOptions(simulate=True))  # deterministic
    pools = (ip_network("192.0.2.0/29"), ip_network("2001:db8::/120"))
    objects = simulated(write_yaml, LOAD_BALANCERS, CompleteOptions(simulate=True, load_balancer_cidrs=pools))
    services = services_by_name(objects)
    assert services["front"].load_balancer_ingress[0].ip in ip_network("192.0.2.0/29")
    assert services["v6"].load_balancer_ingress[0].ip in ip_network("2001:db8::/120")


def test_a_full_pool_and_two_pools_of_one_family(write_yaml: WriteYaml) -> None:
    """A /30 has two addresses to hand out (not its network and broadcast ones); a second pool adds its own."""
    text = LOAD_BALANCERS.split("---")[0] + "".join(
        f"---\n{LOAD_BALANCERS.split('---')[0].replace('name: front', f'name: lb{i}')}" for i in range(3)
    )
    one = CompleteOptions(simulate=True, load_balancer_cidrs=(ip_network("192.0.2.0/30"),))
    got = [s.load_balancer_ingress for s in simulated(write_yaml, text, one).services]
    assert sorted(str(i[0].ip) for i in got if i) == ["192.0.2.1", "192.0.2.2"]
    two = CompleteOptions(simulate=True, load_balancer_cidrs=(ip_network("192.0.2.0/30"), ip_network("192.0.2.8/32")))
    got = [s.load_balancer_ingress for s in simulated(write_yaml, text, two).services]
    assert sorted(str(i[0].ip) for i in got if i) == ["192.0.2.1", "192.0.2.2", "192.0.2.8"]
    with pytest.raises(ValueError, match="overlap"):
        CompleteOptions(load_balancer_cidrs=(ip_network("192.0.2.0/24"), ip_network("192.0.2.128/25")))


def test_load_balancer_ip_asked_and_node_ports_not_allocated(write_yaml: WriteYaml) -> None:
    asked = ip_address("192.0.2.1")
    options = CompleteOptions(simulate=True, load_balancer_cidrs=(ip_network("192.0.2.0/30"),))
    objects = completed_with(
        write_yaml,
        LOAD_BALANCERS,
        options,
        given={"load_balancer_ingress": ()},  # pending: asks for the pool's other address
        front={"load_balancer_ip": asked, "allocate_load_balancer_node_ports": False},
    )
    services = services_by_name(objects)
    assert [i.ip for i in services["front"].load_balancer_ingress] == [asked]
    assert [i.ip for i in services["given"].load_balancer_ingress] == [ip_address("192.0.2.2")]
    assert [p.node_port for p in services["front"].ports] == [None]
    assert services["given"].ports[0].node_port is not None


def test_load_balancer_ip_and_node_port_allocation_read_from_the_manifest(write_yaml: WriteYaml) -> None:
    """spec.loadBalancerIP and spec.allocateLoadBalancerNodePorts, as written, reach the simulation."""
    text = LOAD_BALANCERS.replace(
        "spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 443, targetPort: 8443}]}",
        "spec: {type: LoadBalancer, loadBalancerIP: 172.18.255.77, allocateLoadBalancerNodePorts: false,\n"
        "  selector: {app: web}, ports: [{port: 443, targetPort: 8443}]}",
    )
    services = services_by_name(complete(load([str(write_yaml(text))]), CompleteOptions(simulate=True)))
    assert [i.ip for i in services["front"].load_balancer_ingress] == [ip_address("172.18.255.77")]
    assert [p.node_port for p in services["front"].ports] == [None]
    assert services["given"].ports[0].node_port is not None  # the default: allocated
    with pytest.raises(InputError) as caught:
        load([str(write_yaml(text.replace("172.18.255.77", "not-an-ip")))])
    assert "spec.loadBalancerIP: Invalid value" in str(caught.value.diagnostics[0])


def test_a_snapshot_with_a_pending_load_balancer_passes_through(write_yaml: WriteYaml) -> None:
    """Allocated clusterIP, no nodePorts (allocateLoadBalancerNodePorts: false), no ingress: nothing to simulate."""
    text = LOAD_BALANCERS.split("---")[0].replace("spec: {", "spec: {clusterIP: 10.96.5.5, ")
    objects = load([str(write_yaml(text))])
    objects = replace(
        objects, services=tuple(replace(s, allocate_load_balancer_node_ports=False) for s in objects.services)
    )
    assert complete(objects) == complete_endpoint_slices(objects)


# --- a given clusterIP outside the service range ------------------------------------------------------------

OUTSIDE = APP + "---\napiVersion: v1\nkind: Service\nmetadata: {name: old, namespace: shop}\n"
OUTSIDE += "spec: {clusterIP: 10.0.0.10, selector: {app: web}, ports: [{port: 80}]}\n"
OUTSIDE_MESSAGE = (
    'spec.clusterIPs: Invalid value: ["10.0.0.10"]: failed to allocate IP 10.0.0.10: the provided IP (10.0.0.10) '
    "is not in the valid range. The range of valid IPs is 10.96.0.0/12"
)


def test_a_cluster_ip_outside_the_default_range_is_a_notice(write_yaml: WriteYaml) -> None:
    """Without --service-cidr the range is netcompile's guess: the input may come from another cluster."""
    objects = simulated(write_yaml, OUTSIDE)
    assert services_by_name(objects)["old"].cluster_ips == (ip_address("10.0.0.10"),)
    assert any(n.startswith(f'Service "shop/old": {OUTSIDE_MESSAGE} (the API server') for n in objects.notices)


def test_a_cluster_ip_outside_the_configured_range_is_an_error(write_yaml: WriteYaml) -> None:
    """With --service-cidr, as the API server: it refuses the Service."""
    options = CompleteOptions(service_cidrs=(ip_network("10.96.0.0/12"),), service_cidrs_configured=True)
    with pytest.raises(InputError) as caught:
        simulated(write_yaml, OUTSIDE, options)
    (diagnostic,) = caught.value.diagnostics
    assert str(diagnostic).endswith(f': Service "shop/old": {OUTSIDE_MESSAGE}')
    assert diagnostic.position is not None and diagnostic.position.line > 1
    v6 = OUTSIDE.replace("clusterIP: 10.0.0.10", "clusterIP: fd00::10")
    with pytest.raises(InputError, match="failed to allocate IP fd00::10: IPv6 is not configured on this cluster"):
        simulated(write_yaml, v6, options)
    inside = OUTSIDE.replace("clusterIP: 10.0.0.10", "clusterIP: 10.96.0.10")
    assert services_by_name(simulated(write_yaml, inside, options))["old"].cluster_ips == (ip_address("10.96.0.10"),)
