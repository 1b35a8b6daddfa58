"""The rows and columns of the matrix: classes of pods, labelled by workload where one is whole.

By default a row (and a column per port) is a class of pods (`analysis.classes`: pods nothing in the
input tells apart) split by workload, and the parts of a workload whose cells all say the same (to and
from everything else, and between its pods) are joined again. A row is labelled `ns/kind/name (N pods)`
when it holds a whole workload, the pod's name for one pod, `N pods of ns/kind/name` for part of a
workload, and `N pods of ns/key=value,...` (the labels selectors see) for pods no workload owns.
`matrix --pods` shows every pod. `picked` finds the rows (or columns) that --from (--to) name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..analysis import SELF, Cell, ClassMatrix, Source
from ..journeys import EndpointError, Network
from ..model import IPAddress, Pod, Protocol
from ..targets import Workloads
from ..targets import resolve as resolve_target
from ..values import Value
from . import fail


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Group(Value):
    """A row of the matrix: pods (indices into the matrix's pods) that behave alike."""

    label: str
    pods: tuple[int, ...]
    workload: str | None = None


Check = list[tuple[Source, Sequence[int], int, Protocol]]  # marks that must all be the same


def _planned(matrix: ClassMatrix, source: Source, members: Sequence[int], port: int, protocol: Protocol) -> Cell | int:
    """The cell from `source` to a pod of `members` other than itself, planned (ClassMatrix.plan; `.` when
    there is none)."""
    dst = next((i for i in members if i != source.pod), None)
    return SELF if dst is None else matrix.plan(source, [(dst, port, protocol)])[0]


def _alike(matrix: ClassMatrix, parts: list[tuple[int, ...]], others: list[tuple[int, ...]]) -> bool:
    """Whether the parts of a workload say the same to and from every other row (`others`, and outside
    clients), and the same between any two of their pods. Every cell compared is planned first, then
    their journeys made in one batch."""
    ports = {tuple(matrix.ports(p[0])) for p in parts}
    if len(ports) > 1:
        return False
    (mine,) = ports
    sources = [matrix.sources[p[0]] for p in parts]
    outside = matrix.sources[len(matrix.pods) :]
    checks: list[Check] = []
    for row in [matrix.sources[o[0]] for o in others] + list(outside):
        checks += [[(row, p, port, protocol) for p in parts] for port, protocol in mine]
    for other in others:
        checks += [[(s, other, port, protocol) for s in sources] for port, protocol in matrix.ports(other[0])]
    for port, protocol in mine:
        checks.append([(s, p, port, protocol) for s in sources for p in parts if p != (s.pod,)])
    planned = [[_planned(matrix, *cell) for cell in check] for check in checks]
    matrix.settle()
    marks = [{c.mark if isinstance(c, Cell) else matrix.answered(c)[0].mark for c in check} for check in planned]
    return all(len(found) <= 1 for found in marks)


def _name(pods: Sequence[Pod], members: tuple[int, ...], workload: str | None, whole: int, labels: str) -> str:
    n = len(members)
    if workload is not None and n == whole:
        return f"{workload} ({n} pod{'s' if n != 1 else ''})"
    if n == 1:
        return pods[members[0]].meta.key
    if workload is not None:
        return f"{n} pods of {workload}"
    return f"{n} pods of {pods[members[0]].meta.namespace}" + (f"/{labels}" if labels else "")


def groups(
    matrix: ClassMatrix, workload_of: Callable[[Pod], str | None], *, by_pod: bool
) -> tuple[list[Group], list[str]]:
    """The rows: pod by pod, or classes by workload (parts of a workload that behave alike joined); and
    the workloads still shown in more than one row."""
    pods = matrix.pods
    names = [workload_of(p) for p in pods]
    if by_pod:
        return [Group(p.meta.key, (i,), names[i]) for i, p in enumerate(pods)], []
    found: dict[tuple[int, str | None], list[int]] = {}
    for i in range(len(pods)):
        found.setdefault((matrix.class_of[i], names[i]), []).append(i)
    parts = [(name, tuple(members)) for (_, name), members in found.items()]
    by_workload: dict[str, list[tuple[int, ...]]] = {}
    for name, members in parts:
        if name is not None:
            by_workload.setdefault(name, []).append(members)
    joined: dict[str, tuple[int, ...]] = {}
    for name, pieces in by_workload.items():
        if len(pieces) > 1:
            others = [m for _, m in parts if m not in pieces]
            if _alike(matrix, pieces, others):
                joined[name] = tuple(sorted(i for piece in pieces for i in piece))
    whole = {name: sum(len(p) for p in pieces) for name, pieces in by_workload.items()}
    out: list[Group] = []
    done: set[str] = set()
    for name, members in parts:
        if name in joined:
            if name in done:
                continue
            done.add(name)
            members = joined[name]
        cls = matrix.classes[matrix.class_of[members[0]]]
        labels = ",".join(f"{k}={v}" for k, v in cls.labels)
        out.append(Group(_name(pods, members, name, whole.get(name or "", 0), labels), members, name))
    out.sort(key=lambda g: g.pods[0])
    out = _apart(matrix, out)
    split = sorted(name for name, pieces in by_workload.items() if len(pieces) > 1 and name not in joined)
    return out, split


def _apart(matrix: ClassMatrix, rows: list[Group]) -> list[Group]:
    """Rows of one label (pods apart by their named ports or node) told apart: `(http=8080)`, `on node-a`,
    else numbered `[2]`."""

    def ports(g: Group) -> str:
        named = [f"{name}={number}" for name, number, _ in matrix.classes[matrix.class_of[g.pods[0]]].ports if name]
        return f" ({','.join(named)})" if named else ""

    def node(g: Group) -> str:
        name = matrix.pods[g.pods[0]].node_name
        return f" on {name}" if name else ""

    def base(g: Group) -> str:  # `ns/app=web` of `12 pods of ns/app=web`
        return g.label.split(" pods of ", 1)[-1]

    for suffix in (ports, node):
        count: dict[str, int] = {}
        for g in rows:
            count[base(g)] = count.get(base(g), 0) + 1
        rows = [Group(g.label + suffix(g), g.pods, g.workload) if count[base(g)] > 1 else g for g in rows]
    seen: dict[str, int] = {}
    for n, g in enumerate(rows):
        k = seen[g.label] = seen.get(g.label, 0) + 1
        if k > 1:
            rows[n] = Group(f"{g.label} [{k}]", g.pods, g.workload)
    return rows


def picked(
    net: Network,
    text: str,
    flag: str,
    shown: list[Group],
    pods: list[Pod],
    workloads: Workloads,
    externals: list[IPAddress],
) -> set[int]:
    """The rows (groups; outside clients after them) that --from/--to `text` names: a target as trace
    takes it, or a DNS name (`web.shop`, `web.shop.svc.cluster.local`: a Service's pods, its endpoints;
    a headless Service's or a pod's name: those pods)."""
    from ..dns import DEFAULT_DOMAIN, UnresolvedName, looks_like_name, resolve_name

    where = {id(p): n for n, p in enumerate(pods)}
    if looks_like_name(text):
        named = None
        for candidate in (text, f"{text.rstrip('.')}.svc.{DEFAULT_DOMAIN}"):  # as any pod's search path does
            try:
                named = resolve_name(net.objects, candidate)
                break
            except UnresolvedName as exc:
                problem = str(exc)
        if named is None:
            fail(f"{flag} {text}: {problem}")
        chosen = [
            where[id(p)] for a in _behind(net, named.addresses) if (p := net.pod_by_address(a)) and id(p) in where
        ]
        if not chosen:
            fail(f"{flag} {text}: resolves to {', '.join(map(str, named.addresses))}, no pod of the matrix")
        return {n for n, g in enumerate(shown) if set(g.pods) & set(chosen)}
    try:
        target = resolve_target(text, net.objects)
    except EndpointError as exc:
        fail(f"{flag} {exc}")
    if target.address is not None:
        pod = net.pod_by_address(target.address)
        if pod is None or id(pod) not in where:
            if flag == "--from" and target.address in externals:
                return {len(shown) + externals.index(target.address)}
            fail(
                f"{flag} {text}: no pod of the matrix has this address"
                + (" (add it as an outside client: --external)" if flag == "--from" else "")
            )
        chosen = [where[id(pod)]]
    elif isinstance(target.obj, Pod):
        if target.workload:
            chosen = [where[id(p)] for p in pods if workloads.label(p) == target.workload]
        else:
            chosen = [where[id(target.obj)]] if id(target.obj) in where else []
        if not chosen:
            fail(f"{flag} {text}: not in the matrix (see its notices: the matrix leaves that pod out)")
    else:
        fail(f"{flag} {text}: rows and columns of the matrix are pods and outside clients, not a {target.kind}")
    return {n for n, g in enumerate(shown) if set(g.pods) & set(chosen)}


def _behind(net: Network, addresses: tuple[IPAddress, ...]) -> list[IPAddress]:
    """Addresses as pods have them: a ClusterIP stands for its Service's endpoints."""
    out: list[IPAddress] = []
    for address in addresses:
        service = next((s for s in net.objects.services if address in s.cluster_ips), None)
        if service is None:
            out.append(address)
            continue
        for eps in net.objects.endpoint_slices:
            if eps.meta.namespace == service.meta.namespace and eps.service_name == service.meta.name:
                out += [e.addresses[0] for e in eps.endpoints if e.addresses]
    return out
