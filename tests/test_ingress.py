"""Ingress (issue 15.6): loaded and validated as the API server validates it, every problem at once with
`file:line:col: Ingress "ns/name": field.path: message`; after completion, a notice for each backend that
leads nowhere; nothing compiled (HTTP routing is L7).

Each row of the table cites its source in kubernetes/kubernetes: pkg/apis/networking/validation/
validation.go (NET below), function by function, and the apimachinery checks it calls.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from netcompile.errors import InputError
from netcompile.model.ingress import PathType, ResourceBackend, ServiceBackend
from netcompile.pipeline import CompileOptions, compile_paths, complete, load
from tests.conftest import WriteYaml

NET = "pkg/apis/networking/validation/validation.go"
UTIL = "staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go"
PATH = "staging/src/k8s.io/apimachinery/pkg/api/validation/path/name.go IsValidPathSegmentName"

HEAD = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web, namespace: shop}\n"
BACKEND = "{service: {name: web, port: {number: 80}}}"


def ingress(spec: str, head: str = HEAD) -> str:
    return head + "spec:\n" + "".join(f"  {line}\n" for line in spec.strip("\n").split("\n"))


def path_rule(path: str, backend: str = BACKEND) -> str:
    return f"rules:\n- host: shop.example.com\n  http:\n    paths:\n    - {path.rstrip('}')}, backend: {backend}}}"


def default(backend: str, more: str = "", head: str = HEAD) -> str:
    """An Ingress with only `defaultBackend: backend` (and `more` spec lines)."""
    return ingress(f"defaultBackend: {backend}" + (f"\n{more}" if more else ""), head)


BACKEND_PATH = "spec.defaultBackend"
IP_HOST = path_rule("{path: /, pathType: Prefix}").replace("host: shop.example.com", "host: 10.0.0.1")
ANNOTATED = HEAD.replace("shop}", "shop, annotations: {kubernetes.io/ingress.class: traefik}}")
CAPITAL = HEAD.replace("name: web", "name: Web")
BOTH = "{service: {name: web, port: {number: 80}}, resource: {kind: Bucket, name: b}}"
SUBDOMAIN = "a lowercase RFC 1123 subdomain"

# (source, manifest, field path, message): one refusal each.
REFUSED: list[tuple[str, str, str, str]] = [
    (f"{NET} ValidateIngressSpec", ingress("ingressClassName: nginx"), "spec",
     "either `defaultBackend` or `rules` must be specified"),
    (f"{NET} ValidateIngressSpec", ingress("rules: []"), "spec", "Invalid value: []: either `defaultBackend`"),
    (f"{NET} validateIngressRules", ingress(IP_HOST), "spec.rules[0].host", "must be a DNS name, not an IP address"),
    (f"{NET} validateIngressRules; {UTIL} IsDNS1123Subdomain", ingress("rules:\n- host: Shop.Example.com"),
     "spec.rules[0].host", SUBDOMAIN),
    (f"{NET} validateIngressRules; {UTIL} IsWildcardDNS1123Subdomain", ingress("rules:\n- host: '*.*.example.com'"),
     "spec.rules[0].host", "a wildcard DNS-1123 subdomain must start with '*.'"),
    (f"{NET} validateIngressRules; {UTIL} IsWildcardDNS1123Subdomain", ingress("rules:\n- host: 'shop*.example.com'"),
     "spec.rules[0].host", "a wildcard DNS-1123 subdomain"),
    (f"{NET} validateHTTPIngressRuleValue", ingress("rules:\n- host: shop.example.com\n  http: {paths: []}"),
     "spec.rules[0].http.paths", "Required value"),
    (f"{NET} validateHTTPIngressPath", ingress(path_rule("{path: /}")),
     "spec.rules[0].http.paths[0].pathType", "Required value: pathType must be specified"),
    (f"{NET} validateHTTPIngressPath (supportedPathTypes, sorted)", ingress(path_rule("{path: /, pathType: Regex}")),
     "spec.rules[0].http.paths[0].pathType",
     'Unsupported value: "Regex": supported values: "Exact", "ImplementationSpecific", "Prefix"'),
    (f"{NET} validateHTTPIngressPath", ingress(path_rule("{path: api, pathType: Prefix}")),
     "spec.rules[0].http.paths[0].path", "must be an absolute path"),
    (f"{NET} validateHTTPIngressPath", ingress(path_rule("{pathType: Exact}")),
     "spec.rules[0].http.paths[0].path", 'Invalid value: "": must be an absolute path'),
    (f"{NET} validateHTTPIngressPath (invalidPathSequences)", ingress(path_rule("{path: /a//b, pathType: Prefix}")),
     "spec.rules[0].http.paths[0].path", "must not contain '//'"),
    (f"{NET} validateHTTPIngressPath (invalidPathSequences)", ingress(path_rule("{path: /a%2Fb, pathType: Exact}")),
     "spec.rules[0].http.paths[0].path", "must not contain '%2F'"),
    (f"{NET} validateHTTPIngressPath (invalidPathSuffixes)", ingress(path_rule("{path: /a/.., pathType: Prefix}")),
     "spec.rules[0].http.paths[0].path", "cannot end with '/..'"),
    (f"{NET} validateHTTPIngressPath", ingress(path_rule("{path: a, pathType: ImplementationSpecific}")),
     "spec.rules[0].http.paths[0].path", "must be an absolute path"),
    (f"{NET} validateIngressBackend", ingress(path_rule("{path: /, pathType: Prefix}", "{}")),
     "spec.rules[0].http.paths[0].backend", "resource or service backend is required"),
    (f"{NET} validateIngressBackend", default(BOTH), BACKEND_PATH, "cannot set both resource and service backends"),
    (f"{NET} validateIngressBackend", default("{service: {port: {number: 80}}}"),
     f"{BACKEND_PATH}.service.name", "Required value"),
    (f"{NET} validateIngressBackend (ValidateServiceName: DNS-1035; RelaxedServiceNameValidation is alpha, off)",
     default("{service: {name: 1web, port: {number: 80}}}"), f"{BACKEND_PATH}.service.name", "a DNS-1035 label"),
    (f"{NET} validateIngressBackend", default("{service: {name: web, port: {name: http, number: 80}}}"),
     BACKEND_PATH, "cannot set both port name & port number"),
    (f"{NET} validateIngressBackend", default("{service: {name: web}}"),
     BACKEND_PATH, "Required value: port name or number is required"),
    (f"{NET} validateIngressBackend (a number of 0 is not given)", default("{service: {name: web, port: {number: 0}}}"),
     BACKEND_PATH, "port name or number is required"),
    (f"{NET} validateIngressBackend; {UTIL} IsValidPortNum", default("{service: {name: web, port: {number: 70000}}}"),
     f"{BACKEND_PATH}.service.port.number", "must be between 1 and 65535"),
    (f"{NET} validateIngressBackend; {UTIL} IsValidPortName", default("{service: {name: web, port: {name: HTTP}}}"),
     f"{BACKEND_PATH}.service.port.name", "must contain only alpha-numeric characters"),
    (f"{NET} validateIngressTypedLocalObjectReference", default("{resource: {name: b}}"),
     f"{BACKEND_PATH}.resource.kind", "Required value"),
    (f"{NET} validateIngressTypedLocalObjectReference; {PATH}", default("{resource: {kind: Bucket, name: a/b}}"),
     f"{BACKEND_PATH}.resource.name", "may not contain '/'"),
    (f"{NET} validateIngressTypedLocalObjectReference; {PATH}", default("{resource: {kind: '..', name: b}}"),
     f"{BACKEND_PATH}.resource.kind", "may not be '..'"),
    (f"{NET} validateIngressTypedLocalObjectReference", default("{resource: {apiGroup: A.io, kind: K, name: b}}"),
     f"{BACKEND_PATH}.resource.apiGroup", SUBDOMAIN),
    (f"{NET} validateIngressTLS", default(BACKEND, "tls: [{hosts: [shop_example.com]}]"),
     "spec.tls[0].hosts[0]", SUBDOMAIN),
    (f"{NET} validateIngressTLS (validateTLSSecretName)", default(BACKEND, "tls: [{secretName: Shop-TLS}]"),
     "spec.tls[0].secretName", SUBDOMAIN),
    (f"{NET} ValidateIngressSpec (ValidateIngressClassName)", default(BACKEND, "ingressClassName: Nginx"),
     "spec.ingressClassName", SUBDOMAIN),
    (f"{NET} ValidateIngressCreate (annotationIngressClass)", default(BACKEND, "ingressClassName: nginx", ANNOTATED),
     "annotations.kubernetes.io/ingress.class", "must match `ingressClassName` when both are specified"),
    (f"{NET} validateIngress (ValidateIngressName: NameIsDNSSubdomain)", default(BACKEND, head=CAPITAL),
     "metadata.name", "RFC 1123 subdomain"),
    ("strict fields: networking.k8s.io/v1 Ingress in load/schema (tools/gen_schema.py)", default(BACKEND, "rule: []"),
     "spec.rule", 'unknown field "rule"'),
]  # fmt: skip
IDS = [f"{path}:{message[:30]}" for _, _, path, message in REFUSED]


def _problems(write_yaml: WriteYaml, text: str) -> list[str]:
    directory = write_yaml(text)
    with pytest.raises(InputError) as caught:
        load([str(directory)])
    return [str(d) for d in caught.value.diagnostics]


@pytest.mark.parametrize(("source", "manifest", "path", "message"), REFUSED, ids=IDS)
def test_refused_as_the_api_server_refuses(
    write_yaml: WriteYaml, source: str, manifest: str, path: str, message: str
) -> None:
    problems = _problems(write_yaml, manifest)
    assert source
    name = "Web" if "name: Web" in manifest else "web"
    matching = [p for p in problems if f': Ingress "shop/{name}": {path}: ' in p]
    assert any(message in p for p in matching), problems


ACCEPTED = f"""\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: shop
  annotations: {{kubernetes.io/ingress.class: nginx}}
spec:
  ingressClassName: nginx
  defaultBackend: {{resource: {{apiGroup: storage.example.com, kind: Bucket, name: static}}}}
  tls: [{{hosts: [shop.example.com, '*.shop.example.com'], secretName: shop-tls}}, {{secretName: ''}}]
  rules:
  - host: '*.shop.example.com'
    http:
      paths:
      - {{path: /api, pathType: Prefix, backend: {{service: {{name: api, port: {{name: http}}}}}}}}
      - {{path: /exact, pathType: Exact, backend: {BACKEND}}}
      - {{pathType: ImplementationSpecific, backend: {BACKEND}}}
  - host: shop.example.com
  - http: {{paths: [{{path: /, pathType: Prefix, backend: {BACKEND}}}]}}
"""


def test_accepted_and_read(write_yaml: WriteYaml) -> None:
    """Wildcard hosts, every pathType (ImplementationSpecific without a path), port by name and number, a
    resource backend, a rule without http, TLS with an empty secretName (validateTLSSecretName skips it),
    the annotation equal to ingressClassName."""
    objects = load([str(write_yaml(ACCEPTED))])
    (ing,) = objects.ingresses
    assert ing.ingress_class_name == "nginx"
    assert ing.default_backend is not None
    assert ing.default_backend.resource == ResourceBackend("storage.example.com", "Bucket", "static")
    assert [r.host for r in ing.rules] == ["*.shop.example.com", "shop.example.com", None]
    paths = ing.rules[0].paths
    assert [(p.path, p.path_type) for p in paths] == [
        ("/api", PathType.PREFIX),
        ("/exact", PathType.EXACT),
        ("", PathType.IMPLEMENTATION_SPECIFIC),
    ]
    assert [p.backend.service for p in paths] == [ServiceBackend("api", "http"), *[ServiceBackend("web", 80)] * 2]
    assert [b.path for b in ing.backends()] == [
        "spec.defaultBackend",
        "spec.rules[0].http.paths[0].backend",
        "spec.rules[0].http.paths[1].backend",
        "spec.rules[0].http.paths[2].backend",
        "spec.rules[2].http.paths[0].backend",
    ]
    assert [(t.hosts, t.secret_name) for t in ing.tls] == [
        (("shop.example.com", "*.shop.example.com"), "shop-tls"),
        ((), None),
    ]


def test_every_problem_at_once_with_positions(write_yaml: WriteYaml) -> None:
    """Several wrong fields of one Ingress and of another: all reported, each at its line and column."""
    text = ingress(path_rule("{path: a, pathType: Prefix}", "{service: {name: web}}")) + "---\n"
    text += ingress("tls: [{secretName: X}]", head=HEAD.replace("name: web", "name: other"))
    problems = _problems(write_yaml, text)
    directory = str(write_yaml(text))
    assert [p.removeprefix(directory + "/") for p in problems] == [
        'input.yaml:9:16: Ingress "shop/web": spec.rules[0].http.paths[0].path: Invalid value: "a": must be an '
        "absolute path",
        'input.yaml:9:46: Ingress "shop/web": spec.rules[0].http.paths[0].backend: Required value: port name or number '
        "is required",
        'input.yaml:15:3: Ingress "shop/other": spec: Invalid value: null: either `defaultBackend` or `rules` must be '
        "specified",
        'input.yaml:15:22: Ingress "shop/other": spec.tls[0].secretName: Invalid value: "X": a lowercase RFC 1123 '
        "subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an "
        "alphanumeric character (e.g. 'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    ]


# --- after completion: backends that lead nowhere ---------------------------------------------------------

CLUSTER = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}, {name: admin, port: 81, targetPort: admin}]
---
apiVersion: v1
kind: Service
metadata: {name: idle, namespace: shop}
spec:
  selector: {app: nothing}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: elsewhere, namespace: shop}
spec: {type: ExternalName, externalName: shop.example.net}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  defaultBackend: {resource: {kind: Bucket, name: static}}
  rules:
  - http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
      - {path: /n, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
      - {path: /a, pathType: Prefix, backend: {service: {name: web, port: {number: 8080}}}}
      - {path: /b, pathType: Prefix, backend: {service: {name: web, port: {name: metrics}}}}
      - {path: /c, pathType: Prefix, backend: {service: {name: gone, port: {number: 80}}}}
      - {path: /d, pathType: Prefix, backend: {service: {name: idle, port: {number: 80}}}}
      - {path: /e, pathType: Prefix, backend: {service: {name: web, port: {name: admin}}}}
      - {path: /f, pathType: Exact, backend: {service: {name: elsewhere, port: {number: 443}}}}
"""


def _ingress_notices(directory: Path) -> list[str]:
    return [n.removeprefix(str(directory) + "/") for n in complete(load([str(directory)])).notices if "Ingress" in n]


def test_backends_that_lead_nowhere_get_a_notice(write_yaml: WriteYaml) -> None:
    """A missing Service, a port it lacks (by number: its port, not the targetPort; by name), a Service
    without endpoints, a port whose named targetPort no pod has: one notice each, at the backend. Resource
    and ExternalName backends, and those that lead somewhere, get none."""
    notices = _ingress_notices(write_yaml(CLUSTER))
    assert notices == [
        'input.yaml:39:47: Ingress "shop/web": spec.rules[0].http.paths[2].backend: Service "shop/web" has no port '
        "8080 (its ports: http, admin): the backend leads nowhere",
        'input.yaml:40:47: Ingress "shop/web": spec.rules[0].http.paths[3].backend: Service "shop/web" has no port '
        '"metrics" (its ports: http, admin): the backend leads nowhere',
        'input.yaml:41:47: Ingress "shop/web": spec.rules[0].http.paths[4].backend: no Service "shop/gone": the '
        "backend leads nowhere",
        'input.yaml:42:47: Ingress "shop/web": spec.rules[0].http.paths[5].backend: Service "shop/idle" has no ready '
        "endpoint for port 80: the backend leads nowhere",
        'input.yaml:43:47: Ingress "shop/web": spec.rules[0].http.paths[6].backend: Service "shop/web" has no ready '
        'endpoint for port "admin": the backend leads nowhere',
    ]


def test_completion_is_idempotent_with_ingresses(write_yaml: WriteYaml) -> None:
    once = complete(load([str(write_yaml(CLUSTER))]))
    assert complete(once).notices == once.notices


def test_nothing_is_compiled_from_an_ingress(write_yaml: WriteYaml) -> None:
    """HTTP routing is L7: the ruleset is the same with and without the Ingress."""
    directory = write_yaml(CLUSTER, "with.yaml")
    write_yaml(CLUSTER[: CLUSTER.index("---\napiVersion: networking.k8s.io/v1")], "without.yaml")
    with_ingress = compile_paths([str(directory / "with.yaml")], CompileOptions())[1].text
    assert with_ingress == compile_paths([str(directory / "without.yaml")], CompileOptions())[1].text
