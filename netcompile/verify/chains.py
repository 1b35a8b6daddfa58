"""The jump graph of a ruleset's chains: what both interpreters check of it (a loop, and which chains an
entry chain reaches), whatever their back end's vocabulary. Each interpreter builds the edges from its own
rules and words its own errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

__all__ = ["Edges", "first_loop", "reachable"]

Edges = Mapping[str, Sequence[tuple[str, int]]]  # chain -> (chain it jumps or goes to, the line that does)


def first_loop(chains: Iterable[tuple[str, int]], edges: Edges) -> tuple[str, int] | None:
    """The first chain found to reach itself, walking from each of `chains` (name, line) in turn, and the
    line of the jump that closes the loop; None when there is no loop."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(name: str, line: int) -> tuple[str, int] | None:
        if state.get(name) == 1:
            return name, line
        if state.get(name) == 2:
            return None
        state[name] = 1
        for to, at in edges[name]:
            if (found := visit(to, at)) is not None:
                return found
        state[name] = 2
        return None

    for name, line in chains:
        if (found := visit(name, line)) is not None:
            return found
    return None


def reachable(start: str, edges: Edges) -> Iterator[str]:
    """Every chain `start` reaches through jumps and gotos, itself included, each once."""
    seen: set[str] = set()
    stack = [start]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        yield name
        stack.extend(to for to, _ in edges[name])
