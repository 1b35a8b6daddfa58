"""Machine: one packet through the linked ruleset, in kernel hook and priority order.

Walks the base chains of the packet's path (prerouting or output; then input, or forward and
postrouting, or postrouting). `numgen random mod N` forks the evaluation: every pass replays a fixed
sequence of choices, and backtracking enumerates every sequence, each with its exact probability. Equal
results are summed into one `Outcome`.

Kernel facts modelled (nft(8), netfilter): `accept` ends one base chain only; `drop`/`reject` are final;
a base chain that falls through (or returns) applies its policy; `dnat`/`masquerade` end their chain like
`accept`; nat chains see only `ct state new` packets, and once one nat chain of a hook has set up NAT the
later nat chains of that hook are skipped.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from fractions import Fraction
from math import prod

from ...model import IPAddress
from ..branches import Branch, Pass, branches, outcome
from ..packet import Origin, Outcome, Packet, Result
from .linker import link
from .parser import parse
from .program import LinkedChain, LinkedRule
from .state import Run
from .syntax import ACCEPT, BREAK, DROP, Verdict
from .vocabulary import HOOKS, NEW

__all__ = ["Branch", "Ruleset"]

CERTAIN = Fraction(1)  # the probability of a walk that made no choice
_DROPPED, _REJECTED = Result.dropped(), Result.rejected()  # (frozen: one of each serves every packet)


class Ruleset:
    """A parsed, linked ruleset: parse once, evaluate many packets."""

    def __init__(self, tables: dict[str, dict[str, LinkedChain]]) -> None:
        self._tables = tables
        self._local: tuple[object, frozenset[tuple[int, int]]] = ((), frozenset())  # the last local addresses
        self._hooks: dict[str, list[LinkedChain]] = {hook: [] for hook in HOOKS}
        for table in tables.values():
            for chain in table.values():
                if chain.is_base:
                    self._hooks[chain.hook].append(chain)
        for chains in self._hooks.values():
            chains.sort(key=lambda c: c.priority)  # stable: equal priorities run in definition order

    @classmethod
    def parse(cls, text: str) -> Ruleset:
        tables, lines = parse(text)
        return cls(link(tables, lines))

    @property
    def base_chains(self) -> list[str]:
        """`hook/priority/name` of every base chain, in evaluation order (for documentation and tests)."""
        return [f"{c.hook}/{c.priority}/{c.name}" for hook in HOOKS for c in self._hooks[hook]]

    def branches(self, packet: Packet, local_addresses: Collection[IPAddress]) -> Iterator[Branch]:
        """Every numgen branch of the packet's path, in order, with its exact probability."""
        local = self._local_set(local_addresses)
        return branches(lambda choices: self._pass(packet, local, choices))

    def evaluate(self, packet: Packet, local_addresses: Collection[IPAddress]) -> Outcome:
        """The outcome of every branch (`branches.outcome`). Most packets meet no numgen: their one walk is
        the outcome (what `outcome` makes of one branch of probability 1); the others go on from it."""
        local = self._local_set(local_addresses)
        run = Run(packet, local, [])
        result = self._walk(packet, run)
        if not run.sizes:
            return Outcome({result: CERTAIN}, path=run.path)
        first = _passed(run, result)
        return outcome(branches(lambda choices: self._pass(packet, local, choices) if choices else first))

    def _local_set(self, local_addresses: Collection[IPAddress]) -> frozenset[tuple[int, int]]:
        """The node's addresses as (version, integer) pairs; kept for the tuple last given (a node's own,
        given for every packet: a tuple, so the same one holds the same addresses)."""
        given, local = self._local
        if local_addresses is not given or type(local_addresses) is not tuple:
            local = frozenset((a.version, int(a)) for a in local_addresses)
            self._local = (local_addresses, local)
        return local

    def _pass(self, packet: Packet, local: frozenset[tuple[int, int]], choices: list[int]) -> Pass:
        """One walk, replaying `choices` (and choosing 0 after them)."""
        run = Run(packet, local, choices)
        return _passed(run, self._walk(packet, run))

    # the walk
    def _walk(self, packet: Packet, run: Run) -> Result:
        verdict = self._hook("prerouting" if packet.origin == Origin.NETWORK else "output", run)
        if verdict is not None:
            return verdict
        if run.dst_is_local():
            rest = ["input"]
        elif packet.origin == Origin.NETWORK:
            rest = ["forward", "postrouting"]
        else:
            rest = ["postrouting"]
        for hook in rest:
            verdict = self._hook(hook, run)
            if verdict is not None:
                return verdict
        return run.result()

    def _hook(self, hook: str, run: Run) -> Result | None:
        """Run the base chains of one hook; a Result when the packet dies here."""
        for chain in self._hooks[hook]:
            if chain.type == "nat":
                if run.ct_state != NEW:
                    continue  # nat chains see only the first packet of a connection
                manip = "dnat" if hook in ("prerouting", "output") else hook
                if manip in run.nat_hooks:
                    continue  # NAT is set up: later nat chains of this hook are skipped
            verdict = self._chain(chain, run)
            if verdict.kind == "drop":
                return _DROPPED
            if verdict.kind == "reject":
                return _REJECTED
        return None

    def _chain(self, base: LinkedChain, run: Run) -> Verdict:
        table = self._tables[base.table]
        stack: list[tuple[LinkedChain, int]] = []
        chain, index = base, 0
        path, notes, version = run.path, run.notes, run.version
        while True:
            rules = chain.runs[version]
            if index >= len(rules):
                if stack:
                    chain, index = stack.pop()
                    continue
                break  # the base chain's policy
            rule = rules[index]
            index += 1
            # the rule: its steps in order, until one does not match (BREAK) or gives a verdict
            if notes:
                notes.clear()
            verdict = None
            for fn in rule.fns:
                verdict = fn(run)
                if verdict is not None:
                    break
            if verdict is BREAK:
                continue
            path.append(_label(rule, notes) if notes else rule.label)
            if verdict is None:
                continue
            kind = verdict.kind
            if kind == "continue":
                continue
            if kind == "return":
                if stack:
                    chain, index = stack.pop()
                    continue
                break  # the base chain's policy
            if kind == "jump":
                stack.append((chain, index))
                chain, index = table[verdict.target], 0
            elif kind == "goto":
                chain, index = table[verdict.target], 0
            else:
                return verdict
        if base.policy == "drop":
            path.append(f"{base.name}: policy drop")
            return DROP
        return ACCEPT


def _label(rule: LinkedRule, notes: list[str]) -> str:
    """How the path names a rule that matched, with the comments of the elements it found."""
    return f"{rule.label}; {'; '.join(notes)}" if rule.comment else f"{rule.label}  # {'; '.join(notes)}"


def _passed(run: Run, result: Result) -> Pass:
    """What a walk did: its choices, their sizes and probability, its result and path."""
    probability = Fraction(1, prod(run.sizes)) if run.sizes else CERTAIN
    return Pass(run.choices, run.sizes, probability, result, tuple(run.path))
