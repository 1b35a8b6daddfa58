"""Typed values: one token read as a value of a datatype, element lists, verdicts, durations.

The datatype comes from the expression matched or the set declared, so `80-90` is a port range and
`10.0.0.0/8` a prefix; both become closed integer intervals. A value outside its datatype is an error.
"""

from __future__ import annotations

import ipaddress
import re
from functools import cache

from .syntax import Element, SetDef, Verdict
from .tokens import Token, TokenStream
from .vocabulary import BITS, IFNAME, IPV4, IPV6, NAMED, PROTO, PROTO_NAMES, RANGEABLE, VERDICT, Interval

__all__ = ["IFNAMSIZ", "ValueParser", "ifname_value"]

IFNAMSIZ = 15  # the longest interface name, in bytes (the kernel's IFNAMSIZ less its terminating NUL)


@cache
def ifname_value(name: str, fill: int = 0) -> int:
    """An interface name as the kernel compares it: 16 bytes, padded with NULs (with `fill` bytes: the
    last name that starts with `name`, the top of a wildcard's interval)."""
    return int.from_bytes(name.encode().ljust(16, bytes([fill])), "big")


class ValueParser(TokenStream):
    """The grammar of values, shared by set declarations and rules."""

    def duration(self) -> int:
        token = self.word("a duration")
        m = re.fullmatch(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", token.text)
        if not token.text or m is None:
            raise self.error(f"invalid duration {token.text!r}", token)
        days, hours, minutes, seconds = (int(g or 0) for g in m.groups())
        return ((days * 24 + hours) * 60 + minutes) * 60 + seconds

    def elements(self, definition: SetDef, named: bool) -> list[Element]:
        """`{ key [comment "c"] [: value], ... }`: typed by the set declaration or the matched expression."""
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
        try:
            if dtype in (IPV4, IPV6):
                version = 4 if dtype == IPV4 else 6
                if "/" in text:
                    net = ipaddress.ip_network(text, strict=False)
                    if net.version != version:
                        raise ValueError
                    return (int(net.network_address), int(net.broadcast_address)), True
                if "-" in text:
                    lo_text, hi_text = text.split("-", 1)
                    lo_addr, hi_addr = ipaddress.ip_address(lo_text), ipaddress.ip_address(hi_text)
                    if lo_addr.version != version or hi_addr.version != version or int(lo_addr) > int(hi_addr):
                        raise ValueError
                    return (int(lo_addr), int(hi_addr)), True
                addr = ipaddress.ip_address(text)
                if addr.version != version:
                    raise ValueError
                return (int(addr), int(addr)), False
            if dtype == IFNAME:
                name = text[1:-1] if token.kind == "string" else text
                wildcard = name.endswith("*")  # nft: a trailing `*` matches every name starting so
                name = name[:-1] if wildcard else name
                if "*" in name or "\\" in name or len(name.encode()) > IFNAMSIZ or (wildcard and not name):
                    raise ValueError
                if wildcard:
                    return (ifname_value(name), ifname_value(name, fill=0xFF)), True
                return (ifname_value(name), ifname_value(name)), False
            if dtype in NAMED:
                names = NAMED[dtype]
                if text not in names:
                    raise self.error(f"unknown {dtype} value {text!r} (known: {', '.join(names)})", token)
                return (names[text], names[text]), False
            if dtype in BITS:
                if "-" in text and dtype in RANGEABLE:
                    lo_text, hi_text = text.split("-", 1)
                    lo, hi = self.number(lo_text, dtype), self.number(hi_text, dtype)
                    if lo > hi:
                        raise ValueError
                    return (lo, hi), True
                number = self.number(text, dtype)
                return (number, number), False
        except ValueError:
            pass
        raise self.error(f"invalid {dtype} value {text!r}", token)

    @staticmethod
    def number(text: str, dtype: str) -> int:
        if dtype == PROTO and text in PROTO_NAMES:
            return PROTO_NAMES[text]
        value = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
        if not 0 <= value < (1 << BITS[dtype]):
            raise ValueError
        return value
