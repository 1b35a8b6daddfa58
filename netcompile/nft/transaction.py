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

`full(table)` is today's replacement script as a transaction. `delta(old, new)`, the transaction that
turns table `old`, as loaded, into table `new`, is `nft/delta.py`'s: it works on rulesets as netcompile
wrote them (`nft/reader.py`), so that `compile --since OLD.nft` needs nothing but the file. Every piece of
nftables text comes from the IR (`syntax.rule`, `Element.text`, `Set.declaration`, `syntax.quote`:
nft/syntax.py) and the template `templates/transaction.nft.j2`, which lays out the commands; this module
only chooses and orders them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from .delta import Delta, between
from .ir import Chain, Element, Rule, Set, Table
from .reader import GENERATED, read
from .render import environment, render


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


# --- the delta ---------------------------------------------------------------------------------------------


def delta(old: Table, new: Table) -> Delta:
    """The one transaction that turns table `old`, as loaded, into table `new`: `nft/delta.py`, between the
    two tables as rendered (each stamped with its fingerprint, which the delta checks first)."""
    header = [GENERATED.removeprefix("# ")]
    return between(read(render(old, header), check=False), read(render(new, header), check=False))
