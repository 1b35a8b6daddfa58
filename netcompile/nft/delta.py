"""The delta: the one nftables transaction that turns a loaded ruleset OLD into NEW, both as netcompile
wrote them (`reader.read`), its size depending on what changed rather than on the size of the rulesets.

    delete element T fingerprint { OLD }      fails, and with it everything, unless T holds OLD
    delete element T s { <keys that go or change> }
    flush chain T c                           chains whose rules change, or that go or are re-created
    delete set|map T s / delete chain T c     what goes, or what the kernel cannot change in place
    add chain T c { ... }                     new or re-created chains (empty), base chain policies
    add set|map T s { ...; elements = {...} } new or re-created sets; `add` without elements: a new size
    add element T s { <elements that come> }
    add rule T c <rule>                       the chains flushed or added, filled again
    add element T fingerprint { NEW }

What the kernel allows in place (measured on 6.18 with nft 1.0.6), and so what a delta can do:
- elements are added and deleted one by one; a changed element (value or comment) is deleted and added;
  a set of concatenations with intervals lists its elements in the order they were added, so the ones
  after an element added are deleted and added again behind it (`_insertion_ordered`);
- `add set` with an unchanged declaration updates the set's `size` when the transaction commits; until
  then the old size limits the elements, so a set growing past its old `size` is re-created (`Set.size`
  leaves room to double, so that is rare);
- `add chain` on a base chain updates its policy; any other change of a chain or of a set's declaration
  (key, value, flags, timeout, comment) needs it deleted and created again, with every rule and element
  that refers to it gone first;
- nft 1.0.6 refuses a new rule that refers to an existing `typeof` map whose value names `th`
  ("conflicting protocols specified: ip vs. th"), so such a map is re-created with the rules using it
  (the compiler avoids needing it: the endpoint maps are per list length, each looked up by the one rule
  per family of its `endpoints-N` chain, created with it; compile/services.py);
- a table's comment cannot change in place: then the delta is the full replacement (still checking OLD's
  fingerprint first).
Nothing here re-parses statements: lines are compared and copied as netcompile wrote them. A set's
element block is compared as text, and only the stretches where OLD and NEW differ are cut into lines
(nft/delta_text.py): the unchanged 100k lines of a large set are never made into strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from . import delta_text, fingerprint
from .reader import Loaded, LoadedChain, LoadedSet, element_key
from .render import environment

__all__ = ["Command", "Delta", "between"]


@dataclass(frozen=True, slots=True)
class Command:
    """One top-level nftables command on the delta's table: `<verb> <kind> <table> <name>`, with `lines`
    inside braces (`add chain`, `add set`, elements), or `add rule <table> <name> <rule>`."""

    verb: str  # add, delete, flush
    kind: str  # table, chain, set, map, element, rule
    name: str = ""  # the object (for a rule: its chain)
    lines: tuple[str, ...] = ()  # a block's lines; for a rule, the rule

    @property
    def items(self) -> int:
        """Rules and elements carried (what makes the work grow)."""
        if self.kind == "rule":
            return 1
        if self.kind == "element":
            return len(self.lines)
        return sum(1 for line in self.lines if line.startswith("\t"))  # a set's elements


@dataclass(slots=True)
class Delta:
    """Commands on table `family name`, in order: one libnftables transaction."""

    family: str
    table: str
    old: str  # the fingerprints, as element lines
    new: str
    commands: list[Command]

    def __len__(self) -> int:
        return len(self.commands)

    def __iter__(self) -> Iterator[Command]:
        return iter(self.commands)

    @property
    def items(self) -> int:
        return sum(c.items for c in self.commands)

    def render(self, header: Iterable[str] = ()) -> str:
        template = environment().get_template("delta.nft.j2")
        return template.render(delta=self, header=list(header), block=_block_lines)


def _block_lines(lines: tuple[str, ...], end: str) -> str:
    """A block's lines, indented one tab, each ended by `end`; joined here, not looped over in the
    template: a re-created map may hold 100k elements."""
    return "\n".join([f"\t{line}{end}" for line in lines])


# What a rule or a verdict refers to: `@set` (lookups, vmaps, maps) and `jump`/`goto` chain.
_SET_REF = re.compile(r"@([A-Za-z][A-Za-z0-9_./-]*)")
_CHAIN_REF = re.compile(r"\b(?:jump|goto) ([A-Za-z][A-Za-z0-9_./-]*)")
_POLICY = re.compile(r" policy [a-z]+;$")


def _refers(text: str, sets: set[str], chains: set[str]) -> bool:
    return any(m in sets for m in _SET_REF.findall(text)) or any(m in chains for m in _CHAIN_REF.findall(text))


def _set_kept(old: LoadedSet, new: LoadedSet) -> bool:
    """Can `old` become `new` in place? Same kind and declaration, the new elements fit the old size
    (which holds until the transaction commits), and a size the kernel can move to (not to none). A set
    written alike in both is kept: the table holds it as it is. NEW's elements fit any size at least their
    own (nft loads no set holding more than its size); only otherwise are they counted."""
    if old == new:
        return True
    fits = old.size is None or (new.size is not None and new.size <= old.size) or new.count <= old.size
    same = (old.kind, old.declaration) == (new.kind, new.declaration)
    return same and fits and (new.size is not None or old.size is None)


def _unreferable(item: LoadedSet) -> bool:
    """A `typeof` map whose value names `th`: nft 1.0.6 adds no rule referring to it once it exists
    (tests/test_transaction.py pins the bug)."""
    return item.declaration[0].startswith("typeof") and re.search(r"\bth\b", item.value) is not None


def _chain_kept(old: LoadedChain, new: LoadedChain) -> bool:
    """Can `old` become `new` in place (rules aside)? Same head but for a base chain's policy."""
    return [_POLICY.sub("", h) for h in old.head] == [_POLICY.sub("", h) for h in new.head]


def _block(item: LoadedSet, elements: bool = True) -> tuple[str, ...]:
    lines = [item.declaration[0]]
    if item.size is not None:
        lines.append(f"size {item.size}")
    lines += item.declaration[1:]
    if elements and item.elements:
        lines += ["elements = {", *[f"\t{e}," for e in item.elements], "}"]
    return tuple(lines)


def _replacement(old: Loaded, new: Loaded) -> list[Command]:
    """The whole of NEW, replacing the table (after the check of OLD's fingerprint)."""
    out = [Command("delete", "table"), Command("add", "table", lines=(new.comment,) if new.comment else ())]
    out += [Command("add", "chain", n, c.head) for n, c in new.chains.items()]
    out += [Command("add", s.kind, n, _block(s)) for n, s in new.sets.items() if n != fingerprint.NAME]
    fp = new.sets.get(fingerprint.NAME)
    if fp is not None:
        out.append(Command("add", fp.kind, fp.name, _block(fp, elements=False)))
    out += [Command("add", "rule", n, (r,)) for n, c in new.chains.items() for r in c.rules]
    return out


def between(old: Loaded, new: Loaded) -> Delta:
    """The transaction from OLD, as loaded, to NEW: it first deletes OLD's fingerprint element (so it
    applies only to a table holding OLD) and ends adding NEW's."""
    if (old.family, old.name) != (new.family, new.name):
        raise ValueError(f"table {old.family} {old.name} cannot become table {new.family} {new.name}")
    delta = Delta(new.family, new.name, old.fingerprint, new.fingerprint, [])
    check = Command("delete", "element", fingerprint.NAME, (element_key(old.fingerprint),))
    stamp = Command("add", "element", fingerprint.NAME, (new.fingerprint,))
    old_fp, new_fp = old.sets[fingerprint.NAME], new.sets[fingerprint.NAME]
    if old.comment != new.comment or (old_fp.kind, old_fp.declaration) != (new_fp.kind, new_fp.declaration):
        delta.commands = [check, *_replacement(old, new), stamp]
        return delta
    delta.commands = [check, *_changes(old, new), stamp]
    return delta


def _changes(old: Loaded, new: Loaded) -> list[Command]:
    skip = fingerprint.NAME
    gone_sets = {n for n, s in old.sets.items() if n not in new.sets or not _set_kept(s, new.sets[n])}
    gone_chains = {n for n, c in old.chains.items() if n not in new.chains or not _chain_kept(c, new.chains[n])}
    while True:  # until no map must be re-created for the rules that are added
        refilled = {
            n
            for n, c in new.chains.items()
            if n in old.chains
            and n not in gone_chains
            and (c.rules != old.chains[n].rules or any(_refers(r, gone_sets, gone_chains) for r in old.chains[n].rules))
        }
        filled = [c for n, c in new.chains.items() if n not in old.chains or n in gone_chains or n in refilled]
        used = {m for c in filled for r in c.rules for m in _SET_REF.findall(r)}
        more = {m for m in used if m in old.sets and m not in gone_sets and _unreferable(new.sets[m])}
        if not more:
            break
        gone_sets |= more
    kept = [(old.sets[n], s) for n, s in new.sets.items() if n in old.sets and n not in gone_sets and n != skip]
    changes = [(o, n, *_element_changes(o, n, gone_chains)) for o, n in kept]

    out: list[Command] = []
    out += [Command("delete", "element", o.name, tuple(removed)) for o, _, removed, _ in changes if removed]
    flushed = [n for n in old.chains if n in gone_chains] + [n for n in new.chains if n in refilled]
    out += [Command("flush", "chain", n) for n in flushed]
    out += [Command("delete", s.kind, n) for n, s in old.sets.items() if n in gone_sets]
    out += [Command("delete", "chain", n) for n in old.chains if n in gone_chains]
    for name, chain in new.chains.items():
        if name not in old.chains or name in gone_chains:
            out.append(Command("add", "chain", name, chain.head))
        elif chain.base and chain.head != old.chains[name].head:
            out.append(Command("add", "chain", name, chain.head))  # only the policy differs: updated in place
    out += [Command("add", s.kind, n, _block(s)) for n, s in new.sets.items() if n not in old.sets or n in gone_sets]
    for o, n, _, added in changes:
        if o.size != n.size:
            out.append(Command("add", n.kind, n.name, _block(n, elements=False)))  # the new size, from commit on
        if added:
            out.append(Command("add", "element", n.name, tuple(added)))
    for name, chain in new.chains.items():
        if name not in old.chains or name in gone_chains or name in refilled:
            out += [Command("add", "rule", name, (rule,)) for rule in chain.rules]
    return out


def _element_changes(old: LoadedSet, new: LoadedSet, gone_chains: set[str]) -> tuple[list[str], list[str]]:
    """Keys of `old` to delete and element lines of `new` to add: an element whose line differs (value or
    comment) is deleted and added; so is a verdict naming a chain about to be re-created."""
    renamed = bool(gone_chains) and old.kind == "map"
    if old.written == new.written and not renamed:
        return [], []
    ordered, rest = _insertion_ordered(new), len(new.written)
    if renamed:
        before, after = old.elements, new.elements
    elif ordered:  # the lines both have at the same places, at the start and the end, are unchanged: not cut
        start, old_end, rest = delta_text.differing(old.written, new.written)
        before, after = old.lines(start, old_end), new.lines(start, rest)
    else:  # the stretches of lines alike in both, wherever they are, are unchanged: not cut
        gone, come = delta_text.unaligned(old.written, new.written)
        before = tuple(line for start, end in gone for line in old.lines(start, end))
        after = tuple(line for start, end in come for line in new.lines(start, end))
    old_lines, new_lines = set(before), set(after)
    stale = {line for line in before if line not in new_lines}
    if renamed:
        stale |= {line for line in before if _refers(line.rpartition(" : ")[2], set(), gone_chains)}
    again = stale & new_lines  # unchanged, but deleted for the chain it names
    removed = [element_key(line) for line in before if line in stale]
    added = [line for line in after if line not in old_lines or line in again]
    if added and ordered:  # the elements after the first added go again, in order
        tail = after[after.index(added[0]) :] + new.lines(rest, len(new.written))
        fresh = set(added)
        removed += [element_key(line) for line in tail if line not in fresh]
        added = list(tail)
    return removed, added


def _insertion_ordered(item: LoadedSet) -> bool:
    """A set of concatenations with intervals (the kernel's pipapo sets): nft lists its elements in the
    order they were added, where a full load adds them in the order written. So that a delta lists as
    the full load does, the elements written after one it adds are deleted and added again after it."""
    key = item.declaration[0].partition(" : ")[0]
    return " . " in key and any(line.startswith("flags ") and "interval" in line for line in item.declaration[1:])
