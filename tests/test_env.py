"""kubelet's Service environment variables (netcompile/dns/envvars.py): table tests whose rows come from
kubelet's rules, cited as `envvars.go` (pkg/kubelet/envvars/envvars.go: FromServices, makeEnvVariableName,
makeLinkVariables) and `kubelet_pods.go` (pkg/kubelet/kubelet_pods.go: getServiceEnvVarMap,
makeEnvironmentVariables)."""

from __future__ import annotations

from pathlib import Path

import pytest

from netcompile.dns.envvars import (
    collisions,
    env_name,
    environments,
    expand_env,
    host_in,
    linked_services,
    pod_variables,
)
from netcompile.model import Objects, Pod
from netcompile.model.naming import Container, EnvVar
from netcompile.pipeline import complete, load

CLUSTER = """\
apiVersion: v1
kind: Service
metadata: {name: kubernetes, namespace: default}
spec: {clusterIP: 10.96.0.1, ports: [{name: https, port: 443, targetPort: 6443}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 10.96.0.10
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}, {name: dns-udp, port: 53, protocol: UDP}]
---
apiVersion: v1
kind: Service
metadata: {name: my-cache, namespace: shop}
spec: {clusterIP: 10.96.0.11, ports: [{port: 11211}]}
---
apiVersion: v1
kind: Service
metadata: {name: v6, namespace: shop}
spec: {ipFamilies: [IPv6], clusterIP: "fd00:96::6", ports: [{name: h, port: 8080, protocol: SCTP}]}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec: {clusterIP: None, ports: [{port: 5432}]}
---
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: shop}
spec: {type: ExternalName, externalName: example.com}
---
apiVersion: v1
kind: Service
metadata: {name: other, namespace: elsewhere}
spec: {clusterIP: 10.96.0.99, ports: [{port: 1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: shop}
spec:
  initContainers: [{name: setup, env: [{name: WEB_SERVICE_HOST, value: web.shop}]}]
  containers:
  - name: main
    env:
    - {name: MY_CACHE_PORT, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: OWN, value: x}
    envFrom: [{configMapRef: {name: settings}, prefix: APP_}]
status: {phase: Running, podIP: 10.244.0.5}
---
apiVersion: v1
kind: Pod
metadata: {name: quiet, namespace: shop}
spec: {enableServiceLinks: false, containers: [{name: c}]}
status: {phase: Running, podIP: 10.244.0.6}
---
apiVersion: v1
kind: Pod
metadata: {name: far, namespace: elsewhere}
spec: {containers: [{name: c}]}
status: {phase: Running, podIP: 10.244.0.7}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: silent, namespace: shop}
spec:
  selector: {matchLabels: {app: silent}}
  template:
    metadata: {labels: {app: silent}}
    spec:
      enableServiceLinks: false
      containers: [{name: s, image: x, env: [{name: KUBERNETES_SERVICE_HOST, value: h}]}]
"""


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> Objects:
    path = tmp_path_factory.mktemp("env") / "input.yaml"
    path.write_text(CLUSTER)
    return complete(load([str(path)]))


def pod(objects: Objects, key: str) -> Pod:
    return next(p for p in objects.pods if p.meta.key == key or p.meta.key.startswith(key + "-"))


def variables(objects: Objects, key: str) -> dict[str, str]:
    return {v.name: v.value for v in pod_variables(objects, pod(objects, key))}


# (variable, value, rule): shop/app's environment
ROWS = [
    ("WEB_SERVICE_HOST", "10.96.0.10", "envvars.go FromServices: {SVC}_SERVICE_HOST, the ClusterIP"),
    ("WEB_SERVICE_PORT", "80", "FromServices: {SVC}_SERVICE_PORT, the first port"),
    ("WEB_SERVICE_PORT_HTTP", "80", "FromServices: {SVC}_SERVICE_PORT_{NAME}, each named port"),
    ("WEB_SERVICE_PORT_DNS_UDP", "53", "makeEnvVariableName: upper case, '-' as '_'"),
    ("WEB_PORT", "tcp://10.96.0.10:80", "makeLinkVariables: {SVC}_PORT, the first port"),
    ("WEB_PORT_80_TCP", "tcp://10.96.0.10:80", "makeLinkVariables: {SVC}_PORT_{P}_{PROTO}"),
    ("WEB_PORT_80_TCP_PROTO", "tcp", "makeLinkVariables: _PROTO in lower case"),
    ("WEB_PORT_80_TCP_PORT", "80", "makeLinkVariables: _PORT"),
    ("WEB_PORT_80_TCP_ADDR", "10.96.0.10", "makeLinkVariables: _ADDR"),
    ("WEB_PORT_53_UDP", "udp://10.96.0.10:53", "makeLinkVariables: every port, its protocol"),
    ("MY_CACHE_SERVICE_HOST", "10.96.0.11", "makeEnvVariableName: my-cache"),
    ("MY_CACHE_SERVICE_PORT", "11211", "FromServices: an unnamed single port"),
    ("V6_PORT", "sctp://[fd00:96::6]:8080", "makeLinkVariables: net.JoinHostPort brackets IPv6"),
    ("V6_PORT_8080_SCTP_ADDR", "fd00:96::6", "makeLinkVariables: _ADDR without brackets"),
    ("KUBERNETES_SERVICE_HOST", "10.96.0.1", "kubelet_pods.go: default/kubernetes for every pod"),
    ("KUBERNETES_PORT_443_TCP_PORT", "443", "the Service's port, not its targetPort"),
]
# variables shop/app must not get
NOT = [
    ("MY_CACHE_SERVICE_PORT_", "FromServices: no _SERVICE_PORT_{NAME} for an unnamed port"),
    ("DB_SERVICE_HOST", "kubelet_pods.go: IsServiceIPSet: a headless Service gives none"),
    ("EXT_SERVICE_HOST", "IsServiceIPSet: an ExternalName Service gives none"),
    ("OTHER_SERVICE_HOST", "kubelet_pods.go: only the pod's namespace (and default/kubernetes)"),
    ("WEB_PORT_8080_TCP", "the Service's port, never its targetPort"),
]


@pytest.mark.parametrize(("name", "value", "rule"), ROWS, ids=[r[0] for r in ROWS])
def test_a_pods_service_variables(objects: Objects, name: str, value: str, rule: str) -> None:
    assert variables(objects, "shop/app").get(name) == value, rule


@pytest.mark.parametrize(("prefix", "rule"), NOT, ids=[r[0] for r in NOT])
def test_variables_kubelet_does_not_set(objects: Objects, prefix: str, rule: str) -> None:
    assert not [n for n in variables(objects, "shop/app") if n.startswith(prefix)], rule


def test_the_order_of_one_services_variables(objects: Objects) -> None:
    """envvars.go FromServices: host, first port, named ports, then each port's link variables."""
    names = [v.name for v in pod_variables(objects, pod(objects, "shop/app")) if v.service == "shop/web"]
    assert names == [
        "WEB_SERVICE_HOST",
        "WEB_SERVICE_PORT",
        "WEB_SERVICE_PORT_HTTP",
        "WEB_SERVICE_PORT_DNS_UDP",
        "WEB_PORT",
        "WEB_PORT_80_TCP",
        "WEB_PORT_80_TCP_PROTO",
        "WEB_PORT_80_TCP_PORT",
        "WEB_PORT_80_TCP_ADDR",
        "WEB_PORT_53_UDP",
        "WEB_PORT_53_UDP_PROTO",
        "WEB_PORT_53_UDP_PORT",
        "WEB_PORT_53_UDP_ADDR",
    ]


def test_enable_service_links_false_keeps_only_the_api_servers(objects: Objects) -> None:
    """kubelet_pods.go getServiceEnvVarMap: master services even with enableServiceLinks false."""
    assert [s.meta.key for s in linked_services(objects, pod(objects, "shop/quiet"))] == ["default/kubernetes"]
    assert [s.meta.key for s in linked_services(objects, pod(objects, "elsewhere/far"))] == [
        "default/kubernetes",
        "elsewhere/other",
    ]


def test_a_workload_template_keeps_enable_service_links_and_env(objects: Objects) -> None:
    """The simulated pod of a Deployment is its template: enableServiceLinks false, its own env."""
    silent = pod(objects, "shop/silent")
    assert not silent.naming.enable_service_links
    (env,) = environments(objects, silent)
    assert env.shadowed == {"KUBERNETES_SERVICE_HOST": "h"}


def test_what_the_container_sets_itself_shadows(objects: Objects) -> None:
    """kubelet_pods.go makeEnvironmentVariables: the container's env wins; envFrom keys may, too."""
    setup, main = environments(objects, pod(objects, "shop/app"))
    assert (setup.container.name, setup.container.init) == ("setup", True)
    assert setup.shadowed == {"WEB_SERVICE_HOST": "web.shop"}
    assert main.shadowed == {"MY_CACHE_PORT": None}  # valueFrom: known in the cluster only
    assert main.unknown_sources == ("configMap settings (prefix APP_)",)
    assert len(main.variables) == len(setup.variables)  # every container gets the same Service variables


def test_a_namespaces_own_kubernetes_service_stands_in(tmp_path: Path) -> None:
    """getServiceEnvVarMap: a Service `kubernetes` of the pod's namespace replaces default's."""
    text = CLUSTER + (
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: kubernetes, namespace: shop}\n"
        "spec: {clusterIP: 10.96.0.77, ports: [{port: 8443}]}\n"
    )
    path = tmp_path / "input.yaml"
    path.write_text(text)
    objects = complete(load([str(path)]))
    assert variables(objects, "shop/app")["KUBERNETES_SERVICE_HOST"] == "10.96.0.77"
    assert variables(objects, "shop/quiet")["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"  # links off: default's


def test_variables_several_services_set_are_collisions(tmp_path: Path) -> None:
    """Service `a` (port 80) sets A_PORT_80_TCP_PORT=80; Service `a-port-80-tcp` sets the same name
    (its {SVC}_PORT) to its own URL: the map in getServiceEnvVarMap keeps one, in Go's map order."""
    text = (
        "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: x}\n"
        "spec: {clusterIP: 10.96.1.1, ports: [{port: 80}]}\n---\n"
        "apiVersion: v1\nkind: Service\nmetadata: {name: a-port-80-tcp, namespace: x}\n"
        "spec: {clusterIP: 10.96.1.2, ports: [{port: 81}]}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: x}\nspec: {containers: [{name: c}]}\n"
    )
    path = tmp_path / "input.yaml"
    path.write_text(text)
    objects = complete(load([str(path)]))
    found = collisions(pod_variables(objects, pod(objects, "x/p")))
    assert sorted(found) == ["A_PORT_80_TCP_PORT"]
    assert {v.value for v in found["A_PORT_80_TCP_PORT"]} == {"80", "tcp://10.96.1.2:81"}


@pytest.mark.parametrize(("name", "mangled"), [("web", "WEB"), ("my-db-2", "MY_DB_2"), ("a--b", "A__B")])
def test_make_env_variable_name(name: str, mangled: str) -> None:
    assert env_name(name) == mangled  # envvars.go makeEnvVariableName


# --- $(VAR) in the container's own values, as kubelet expands them ----------------------------------------

SERVICE_VARS = {"WEB_SERVICE_HOST": "10.96.0.10", "WEB_SERVICE_PORT": "80"}
# (values declared in order A0, A1, ...: what A<last> becomes; the rule: expansion.go Expand, kubelet's mapping)
EXPANSIONS = [
    (["http://$(WEB_SERVICE_HOST):$(WEB_SERVICE_PORT)"], "http://10.96.0.10:80", "Service variables"),
    (["$$(WEB_SERVICE_HOST)"], "$(WEB_SERVICE_HOST)", "`$$` escapes the operator"),
    (["$(NOPE)"], "$(NOPE)", "an unknown reference stays as written"),
    (["x", "a$(A0"], "a$(A0", "an unclosed reference stays"),
    (["a $x $"], "a $x $", "`$` not before `(` stays, with the next character"),
    (["first", "$(A0)-2"], "first-2", "a variable declared before (own env first, then the Services')"),
    (["$(A1)-$(A2)", "b", "$(A0)"], "$(A1)-$(A2)", "a variable declared after is not yet known"),
]


@pytest.mark.parametrize(("values", "result", "rule"), EXPANSIONS, ids=[e[2] for e in EXPANSIONS])
def test_kubelet_expands_references(values: list[str], result: str, rule: str) -> None:
    container = Container("c", False, tuple(EnvVar(f"A{i}", v) for i, v in enumerate(values)))
    expanded = {name: value for name, _, value in expand_env(container, SERVICE_VARS)}
    last = f"A{len(values) - 1}"
    assert expanded.get(last, values[-1]) == result, rule  # only the values that change are listed


def test_references_only_the_cluster_can_expand() -> None:
    by_value_from = Container("c", False, (EnvVar("IP", None), EnvVar("URL", "http://$(IP)")))
    assert expand_env(by_value_from, SERVICE_VARS) == (("URL", "http://$(IP)", None),)
    with_env_from = Container("c", False, (EnvVar("URL", "$(WEB_SERVICE_HOST)"),), ("configMap x",))
    assert expand_env(with_env_from, SERVICE_VARS) == (("URL", "$(WEB_SERVICE_HOST)", None),)  # envFrom may set it


@pytest.mark.parametrize(
    ("value", "host"),
    [
        ("http://gateway", "gateway"),
        ("redis:6379", "redis"),
        ("postgres-0.postgres", "postgres-0.postgres"),
        ("https://user@api.example.net/v1", "api.example.net"),
        ("postgres", None),  # a bare word may be anything
        ("10.0.0.1:80", None),  # an address
        ("v1.2", None),
        ("app.kubernetes.io/name", None),
    ],
)
def test_the_host_a_value_names(value: str, host: str | None) -> None:
    assert host_in(value) == host
