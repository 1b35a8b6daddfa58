"""The ruleset interpreter ("tracer"): what the rendered nftables *text* does to one packet.

netcompile proves its output by evaluating the artifact users apply, not the IR it came from. This
package reads the closed vocabulary of docs/semantics.md §4 and refuses everything else loudly, so a new
template construct cannot slip past the proof untaught.

The pipeline, one module per phase:

    text ──tokens──▶ tokens ──parser──▶ syntax tree ──linker──▶ program ──machine──▶ Outcome

- `tokens`: words, strings, newlines and punctuation; a cursor over them. A named set's elements in
  netcompile's layout come as one block token, which `blocks` cuts into rows and reads column by column
  (anything else in it, the parser reads token by token).
- `parser` (on `statements`, on `values`): the syntax tree of `syntax` (tables, sets and maps, chains,
  rules as steps), with every value typed by its expression or set (`typed`: one word as a value).
- `linker`: resolves names, checks datatypes and reachability as nft and the kernel do, and builds the
  `program`: rules as functions of the packet's `state`, sets as `lookup` structures.
- `machine`: the base chains of the packet's path in hook and priority order, every numgen branch with
  its exact probability.

`vocabulary` holds the constants of the closed vocabulary; `errors` the one error, `InterpreterError`;
The syntax tree, tokens and program are plain records (`values.Record`: a dataclass's repr and equality).
"""

from __future__ import annotations

from .errors import InterpreterError
from .machine import Branch, Ruleset

__all__ = ["Branch", "InterpreterError", "Ruleset"]
