"""Typed values: one token read as a value of a datatype, element lists, verdicts, durations.

The datatype comes from the expression matched or the set declared, so `80-90` is a port range and
`10.0.0.0/8` a prefix; both become closed integer intervals. A value outside its datatype is an error.
"""

from __future__ import annotations

import re

from .blocks import BlockReader
from .syntax import Element, SetDef, Verdict
from .tokens import Token, TokenStream, tokenize
from .typed import typed_value
from .vocabulary import IFNAME, NAMED, VERDICT, Interval

__all__ = ["ValueParser"]


class ValueParser(TokenStream):
    """The grammar of values, shared by set declarations and rules."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.blocks = BlockReader()

    def duration(self) -> int:
        token = self.word("a duration")
        m = re.fullmatch(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", token.text)
        if not token.text or m is None:
            raise self.error(f"invalid duration {token.text!r}", token)
        days, hours, minutes, seconds = (int(g or 0) for g in m.groups())
        return ((days * 24 + hours) * 60 + minutes) * 60 + seconds

    def elements(self, definition: SetDef, named: bool) -> list[Element]:
        """`{ key [comment "c"] [: value], ... }`: typed by the set declaration or the matched expression."""
        block = self.peek()
        if block.kind == "block":  # a named set's elements, in one token (tokens, blocks)
            fast = self.blocks.read(block.text, block.line, definition, self.emptied.get(self.i))
            self.next()
            if fast is not None:
                return fast
            outer, after = self.tokens, self.i
            self.tokens, self.i = tokenize(block.text, self.lines, block.line, block.start), 0
            try:
                return self.elements(definition, named)  # the tokens the block stands for
            finally:
                self.tokens, self.i = outer, after
        self.expect("{")
        out: list[Element] = []
        while True:
            while self.peek().kind == "nl":
                self.next()
            if self.at("}"):
                self.next()
                return out
            first = self.peek()
            key, ranged = self.concat_value(definition.key_types)
            comment = None
            if self.at("comment"):
                self.next()
                comment = self.string()
            value: Verdict | tuple[int, ...] | None = None
            if definition.value_types is not None:
                self.expect(":")
                value = self.map_value(definition.value_types)
                if comment is None and self.at("comment"):
                    self.next()
                    comment = self.string()
            elif self.at(":"):
                raise self.error("a set element cannot have a value", self.peek())
            if ranged and not named:
                definition.flags.add("interval")  # an anonymous set with ranges is an interval set
            out.append(Element(key, value, comment, first.line, ranged))
            while self.peek().kind == "nl":
                self.next()
            if self.at(","):
                self.next()
            elif not self.at("}"):
                raise self.error(f"expected ',' or '}}' in elements, found {self.peek().text!r}")

    def concat_value(self, types: tuple[str, ...]) -> tuple[tuple[Interval, ...], bool]:
        atoms: list[Interval] = []
        ranged = False
        for index, dtype in enumerate(types):
            if index:
                self.expect(".")
            token = self.next()
            if token.kind not in ("word", "string") or (token.kind == "string" and dtype != IFNAME):
                raise self.error(f"expected a value, found {token.text or 'end of input'!r}", token)
            interval, was_ranged = self.atom(token, dtype)
            atoms.append(interval)
            ranged = ranged or was_ranged
        if self.at("."):
            raise self.error(f"value has more parts than its type ({len(types)})", self.peek())
        return tuple(atoms), ranged

    def map_value(self, types: tuple[str, ...]) -> Verdict | tuple[int, ...]:
        if types == (VERDICT,):
            return self.verdict(map_value=True)
        atoms, ranged = self.concat_value(types)
        if ranged:
            raise self.error("a map value cannot be a range or prefix")
        return tuple(lo for lo, _ in atoms)

    def verdict(self, map_value: bool = False) -> Verdict:
        token = self.word("a verdict")
        if token.text in ("accept", "drop", "continue", "return"):
            return Verdict(token.text)
        if token.text in ("jump", "goto"):
            return Verdict(token.text, self.word("a chain name").text)
        if map_value:
            raise self.error(f"{token.text!r} is not a verdict", token)
        raise self.error(f"unknown statement {token.text!r}", token)

    def atom(self, token: Token, dtype: str) -> tuple[Interval, bool]:
        """One typed value as a closed interval; True when written as a prefix or a range."""
        text = token.text
        if dtype in NAMED and text not in NAMED[dtype]:
            raise self.error(f"unknown {dtype} value {text!r} (known: {', '.join(NAMED[dtype])})", token)
        try:
            return typed_value(text[1:-1] if token.kind == "string" and dtype == IFNAME else text, dtype)
        except ValueError:
            raise self.error(f"invalid {dtype} value {text!r}", token) from None
