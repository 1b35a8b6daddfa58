"""One word read as a value of a datatype: a closed integer interval, and whether it was a prefix or range.

Pure functions of the word's text, shared by the grammar of values (`values`) and the reader of element
blocks (`blocks`); a word outside its datatype raises ValueError, which the caller words with its line.

Addresses are read by the C library's `inet_pton` (strict: dotted quads without leading zeros, IPv6
groups of at most four hex digits), which accepts a subset of what `ipaddress` accepts, with the same
value; a word it refuses is read again by `ipaddress`, which decides. So both accept the same words
(tests/test_interpreter_typed.py compares them), and the addresses nft prints take the C path.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from functools import cache

from .vocabulary import BITS, IFNAME, IPV4, IPV6, NAMED, PROTO, PROTO_NAMES, RANGEABLE, Interval

__all__ = ["IFNAMSIZ", "address", "ifname_value", "number", "typed_value"]

IFNAMSIZ = 15  # the longest interface name, in bytes (the kernel's IFNAMSIZ less its terminating NUL)

_FAMILY = {4: socket.AF_INET, 6: socket.AF_INET6}
_MAX_PREFIX = {4: 32, 6: 128}


@cache
def ifname_value(name: str, fill: int = 0) -> int:
    """An interface name as the kernel compares it: 16 bytes, padded with NULs (with `fill` bytes: the
    last name that starts with `name`, the top of a wildcard's interval)."""
    return int.from_bytes(name.encode().ljust(16, bytes([fill])), "big")


def address(text: str, version: int) -> int:
    """One IPv4 or IPv6 address (by `version`) as an integer."""
    try:
        return int.from_bytes(socket.inet_pton(_FAMILY[version], text), "big")
    except (OSError, ValueError):
        pass  # not in the strict form: ipaddress decides (and refuses what nft refuses)
    parsed = ipaddress.ip_address(text)
    if parsed.version != version:
        raise ValueError(text)
    return int(parsed)


def _prefix(text: str, version: int) -> Interval:
    """`ADDRESS/LENGTH`, host bits ignored (as `ip_network(strict=False)`), as its first and last address."""
    addr_text, _, length_text = text.partition("/")
    if length_text.isascii() and length_text.isdigit() and int(length_text) <= _MAX_PREFIX[version]:
        host = (1 << (_MAX_PREFIX[version] - int(length_text))) - 1
        value = address(addr_text, version)
        return value & ~host, value | host
    net = ipaddress.ip_network(text, strict=False)  # the other forms (`/255.0.0.0`), and the errors
    if net.version != version:
        raise ValueError(text)
    return int(net.network_address), int(net.broadcast_address)


def number(text: str, dtype: str) -> int:
    """A number of an integer datatype (decimal or 0x hex; a protocol also by name), within its width."""
    if dtype == PROTO and text in PROTO_NAMES:
        return PROTO_NAMES[text]
    value = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
    if not 0 <= value < (1 << BITS[dtype]):
        raise ValueError(text)
    return value


def typed_value(text: str, dtype: str) -> tuple[Interval, bool]:
    """`text` (an interface name without its quotes) as a closed interval of `dtype`; True when written as
    a prefix or a range (or an interface name's `*` wildcard). ValueError when outside the datatype."""
    if dtype in (IPV4, IPV6):
        version = 4 if dtype == IPV4 else 6
        if "/" in text:
            return _prefix(text, version), True
        return _span(text, lambda part: address(part, version))
    if dtype == IFNAME:
        wildcard = text.endswith("*")  # nft: a trailing `*` matches every name starting so
        name = text[:-1] if wildcard else text
        if "*" in name or "\\" in name or len(name.encode()) > IFNAMSIZ or (wildcard and not name):
            raise ValueError(text)
        if wildcard:
            return (ifname_value(name), ifname_value(name, fill=0xFF)), True
        return (ifname_value(name), ifname_value(name)), False
    if dtype in NAMED:
        names = NAMED[dtype]
        if text not in names:
            raise ValueError(text)
        return (names[text], names[text]), False
    if dtype in BITS:
        if dtype in RANGEABLE:
            return _span(text, lambda part: number(part, dtype))
        value = number(text, dtype)
        return (value, value), False
    raise ValueError(text)


def _span(text: str, read: Callable[[str], int]) -> tuple[Interval, bool]:
    """`LOW-HIGH` (LOW at most HIGH: True) or one value, each read by `read`."""
    if "-" in text:
        low, high = (read(part) for part in text.split("-", 1))
        if low > high:
            raise ValueError(text)
        return (low, high), True
    value = read(text)
    return (value, value), False
