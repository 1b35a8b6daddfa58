"""The interpreter of the iptables back end's text: what iptables-restore and ipset input do to one packet.

Like `verify.interpreter` for nftables, it evaluates the artifact users apply, not the IR it came from,
reads a closed vocabulary (docs/iptables.md, "The interpreter") and refuses anything else loudly with an
`InterpreterError` naming the line. It shares no code with the renderer (netcompile.iptables).

The pipeline, one module per phase:

    text ──words──▶ sections, lines of words ──ipset / parser (rules, matches)──▶ sets, tables
         ──linker──▶ program ──machine──▶ Outcome

- `words`: the file's three sections (`# netcompile section: ipset|iptables|ip6tables`), each line split
  into words as iptables-restore (double quotes, backslash escapes) and ipset restore split them.
- `ipset`: `create`/`add` lines into `sets.IpSet`s: elements grouped by prefix lengths, looked up as the
  kernel's hash and bitmap types look them up (most specific prefix first, `nomatch`).
- `parser`: `*nat`/`*filter` tables, `:CHAIN` declarations, `-A` rules and `COMMIT`; `rules` reads one
  rule's options as getopt does, `matches` each `-m` module (syntax: the typed result).
- `linker`: resolves chains and sets, checks targets against their tables and hooks and refuses loops,
  and builds the `program`: every match a test of the packet's `state`.
- `machine`: the tables of the packet's path in hook and priority order, every `-m statistic` branch with
  its exact probability (`probability`: lround(P * 2^31) / 2^31, and kube-proxy's cascade).

`vocabulary` holds the constants. The one error is the nftables interpreter's `InterpreterError` (message,
line, text), so callers catch one exception for both back ends.
"""

from __future__ import annotations

from ..interpreter.errors import InterpreterError
from .machine import Branch, Ruleset
from .probability import cascade, kube_proxy_cascade, quantized, statistic_threshold

__all__ = ["Branch", "InterpreterError", "Ruleset", "cascade", "kube_proxy_cascade", "quantized", "statistic_threshold"]
