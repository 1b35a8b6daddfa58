"""Deterministic, stable allocation: what the API server hands out (ClusterIPs, nodePorts) and what the
network plugin does (pod IPs), derived from each object's own identity.

A pool is a range of `size` slots (the offsets of a CIDR's addresses, or the ports of the node-port
range). Slots that are reserved (the network and broadcast addresses, the first ClusterIP that the
`kubernetes` Service holds) or given in the input (values given always win) are never handed out. Every
other request is an *identity* (a string such as `Service/shop/web/IPv4`) with a sequence of choices:

    choice(id, k) = SHA-256("<id>#<k>") mod size   for k < 64, then linear probing from choice(id, 63)

Allocation runs in rounds k = 0, 1, 2, ...: in round k, every identity still without a slot asks for
choice(id, k); a free slot goes to the smallest identity asking for it (the others go on to round k + 1).
The result depends on the set of requests only, never on input order.

What is guaranteed (and tests/test_allocate.py checks as a Hypothesis property): an identity whose first
choice is neither reserved, nor given, nor any other identity's first choice gets its first choice. So
adding, removing or changing one object moves no other object, except one whose first choice is
*contested* (shared with another request or a given value) in the input before or after the change;
each contested request is reported as a collision, so that a review diff that moves one says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from hashlib import sha256

from ..values import Frozen, set_field

HASHED_ROUNDS = 64


def choice(identity: str, k: int, size: int) -> int:
    """The identity's k-th choice of slot in a pool of `size`."""
    if k < HASHED_ROUNDS:
        digest = sha256(f"{identity}#{k}".encode()).digest()
        return int.from_bytes(digest[:16], "big") % size
    return (choice(identity, HASHED_ROUNDS - 1, size) + k - HASHED_ROUNDS + 1) % size


def _first(identity: str, size: int) -> int:
    """choice(identity, 0, size), without its round test: once per pod of a cluster."""
    return int.from_bytes(sha256(f"{identity}#0".encode()).digest()[:16], "big") % size


@dataclass(init=False, slots=True, eq=False, repr=False)
class Allocation(Frozen):
    """Slots by identity (absent: the pool ran out), and the identities whose first choice was contested."""

    slots: dict[str, int]
    contested: frozenset[str]

    def __init__(self, slots: dict[str, int], contested: frozenset[str]) -> None:
        set_field(self, "slots", slots)
        set_field(self, "contested", contested)


def allocate(size: int, taken: Iterable[int], identities: Iterable[str]) -> Allocation:
    """Hand out one slot of `range(size)` to each identity, never one of `taken` (reserved and given)."""
    used = set(taken)
    waiting = sorted(set(identities))
    first = {identity: _first(identity, size) for identity in waiting}
    counts: dict[int, int] = {}
    for slot in first.values():
        counts[slot] = counts.get(slot, 0) + 1
    contested = frozenset(i for i, slot in first.items() if counts[slot] > 1 or slot in used)
    slots: dict[str, int] = {}
    free = size - len([s for s in used if 0 <= s < size])
    k = 0
    while waiting and free > 0:
        asked: dict[int, str] = {}
        later: list[str] = []
        for identity in waiting:  # sorted: the first to ask for a slot is the smallest identity
            slot = first[identity] if k == 0 else choice(identity, k, size)
            if slot in used or slot in asked:
                later.append(identity)
            else:
                asked[slot] = identity
        for slot, identity in asked.items():
            slots[identity] = slot
            used.add(slot)
            free -= 1
        waiting = later
        k += 1
    return Allocation(slots, contested)
