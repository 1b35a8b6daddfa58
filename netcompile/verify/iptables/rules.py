"""Rules: the words of one `-A CHAIN ...` line read as matches and a target, as iptables reads them.

The grammar is getopt's, as iptables(8) and iptables-extensions(8) define it: `[!] -s/-d ADDR[/LEN]`,
`[!] -i NAME` (`NAME+`: a prefix), `[!] -p PROTO`, `-m MODULE` followed by that module's options
(`[!] --option value`), `-j TARGET` followed by its options, or `-g CHAIN`. An option belongs to the
latest loaded module that defines it; `--dport` after `-p tcp` loads the tcp match implicitly, as
iptables does. `!` goes before the option it negates (iptables 1.8 refuses the old `--option ! value`).
Each module's options, and what they require, are checked as its libxt extension checks them; anything
outside the vocabulary is an error naming the line.
"""

from __future__ import annotations

import ipaddress
import shlex
from dataclasses import dataclass, field
from functools import lru_cache

from ..interpreter.errors import InterpreterError
from .matches import build_match, number, port_ranges
from .syntax import AddrMatch, IfaceMatch, Match, ProtoMatch, Rule, Target
from .vocabulary import DNAT_PORT_PROTOS, EXTENSIONS, IFNAMSIZ, MAX_COMMENT, PROTO_NAMES, REJECT_WITH, STANDARD
from .words import Line

__all__ = ["MODULES", "parse_rule"]

# Each module's options: name -> (number of values, may be negated).
MODULES: dict[str, dict[str, tuple[int, bool]]] = {
    "tcp": {"--dport": (1, True), "--destination-port": (1, True), "--sport": (1, True), "--source-port": (1, True)},
    "multiport": {
        "--dports": (1, True),
        "--destination-ports": (1, True),
        "--sports": (1, True),
        "--source-ports": (1, True),
        "--ports": (1, True),
    },
    "set": {"--match-set": (2, True)},
    "mark": {"--mark": (1, True)},
    "conntrack": {"--ctstate": (1, True), "--ctstatus": (1, True)},
    "statistic": {"--mode": (1, False), "--probability": (1, True)},
    "recent": {
        "--name": (1, False),
        "--rsource": (0, False),
        "--rdest": (0, False),
        "--set": (0, True),
        "--rcheck": (0, True),
        "--seconds": (1, False),
        "--reap": (0, False),
    },
    "comment": {"--comment": (1, False)},
    "addrtype": {"--src-type": (1, True), "--dst-type": (1, True)},
}
MODULES["udp"] = MODULES["sctp"] = MODULES["tcp"]
TARGET_OPTIONS: dict[str, dict[str, int]] = {
    "REJECT": {"--reject-with": 1},
    "DNAT": {"--to-destination": 1},
    "MASQUERADE": {"--random-fully": 0, "--random": 0},
    "MARK": {"--set-xmark": 1, "--set-mark": 1, "--and-mark": 1, "--or-mark": 1, "--xor-mark": 1},
}


@dataclass(slots=True)
class Module:
    name: str
    options: dict[str, tuple[bool, tuple[str, ...]]] = field(default_factory=dict)  # option -> (negated, values)
    start: int = 0  # word index of `-m` (or of the implicit module's first option)
    end: int = 0


@dataclass(slots=True)
class _State:
    line: Line
    version: int
    table: str
    chain: str
    words: tuple[str, ...]
    i: int = 0
    matches: list[Match] = field(default_factory=list)
    modules: list[Module] = field(default_factory=list)
    proto: int | None = None
    proto_invert: bool = False
    target: str = ""
    target_kind: str = ""  # "jump", "goto" or the extension's name
    target_options: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def error(self, message: str) -> InterpreterError:
        return InterpreterError(message, self.line.number, self.line.text)

    def take(self, what: str) -> str:
        if self.i >= len(self.words):
            raise self.error(f"{self.words[self.i - 1]} needs {what}")
        word = self.words[self.i]
        self.i += 1
        return word


def parse_rule(line: Line, version: int, table: str, chain: str, words: tuple[str, ...]) -> Rule:
    """One rule of `chain` in `table` (an IPv4 or IPv6 section's), from the words after `-A CHAIN`."""
    state = _State(line, version, table, chain, words)
    negate = False
    while state.i < len(words):
        word = state.take("an option")
        if word == "!":
            if negate:
                raise state.error("'!' given twice")
            negate = True
            continue
        if word in ("-s", "--source", "-d", "--destination"):
            state.matches.append(_address(state, "src" if word in ("-s", "--source") else "dst", negate))
        elif word in ("-i", "--in-interface"):
            state.matches.append(_interface(state, negate))
        elif word in ("-p", "--protocol"):
            if state.proto is not None:
                raise state.error("-p given twice")
            text = state.take("a protocol")
            proto = PROTO_NAMES.get(text.lower())
            if proto is None:
                proto = number(state.error, text, "protocol", 256)
            state.proto, state.proto_invert = proto, negate
            state.matches.append(ProtoMatch(proto, negate))
        elif word in ("-m", "--match"):
            if negate:
                raise state.error("'!' cannot negate -m")
            name = state.take("a match name")
            if name not in MODULES:
                raise state.error(f"unknown match {name!r} (known: {', '.join(sorted(MODULES))})")
            state.modules.append(Module(name, start=state.i - 2, end=state.i))
        elif word in ("-j", "--jump", "-g", "--goto"):
            if negate:
                raise state.error(f"'!' cannot negate {word}")
            if state.target:
                raise state.error("a rule has one target")
            state.target = state.take("a target")
            goto = word in ("-g", "--goto")
            if state.target in STANDARD or state.target in EXTENSIONS:
                if goto:
                    raise state.error(f"-g needs a chain, not the target {state.target}")
                state.target_kind = state.target
            else:
                state.target_kind = "goto" if goto else "jump"
        elif word.startswith("--"):
            _option(state, word, negate)
        else:
            hint = " (iptables 1.8 takes '! --option value', not '--option ! value')" if word == "!" else ""
            raise state.error(f"unknown option {word!r}{hint}")
        negate = False
    if negate:
        raise state.error("'!' at the end of the rule negates nothing")
    return _finish(state)


@lru_cache(maxsize=65536)
def _network(text: str) -> tuple[int, int, int] | None:
    """(IP version, first address, last address) of `ADDR[/LEN]`; None if it is not one."""
    if "/" in text and not text.split("/", 1)[1].isdigit():
        return None  # a mask after the slash: not in the vocabulary
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    return network.version, int(network.network_address), int(network.broadcast_address)


def _address(state: _State, field_: str, negate: bool) -> AddrMatch:
    text = state.take("an address")
    found = _network(text)
    if found is None:
        raise state.error(f"invalid address {text!r} (an address or ADDRESS/LENGTH, a prefix length after '/')")
    version, first, last = found
    if version != state.version:
        raise state.error(f"{text!r} is not an IPv{state.version} address")
    return AddrMatch(field_, first, last, negate)


def _interface(state: _State, negate: bool) -> IfaceMatch:
    """xtables_parse_interface: at most 15 characters; a trailing `+` matches every name with that prefix."""
    text = state.take("an interface name")
    if state.chain in ("OUTPUT", "POSTROUTING"):
        raise state.error(f"can't use -i with {state.chain} (packets there have no input interface)")
    if not text or len(text) > IFNAMSIZ or any(c in text for c in "/ \t"):
        raise state.error(f"invalid interface name {text!r} (1 to {IFNAMSIZ} characters, no '/' or blank)")
    if text.endswith("+"):
        return IfaceMatch(text[:-1], True, negate)
    return IfaceMatch(text, False, negate)


def _option(state: _State, word: str, negate: bool) -> None:
    if state.target_kind in TARGET_OPTIONS and word in TARGET_OPTIONS[state.target_kind]:
        if negate:
            raise state.error(f"'!' cannot negate {word}")
        if word in state.target_options:
            raise state.error(f"{word} given twice")
        count = TARGET_OPTIONS[state.target_kind][word]
        state.target_options[word] = tuple(state.take(f"a value for {word}") for _ in range(count))
        return
    module = next((m for m in reversed(state.modules) if word in MODULES[m.name]), None)
    if module is None and state.proto in (6, 17, 132) and not state.proto_invert:
        implicit = {6: "tcp", 17: "udp", 132: "sctp"}[state.proto]
        if word in MODULES[implicit]:  # `-p tcp --dport 80`: iptables loads the tcp match itself
            module = Module(implicit, start=state.i - 1, end=state.i - 1)
            state.modules.append(module)
    if module is None:
        raise state.error(f"unknown option {word!r} (not an option of the loaded matches or the target)")
    count, negatable = MODULES[module.name][word]
    if negate and not negatable:
        raise state.error(f"'!' cannot negate {word}")
    if word in module.options:
        raise state.error(f"{word} given twice to -m {module.name}")
    values = tuple(state.take(f"a value for {word}") for _ in range(count))
    if values and values[0] == "!":
        raise state.error(f"'{word} ! value' is refused by iptables 1.8: write '! {word} value'")
    module.options[word] = (negate, values)
    module.end = state.i


def _finish(state: _State) -> Rule:
    comments: list[str] = []
    skip: set[int] = set()
    for module in state.modules:
        if module.name == "comment":
            if "--comment" not in module.options:
                raise state.error("-m comment needs --comment")
            written = module.options["--comment"][1][0]
            if len(written.encode()) > MAX_COMMENT:
                raise state.error(f"a comment longer than {MAX_COMMENT} bytes (iptables would cut it there)")
            comments.append(written)
            skip.update(range(module.start, module.end))
            continue
        state.matches.extend(build_match(module.name, module.options, state.proto, state.proto_invert, state.error))
    target = _target(state)
    text = " ".join(_shown(w) for i, w in enumerate(state.words) if i not in skip)
    comment = "; ".join(comments) if comments else None
    return Rule(state.line.number, text, state.matches, target, comment)


def _shown(word: str) -> str:
    """A word as the rule's text in a path shows it: quoted only when it has to be."""
    if word and not any(c in word for c in " \t\"'\\"):
        return word
    return shlex.quote(word)


def _target(state: _State) -> Target:
    kind, options = state.target_kind, state.target_options
    if kind in ("", "ACCEPT", "DROP", "RETURN"):
        if kind == "DROP" and state.table == "nat":
            raise state.error('the "nat" table is not intended for filtering: iptables refuses DROP there')
        return Target(kind)
    if kind in ("jump", "goto"):
        return Target(kind, chain=state.target)
    if kind == "REJECT":
        default = "icmp6-port-unreachable" if state.version == 6 else "icmp-port-unreachable"
        how = options.get("--reject-with", (default,))
        if how[0] not in REJECT_WITH[state.version]:
            known = ", ".join(sorted(REJECT_WITH[state.version]))
            raise state.error(f"unknown --reject-with {how[0]!r} for IPv{state.version} (known: {known})")
        if how[0] == "tcp-reset" and (state.proto != 6 or state.proto_invert):
            raise state.error("REJECT --reject-with tcp-reset needs -p tcp (the kernel refuses it otherwise)")
        return Target("REJECT")
    if kind == "DNAT":
        if "--to-destination" not in options:
            raise state.error("DNAT needs --to-destination")
        return _dnat(state, options["--to-destination"][0])
    if kind == "MASQUERADE":
        return Target("MASQUERADE")
    assert kind == "MARK"
    if len(options) != 1:
        raise state.error("MARK needs exactly one of --set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark")
    ((option, (value_text,)),) = options.items()
    full = 0xFFFFFFFF
    if option in ("--set-xmark", "--set-mark"):
        value_part, _, mask_part = value_text.partition("/")
        value = number(state.error, value_part, "mark", 1 << 32)
        mask = number(state.error, mask_part, "mask", 1 << 32) if mask_part else full
        if option == "--set-mark":
            mask |= value  # libxt_MARK: --set-mark V/M clears M and ORs V
        return Target("MARK", mark=value, mask=mask)
    value = number(state.error, value_text, "mark", 1 << 32)
    if option == "--and-mark":
        return Target("MARK", mark=0, mask=~value & full)
    if option == "--or-mark":
        return Target("MARK", mark=value, mask=value)
    return Target("MARK", mark=value, mask=0)


def _dnat(state: _State, text: str) -> Target:
    address_text, port_text = text, ""
    if state.version == 6 and text.startswith("["):
        address_text, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise state.error(f"invalid --to-destination {text!r}")
            port_text = rest[1:]
    elif state.version == 4 and ":" in text:
        address_text, port_text = text.split(":", 1)
    try:
        address = ipaddress.ip_address(address_text)
    except ValueError:
        raise state.error(f"invalid --to-destination {text!r} (an address, or a range, is not supported)") from None
    if address.version != state.version:
        raise state.error(f"--to-destination {text!r} is not an IPv{state.version} address")
    port: int | None = None
    if port_text:
        if state.proto not in DNAT_PORT_PROTOS or state.proto_invert:
            raise state.error("DNAT to a port needs -p tcp, udp, sctp or dccp (libxt_DNAT refuses it otherwise)")
        ranges = port_ranges(state.error, port_text, "-")
        if len(ranges) != 1 or ranges[0][0] != ranges[0][1]:
            raise state.error(f"--to-destination {text!r}: a port range is not supported")
        port = ranges[0][0]
    return Target("DNAT", address=int(address), port=port)
