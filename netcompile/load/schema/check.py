"""What loading does with each object's kind and fields, as the API server would.

- A kind netcompile compiles: its fields are checked against the schema (`--validate`: `strict` makes an
  unknown field an error, `warn` a warning, `ignore` says nothing, as kubectl's flag).
- Another kind of an API group and version netcompile reads (core v1, apps/v1, ...): skipped when the API
  serves it (ConfigMap, Deployment, ...), an error when it does not (`no matches for kind ...`).
- A kind of any other group (CRDs, ...): skipped. Skipped objects are counted, for one summary notice.
- Except the policies of other network-policy engines (Calico, Cilium, Antrea, and the SIG Network
  AdminNetworkPolicy API): what they allow or deny changes what reaches whom, and netcompile does not
  model them, so each is a warning at its apiVersion (`other_policy`), never a line in a summary. (A
  Calico `NetworkPolicy` is not refused as a Kubernetes NetworkPolicy of an unsupported version.)
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable

from ...errors import Diagnostic
from ..source import RawObject, object_ref
from ..validation import Report
from . import UnknownField, kind_table, kinds_of, list_table, no_kind_match, unknown_fields

VALIDATE_MODES = ("strict", "warn", "ignore")


def check_fields(raw: RawObject, report: Report, mode: str, warnings: list[str]) -> None:
    """Report the fields of `raw` that the schema of its kind does not declare: errors on `report` when
    `mode` is strict, warnings (the same text) when warn; nothing when ignore."""
    table = kind_table(raw.api_version, raw.kind) if mode != "ignore" else None
    if table is not None:
        _report(unknown_fields(raw.body, table), report, mode, warnings)


def check_list(raw: RawObject, mode: str, errors: list[Diagnostic], warnings: list[str]) -> None:
    """A list object (`kind: List`, `PodList`, ...): its kind, and its own fields (its items are objects,
    checked as such)."""
    known = kinds_of(raw.api_version)
    if known is not None and raw.kind not in known:
        errors.append(Diagnostic(raw.body.position("kind"), "", "", no_kind_match(raw.kind, raw.api_version)))
        return
    table = list_table(raw.api_version, raw.kind) if mode != "ignore" else None
    if table is not None:
        _report(unknown_fields(raw.body, table), Report(raw.kind, errors), mode, warnings)


def _report(unknowns: list[UnknownField], report: Report, mode: str, warnings: list[str]) -> None:
    for unknown in unknowns:
        if mode == "strict":
            report.add(unknown.position, unknown.path, unknown.message)
        else:
            warnings.append(str(Diagnostic(unknown.position, report.obj, unknown.path, unknown.message)))


# Network-policy kinds of other engines, by API group: the engine's name. Their objects change what
# reaches whom on a cluster that runs that engine; netcompile compiles and proves networking.k8s.io/v1's.
_CALICO = ("Calico's policy API", frozenset({
    "NetworkPolicy", "GlobalNetworkPolicy", "StagedNetworkPolicy", "StagedGlobalNetworkPolicy",
    "StagedKubernetesNetworkPolicy",
}))  # fmt: skip
OTHER_POLICIES: dict[str, tuple[str, frozenset[str]]] = {
    "projectcalico.org": _CALICO,
    "crd.projectcalico.org": _CALICO,  # the same kinds as Calico's CRDs store them
    "cilium.io": ("Cilium's policy API", frozenset({"CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"})),
    "crd.antrea.io": ("Antrea's policy API", frozenset({"NetworkPolicy", "ClusterNetworkPolicy"})),
    "policy.networking.k8s.io": ("SIG Network's AdminNetworkPolicy API", frozenset({
        "AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy",
    })),
}  # fmt: skip
_CLUSTER_SCOPED = frozenset({
    "GlobalNetworkPolicy", "StagedGlobalNetworkPolicy", "CiliumClusterwideNetworkPolicy", "ClusterNetworkPolicy",
    "AdminNetworkPolicy", "BaselineAdminNetworkPolicy",
})  # fmt: skip


def other_policy(raw: RawObject) -> Diagnostic | None:
    """The warning for a policy of another network-policy engine (OTHER_POLICIES), else None."""
    group = raw.api_version.rpartition("/")[0]
    engine = OTHER_POLICIES.get(group)
    if engine is None or raw.kind not in engine[1]:
        return None
    ref = object_ref(raw.kind, raw.body)
    if raw.kind in _CLUSTER_SCOPED:
        md = raw.body.get("metadata")
        name = md.get("name") if isinstance(md, dict) else None
        ref = f"{_shown(raw.kind)} {json.dumps(name, ensure_ascii=False)}" if isinstance(name, str) else ref
    return Diagnostic(
        raw.body.position("apiVersion"),
        ref,
        "apiVersion",
        f"{raw.api_version} is {engine[0]}, which netcompile does not model: the ruleset and every "
        "answer (matrix, trace, diff, lint) leave this policy out",
    )


def skip_or_refuse(raw: RawObject, errors: list[Diagnostic], skipped: Counter[str]) -> None:
    """An object of a kind netcompile does not compile: counted in `skipped` when the API serves its kind
    (or its group is not one netcompile reads), else the API server's error."""
    known = kinds_of(raw.api_version)
    if known is None:
        group = raw.api_version.rpartition("/")[0]
        skipped[_shown(f"{raw.kind}.{group}" if group else raw.kind)] += 1
    elif raw.kind in known:
        skipped[raw.kind] += 1
    else:
        ref = object_ref(raw.kind, raw.body)
        errors.append(Diagnostic(raw.body.position("kind"), ref, "", no_kind_match(raw.kind, raw.api_version)))


_PLAIN_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]*(\.[a-z0-9][a-z0-9.-]*)?")


def _shown(kind: str) -> str:
    """A kind (with its group) as a notice shows it: as is when plain, else JSON-quoted (one line)."""
    return kind if _PLAIN_KIND.fullmatch(kind) else json.dumps(kind, ensure_ascii=False)


def skipped_notice(counts: Iterable[tuple[str, int]]) -> str | None:
    """One line for every object skipped: `skipped 36 objects of 7 kinds netcompile does not read:
    ConfigMap (12), ...` (most first); None when none was."""
    total: Counter[str] = Counter()
    for kind, n in counts:
        total[kind] += n
    if not total:
        return None
    objects, kinds = sum(total.values()), len(total)
    listed = ", ".join(f"{kind} ({n})" for kind, n in sorted(total.items(), key=lambda kv: (-kv[1], kv[0])))
    return (
        f"skipped {objects} object{'s' if objects != 1 else ''} of {kinds} kind{'s' if kinds != 1 else ''} "
        f"netcompile does not read: {listed}"
    )
