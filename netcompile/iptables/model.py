"""The iptables object model the lowering builds and `write.py` turns into text.

A `Rule` is its match tokens (already in iptables' syntax, `-d 10.96.0.1/32 -p tcp ...`), a comment and a
target; before the last step (`finish.py`) a target may still be abstract: an nftables `accept`, whose
lowering depends on where the chain is reached from. An `Ipset` is a `create` line and its `add` lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class UnsupportedIR(ValueError):
    """The IR holds a construct the iptables back end cannot lower faithfully: a compiler change it must
    learn about (never caused by user input)."""


class TargetKind(StrEnum):
    NONE = "none"  # no target: the rule only matches (or records, `-m recent --set`)
    JUMP = "jump"  # -j NC-chain
    GOTO = "goto"  # -g NC-chain
    ACCEPT = "accept"  # an nftables accept: resolved by finish.py
    TOKENS = "tokens"  # a built-in target written as it is: -j DROP, -j DNAT --to-destination ...


@dataclass(frozen=True, slots=True)
class Target:
    kind: TargetKind
    chain: str | None = None
    tokens: tuple[str, ...] = ()

    @property
    def text(self) -> tuple[str, ...]:
        if self.kind is TargetKind.JUMP:
            return ("-j", self.chain or "")
        if self.kind is TargetKind.GOTO:
            return ("-g", self.chain or "")
        return self.tokens


NO_TARGET = Target(TargetKind.NONE)
ACCEPT = Target(TargetKind.ACCEPT)


def jump(chain: str) -> Target:
    return Target(TargetKind.JUMP, chain)


def goto(chain: str) -> Target:
    return Target(TargetKind.GOTO, chain)


def tokens(*items: str) -> Target:
    return Target(TargetKind.TOKENS, tokens=items)


@dataclass(frozen=True, slots=True)
class Rule:
    matches: tuple[str, ...]
    target: Target
    comment: str | None = None


@dataclass(slots=True)
class Chain:
    name: str
    rules: list[Rule] = field(default_factory=list)


@dataclass(slots=True)
class Ipset:
    name: str
    type: str  # hash:ip, hash:ip,port, ...
    family: int  # 4 or 6
    elements: list[str] = field(default_factory=list)

    @property
    def create(self) -> str:
        line = f"create {self.name} {self.type} family {'inet' if self.family == 4 else 'inet6'}"
        if len(self.elements) > 65536:
            line += f" maxelem {1 << (2 * len(self.elements) - 1).bit_length()}"
        return line


@dataclass(slots=True)
class Table:
    """One iptables table of one family: chains in the order they are written, entries into built-ins."""

    name: str  # nat / filter
    chains: dict[str, Chain] = field(default_factory=dict)
    entries: list[tuple[str, str]] = field(default_factory=list)  # (built-in chain, NC- entry chain)

    def chain(self, name: str) -> Chain:
        found = self.chains.get(name)
        if found is None:
            found = self.chains[name] = Chain(name)
        return found


@dataclass(slots=True)
class Ruleset:
    """What one of iptables-restore / ip6tables-restore loads."""

    family: int
    tables: dict[str, Table] = field(default_factory=dict)

    def table(self, name: str) -> Table:
        found = self.tables.get(name)
        if found is None:
            found = self.tables[name] = Table(name)
        return found


@dataclass(frozen=True, slots=True)
class Marks:
    """The packet mark bits the lowering owns (besides the ruleset's own marks): one for an `accept` that
    ends a base chain, and a 2-bit field for a drop or reject decided in `nat` and carried out in `filter`."""

    accept: int
    defer_mask: int
    drop: int
    reset: int
    reject: int
