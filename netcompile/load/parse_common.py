"""What every kind's parser shares: the options that change what is valid, and the fields found in many
kinds (metadata, protocols, port numbers, address lists, label selectors)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import duplicate, forbidden, invalid, required
from ..model import (
    IPAddress,
    Meta,
    Protocol,
    ServiceType,
)
from ..model.selectors import LabelSelector, Operator, Requirement
from ..values import Frozen, set_field
from .positions import reference_fields
from .source import RawObject, YMap
from .validation import (
    Field,
    dns1123_label,
    ip_field,
    label_value,
    labels_field,
    name_field,
    port_name,
    port_number,
    qualified_name,
)

PROTOCOLS = tuple(p.value for p in Protocol)
# A protocol as the plain paths read it: absent or "" is TCP (the default); anything else not a protocol.
PLAIN_PROTOCOLS: dict[object, Protocol] = {None: Protocol.TCP, "": Protocol.TCP, **{p.value: p for p in Protocol}}
SERVICE_TYPES = tuple(t.value for t in ServiceType)
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
DEFAULT_AFFINITY_TIMEOUT = 10800
NODE_PORT_RANGE = (30000, 32767)


@dataclass(init=False, slots=True, eq=False, repr=False)
class ParseOptions(Frozen):
    """Choices that change what counts as valid input."""

    node_port_range: tuple[int, int] = NODE_PORT_RANGE
    # Fields the API schema does not declare, as kubectl's --validate: "strict" (errors), "warn", "ignore".
    validate: str = "strict"

    def __init__(self, node_port_range: tuple[int, int] = NODE_PORT_RANGE, validate: str = "strict") -> None:
        set_field(self, "node_port_range", node_port_range)
        set_field(self, "validate", validate)


def meta_field(raw: RawObject, root: Field, namespaced: bool, name_check: Callable[[str], str | None]) -> Meta | None:
    """An object's name, namespace (defaulted) and labels, and the positions of `positions`; None when one
    of them is wrong (and said so)."""
    meta = plain_meta(raw, namespaced, name_check)
    if meta is not None:
        return meta
    md = root.child("metadata")
    if not md.required_map():
        return None
    name = name_field(md.child("name"), name_check)
    namespace = ""
    if namespaced:
        namespace = name_field(md.child("namespace"), dns1123_label, required_=False) or "default"
    labels = labels_field(md.child("labels"))
    if name is None:
        return None
    return Meta(raw.kind, namespace, name, labels, raw.position, reference_fields(raw))


# Label keys and values, DNS-1123 labels (namespaces, Service port names) and IANA port names (containers',
# named targetPorts) repeat across objects: each is checked once.
label_key_problem = functools.lru_cache(maxsize=4096)(qualified_name)
label_problem = functools.lru_cache(maxsize=4096)(dns1123_label)
port_name_problem = functools.lru_cache(maxsize=4096)(port_name)
label_value_problem = functools.lru_cache(maxsize=4096)(label_value)


def plain_meta(raw: RawObject, namespaced: bool, name_check: Callable[[str], str | None]) -> Meta | None:
    """`meta_field` without `Field`s, the hot path: the metadata when its name, namespace and labels are
    valid; None for anything else, which `meta_field` then reads field by field (and says what is wrong).
    Both give the same Meta (tests/test_plain.py)."""
    md = raw.body.get("metadata")
    if md.__class__ is not YMap:
        return None
    name = md.get("name")
    if name.__class__ is not str or not name or name_check(name) is not None:
        return None
    namespace = ""
    if namespaced:
        given = md.get("namespace")
        if given is None or given == "":
            namespace = "default"
        elif given.__class__ is str and label_problem(given) is None:
            namespace = given
        else:
            return None
    labels = plain_labels(md.get("labels"))
    if labels is None:
        return None
    return Meta(raw.kind, namespace, name, labels, raw.position, reference_fields(raw))


def plain_labels(given: object) -> tuple[tuple[str, str], ...] | None:
    """A label map (metadata.labels, a Service's selector) of valid keys and string values, sorted, as
    `labels_field` reads it; an absent map is empty. None for anything else."""
    if given is None:
        return ()
    if given.__class__ is not YMap:
        return None
    assert isinstance(given, YMap)
    for key, value in given.items():
        if key.__class__ is not str or value.__class__ is not str or _label_problem(key, value):
            return None
    return tuple(sorted(given.items()))


@functools.lru_cache(maxsize=4096)
def _label_problem(key: str, value: str) -> bool:
    """Whether a label (a key and its value, both strings) is not valid."""
    return label_key_problem(key) is not None or label_value_problem(value) is not None


def protocol_field(f: Field) -> Protocol | None:
    value = f.choice(PROTOCOLS, default="TCP")
    return Protocol(value) if value else None


def port_number_field(f: Field, *, required_: bool = True) -> int | None:
    value = f.integer(required_=required_)
    if value is None:
        return None
    problem = port_number(value)
    if problem:
        f.error(invalid(value, problem))
        return None
    return value


def ips_field(f: Field) -> tuple[IPAddress, ...]:
    out: list[IPAddress] = []
    for item in f.items():
        addr = ip_field(item, required_=True)
        if addr is not None:
            if addr in out:
                item.error(duplicate(str(addr)))
            else:
                out.append(addr)
    return tuple(out)


def selector_field(f: Field) -> LabelSelector | None:
    """A metav1.LabelSelector; None when absent or invalid (callers decide what absent means)."""
    if not f.is_map():
        return None
    before = f.report.count
    match_labels = labels_field(f.child("matchLabels"))
    exprs: list[Requirement] = []
    for item in f.child("matchExpressions").object_items():
        if not item.is_map():
            continue
        key = item.child("key").string(required_=True)
        if key is not None and (problem := qualified_name(key)):
            item.child("key").error(invalid(key, problem))
        op_f = item.child("operator")
        op_text = op_f.value if op_f.value in tuple(o.value for o in Operator) else None
        if op_text is None and (op_f.value is None or isinstance(op_f.value, str)):
            op_f.error(invalid(op_f.value or "", "not a valid selector operator"))
        elif op_text is None:
            op_f.string()  # reports a value that is not a string
        values_field = item.child("values")
        values: list[str] = []
        for v in values_field.items():
            text = "" if v.value is None else v.string(required_=True) if not isinstance(v.value, str) else v.value
            if text is not None and (problem := label_value(text)):
                v.error(invalid(text, problem))
            elif text is not None:
                values.append(text)
        if op_text in (Operator.IN, Operator.NOT_IN) and not values:
            values_field.error(required("must be specified when `operator` is 'In' or 'NotIn'"))
        if op_text in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and values:
            values_field.error(forbidden("may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        if key is not None and op_text is not None:
            exprs.append(Requirement(key, Operator(op_text), frozenset(values)))
    if f.report.count != before:
        return None
    return LabelSelector(match_labels, tuple(exprs))
