"""A small typed object model of nftables: table, chains, rules, sets, maps, elements, comments.

The compiler builds a `Table` whose rules are typed statements (`statements.py`); `render.py` turns it
into nftables text, with `syntax.py` for the statements, declarations and elements. Objects are
validated when they are added (cf. knftables): names are nftables identifiers, a base chain has a type,
a hook and a priority, a verdict ends its rule, element atoms cannot end an element or a statement, and
every `@set`, `jump`/`goto` and verdict-map target a rule or element refers to exists by the time the
table is finished. Comments are made safe when quoted (`syntax.quote`). The IR
knows nothing of Kubernetes; it only carries comments that cite the source objects.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..values import Frozen, Record, set_field
from . import syntax
from .identifiers import NAME_MAX, IRError, check_name
from .statements import (
    STATEMENT_TYPES,
    TERMINAL_TYPES,
    VERDICTS,
    SetRef,
    SetType,
    Statement,
    Verdict,
    VerdictKind,
    references,
)
from .types import ChainType, Hook, Policy, SetFlag, TableFamily

__all__ = [
    "NAME_MAX",
    "BaseChain",
    "Block",
    "Chain",
    "ChainType",
    "Element",
    "Elements",
    "Hook",
    "IRError",
    "Policy",
    "Rule",
    "Set",
    "Table",
    "check_name",
]

# Standard priority names (nft(8), "PRIORITY"): base chains are rendered with these plus an offset.
PRIORITY_NAMES = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}

_BAD_ATOM_RE = re.compile(r'[\s"#{};,@]')  # would end an element, a statement, a string or the set; @set


# Where nft(8) allows each standard priority name (family inet): dstnat only at prerouting, srcnat only
# at postrouting; elsewhere a base chain gives its priority as a number.
_NAME_HOOKS = {"dstnat": {"prerouting"}, "srcnat": {"postrouting"}}


@dataclass(init=False, slots=True, eq=False, repr=False)
class BaseChain(Frozen):
    """What makes a chain a base chain: attached to a hook with a type and a priority."""

    type: ChainType
    hook: Hook
    priority: str  # "dstnat", "filter - 10", or a number such as "-100"
    policy: Policy = Policy.ACCEPT

    def __init__(self, type: ChainType, hook: Hook, priority: str, policy: Policy = Policy.ACCEPT) -> None:
        set_field(self, "type", type)
        set_field(self, "hook", hook)
        set_field(self, "priority", priority)
        set_field(self, "policy", policy)
        self.__post_init__()

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


@dataclass(init=False, slots=True, eq=False, repr=False)
class Rule(Frozen):
    """A rule: typed statements (`statements.py`), the last of them a verdict if any is."""

    statements: tuple[Statement, ...]
    comment: str | None = None
    # the sets and verdicts its statements name, in order (`statements.references`): what the table checks
    references: tuple[SetRef | Verdict, ...] = field(init=False, repr=False, compare=False)

    def __init__(self, statements: tuple[Statement, ...], comment: str | None = None) -> None:
        set_field(self, "statements", statements)
        set_field(self, "comment", comment)
        self.__post_init__()

    def __post_init__(self) -> None:
        if not self.statements:
            raise IRError("a rule without statements")
        found: list[SetRef | Verdict] = []
        for index, item in enumerate(self.statements):
            if not isinstance(item, STATEMENT_TYPES):
                raise IRError(f"not a statement: {item!r}")
            if isinstance(item, TERMINAL_TYPES) and index != len(self.statements) - 1:
                raise IRError(f"a statement after the verdict of {syntax.statements(self.statements)!r}")
            found += references(item)
        set_field(self, "references", tuple(found))

    @property
    def text(self) -> str:
        """The statements as nftables text, without the comment."""
        return syntax.statements(self.statements)


# The containers of the IR (Chain, Element, Set, Table) are classes on `values.Record` (its repr, and equality
# of the fields it names) that write their own `__init__`, rather than dataclasses that generate them: the
# compiler is imported on `matrix`'s critical path, and a dataclass generates its methods with `exec`
# (about 0.4 ms a class).


class Chain(Record):
    """A chain: regular, or a base chain (`base`); its rules in order."""

    _fields = ("name", "comment", "base", "rules")
    __slots__ = _fields
    name: str
    comment: str | None
    base: BaseChain | None
    rules: list[Rule]

    def __init__(
        self, name: str, comment: str | None = None, base: BaseChain | None = None, rules: list[Rule] | None = None
    ) -> None:
        self.name = name
        self.comment = comment
        self.base = base
        self.rules = [] if rules is None else rules


@dataclass(init=False, slots=True, eq=False, repr=False)  # (a dataclass: `dataclasses.replace` makes variants)
class Element(Record):  # not frozen: 10k Services make 230k elements
    """A set element (`key`) or a map element (`key : value`); keys are concatenations of atoms.

    Atoms are strings (addresses, prefixes, protocols, ports, indexes) written as they are, so that an
    element costs no parsing; the table checks each distinct atom once. A verdict map's value is one
    `Verdict`.
    """

    _fields = ("key", "value", "comment")  # compared and shown (`Record`)
    key: tuple[str, ...]
    value: tuple[str, ...] | tuple[Verdict] | None = None
    comment: str | None = None
    # Its line in `elements = { ... }`, kept by `render.py` once written: an element is not changed once
    # made, and a part of the ruleset every node shares (`compile/reuse.py`) holds the same elements in
    # every node's table, so each is written once for them all.
    line: str | None = field(default=None, init=False, repr=False, compare=False)

    def __init__(
        self, key: tuple[str, ...], value: tuple[str, ...] | tuple[Verdict] | None = None, comment: str | None = None
    ) -> None:
        self.key = key
        self.value = value
        self.comment = comment
        self.line = None

    @property
    def key_text(self) -> str:
        return " . ".join(self.key)

    @property
    def value_text(self) -> str:
        return syntax.element_value(self.value) if self.value is not None else ""

    @property
    def text(self) -> str:
        """The element as written in `elements = { ... }`: key, comment, and `: value` in a map."""
        return syntax.element(self)


class Block:
    """Elements that the sets of several tables hold in this order (compile/reuse.py: the Services every
    node's ruleset has alike): their lines are written once, for them all (`text`, kept by render.py)."""

    __slots__ = ("elements", "text")

    def __init__(self, elements: list[Element]) -> None:
        self.elements = elements
        self.text: str | None = None


class Elements(list[Element]):
    """A set's elements, and where runs of them come from a `Block` (`Table.add_block`): (the index of the
    block's first element, the block)."""

    __slots__ = ("blocks",)

    def __init__(self, items: Iterable[Element] = ()) -> None:
        super().__init__(items)
        self.blocks: list[tuple[int, Block]] = []


class Set(Record):
    """A named set, or a map when it has a `value_type`. Keys and values are typed (`Types`, `TypeOf`)."""

    _fields = ("name", "key_type", "value_type", "flags", "comment", "timeout", "elements")
    __slots__ = _fields
    name: str
    key_type: SetType  # e.g. Types((IPV4_ADDR,)), TypeOf(ip daddr . meta l4proto . th dport)
    value_type: SetType | None  # maps: VERDICTS, or the data the key maps to
    flags: tuple[SetFlag, ...]
    comment: str | None
    timeout: int | None  # seconds, for dynamic sets
    elements: list[Element]  # an `Elements` unless given

    def __init__(
        self,
        name: str,
        key_type: SetType,
        value_type: SetType | None = None,
        flags: tuple[SetFlag, ...] = (),
        comment: str | None = None,
        timeout: int | None = None,
        elements: list[Element] | None = None,
    ) -> None:
        self.name = name
        self.key_type = key_type
        self.value_type = value_type
        self.flags = flags
        self.comment = comment
        self.timeout = timeout
        self.elements = Elements() if elements is None else elements

    @property
    def key(self) -> str:
        """The key as declared: `type ipv4_addr`, `typeof ip daddr . meta l4proto . th dport`."""
        return syntax.set_key(self.key_type)

    @property
    def value(self) -> str | None:
        """A map's values as declared (`verdict`, `ip daddr . th dport`); None for a set."""
        return None if self.value_type is None else syntax.set_value(self.value_type)

    @property
    def size(self) -> int | None:
        """The `size` a set given all its elements is declared with: the kernel then makes its hash table
        that large at once instead of growing it while 100k elements go in (measured: 0.13 s of 1.77 s
        for 10k Services). A size is also a limit, so sets the ruleset adds to at run time (`update
        @set`) have none, nor do interval sets (the kernel may hold a range as two elements). The size
        leaves room for the set to double (the power of two at or above twice the elements, less one):
        a delta (nft/delta.py) can then add elements in place, as the kernel holds a set to its old size
        until the transaction commits."""
        if not self.elements or _UNSIZED & set(self.flags):
            return None
        return 1 << (2 * len(self.elements) - 1).bit_length()

    @property
    def is_map(self) -> bool:
        return self.value_type is not None

    @property
    def is_verdict_map(self) -> bool:
        return self.value_type == VERDICTS

    @property
    def declaration(self) -> str:
        return syntax.declaration(self)


_UNSIZED = {SetFlag.DYNAMIC, SetFlag.TIMEOUT, SetFlag.INTERVAL}
_FLAGS = frozenset(SetFlag)


class Table(Record):
    """netcompile's own table: everything the compiler emits lives in it."""

    _fields = ("name", "family", "comment", "chains", "sets")
    __slots__ = (*_fields, "_good_atoms", "keep_lines")
    name: str
    family: TableFamily
    comment: str | None
    chains: dict[str, Chain]
    sets: dict[str, Set]
    _good_atoms: set[str]  # checked element atoms
    # Its elements' lines are kept on them once written (render.py): set when other nodes' tables hold the
    # same elements (compile/reuse.py), so that each is written once for all; else the kept lines would
    # only cost memory.
    keep_lines: bool

    def __init__(
        self,
        name: str,
        family: TableFamily = TableFamily.INET,
        comment: str | None = None,
        chains: dict[str, Chain] | None = None,
        sets: dict[str, Set] | None = None,
    ) -> None:
        self.name = check_name(name)
        self.family = family
        self.comment = comment
        self.chains = {} if chains is None else chains
        self.sets = {} if sets is None else sets
        self._good_atoms = set()
        self.keep_lines = False

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

    def add_rule(self, chain: str, *statements: Statement, comment: str | None = None) -> Rule:
        """A rule of `statements` at the end of `chain`; the sets and chains it names must be valid names
        (that they exist is checked by `finish`, since a rule may be added before its target). Returns
        the rule, which other chains may end with too (`append_rule`)."""
        if chain not in self.chains:
            raise IRError(f"rule for unknown chain {chain!r}")
        rule = Rule(statements, comment)
        for node in rule.references:
            if isinstance(node, SetRef):
                check_name(node.name)
            elif node.chain is not None:
                check_name(node.chain)
        self.chains[chain].rules.append(rule)
        return rule

    def append_rule(self, chain: str, rule: Rule) -> None:
        """`rule`, made by `add_rule` for another chain of this table, at the end of `chain` too: a rule is
        a value, which several chains may share (the chains of groups of pods that look up the same set)."""
        target = self.chains.get(chain)
        if target is None:
            raise IRError(f"rule for unknown chain {chain!r}")
        target.rules.append(rule)

    def add_set(self, item: Set) -> Set:
        check_name(item.name)
        if item.name in self.sets or item.name in self.chains:
            raise IRError(f"duplicate object name {item.name!r}")
        unknown = set(item.flags) - _FLAGS
        if unknown:
            raise IRError(f"set {item.name!r}: unknown flags {sorted(unknown)}")
        self.sets[item.name] = item
        return item

    def add_element(self, set_name: str, element: Element) -> None:
        self.add_elements(set_name, (element,))

    def add_elements(self, set_name: str, elements: Iterable[Element]) -> None:
        """`elements` at the end of the set `set_name`, checked as a batch (IRError, and none added, when
        one does not fit the set, or has an atom that would end an element or a statement)."""
        target = self.sets.get(set_name)
        if target is None:
            raise IRError(f"element for unknown set {set_name!r}")
        items = list(elements)
        values = [element.value for element in items]
        is_map = target.is_map
        without = values.count(None)  # elements without a value: a set's
        if without if is_map else without != len(values):
            misfit = next(e for e in items if (e.value is not None) != is_map)
            raise IRError(f"element {misfit.key_text!r} does not fit {set_name!r}")
        # Atoms repeat (addresses, ports, indexes): each distinct one is checked once per table.
        good = self._good_atoms
        keys = [element.key for element in items]
        if not good.issuperset(itertools.chain.from_iterable(keys)):
            for key in keys:
                for atom in key:
                    if atom not in good:
                        if type(atom) is not str or not atom or _BAD_ATOM_RE.search(atom):
                            raise IRError(f"invalid element key {key!r} in {set_name!r}")
                        good.add(atom)
        if is_map:
            verdicts = target.is_verdict_map
            for value in {id(value): value for value in values}.values():  # (elements share values: verdicts)
                if value is None:  # (none is: checked above)
                    continue
                if verdicts:
                    if len(value) != 1 or type(value[0]) is not Verdict:
                        raise IRError(f"invalid verdict {value!r} in {set_name!r}")
                else:
                    for item in value:
                        if item not in good:
                            if type(item) is not str or not item or _BAD_ATOM_RE.search(item):
                                raise IRError(f"invalid element value {value!r} in {set_name!r}")
                            good.add(item)
        target.elements += items

    def extend_elements(self, set_name: str, elements: list[Element]) -> None:
        """Elements `add_elements` has checked already, into a set of the same name and kind in another
        node's table (`compile/reuse.py` replays a part of the ruleset that does not depend on the node):
        added as they are."""
        target = self.sets.get(set_name)
        if target is None:
            raise IRError(f"element for unknown set {set_name!r}")
        if elements and target.is_map != (elements[0].value is not None):
            raise IRError(f"element {elements[0].key_text!r} does not fit {set_name!r}")
        target.elements += elements

    def add_block(self, set_name: str, block: Block) -> None:
        """`extend_elements` with the elements of `block`, marked as its: rendered with its text."""
        self.extend_elements(set_name, block.elements)
        elements = self.sets[set_name].elements
        if block.elements and isinstance(elements, Elements):
            elements.blocks.append((len(elements) - len(block.elements), block))

    def finish(self) -> Table:
        """Check cross references; returns self so `render(table.finish())` reads well."""
        checked_rules: set[int] = set()  # (chains share rules: `append_rule`)
        for chain in self.chains.values():
            for rule in chain.rules:
                if id(rule) in checked_rules:
                    continue
                checked_rules.add(id(rule))
                for node in rule.references:
                    if isinstance(node, SetRef):
                        self._check_set(node.name, f"chain {chain.name!r}")
                    else:
                        self._check_verdict(node, f"chain {chain.name!r}")
        for s in self.sets.values():
            if s.is_verdict_map:  # other values cannot name a chain or set (`add_element`)
                checked: set[int] = set()
                for element in s.elements:
                    target = element.value[0]  # type: ignore[index]
                    if id(target) not in checked:  # verdicts are shared: `statements.goto`
                        self._check_verdict(target, f"map {s.name!r}")  # type: ignore[arg-type]
                        checked.add(id(target))
        return self

    def _check_set(self, name: str, where: str) -> None:
        if name not in self.sets:
            raise IRError(f"{where} refers to unknown set @{name}")

    def _check_verdict(self, verdict: Verdict, where: str) -> None:
        if verdict.kind not in (VerdictKind.JUMP, VerdictKind.GOTO):
            return
        target = self.chains.get(verdict.chain)  # type: ignore[arg-type]  # jump/goto name a chain
        if target is None:
            raise IRError(f"{where} refers to unknown chain {verdict.chain}")
        if target.base is not None:
            raise IRError(f"{where} jumps to base chain {verdict.chain}")

    @property
    def base_chains(self) -> list[Chain]:
        return [c for c in self.chains.values() if c.base is not None]
