"""The back end a lab's nodes run: how a node's compiled ruleset becomes text, and how it is loaded.

nftables (the default): the compiled script, loaded with libnftables as one transaction. iptables: the
same compiled IR through the iptables back end (netcompile/iptables/), loaded with ipset and
iptables-restore / ip6tables-restore (host/iptables.py), with iptables-nft or iptables-legacy. The
probes, the reference and the comparison are the same for both: the kernel must do what Kubernetes
semantics say, whichever rules it runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..compile.compiler import Output
from ..host.apply import apply_script
from ..host.iptables import apply_iptables
from ..iptables import file_header
from ..iptables import render as render_iptables
from ..pipeline import BACKENDS, IPTABLES_VARIANTS


@dataclass(frozen=True, slots=True)
class Backend:
    name: str = "nftables"
    variant: str | None = None  # iptables only: "nft" or "legacy" (None: the host's iptables-restore)

    def __post_init__(self) -> None:
        if self.name not in BACKENDS:
            raise ValueError(f"unknown back end {self.name!r}: {', '.join(BACKENDS)}")
        if self.variant is not None and (self.name != "iptables" or self.variant not in IPTABLES_VARIANTS):
            raise ValueError(f"iptables variant {self.variant!r}: nft or legacy, with the iptables back end")

    def __str__(self) -> str:
        return self.name if self.variant is None else f"{self.name} ({self.variant})"

    def text(self, output: Output, node: str | None) -> str:
        """The ruleset of one node as this back end loads it."""
        if self.name == "nftables":
            return output.text
        return render_iptables(output.table, file_header(node)).text

    def load(self, text: str, netns: str, *, table: str, display_name: str) -> None:
        """Replace netcompile's rules in the node's namespace with `text` (the lab's own namespace: nothing
        else lives there to protect, so an nftables script may touch what it likes)."""
        if self.name == "nftables":
            apply_script(text, table=table, netns=netns, force=True, display_name=display_name)
        else:
            apply_iptables(text, netns=netns, variant=self.variant, name=display_name)
