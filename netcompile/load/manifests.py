"""From files to validated model objects: `load()` reads, parses each object with its kind's parser, and
puts the objects together (the first claimer of a name, a clusterIP or a nodePort keeps it), raising one
InputError carrying every diagnostic.

The parsers are by kind: `core` (Namespace, Node, Pod), `services`, `endpoints` (EndpointSlice,
Endpoints), `policies` (NetworkPolicy); what they share is in `parse_common`. Large inputs are read by
two processes (`tworeaders`).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import Diagnostic, InputError, Position, unsupported
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
)
from . import tworeaders
from .claims import Claim, Claims, claims_of
from .core import parse_namespace, parse_node, parse_pod
from .endpoints import parse_endpoint_slice, parse_endpoints
from .parse_common import NODE_PORT_RANGE, ParseOptions
from .policies import parse_network_policy
from .schema.check import check_fields, check_list, skip_or_refuse, skipped_notice
from .services import parse_service
from .source import Limits, Piece, RawObject, object_ref, raw_objects, read_pieces
from .validation import Field, Report

__all__ = ["KINDS", "NODE_PORT_RANGE", "PARALLEL_BYTES", "ParseOptions", "load"]

Parser = Callable[[RawObject, Field, ParseOptions], KubeObject | None]

# kind -> (apiVersion, parser)
KINDS: dict[str, tuple[str, Parser]] = {
    "Namespace": ("v1", parse_namespace),
    "Node": ("v1", parse_node),
    "Pod": ("v1", parse_pod),
    "Service": ("v1", parse_service),
    "EndpointSlice": ("discovery.k8s.io/v1", parse_endpoint_slice),
    "Endpoints": ("v1", parse_endpoints),
    "NetworkPolicy": ("networking.k8s.io/v1", parse_network_policy),
}

# Inputs larger than this are read by two processes at once (when the machine has two CPUs): reading and
# validating is most of the time of a large compile. They take pieces of a quarter of it in turn.
# bench/readers.py measures one reader against two.
PARALLEL_BYTES = 1_000_000


def load(
    paths: list[str], limits: Limits = Limits(), opts: ParseOptions = ParseOptions(), readers: int | None = None
) -> Objects:
    """Read and validate `paths`; every problem found is raised at once as an InputError.

    `readers`: processes that read (1 or 2); by default 2 for inputs over PARALLEL_BYTES on a machine
    with two CPUs or more. The result is the same either way.
    """
    pieces, errors = read_pieces(paths, limits, PARALLEL_BYTES // 4)
    if readers is None:
        large = sum(len(p.text) for p in pieces) > PARALLEL_BYTES
        readers = 2 if large and tworeaders.available() else 1
    read = functools.partial(_read_and_parse, limits=limits, opts=opts)
    with paused_gc():  # also while the other reader's objects are unpickled
        readings = None
        if readers > 1 and len(pieces) > 1:
            readings = tworeaders.read_in_two(pieces, read, _Reading.count, limits.max_objects)
        if readings is None:  # one reader, or more than --max-objects: read as one reader would
            readings = [read(pieces)]
        objects = _settle(readings, limits, errors)
    if errors:
        raise InputError(errors)
    return objects


@dataclass(slots=True)
class _Reading:
    """What reading some pieces gives: valid objects with their claims, problems, notices, where each
    object read stood (for --max-objects across readers), warnings, and the kinds it skipped."""

    parsed: list[tuple[KubeObject, tuple[Claim, ...]]]
    errors: list[Diagnostic]
    notices: list[str]
    object_positions: list[tuple[str, int, int]]
    warnings: list[str]
    skipped: Counter[str]

    def count(self) -> int:
        return len(self.object_positions)


def _ref(raw: RawObject) -> str:
    return object_ref(raw.kind, raw.body)


def _read_and_parse(pieces: list[Piece], limits: Limits, opts: ParseOptions) -> _Reading:
    """Read and validate objects one by one."""
    with paused_gc():  # the objects are acyclic; in a reader process, keep it paused while they are pickled
        errors: list[Diagnostic] = []
        reading = _Reading([], errors, [], [], [], Counter())
        lists: list[RawObject] = []
        raws = raw_objects(pieces, limits, errors, reading.notices, lists)
        for raw in lists:
            check_list(raw, opts.validate, errors, reading.warnings)
        for raw in raws:
            position = raw.position
            reading.object_positions.append((position.file, position.line, position.col))
            if raw.kind not in KINDS:
                skip_or_refuse(raw, errors, reading.skipped)
                continue
            version, parser = KINDS[raw.kind]
            report = Report(functools.partial(_ref, raw), errors)
            root = Field(report, raw.body)
            if raw.api_version != version:
                root.child("apiVersion").error(unsupported(raw.api_version, (version,)))
                continue
            check_fields(raw, report, opts.validate, reading.warnings)
            obj = parser(raw, root, opts)
            if obj is not None and not report.count:
                reading.parsed.append((obj, claims_of(raw, obj, report)))
        return reading


def _settle(readings: list[_Reading], limits: Limits, errors: list[Diagnostic]) -> Objects:
    """Put the readings together in input order; the first claimer of a name or address keeps it."""
    by_kind: dict[str, list[KubeObject]] = {kind: [] for kind in KINDS}
    notices: list[str] = []
    warnings: list[str] = []
    claims = Claims()
    positions = [p for reading in readings for p in reading.object_positions]
    if len(positions) > limits.max_objects:
        file, line, col = positions[limits.max_objects]
        errors.append(
            Diagnostic(Position(file, line, col), "", "", f"more than {limits.max_objects} objects (--max-objects)")
        )
    for reading in readings:
        errors.extend(reading.errors)
        notices.extend(reading.notices)
        warnings.extend(reading.warnings)
        for obj, made in reading.parsed:
            if claims.settle(made, errors):
                by_kind[obj.meta.kind].append(obj)
    summary = skipped_notice(kv for reading in readings for kv in reading.skipped.items())
    if summary is not None:
        notices.append(summary)
    return Objects(
        namespaces=tuple(o for o in by_kind["Namespace"] if isinstance(o, Namespace)),
        nodes=tuple(o for o in by_kind["Node"] if isinstance(o, Node)),
        pods=tuple(o for o in by_kind["Pod"] if isinstance(o, Pod)),
        services=tuple(o for o in by_kind["Service"] if isinstance(o, Service)),
        endpoint_slices=tuple(o for o in by_kind["EndpointSlice"] if isinstance(o, EndpointSlice)),
        endpoints=tuple(o for o in by_kind["Endpoints"] if isinstance(o, Endpoints)),
        network_policies=tuple(o for o in by_kind["NetworkPolicy"] if isinstance(o, NetworkPolicy)),
        notices=tuple(notices),
        warnings=tuple(warnings),
    )
