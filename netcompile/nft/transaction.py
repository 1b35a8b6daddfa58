"""Transactions over the IR, in the style of knftables: an ordered list of operations on netcompile's
table, loaded as one libnftables transaction (all of it, or nothing).

    tx = Transaction("inet", "netcompile")
    tx.add(chain)                      add chain inet netcompile c { comment "..."; type ... }
    tx.add(set_)                       add set|map inet netcompile s { type ...; elements = { ... } }
    tx.add_rule(chain, rule)           add rule inet netcompile c <statements> comment "..."
    tx.add_elements(set_, [e])         add element inet netcompile s { <Element.text>, ... }
    tx.delete_elements(set_, [e])      delete element inet netcompile s { <Element.key_text>, ... }
    tx.flush(chain), tx.delete(set_), tx.create(...), ...
    tx.render()                        the script, through templates/transaction.nft.j2

`full(table)` is today's replacement script as a transaction; `delta(old, new)` the transaction that
turns table `old`, as loaded, into table `new`. Every piece of nftables text comes from the IR
(`syntax.rule`, `Element.text`, `Set.declaration`, `syntax.quote`: nft/syntax.py) and the template
`templates/transaction.nft.j2`, which lays out the commands; this module only chooses and orders them.

What the kernel allows in place, and so what a delta can do without re-creating (measured on 6.18):
- elements are added and deleted one by one; a changed element (value or comment) is deleted and added;
- `add set` with an unchanged declaration updates the set's `size` (also from none to some) when the
  transaction commits. Until then the old size limits the elements, so a set that grows beyond its
  old `size` must be re-created: with sets sized exactly to their elements (`Set.size` today) every
  growing set is re-created, and a delta is only constant-size when sizes leave headroom;
- `add chain` on a base chain updates its policy; any other change of a chain (comment, type, hook,
  priority) and any change of a set's declaration (key, value, flags, timeout, comment) needs the
  object deleted and created again, which needs every rule and element that refers to it gone first;
- a table's comment cannot change in place: then the delta is the full replacement.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from .ir import Chain, Element, Rule, Set, Table
from .render import environment


class Verb(StrEnum):
    ADD = "add"  # create, or leave (or update what can be updated) when it exists
    CREATE = "create"  # create; fails when it exists
    FLUSH = "flush"  # empty a chain of its rules, a set of its elements
    DELETE = "delete"  # remove; fails when it does not exist (or is still referred to)


@dataclass(frozen=True, slots=True)
class TableOp:
    verb: Verb
    comment: str | None = None  # with add/create: the table's comment
    kind: str = field(default="table", init=False)


@dataclass(frozen=True, slots=True)
class ChainOp:
    verb: Verb
    chain: Chain  # with add/create: its declaration (comment, base) without rules
    kind: str = field(default="chain", init=False)


@dataclass(frozen=True, slots=True)
class SetOp:
    verb: Verb
    set: Set  # with add/create: its declaration, and its elements when `elements`
    elements: bool = True
    kind: str = field(default="set", init=False)


@dataclass(frozen=True, slots=True)
class RuleOp:
    chain: str  # appended at the end of this chain
    rule: Rule
    verb: Verb = field(default=Verb.ADD, init=False)
    kind: str = field(default="rule", init=False)


@dataclass(frozen=True, slots=True)
class ElementOp:
    verb: Verb  # add or delete
    set: Set
    elements: tuple[Element, ...]
    kind: str = field(default="element", init=False)


Operation = TableOp | ChainOp | SetOp | RuleOp | ElementOp


class TransactionError(ValueError):
    """An operation that nftables has no command for (a compiler bug, never user input)."""


@dataclass(slots=True)
class Transaction:
    """Operations on table `family name`, in order; `render` makes them one nftables script."""

    family: str
    table: str
    operations: list[Operation] = field(default_factory=list)

    def __len__(self) -> int:
        """The number of statements (top-level commands) the script will hold."""
        return len(self.operations)

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.operations)

    @property
    def items(self) -> int:
        """The rules and elements the statements carry: with `len`, the size of the work."""
        count = 0
        for op in self.operations:
            if isinstance(op, ElementOp):
                count += len(op.elements)
            elif isinstance(op, SetOp) and op.verb in (Verb.ADD, Verb.CREATE) and op.elements:
                count += len(op.set.elements)
            elif isinstance(op, RuleOp):
                count += 1
        return count

    def _object(self, verb: Verb, obj: Table | Chain | Set, elements: bool = True) -> None:
        if isinstance(obj, Table):
            if (obj.family, obj.name) != (self.family, self.table):
                raise TransactionError(f"table {obj.family} {obj.name} is not this transaction's table")
            self.operations.append(TableOp(verb, obj.comment if verb in (Verb.ADD, Verb.CREATE) else None))
        elif isinstance(obj, Chain):
            self.operations.append(ChainOp(verb, obj))
        else:
            self.operations.append(SetOp(verb, obj, elements))

    def add(self, obj: Table | Chain | Set, *, elements: bool = True) -> None:
        """Declare `obj`: a table with its comment, a chain without its rules, a set or map with its
        elements unless `elements=False` (on an existing set: an update of its size)."""
        self._object(Verb.ADD, obj, elements)

    def create(self, obj: Table | Chain | Set, *, elements: bool = True) -> None:
        self._object(Verb.CREATE, obj, elements)

    def flush(self, obj: Table | Chain | Set) -> None:
        self._object(Verb.FLUSH, obj)

    def delete(self, obj: Table | Chain | Set) -> None:
        self._object(Verb.DELETE, obj)

    def add_rule(self, chain: Chain | str, rule: Rule) -> None:
        self.operations.append(RuleOp(chain if isinstance(chain, str) else chain.name, rule))

    def add_elements(self, target: Set, elements: Iterable[Element]) -> None:
        chosen = tuple(elements)
        if chosen:
            self.operations.append(ElementOp(Verb.ADD, target, chosen))

    def delete_elements(self, target: Set, elements: Iterable[Element]) -> None:
        chosen = tuple(elements)
        if chosen:
            self.operations.append(ElementOp(Verb.DELETE, target, chosen))

    def render(self, header: Iterable[str] = ()) -> str:
        """The nftables script: one statement per operation, in order, one element per line."""
        template = environment().get_template("transaction.nft.j2")
        return template.render(tx=self, header=list(header))


# --- the full replacement ------------------------------------------------------------------------------


def full(table: Table) -> Transaction:
    """Today's replacement script as a transaction: create the table if missing (so the delete cannot
    fail), delete it, and define it again: chains (empty), sets with their elements, then the rules;
    the order libnftables itself uses for a `table { ... }` block, so the listing is the same."""
    tx = Transaction(table.family, table.name)
    tx.operations.append(TableOp(Verb.ADD))
    tx.operations.append(TableOp(Verb.DELETE))
    tx.add(table)
    for chain in table.chains.values():
        tx.add(chain)
    for item in table.sets.values():
        tx.add(item)
    for chain in table.chains.values():
        for rule in chain.rules:
            tx.add_rule(chain, rule)
    return tx


# --- the delta ------------------------------------------------------------------------------------------

# What a rule or a verdict refers to: `@set` (lookups, vmaps, maps) and `jump`/`goto` chain.
_SET_REF = re.compile(r"@([A-Za-z][A-Za-z0-9_./-]*)")
_CHAIN_REF = re.compile(r"\b(?:jump|goto) ([A-Za-z][A-Za-z0-9_./-]*)")


def _refers(text: str, sets: set[str], chains: set[str]) -> bool:
    return any(m in sets for m in _SET_REF.findall(text)) or any(m in chains for m in _CHAIN_REF.findall(text))


def _same_declaration(a: Set, b: Set) -> bool:
    """Everything but the elements and the size: what the kernel cannot change in place."""
    return (a.key, a.value, a.flags, a.timeout, a.comment) == (b.key, b.value, b.flags, b.timeout, b.comment)


def _set_kept(old: Set, new: Set) -> bool:
    """Can `old` become `new` in place? Same declaration, the new elements fit the old size (which holds
    until the transaction commits), and a size the kernel can move to (none cannot be written)."""
    fits = old.size is None or len(new.elements) <= old.size
    return _same_declaration(old, new) and fits and (new.size is not None or old.size is None)


def _unreferable(item: Set) -> bool:
    """nft 1.0.6 cannot add a rule that refers to an existing `typeof` map whose value names `th` (it
    says "conflicting protocols specified: ip vs. th"); in the transaction that creates the map it can.
    Such a map is re-created whenever a rule using it is added (`typeof ... : ip daddr . tcp dport`,
    the same data type, has no such trouble)."""
    return item.key.startswith("typeof") and re.search(r"\bth\b", item.value or "") is not None


def _chain_kept(old: Chain, new: Chain) -> bool:
    """Can `old` become `new` in place (rules aside)? Same comment, and same type, hook and priority."""
    if old.comment != new.comment or (old.base is None) != (new.base is None):
        return False
    if old.base is None or new.base is None:
        return True
    a, b = old.base, new.base
    return (a.type, a.hook, a.priority_value) == (b.type, b.hook, b.priority_value)


def _element_changes(old: Set, new: Set, gone_chains: set[str]) -> tuple[list[Element], list[Element]]:
    """Elements of `old` to delete and of `new` to add: by key; a changed value or comment, or a verdict
    naming a chain about to be re-created, is a delete and an add."""
    verdicts = old.is_map and bool(gone_chains)
    new_by_key = {e.key: e for e in new.elements}
    stale: set[tuple[str, ...]] = set()
    removed: list[Element] = []
    for e in old.elements:
        other = new_by_key.get(e.key)
        same = other is not None and other.value == e.value and other.comment == e.comment
        if same and not (verdicts and _refers(e.value_text, set(), gone_chains)):
            continue
        removed.append(e)
        stale.add(e.key)
    old_keys = {e.key for e in old.elements}
    added = [e for e in new.elements if e.key not in old_keys or e.key in stale]
    return removed, added


def delta(old: Table, new: Table) -> Transaction:
    """The one transaction that turns table `old`, as loaded, into table `new` (empty when they are the
    same); its size depends on what changed, not on the size of the tables.

    In order: delete the elements that go; flush the chains whose rules change or refer to something
    re-created, and the chains that go; delete the sets, then the chains that go or are re-created
    (nothing refers to them any more); add the new chains (empty) and update base chain policies; add
    the new sets with their elements and update sizes; add the elements that come; fill the chains.
    """
    if (old.family, old.name, old.comment) != (new.family, new.name, new.comment):
        return full(new)
    tx = Transaction(new.family, new.name)
    gone_sets = {n for n, s in old.sets.items() if n not in new.sets or not _set_kept(s, new.sets[n])}
    gone_chains = {n for n, c in old.chains.items() if n not in new.chains or not _chain_kept(c, new.chains[n])}
    while True:  # until no map must be re-created for the rules that are added
        refill = [
            n
            for n, c in new.chains.items()
            if n in old.chains
            and n not in gone_chains
            and (
                c.rules != old.chains[n].rules
                or any(_refers(r.text, gone_sets, gone_chains) for r in old.chains[n].rules)
            )
        ]
        refilled = set(refill)
        filled = [c for n, c in new.chains.items() if n not in old.chains or n in gone_chains or n in refilled]
        used = {m for c in filled for r in c.rules for m in _SET_REF.findall(r.text)}
        more = {m for m in used if m in old.sets and m not in gone_sets and _unreferable(new.sets[m])}
        if not more:
            break
        gone_sets |= more
    kept_sets = [(old.sets[n], s) for n, s in new.sets.items() if n in old.sets and n not in gone_sets]
    changes = [(o, n, *_element_changes(o, n, gone_chains)) for o, n in kept_sets]

    for o, _, removed, _ in changes:
        tx.delete_elements(o, removed)
    for name in [*(n for n in old.chains if n in gone_chains), *refill]:
        tx.flush(old.chains[name])
    for name in (n for n in old.sets if n in gone_sets):
        tx.delete(old.sets[name])
    for name in (n for n in old.chains if n in gone_chains):
        tx.delete(old.chains[name])

    for name, chain in new.chains.items():
        if name not in old.chains or name in gone_chains:
            tx.add(chain)
        elif chain.base is not None and chain.base != old.chains[name].base:
            tx.add(chain)  # only the policy differs (else it is re-created): the kernel updates it in place
    for name, item in new.sets.items():
        if name not in old.sets or name in gone_sets:
            tx.add(item)
    for o, n, _, added in changes:
        if o.size != n.size:
            tx.add(n, elements=False)  # the new size, from commit on
        tx.add_elements(n, added)
    for name, chain in new.chains.items():
        if name not in old.chains or name in gone_chains or name in refilled:
            for rule in chain.rules:
                tx.add_rule(chain, rule)
    return tx
