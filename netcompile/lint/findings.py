"""What lint reports: a finding (a Diagnostic with the name of the check that found it), and the checks.

    file:line:col: Kind "ns/name": field.path: message [check-name]

Each finding is at the field that causes it (the positions the loader kept in `Meta.fields`), and
belongs to exactly one check, so that `--disable CHECK` silences exactly what it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import Diagnostic, Position
from ..model import Meta

# name -> what it finds (for --list-checks and the README), in the order findings are explained.
CHECKS: dict[str, str] = {
    "selects-nothing": "a selector that selects no pod: a policy's podSelector or a peer's pod/namespace selector, "
    "a Service's selector (a Service without endpoints)",
    "undeclared-port": "a port no selected container declares: a policy port or a Service targetPort by name, a "
    "Service targetPort by number when every selected pod declares its ports",
    "allows-everything": "a policy rule that allows every peer on every port (`{}`, `namespaceSelector: {}`, "
    "0.0.0.0/0 without ports), said in plain words",
    "no-dns": "pods isolated for egress that no policy lets reach cluster DNS (the kube-dns Service of kube-system on "
    "53/UDP and 53/TCP; without it in the input, any destination on port 53)",
    "ingress-unreachable": "an Ingress backend whose ready endpoints the ingress controller's pods may not reach "
    "(policies deny them), when the controller's pods are in the input (known by app.kubernetes.io/name: "
    "ingress-nginx, traefik, ...; those of the Ingress's class when it names one)",
    "ipblock-pod-network": "an ipBlock that holds pod addresses (it overlaps the pod network and does not except it): "
    "it matches pods by address, whatever their labels",
    "except-readmitted": "an ipBlock `except` that another peer or rule of the same policy and direction admits again",
    "unresolved-name": "a name that leads nowhere: an Ingress backend naming a missing Service or port, an "
    "ExternalName Service aliasing a cluster name that does not resolve, a container's env value naming a host "
    "(`http://catlog`) that can only be a cluster name and resolves to nothing from the pod",
    "env-collision": "two Services whose environment variables have the same name ({SVC}_SERVICE_HOST...) for the "
    "pods of a namespace: which value a container sees depends on kubelet's map order",
    "env-shadowed": "a container's own env variable that hides a Service variable kubelet would give it",
    "dangling-reference": "an object in a namespace no Namespace of the input declares, a pod on a Node that is not "
    "in the input",
}


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    diagnostic: Diagnostic

    def __str__(self) -> str:
        return f"{self.diagnostic} [{self.check}]"

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (*self.diagnostic.sort_key()[:3], self.check, self.diagnostic.message)

    def as_json(self) -> dict[str, Any]:
        d = self.diagnostic
        p = d.position
        return {
            "check": self.check,
            "file": p.file if p else None,
            "line": p.line if p else None,
            "column": p.col if p else None,
            "object": d.obj,
            "field": d.path,
            "message": d.message,
        }


def finding(check: str, meta: Meta, path: str, message: str) -> Finding:
    """A finding at `path` of the object `meta` (its nearest enclosing recorded field, else the object)."""
    assert check in CHECKS, check
    return Finding(check, Diagnostic(meta.field_position(path), meta.ref, path, message))


def at(check: str, position: Position | None, obj: str, path: str, message: str) -> Finding:
    assert check in CHECKS, check
    return Finding(check, Diagnostic(position, obj, path, message))
