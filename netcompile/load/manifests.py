"""From files to validated model objects: `load()` reads, parses each object with its kind's parser, and
puts the objects together (the first claimer of a name, a clusterIP or a nodePort keeps it), raising one
InputError carrying every diagnostic.

The parsers are by kind: `core` (Namespace, Node, Pod), `services`, `endpoints` (EndpointSlice,
Endpoints), `policies` (NetworkPolicy); what they share is in `parse_common`.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, TypeAlias, cast

from ..errors import Diagnostic, InputError, unsupported
from ..gcpause import paused_gc
from ..model import (
    Endpoints,
    EndpointSlice,
    KubeObject,
    Namespace,
    NetworkPolicy,
    Node,
    Objects,
    Pod,
    Service,
    ServiceCIDR,
)
from ..model.proxy import PROXY_KIND, PROXY_VERSION, ProxyConfig
from ..model.workloads import WORKLOAD_API_VERSIONS, Workload
from .claims import Claim, Claims, NameClaim, claims_of
from .core import parse_namespace, parse_node
from .endpoints import parse_endpoint_slice, parse_endpoints
from .parse_common import NODE_PORT_RANGE, ParseOptions
from .policies import parse_network_policy
from .schema.check import check_fields, check_list, other_policy, skip_or_refuse, skipped_notice
from .services import parse_service_cidr
from .source import Limits, Piece, RawObject, object_ref, raw_objects, read_pieces
from .validation import Field, Report
from .workloads import parse_owned_pod, parse_service_families, parse_workload

if TYPE_CHECKING:
    from ..model.ingress import Ingress

__all__ = ["KINDS", "NODE_PORT_RANGE", "ParseOptions", "load"]

Parser: TypeAlias = "Callable[[RawObject, Field, ParseOptions], KubeObject | None]"


def _parse_ingress(raw: RawObject, root: Field, opts: ParseOptions) -> Ingress | None:
    """load/ingress.py's parser, with its model (model/ingress.py), both imported with the first Ingress:
    an input without one does not pay for them."""
    from .ingress import parse_ingress

    return parse_ingress(raw, root, opts)


# kind -> (apiVersion, parser)
KINDS: dict[str, tuple[str, Parser]] = {
    "Namespace": ("v1", parse_namespace),
    "Node": ("v1", parse_node),
    "Pod": ("v1", parse_owned_pod),  # parse_pod and its ownerReferences (load/workloads.py)
    "Service": ("v1", parse_service_families),  # parse_service and its IP families (load/workloads.py)
    "EndpointSlice": ("discovery.k8s.io/v1", parse_endpoint_slice),
    "Endpoints": ("v1", parse_endpoints),
    "NetworkPolicy": ("networking.k8s.io/v1", parse_network_policy),
    "Ingress": ("networking.k8s.io/v1", _parse_ingress),  # load/ingress.py: validated, not compiled (L7)
    "ServiceCIDR": ("networking.k8s.io/v1", parse_service_cidr),
    **{kind: (version, parse_workload) for kind, version in WORKLOAD_API_VERSIONS.items()},
}

# Files are cut into pieces of about this size at document starts, and read piece by piece: reading stops
# past --max-objects, so that what is held in memory stays bounded by it.
PIECE_BYTES = 250_000


def load(paths: list[str], limits: Limits = Limits(), opts: ParseOptions = ParseOptions()) -> Objects:
    """Read and validate `paths`; every problem found is raised at once as an InputError."""
    pieces, errors = read_pieces(paths, limits, PIECE_BYTES)
    with paused_gc():  # the objects are acyclic, and large inputs make many of them
        objects = _read(pieces, limits, opts, errors)
    if errors:
        raise InputError(errors)
    return objects


def _ref(raw: RawObject) -> str:
    return object_ref(raw.kind, raw.body)


def _parse(
    raw: RawObject,
    opts: ParseOptions,
    problems: list[Diagnostic],
    warnings: list[str],
    skipped: Counter[str],
    parsed: list[tuple[KubeObject, tuple[NameClaim, tuple[Claim, ...]]]],
) -> None:
    """Read and validate one object with its kind's parser: to `parsed` with its claims when it is valid."""
    if (foreign := other_policy(raw)) is not None:
        warnings.append(str(foreign))
        return
    if raw.kind not in KINDS:
        skip_or_refuse(raw, problems, skipped)
        return
    version, parser = KINDS[raw.kind]
    report = Report(functools.partial(_ref, raw), problems)
    root = Field(report, raw.body)
    if raw.api_version != version:
        root.child("apiVersion").error(unsupported(raw.api_version, (version,)))
        return
    check_fields(raw, report, opts.validate, warnings)
    obj = parser(raw, root, opts)
    if obj is not None and not report.count:
        parsed.append((obj, claims_of(raw, obj)))


def _proxy_config(
    raw: RawObject,
    piece: Piece,
    limits: Limits,
    opts: ParseOptions,
    problems: list[Diagnostic],
    proxies: list[ProxyConfig],
) -> bool:
    """A KubeProxyConfiguration, or the kube-proxy ConfigMap of kube-system holding one (load/proxy.py), to
    `proxies` when valid; False for any other ConfigMap (read as any object of a kind netcompile skips)."""
    from .proxy import config_map_text, parse_proxy_config, read_embedded  # only inputs with a ConfigMap need it

    report = Report(functools.partial(_ref, raw), problems)
    if raw.kind == PROXY_KIND:
        if raw.api_version != PROXY_VERSION:
            Field(report, raw.body).child("apiVersion").error(unsupported(raw.api_version, (PROXY_VERSION,)))
            return True
        config = parse_proxy_config(raw, Field(report, raw.body), PROXY_KIND, opts.validate == "strict")
        if config is not None:
            proxies.append(config)
        return True
    embedded = config_map_text(raw)
    if embedded is None:
        return False
    text, where, path = embedded
    source = _ref(raw)
    for doc in read_embedded(text, where, piece, limits, problems):
        kind, version = doc.get("kind"), doc.get("apiVersion")
        inner = Report(source, problems)
        root = Field(inner, doc, step=path)
        if (kind, version) != (PROXY_KIND, PROXY_VERSION):
            root.child("kind").error(f"not a {PROXY_KIND} of {PROXY_VERSION}: kube-proxy reads only that here")
            continue
        config = parse_proxy_config(RawObject(PROXY_KIND, PROXY_VERSION, doc), root, source, opts.validate == "strict")
        if config is not None:
            proxies.append(config)
    return True


def _read(pieces: list[Piece], limits: Limits, opts: ParseOptions, errors: list[Diagnostic]) -> Objects:
    """Read and validate the objects piece by piece (what is held in memory is one piece's documents and
    the objects read so far), then put them together in input order: the first claimer of a name or
    address keeps it."""
    problems: list[Diagnostic] = []
    notices: list[str] = []
    warnings: list[str] = []
    skipped: Counter[str] = Counter()
    parsed: list[tuple[KubeObject, tuple[NameClaim, tuple[Claim, ...]]]] = []
    proxies: list[ProxyConfig] = []
    count = 0
    for piece in pieces:
        lists: list[RawObject] = []
        left = replace(limits, max_objects=limits.max_objects - count)
        raws = raw_objects([piece], left, problems, notices, lists)
        for raw in lists:
            check_list(raw, opts.validate, problems, warnings)
        for raw in raws:
            proxy_kinds = raw.kind == PROXY_KIND or (raw.kind == "ConfigMap" and raw.api_version == "v1")
            if proxy_kinds and _proxy_config(raw, piece, limits, opts, problems, proxies):
                continue
            _parse(raw, opts, problems, warnings, skipped, parsed)
        count += len(raws)
        if count > limits.max_objects:  # it stopped reading there
            where = raws[left.max_objects].position
            errors.append(Diagnostic(where, "", "", f"more than {limits.max_objects} objects (--max-objects)"))
            break
    errors.extend(problems)
    claims = Claims()
    by_kind: dict[str, list[KubeObject]] = {kind: [] for kind in KINDS}
    for obj, made in parsed:
        if claims.settle(made, errors):
            by_kind[obj.meta.kind].append(obj)
    summary = skipped_notice(skipped.items())
    if summary is not None:
        notices.append(summary)
    for eps in by_kind["EndpointSlice"]:
        if isinstance(eps, EndpointSlice) and eps.address_type == "FQDN" and eps.endpoints:
            notices.append(
                f'{eps.meta.position}: EndpointSlice "{eps.meta.key}": addressType FQDN: kube-proxy programs no rule'
                " for names, so its endpoints reach no Service's rules (nor netcompile's)"
            )
    for extra in proxies[1:]:
        first = proxies[0]
        errors.append(
            Diagnostic(extra.position, extra.source, "", f"a second kube-proxy configuration (the first: {first.source}"
                       f" at {first.position}); a node's kube-proxy reads one")
        )  # fmt: skip
    proxy = proxies[0] if proxies else None
    if proxy is not None:  # what changes the rules is said, never applied quietly
        from .proxy import proxy_summary

        notices.append(f"{proxy.position}: {proxy.source}: kube-proxy's configuration read: {proxy_summary(proxy)}")
    if proxy is not None and proxy.ignored:
        ignored = "; ".join(proxy.ignored)
        notices.append(f"{proxy.position}: {proxy.source}: not read, as they change no rule: {ignored}")
    return Objects(
        namespaces=tuple(o for o in by_kind["Namespace"] if isinstance(o, Namespace)),
        nodes=tuple(o for o in by_kind["Node"] if isinstance(o, Node)),
        pods=tuple(o for o in by_kind["Pod"] if isinstance(o, Pod)),
        services=tuple(o for o in by_kind["Service"] if isinstance(o, Service)),
        endpoint_slices=tuple(o for o in by_kind["EndpointSlice"] if isinstance(o, EndpointSlice)),
        endpoints=tuple(o for o in by_kind["Endpoints"] if isinstance(o, Endpoints)),
        network_policies=tuple(o for o in by_kind["NetworkPolicy"] if isinstance(o, NetworkPolicy)),
        workloads=tuple(o for kind in WORKLOAD_API_VERSIONS for o in by_kind[kind] if isinstance(o, Workload)),
        ingresses=cast("tuple[Ingress, ...]", tuple(by_kind["Ingress"])),  # what _parse_ingress made
        proxy_config=proxy,
        service_cidr_objects=tuple(o for o in by_kind["ServiceCIDR"] if isinstance(o, ServiceCIDR)),
        notices=tuple(notices),
        warnings=tuple(warnings),
    )
