"""The closed vocabulary's constants: datatypes, named values, hooks and priorities (docs/semantics.md §4).

Every phase reads these; none of them is computed. Datatype names are nft's own (`ipv4_addr`,
`inet_service`, ...); the `*S` tables map nft's symbolic values of a datatype to their numbers.
"""

from __future__ import annotations

from ...model import Protocol

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
DECLARABLE = {IPV4, IPV6, PROTO, SERVICE, MARK, IFNAME}
BITMASK = {CT_STATE, CT_STATUS}  # a bare value tests bits: `ct state established,related`
RANGEABLE = {IPV4, IPV6, SERVICE, MARK, INTEGER, PROTO}

PROTO_NAMES = {"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51, "icmpv6": 58}
PROTO_NAMES |= {"sctp": 132, "udplite": 136, "dccp": 33}
PACKET_PROTO = {Protocol.TCP: 6, Protocol.UDP: 17, Protocol.SCTP: 132}
CT_STATES = {"invalid": 1, "established": 2, "related": 4, "new": 8, "untracked": 64}
CT_STATUSES = {"expected": 1, "seen-reply": 2, "assured": 4, "confirmed": 8, "snat": 16, "dnat": 32, "dying": 512}
NFPROTOS = {"ipv4": 2, "ipv6": 10}
FIBTYPES = {"unspec": 0, "unicast": 1, "local": 2, "broadcast": 3, "anycast": 4, "multicast": 5}
FIBTYPES |= {"blackhole": 6, "unreachable": 7, "prohibit": 8}
NAMED = {CT_STATE: CT_STATES, CT_STATUS: CT_STATUSES, NFPROTO: NFPROTOS, FIBTYPE: FIBTYPES}
BITS = {IPV4: 32, IPV6: 128, SERVICE: 16, MARK: 32, INTEGER: 32, PROTO: 8}

# Standard priority names (nft(8) "PRIORITY"), and the only hook each restricted name is valid at.
PRIORITIES = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}
PRIORITY_HOOK = {"dstnat": "prerouting", "srcnat": "postrouting"}
HOOKS = ("prerouting", "input", "forward", "output", "postrouting")
NAT_HOOKS = {"prerouting", "input", "output", "postrouting"}
REJECT_HOOKS = {"prerouting", "input", "forward", "output"}
SET_FLAGS = {"interval", "timeout", "dynamic", "constant"}

Interval = tuple[int, int]
Key = int | tuple[int, ...]


# The conntrack state nat chains see (the first packet of a connection).
NEW = CT_STATES["new"]
