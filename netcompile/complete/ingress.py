"""What the completed cluster says of each Ingress backend (issue 15.6): a notice for a backend that
leads nowhere, as an ingress controller would find it (ingress-nginx logs these and answers 503):

- a Service backend naming a Service that is not in the Ingress's namespace;
- a port the Service lacks (by number: a Service port's `port`; by name: a Service port's `name`);
- a Service (port) without a ready endpoint: no EndpointSlice or Endpoints address for that port
  (an ExternalName Service has none by design and is not reported).

Resource backends name objects netcompile does not read: nothing is said of them. Nothing here changes
the objects but their notices: HTTP routing is L7 and is not compiled.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ..model import Objects, Service, ServicePort, ServiceType

if TYPE_CHECKING:
    from ..model.ingress import Ingress, IngressBackend

Ready = set[tuple[str, str, str]]  # (namespace, Service name, Service port name) with a ready endpoint


def _ready_ports(objects: Objects) -> Ready:
    """(namespace, Service name, Service port name) of every port that has a ready endpoint."""
    out: Ready = set()
    for s in objects.endpoint_slices:
        if s.service_name and any(e.conditions.ready and e.addresses for e in s.endpoints):
            out.update((s.meta.namespace, s.service_name, p.name) for p in s.ports)
    for e in objects.endpoints:
        for subset in e.subsets:
            if subset.addresses:
                out.update((e.meta.namespace, e.meta.name, p.name) for p in subset.ports)
    return out


def _port(service: Service, wanted: int | str) -> ServicePort | None:
    for port in service.ports:
        if (port.port if isinstance(wanted, int) else port.name) == wanted:
            return port
    return None


def backend_problem(
    ingress: Ingress, backend: IngressBackend, services: dict[tuple[str, str], Service], ready: Ready
) -> str | None:
    """What is wrong with one backend in the completed cluster, or None."""
    if backend.service is None:
        return None
    ns, name, wanted = ingress.meta.namespace, backend.service.name, backend.service.port
    service = services.get((ns, name))
    if service is None:
        return f'no Service "{ns}/{name}": the backend leads nowhere'
    if service.type == ServiceType.EXTERNAL_NAME:
        return None
    port = _port(service, wanted)
    shown = f"port {wanted}" if isinstance(wanted, int) else f'port "{wanted}"'
    if port is None:
        have = ", ".join(p.name or str(p.port) for p in service.ports) or "none"
        return f"{service.meta.ref} has no {shown} (its ports: {have}): the backend leads nowhere"
    if (ns, name, port.name) not in ready:
        return f"{service.meta.ref} has no ready endpoint for {shown}: the backend leads nowhere"
    return None


def ingress_notices(objects: Objects) -> tuple[str, ...]:
    """One notice per Ingress backend that leads nowhere, in input order:
    `file:line:col: Ingress "ns/name": spec.rules[0].http.paths[0].backend: ...`."""
    if not objects.ingresses:
        return ()
    services = {(s.meta.namespace, s.meta.name): s for s in objects.services}
    ready = _ready_ports(objects)
    out: list[str] = []
    for ingress in objects.ingresses:
        for backend in ingress.backends():
            problem = backend_problem(ingress, backend, services, ready)
            if problem is not None:
                where = f"{backend.position}: " if backend.position is not None else ""
                out.append(f"{where}{ingress.meta.ref}: {backend.path}: {problem}")
    return tuple(out)


def with_ingress_notices(objects: Objects) -> Objects:
    """The completed objects with the Ingress notices added (once: completing again adds none)."""
    new = [n for n in ingress_notices(objects) if n not in objects.notices]
    return replace(objects, notices=objects.notices + tuple(new)) if new else objects
