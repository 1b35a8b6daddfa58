"""`netcompile explain`: one pod, workload or Service, as a reviewer asks about it (review/explain.py)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ..model.workloads import Workload
from ..review.explain import Explanation, explain_pods, explain_service
from ..targets import TargetError, Workloads, explicit, kind_named, resolve
from . import CompileArgs, OutputOpt, app, emit, fail, output_and_format, with_compile_options
from .lint import linted


@app.command("explain")
@with_compile_options
def explain_cmd(
    words: Annotated[
        list[str], typer.Argument(metavar="PATH... TARGET", help="Manifests, then a pod, workload or Service.")
    ],
    compile_args: CompileArgs,
    output: OutputOpt = None,
    fmt: Annotated[str | None, typer.Option("--format", metavar="NAME", help="text (default) or json.")] = None,
) -> None:
    """The policies that select a pod (or each pod of a workload) in each direction and what each rule
    allows, in plain words with the manifests' own selectors, CIDRs and ports; the Services that route to
    it; for a Service, its frontends, endpoints and the pods behind them, explained likewise.

    TARGET as trace names it: `ns/pod`, `ns/deploy/web` (any workload kind), `ns/svc/web`, `ns/web`.
    """
    target, form = output_and_format(output, fmt, ("text", "json"))
    if len(words) < 2:
        fail("explain PATH... TARGET: the manifests, then what to explain")
    *paths, text = words
    objects, findings = linted(paths, compile_args)
    try:
        found = resolve(text, objects)
    except TargetError as exc:
        fail(str(exc))
    if found.kind == "Service" and found.obj is not None:
        service = next(s for s in objects.services if s.meta.key == found.obj.meta.key)
        explanation = explain_service(objects, service)
    elif found.kind == "Pod" and found.obj is not None:
        pods = [p for p in objects.pods if p.meta.key == found.obj.meta.key]
        if found.workload is not None:
            workloads = Workloads(objects)
            owned = [p for p in objects.pods if workloads.label(p) == found.workload]
            pods = owned or pods
            title = f"{found.workload} ({len(owned)} pods)"
        else:
            title = f"pod {found.obj.meta.key}"
        explanation = explain_pods(objects, pods, title)
    else:
        fail(f"{text}: {found.label}: explain takes a pod, a workload or a Service")
    named = explanation.about | {w.meta.ref for w in objects.workloads if _names(found.workload, w)}
    about = [str(f) for f in findings if f.diagnostic.obj in named]
    explanation.sections.append((f"Lint findings ({len(about)})", about or ["none"]))
    emit(_text(explanation) if form == "text" else _json(explanation), target)


def _names(workload: str | None, candidate: Workload) -> bool:
    """Whether `workload` (`ns/kind/name`, as targets name one) is `candidate`."""
    kind = kind_named(candidate.meta.kind)
    return workload is not None and kind is not None and workload == explicit(kind, *candidate.meta.key.split("/"))


def _text(explanation: Explanation) -> str:
    lines = [explanation.title] if explanation.title else []
    for title, body in explanation.sections:
        lines += [title, *(f"  {line}" for line in body)]
    return "\n".join(lines)


def _json(explanation: Explanation) -> str:
    return json.dumps(
        {"target": explanation.title, "sections": [{"title": t, "lines": b} for t, b in explanation.sections]},
        indent=2,
        ensure_ascii=False,
    )
