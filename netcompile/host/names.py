"""nft's words for objects, verbs and families, and what a table name may be: without libnftables, so the
compile pipeline checks a --table name without loading it."""

from __future__ import annotations

import re

# nftables object keywords that are followed by `[family] table ...` (nft(8), "COMMANDS").
OBJECTS = frozenset(
    {
        "table",
        "chain",
        "set",
        "map",
        "element",
        "rule",
        "flowtable",
        "counter",
        "quota",
        "limit",
        "secmark",
        "synproxy",
        "ct",
    }
)
VERBS = frozenset({"add", "create", "insert", "replace", "delete", "destroy", "flush", "reset", "list", "rename"})
FAMILIES = frozenset({"ip", "ip6", "inet", "arp", "bridge", "netdev"})

TABLE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_./-]{0,63}$")


def check_table_name(table: str) -> str:
    if not TABLE_RE.fullmatch(table) or table in FAMILIES or table in VERBS or table in OBJECTS:
        raise ValueError(f"invalid table name {table!r}")
    return table
