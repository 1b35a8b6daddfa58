"""Machine: one packet through the linked tables, in kernel hook and priority order.

The path is the nftables interpreter's, so outcomes compare equal: a packet from the network meets
prerouting, then input (its destination is one of the node's addresses, after DNAT) or forward and
postrouting; a packet of the node meets output, then input or postrouting. At each hook the tables run
in priority order (vocabulary.HOOK_TABLES): nat at -100 (PREROUTING, OUTPUT) or 100 (INPUT, POSTROUTING),
filter at 0. The nat table sees only the first packet of a connection.

Kernel facts modelled (iptables(8), ipt_do_table): ACCEPT ends the whole traversal of the table at this
hook, not just the chain; DROP and REJECT are final; RETURN (or the end of a chain) goes back to the rule
after the last `-j`, and `-g` leaves no way back, so a chain reached by `-g` returns past its caller; a
built-in chain that is left applies its policy (ACCEPT unless the text declares DROP); DNAT and MASQUERADE
end the traversal like ACCEPT; MARK and rules without a target go on. Marks persist across tables and
hooks. `-m statistic` forks the evaluation: every branch is enumerated with its exact probability.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

from ...model import IPAddress
from ..branches import Branch, Pass, branches, outcome
from ..interpreter.errors import InterpreterError
from ..packet import Origin, Outcome, Packet, Result
from .ipset import parse_ipsets
from .linker import link
from .parser import parse_tables
from .program import LinkedChain
from .sets import IpSet
from .state import Run
from .vocabulary import CHAIN_OF_HOOK, HOOK_TABLES
from .words import SECTIONS, numbered, sections

__all__ = ["Branch", "Ruleset"]

Program = dict[str, dict[str, LinkedChain]]  # table -> chain name -> chain


class Ruleset:
    """The iptables back end's output, parsed and linked: parse once, evaluate many packets."""

    def __init__(self, programs: dict[int, Program], sets: dict[str, IpSet]) -> None:
        self._programs = programs
        self.sets = sets

    @classmethod
    def parse(cls, text: str) -> Ruleset:
        """The one file of three sections (words.sections); errors name the line of the whole file."""
        parts = sections(text)
        return cls._build({name: parts[name] for name in SECTIONS}, "")

    @classmethod
    def parse_sections(cls, ipset: str, iptables: str, ip6tables: str) -> Ruleset:
        """The three texts a user would feed to ipset restore, iptables-restore and ip6tables-restore;
        errors name the line of each text, after the tool's name."""
        return cls._build({"ipset": (1, ipset), "iptables": (1, iptables), "ip6tables": (1, ip6tables)}, "separate")

    @classmethod
    def _build(cls, parts: dict[str, tuple[int, str]], separate: str) -> Ruleset:
        section = "ipset"
        try:
            first, text = parts["ipset"]
            sets = parse_ipsets(numbered(text, first, escapes=False))
            programs: dict[int, Program] = {}
            for version, section in ((4, "iptables"), (6, "ip6tables")):
                first, text = parts[section]
                lines = numbered(text, first, escapes=True)
                programs[version] = link(parse_tables(lines, version), sets, {ln.number: ln.text for ln in lines})
        except InterpreterError as error:
            if separate:
                raise InterpreterError(f"{section}: {error.message}", error.line, error.text) from None
            raise
        return cls(programs, sets)

    @property
    def chains(self) -> dict[int, dict[str, list[str]]]:
        """By IP version, each table's chains in definition order (for documentation and tests)."""
        return {v: {t: list(chains) for t, chains in program.items()} for v, program in self._programs.items()}

    def branches(self, packet: Packet, local_addresses: Collection[IPAddress]) -> Iterator[Branch]:
        """Every statistic branch of the packet's path, in order, with its exact probability."""
        local = frozenset((a.version, int(a)) for a in local_addresses)

        def walk(choices: list[int]) -> Pass:
            run = Run(packet, local, choices)
            result = self._walk(packet, run)
            return Pass(run.choices, run.sizes, run.probability, result, tuple(run.path))

        return branches(walk)

    def evaluate(self, packet: Packet, local_addresses: Collection[IPAddress]) -> Outcome:
        return outcome(self.branches(packet, local_addresses))

    # the walk
    def _walk(self, packet: Packet, run: Run) -> Result:
        program = self._programs[run.version]
        dead = self._hook(program, "prerouting" if packet.origin == Origin.NETWORK else "output", run)
        if dead is not None:
            return dead
        rest: tuple[str, ...]
        if run.is_local(run.dst):
            rest = ("input",)
        elif packet.origin == Origin.NETWORK:
            rest = ("forward", "postrouting")
        else:
            rest = ("postrouting",)
        for hook in rest:
            dead = self._hook(program, hook, run)
            if dead is not None:
                return dead
        return run.result()

    def _hook(self, program: Program, hook: str, run: Run) -> Result | None:
        """Run the tables of one hook; a Result when the packet dies here."""
        for table in HOOK_TABLES[hook]:
            chains = program.get(table)
            if chains is None or (table == "nat" and not run.new):
                continue  # the nat table sees only the first packet of a connection
            verdict = _traverse(chains, chains[CHAIN_OF_HOOK[hook]], run)
            if verdict == "DROP":
                return Result.dropped()
            if verdict == "REJECT":
                return Result.rejected()
        return None


def _traverse(chains: dict[str, LinkedChain], builtin: LinkedChain, run: Run) -> str:
    """One table's traversal from a built-in chain: ACCEPT, DROP or REJECT."""
    stack: list[tuple[LinkedChain, int]] = []
    chain, index = builtin, 0
    while True:
        if index >= len(chain.rules):
            if stack:
                chain, index = stack.pop()
                continue
            return _policy(builtin, run)
        rule = chain.rules[index]
        index += 1
        del run.notes[:]
        if not all(test(run) for test in rule.tests):
            continue
        run.path.append(f"{rule.label}; {'; '.join(run.notes)}" if run.notes else rule.label)
        target = rule.target
        kind = target.kind
        if kind == "":
            continue
        if kind == "MARK":
            run.mark = ((run.mark & ~target.mask) ^ target.mark) & 0xFFFFFFFF
        elif kind == "RETURN":
            if not stack:
                return _policy(builtin, run)
            chain, index = stack.pop()
        elif kind == "jump":
            stack.append((chain, index))
            chain, index = chains[target.chain], 0
        elif kind == "goto":
            chain, index = chains[target.chain], 0
        elif kind == "DNAT":
            run.dst = target.address
            if target.port is not None:
                run.dport = target.port
            run.dnat = True
            return "ACCEPT"
        elif kind == "MASQUERADE":
            run.masquerade = run.snat = True
            return "ACCEPT"
        else:
            return kind  # ACCEPT, DROP, REJECT


def _policy(builtin: LinkedChain, run: Run) -> str:
    if builtin.policy == "DROP":
        run.path.append(f"{builtin.table}/{builtin.name}: policy DROP")
    return builtin.policy
