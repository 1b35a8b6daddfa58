"""The values of YAML scalars, as PyYAML's safe loader makes them (YAML 1.1), resolved by netcompile
rather than by PyYAML's resolver: plain scalars by their text, once per distinct text (`plain_value`)."""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import ScalarNode, SequenceNode

IMPLICIT = yaml.resolver.Resolver.yaml_implicit_resolvers
# The characters an implicitly typed plain scalar (int, bool, null, ...) can start with: a plain scalar
# starting with any other is a string (`plain_tag`), which the C reader knows without asking.
PLAIN_STARTS = "".join(sorted(start for start in IMPLICIT if start))
STR = "tag:yaml.org,2002:str"
# What `_Loader.resolve` leaves in place of a tag: resolution happens in the converter.
PLAIN = "?plain"  # a plain scalar: int, bool, null, ... or str, by its text
OTHER = "?other"  # a quoted or block scalar (str), or a mapping or sequence
PLAIN_IMPLICIT = (True, False)
SCALAR_TAGS_AS_TEXT = frozenset({"tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"})
CONSTRUCTOR = yaml.constructor.SafeConstructor()


def construct(tag: str, node: ScalarNode) -> Any:
    """A scalar as PyYAML's safe constructor makes it for `tag`; its text where it cannot (`!!int x`)."""
    node.tag = tag  # the constructor dispatches on it
    try:
        return CONSTRUCTOR.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, OverflowError):
        return node.value
    finally:  # it remembers every node it made; scalars share nothing
        CONSTRUCTOR.constructed_objects.clear()
        CONSTRUCTOR.recursive_objects.clear()


def plain_tag(value: str) -> str:
    """The tag PyYAML's resolver gives a plain scalar; most Kubernetes scalars (keys, names) start with a
    character no implicit type (int, float, bool, null, timestamp, merge) can start with, and no number
    or timestamp has two dots (an IPv4 address, a version, a domain name)."""
    if value.count(".") > 1:
        return STR
    for candidate, regexp in IMPLICIT.get(value[0] if value else "", ()):
        if regexp.match(value):
            return str(candidate)
    return STR


SLOW = object()  # `plain_value`: a plain scalar the converter constructs node by node (`<<`, `=`)
CONSTANT_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("bool", "int", "float", "null"))
plain_values: dict[str, object] = {}  # plain scalar text -> its value; short texts, 256k at most
PLAIN_VALUES_MAX = 1 << 18  # texts plain_values holds at most
PLAIN_TEXT_MAX = 64  # the longest text it holds


def plain_value(text: str) -> object:
    """The value of an untagged plain scalar, as PyYAML's safe loader constructs it: `80` is 80, `true` is
    True, `~` is None, a timestamp stays text (as Kubernetes reads it). Computed once per distinct text:
    the values are immutable, and the same few (`true`, `TCP`, port numbers) make up most of an input."""
    value = plain_values.get(text, SLOW)
    if value is SLOW:
        tag = plain_tag(text)
        if tag in SCALAR_TAGS_AS_TEXT:
            value = text
        elif tag in CONSTANT_TAGS:
            value = construct(tag, ScalarNode(tag, text))
        else:
            return SLOW
        if len(plain_values) < PLAIN_VALUES_MAX and len(text) <= PLAIN_TEXT_MAX:
            plain_values[text] = value
    return value


def resolved_tag(node: yaml.Node) -> str:
    """The resolved tag of a node composed by `_Loader`."""
    tag = str(node.tag)
    if tag == PLAIN:
        return plain_tag(node.value)
    if tag == OTHER:
        if node.__class__ is ScalarNode:
            return STR
        return "tag:yaml.org,2002:seq" if node.__class__ is SequenceNode else "tag:yaml.org,2002:map"
    return tag


def type_plain_scalars(untyped: list[tuple[Any, Any, str]]) -> bool:
    """Put the values of plain scalars in place of their texts, as the C reader lists them: (container, key
    or index, text), or (mapping, None, text) for a key, which must read as a string. False when one cannot
    be typed from its text alone (`<<`, `=`) or a key is not a string (`1: x`): the piece is then read
    from PyYAML's nodes. The values go to `plain_values`, which the C reader types from next time."""
    for container, where, text in untyped:
        value = plain_value(text)
        if where is None:
            if value.__class__ is not str:
                return False
        elif value is SLOW:
            return False
        elif value is not text:
            container[where] = value
    return True
