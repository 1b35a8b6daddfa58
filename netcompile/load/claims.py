"""What the API server hands out once (an object's name, a clusterIP, a nodePort), and how the objects
read are put together: the first claimer in input order keeps what it claims."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from ..errors import Diagnostic, Position, duplicate, invalid
from ..model import KubeObject, Meta, Service
from ..values import Frozen, set_field
from .source import RawObject


@dataclass(init=False, slots=True, eq=False, repr=False)
class Claim(Frozen):
    """Something the API server hands out once to a Service: a clusterIP, a nodePort (names: `NameClaim`).

    The first claimer in input order keeps it; a later one with another `holder` is an error at its
    own field, naming the first (`message`). Claims almost never meet, so the message is only written
    when they do.
    """

    key: tuple[str, object]  # ("clusterIP", address) or ("nodePort", port)
    holder: str  # how a later claim names this one: the Service
    position: Position | None
    ref: str  # Kind "ns/name" of the claimer
    path: str
    value: object  # what is claimed, as the message shows it: the address, the port

    def __init__(
        self, key: tuple[str, object], holder: str, position: Position | None, ref: str, path: str, value: object
    ) -> None:
        set_field(self, "key", key)
        set_field(self, "holder", holder)
        set_field(self, "position", position)
        set_field(self, "ref", ref)
        set_field(self, "path", path)
        set_field(self, "value", value)

    def message(self, first: Claim) -> str:
        """This claim's error, `first` having been first."""
        what = self.key[0]
        if what == "clusterIP":
            return invalid(str(self.value), f'provided IP is already allocated to Service "{first.holder}"')
        return invalid(self.value, f'provided port is already allocated to Service "{first.holder}"')


class NameClaim(NamedTuple):
    """An object's claim to its name (`Kind`, `ns/name`), made for every object, so kept small: the places
    it needs are packed (line << 20 | column), and spelled out when another object claims the name too."""

    key: tuple[str, str]
    file: str
    pos: int  # where the object is defined: how a later claim names it
    where: int  # its metadata: where a later claim's error points
    meta: Meta


def claims_of(raw: RawObject, obj: KubeObject) -> tuple[NameClaim, tuple[Claim, ...]]:
    """The object's name; a Service's clusterIPs and nodePorts (it may reuse its own nodePort for another
    protocol). The Service was read without a problem, so its fields are where the model says."""
    body = raw.body
    meta = obj.meta
    name = NameClaim((raw.kind, meta.key), body.file, body.pos, body.positions.get("metadata", body.pos), meta)
    if not isinstance(obj, Service):
        return name, ()
    ref, key = meta.ref, meta.key
    out = []
    spec = body["spec"]
    many = spec.get("clusterIPs")
    for index, address in enumerate(obj.cluster_ips):
        if many is not None:
            where, path = many.position(index), f"spec.clusterIPs[{index}]"
        else:
            where, path = spec.position("clusterIP"), "spec.clusterIP"
        out.append(Claim(("clusterIP", address), key, where, ref, path, address))
    ports = spec.get("ports")
    for index, port in enumerate(obj.ports):
        if port.node_port is not None:
            where, path = ports[index].position("nodePort"), f"spec.ports[{index}].nodePort"
            out.append(Claim(("nodePort", port.node_port), key, where, ref, path, port.node_port))
    return name, tuple(out)


class Claims:
    """The claims made so far, in input order."""

    def __init__(self) -> None:
        self.names: dict[tuple[str, str], NameClaim] = {}
        self.first: dict[tuple[str, object], Claim] = {}

    def settle(self, claims: tuple[NameClaim, tuple[Claim, ...]], errors: list[Diagnostic]) -> bool:
        """Make an object's claims; False when its name is taken (nothing else of it counts then). A taken
        address or port is an error of its own; the object still counts."""
        name, others = claims
        kept = self.names.setdefault(name.key, name)
        if kept is not name and (kept.file, kept.pos) != (name.file, name.pos):
            defined = Position(kept.file, kept.pos >> 20, kept.pos & 0xFFFFF)
            where = Position(name.file, name.where >> 20, name.where & 0xFFFFF)
            message = f"{duplicate(name.meta.name)}: already defined at {defined}"
            errors.append(Diagnostic(where, name.meta.ref, "metadata.name", message))
            return False
        for claim in others:
            first = self.first.setdefault(claim.key, claim)
            if first.holder != claim.holder:
                errors.append(Diagnostic(claim.position, claim.ref, claim.path, claim.message(first)))
        return True
