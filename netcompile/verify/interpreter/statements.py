"""Rules: statements (verdicts, reject, counter, mark, dnat, masquerade, set updates) and matches.

A rule is a sequence of steps ended by at most one terminal statement; the parser records, as nft
does, whether a transport protocol match precedes a `dnat ... :port`.
"""

from __future__ import annotations

import re

from .syntax import Expr, Rule, SetDef, Step
from .tokens import Token
from .values import ValueParser
from .vocabulary import (
    BITMASK,
    CT_STATE,
    CT_STATUS,
    FIBTYPE,
    IFNAME,
    INTEGER,
    IPV4,
    IPV6,
    MARK,
    NFPROTO,
    PROTO,
    PROTO_NAMES,
    SERVICE,
    VERDICT,
)

__all__ = ["L4_KINDS", "StatementParser"]

# Words that start an expression.
EXPR_WORDS = {"ip", "ip6", "meta", "th", "tcp", "udp", "sctp", "ct", "fib", "numgen", "iifname"}


# Expressions that tell nft the transport protocol (`th` does not: it reads ports of any protocol).
L4_KINDS = {"l4proto", "tcp_dport", "udp_dport", "sctp_dport"}


class StatementParser(ValueParser):
    """The grammar of rules, on top of the grammar of values."""

    def rule(self) -> Rule:
        first = self.peek()
        steps: list[Step] = []
        comment: str | None = None
        last = first
        terminal = False
        has_l4 = False
        while not self.end_of_statement():
            token = self.peek()
            if self.at("comment"):
                self.next()
                comment = self.string()
                if not self.end_of_statement():
                    raise self.error("the comment must end the rule", self.peek())
                break
            if terminal:
                raise self.error(f"statement after terminal statement has no effect: {token.text!r}", token)
            step = self.statement(has_l4)
            steps.append(step)
            if step.op != "!=":  # nft's "transport protocol match": a positive l4proto or tcp/udp/sctp match
                has_l4 = has_l4 or any(e.kind in L4_KINDS for e in step.expr)
            terminal = step.kind in ("verdict", "reject", "dnat", "dnat_map", "masquerade", "vmap")
            last = self.tokens[self.i - 1]
        if not steps:
            raise self.error("empty rule", first)
        if first.line == last.line:
            text = self.lines[first.line - 1][first.start : last.end]
        else:
            parts = [self.lines[first.line - 1][first.start :]]
            parts += [self.lines[n - 1].strip() for n in range(first.line + 1, last.line)]
            parts.append(self.lines[last.line - 1][: last.end].strip())
            text = " ".join(p.strip() for p in parts)
        return Rule(first.line, text, comment, steps)

    def statement(self, has_l4: bool) -> Step:
        token = self.peek()
        line = token.line
        if token.kind != "word":
            raise self.error(f"unexpected {token.text!r}", token)
        text = token.text
        if text in ("accept", "drop", "continue", "return", "jump", "goto"):
            return Step("verdict", line, verdict=self.verdict())
        if text == "reject":
            self.next()
            return self.reject(line)
        if text == "counter":
            self.next()
            if self.at("packets"):
                self.next()
                self.word("a number")
                self.expect("bytes")
                self.word("a number")
            return Step("counter", line)
        if text == "meta" and self.at("mark", 1) and self.at("set", 2):
            self.i += 3
            return self.mark_set(line)
        if text == "dnat":
            self.next()
            return self.dnat(line, has_l4)
        if text == "masquerade":
            self.next()
            if self.at("fully-random"):
                self.next()
            return Step("masquerade", line)
        if text in ("update", "add"):
            self.next()
            ref = self.word("@set")
            if not ref.text.startswith("@"):
                raise self.error(f"expected @set after {text}, found {ref.text!r}", ref)
            self.expect("{")
            expr = self.concat_expr()
            if self.at("timeout"):
                self.next()
                self.duration()
            self.expect("}")
            return Step("update", line, expr=expr, ref=ref.text[1:])
        if text in EXPR_WORDS:
            return self.match(line)
        raise self.error(f"unknown statement or expression {text!r}", token)

    def reject(self, line: int) -> Step:
        step = Step("reject", line)
        if not self.at("with"):
            return step
        self.next()
        kind = self.word("icmp, icmpv6, icmpx or tcp")
        if kind.text == "tcp":
            self.expect("reset")
            step.proto = PROTO_NAMES["tcp"]
            return step
        if kind.text not in ("icmp", "icmpv6", "icmpx"):
            raise self.error(f"unknown reject type {kind.text!r}", kind)
        step.family = {"icmp": 4, "icmpv6": 6, "icmpx": 0}[kind.text]
        if self.at("type"):
            self.next()
        code = self.word("an icmp code")
        if not re.fullmatch(r"[a-z-]+|\d+", code.text):
            raise self.error(f"invalid icmp code {code.text!r}", code)
        return step

    def mark_set(self, line: int) -> Step:
        if self.at("meta") and self.at("mark", 1):
            self.i += 2
            op = self.next()
            if op.kind != "op" or op.text not in ("|", "^", "&"):
                raise self.error(f"expected |, ^ or & after 'meta mark set meta mark', found {op.text!r}", op)
            (value, _), ranged = self.atom(self.word("a mark"), MARK)
            return Step("mark", line, mark_op=op.text, number=value)
        (value, _), ranged = self.atom(self.word("a mark"), MARK)
        if ranged:
            raise self.error("a mark cannot be a range")
        return Step("mark", line, mark_op="set", number=value)

    def dnat(self, line: int, has_l4: bool) -> Step:
        family_token = self.word("ip or ip6")
        if family_token.text not in ("ip", "ip6"):
            raise self.error("dnat in an inet table needs 'ip' or 'ip6'", family_token)
        family = 4 if family_token.text == "ip" else 6
        self.expect("to")
        if self.peek().text in EXPR_WORDS:
            expr = self.concat_expr()
            self.expect("map")
            ref = self.word("@map")
            if not ref.text.startswith("@"):
                raise self.error(f"expected @map, found {ref.text!r}", ref)
            has_l4 = has_l4 or any(e.kind in L4_KINDS for e in expr)
            return Step("dnat_map", line, expr=expr, ref=ref.text[1:], family=family, l4_known=has_l4)
        target = self.word("an address")
        text = target.text
        port_text: str | None = None
        if family == 6:
            m = re.fullmatch(r"\[([0-9a-fA-F:.]+)\](?::(\d+))?", text)
            if m:
                text, port_text = m.group(1), m.group(2)
        elif text.count(":") == 1:
            text, port_text = text.split(":")
        (address, _), ranged = self.atom(Token("word", text, target.line, 0, 0), IPV4 if family == 4 else IPV6)
        if ranged:
            raise self.error("dnat to an address range is not supported", target)
        port: int | None = None
        if port_text is not None:
            if not has_l4:
                raise self.error("transport protocol mapping is only valid after transport protocol match", target)
            (port, _), _ = self.atom(Token("word", port_text, target.line, 0, 0), SERVICE)
        return Step("dnat", line, family=family, dnat_to=(address, port))

    def primary(self) -> Expr:
        token = self.word("an expression")
        text = token.text
        if text in ("ip", "ip6"):
            field_ = self.word("saddr or daddr")
            if field_.text not in ("saddr", "daddr"):
                raise self.error(f"unknown expression {text} {field_.text!r}", field_)
            return Expr(f"{text}_{field_.text}", IPV4 if text == "ip" else IPV6)
        if text == "iifname":  # the input interface's name, as `meta iifname`
            return Expr("iifname", IFNAME)
        if text == "meta":
            key = self.word("a meta key")
            if key.text == "iifname":
                return Expr("iifname", IFNAME)
            if key.text == "l4proto":
                return Expr("l4proto", PROTO)
            if key.text == "nfproto":
                return Expr("nfproto", NFPROTO)
            if key.text == "mark":
                if self.peek().kind == "op" and self.peek().text in ("&", "|", "^"):
                    op = self.next().text
                    (value, _), ranged = self.atom(self.word("a mark"), MARK)
                    if ranged:
                        raise self.error("a mask cannot be a range", token)
                    return Expr("mark", MARK, binop=(op, value))
                return Expr("mark", MARK)
            raise self.error(f"unknown expression 'meta {key.text}'", key)
        if text == "th":
            key = self.word("dport or sport")
            if key.text not in ("dport", "sport"):
                raise self.error(f"unknown expression 'th {key.text}'", key)
            return Expr(f"th_{key.text}", SERVICE)
        if text in ("tcp", "udp", "sctp"):
            key = self.word("dport")
            if key.text != "dport":
                raise self.error(f"unknown expression '{text} {key.text}'", key)
            return Expr(f"{text}_dport", SERVICE)
        if text == "ct":
            key = self.word("state or status")
            if key.text == "state":
                return Expr("ct_state", CT_STATE)
            if key.text == "status":
                return Expr("ct_status", CT_STATUS)
            raise self.error(f"unknown expression 'ct {key.text}'", key)
        if text == "fib":
            key = self.word("saddr or daddr")
            if key.text not in ("saddr", "daddr"):
                raise self.error(f"unknown expression 'fib {key.text}'", key)
            self.expect("type")
            return Expr(f"fib_{key.text}", FIBTYPE)
        if text == "numgen":
            self.expect("random")
            self.expect("mod")
            modulus = self.word("a modulus")
            if not modulus.text.isdigit() or int(modulus.text) < 1:
                raise self.error(f"invalid numgen modulus {modulus.text!r}", modulus)
            return Expr("numgen", INTEGER, int(modulus.text))
        raise self.error(f"unknown expression {text!r}", token)

    def concat_expr(self) -> tuple[Expr, ...]:
        parts = [self.primary()]
        while self.at("."):
            self.next()
            parts.append(self.primary())
        if len(parts) > 1 and any(p.binop for p in parts):
            raise self.error("a masked expression cannot be part of a concatenation")
        return tuple(parts)

    def match(self, line: int) -> Step:
        expr = self.concat_expr()
        types = tuple(e.dtype for e in expr)
        if self.at("vmap"):
            self.next()
            if self.at("{"):
                anonymous = SetDef("{anonymous}", line, types, (VERDICT,), is_map=True)
                anonymous.elements = self.elements(anonymous, named=False)
                return Step("vmap", line, expr=expr, ref=anonymous)
            ref = self.word("@map")
            if not ref.text.startswith("@"):
                raise self.error(f"expected @map after vmap, found {ref.text!r}", ref)
            return Step("vmap", line, expr=expr, ref=ref.text[1:])
        op = ""
        if self.at("!=") or self.at("=="):
            op = self.next().text
        if self.end_of_statement():
            raise self.error("an expression needs a value to match")
        token = self.peek()
        if token.kind == "word" and token.text.startswith("@"):
            self.next()
            if op == "==":
                raise self.error("'==' cannot be used with a set lookup", token)
            return Step("lookup", line, expr=expr, op=op, ref=token.text[1:])
        if self.at("{"):
            if op == "==":
                raise self.error("'==' cannot be used with a set lookup", token)
            anonymous = SetDef("{anonymous}", line, types)
            anonymous.elements = self.elements(anonymous, named=False)
            return Step("lookup", line, expr=expr, op=op, ref=anonymous)
        if len(expr) > 1:
            raise self.error("use concatenations with sets and maps, not singleton values", token)
        dtype = types[0]
        if dtype == IFNAME:  # a quoted name, or a prefix with a trailing `*`: one value, no lists
            name = self.next()
            if name.kind not in ("word", "string"):
                raise self.error(f"expected an interface name, found {name.text!r}", name)
            return Step("compare", line, expr=expr, op=op, values=[(self.atom(name, dtype)[0],)])
        values = [self.atom(self.word("a value"), dtype)[0]]
        while self.at(","):
            if dtype not in BITMASK:
                raise self.error(f"a list of values needs a set {{ ... }} for {dtype}", self.peek())
            self.next()
            values.append(self.atom(self.word("a value"), dtype)[0])
        if self.at("."):
            raise self.error("use concatenations with sets and maps, not singleton values", self.peek())
        if len(values) > 1 and op == "==":
            raise self.error("'==' compares with one value, not a list", token)
        return Step("compare", line, expr=expr, op=op, values=[(v,) for v in values])
