"""nftables syntax: the one place where the typed IR becomes text.

`render.py` lays out the table, its sets and its chains (and the templates, `templates/*.nft.j2`, the
other scripts), and calls this module (the templates: as Jinja2 filters) for what goes inside them: a
rule's statements, a set's declaration, its elements, a quoted comment. It dispatches on the type of
each node; a node it does not know is an error, never dropped. Element lines are written here rather than
in a template loop: 10k Services make 230k elements, and a template loop costs as much again as the rest
of the rendering.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from .statements import (
    Address,
    AnonSet,
    AnonVmap,
    BitAnd,
    Concat,
    Ct,
    Dnat,
    DnatMap,
    Flags,
    InputInterface,
    Integer,
    InterfaceName,
    Mark,
    MarkSet,
    Masquerade,
    Match,
    Meta,
    Network,
    Node,
    Numgen,
    Op,
    Port,
    Range,
    Reject,
    SetRef,
    SetType,
    SetUpdate,
    Statement,
    Symbol,
    Types,
    Verdict,
    Vmap,
)

if TYPE_CHECKING:
    from .ir import Element, Rule, Set

COMMENT_MAX = 128  # nft(8) refuses longer comments


# --- strings --------------------------------------------------------------------------------------------


def safe_comment(text: str) -> str:
    """Text that can sit inside nftables double quotes: printable ASCII, no quotes, at most 128 bytes.

    nftables strings have no escapes, so a `"` would end the string; newlines and control characters
    would end the statement. Non-ASCII characters are written as `<U+XXXX>` so the meaning
    survives in review.
    """
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        # the common case, printable ASCII (" " to "~") without quote or backslash: as it is
        return text if len(text) <= COMMENT_MAX else cut_comment(text)
    return cut_comment("".join(map(safe_char, text)))


def safe_char(ch: str) -> str:
    """One character of a comment as `safe_comment` writes it."""
    if ch == '"':
        return "'"
    if ch == "\\":
        return "/"
    if " " <= ch <= "~":
        return ch
    if ch in "\t\r\n" or unicodedata.category(ch).startswith("C"):
        return " "
    return f"<U+{ord(ch):04X}>"


def cut_comment(text: str) -> str:
    """A comment of safe characters, cut to what nft accepts (COMMENT_MAX), with `...` when cut."""
    return text if len(text) <= COMMENT_MAX else text[: COMMENT_MAX - 3] + "..."


def quote(text: str) -> str:
    """`text` as an nftables string: in double quotes, made safe by `safe_comment`."""
    return f'"{safe_comment(text)}"'


# --- expressions and statements ---------------------------------------------------------------------------


def expr(node: Node) -> str:
    """An expression (or a verdict inside an anonymous verdict map)."""
    match node:
        case Address(family, field):
            return f"{family.keyword} {field}"
        case Meta(key):
            return f"meta {key}"
        case Ct(key):
            return f"ct {key}"
        case Port(field):
            return f"th {field}"
        case Numgen(modulus):
            return f"numgen random mod {modulus}"
        case Integer(value):
            return str(value)
        case Mark(value):
            return f"0x{value:08x}"
        case Range(low, high):
            return f"{low}-{high}" if high != low else str(low)
        case Symbol(name):
            return name
        case Flags(names):
            return ",".join(names)
        case Network(value):
            return str(value)
        case SetRef(name):
            return f"@{name}"
        case Concat(parts):
            return " . ".join([expr(p) for p in parts])
        case BitAnd(left, mask):
            return f"{expr(left)} & {expr(mask)}"
        case AnonSet(elements):
            return "{ " + ", ".join([expr(e) for e in elements]) + " }"
        case AnonVmap(entries):
            return "{ " + ", ".join([f"{expr(k)} : {verdict(v)}" for k, v in entries]) + " }"
        case Verdict():
            return verdict(node)
        case InputInterface():
            return "iifname"
        case InterfaceName(name, prefix):
            return f'"{name}*"' if prefix else f'"{name}"'
    raise TypeError(f"no nftables syntax for expression {node!r}")


def verdict(node: Verdict) -> str:
    return f"{node.kind} {node.chain}" if node.chain is not None else str(node.kind)


def statement(node: Statement) -> str:
    match node:
        case Match(left, right, op):
            if op is Op.IMPLICIT:
                return f"{expr(left)} {expr(right)}"
            return f"{expr(left)} {op} {expr(right)}"
        case Verdict():
            return verdict(node)
        case Vmap(key, target):
            return f"{expr(key)} vmap {expr(target)}"
        case MarkSet(op, mark):
            return f"meta mark set meta mark {op} {expr(mark)}"
        case Dnat(family, address, port):
            host = f"[{address}]" if address.version == 6 else str(address)
            return f"dnat {family.keyword} to {host}:{port}"
        case DnatMap(family, key, target):
            return f"dnat {family.keyword} to {expr(key)} map {expr(target)}"
        case Masquerade(fully_random):
            return "masquerade fully-random" if fully_random else "masquerade"
        case Reject(tcp_reset):
            return "reject with tcp reset" if tcp_reset else "reject"
        case SetUpdate(target, key):
            return f"update {expr(target)} {{ {expr(key)} }}"
    raise TypeError(f"no nftables syntax for statement {node!r}")


def statements(nodes: Sequence[Statement]) -> str:
    """A rule's statements, without its comment."""
    return " ".join([statement(n) for n in nodes])


def rule(item: Rule) -> str:
    """A rule as written in its chain: statements, then the comment."""
    text = statements(item.statements)
    return text + " comment " + quote(item.comment) if item.comment else text


# --- sets, maps and elements ------------------------------------------------------------------------------


def set_key(kind: SetType) -> str:
    """`type ipv4_addr . inet_service` or `typeof ip daddr . th dport`."""
    if isinstance(kind, Types):
        return "type " + " . ".join(kind.datatypes)
    return "typeof " + expr(kind.expr)


def set_value(kind: SetType) -> str:
    """A map's values: `verdict`, `ipv4_addr`, or the expressions of `typeof` (`ip daddr . th dport`)."""
    if isinstance(kind, Types):
        return " . ".join(kind.datatypes)
    return expr(kind.expr)


def declaration(item: Set) -> str:
    """`type ... ` for a set, `type ... : ...` for a map."""
    key = set_key(item.key_type)
    return key if item.value_type is None else f"{key} : {set_value(item.value_type)}"


def element_value(value: tuple[str, ...] | tuple[Verdict]) -> str:
    first = value[0]
    if isinstance(first, Verdict):
        return verdict(first)
    return " . ".join(value)  # type: ignore[arg-type]  # the atoms of a data map


def element(item: Element, quoted: dict[str, str] | None = None) -> str:
    """The element as written in `elements = { ... }`: key, comment, and `: value` in a map. `quoted`:
    the comments of the elements written before it (`comment "..."`), each quoted once for them all."""
    text = " . ".join(item.key)
    if item.comment:
        if quoted is None:
            text += " comment " + quote(item.comment)
        else:
            comment = quoted.get(item.comment)
            if comment is None:
                comment = quoted[item.comment] = " comment " + quote(item.comment)
            text += comment
    if item.value is not None:
        text += " : " + element_value(item.value)
    return text


def element_lines(elements: Iterable[Element], indent: str = "\t\t\t", keys_only: bool = False) -> str:
    """One element per line, so a diff shows exactly what changed (keys only: to delete them). Joined
    here rather than looped over in a template: 10k Services make 230k elements."""
    if keys_only:
        return "\n".join([f"{indent}{' . '.join(e.key)}," for e in elements])
    return "\n".join(element_line_list(elements, indent))


def element_line_list(
    elements: Iterable[Element], indent: str = "\t\t\t", quoted: dict[str, str] | None = None
) -> list[str]:
    """The lines of `element_lines` (not keys only), each element's as `element` writes it (inline here:
    a large cluster has 100k elements). `quoted`: the comments quoted so far (` comment "..."`), which
    repeat (the rules of a policy set, a Service's port, a pod's name in each direction's map): given,
    it is kept for the next sets."""
    if quoted is None:
        quoted = {}
    # an element's value as written (` : goto c`) by the value, which elements share (a group's verdict)
    values: dict[int, tuple[tuple[str, ...] | tuple[Verdict], str]] = {}
    lines: list[str] = []
    append = lines.append
    for item in elements:
        comment = item.comment
        if comment:
            said = quoted.get(comment)
            if said is None:
                said = quoted[comment] = " comment " + quote(comment)
        else:
            said = ""
        value = item.value
        if value is None:
            append(f"{indent}{' . '.join(item.key)}{said},")
            continue
        known = values.get(id(value))
        if known is None or known[0] is not value:
            known = values[id(value)] = (value, " : " + element_value(value))
        append(f"{indent}{' . '.join(item.key)}{said}{known[1]},")
    return lines
