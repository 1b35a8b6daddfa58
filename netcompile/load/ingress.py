"""Ingress (`networking.k8s.io/v1`): read and validated as the API server validates it on create.

The rules follow `pkg/apis/networking/validation/validation.go` (ValidateIngressCreate,
ValidateIngressSpec, validateIngressRules, validateHTTPIngressPath, validateIngressBackend,
validateIngressTLS), messages and field paths included:

- the name is a DNS-1123 subdomain (ValidateIngressName); `rules` or `defaultBackend` is required;
- a rule's `host` is a DNS-1123 subdomain, or a wildcard one (`*.example.com`, IsWildcardDNS1123Subdomain),
  never an IP address; a rule with `http` needs `paths`;
- a path needs `pathType` (v1 has no default; then its backend is not checked, as upstream returns
  early): `Exact` and `Prefix` take an absolute path without `//`, `/./`, `/../`, `%2f`, `%2F` and not
  ending in `/..` or `/.`; `ImplementationSpecific` an absolute path or none;
- a backend is a Service or a resource, not both: the Service's name a DNS-1035 label (ValidateServiceName;
  the RelaxedServiceNameValidation gate is alpha, off by default), its port a name (IANA_SVC_NAME) or a
  number (1-65535), not both and not neither; a resource's kind and name path segments
  (IsPathSegmentName), its apiGroup a DNS-1123 subdomain;
- TLS hosts as rule hosts (wildcards allowed, IPs not refused), `secretName` a DNS-1123 subdomain;
- `ingressClassName` a DNS-1123 subdomain; the `kubernetes.io/ingress.class` annotation, when both are
  set, must match it (at the path upstream reports: `annotations.kubernetes.io/ingress.class`).

Nothing here is compiled (HTTP routing is L7); complete/ingress.py checks the backends against the
completed cluster.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..errors import invalid, required, unsupported
from ..model.ingress import (
    HTTPIngressPath,
    Ingress,
    IngressBackend,
    IngressRule,
    IngressTLS,
    PathType,
    ResourceBackend,
    ServiceBackend,
)
from .documents import YMap
from .parse_common import ParseOptions, meta_field
from .source import RawObject
from .validation import Field, dns1035_label, dns1123_subdomain, parse_ip, port_name, port_number

PATH_TYPES = tuple(sorted(t.value for t in PathType))  # supportedPathTypes.List(): sorted
INVALID_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
INVALID_PATH_SUFFIXES = ("/..", "/.")
INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"

_DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_WILDCARD = f"\\*\\.{_DNS1123_LABEL}(\\.{_DNS1123_LABEL})*"
_WILDCARD_RE = re.compile(_WILDCARD)


def wildcard_dns1123_subdomain(value: str) -> str | None:
    """IsWildcardDNS1123Subdomain: `*.` and a DNS-1123 subdomain; None when valid."""
    if len(value) > 253:
        return "must be no more than 253 characters"
    if not _WILDCARD_RE.fullmatch(value):
        return (
            "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must "
            "consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character "
            f"(e.g. '*.example.com', regex used for validation is '{_WILDCARD}')"
        )
    return None


def path_segment_name(value: str) -> str | None:
    """IsPathSegmentName (apimachinery/pkg/api/validation/path): what may name an object in a URL path."""
    if value in (".", ".."):
        return f"may not be '{value}'"
    for illegal in ("/", "%"):
        if illegal in value:
            return f"may not contain '{illegal}'"
    return None


def _host(f: Field, *, ip_refused: bool) -> str | None:
    """A rule's host (`ip_refused`) or a TLS host: a DNS-1123 subdomain, or a wildcard one."""
    host = f.string()
    if host is None:
        return None
    before = f.report.count
    if ip_refused and parse_ip(host) is not None:
        f.error(invalid(host, "must be a DNS name, not an IP address"))
    problem = wildcard_dns1123_subdomain(host) if "*" in host else dns1123_subdomain(host)
    if problem:
        f.error(invalid(host, problem))
    return host if f.report.count == before else None


def _checked(f: Field, check: Callable[[str], str | None], *, empty_ok: bool = False) -> str | None:
    """An optional string checked by `check` (None when valid). Given as "", it is checked too (a pointer to
    the empty string, upstream), unless `empty_ok` (validateTLSSecretName skips it)."""
    if f.value is None or (empty_ok and f.value == ""):
        return None
    value = "" if f.value == "" else f.string()
    if value is None:  # not a string: reported
        return None
    problem = check(value)
    if problem:
        f.error(invalid(value, problem))
        return None
    return value


def _backend(f: Field) -> IngressBackend | None:
    """validateIngressBackend."""
    if not f.present:  # a path's backend is a struct, not a pointer: absent is empty
        f.error(invalid("", "resource or service backend is required"))
        return None
    if not f.is_map():
        return None
    resource_f, service_f = f.child("resource"), f.child("service")
    if resource_f.present and service_f.present:
        f.error(invalid("", "cannot set both resource and service backends"))
        return None
    before = f.report.count
    if resource_f.present:
        resource = _resource(resource_f)
        if resource is None or f.report.count != before:
            return None
        return IngressBackend(None, resource, f.path, f.position)
    if not service_f.present:
        f.error(invalid("", "resource or service backend is required"))
        return None
    if not service_f.is_map():
        return None
    name_f = service_f.child("name")
    name = name_f.string()
    if name is None:
        name_f.error(required())
    elif problem := dns1035_label(name):
        name_f.error(invalid(name, problem))
    port_f = service_f.child("port")
    port: int | str | None = None
    both = False
    if port_f.is_map():
        port_name_f, number_f = port_f.child("name"), port_f.child("number")
        given_name = port_name_f.string()
        number = number_f.integer()
        if given_name and number:  # a number of 0 is the zero value: not given
            both = True
            f.error(invalid("", "cannot set both port name & port number"))
        elif given_name:
            if problem := port_name(given_name):
                port_name_f.error(invalid(given_name, problem))
            port = given_name
        elif number:
            if problem := port_number(number):
                number_f.error(invalid(number, problem))
            port = number
    if port is None and not both and (not port_f.present or isinstance(port_f.value, YMap)):
        f.error(required("port name or number is required"))
    if name is None or port is None or f.report.count != before:
        return None
    return IngressBackend(ServiceBackend(name, port), None, f.path, f.position)


def _resource(f: Field) -> ResourceBackend | None:
    """validateIngressTypedLocalObjectReference."""
    if not f.is_map():
        return None
    api_group = _checked(f.child("apiGroup"), dns1123_subdomain)
    out: list[str] = []
    for key in ("kind", "name"):
        child = f.child(key)
        value = child.string()
        if value is None:
            child.error(required())
        elif problem := path_segment_name(value):
            child.error(invalid(value, problem))
        else:
            out.append(value)
    return ResourceBackend(api_group, out[0], out[1]) if len(out) == 2 else None


def _http_path(f: Field) -> HTTPIngressPath | None:
    """validateHTTPIngressPath."""
    if not f.is_map():
        return None
    type_f, path_f = f.child("pathType"), f.child("path")
    if not type_f.present:
        type_f.error(required("pathType must be specified"))
        return None
    before = f.report.count
    path = path_f.string() or ""
    path_type = "" if type_f.value == "" else type_f.string()
    if path_type in (PathType.EXACT, PathType.PREFIX):
        if not path.startswith("/"):
            path_f.error(invalid(path, "must be an absolute path"))
        if path:
            for sequence in INVALID_PATH_SEQUENCES:
                if sequence in path:
                    path_f.error(invalid(path, f"must not contain '{sequence}'"))
            for suffix in INVALID_PATH_SUFFIXES:
                if path.endswith(suffix):
                    path_f.error(invalid(path, f"cannot end with '{suffix}'"))
    elif path_type == PathType.IMPLEMENTATION_SPECIFIC:
        if path and not path.startswith("/"):
            path_f.error(invalid(path, "must be an absolute path"))
    elif path_type is not None:
        type_f.error(unsupported(path_type, PATH_TYPES))
    backend = _backend(f.child("backend"))
    if path_type is None or backend is None or f.report.count != before:
        return None
    return HTTPIngressPath(path, PathType(path_type), backend)


def _rule(f: Field) -> IngressRule | None:
    """validateIngressRules, one rule, and validateHTTPIngressRuleValue."""
    if not f.is_map():
        return None
    before = f.report.count
    host = _host(f.child("host"), ip_refused=True)
    http = f.child("http")
    paths: list[HTTPIngressPath] = []
    if http.is_map():
        paths_f = http.child("paths")
        if paths_f.value is None or paths_f.value == []:
            paths_f.error(required())
        for item in paths_f.object_items():
            path = _http_path(item)
            if path is not None:
                paths.append(path)
    return IngressRule(host, tuple(paths)) if f.report.count == before else None


def _tls(f: Field) -> IngressTLS | None:
    """validateIngressTLS, one entry."""
    if not f.is_map():
        return None
    before = f.report.count
    hosts = [_host(item, ip_refused=False) for item in f.child("hosts").items()]
    secret = _checked(f.child("secretName"), dns1123_subdomain, empty_ok=True)
    if f.report.count != before:
        return None
    return IngressTLS(tuple(h for h in hosts if h is not None), secret)


def _class_annotation(root: Field, class_name: str | None) -> None:
    """ValidateIngressCreate: the legacy annotation, when set beside ingressClassName, must equal it."""
    annotations = root.child("metadata").child("annotations")
    if class_name is None or not isinstance(annotations.value, YMap):
        return
    value = annotations.value.get(INGRESS_CLASS_ANNOTATION)
    if isinstance(value, str) and value != class_name:
        where = annotations.value.position(INGRESS_CLASS_ANNOTATION)
        message = invalid(value, "must match `ingressClassName` when both are specified")
        root.report.add(where, f"annotations.{INGRESS_CLASS_ANNOTATION}", message)


def parse_ingress(raw: RawObject, root: Field, opts: ParseOptions) -> Ingress | None:
    """An Ingress, validated as ValidateIngressCreate validates it."""
    meta = meta_field(raw, root, True, dns1123_subdomain)
    spec = root.child("spec")
    if not spec.required_map():
        return None
    before = root.report.count
    rules_f = spec.child("rules")
    default_f = spec.child("defaultBackend")
    if not default_f.present and (rules_f.value is None or rules_f.value == []):
        spec.error(invalid(rules_f.value, "either `defaultBackend` or `rules` must be specified"))
    default = _backend(default_f) if default_f.present else None
    rules = [_rule(item) for item in rules_f.object_items()]
    tls = [_tls(item) for item in spec.child("tls").object_items()]
    class_name = _checked(spec.child("ingressClassName"), dns1123_subdomain)
    _class_annotation(root, class_name)
    if meta is None or root.report.count != before:
        return None
    return Ingress(
        meta,
        class_name,
        default,
        tuple(r for r in rules if r is not None),
        tuple(t for t in tls if t is not None),
    )
