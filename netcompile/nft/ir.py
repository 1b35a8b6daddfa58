"""A small typed object model of nftables: table, chains, rules, sets, maps, elements, comments.

The compiler builds a `Table`; `render.py` turns it into nftables text through the Jinja2 templates.
Objects are validated when they are added (cf. knftables): names are nftables identifiers, a base chain
has a type, a hook and a priority, every `@set`, `jump`/`goto` and verdict-map target a rule or element
refers to exists by the time the table is finished, and comments are made safe to quote. The IR knows
nothing of Kubernetes; it only carries comments that cite the source objects.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class IRError(ValueError):
    """A compiler bug: the IR refused an object. Never caused by user input (names are sanitized)."""


class Family(StrEnum):
    INET = "inet"


class Hook(StrEnum):
    """Netfilter hooks in packet order; forward/input after prerouting, output before postrouting."""

    PREROUTING = "prerouting"
    INPUT = "input"
    FORWARD = "forward"
    OUTPUT = "output"
    POSTROUTING = "postrouting"


class ChainType(StrEnum):
    FILTER = "filter"
    NAT = "nat"


class Policy(StrEnum):
    ACCEPT = "accept"
    DROP = "drop"


# Standard priority names (nft(8), "PRIORITY"): base chains are rendered with these plus an offset.
PRIORITY_NAMES = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}

NAME_MAX = 64  # our own bound; the kernel allows 256. Every name we emit is far shorter.
COMMENT_MAX = 128  # nft(8) refuses longer comments
_NAME_RE = re.compile(r"^[a-z][a-z0-9_./-]*$")
_REF_RE = re.compile(r"@([a-z][a-z0-9_./-]*)")
_VERDICT_RE = re.compile(r"^((jump|goto) [a-z][a-z0-9_./-]*|accept|drop|return|continue)$")
_PLAIN_COMMENT_RE = re.compile(r"[ !#-\[\]-~]*")  # printable ASCII except `"` and `\`
_BAD_ATOM_RE = re.compile(r'[\s"#{};,@]')  # would end an element, a statement, a string or the set; @set
_JUMP_RE = re.compile(r"\b(?:jump|goto) ([a-z][a-z0-9_./-]*)")


def check_name(name: str) -> str:
    if len(name) > NAME_MAX or not _NAME_RE.fullmatch(name):
        raise IRError(f"invalid nftables name {name!r}: must match {_NAME_RE.pattern}, at most {NAME_MAX} bytes")
    return name


def safe_comment(text: str) -> str:
    """Text that can sit inside nftables double quotes: printable ASCII, no quotes, at most 128 bytes.

    nftables strings have no escapes, so a `"` would end the string; newlines and control characters
    would end the statement. Non-ASCII characters are written as `<U+XXXX>` so the meaning
    survives in review.
    """
    if len(text) <= COMMENT_MAX and _PLAIN_COMMENT_RE.fullmatch(text):
        return text  # the common case: printable ASCII without quote or backslash
    out = []
    for ch in text:
        if ch == '"':
            out.append("'")
        elif ch == "\\":
            out.append("/")
        elif " " <= ch <= "~":
            out.append(ch)
        elif ch in "\t\r\n" or unicodedata.category(ch).startswith("C"):
            out.append(" ")
        else:
            out.append(f"<U+{ord(ch):04X}>")
    result = "".join(out)
    if len(result) > COMMENT_MAX:
        result = result[: COMMENT_MAX - 3] + "..."
    return result


def quote(text: str) -> str:
    """`text` as an nftables string: in double quotes, made safe by `safe_comment`."""
    return f'"{safe_comment(text)}"'


# Where nft(8) allows each standard priority name (family inet): dstnat only at prerouting, srcnat only
# at postrouting; elsewhere a base chain gives its priority as a number.
_NAME_HOOKS = {"dstnat": {"prerouting"}, "srcnat": {"postrouting"}}


@dataclass(frozen=True, slots=True)
class BaseChain:
    """What makes a chain a base chain: attached to a hook with a type and a priority."""

    type: ChainType
    hook: Hook
    priority: str  # "dstnat", "filter - 10", or a number such as "-100"
    policy: Policy = Policy.ACCEPT

    def __post_init__(self) -> None:
        if re.fullmatch(r"-?\d+", self.priority):
            return
        base, _, offset = self.priority.partition(" ")
        if base not in PRIORITY_NAMES or (offset and not re.fullmatch(r"[+-] \d+", offset)):
            raise IRError(f"invalid priority {self.priority!r}")
        if self.hook.value not in _NAME_HOOKS.get(base, {h.value for h in Hook}):
            raise IRError(f"priority {base} is not allowed at hook {self.hook}: give a number")

    @property
    def priority_value(self) -> int:
        if re.fullmatch(r"-?\d+", self.priority):
            return int(self.priority)
        base, _, offset = self.priority.partition(" ")
        value = PRIORITY_NAMES[base]
        if offset:
            sign, number = offset.split(" ")
            value += int(number) if sign == "+" else -int(number)
        return value


@dataclass(frozen=True, slots=True)
class Rule:
    text: str  # nftables statements, e.g. `ip daddr . meta l4proto . th dport vmap @service-ips-v4`
    comment: str | None = None

    def __post_init__(self) -> None:
        # A newline or `;` would start another statement, `#` a comment, `"` a string: none is ever needed.
        if not self.text or any(c in self.text for c in '\n;#"'):
            raise IRError(f"invalid rule text {self.text!r}")


@dataclass(slots=True)
class Chain:
    name: str
    comment: str | None = None
    base: BaseChain | None = None
    rules: list[Rule] = field(default_factory=list)


@dataclass(slots=True)  # not frozen: a frozen __init__ is 3x slower, and 10k Services make 230k elements
class Element:
    """A set element (`key`) or a map element (`key : value`); keys are concatenations of atoms."""

    key: tuple[str, ...]
    value: tuple[str, ...] | None = None
    comment: str | None = None

    @property
    def key_text(self) -> str:
        return " . ".join(self.key)

    @property
    def value_text(self) -> str:
        return " . ".join(self.value) if self.value is not None else ""

    @property
    def text(self) -> str:
        """The element as written in `elements = { ... }`: key, comment, and `: value` in a map."""
        text = self.key_text
        if self.comment:
            text += " comment " + quote(self.comment)
        if self.value is not None:
            text += " : " + self.value_text
        return text


@dataclass(slots=True)
class Set:
    """A named set or map. `type` is either `type <datatypes>` or `typeof <expressions>` syntax."""

    name: str
    key: str  # e.g. "type ipv4_addr" or "typeof ip daddr . meta l4proto . th dport"
    value: str | None = None  # map values: "verdict", "ip daddr . th dport" (same keyword as key)
    flags: tuple[str, ...] = ()
    comment: str | None = None
    timeout: int | None = None  # seconds, for dynamic sets
    elements: list[Element] = field(default_factory=list)

    @property
    def size(self) -> int | None:
        """The `size` a set given all its elements is declared with: the kernel then makes its hash table
        that large at once instead of growing it while 100k elements go in (measured: 0.13 s of 1.77 s
        for 10k Services). A size is also a limit, so sets the ruleset adds to at run time (`update
        @set`) have none, nor do interval sets (the kernel may hold a range as two elements)."""
        if not self.elements or {"dynamic", "timeout", "interval"} & set(self.flags):
            return None
        return len(self.elements)

    @property
    def is_map(self) -> bool:
        return self.value is not None

    @property
    def declaration(self) -> str:
        return f"{self.key} : {self.value}" if self.value is not None else self.key


_ALLOWED_FLAGS = {"interval", "timeout", "dynamic", "constant"}


@dataclass(slots=True)
class Table:
    """netcompile's own table: everything the compiler emits lives in it."""

    name: str
    family: Family = Family.INET
    comment: str | None = None
    chains: dict[str, Chain] = field(default_factory=dict)
    sets: dict[str, Set] = field(default_factory=dict)
    _good_atoms: set[str] = field(default_factory=set, repr=False, compare=False)  # checked element atoms

    def __post_init__(self) -> None:
        check_name(self.name)

    def add_chain(self, name: str, comment: str | None = None, base: BaseChain | None = None) -> Chain:
        check_name(name)
        if name in self.chains or name in self.sets:
            raise IRError(f"duplicate object name {name!r}")
        chain = Chain(name, comment, base)
        self.chains[name] = chain
        return chain

    def chain(self, name: str, comment: str | None = None) -> Chain:
        """The regular chain `name`, created on first use."""
        return self.chains.get(name) or self.add_chain(name, comment)

    def add_rule(self, chain: str, text: str, comment: str | None = None) -> None:
        if chain not in self.chains:
            raise IRError(f"rule for unknown chain {chain!r}")
        self.chains[chain].rules.append(Rule(text, comment))

    def add_set(self, item: Set) -> Set:
        check_name(item.name)
        if item.name in self.sets or item.name in self.chains:
            raise IRError(f"duplicate object name {item.name!r}")
        if not (item.key.startswith("type ") or item.key.startswith("typeof ")):
            raise IRError(f"set {item.name!r}: key must start with 'type' or 'typeof'")
        unknown = set(item.flags) - _ALLOWED_FLAGS
        if unknown:
            raise IRError(f"set {item.name!r}: unknown flags {sorted(unknown)}")
        self.sets[item.name] = item
        return item

    def add_element(self, set_name: str, element: Element) -> None:
        self.add_elements(set_name, (element,))

    def add_elements(self, set_name: str, elements: Iterable[Element]) -> None:
        target = self.sets.get(set_name)
        if target is None:
            raise IRError(f"element for unknown set {set_name!r}")
        is_map, verdicts, good = target.is_map, target.value == "verdict", self._good_atoms
        for element in elements:
            value = element.value
            if is_map != (value is not None):
                raise IRError(f"element {element.key_text!r} does not fit {set_name!r}")
            # Atoms repeat (addresses, ports, indexes): each distinct one is checked once per table.
            for atom in element.key:
                if atom not in good:
                    if not atom or _BAD_ATOM_RE.search(atom):
                        raise IRError(f"invalid element key {element.key!r} in {set_name!r}")
                    good.add(atom)
            if value is not None:
                if verdicts:
                    if len(value) != 1 or not _VERDICT_RE.fullmatch(value[0]):
                        raise IRError(f"invalid verdict {value!r} in {set_name!r}")
                else:
                    for atom in value:
                        if atom not in good:
                            if not atom or _BAD_ATOM_RE.search(atom):
                                raise IRError(f"invalid element value {value!r} in {set_name!r}")
                            good.add(atom)
            target.elements.append(element)

    def finish(self) -> Table:
        """Check cross references; returns self so `render(table.finish())` reads well."""
        for chain in self.chains.values():
            for rule in chain.rules:
                self._check_refs(rule.text, f"chain {chain.name!r}")
        for s in self.sets.values():
            if s.value == "verdict":  # other values cannot name a chain or set (`add_element`)
                for element in s.elements:
                    self._check_refs(element.value[0], f"map {s.name!r}")  # type: ignore[index]
        return self

    def _check_refs(self, text: str, where: str) -> None:
        for ref in _REF_RE.findall(text):
            if ref not in self.sets:
                raise IRError(f"{where} refers to unknown set @{ref}")
        for ref in _JUMP_RE.findall(text):
            if ref not in self.chains:
                raise IRError(f"{where} refers to unknown chain {ref}")
            if self.chains[ref].base is not None:
                raise IRError(f"{where} jumps to base chain {ref}")

    @property
    def base_chains(self) -> list[Chain]:
        return [c for c in self.chains.values() if c.base is not None]
