"""Names for per-object nftables chains and sets: a fixed-width hash plus a readable tail.

Shared objects have fixed names (`services`, `endpoints-3`); sets and maps of addresses come in pairs,
one per address family, `<stem>-v4` and `<stem>-v6` (`family_name`). Only per-Service state (session
affinity) needs names derived from Kubernetes objects. Such a name is

    <prefix>-<hash>-<tail>        e.g. endpoint-k3j5q2xa-default/web/http__10.244.1.5/8080

- `hash`: the first 8 characters of the lowercase base32 SHA-256 of the full identity, 40 bits: with the
  prefix it makes the name unique; the tail is for the reader. Objects of one identity share the hash
  (`affinity-X-…` is the set of the chain `endpoint-X-…`), as in kube-proxy.
- `tail`: the identity made readable, every character outside `[a-z0-9_./-]` replaced (`:` of IPv6
  addresses by `.`, anything else by `_`), and cut so the whole name fits.
- Allowed characters: `[a-z0-9_./-]`, first character a letter (the prefix), as `ir.check_name` wants.
- Worst-case length: NAME_MAX (64) bytes, whatever the input: Kubernetes names are at most 253 bytes,
  port names 15, addresses 39 (IPv6), so tails are cut, never the prefix or the hash.

NetworkPolicy state has names of two more shapes, worked out here too:

    <prefix>/<ns>/<name>                  a policy's own chain, e.g. ingress/default/web, when it fits;
    <prefix>/<hex hash>/<ns/name, cut>    otherwise (a namespace of 63 and a name of 253 bytes do not)
    <prefix>-<hex hash>                   a set or chain shared by pods or peers with the same key,
                                          e.g. ingress-pods-0f3a9c21d4: HEX_WIDTH hex digits of
                                          SHA-256 over the key's parts, more on a collision (the
                                          compiler adds two digits until the name is its key's alone)

Namespaces and policy names are DNS-1123 (lowercase letters, digits, `-`, `.`), all valid here.
"""

from __future__ import annotations

import hashlib
import re

from .identifiers import NAME_MAX
from .types import AddressFamily

HASH_WIDTH = 8
HEX_WIDTH = 10  # hex digits of policy state names, before a collision asks for more
DIGEST_WIDTH = 64  # every hex digit of SHA-256: `hex_hash(..., length=DIGEST_WIDTH)` holds every shorter one
_UNSAFE = re.compile(r"[^a-z0-9_./-]")


def family_name(stem: str, family: AddressFamily) -> str:
    """`<stem>-v4` / `<stem>-v6`: one of the pair of sets or maps of `stem`, for `family`'s addresses."""
    return f"{stem}-{family.suffix}"


def short_hash(identity: str) -> str:
    """8 lowercase base32 characters of SHA-256(identity)."""
    import base64  # (here: only per-Service state, session affinity, has such names)

    digest = hashlib.sha256(identity.encode("utf-8", "surrogateescape")).digest()
    return base64.b32encode(digest).decode("ascii")[:HASH_WIDTH].lower()


def readable(text: str) -> str:
    """`text` reduced to the characters nftables names allow here (lowercased; `:` → `.`, others → `_`)."""
    return _UNSAFE.sub("_", text.lower().replace(":", "."))


def object_name(prefix: str, identity: str, tail: str) -> str:
    """`<prefix>-<hash of identity>-<readable tail>`, at most NAME_MAX bytes."""
    head = f"{prefix}-{short_hash(identity)}-"
    return head + readable(tail)[: NAME_MAX - len(head)]


def hex_hash(*parts: str, length: int = HEX_WIDTH) -> str:
    """`length` hex digits of SHA-256 over `parts` (joined by NUL, so ("a", "bc") and ("ab", "c") differ)."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:length]


def chain_name(prefix: str, key: str) -> str:
    """`prefix/ns/name`, or `prefix/<hex hash>/<ns/name cut>` when that exceeds NAME_MAX bytes."""
    name = f"{prefix}/{key}"
    if len(name) <= NAME_MAX:
        return name
    head = f"{prefix}/{hex_hash(key)}/"
    return head + key[: NAME_MAX - len(head)]
