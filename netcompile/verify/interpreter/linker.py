"""Linker: the syntax tree resolved and checked, and turned into the program the machine runs.

Resolves `@set`, `jump`/`goto` and verdict-map targets; checks datatypes as nft does (the key of a
lookup against the set's `type`/`typeof`, concatenations part by part, data maps against `dnat`);
checks that NAT and reject statements are only reachable from hooks where the kernel allows them and
that no chain loops. Sets and maps become `Lookup` structures, rules lists of functions.
"""

from __future__ import annotations

from ..chains import first_loop, reachable
from . import program
from .errors import InterpreterError
from .lookup import Lookup
from .program import LinkedChain, LinkedRule, StepFn, key_fn
from .syntax import Chain, Expr, SetDef, Step, Table, Verdict
from .vocabulary import IPV4, IPV6, REJECT_HOOKS, SERVICE, VERDICT

__all__ = ["Linker", "link"]


def link(tables: dict[str, Table], lines: list[str]) -> dict[str, dict[str, LinkedChain]]:
    """Every table's chains, linked (by table, then chain name); `lines` are the text's, for messages."""
    return Linker(tables, lines).link()


class Linker:
    """Links the tables of one text; `lookups` holds every set and map, named or anonymous, as built."""

    def __init__(self, tables: dict[str, Table], lines: list[str]) -> None:
        self.tables = tables
        self.lines = lines
        self.lookups: dict[SetDef, Lookup] = {}

    def error(self, message: str, line: int) -> InterpreterError:
        return InterpreterError(message, line, self.lines[line - 1] if 0 < line <= len(self.lines) else "")

    def link(self) -> dict[str, dict[str, LinkedChain]]:
        linked: dict[str, dict[str, LinkedChain]] = {}
        for table in self.tables.values():
            for definition in table.sets.values():
                self.check_verdicts(table, definition)
                self.lookups[definition] = Lookup(definition, self.error)
            chains: dict[str, LinkedChain] = {}
            for chain in table.chains.values():
                rules: list[LinkedRule] = []
                for rule in chain.rules:
                    fns = tuple(self.step(table, step) for step in rule.steps)
                    label = f"{chain.name}: {rule.text}"
                    label = f"{label}  # {rule.comment}" if rule.comment else label
                    rules.append(LinkedRule(fns, label, rule.comment, program.only_version(rule.steps)))
                chains[chain.name] = LinkedChain(
                    chain.name, chain.table, chain.type, chain.hook, chain.priority, chain.policy, rules
                )
            self.check_graph(table)
            linked[table.name] = chains
        return linked

    def check_verdicts(self, table: Table, definition: SetDef) -> None:
        if definition.value_types != (VERDICT,):
            return  # only a verdict map's values are verdicts
        for target, line in _targets(definition):
            self.target(table, target, line)

    def target(self, table: Table, name: str, line: int) -> Chain:
        chain = table.chains.get(name)
        if chain is None:
            raise self.error(f"unknown chain {name!r}", line)
        if chain.is_base:
            raise self.error(f"cannot jump to base chain {name!r}", line)
        return chain

    def named(self, table: Table, ref: str | SetDef | None, line: int) -> SetDef:
        if isinstance(ref, SetDef):
            self.check_verdicts(table, ref)
            self.lookups[ref] = Lookup(ref, self.error)
            return ref
        assert ref is not None
        definition = table.sets.get(ref)
        if definition is None:
            raise self.error(f"unknown set or map @{ref}", line)
        return definition

    def check_types(self, definition: SetDef, exprs: tuple[Expr, ...], line: int) -> None:
        types = tuple(e.dtype for e in exprs)
        if types != definition.key_types:
            raise self.error(
                f"datatype mismatch: expression is {' . '.join(types)}, "
                f"@{definition.name} holds {' . '.join(definition.key_types)}",
                line,
            )

    def step(self, table: Table, step: Step) -> StepFn:
        kind = step.kind
        if kind == "verdict":
            assert step.verdict is not None
            if step.verdict.target:
                self.target(table, step.verdict.target, step.line)
            verdict = step.verdict
            return lambda r: verdict
        if kind == "counter":
            return lambda r: None
        if kind == "compare":
            return program.compare(step)
        if kind == "lookup":
            definition = self.named(table, step.ref, step.line)
            if definition.is_map:
                raise self.error(f"@{definition.name} is a map: look it up with vmap or a statement", step.line)
            self.check_types(definition, step.expr, step.line)
            return program.member(self.lookups[definition], id(definition), key_fn(step.expr), step.op == "!=")
        if kind == "vmap":
            definition = self.named(table, step.ref, step.line)
            if definition.value_types != (VERDICT,):
                raise self.error(f"@{definition.name} is not a verdict map", step.line)
            self.check_types(definition, step.expr, step.line)
            return program.vmap(self.lookups[definition], key_fn(step.expr))
        if kind == "reject":
            return program.reject(step.family, step.proto)
        if kind == "mark":
            return program.mark(step)
        if kind == "masquerade":
            return program.masquerade
        if kind == "dnat":
            to = step.dnat_to
            assert to is not None
            return program.dnat(step.family, lambda r: to)
        if kind == "dnat_map":
            definition = self.named(table, step.ref, step.line)
            if not definition.is_map or definition.value_types in (None, (VERDICT,)):
                raise self.error(f"@{definition.name} is not a data map", step.line)
            self.check_types(definition, step.expr, step.line)
            addr_type = IPV4 if step.family == 4 else IPV6
            value_types = definition.value_types
            assert value_types is not None
            if value_types not in ((addr_type,), (addr_type, SERVICE)):
                raise self.error(
                    f"@{definition.name} maps to {' . '.join(value_types)}, dnat needs {addr_type} [. inet_service]",
                    step.line,
                )
            if len(value_types) == 2 and not step.l4_known:
                raise self.error("transport protocol mapping is only valid after transport protocol match", step.line)
            target = program.map_target(self.lookups[definition], key_fn(step.expr))
            return program.dnat(step.family, target)
        if kind == "update":
            assert isinstance(step.ref, str)
            definition = self.named(table, step.ref, step.line)
            if definition.is_map:
                raise self.error(f"@{definition.name} is a map: update needs a set", step.line)
            self.check_types(definition, step.expr, step.line)
            return program.update(id(definition), key_fn(step.expr))
        raise AssertionError(kind)  # pragma: no cover

    def check_graph(self, table: Table) -> None:
        """Loops, and statements reachable from hooks where the kernel refuses them."""
        edges: dict[str, list[tuple[str, int]]] = {}
        needs: dict[str, list[tuple[str, int]]] = {}  # chain -> (statement kind, line)
        for chain in table.chains.values():
            out: list[tuple[str, int]] = []
            need: list[tuple[str, int]] = []
            for rule in chain.rules:
                for step in rule.steps:
                    if step.verdict is not None and step.verdict.target:
                        out.append((step.verdict.target, step.line))
                    if step.kind == "vmap":
                        definition = self.named(table, step.ref, step.line) if isinstance(step.ref, str) else step.ref
                        assert definition is not None
                        out += [(target, step.line) for target, _ in _targets(definition)]
                    if step.kind in ("dnat", "dnat_map", "masquerade", "reject"):
                        need.append((step.kind, step.line))
            edges[chain.name] = out
            needs[chain.name] = need
        loop = first_loop(((c.name, c.line) for c in table.chains.values()), edges)
        if loop is not None:
            raise self.error(f"chain {loop[0]!r} jumps back to itself (loop)", loop[1])
        for base in table.chains.values():
            if base.is_base:
                for name in reachable(base.name, edges):
                    for kind, line in needs[name]:
                        self.check_context(kind, line, base)

    def check_context(self, kind: str, line: int, base: Chain) -> None:
        where = f"reachable from base chain {base.name!r} (type {base.type} hook {base.hook})"
        if kind == "reject" and base.hook not in REJECT_HOOKS:
            raise self.error(f"reject is not allowed at hook {base.hook}: {where}", line)
        if kind in ("dnat", "dnat_map") and (base.type != "nat" or base.hook not in ("prerouting", "output")):
            raise self.error(f"dnat needs a nat chain at prerouting or output: {where}", line)
        if kind == "masquerade" and (base.type != "nat" or base.hook != "postrouting"):
            raise self.error(f"masquerade needs a nat chain at postrouting: {where}", line)


def _targets(definition: SetDef) -> list[tuple[str, int]]:
    """The chains a verdict map's elements jump or go to, each once, with the line of its first element (the
    first element that names a chain not to be jumped to is the one an error names)."""
    first: dict[str, int] = {}
    for element in definition.elements:
        value = element.value
        if isinstance(value, Verdict) and value.target and value.target not in first:
            first[value.target] = element.line
    return list(first.items())
