"""The enumerations of the nftables object model, and the one IP address family type.

Two different "families" meet in an nftables ruleset, and each has its own type here:

- `TableFamily`: the family of a *table* (`table inet netcompile`): which hooks it sees. netcompile
  owns one `inet` table, which sees IPv4 and IPv6 alike.
- `AddressFamily`: the family of an *address* inside that table: IPv4 or IPv6. It decides the payload
  keyword (`ip saddr` / `ip6 saddr`), the address datatype of sets (`ipv4_addr` / `ipv6_addr`) and the
  suffix of the per-family sets and maps the compiler declares (`service-ips-v4` / `-v6`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from ..values import Frozen, set_field
from .identifiers import IRError

__all__ = [
    "ADDRESS_FAMILIES",
    "IPV4",
    "IPV6",
    "AddressFamily",
    "ChainType",
    "DataType",
    "Hook",
    "IRError",
    "Policy",
    "SetFlag",
    "TableFamily",
    "family",
    "family_of",
]


class TableFamily(StrEnum):
    """The family of a table (nft(8), "ADDRESS FAMILIES"); `inet` sees IPv4 and IPv6."""

    INET = "inet"


class Hook(StrEnum):
    """Netfilter hooks in packet order; forward/input after prerouting, output before postrouting."""

    PREROUTING = "prerouting"
    INPUT = "input"
    FORWARD = "forward"
    OUTPUT = "output"
    POSTROUTING = "postrouting"


class ChainType(StrEnum):
    FILTER = "filter"
    NAT = "nat"


class Policy(StrEnum):
    """A base chain's policy: the verdict for packets that fall off its end."""

    ACCEPT = "accept"
    DROP = "drop"


class DataType(StrEnum):
    """The datatypes sets and maps are declared with (`type ipv4_addr . inet_proto . inet_service`)."""

    IPV4_ADDR = "ipv4_addr"
    IPV6_ADDR = "ipv6_addr"
    INET_PROTO = "inet_proto"
    INET_SERVICE = "inet_service"
    MARK = "mark"
    VERDICT = "verdict"  # map values only


class SetFlag(StrEnum):
    """Flags of a set or map: `interval` (prefixes and ranges), `timeout`/`dynamic` (added to at run
    time by `update @set`), `constant`."""

    INTERVAL = "interval"
    TIMEOUT = "timeout"
    DYNAMIC = "dynamic"
    CONSTANT = "constant"


@dataclass(init=False, slots=True, eq=False, repr=False)
class AddressFamily(Frozen):
    """IPv4 or IPv6, as the ruleset spells it; use `IPV4`, `IPV6` and `family_of`, never build one."""

    version: int  # 4 or 6, as `ipaddress` objects' `.version`
    suffix: str  # per-family sets and maps end in -v4 / -v6
    keyword: str  # the payload protocol: `ip` / `ip6` (`ip saddr`, `dnat ip6 to`)
    addr_type: DataType  # the datatype of one address

    def __init__(self, version: int, suffix: str, keyword: str, addr_type: DataType) -> None:
        set_field(self, "version", version)
        set_field(self, "suffix", suffix)
        set_field(self, "keyword", keyword)
        set_field(self, "addr_type", addr_type)


IPV4 = AddressFamily(4, "v4", "ip", DataType.IPV4_ADDR)
IPV6 = AddressFamily(6, "v6", "ip6", DataType.IPV6_ADDR)
ADDRESS_FAMILIES = (IPV4, IPV6)  # the order the compiler writes per-family sets and rules in


def family_of(item: IPv4Address | IPv6Address | IPv4Network | IPv6Network) -> AddressFamily:
    """The family of an address or a network."""
    return IPV4 if item.version == 4 else IPV6


def family(version: int) -> AddressFamily:
    """The family of an IP version number (4 or 6)."""
    return IPV4 if version == 4 else IPV6
