"""Loading and removing the iptables back end's output (docs/iptables.md) on a host or in a network namespace.

The file holds three sections (`# netcompile section: ipset`, `iptables`, `ip6tables`). netcompile owns
exactly: the chains named `NC-*` of the nat and filter tables, one jump per built-in chain of the form
`-A <BUILTIN> -m comment --comment netcompile -j NC-...`, and the ipsets named `nc-*` (with `nct-*` for
the temporary sets of a load). Everything else on the host is never touched, and a file that would touch
it is refused before anything runs (`scope_problems`).

Safety contract (tested in tests/test_apply_iptables.py, with foreign chains, rules and sets present):
- **one switch per family**: the new rules arrive in one `iptables-restore --noflush` (and one
  `ip6tables-restore --noflush`) that flushes netcompile's chains, writes the new ones, replaces the jumps
  and deletes chains no longer used; every other chain and rule is byte-identical afterwards;
- **sets never change under rules that use them**: a set whose contents (or type) change is loaded under
  a temporary name first and the new rules refer to that; once they are in, the set is rebuilt under its
  own name and a second restore points the same rules back at it (same behaviour, final names), and the
  temporary sets go. A set that does not change is left alone, a new one is created before the rules;
- **a failed load changes nothing**: if the ipset step fails, what it created is destroyed; if the IPv6
  restore fails after the IPv4 one, the IPv4 rules are restored as they were; the old sets are still there.
- `delete_iptables` removes netcompile's jumps, chains and sets, and is idempotent.

The tools are the host's (`iptables-restore` is iptables-nft on Debian 12; `variant="legacy"` uses
iptables-legacy). `check` loads the file into a scratch network namespace, so it is validated by the kernel
without touching the host.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import ip_network

from .apply import in_netns

SECTION = "# netcompile section: "
SECTIONS = ("ipset", "iptables", "ip6tables")
TABLES = ("nat", "filter")
BUILTINS = frozenset({"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"})
# iptables: a chain name is at most 28 characters, without spaces or quotes; ipset: a set name at most 31
CHAIN_RE = re.compile(r"NC-[^\s\"'\\]{1,25}")
SET_RE = re.compile(r"nc-[^\s\"'\\]{1,28}")
TEMP_PREFIX = "nct-"
# header options that ipset chooses (or grows) itself: not part of what a set is
_TUNING = frozenset({"hashsize", "maxelem", "bucketsize", "initval"})


class IptablesError(Exception):
    """A file that is not the iptables back end's, or one the tools refused (nothing was changed)."""


class IptablesUnavailable(Exception):
    """The tools are missing, or not allowed (not root)."""


# --- the file ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IpSet:
    name: str
    header: tuple[str, ...]  # type, then options, as in `create NAME TYPE OPTIONS...`
    elements: tuple[str, ...]  # each `add` line's words after the name, joined by spaces

    def same_as(self, loaded: IpSet) -> bool:
        """Whether `loaded` (as `ipset save` prints it) holds exactly this set: same type and options
        (but those ipset tunes itself), same elements."""
        mine, theirs = {_element(e) for e in self.elements}, {_element(e) for e in loaded.elements}
        return _essential(self.header) == _essential(loaded.header) and mine == theirs

    def restore_lines(self, name: str) -> list[str]:
        return [f"create {name} {' '.join(self.header)}", *(f"add {name} {e}" for e in self.elements)]


def _element(text: str) -> str:
    """An element as `ipset save` prints it: a host network's component (10.0.0.1/32, fd00::1/128) as the
    bare address."""
    first, _, rest = text.partition(" ")
    parts = []
    for part in first.split(","):
        try:
            network = ip_network(part, strict=False)
        except ValueError:
            parts.append(part)
            continue
        whole = network.prefixlen == network.max_prefixlen and "/" in part
        parts.append(str(network.network_address) if whole else part)
    return " ".join(filter(None, (",".join(parts), rest)))


def _essential(header: tuple[str, ...]) -> tuple[str, ...]:
    words, kept, index = list(header), [], 0
    while index < len(words):
        if words[index] in _TUNING and index + 1 < len(words):
            index += 2
            continue
        kept.append(words[index])
        index += 1
    return tuple(kept)


@dataclass
class Rules:
    """One family's rules by table: netcompile's chains in order, their rules, and the jumps from built-ins."""

    chains: dict[str, list[str]] = field(default_factory=dict)  # table -> NC chain names, in order
    rules: dict[str, list[str]] = field(default_factory=dict)  # table -> `-A NC-X ...` lines, as written
    jumps: dict[str, list[Jump]] = field(default_factory=dict)  # table -> netcompile's jumps from built-ins

    def is_empty(self) -> bool:
        return not any(self.chains.values()) and not any(self.jumps.values())


@dataclass
class Script:
    sets: dict[str, IpSet]
    families: dict[str, Rules]  # "iptables" / "ip6tables"


_JUMP = re.compile(
    r"-A (PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) -m comment --comment \"?netcompile\"? -j (NC-[^\s\"'\\]{1,25})"
)
_DECLARATION = re.compile(r":(\S+) - \[0:0\]")
_MATCH_SET = re.compile(r"(--match-set )(\S+)")

Jump = tuple[str, str]  # (built-in chain, netcompile's chain it jumps to)


def jump_line(verb: str, jump: Jump) -> str:
    builtin, target = jump
    where = f"{builtin} 1" if verb == "-I" else builtin
    return f"{verb} {where} -m comment --comment netcompile -j {target}"


def parse(text: str, name: str = "<file>") -> Script:
    """The three sections of `text`; IptablesError listing every line that is not netcompile's own.

    Rules are kept as written (the renderer writes iptables-restore's own quoting), so a file of 10 000
    Services is read in a fraction of a second: a line is split only as far as its chain."""
    problems: list[str] = []
    sections: dict[str, list[tuple[int, str]]] = {}
    current: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(SECTION):
            which = line[len(SECTION) :].strip()
            expected = SECTIONS[len(sections)] if len(sections) < len(SECTIONS) else None
            if which != expected:
                problems.append(f"{name}:{number}: section {which!r} where {expected or 'the end'} was expected")
                break
            current = which
            sections[which] = []
        elif current is not None:
            sections[current].append((number, line))
        elif line.strip() and not line.startswith("#"):
            problems.append(f"{name}:{number}: text before the first section")
    if not problems and len(sections) != len(SECTIONS):
        problems.append(f"{name}: not the iptables back end's output (it needs the sections {', '.join(SECTIONS)})")
    sets = _parse_ipset(sections.get("ipset", []), name, problems)
    families = {f: _parse_rules(sections.get(f, []), name, problems) for f in SECTIONS[1:]}
    if problems:
        raise IptablesError("\n".join(problems))
    return Script(sets, families)


def _parse_ipset(lines: list[tuple[int, str]], name: str, problems: list[str]) -> dict[str, IpSet]:
    headers: dict[str, tuple[str, ...]] = {}
    elements: dict[str, list[str]] = {}
    for number, line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        verb, _, rest = line.partition(" ")
        set_name, _, value = rest.partition(" ")
        if verb == "add" and set_name in elements and value:
            elements[set_name].append(value)  # as written: ipset restore reads it so
        elif verb == "create" and SET_RE.fullmatch(set_name) and set_name not in headers and value:
            try:
                headers[set_name] = tuple(shlex.split(value))
            except ValueError as exc:
                problems.append(f"{name}:{number}: {exc}")
                continue
            elements[set_name] = []
        else:
            problems.append(f"{name}:{number}: not netcompile's: only `create nc-NAME ...` once, then `add` to it")
    return {n: IpSet(n, h, tuple(elements[n])) for n, h in headers.items()}


def _parse_rules(lines: list[tuple[int, str]], name: str, problems: list[str]) -> Rules:
    rules = Rules()
    table: str | None = None
    declared: set[str] = set()
    for number, line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        where = f"{name}:{number}"
        if line.startswith("*"):
            table = line[1:].strip()
            if table not in TABLES or table in rules.chains:
                problems.append(f"{where}: table {table!r}: only nat and filter, once each")
                table = None
                continue
            rules.chains[table], rules.rules[table], rules.jumps[table] = [], [], []
            declared = set()
            continue
        if table is None:
            problems.append(f"{where}: a line outside *nat/*filter ... COMMIT")
            continue
        if line.strip() == "COMMIT":
            table = None
            continue
        words = line.split(" ", 2)
        if words[0] == "-A" and len(words) == 3 and words[1] in declared:
            rules.rules[table].append(line)
        elif (jump := _JUMP.fullmatch(line)) is not None:
            rules.jumps[table].append((jump[1], jump[2]))
        elif (declaration := _DECLARATION.fullmatch(line)) is not None:
            chain = declaration[1]
            if CHAIN_RE.fullmatch(chain) is None:
                problems.append(f"{where}: chain {chain!r}: netcompile declares only its own NC-* chains")
            else:
                rules.chains[table].append(chain)
                declared.add(chain)
        else:
            problems.append(f"{where}: not netcompile's: only `-A` to its declared NC-* chains and its jumps")
    if table is not None:
        problems.append(f"{name}: table {table} has no COMMIT")
    return rules


# --- what is loaded ------------------------------------------------------------------------------------


def _tool(name: str, variant: str | None) -> str:
    if variant is None:
        return name
    family, _, verb = name.partition("-")  # iptables-restore -> iptables-legacy-restore
    return f"{family}-{variant}-{verb}"


def _run(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(args, input=stdin, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise IptablesUnavailable(f"{args[0]} is not installed (Debian packages iptables and ipset)") from exc


def loaded_sets() -> dict[str, IpSet]:
    """netcompile's sets (and leftover temporary ones) as `ipset save` prints them."""
    result = _run(["ipset", "save"])
    if result.returncode != 0:
        raise IptablesUnavailable(f"ipset save: {result.stderr.strip()}")
    headers: dict[str, tuple[str, ...]] = {}
    elements: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        verb, _, rest = line.partition(" ")
        name, _, value = rest.partition(" ")
        if verb == "add" and name in elements:
            elements[name].append(value)
        elif verb == "create" and name.startswith(("nc-", TEMP_PREFIX)):
            headers[name], elements[name] = tuple(shlex.split(value)), []
    return {n: IpSet(n, h, tuple(elements[n])) for n, h in headers.items()}


def loaded_rules(family: str, variant: str | None = None) -> Rules:
    """netcompile's chains, rules and jumps as `iptables-save` prints them (tables that exist only); its
    lines are iptables-restore input as they are."""
    result = _run([_tool(f"{family}-save", variant)])
    if result.returncode != 0:
        raise IptablesUnavailable(f"{family}-save: {result.stderr.strip()}")
    rules = Rules()
    table: str | None = None
    for line in result.stdout.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
            rules.chains[table], rules.rules[table], rules.jumps[table] = [], [], []
        elif table is None:
            continue
        elif line.startswith("-A NC-"):
            rules.rules[table].append(line)
        elif line.startswith(":NC-"):
            rules.chains[table].append(line[1:].split()[0])
        elif line.startswith("-A ") and (jump := _JUMP.fullmatch(line)) is not None:
            rules.jumps[table].append((jump[1], jump[2]))
    return rules


# --- loading -------------------------------------------------------------------------------------------


def temp_name(name: str) -> str:
    return TEMP_PREFIX + hashlib.sha256(name.encode()).hexdigest()[:12]


def restore_text(target: Rules, loaded: Rules, names: dict[str, str] | None = None) -> str:
    """The one restore that turns `loaded` (netcompile's part of a family) into `target`, set names mapped by
    `names`: netcompile's chains flushed and rewritten, stale ones deleted, the jumps replaced when they differ."""
    out: list[str] = []

    def renamed(match: re.Match[str]) -> str:
        return match[1] + names.get(match[2], match[2]) if names else match[0]

    for table in TABLES:
        new_chains = target.chains.get(table, [])
        old_chains = loaded.chains.get(table, [])
        new_jumps = target.jumps.get(table, [])
        old_jumps = loaded.jumps.get(table, [])
        if not new_chains and not old_chains and not new_jumps and not old_jumps:
            continue
        out.append(f"*{table}")
        kept = set(new_chains)
        out.extend(f":{c} - [0:0]" for c in [*new_chains, *(c for c in old_chains if c not in kept)])
        lines = target.rules.get(table, [])
        if names:
            lines = [_MATCH_SET.sub(renamed, r) if "--match-set" in r else r for r in lines]
        out.extend(lines)
        if new_jumps != old_jumps:
            out.extend(jump_line("-D", j) for j in old_jumps)
            out.extend(jump_line("-I", j) for j in reversed(new_jumps))
        out.extend(f"-X {c}" for c in old_chains if c not in kept)
        out.append("COMMIT")
    return "\n".join(out) + "\n" if out else ""


def _restore(family: str, text: str, variant: str | None) -> None:
    if not text:
        return
    result = _run([_tool(f"{family}-restore", variant), "--noflush"], text)
    if result.returncode != 0:
        raise IptablesError(f"{family}-restore refused the rules: {result.stderr.strip()}")


def _ipset(lines: list[str]) -> None:
    if not lines:
        return
    result = _run(["ipset", "restore"], "\n".join(lines) + "\n")
    if result.returncode != 0:
        raise IptablesError(f"ipset restore refused the sets: {result.stderr.strip()}")


def _destroy(names: Sequence[str]) -> None:
    for name in names:
        _run(["ipset", "destroy", name])  # best effort: an unknown set is already gone


@dataclass(frozen=True, slots=True)
class Loaded:
    netns: str | None
    existed: bool  # netcompile's rules or sets were there before (replaced, not created)
    sets_changed: int
    sets_kept: int


def _load(script: Script, variant: str | None, netns: str | None) -> Loaded:
    sets_before = loaded_sets()
    rules_before = {f: loaded_rules(f, variant) for f in SECTIONS[1:]}
    existed = bool(sets_before) or any(not r.is_empty() for r in rules_before.values())
    stale_temps = [n for n in sets_before if n.startswith(TEMP_PREFIX)]
    _destroy(stale_temps)  # left by an interrupted load: never referenced by rules
    created = [n for n in script.sets if n not in sets_before]
    changed = [n for n in script.sets if n in sets_before and not script.sets[n].same_as(sets_before[n])]
    temps = {n: temp_name(n) for n in changed}
    try:
        _ipset([line for n in created for line in script.sets[n].restore_lines(n)])
        _ipset([line for n in changed for line in script.sets[n].restore_lines(temps[n])])
    except IptablesError:
        _destroy([*created, *temps.values()])
        raise
    done: list[str] = []
    try:
        for family, rules in script.families.items():
            _restore(family, restore_text(rules, rules_before[family], temps), variant)
            done.append(family)
    except IptablesError:
        for family in done:  # back to the rules as they were (their sets were never touched)
            _restore(family, restore_text(rules_before[family], script.families[family]), variant)
        _destroy([*created, *temps.values()])
        raise
    # the new rules are in; the old sets no longer used and the changed ones are free to go
    _destroy([n for n in sets_before if n not in script.sets and not n.startswith(TEMP_PREFIX)])
    if changed:
        try:
            _destroy(changed)
            _ipset([line for n in changed for line in script.sets[n].restore_lines(n)])
            after = {f: loaded_rules(f, variant) for f in SECTIONS[1:]}
            for family, rules in script.families.items():
                _restore(family, restore_text(rules, after[family]), variant)
        except IptablesError as exc:
            raise IptablesError(
                f"{exc}\nthe new rules are loaded, using the temporary sets {', '.join(sorted(temps.values()))}; "
                "load the file again to give the sets their own names"
            ) from exc
        _destroy(list(temps.values()))
    return Loaded(netns, existed, len(created) + len(changed), len(script.sets) - len(created) - len(changed))


def apply_iptables(text: str, *, netns: str | None = None, variant: str | None = None, name: str = "<file>") -> Loaded:
    """Load the iptables back end's output `text` (replacing netcompile's previous one) on this host or in `netns`."""
    script = parse(text, name)
    _privileged()
    return in_netns(netns, _load, script, variant, netns)


def _delete(variant: str | None) -> bool:
    sets = loaded_sets()
    found = bool(sets)
    for family in SECTIONS[1:]:
        loaded = loaded_rules(family, variant)
        found = found or not loaded.is_empty()
        _restore(family, restore_text(Rules(), loaded), variant)
    _destroy(list(sets))
    return found


def delete_iptables(*, netns: str | None = None, variant: str | None = None) -> bool:
    """Remove netcompile's jumps, chains and sets (and nothing else); False when there were none."""
    _privileged()
    return in_netns(netns, _delete, variant)


def check_iptables(text: str, *, variant: str | None = None, name: str = "<file>") -> Loaded:
    """Load `text` into a scratch network namespace, which is then removed: the kernel validates it."""
    script = parse(text, name)
    _privileged()
    scratch = f"netcompile-check-{os.getpid()}"
    made = _run(["ip", "netns", "add", scratch])
    if made.returncode != 0:
        raise IptablesUnavailable(f"ip netns add: {made.stderr.strip()}")
    try:
        return in_netns(scratch, _load, script, variant, None)
    finally:
        _run(["ip", "netns", "delete", scratch])


def _privileged() -> None:
    if os.geteuid() != 0:
        raise IptablesUnavailable("loading iptables rules and ipsets needs root")
