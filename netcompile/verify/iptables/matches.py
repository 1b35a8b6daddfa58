"""Match modules: one `-m NAME` and its options become one typed match, checked as its libxt extension
and the kernel's checkentry check it (iptables-extensions(8)).

- tcp, udp, sctp: `[!] --dport/--sport N[:M]`; need `-p` of their protocol.
- multiport: `[!] --dports/--sports/--ports LIST` (at most 15 ports, a range counting two); needs `-p`
  tcp, udp, sctp, udplite or dccp.
- set: `[!] --match-set NAME FLAGS` (FLAGS: `src`/`dst`, comma-separated, one per dimension).
- mark: `[!] --mark V[/M]`.
- conntrack: `[!] --ctstate LIST`, `[!] --ctstatus LIST` (EXPECTED, SEEN_REPLY, ASSURED, CONFIRMED; DNAT
  and SNAT are states, not statuses, as in iptables).
- statistic: `--mode random [!] --probability P` (stored as lround(P * 2^31)).
- recent: `--name N [--rsource|--rdest] --set` or `... [!] --rcheck [--seconds S [--reap]]`.
- addrtype: `[!] --src-type LIST`, `[!] --dst-type LIST`.
"""

from __future__ import annotations

from collections.abc import Callable

from ..interpreter.errors import InterpreterError
from .probability import statistic_threshold
from .syntax import (
    AddrtypeMatch,
    ConntrackMatch,
    MarkMatch,
    Match,
    PortMatch,
    RecentMatch,
    SetMatch,
    StatisticMatch,
)
from .vocabulary import ADDRTYPES, CT_STATES, CT_STATUSES, MAX_SET_DIMENSION, MULTIPORT_PROTOS

__all__ = ["build_match", "number", "port_ranges"]

Error = Callable[[str], InterpreterError]
Options = dict[str, tuple[bool, tuple[str, ...]]]
_PROTO_OF_MODULE = {"tcp": 6, "udp": 17, "sctp": 132}


def number(error: Error, text: str, what: str, limit: int) -> int:
    """An unsigned number as xtables reads it (decimal or 0x hex), below `limit`."""
    try:
        value = int(text, 0)
    except ValueError:
        raise error(f"invalid {what} {text!r}") from None
    if not 0 <= value < limit:
        raise error(f"{what} {text!r} out of range")
    return value


def port_ranges(error: Error, text: str, separator: str = ":") -> list[tuple[int, int]]:
    """`80`, `80:90`, `:90`, `80:` (and comma lists of them) as closed ranges; names are refused."""
    out: list[tuple[int, int]] = []
    for part in text.split(","):
        if separator in part:
            low, high = part.split(separator, 1)
            first = number(error, low, "port", 65536) if low else 0
            last = number(error, high, "port", 65536) if high else 65535
            if first > last:
                raise error(f"invalid port range {part!r} (the first port is larger)")
        else:
            if not part.isdigit():
                raise error(f"invalid port {part!r} (a number; service names are not in the vocabulary)")
            first = last = number(error, part, "port", 65536)
        out.append((first, last))
    return out


def build_match(name: str, options: Options, proto: int | None, proto_invert: bool, error: Error) -> list[Match]:
    """The matches of one module (none for `-m tcp` alone, which `-p tcp` already implies)."""
    if name in _PROTO_OF_MODULE:
        return _ports(name, options, proto, proto_invert, error)
    return [_one(name, options, proto, proto_invert, error)]


def _one(name: str, options: Options, proto: int | None, proto_invert: bool, error: Error) -> Match:
    if name == "multiport":
        return _multiport(options, proto, proto_invert, error)
    if name == "set":
        return _set(options, error)
    if name == "mark":
        if "--mark" not in options:
            raise error("-m mark needs --mark")
        negate, (text,) = options["--mark"]
        value_text, _, mask_text = text.partition("/")
        value = number(error, value_text, "mark", 1 << 32)
        mask = number(error, mask_text, "mask", 1 << 32) if mask_text else 0xFFFFFFFF
        return MarkMatch(value, mask, negate)
    if name == "conntrack":
        return _conntrack(options, error)
    if name == "statistic":
        return _statistic(options, error)
    if name == "recent":
        return _recent(options, error)
    assert name == "addrtype"
    return _addrtype(options, error)


def _ports(name: str, options: Options, proto: int | None, proto_invert: bool, error: Error) -> list[Match]:
    wanted = _PROTO_OF_MODULE[name]
    if proto != wanted or proto_invert:
        raise error(f"-m {name} needs -p {name} (the kernel refuses it otherwise)")
    out: list[Match] = []
    seen: set[str] = set()
    for option, (negate, (text,)) in options.items():
        field_ = "dport" if option in ("--dport", "--destination-port") else "sport"
        if field_ in seen:
            raise error(f"-m {name}: the {field_} given twice")
        seen.add(field_)
        parsed = port_ranges(error, text)
        if len(parsed) != 1:
            raise error(f"-m {name} {option} takes one port or range; use -m multiport for lists")
        out.append(PortMatch((field_,), (parsed[0],), negate, wanted))
    return out


def _multiport(options: Options, proto: int | None, proto_invert: bool, error: Error) -> PortMatch:
    if proto not in MULTIPORT_PROTOS or proto_invert:
        raise error("-m multiport needs -p tcp, udp, udplite, sctp or dccp")
    if len(options) != 1:
        raise error("-m multiport takes one of --dports, --sports, --ports")
    ((option, (negate, (text,))),) = options.items()
    ranges = port_ranges(error, text)
    if sum(1 if low == high else 2 for low, high in ranges) > 15:
        raise error("-m multiport: too many ports (at most 15, a range counting two)")
    fields = {"--dports": ("dport",), "--destination-ports": ("dport",), "--ports": ("sport", "dport")}
    assert proto is not None
    return PortMatch(fields.get(option, ("sport",)), tuple(ranges), negate, proto)


def _set(options: Options, error: Error) -> SetMatch:
    if "--match-set" not in options:
        raise error("-m set needs --match-set NAME FLAGS")
    negate, (name, flags_text) = options["--match-set"]
    flags = tuple(flags_text.split(","))
    if not all(flag in ("src", "dst") for flag in flags):
        raise error(f"--match-set flags {flags_text!r}: each is src or dst")
    if len(flags) > MAX_SET_DIMENSION:
        raise error(f"--match-set flags {flags_text!r}: at most {MAX_SET_DIMENSION}")
    return SetMatch(name, flags, negate)


def _bits(error: Error, text: str, names: dict[str, int], what: str) -> int:
    bits = 0
    for word in text.split(","):
        if word not in names:
            hint = " (DNAT and SNAT are --ctstate values)" if word in ("DNAT", "SNAT") else ""
            raise error(f"unknown {what} {word!r}{hint} (known: {', '.join(names)})")
        bits |= names[word]
    return bits


def _conntrack(options: Options, error: Error) -> ConntrackMatch:
    if not options:
        raise error("-m conntrack needs --ctstate or --ctstatus")
    states = statuses = None
    states_invert = statuses_invert = False
    if "--ctstate" in options:
        states_invert, (text,) = options["--ctstate"]
        states = _bits(error, text, CT_STATES, "--ctstate")
    if "--ctstatus" in options:
        statuses_invert, (text,) = options["--ctstatus"]
        statuses = _bits(error, text, CT_STATUSES, "--ctstatus")
    return ConntrackMatch(states, states_invert, statuses, statuses_invert)


def _statistic(options: Options, error: Error) -> StatisticMatch:
    if options.get("--mode", (False, ("",)))[1][0] != "random":
        raise error("-m statistic: only --mode random is in the vocabulary")
    if "--probability" not in options:
        raise error("--probability must be specified when using random mode")
    negate, (text,) = options["--probability"]
    threshold = statistic_threshold(text)
    if threshold is None:
        raise error(f"--probability {text!r}: a number from 0 to 1")
    return StatisticMatch(threshold, negate)


def _recent(options: Options, error: Error) -> RecentMatch:
    modes = [m for m in ("--set", "--rcheck") if m in options]
    if len(modes) != 1:
        raise error("-m recent needs exactly one of --set, --rcheck (--update and --remove are not in the vocabulary)")
    mode = modes[0]
    negate = options[mode][0]
    if "--rsource" in options and "--rdest" in options:
        raise error("-m recent: --rsource and --rdest exclude each other")
    name = options.get("--name", (False, ("DEFAULT",)))[1][0]
    if not name or len(name) > 199:
        raise error(f"-m recent --name {name!r}: 1 to 199 characters")
    seconds = number(error, options["--seconds"][1][0], "--seconds", 1 << 32) if "--seconds" in options else 0
    if mode == "--set" and ("--seconds" in options or "--reap" in options):
        raise error("-m recent --set takes no --seconds or --reap (the kernel refuses them)")
    if "--reap" in options and not seconds:
        raise error("-m recent --reap needs --seconds")
    side = "dst" if "--rdest" in options else "src"
    return RecentMatch(name, side, mode[2:], seconds, negate)


def _addrtype(options: Options, error: Error) -> AddrtypeMatch:
    if not options:
        raise error("-m addrtype needs --src-type or --dst-type")
    found: dict[str, tuple[frozenset[str], bool]] = {}
    for option, (negate, (text,)) in options.items():
        types = frozenset(text.split(","))
        unknown = sorted(types - set(ADDRTYPES))
        if unknown:
            raise error(f"unknown address type {unknown[0]!r} (known: {', '.join(ADDRTYPES)})")
        found[option] = (types, negate)
    src = found.get("--src-type")
    dst = found.get("--dst-type")
    return AddrtypeMatch(src[0] if src else None, bool(src and src[1]), dst[0] if dst else None, bool(dst and dst[1]))
