"""What the API server hands out once (an object's name, a clusterIP, a nodePort), and how the objects
read are put together: the first claimer in input order keeps what it claims."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import Diagnostic, Position, duplicate, invalid
from ..model import KubeObject, Service
from .source import RawObject


@dataclass(frozen=True, slots=True)
class Claim:
    """Something the API server hands out once: an object's name, a clusterIP, a nodePort.

    The first claimer in input order keeps it; a later one with another `holder` is an error at its
    own field, naming the first (`message`). Claims are made for every object and almost never meet, so
    the message is only written when they do.
    """

    key: tuple[str, object]  # (kind, namespace/name), ("clusterIP", address) or ("nodePort", port)
    holder: str | Position  # how a later claim names this one: the Service, or where the object is defined
    position: Position | None
    ref: str  # Kind "ns/name" of the claimer
    path: str
    value: object  # what is claimed, as the message shows it: the name, the address, the port

    def message(self, first: Claim) -> str:
        """This claim's error, `first` having been first."""
        what = self.key[0]
        if what == "clusterIP":
            return invalid(str(self.value), f'provided IP is already allocated to Service "{first.holder}"')
        if what == "nodePort":
            return invalid(self.value, f'provided port is already allocated to Service "{first.holder}"')
        return f"{duplicate(self.value)}: already defined at {first.holder}"


def claims_of(raw: RawObject, obj: KubeObject) -> tuple[Claim, ...]:
    """The object's name; a Service's clusterIPs and nodePorts (it may reuse its own nodePort for another
    protocol). The Service was read without a problem, so its fields are where the model says."""
    ref, key = obj.meta.ref, obj.meta.key
    out = [Claim((raw.kind, key), raw.position, raw.body.position("metadata"), ref, "metadata.name", obj.meta.name)]
    if isinstance(obj, Service):
        spec = raw.body["spec"]
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
    return tuple(out)


class Claims:
    """The claims made so far, in input order."""

    def __init__(self) -> None:
        self.first: dict[tuple[str, object], Claim] = {}

    def settle(self, claims: tuple[Claim, ...], errors: list[Diagnostic]) -> bool:
        """Make an object's claims; False when its name is taken (nothing else of it counts then). A taken
        address or port is an error of its own; the object still counts."""
        for claim in claims:
            kept = self.first.setdefault(claim.key, claim)
            if kept.holder != claim.holder:
                errors.append(Diagnostic(claim.position, claim.ref, claim.path, claim.message(kept)))
                if claim is claims[0]:
                    return False
        return True
