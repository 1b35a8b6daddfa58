"""The closed vocabulary's constants: tables, built-in chains and their hooks, targets, match values.

Every phase reads these; none is computed. Names are iptables' own (`PREROUTING`, `icmp-port-unreachable`,
`ESTABLISHED`); numbers are the kernel's where it has one (protocol numbers, hook priorities).
"""

from __future__ import annotations

from ...model import Protocol

# The tables netcompile writes, and each one's built-in chains (iptables(8) "TABLES").
BUILTINS: dict[str, tuple[str, ...]] = {
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
}
# The netfilter hook of each built-in chain, in the names of the nftables interpreter (verify.interpreter).
HOOK = {"PREROUTING": "prerouting", "INPUT": "input", "FORWARD": "forward", "OUTPUT": "output"}
HOOK |= {"POSTROUTING": "postrouting"}
# The tables at each hook in kernel priority order (NF_IP_PRI_NAT_DST -100, NF_IP_PRI_FILTER 0,
# NF_IP_PRI_NAT_SRC 100); the raw, mangle and security tables are not part of the vocabulary.
HOOK_TABLES: dict[str, tuple[str, ...]] = {
    "prerouting": ("nat",),
    "input": ("filter", "nat"),
    "forward": ("filter",),
    "output": ("nat", "filter"),
    "postrouting": ("nat",),
}
CHAIN_OF_HOOK = {hook: chain for chain, hook in HOOK.items()}
MAX_CHAIN_NAME = 28  # XT_EXTENSION_MAXNAMELEN (29) less the terminating NUL
MAX_COMMENT = 255  # XT_MAX_COMMENT_LEN (256) less the NUL
POLICIES = ("ACCEPT", "DROP")
IFNAMSIZ = 15  # the longest interface name (the kernel's IFNAMSIZ less the NUL)

# Targets: the standard verdicts, and the extensions of the vocabulary (with the table and the built-in
# chains each one is valid from, as the kernel checks: xt_nat, xt_MASQUERADE, ipt_REJECT/ip6t_REJECT).
STANDARD = ("ACCEPT", "DROP", "RETURN")
EXTENSIONS = ("REJECT", "DNAT", "MASQUERADE", "MARK")
TARGET_TABLE = {"REJECT": "filter", "DNAT": "nat", "MASQUERADE": "nat"}
TARGET_HOOKS = {
    "REJECT": ("INPUT", "FORWARD", "OUTPUT"),
    "DNAT": ("PREROUTING", "OUTPUT"),
    "MASQUERADE": ("POSTROUTING",),
}

# `--reject-with` per IP version (libipt_REJECT, libip6t_REJECT; aliases included).
REJECT_WITH: dict[int, frozenset[str]] = {
    4: frozenset(
        {
            "icmp-net-unreachable",
            "net-unreach",
            "icmp-host-unreachable",
            "host-unreach",
            "icmp-port-unreachable",
            "port-unreach",
            "icmp-proto-unreachable",
            "proto-unreach",
            "icmp-net-prohibited",
            "net-prohib",
            "icmp-host-prohibited",
            "host-prohib",
            "icmp-admin-prohibited",
            "admin-prohib",
            "tcp-reset",
        }
    ),
    6: frozenset(
        {
            "icmp6-no-route",
            "no-route",
            "icmp6-adm-prohibited",
            "adm-prohibited",
            "icmp6-addr-unreachable",
            "addr-unreach",
            "icmp6-port-unreachable",
            "port-unreach",
            "icmp6-policy-fail",
            "policy-fail",
            "icmp6-reject-route",
            "reject-route",
            "tcp-reset",
        }
    ),
}

# Protocols by name (`-p`, ipset's `proto:port`); `all` (0) matches every packet.
PROTO_NAMES = {"tcp": 6, "udp": 17, "sctp": 132, "udplite": 136, "dccp": 33, "icmp": 1, "icmpv6": 58}
PROTO_NAMES |= {"ipv6-icmp": 58, "esp": 50, "ah": 51, "gre": 47, "all": 0}
PACKET_PROTO = {Protocol.TCP: 6, Protocol.UDP: 17, Protocol.SCTP: 132}
PORT_PROTOS = {6, 17, 132}  # the transport protocols of the vocabulary's port matches (tcp, udp, sctp)
MULTIPORT_PROTOS = {6, 17, 132, 136, 33}  # libxt_multiport's check: tcp, udp, sctp, udplite, dccp
DNAT_PORT_PROTOS = {6, 17, 132, 33}  # libxt_DNAT: "Need TCP, UDP, SCTP or DCCP with port specification"

# xt_conntrack: --ctstate is a bit set of the connection's state plus the virtual SNAT/DNAT states;
# --ctstatus tests bits of the connection's status (IPS_*).
CT_STATES = {"INVALID": 1, "ESTABLISHED": 2, "RELATED": 4, "NEW": 8, "UNTRACKED": 16, "SNAT": 32, "DNAT": 64}
CT_STATUSES = {"EXPECTED": 1, "SEEN_REPLY": 2, "ASSURED": 4, "CONFIRMED": 8}
PACKET_CT_STATE = {"new": "NEW", "established": "ESTABLISHED", "related": "RELATED"}

# xt_addrtype: the route types; the interpreter knows LOCAL (an address of the node) and UNICAST.
ADDRTYPES: tuple[str, ...] = ("UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST", "BLACKHOLE")
ADDRTYPES += ("UNREACHABLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE")

# xt_statistic stores `lround(P * 2^31)` and matches when a random 31-bit number is below it.
STATISTIC_SCALE = 1 << 31

# ipset(8): the set types of the vocabulary, by their dimensions ("ip" an address, "net" an address
# with a prefix, "port" a protocol and a port); bitmap:port holds bare ports.
SET_TYPES: dict[str, tuple[str, ...]] = {
    "hash:ip": ("ip",),
    "hash:net": ("net",),
    "hash:ip,port": ("ip", "port"),
    "hash:net,port": ("net", "port"),
    "hash:ip,port,ip": ("ip", "port", "ip"),
    "hash:ip,port,net": ("ip", "port", "net"),
    "hash:net,net": ("net", "net"),
    "hash:net,port,net": ("net", "port", "net"),
    "bitmap:port": ("bport",),
}
SET_FAMILIES = {"inet": 4, "inet6": 6}
DEFAULT_MAXELEM = 65536
MAX_SET_NAME = 31  # IPSET_MAXNAMELEN (32) less the NUL
MAX_SET_COMMENT = 255  # IPSET_MAX_COMMENT_SIZE
MAX_SET_DIMENSION = 6  # IPSET_DIM_MAX: the most direction flags --match-set takes
