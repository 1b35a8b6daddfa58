"""Names of netcompile's iptables chains, ipsets and recent lists, within the tools' limits.

- Chains: `NC-` then the nftables chain name when it fits in 28 characters (iptables' limit,
  XT_EXTENSION_MAXNAMELEN - 1), e.g. `NC-services`, `NC-clusterip`; otherwise `NC-<hash>-<tail>`, with
  8 lowercase base32 characters of SHA-256 over the object's identity and a readable tail cut to fit
  (`NC-2o7znvrd-default/sticky/h`). Entry chains are upper case (`NC-FORWARD`), and nftables names are
  lower case, so they never meet.
- ipsets and recent lists: `nc-` then the nftables name when it fits in 31 characters (IPSET_MAXNAMELEN
  - 1), else `nc-<hash>-<tail>` the same way.
- Characters: nftables names are `[a-z0-9_./-]`; tails are reduced to `[a-z0-9_./:-]` (anything else
  becomes `_`). A name is its identity's alone: a second identity landing on a taken name gets a longer
  hash (16, then 24 characters), deterministically since identities are visited in a fixed order.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

CHAIN_MAX = 28
SET_MAX = 31
_UNSAFE = re.compile(r"[^a-z0-9_./:-]")
_PLAIN = re.compile(r"[a-z0-9_./-]+")


_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # RFC 4648 base32, lower case


def short_hash(identity: str, width: int = 8) -> str:
    """`width` (a multiple of 8) lowercase base32 characters of SHA-256(identity): what
    base64.b32encode(digest) begins with, without its pure-Python loop (66k names at 6k Services)."""
    digest = hashlib.sha256(identity.encode("utf-8", "surrogateescape")).digest()
    number = int.from_bytes(digest[: width * 5 // 8], "big")
    return "".join(_ALPHABET[(number >> shift) & 31] for shift in range(5 * (width - 1), -1, -5))


def readable(text: str) -> str:
    return _UNSAFE.sub("_", text.lower())


class Namer:
    """Hands out names for one kind of object (chains, or ipsets and recent lists) and keeps them unique."""

    def __init__(self, prefix: str, limit: int) -> None:
        self.prefix = prefix
        self.limit = limit
        self._owner: dict[str, str] = {}  # name -> identity
        self._given: dict[str, str] = {}  # identity -> name

    def name(self, identity: str, plain: str | None = None, tail: str = "", whole: bool = False) -> str:
        """The name of `identity`: prefix + `plain` when it is a fitting nftables name, else a hashed one
        with `tail` (or `plain`) cut to fit; with `whole`, the tail only if it fits uncut."""
        found = self._given.get(identity)
        if found is not None:
            return found
        for name in self._candidates(identity, plain, tail, whole):
            if self._owner.setdefault(name, identity) == identity:
                self._given[identity] = name
                return name
        raise AssertionError(f"no free name for {identity!r}")  # pragma: no cover

    def _candidates(self, identity: str, plain: str | None, tail: str, whole: bool) -> Iterator[str]:
        if plain is not None and _PLAIN.fullmatch(plain) and len(self.prefix) + len(plain) <= self.limit:
            yield self.prefix + plain
        rest = readable(tail or plain or "")
        for width in (8, 16, 24):  # a longer hash only after a collision
            head = f"{self.prefix}{short_hash(identity, width)}"
            room = self.limit - len(head) - 1
            cut = "" if whole and len(rest) > room else rest[: max(room, 0)]
            yield f"{head}-{cut}" if cut else head
