"""The ipset section: `ipset restore` input, `create` and `add` lines, read into `IpSet`s.

    create NAME TYPE [family inet|inet6] [hashsize N] [maxelem N] [bucketsize N] [initval N]
                     [timeout N] [counters] [comment] [range A-B]          (range: bitmap:port only)
    add NAME ELEMENT [timeout N] [comment "text"] [nomatch] [packets N bytes N]

ELEMENT is one part per dimension of the type, separated by commas: `10.0.0.1`, `10.0.0.0/24` (hash:net
dimensions; hash:ip takes an IPv4 prefix or range as the addresses it covers), `10.0.0.1-10.0.0.9`
(IPv4), `tcp:80`, `udp:53-54`, `80` (= `tcp:80`). An option a set was not created for (`comment`,
`timeout`, counters) is refused, as ipset refuses it; so is anything else outside this grammar.
"""

from __future__ import annotations

import ipaddress
import re

from ..interpreter.errors import InterpreterError
from .sets import IpSet, Member, port_key
from .vocabulary import DEFAULT_MAXELEM, MAX_SET_COMMENT, MAX_SET_NAME, PROTO_NAMES, SET_FAMILIES, SET_TYPES
from .words import Line

__all__ = ["parse_ipsets"]

_NAME = re.compile(r"[A-Za-z0-9_.:+-]+")
_PORT_PROTOS = {"tcp": 6, "udp": 17, "sctp": 132, "udplite": 136}
_NUMBER_OPTIONS = {"hashsize", "maxelem", "bucketsize", "initval", "timeout"}


def parse_ipsets(lines: list[Line]) -> dict[str, IpSet]:
    sets: dict[str, IpSet] = {}
    for line in lines:
        words = [w for w in line.words if w not in ("-exist", "-!")]
        command = words[0]
        if command in ("create", "-N", "n"):
            definition = _create(line, words)
            if definition.name in sets:
                raise _error(line, f"set {definition.name!r} created twice")
            sets[definition.name] = definition
        elif command in ("add", "-A", "a"):
            if len(words) < 3:
                raise _error(line, "add needs a set name and an element")
            target = sets.get(words[1])
            if target is None:
                raise _error(line, f"set {words[1]!r} does not exist (create it first)")
            _add(line, target, words[2], words[3:])
        else:
            raise _error(line, f"unknown ipset command {command!r} (known: create, add)")
    return sets


def _error(line: Line, message: str) -> InterpreterError:
    return InterpreterError(message, line.number, line.text)


def _number(line: Line, text: str, what: str, limit: int = 1 << 32) -> int:
    try:
        value = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
    except ValueError:
        raise _error(line, f"invalid {what} {text!r}") from None
    if not 0 <= value < limit:
        raise _error(line, f"{what} {text!r} out of range")
    return value


def _create(line: Line, words: list[str]) -> IpSet:
    if len(words) < 3:
        raise _error(line, "create needs a set name and a type")
    name, type_ = words[1], words[2]
    if not _NAME.fullmatch(name) or len(name) > MAX_SET_NAME:
        raise _error(line, f"invalid set name {name!r} (at most {MAX_SET_NAME} characters)")
    dims = SET_TYPES.get(type_)
    if dims is None:
        raise _error(line, f"unknown set type {type_!r} (known: {', '.join(SET_TYPES)})")
    family = 0 if type_.startswith("bitmap:") else 4
    maxelem, comments, timeouts, counters = DEFAULT_MAXELEM, False, False, False
    port_range: tuple[int, int] | None = None
    seen: set[str] = set()
    i = 3
    while i < len(words):
        option = words[i]
        if option in seen:
            raise _error(line, f"option {option!r} given twice")
        seen.add(option)
        if option in ("comment", "counters"):
            comments = comments or option == "comment"
            counters = counters or option == "counters"
            i += 1
            continue
        if i + 1 >= len(words):
            raise _error(line, f"option {option!r} needs a value")
        value = words[i + 1]
        i += 2
        if option == "family":
            if family == 0:
                raise _error(line, f"{type_} takes no family")
            if value not in SET_FAMILIES:
                raise _error(line, f"unknown family {value!r} (known: inet, inet6)")
            family = SET_FAMILIES[value]
        elif option == "range" and type_ == "bitmap:port":
            low, _, high = value.partition("-")
            port_range = (_number(line, low, "port", 65536), _number(line, high or low, "port", 65536))
            if port_range[0] > port_range[1]:
                port_range = (port_range[1], port_range[0])
        elif option in _NUMBER_OPTIONS:
            number = _number(line, value, option)
            if option == "maxelem":
                maxelem = number
            timeouts = timeouts or option == "timeout"
        else:
            raise _error(line, f"unknown create option {option!r} for {type_}")
    if type_ == "bitmap:port" and port_range is None:
        raise _error(line, "bitmap:port needs 'range FROM-TO'")
    return IpSet(name, type_, dims, family, line.number, maxelem, comments, timeouts, counters, port_range)


def _add(line: Line, target: IpSet, element: str, options: list[str]) -> None:
    comment: str | None = None
    nomatch = False
    i = 0
    while i < len(options):
        option = options[i]
        if option == "nomatch":
            if "net" not in target.dims:
                raise _error(line, f"nomatch needs a set type with a net dimension, not {target.type}")
            nomatch = True
            i += 1
            continue
        if i + 1 >= len(options):
            raise _error(line, f"option {option!r} needs a value")
        value = options[i + 1]
        i += 2
        if option == "comment":
            if not target.comments:
                raise _error(line, f"set {target.name!r} was created without 'comment'")
            if len(value) > MAX_SET_COMMENT:
                raise _error(line, f"comment longer than {MAX_SET_COMMENT} characters")
            comment = value
        elif option == "timeout":
            if not target.timeouts:
                raise _error(line, f"set {target.name!r} was created without 'timeout'")
            _number(line, value, "timeout")
        elif option in ("packets", "bytes"):
            if not target.counters:
                raise _error(line, f"set {target.name!r} was created without 'counters'")
            _number(line, value, option, 1 << 64)
        else:
            raise _error(line, f"unknown add option {option!r}")
    parts = element.split(",")
    if len(parts) != len(target.dims):
        raise _error(line, f"element {element!r}: {target.type} elements have {len(target.dims)} part(s)")
    choices = [_part(line, target, dim, part) for dim, part in zip(target.dims, parts, strict=True)]
    member = Member(nomatch, comment)
    combos: list[tuple[tuple[int, ...], tuple[int, ...]]] = [((), ())]
    for options_of_dim in choices:
        combos = [((*p, prefix), (*k, key)) for p, k in combos for prefix, key in options_of_dim]
        if len(combos) + target.count > target.maxelem:
            raise _error(line, f"set {target.name!r} is full (maxelem {target.maxelem})")
    for prefixes, key in combos:
        if not target.add(prefixes, key, member):
            raise _error(line, f"element {element!r} is already in set {target.name!r}")


def _part(line: Line, target: IpSet, dim: str, text: str) -> list[tuple[int, int]]:
    """The (prefix length, key) pairs one part of an element adds; prefix -1 for a port."""
    if dim in ("ip", "net"):
        return _addresses(line, target, dim, text)
    if dim == "bport":
        assert target.port_range is not None
        low, _, high = text.partition("-")
        first, last = _number(line, low, "port", 65536), _number(line, high or low, "port", 65536)
        if not target.port_range[0] <= min(first, last) <= max(first, last) <= target.port_range[1]:
            raise _error(line, f"port {text!r} outside the set's range {target.port_range[0]}-{target.port_range[1]}")
        return [(-1, port) for port in range(min(first, last), max(first, last) + 1)]
    proto_text, colon, ports = text.rpartition(":")
    if not colon:
        proto_text, ports = "tcp", text
    proto = _PORT_PROTOS.get(proto_text)
    if proto is None:
        known = ", ".join(_PORT_PROTOS)
        raise _error(line, f"protocol {proto_text!r} in {text!r}: the vocabulary's are {known}")
    assert PROTO_NAMES[proto_text] == proto
    low, _, high = ports.partition("-")
    first, last = _number(line, low, "port", 65536), _number(line, high or low, "port", 65536)
    return [(-1, port_key(proto, port)) for port in range(min(first, last), max(first, last) + 1)]


def _addresses(line: Line, target: IpSet, dim: str, text: str) -> list[tuple[int, int]]:
    version, bits = target.family, target.bits
    try:
        if "-" in text:
            low_text, high_text = text.split("-", 1)
            low, high = ipaddress.ip_address(low_text), ipaddress.ip_address(high_text)
            if version != 4 or low.version != 4 or high.version != 4 or low > high:
                raise ValueError
            networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = list(
                ipaddress.summarize_address_range(low, high)
            )
        else:
            networks = [ipaddress.ip_network(text, strict=False)]
    except ValueError:
        raise _error(line, f"invalid IPv{version} address, prefix or range {text!r}") from None
    out: list[tuple[int, int]] = []
    for network in networks:
        if network.version != version:
            family = "inet6" if version == 6 else "inet"
            raise _error(line, f"{text!r} is not an IPv{version} address (the set's family is {family})")
        prefix = network.prefixlen
        if prefix == 0:
            raise _error(line, f"{text!r}: a prefix of length 0 is refused by the kernel")
        if dim == "ip" and prefix != bits and version == 6:
            raise _error(line, f"{text!r}: {target.type} takes single IPv6 addresses")
        out.append((prefix, int(network.network_address)))
    return out
