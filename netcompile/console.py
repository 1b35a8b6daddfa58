"""The console script (`netcompile`, `python -m netcompile`): the CLI, without the cyclic garbage collector.

A command is one short run over data that is acyclic (model objects, indexes, rulesets, parse trees):
reference counting frees what it drops, and what it keeps lives until the process ends at once
(`cli.main`, `os._exit`). The cyclic collector would only rescan that growing heap: while the CLI's
modules are imported (some hundred thousand classes, functions and Typer's vendored click: about 0.007 s
of collections), after each batch built with it paused (`gcpause.paused_gc`: the first collection
afterwards scans the whole batch, 0.005-0.01 s at 1 000 pods), and in a forked helper, whose pages it
would touch and so copy. So a command runs with it off; code that runs long and makes cycles may turn it
on for itself. Library use (`import netcompile`) and the tests keep Python's default.
"""

from __future__ import annotations

import gc


def main() -> None:
    """Run the CLI (`cli.main`) with the cyclic collector off."""
    gc.disable()
    from .cli import main as run_cli

    run_cli()
