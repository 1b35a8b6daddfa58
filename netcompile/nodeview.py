"""A node as both evaluators see it: its index (the compiler's `Cluster`, the reference's scope) and its
ruleset, compiled on first use and parsed by the interpreter of the text.

Each side is imported where it runs: `matrix` forks its helper process (journeys.py, forked.py) before
anything is compiled or any packet followed, so the helper compiles and parses (`compile_and_parse`, its
warm-up) without importing the reference evaluator, and this process follows the reference's side
(`reference_outcome`) without importing the compiler or the interpreter.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING

from .compile.index import Cluster
from .compile.options import CompileOptions
from .model import IPNetwork
from .pipeline import Compiled, compile_indexed
from .verify.packet import Outcome, Packet

if TYPE_CHECKING:
    from .verify.interpreter import Ruleset

__all__ = ["NodeView", "compile_and_parse", "reference_outcome"]


class NodeView:
    """One node: its Cluster (the compiler's index, and the reference's scope) and its compiled ruleset,
    given or compiled on first use (`pipeline.compile_indexed`: in the helper process, when one compiles)."""

    def __init__(self, node: Compiled | Cluster, opts: CompileOptions) -> None:
        self.cluster: Cluster = node.cluster if isinstance(node, Compiled) else node
        self.opts = opts  # for this node
        if isinstance(node, Compiled):
            self.compiled = node

    @cached_property
    def compiled(self) -> Compiled:
        return compile_indexed(self.cluster, self.opts)

    @cached_property
    def ruleset(self) -> Ruleset:
        """The interpreter's program of the node's ruleset text (parsed on first use). The interpreter is
        imported here: with a helper process (`Network.start_helper`) only the helper parses, and imports it."""
        from .verify.interpreter import Ruleset

        return Ruleset.parse(self.compiled.output.text)


def reference_outcome(cluster: Cluster, packet: Packet, nodeport_addresses: tuple[IPNetwork, ...]) -> Outcome:
    """The reference evaluator's outcome. It is imported where it runs: `matrix` forks its helper process
    (the compiled side) before it follows any packet, and the helper never imports it."""
    from .verify.reference import evaluate

    return evaluate(cluster, packet, nodeport_addresses)


def compile_and_parse(views: Mapping[str | None, NodeView]) -> dict[str | None, list[str]]:
    """The helper's warm-up: every node's ruleset compiled (where it is not yet) and parsed; the notices
    of those it compiled."""
    compiled_here = {name for name, view in views.items() if "compiled" not in view.__dict__}
    for view in views.values():
        view.ruleset  # noqa: B018 - compiled and parsed now
    return {name: views[name].compiled.output.notices for name in compiled_here}
