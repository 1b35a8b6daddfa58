"""The values of YAML scalars, as PyYAML's safe loader makes them (YAML 1.1), resolved by netcompile
rather than by PyYAML's resolver: plain scalars by their text, once per distinct text (`plain_value`).

The texts whose value their shape alone tells (a word of YAML 1.1's booleans or nulls, a decimal
integer, a string that no implicit type can start like) are read here without PyYAML (`quick_value`),
so that reading plain documents with the C reader does not import it; PyYAML's resolver and
constructor answer the rest (tests/test_prefix_scalars.py checks that both agree).
"""

from __future__ import annotations

import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import re

    import yaml
    from yaml.nodes import ScalarNode

# The characters an implicitly typed plain scalar (int, bool, null, ...) can start with: a plain scalar
# starting with any other is a string (`plain_tag`), which the C reader knows without asking. They are
# the first characters of PyYAML's implicit resolvers (tests/test_prefix_scalars.py).
PLAIN_STARTS = "!&*+-.0123456789<=FNOTYfnoty~"
STR = "tag:yaml.org,2002:str"
# What `_Loader.resolve` leaves in place of a tag: resolution happens in the converter.
PLAIN = "?plain"  # a plain scalar: int, bool, null, ... or str, by its text
OTHER = "?other"  # a quoted or block scalar (str), or a mapping or sequence
PLAIN_IMPLICIT = (True, False)
SCALAR_TAGS_AS_TEXT = frozenset({"tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"})


@cache
def _constructor() -> yaml.constructor.SafeConstructor:
    """PyYAML's safe constructor, imported on first use (plain documents of the usual shapes never ask)."""
    import yaml

    return yaml.constructor.SafeConstructor()


def _implicit() -> dict[Any, list[tuple[str, re.Pattern[str]]]]:
    """PyYAML's implicit resolvers by first character, imported on first use."""
    import yaml

    return yaml.resolver.Resolver.yaml_implicit_resolvers


def construct(tag: str, node: ScalarNode) -> Any:
    """A scalar as PyYAML's safe constructor makes it for `tag`; its text where it cannot (`!!int x`)."""
    import yaml

    constructor = _constructor()
    node.tag = tag  # the constructor dispatches on it
    try:
        return constructor.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, OverflowError):
        return node.value
    finally:  # it remembers every node it made; scalars share nothing
        constructor.constructed_objects.clear()
        constructor.recursive_objects.clear()


def plain_tag(value: str) -> str:
    """The tag PyYAML's resolver gives a plain scalar; most Kubernetes scalars (keys, names) start with a
    character no implicit type (int, float, bool, null, timestamp, merge) can start with, and no number
    or timestamp has two dots (an IPv4 address, a version, a domain name)."""
    if value.count(".") > 1:
        return STR
    for candidate, regexp in _implicit().get(value[0] if value else "", ()):
        if regexp.match(value):
            return str(candidate)
    return STR


SLOW = object()  # `plain_value`: a plain scalar the converter constructs node by node (`<<`, `=`)
CONSTANT_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("bool", "int", "float", "null"))
PLAIN_VALUES_MAX = 1 << 18  # texts plain_values holds at most
PLAIN_TEXT_MAX = 64  # the longest text it holds


# YAML 1.1's words for booleans and null (PyYAML's resolver and constructor), and the letters they start
# with: the only implicit types a plain scalar starting with a letter can have.
WORDS: dict[str, object] = {
    **dict.fromkeys(("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
    **dict.fromkeys(("~", "null", "Null", "NULL", ""), None),
}
WORD_STARTS = frozenset("FNOTYfnoty")
_DIGITS = frozenset("0123456789")
_INT_DIGITS_FLOOR = 640  # the least sys.set_int_max_str_digits takes (0: no limit): texts this long always convert
# Plain scalar text -> its value; short texts, 256k at most. It holds WORDS from the start, so that the C
# reader, which looks a text up here first, needs to list for typing only the texts that start with one
# of TYPED_STARTS (PLAIN_STARTS less the letters): any other is a string.
plain_values: dict[str, object] = dict(WORDS)
TYPED_STARTS = "".join(c for c in PLAIN_STARTS if c not in WORD_STARTS)


def quick_value(text: str) -> object:
    """The value of an untagged plain scalar when its shape alone tells (a word of WORDS, a string that
    starts like no implicit type or with a letter, or has two dots, a decimal integer), else SLOW."""
    if text in WORDS:
        return WORDS[text]
    first = text[0]  # "" is in WORDS
    if first not in PLAIN_STARTS or first in WORD_STARTS or text.count(".") > 1:
        return text
    digits = text[1:] if first in "+-" else text
    if digits and digits[0] in _DIGITS and (digits[0] != "0" or len(digits) == 1) and _DIGITS.issuperset(digits):
        if len(digits) > _INT_DIGITS_FLOOR and len(digits) > (sys.get_int_max_str_digits() or len(digits)):
            return SLOW  # more digits than int() reads: `construct` gives its text, as for any int it cannot make
        return int(text)
    return SLOW


def plain_value(text: str) -> object:
    """The value of an untagged plain scalar, as PyYAML's safe loader constructs it: `80` is 80, `true` is
    True, `~` is None, a timestamp stays text (as Kubernetes reads it). Computed once per distinct text:
    the values are immutable, and the same few (`true`, `TCP`, port numbers) make up most of an input."""
    value = plain_values.get(text, SLOW)
    if value is SLOW:
        value = quick_value(text)
        if value is SLOW:
            tag = plain_tag(text)
            if tag in SCALAR_TAGS_AS_TEXT:
                value = text
            elif tag in CONSTANT_TAGS:
                from yaml.nodes import ScalarNode

                value = construct(tag, ScalarNode(tag, text))
            else:
                return SLOW
        if len(plain_values) < PLAIN_VALUES_MAX and len(text) <= PLAIN_TEXT_MAX:
            plain_values[text] = value
    return value


def resolved_tag(node: yaml.Node) -> str:
    """The resolved tag of a node composed by `_Loader`."""
    from yaml.nodes import ScalarNode, SequenceNode

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
