"""Names for per-object nftables chains and sets: a fixed-width hash plus a readable tail.

Shared objects have fixed names (`services`, `endpoints-3`); only per-Service state (session affinity)
needs names derived from Kubernetes objects. Such a name is

    <prefix>-<hash>-<tail>        e.g. endpoint-k3j5q2xa-default/web/http__10.244.1.5/8080

- `hash`: the first 8 characters of the lowercase base32 SHA-256 of the full identity, 40 bits: with the
  prefix it makes the name unique; the tail is for the reader. Objects of one identity share the hash
  (`affinity-X-…` is the set of the chain `endpoint-X-…`), as in kube-proxy.
- `tail`: the identity made readable, every character outside `[a-z0-9_./-]` replaced (`:` of IPv6
  addresses by `.`, anything else by `_`), and cut so the whole name fits.
- Allowed characters: `[a-z0-9_./-]`, first character a letter (the prefix), as `ir.check_name` wants.
- Worst-case length: NAME_MAX (64) bytes, whatever the input: Kubernetes names are at most 253 bytes,
  port names 15, addresses 39 (IPv6), so tails are cut, never the prefix or the hash.
"""

from __future__ import annotations

import base64
import hashlib
import re

from .ir import NAME_MAX

HASH_WIDTH = 8
_UNSAFE = re.compile(r"[^a-z0-9_./-]")


def short_hash(identity: str) -> str:
    """8 lowercase base32 characters of SHA-256(identity)."""
    digest = hashlib.sha256(identity.encode("utf-8", "surrogateescape")).digest()
    return base64.b32encode(digest).decode("ascii")[:HASH_WIDTH].lower()


def readable(text: str) -> str:
    """`text` reduced to the characters nftables names allow here (lowercased; `:` → `.`, others → `_`)."""
    return _UNSAFE.sub("_", text.lower().replace(":", "."))


def object_name(prefix: str, identity: str, tail: str) -> str:
    """`<prefix>-<hash of identity>-<readable tail>`, at most NAME_MAX bytes."""
    head = f"{prefix}-{short_hash(identity)}-"
    return head + readable(tail)[: NAME_MAX - len(head)]
