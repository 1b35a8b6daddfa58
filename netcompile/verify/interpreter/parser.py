"""Parser: nftables text to the syntax tree (tables, sets and maps, chains, rules).

A small recursive-descent parser over the tokens; the grammar is layered by module (values, then
statements, then the top level here). Anything outside the closed vocabulary raises
`InterpreterError` with its line.
"""

from __future__ import annotations

import re

from .statements import StatementParser
from .syntax import Chain, SetDef, Table
from .tokens import Token
from .vocabulary import DECLARABLE, HOOKS, NAT_HOOKS, PRIORITIES, PRIORITY_HOOK, SET_FLAGS, VERDICT

__all__ = ["Parser", "parse"]


def parse(text: str) -> tuple[dict[str, Table], list[str]]:
    """The tables of `text`, and its lines (for the linker's messages)."""
    parser = Parser(text)
    return parser.parse(), parser.lines


class Parser(StatementParser):
    """The top level: `table`, `delete table`, set and map declarations, chain bodies."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.tables: dict[str, Table] = {}

    def parse(self) -> dict[str, Table]:
        while True:
            self.skip_separators()
            token = self.peek()
            if token.kind == "eof":
                return self.tables
            if self.at("table"):
                self.next()
                name = self.table_name()
                if self.at("{"):
                    self.table_body(self.tables.setdefault(name, Table(name)))
                else:
                    self.tables.setdefault(name, Table(name))
                self.finish_statement()
            elif self.at("delete") and self.at("table", 1):
                self.next()
                self.next()
                name = self.table_name()
                if name not in self.tables:
                    raise self.error(f"delete of table inet {name}, which does not exist", token)
                del self.tables[name]
                self.finish_statement()
            else:
                raise self.error(f"unknown command {token.text!r}", token)

    def table_name(self) -> str:
        family = self.word("a table family")
        if family.text != "inet":
            raise self.error(f"unsupported table family {family.text!r} (only inet)", family)
        return self.word("a table name").text

    def table_body(self, table: Table) -> None:
        self.expect("{")
        while True:
            self.skip_separators()
            token = self.peek()
            if self.at("}"):
                self.next()
                return
            if self.at("comment"):
                self.next()
                self.string()
            elif self.at("set") or self.at("map"):
                self.next()
                definition = self.set_body(self.word("a set name"), token.text == "map")
                if definition.name in table.sets or definition.name in table.chains:
                    raise self.error(f"duplicate object name {definition.name!r}", token)
                table.sets[definition.name] = definition
            elif self.at("chain"):
                self.next()
                name = self.word("a chain name")
                if name.text in table.sets:
                    raise self.error(f"duplicate object name {name.text!r}", token)
                chain = table.chains.setdefault(name.text, Chain(name.text, name.line, table.name))
                self.chain_body(chain)
            else:
                raise self.error(f"unknown table statement {token.text!r}", token)
            self.finish_statement()

    # sets and maps
    def set_body(self, name: Token, is_map: bool) -> SetDef:
        definition = SetDef(name.text, name.line, is_map=is_map)
        self.expect("{")
        elements: list[tuple[int, int]] = []  # token ranges of `elements = {...}`, parsed once types are known
        while True:
            self.skip_separators()
            token = self.peek()
            keyword = token.text if token.kind in ("word", "op") else ""  # what self.at() compares
            if keyword == "}":
                self.next()
                break
            if keyword in ("type", "typeof"):
                self.next()
                self.set_type(definition, token.text == "typeof", token)
            elif keyword == "flags":
                self.next()
                while True:
                    flag = self.word("a set flag")
                    if flag.text not in SET_FLAGS:
                        raise self.error(f"unknown set flag {flag.text!r}", flag)
                    definition.flags.add(flag.text)
                    if not self.at(","):
                        break
                    self.next()
            elif keyword == "timeout":
                self.next()
                self.duration()
            elif keyword == "size":
                self.next()
                size = self.word("a set size")
                if not size.text.isdigit() or int(size.text) == 0:
                    raise self.error(f"invalid set size {size.text!r}", size)
                definition.size = int(size.text)
            elif keyword == "comment":
                self.next()
                definition.comment = self.string()
            elif keyword == "elements":
                self.next()
                self.expect("=")
                start = self.i
                self.skip_braces()
                elements.append((start, self.i))
            else:
                raise self.error(f"unknown set statement {token.text!r}", token)
            self.finish_statement()
        if not definition.key_types:
            raise self.error(f"set {definition.name!r} has no type", name)
        after = self.i
        for start, end in elements:
            self.i = start
            definition.elements.extend(self.elements(definition, named=True))
            assert self.i == end
        self.i = after
        if definition.size is not None and len(definition.elements) > definition.size:
            # the kernel refuses the element past the size (ENFILE), and with it the whole transaction
            raise self.error(
                f"set {definition.name!r} holds {len(definition.elements)} elements, more than its size", name
            )
        return definition

    def set_type(self, definition: SetDef, typeof: bool, token: Token) -> None:
        if definition.key_types:
            raise self.error(f"set {definition.name!r} declares its type twice", token)

        def one_side() -> tuple[str, ...]:
            if typeof:
                return tuple(e.dtype for e in self.concat_expr())
            types = [self.word("a datatype")]
            while self.at("."):
                self.next()
                types.append(self.word("a datatype"))
            for t in types:
                if t.text not in DECLARABLE:
                    raise self.error(f"unknown datatype {t.text!r}", t)
            return tuple(t.text for t in types)

        definition.key_types = one_side()
        if self.at(":"):
            if not definition.is_map:
                raise self.error(f"set {definition.name!r} declares a value: use 'map'", token)
            self.next()
            if self.at("verdict"):
                self.next()
                definition.value_types = (VERDICT,)
            else:
                definition.value_types = one_side()
        elif definition.is_map:
            raise self.error(f"map {definition.name!r} declares no value type", token)

    def chain_body(self, chain: Chain) -> None:
        self.expect("{")
        while True:
            self.skip_separators()
            token = self.peek()
            keyword = token.text if token.kind in ("word", "op") else ""  # what self.at() compares
            if keyword == "}":
                self.next()
                return
            if keyword == "comment" and self.peek(1).kind == "string":
                self.next()
                chain.comment = self.string()
                self.finish_statement()
            elif keyword == "type":
                self.next()
                self.base_chain(chain, token)
            elif keyword == "policy":
                self.next()
                policy = self.word("a policy")
                if policy.text not in ("accept", "drop"):
                    raise self.error(f"unknown policy {policy.text!r}", policy)
                if not chain.is_base:
                    raise self.error("a policy needs a base chain (type ... hook ...)", policy)
                chain.policy = policy.text
                self.finish_statement()
            else:
                chain.rules.append(self.rule())
                if self.at(";"):
                    self.next()

    def base_chain(self, chain: Chain, start: Token) -> None:
        kind = self.word("a chain type")
        if kind.text not in ("filter", "nat"):
            raise self.error(f"unknown chain type {kind.text!r}", kind)
        self.expect("hook")
        hook = self.word("a hook")
        if hook.text not in HOOKS:
            raise self.error(f"unknown hook {hook.text!r}", hook)
        if kind.text == "nat" and hook.text not in NAT_HOOKS:
            raise self.error(f"nat chains cannot use hook {hook.text}", hook)
        self.expect("priority")
        first = self.word("a priority")
        if first.text in PRIORITIES:
            allowed = PRIORITY_HOOK.get(first.text, hook.text)
            if allowed != hook.text:
                raise self.error(f"priority {first.text} is not valid at hook {hook.text}", first)
            priority = PRIORITIES[first.text]
            if self.at("+") or self.at("-"):
                sign = self.next().text
                offset = self.word("a number")
                if not offset.text.isdigit():
                    raise self.error(f"invalid priority offset {offset.text!r}", offset)
                priority += int(offset.text) if sign == "+" else -int(offset.text)
        elif re.fullmatch(r"-?\d+", first.text):
            priority = int(first.text)
        else:
            raise self.error(f"unknown priority {first.text!r}", first)
        if chain.is_base:
            raise self.error(f"chain {chain.name!r} declares its hook twice", start)
        chain.type, chain.hook, chain.priority = kind.text, hook.text, priority
        self.finish_statement()
