"""The ruleset interpreter ("tracer"): what the rendered nftables *text* does to one packet.

netcompile proves its output by evaluating the artifact users apply, not the IR it came from. This
module reads the closed vocabulary of docs/semantics.md §4 and refuses everything else loudly, so a new
template construct cannot slip past the proof untaught.

Pipeline (one file, one phase per section below):

    text ──tokenize──▶ tokens ──parse──▶ tables, sets, chains, rule ASTs ──link──▶ closures ──evaluate──▶ Outcome

- **tokenize**: words (addresses, numbers, names, `10.0.0.0/8`, `80-90`, `fd00::1`), strings, newlines and
  the few punctuation marks nftables uses. ` . ` (concatenation), ` : ` (map arrow) and ` - ` (priority
  offset) are words of their own because netcompile always spaces them.
- **parse**: a small recursive parser. Values are typed by the expression or set they belong to, so
  `80-90` is a port range and `10.0.0.0/8` a prefix; both become closed integer intervals.
- **link**: resolves `@set`, `jump`/`goto` and verdict-map targets, checks datatypes as nft does, checks
  that NAT and reject statements are only reachable from hooks where the kernel allows them and that no
  chain loops, and compiles every rule into a list of Python closures. Sets become exact-match dicts
  (prefix/range elements: sorted interval lists searched by bisection; concatenations with ranges: a
  short list scanned after the dict).
- **evaluate**: walks the base chains of the packet's path in hook and priority order. `numgen random mod
  N` forks the evaluation: every run replays a fixed sequence of choices, and backtracking enumerates
  every sequence, each with its exact probability. Equal results are summed into one `Outcome`.

Kernel facts modelled (nft(8), netfilter): `accept` ends one base chain only; `drop`/`reject` are final;
a base chain that falls through (or returns) applies its policy; `dnat`/`masquerade` end their chain like
`accept`; nat chains see only `ct state new` packets, and once one nat chain of a hook has set up NAT the
later nat chains of that hook are skipped; `ip …`/`ip6 …`/`tcp …` matches and `reject with icmp|icmpv6|tcp
reset` carry the implicit protocol dependency nft adds, so they never match the other family/protocol;
`dnat ip` on an IPv6 packet does nothing.
"""

from __future__ import annotations

import ipaddress
import re
from bisect import bisect_right
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from math import prod

from ..model import IPAddress, Protocol
from .packet import Origin, Outcome, Packet, Result, Verdict

__all__ = ["Branch", "InterpreterError", "Ruleset"]


class InterpreterError(Exception):
    """The text uses a construct the interpreter does not know, or nft itself would refuse it.

    `line` counts from 1 (0 when the problem is not tied to a line); `text` is that line of the input.
    """

    def __init__(self, message: str, line: int = 0, text: str = "") -> None:
        self.message = message
        self.line = line
        self.text = text.strip()
        where = f"line {line}: " if line else ""
        super().__init__(f"{where}{message}" + (f": {self.text}" if self.text else ""))


# ───────────────────────────── datatypes and constants ─────────────────────────────

IPV4, IPV6, PROTO, SERVICE, MARK, INTEGER = "ipv4_addr", "ipv6_addr", "inet_proto", "inet_service", "mark", "integer"
VERDICT, IFNAME, CT_STATE, CT_STATUS, NFPROTO, FIBTYPE = (
    "verdict",
    "ifname",
    "ct_state",
    "ct_status",
    "nf_proto",
    "fib_addrtype",
)
# Datatypes that `type` declarations may name (docs/semantics.md §4).
_DECLARABLE = {IPV4, IPV6, PROTO, SERVICE, MARK, IFNAME}
_BITMASK = {CT_STATE, CT_STATUS}  # a bare value tests bits: `ct state established,related`
_RANGEABLE = {IPV4, IPV6, SERVICE, MARK, INTEGER, PROTO}

_PROTO_NAMES = {"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51, "icmpv6": 58}
_PROTO_NAMES |= {"sctp": 132, "udplite": 136, "dccp": 33}
_PACKET_PROTO = {Protocol.TCP: 6, Protocol.UDP: 17, Protocol.SCTP: 132}
_CT_STATE = {"invalid": 1, "established": 2, "related": 4, "new": 8, "untracked": 64}
_CT_STATUS = {"expected": 1, "seen-reply": 2, "assured": 4, "confirmed": 8, "snat": 16, "dnat": 32, "dying": 512}
_NFPROTO = {"ipv4": 2, "ipv6": 10}
_FIBTYPE = {"unspec": 0, "unicast": 1, "local": 2, "broadcast": 3, "anycast": 4, "multicast": 5}
_FIBTYPE |= {"blackhole": 6, "unreachable": 7, "prohibit": 8}
_NAMED = {CT_STATE: _CT_STATE, CT_STATUS: _CT_STATUS, NFPROTO: _NFPROTO, FIBTYPE: _FIBTYPE}
_BITS = {IPV4: 32, IPV6: 128, SERVICE: 16, MARK: 32, INTEGER: 32, PROTO: 8}

# Standard priority names (nft(8) "PRIORITY"), and the only hook each restricted name is valid at.
_PRIORITIES = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}
_PRIORITY_HOOK = {"dstnat": "prerouting", "srcnat": "postrouting"}
_HOOKS = ("prerouting", "input", "forward", "output", "postrouting")
_NAT_HOOKS = {"prerouting", "input", "output", "postrouting"}
_REJECT_HOOKS = {"prerouting", "input", "forward", "output"}
_SET_FLAGS = {"interval", "timeout", "dynamic", "constant"}

Interval = tuple[int, int]
Key = int | tuple[int, ...]


# ───────────────────────────── tokenizer ─────────────────────────────


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "word", "string", "op" (one of != == = { } ; , & | ^ +), "nl", "eof"
    text: str
    line: int
    start: int  # column span on that line, 0-based, end exclusive
    end: int


_SCANNER = re.compile(
    r"""[ \t\r]*
    (?: (?P<comment>\#[^\n]*)
      | (?P<nl>\n)
      | (?P<string>"[^"\n]*")
      | (?P<op>!=|==|[{};,=&|^+])
      | (?P<word>[A-Za-z0-9_.:/\[\]@-]+)
      | (?P<bad>.) )""",
    re.VERBOSE,
)


def _tokenize(text: str, lines: list[str]) -> list[_Token]:
    tokens: list[_Token] = []
    append = tokens.append
    line, line_start = 1, 0
    for m in _SCANNER.finditer(text):
        kind = m.lastgroup
        if kind == "comment" or kind is None:
            continue
        start, end = m.span(kind)
        if kind == "nl":
            append(_Token("nl", "\n", line, start - line_start, end - line_start))
            line += 1
            line_start = end
        elif kind == "bad":
            raise InterpreterError(f"unexpected character {text[start]!r}", line, lines[line - 1])
        else:
            append(_Token(kind, text[start:end], line, start - line_start, end - line_start))
    tokens.append(_Token("eof", "", line, 0, 0))
    return tokens


# ───────────────────────────── syntax tree ─────────────────────────────


@dataclass(frozen=True, slots=True)
class _Verdict:
    kind: str  # accept drop reject continue return jump goto; "break" = the rule stops without a verdict
    target: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.target}" if self.target else self.kind


_BREAK = _Verdict("break")
_ACCEPT = _Verdict("accept")
_DROP = _Verdict("drop")
_REJECT = _Verdict("reject")


@dataclass(frozen=True, slots=True)
class _Expr:
    """One primary expression, e.g. `ip daddr` or `meta mark & 0x4000`."""

    kind: str  # ip_saddr ip_daddr ip6_saddr ip6_daddr l4proto nfproto mark th_dport th_sport
    #            tcp_dport udp_dport sctp_dport ct_state ct_status fib_saddr fib_daddr numgen
    dtype: str
    arg: int = 0  # numgen modulus
    binop: tuple[str, int] | None = None  # ("&", 0x4000) for `meta mark & 0x4000`


@dataclass(frozen=True, slots=True)
class _Element:
    key: tuple[Interval, ...]
    value: _Verdict | tuple[int, ...] | None
    comment: str | None
    line: int
    ranged: bool  # written as a prefix or range


@dataclass(slots=True)
class _SetDef:
    name: str
    line: int
    key_types: tuple[str, ...] = ()
    value_types: tuple[str, ...] | None = None  # None: a set; ("verdict",): a verdict map
    flags: set[str] = field(default_factory=set)
    comment: str | None = None
    size: int | None = None  # the most elements the set may hold
    elements: list[_Element] = field(default_factory=list)
    is_map: bool = False
    lookup: _Lookup | None = None


@dataclass(slots=True)
class _Step:
    """One expression or statement of a rule, before linking."""

    kind: str
    line: int
    expr: tuple[_Expr, ...] = ()
    op: str = ""  # "", "==", "!="
    values: list[tuple[Interval, ...]] = field(default_factory=list)
    ref: str | _SetDef | None = None  # a named `@set` or an anonymous set/map
    verdict: _Verdict | None = None
    family: int = 0  # dnat ip/ip6, reject with icmp/icmpv6
    proto: int = 0  # reject with tcp reset
    mark_op: str = ""  # "set", "|", "^", "&"
    number: int = 0
    dnat_to: tuple[int, int | None] | None = None
    l4_known: bool = False  # dnat: a transport protocol match precedes it (nft requires one for a port)


@dataclass(slots=True)
class _Rule:
    line: int
    text: str
    comment: str | None
    steps: list[_Step]
    fns: list[Callable[[_Run], _Verdict | None]] = field(default_factory=list)
    label: str = ""


@dataclass(slots=True)
class _Chain:
    name: str
    line: int
    table: str = ""
    comment: str | None = None
    type: str = ""  # "filter" / "nat" for base chains, "" for regular chains
    hook: str = ""
    priority: int = 0
    policy: str = "accept"
    rules: list[_Rule] = field(default_factory=list)

    @property
    def is_base(self) -> bool:
        return bool(self.hook)


@dataclass(slots=True)
class _Table:
    name: str
    sets: dict[str, _SetDef] = field(default_factory=dict)
    chains: dict[str, _Chain] = field(default_factory=dict)


# ───────────────────────────── parser ─────────────────────────────

_EXPR_WORDS = {"ip", "ip6", "meta", "th", "tcp", "udp", "sctp", "ct", "fib", "numgen"}


class _Parser:
    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.tokens = _tokenize(text, self.lines)
        self.i = 0
        self.tables: dict[str, _Table] = {}

    # token helpers
    def error(self, message: str, token: _Token | None = None) -> InterpreterError:
        token = token or self.tokens[self.i]
        line = token.line
        return InterpreterError(message, line, self.lines[line - 1] if line <= len(self.lines) else "")

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def next(self) -> _Token:
        token = self.tokens[self.i]
        if token.kind != "eof":
            self.i += 1
        return token

    def at(self, text: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind in ("word", "op") and token.text == text

    def expect(self, text: str) -> _Token:
        token = self.next()
        if token.text != text or token.kind not in ("word", "op"):
            raise self.error(f"expected {text!r}, found {token.text or 'end of input'!r}", token)
        return token

    def word(self, what: str) -> _Token:
        token = self.next()
        if token.kind != "word":
            raise self.error(f"expected {what}, found {token.text or 'end of input'!r}", token)
        return token

    def string(self) -> str:
        token = self.next()
        if token.kind != "string":
            raise self.error(f"expected a quoted string, found {token.text!r}", token)
        return token.text[1:-1]

    def end_of_statement(self) -> bool:
        token = self.peek()
        return token.kind in ("nl", "eof") or (token.kind == "op" and token.text in (";", "}"))

    def finish_statement(self) -> None:
        if not self.end_of_statement():
            raise self.error(f"unexpected {self.peek().text!r}")
        if self.at(";"):
            self.next()

    def skip_separators(self) -> None:
        while self.peek().kind == "nl" or self.at(";"):
            self.next()

    # top level
    def parse(self) -> dict[str, _Table]:
        while True:
            self.skip_separators()
            token = self.peek()
            if token.kind == "eof":
                return self.tables
            if self.at("table"):
                self.next()
                name = self.table_name()
                if self.at("{"):
                    self.table_body(self.tables.setdefault(name, _Table(name)))
                else:
                    self.tables.setdefault(name, _Table(name))
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

    def table_body(self, table: _Table) -> None:
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
                chain = table.chains.setdefault(name.text, _Chain(name.text, name.line, table.name))
                self.chain_body(chain)
            else:
                raise self.error(f"unknown table statement {token.text!r}", token)
            self.finish_statement()

    # sets and maps
    def set_body(self, name: _Token, is_map: bool) -> _SetDef:
        definition = _SetDef(name.text, name.line, is_map=is_map)
        self.expect("{")
        elements: list[tuple[int, int]] = []  # token ranges of `elements = {...}`, parsed once types are known
        while True:
            self.skip_separators()
            token = self.peek()
            if self.at("}"):
                self.next()
                break
            if self.at("type") or self.at("typeof"):
                self.next()
                self.set_type(definition, token.text == "typeof", token)
            elif self.at("flags"):
                self.next()
                while True:
                    flag = self.word("a set flag")
                    if flag.text not in _SET_FLAGS:
                        raise self.error(f"unknown set flag {flag.text!r}", flag)
                    definition.flags.add(flag.text)
                    if not self.at(","):
                        break
                    self.next()
            elif self.at("timeout"):
                self.next()
                self.duration()
            elif self.at("size"):
                self.next()
                size = self.word("a set size")
                if not size.text.isdigit() or int(size.text) == 0:
                    raise self.error(f"invalid set size {size.text!r}", size)
                definition.size = int(size.text)
            elif self.at("comment"):
                self.next()
                definition.comment = self.string()
            elif self.at("elements"):
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

    def skip_braces(self) -> None:
        self.expect("{")
        depth = 1
        while depth:
            token = self.next()
            if token.kind == "eof":
                raise self.error("unterminated '{'", token)
            if token.kind == "op" and token.text == "{":
                depth += 1
            elif token.kind == "op" and token.text == "}":
                depth -= 1

    def duration(self) -> int:
        token = self.word("a duration")
        m = re.fullmatch(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", token.text)
        if not token.text or m is None:
            raise self.error(f"invalid duration {token.text!r}", token)
        days, hours, minutes, seconds = (int(g or 0) for g in m.groups())
        return ((days * 24 + hours) * 60 + minutes) * 60 + seconds

    def set_type(self, definition: _SetDef, typeof: bool, token: _Token) -> None:
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
                if t.text not in _DECLARABLE:
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

    def elements(self, definition: _SetDef, named: bool) -> list[_Element]:
        """`{ key [comment "c"] [: value], ... }`: typed by the set declaration or the matched expression."""
        self.expect("{")
        out: list[_Element] = []
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
            value: _Verdict | tuple[int, ...] | None = None
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
            out.append(_Element(key, value, comment, first.line, ranged))
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

    def map_value(self, types: tuple[str, ...]) -> _Verdict | tuple[int, ...]:
        if types == (VERDICT,):
            return self.verdict(map_value=True)
        atoms, ranged = self.concat_value(types)
        if ranged:
            raise self.error("a map value cannot be a range or prefix")
        return tuple(lo for lo, _ in atoms)

    def verdict(self, map_value: bool = False) -> _Verdict:
        token = self.word("a verdict")
        if token.text in ("accept", "drop", "continue", "return"):
            return _Verdict(token.text)
        if token.text in ("jump", "goto"):
            return _Verdict(token.text, self.word("a chain name").text)
        if map_value:
            raise self.error(f"{token.text!r} is not a verdict", token)
        raise self.error(f"unknown statement {token.text!r}", token)

    def atom(self, token: _Token, dtype: str) -> tuple[Interval, bool]:
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
                if len(name) > 15:
                    raise ValueError
                value = int.from_bytes(name.encode().ljust(16, b"\0"), "big")
                return (value, value), False
            if dtype in _NAMED:
                names = _NAMED[dtype]
                if text not in names:
                    raise self.error(f"unknown {dtype} value {text!r} (known: {', '.join(names)})", token)
                return (names[text], names[text]), False
            if dtype in _BITS:
                if "-" in text and dtype in _RANGEABLE:
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
        if dtype == PROTO and text in _PROTO_NAMES:
            return _PROTO_NAMES[text]
        value = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
        if not 0 <= value < (1 << _BITS[dtype]):
            raise ValueError
        return value

    # chains and rules
    def chain_body(self, chain: _Chain) -> None:
        self.expect("{")
        while True:
            self.skip_separators()
            token = self.peek()
            if self.at("}"):
                self.next()
                return
            if self.at("comment") and self.peek(1).kind == "string":
                self.next()
                chain.comment = self.string()
                self.finish_statement()
            elif self.at("type"):
                self.next()
                self.base_chain(chain, token)
            elif self.at("policy"):
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

    def base_chain(self, chain: _Chain, start: _Token) -> None:
        kind = self.word("a chain type")
        if kind.text not in ("filter", "nat"):
            raise self.error(f"unknown chain type {kind.text!r}", kind)
        self.expect("hook")
        hook = self.word("a hook")
        if hook.text not in _HOOKS:
            raise self.error(f"unknown hook {hook.text!r}", hook)
        if kind.text == "nat" and hook.text not in _NAT_HOOKS:
            raise self.error(f"nat chains cannot use hook {hook.text}", hook)
        self.expect("priority")
        first = self.word("a priority")
        if first.text in _PRIORITIES:
            allowed = _PRIORITY_HOOK.get(first.text, hook.text)
            if allowed != hook.text:
                raise self.error(f"priority {first.text} is not valid at hook {hook.text}", first)
            priority = _PRIORITIES[first.text]
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

    def rule(self) -> _Rule:
        first = self.peek()
        steps: list[_Step] = []
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
                has_l4 = has_l4 or any(e.kind in _L4_KINDS for e in step.expr)
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
        return _Rule(first.line, text, comment, steps)

    def statement(self, has_l4: bool) -> _Step:
        token = self.peek()
        line = token.line
        if token.kind != "word":
            raise self.error(f"unexpected {token.text!r}", token)
        text = token.text
        if text in ("accept", "drop", "continue", "return", "jump", "goto"):
            return _Step("verdict", line, verdict=self.verdict())
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
            return _Step("counter", line)
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
            return _Step("masquerade", line)
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
            return _Step("update", line, expr=expr, ref=ref.text[1:])
        if text in _EXPR_WORDS:
            return self.match(line)
        raise self.error(f"unknown statement or expression {text!r}", token)

    def reject(self, line: int) -> _Step:
        step = _Step("reject", line)
        if not self.at("with"):
            return step
        self.next()
        kind = self.word("icmp, icmpv6, icmpx or tcp")
        if kind.text == "tcp":
            self.expect("reset")
            step.proto = _PROTO_NAMES["tcp"]
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

    def mark_set(self, line: int) -> _Step:
        if self.at("meta") and self.at("mark", 1):
            self.i += 2
            op = self.next()
            if op.kind != "op" or op.text not in ("|", "^", "&"):
                raise self.error(f"expected |, ^ or & after 'meta mark set meta mark', found {op.text!r}", op)
            (value, _), ranged = self.atom(self.word("a mark"), MARK)
            return _Step("mark", line, mark_op=op.text, number=value)
        (value, _), ranged = self.atom(self.word("a mark"), MARK)
        if ranged:
            raise self.error("a mark cannot be a range")
        return _Step("mark", line, mark_op="set", number=value)

    def dnat(self, line: int, has_l4: bool) -> _Step:
        family_token = self.word("ip or ip6")
        if family_token.text not in ("ip", "ip6"):
            raise self.error("dnat in an inet table needs 'ip' or 'ip6'", family_token)
        family = 4 if family_token.text == "ip" else 6
        self.expect("to")
        if self.peek().text in _EXPR_WORDS:
            expr = self.concat_expr()
            self.expect("map")
            ref = self.word("@map")
            if not ref.text.startswith("@"):
                raise self.error(f"expected @map, found {ref.text!r}", ref)
            has_l4 = has_l4 or any(e.kind in _L4_KINDS for e in expr)
            return _Step("dnat_map", line, expr=expr, ref=ref.text[1:], family=family, l4_known=has_l4)
        target = self.word("an address")
        text = target.text
        port_text: str | None = None
        if family == 6:
            m = re.fullmatch(r"\[([0-9a-fA-F:.]+)\](?::(\d+))?", text)
            if m:
                text, port_text = m.group(1), m.group(2)
        elif text.count(":") == 1:
            text, port_text = text.split(":")
        (address, _), ranged = self.atom(_Token("word", text, target.line, 0, 0), IPV4 if family == 4 else IPV6)
        if ranged:
            raise self.error("dnat to an address range is not supported", target)
        port: int | None = None
        if port_text is not None:
            if not has_l4:
                raise self.error("transport protocol mapping is only valid after transport protocol match", target)
            (port, _), _ = self.atom(_Token("word", port_text, target.line, 0, 0), SERVICE)
        return _Step("dnat", line, family=family, dnat_to=(address, port))

    def primary(self) -> _Expr:
        token = self.word("an expression")
        text = token.text
        if text in ("ip", "ip6"):
            field_ = self.word("saddr or daddr")
            if field_.text not in ("saddr", "daddr"):
                raise self.error(f"unknown expression {text} {field_.text!r}", field_)
            return _Expr(f"{text}_{field_.text}", IPV4 if text == "ip" else IPV6)
        if text == "meta":
            key = self.word("a meta key")
            if key.text == "l4proto":
                return _Expr("l4proto", PROTO)
            if key.text == "nfproto":
                return _Expr("nfproto", NFPROTO)
            if key.text == "mark":
                if self.peek().kind == "op" and self.peek().text in ("&", "|", "^"):
                    op = self.next().text
                    (value, _), ranged = self.atom(self.word("a mark"), MARK)
                    if ranged:
                        raise self.error("a mask cannot be a range", token)
                    return _Expr("mark", MARK, binop=(op, value))
                return _Expr("mark", MARK)
            raise self.error(f"unknown expression 'meta {key.text}'", key)
        if text == "th":
            key = self.word("dport or sport")
            if key.text not in ("dport", "sport"):
                raise self.error(f"unknown expression 'th {key.text}'", key)
            return _Expr(f"th_{key.text}", SERVICE)
        if text in ("tcp", "udp", "sctp"):
            key = self.word("dport")
            if key.text != "dport":
                raise self.error(f"unknown expression '{text} {key.text}'", key)
            return _Expr(f"{text}_dport", SERVICE)
        if text == "ct":
            key = self.word("state or status")
            if key.text == "state":
                return _Expr("ct_state", CT_STATE)
            if key.text == "status":
                return _Expr("ct_status", CT_STATUS)
            raise self.error(f"unknown expression 'ct {key.text}'", key)
        if text == "fib":
            key = self.word("saddr or daddr")
            if key.text not in ("saddr", "daddr"):
                raise self.error(f"unknown expression 'fib {key.text}'", key)
            self.expect("type")
            return _Expr(f"fib_{key.text}", FIBTYPE)
        if text == "numgen":
            self.expect("random")
            self.expect("mod")
            modulus = self.word("a modulus")
            if not modulus.text.isdigit() or int(modulus.text) < 1:
                raise self.error(f"invalid numgen modulus {modulus.text!r}", modulus)
            return _Expr("numgen", INTEGER, int(modulus.text))
        raise self.error(f"unknown expression {text!r}", token)

    def concat_expr(self) -> tuple[_Expr, ...]:
        parts = [self.primary()]
        while self.at("."):
            self.next()
            parts.append(self.primary())
        if len(parts) > 1 and any(p.binop for p in parts):
            raise self.error("a masked expression cannot be part of a concatenation")
        return tuple(parts)

    def match(self, line: int) -> _Step:
        expr = self.concat_expr()
        types = tuple(e.dtype for e in expr)
        if self.at("vmap"):
            self.next()
            if self.at("{"):
                anonymous = _SetDef("{anonymous}", line, types, (VERDICT,), is_map=True)
                anonymous.elements = self.elements(anonymous, named=False)
                return _Step("vmap", line, expr=expr, ref=anonymous)
            ref = self.word("@map")
            if not ref.text.startswith("@"):
                raise self.error(f"expected @map after vmap, found {ref.text!r}", ref)
            return _Step("vmap", line, expr=expr, ref=ref.text[1:])
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
            return _Step("lookup", line, expr=expr, op=op, ref=token.text[1:])
        if self.at("{"):
            if op == "==":
                raise self.error("'==' cannot be used with a set lookup", token)
            anonymous = _SetDef("{anonymous}", line, types)
            anonymous.elements = self.elements(anonymous, named=False)
            return _Step("lookup", line, expr=expr, op=op, ref=anonymous)
        if len(expr) > 1:
            raise self.error("use concatenations with sets and maps, not singleton values", token)
        dtype = types[0]
        values = [self.atom(self.word("a value"), dtype)[0]]
        while self.at(","):
            if dtype not in _BITMASK:
                raise self.error(f"a list of values needs a set {{ ... }} for {dtype}", self.peek())
            self.next()
            values.append(self.atom(self.word("a value"), dtype)[0])
        if self.at("."):
            raise self.error("use concatenations with sets and maps, not singleton values", self.peek())
        if len(values) > 1 and op == "==":
            raise self.error("'==' compares with one value, not a list", token)
        return _Step("compare", line, expr=expr, op=op, values=[(v,) for v in values])


# Expressions that tell nft the transport protocol (`th` does not: it reads ports of any protocol).
_L4_KINDS = {"l4proto", "tcp_dport", "udp_dport", "sctp_dport"}


# ───────────────────────────── sets as Python structures ─────────────────────────────


@dataclass(frozen=True, slots=True)
class _Entry:
    value: _Verdict | tuple[int, ...] | None
    comment: str | None


class _Lookup:
    """A set or map ready for lookups: exact keys in a dict, single-field intervals bisected, the rest scanned."""

    __slots__ = ("ends", "entries", "exact", "scan", "starts")

    def __init__(self, definition: _SetDef, error: Callable[[str, int], InterpreterError]) -> None:
        self.exact: dict[Key, _Entry] = {}
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.entries: list[_Entry] = []
        self.scan: list[tuple[tuple[Interval, ...], _Entry]] = []
        interval = "interval" in definition.flags
        arity = len(definition.key_types)
        ranges: list[tuple[Interval, _Entry, int]] = []
        for element in definition.elements:
            if element.ranged and not interval:
                raise error(f"set {definition.name!r}: prefix or range element needs 'flags interval'", element.line)
            entry = _Entry(element.value, element.comment)
            points = all(lo == hi for lo, hi in element.key)
            if arity == 1 and interval:
                ranges.append((element.key[0], entry, element.line))
            elif points:
                key: Key = element.key[0][0] if arity == 1 else tuple(lo for lo, _ in element.key)
                old = self.exact.get(key)
                if old is not None and old.value != entry.value:
                    raise error(f"set {definition.name!r}: element given twice with different values", element.line)
                if old is None:
                    self.exact[key] = entry
            else:
                self.scan.append((element.key, entry))
        ranges.sort(key=lambda r: r[0])
        for (lo, hi), entry, line in ranges:
            if self.starts and lo <= self.ends[-1]:
                if (lo, hi) == (self.starts[-1], self.ends[-1]) and self.entries[-1].value == entry.value:
                    continue  # nft merges an element given twice
                raise error(f"set {definition.name!r}: conflicting intervals specified", line)
            self.starts.append(lo)
            self.ends.append(hi)
            self.entries.append(entry)

    def get(self, key: Key) -> _Entry | None:
        entry = self.exact.get(key)
        if entry is not None:
            return entry
        if self.starts:
            assert isinstance(key, int)
            index = bisect_right(self.starts, key) - 1
            if index >= 0 and key <= self.ends[index]:
                return self.entries[index]
        if self.scan:
            assert isinstance(key, tuple)
            for intervals, entry in self.scan:
                if all(lo <= k <= hi for k, (lo, hi) in zip(key, intervals, strict=True)):
                    return entry
        return None


# ───────────────────────────── evaluation state ─────────────────────────────

_NEW = _CT_STATE["new"]


class _Run:
    """One deterministic pass of a packet through the ruleset, given the numgen choices to replay."""

    __slots__ = (
        "choices",
        "ct_state",
        "ct_status",
        "dport",
        "dst",
        "dynamic",
        "local",
        "mark",
        "masquerade",
        "nat_hooks",
        "notes",
        "path",
        "pos",
        "proto",
        "sizes",
        "sport",
        "src",
        "version",
    )

    def __init__(self, packet: Packet, local: frozenset[tuple[int, int]], choices: list[int]) -> None:
        if packet.src.version != packet.dst.version:
            raise ValueError(f"packet {packet}: source and destination of different IP versions")
        self.version = packet.dst.version
        self.src = int(packet.src)
        self.dst = int(packet.dst)
        self.proto = _PACKET_PROTO[packet.protocol]
        self.sport = packet.sport
        self.dport = packet.dport
        if packet.ct_state not in ("new", "established", "related"):
            raise ValueError(f"packet {packet}: unknown ct_state {packet.ct_state!r}")
        self.ct_state = _CT_STATE[packet.ct_state]
        self.ct_status = 0 if self.ct_state == _NEW else _CT_STATUS["confirmed"] | _CT_STATUS["seen-reply"]
        self.mark = 0
        self.masquerade = False
        self.local = local
        self.choices = choices
        self.sizes: list[int] = []
        self.pos = 0
        self.dynamic: dict[int, set[Key]] = {}
        self.path: list[str] = []
        self.notes: list[str] = []
        self.nat_hooks: set[str] = set()

    def choose(self, n: int) -> int:
        pos = self.pos
        self.pos += 1
        self.sizes.append(n)
        if pos < len(self.choices):
            return self.choices[pos]
        self.choices.append(0)
        return 0

    def dst_is_local(self) -> bool:
        return (self.version, self.dst) in self.local

    def result(self) -> Result:
        dst = ipaddress.IPv4Address(self.dst) if self.version == 4 else ipaddress.IPv6Address(self.dst)
        return Result(Verdict.DELIVERED, dst, self.dport, self.masquerade)


ExprFn = Callable[[_Run], int | None]
KeyFn = Callable[[_Run], Key | None]
StepFn = Callable[[_Run], _Verdict | None]


def _primary_fn(expr: _Expr) -> ExprFn:
    kind = expr.kind
    fn: ExprFn
    if kind in ("ip_saddr", "ip6_saddr", "ip_daddr", "ip6_daddr"):
        version = 4 if kind.startswith("ip_") else 6
        if kind.endswith("saddr"):
            fn = lambda r: r.src if r.version == version else None  # noqa: E731
        else:
            fn = lambda r: r.dst if r.version == version else None  # noqa: E731
    elif kind == "l4proto":
        fn = lambda r: r.proto  # noqa: E731
    elif kind == "nfproto":
        fn = lambda r: _NFPROTO["ipv4"] if r.version == 4 else _NFPROTO["ipv6"]  # noqa: E731
    elif kind == "mark":
        fn = lambda r: r.mark  # noqa: E731
    elif kind == "th_dport":
        fn = lambda r: r.dport  # noqa: E731
    elif kind == "th_sport":
        fn = lambda r: r.sport  # noqa: E731
    elif kind in ("tcp_dport", "udp_dport", "sctp_dport"):
        proto = _PROTO_NAMES[kind.split("_")[0]]
        fn = lambda r: r.dport if r.proto == proto else None  # noqa: E731
    elif kind == "ct_state":
        fn = lambda r: r.ct_state  # noqa: E731
    elif kind == "ct_status":
        fn = lambda r: r.ct_status  # noqa: E731
    elif kind == "fib_saddr":
        fn = lambda r: _FIBTYPE["local"] if (r.version, r.src) in r.local else _FIBTYPE["unicast"]  # noqa: E731
    elif kind == "fib_daddr":
        fn = lambda r: _FIBTYPE["local"] if (r.version, r.dst) in r.local else _FIBTYPE["unicast"]  # noqa: E731
    elif kind == "numgen":
        modulus = expr.arg
        fn = lambda r: r.choose(modulus)  # noqa: E731
    else:  # pragma: no cover - the parser only builds the kinds above
        raise AssertionError(kind)
    if expr.binop is None:
        return fn
    op, operand = expr.binop
    inner = fn
    if op == "&":
        return lambda r: None if (v := inner(r)) is None else v & operand
    if op == "|":
        return lambda r: None if (v := inner(r)) is None else v | operand
    return lambda r: None if (v := inner(r)) is None else v ^ operand


def _key_fn(exprs: tuple[_Expr, ...]) -> KeyFn:
    fns = [_primary_fn(e) for e in exprs]
    if len(fns) == 1:
        return fns[0]

    def concat(r: _Run) -> Key | None:
        out: list[int] = []
        for fn in fns:
            value = fn(r)
            if value is None:
                return None  # an implicit dependency (ip vs ip6, tcp vs udp) failed: the rule ends here
            out.append(value)
        return tuple(out)

    return concat


# ───────────────────────────── linking ─────────────────────────────


class _Linker:
    def __init__(self, tables: dict[str, _Table], lines: list[str]) -> None:
        self.tables = tables
        self.lines = lines

    def error(self, message: str, line: int) -> InterpreterError:
        return InterpreterError(message, line, self.lines[line - 1] if 0 < line <= len(self.lines) else "")

    def link(self) -> None:
        for table in self.tables.values():
            for definition in table.sets.values():
                self.check_verdicts(table, definition)
                definition.lookup = _Lookup(definition, self.error)
            for chain in table.chains.values():
                for rule in chain.rules:
                    rule.fns = [self.step(table, step) for step in rule.steps]
                    label = f"{chain.name}: {rule.text}"
                    rule.label = f"{label}  # {rule.comment}" if rule.comment else label
            self.check_graph(table)

    def check_verdicts(self, table: _Table, definition: _SetDef) -> None:
        for element in definition.elements:
            if isinstance(element.value, _Verdict) and element.value.target:
                self.target(table, element.value.target, element.line)

    def target(self, table: _Table, name: str, line: int) -> _Chain:
        chain = table.chains.get(name)
        if chain is None:
            raise self.error(f"unknown chain {name!r}", line)
        if chain.is_base:
            raise self.error(f"cannot jump to base chain {name!r}", line)
        return chain

    def named(self, table: _Table, ref: str | _SetDef | None, line: int) -> _SetDef:
        if isinstance(ref, _SetDef):
            self.check_verdicts(table, ref)
            ref.lookup = _Lookup(ref, self.error)
            return ref
        assert ref is not None
        definition = table.sets.get(ref)
        if definition is None:
            raise self.error(f"unknown set or map @{ref}", line)
        return definition

    def check_types(self, definition: _SetDef, exprs: tuple[_Expr, ...], line: int) -> None:
        types = tuple(e.dtype for e in exprs)
        if types != definition.key_types:
            raise self.error(
                f"datatype mismatch: expression is {' . '.join(types)}, "
                f"@{definition.name} holds {' . '.join(definition.key_types)}",
                line,
            )

    def step(self, table: _Table, step: _Step) -> StepFn:
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
            return self.compare(step)
        if kind == "lookup":
            definition = self.named(table, step.ref, step.line)
            if definition.is_map:
                raise self.error(f"@{definition.name} is a map: look it up with vmap or a statement", step.line)
            self.check_types(definition, step.expr, step.line)
            return self.lookup(definition, _key_fn(step.expr), step.op == "!=")
        if kind == "vmap":
            definition = self.named(table, step.ref, step.line)
            if definition.value_types != (VERDICT,):
                raise self.error(f"@{definition.name} is not a verdict map", step.line)
            self.check_types(definition, step.expr, step.line)
            return self.vmap(definition, _key_fn(step.expr))
        if kind == "reject":
            family, proto = step.family, step.proto

            def reject(r: _Run) -> _Verdict:
                if (family and r.version != family) or (proto and r.proto != proto):
                    return _BREAK  # nft adds `meta nfproto ...`/`meta l4proto tcp` in front of such a reject
                return _REJECT

            return reject
        if kind == "mark":
            return self.mark(step)
        if kind == "masquerade":

            def masquerade(r: _Run) -> _Verdict:
                r.masquerade = True
                r.ct_status |= _CT_STATUS["snat"]
                r.nat_hooks.add("postrouting")
                return _ACCEPT

            return masquerade
        if kind == "dnat":
            assert step.dnat_to is not None
            return self.dnat(step.family, lambda r: step.dnat_to)
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
            lookup = definition.lookup
            assert lookup is not None
            key_fn = _key_fn(step.expr)

            def target(r: _Run) -> tuple[int, int | None] | None:
                key = key_fn(r)
                entry = None if key is None else lookup.get(key)
                if entry is None:
                    return None
                if entry.comment:
                    r.notes.append(entry.comment)
                value = entry.value
                assert isinstance(value, tuple)
                return (value[0], value[1] if len(value) > 1 else None)

            return self.dnat(step.family, target)
        if kind == "update":
            assert isinstance(step.ref, str)
            definition = self.named(table, step.ref, step.line)
            if definition.is_map:
                raise self.error(f"@{definition.name} is a map: update needs a set", step.line)
            self.check_types(definition, step.expr, step.line)
            key_fn = _key_fn(step.expr)
            ident = id(definition)

            def update(r: _Run) -> _Verdict | None:
                key = key_fn(r)
                if key is None:
                    return _BREAK
                r.dynamic.setdefault(ident, set()).add(key)
                return None

            return update
        raise AssertionError(kind)  # pragma: no cover

    @staticmethod
    def compare(step: _Step) -> StepFn:
        fn = _primary_fn(step.expr[0])
        dtype = step.expr[0].dtype
        negate = step.op == "!="
        if dtype in _BITMASK and step.op != "==":
            bits = 0
            for ((lo, _),) in step.values:
                bits |= lo
            if negate:
                return lambda r: None if (v := fn(r)) is not None and not v & bits else _BREAK
            return lambda r: None if (v := fn(r)) is not None and v & bits else _BREAK
        ((lo, hi),) = step.values[0]
        if negate:
            return lambda r: None if (v := fn(r)) is not None and not lo <= v <= hi else _BREAK
        return lambda r: None if (v := fn(r)) is not None and lo <= v <= hi else _BREAK

    @staticmethod
    def lookup(definition: _SetDef, key_fn: KeyFn, negate: bool) -> StepFn:
        lookup = definition.lookup
        assert lookup is not None
        ident = id(definition)

        def member(r: _Run) -> _Verdict | None:
            key = key_fn(r)
            if key is None:
                return _BREAK
            entry = lookup.get(key)
            added = r.dynamic.get(ident)
            found = entry is not None or (added is not None and key in added)
            if found == negate:
                return _BREAK
            if entry is not None and entry.comment and not negate:
                r.notes.append(entry.comment)
            return None

        return member

    @staticmethod
    def vmap(definition: _SetDef, key_fn: KeyFn) -> StepFn:
        lookup = definition.lookup
        assert lookup is not None

        def vmap(r: _Run) -> _Verdict:
            key = key_fn(r)
            entry = None if key is None else lookup.get(key)
            if entry is None:
                return _BREAK
            if entry.comment:
                r.notes.append(entry.comment)
            assert isinstance(entry.value, _Verdict)
            return entry.value

        return vmap

    @staticmethod
    def mark(step: _Step) -> StepFn:
        op, value = step.mark_op, step.number

        def mark(r: _Run) -> None:
            if op == "set":
                r.mark = value
            elif op == "|":
                r.mark |= value
            elif op == "^":
                r.mark ^= value
            else:
                r.mark &= value

        return mark

    @staticmethod
    def dnat(family: int, target: Callable[[_Run], tuple[int, int | None] | None]) -> StepFn:
        def dnat(r: _Run) -> _Verdict | None:
            to = target(r)
            if to is None:
                return _BREAK  # map lookup miss (or `ip daddr` of an IPv6 packet): the rule does not match
            if r.version != family:
                return None  # `dnat ip to ADDR` on an IPv6 packet does nothing (nft_nat_inet_eval)
            r.dst = to[0]
            if to[1] is not None:
                r.dport = to[1]
            r.ct_status |= _CT_STATUS["dnat"]
            r.nat_hooks.add("dnat")
            return _ACCEPT

        return dnat

    def check_graph(self, table: _Table) -> None:
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
                        for element in definition.elements:
                            if isinstance(element.value, _Verdict) and element.value.target:
                                out.append((element.value.target, step.line))
                    if step.kind in ("dnat", "dnat_map", "masquerade", "reject"):
                        need.append((step.kind, step.line))
            edges[chain.name] = out
            needs[chain.name] = need
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done

        def visit(name: str, line: int) -> None:
            if state.get(name) == 1:
                raise self.error(f"chain {name!r} jumps back to itself (loop)", line)
            if state.get(name) == 2:
                return
            state[name] = 1
            for target, at in edges[name]:
                visit(target, at)
            state[name] = 2

        for chain in table.chains.values():
            visit(chain.name, chain.line)
        for base in table.chains.values():
            if not base.is_base:
                continue
            seen: set[str] = set()
            stack = [base.name]
            while stack:
                name = stack.pop()
                if name in seen:
                    continue
                seen.add(name)
                for kind, line in needs[name]:
                    self.check_context(kind, line, base)
                stack.extend(t for t, _ in edges[name])

    def check_context(self, kind: str, line: int, base: _Chain) -> None:
        where = f"reachable from base chain {base.name!r} (type {base.type} hook {base.hook})"
        if kind == "reject" and base.hook not in _REJECT_HOOKS:
            raise self.error(f"reject is not allowed at hook {base.hook}: {where}", line)
        if kind in ("dnat", "dnat_map") and (base.type != "nat" or base.hook not in ("prerouting", "output")):
            raise self.error(f"dnat needs a nat chain at prerouting or output: {where}", line)
        if kind == "masquerade" and (base.type != "nat" or base.hook != "postrouting"):
            raise self.error(f"masquerade needs a nat chain at postrouting: {where}", line)


# ───────────────────────────── the ruleset ─────────────────────────────


@dataclass(frozen=True, slots=True)
class Branch:
    """One way the packet can go: the numgen choices made, their probability, the result, the rules matched."""

    probability: Fraction
    result: Result
    path: tuple[str, ...]


class Ruleset:
    """A parsed, linked ruleset: parse once, evaluate many packets."""

    def __init__(self, tables: dict[str, _Table]) -> None:
        self._tables = tables
        self._hooks: dict[str, list[_Chain]] = {hook: [] for hook in _HOOKS}
        for table in tables.values():
            for chain in table.chains.values():
                if chain.is_base:
                    self._hooks[chain.hook].append(chain)
        for chains in self._hooks.values():
            chains.sort(key=lambda c: c.priority)  # stable: equal priorities run in definition order

    @classmethod
    def parse(cls, text: str) -> Ruleset:
        parser = _Parser(text)
        tables = parser.parse()
        _Linker(tables, parser.lines).link()
        return cls(tables)

    @property
    def base_chains(self) -> list[str]:
        """`hook/priority/name` of every base chain, in evaluation order (for documentation and tests)."""
        return [f"{c.hook}/{c.priority}/{c.name}" for hook in _HOOKS for c in self._hooks[hook]]

    def branches(self, packet: Packet, local_addresses: Collection[IPAddress]) -> Iterator[Branch]:
        """Every numgen branch of the packet's path, in order, with its exact probability."""
        local = frozenset((a.version, int(a)) for a in local_addresses)
        choices: list[int] = []
        while True:
            run = _Run(packet, local, choices)
            result = self._walk(packet, run)
            yield Branch(Fraction(1, prod(run.sizes)), result, tuple(run.path))
            # backtrack to the next choice sequence: the last position that can still be increased
            used, sizes = run.choices, run.sizes
            index = len(sizes) - 1
            while index >= 0 and used[index] == sizes[index] - 1:
                index -= 1
            if index < 0:
                return
            choices = [*used[:index], used[index] + 1]

    def evaluate(self, packet: Packet, local_addresses: Collection[IPAddress]) -> Outcome:
        distribution: dict[Result, Fraction] = {}
        paths: dict[Result, tuple[str, ...]] = {}
        for branch in self.branches(packet, local_addresses):
            distribution[branch.result] = distribution.get(branch.result, Fraction(0)) + branch.probability
            paths.setdefault(branch.result, branch.path)
        outcome = Outcome(distribution)
        if len(distribution) == 1:
            outcome.path = list(next(iter(paths.values())))
            return outcome
        for result, probability in sorted(distribution.items(), key=lambda kv: (-kv[1], kv[0].sort_key())):
            outcome.path.append(f"{probability} {result}:")
            outcome.path.extend(f"  {step}" for step in paths[result])
        return outcome

    # the walk
    def _walk(self, packet: Packet, run: _Run) -> Result:
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

    def _hook(self, hook: str, run: _Run) -> Result | None:
        """Run the base chains of one hook; a Result when the packet dies here."""
        for chain in self._hooks[hook]:
            if chain.type == "nat":
                if run.ct_state != _NEW:
                    continue  # nat chains see only the first packet of a connection
                manip = "dnat" if hook in ("prerouting", "output") else hook
                if manip in run.nat_hooks:
                    continue  # NAT is set up: later nat chains of this hook are skipped
            verdict = self._chain(chain, run)
            if verdict.kind == "drop":
                return Result.dropped()
            if verdict.kind == "reject":
                return Result.rejected()
        return None

    def _chain(self, base: _Chain, run: _Run) -> _Verdict:
        table = self._tables[base.table]
        stack: list[tuple[_Chain, int]] = []
        chain, index = base, 0
        while True:
            rules = chain.rules
            if index >= len(rules):
                if stack:
                    chain, index = stack.pop()
                    continue
                return self._policy(base, run)
            rule = rules[index]
            index += 1
            verdict = self._rule(chain, rule, run)
            if verdict is None or verdict.kind == "continue":
                continue
            kind = verdict.kind
            if kind == "return":
                if stack:
                    chain, index = stack.pop()
                    continue
                return self._policy(base, run)
            if kind == "jump":
                stack.append((chain, index))
                chain, index = table.chains[verdict.target], 0
            elif kind == "goto":
                chain, index = table.chains[verdict.target], 0
            else:
                return verdict

    @staticmethod
    def _policy(base: _Chain, run: _Run) -> _Verdict:
        if base.policy == "drop":
            run.path.append(f"{base.name}: policy drop")
            return _DROP
        return _ACCEPT

    @staticmethod
    def _rule(chain: _Chain, rule: _Rule, run: _Run) -> _Verdict | None:
        del run.notes[:]
        for fn in rule.fns:
            verdict = fn(run)
            if verdict is None:
                continue
            if verdict is _BREAK:
                return None
            run.path.append(_label(rule, run.notes))
            return verdict
        run.path.append(_label(rule, run.notes))
        return None


def _label(rule: _Rule, notes: list[str]) -> str:
    if not notes:
        return rule.label
    return f"{rule.label}; {'; '.join(notes)}" if rule.comment else f"{rule.label}  # {'; '.join(notes)}"
