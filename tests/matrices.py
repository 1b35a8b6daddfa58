"""Networks and outside clients as the matrix tests build them (test_classes, test_analysis_marks,
test_analysis_plan_rows)."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import ip_address

from netcompile.journeys import Network
from netcompile.model import IPAddress, Pod
from netcompile.pipeline import CompileArgs, compile_nodes, complete, load, node_clusters


def network(paths: list[str], args: CompileArgs, *, compiled: bool = True) -> Network:
    """Every node of the input compiled, or (`compiled=False`: planning needs no ruleset) only indexed."""
    opts, parse = args.check()
    completed = complete(load(paths, parse=parse), args.complete_options())
    return Network(compile_nodes(completed, opts) if compiled else node_clusters(completed, opts), opts)


def externals(pods: Sequence[Pod], outside: Sequence[str]) -> list[IPAddress]:
    """The outside addresses of an IP version some pod has (the others no pod could reach)."""
    families = {a.version for p in pods for a in p.ips}
    return [ip_address(a) for a in outside if ip_address(a).version in families]
