"""The iptables back end: the nftables IR `Table` rendered as iptables-restore, ip6tables-restore and ipset input.

A second renderer, not a second compiler: it lowers the same IR the nftables renderer writes (docs/iptables.md).
`render(table)` returns the three texts and the one file `compile --backend iptables` writes: a header
comment, then the sections `# netcompile section: ipset`, `iptables` and `ip6tables`, in that order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..nft.ir import Table
from ..nft.statements import Mark, walk
from .finish import entries, resolve_accepts
from .lower import FamilyLowering
from .model import Marks, UnsupportedIR
from .probability import endpoint_probabilities, probability_text, rule_probability
from .shared import Shared
from .write import ipset_text, ruleset_text

__all__ = [
    "SECTIONS",
    "IptablesOutput",
    "UnsupportedIR",
    "choose_marks",
    "endpoint_probabilities",
    "probability_text",
    "render",
    "rule_probability",
    "split_sections",
]

SECTIONS = ("ipset", "iptables", "ip6tables")
SECTION_LINE = "# netcompile section: {}"
_CANDIDATES = tuple(1 << bit for bit in range(13, -1, -1))  # 0x2000, 0x1000, ... 0x1


@dataclass(frozen=True, slots=True)
class IptablesOutput:
    ipset: str
    iptables: str
    ip6tables: str
    text: str  # the combined file
    marks: Marks


def choose_marks(table: Table) -> Marks:
    """Three mark bits no mark of the ruleset uses: the accept bit, then the deferred-verdict field."""
    used = 0
    for chain in table.chains.values():
        for rule in chain.rules:
            for statement in rule.statements:
                used |= sum({n.value for n in walk(statement) if isinstance(n, Mark)})
    free = [bit for bit in _CANDIDATES if not used & bit]
    if len(free) < 3:
        raise UnsupportedIR(f"no three free mark bits below 0x4000 beside the ruleset's ({used:#x})")
    accept, high, low = free[:3]
    return Marks(accept=accept, defer_mask=high | low, drop=low, reset=high, reject=high | low)


def render(table: Table, header: Sequence[str] = ()) -> IptablesOutput:
    """The iptables back end's output for a finished IR table; byte-identical for the same table."""
    marks = choose_marks(table)
    shared = Shared(table, marks)
    texts: dict[int, str] = {}
    for version in (4, 6):
        lowering = FamilyLowering(shared, version)
        ruleset = lowering.run()
        accepting = resolve_accepts(ruleset, lowering.stages, marks)
        entries(ruleset, lowering.stages, marks, accepting)
        texts[version] = ruleset_text(ruleset)
    sets = ipset_text(shared.ipsets.values())
    parts = [f"# {line}\n" for line in header]
    for name, body in zip(SECTIONS, (sets, texts[4], texts[6]), strict=True):
        parts.append(SECTION_LINE.format(name) + "\n")
        parts.append(body)
    return IptablesOutput(sets, texts[4], texts[6], "".join(parts), marks)


def split_sections(text: str) -> dict[str, str]:
    """The three sections of a combined file (the inverse of `render(...).text`); raises ValueError."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines(keepends=True):
        stripped = line.rstrip("\n")
        if stripped.startswith("# netcompile section: "):
            name = stripped.removeprefix("# netcompile section: ")
            if name not in SECTIONS or name in out or list(out) != list(SECTIONS[: len(out)]):
                raise ValueError(f"unexpected section line {stripped!r}")
            current = out[name] = []
        elif current is not None:
            current.append(line)
        elif not stripped.startswith("#") and stripped:
            raise ValueError(f"text before the first section: {stripped!r}")
    if list(out) != list(SECTIONS):
        raise ValueError(f"sections {list(out)}; expected {list(SECTIONS)}")
    return {name: "".join(lines) for name, lines in out.items()}
