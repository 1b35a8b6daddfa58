"""The pipeline, one phase a function: load → complete → compile (one node, or every node) → IR and text.

    words ──CompileArgs──▶ CompileOptions, ParseOptions          (the command line, a golden case's args)
    paths ──load──▶ Objects ──complete──▶ completed Objects ──compile_node / compile_nodes──▶ Compiled
                                                                  (Cluster: the index; Output: IR + text)

Every verb (cli/), the golden cases (golden.py), the journeys across nodes (journeys.py) and the lab
(lab/) go through these functions, so that they all read, complete and compile the same way. Completion
runs once per input (`complete`), never per node: every node's Cluster indexes the same completed
objects, and the reference evaluator is given those same objects (`Cluster.scope`) and nothing else.

Errors are exceptions: InputError (bad input, every diagnostic at once), ClusterError (the question
asked does not fit the input: `--node` names no Node), OptionError (a malformed option value). cli/
turns them into messages and exit codes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, NamedTuple

from .compile.index import Cluster, ClusterError
from .compile.options import MASQUERADE_MARK, CompileOptions
from .complete import CompleteOptions
from .complete import complete as complete_objects
from .complete.options import DEFAULT_LOAD_BALANCER_CIDRS, DEFAULT_POD_CIDRS, DEFAULT_SERVICE_CIDRS
from .errors import Diagnostic, InputError, Position
from .host.names import check_table_name
from .load.manifests import NODE_PORT_RANGE, ParseOptions
from .load.manifests import load as load_manifests
from .load.source import Limits
from .load.validation import parse_cidr
from .model import DETECT_LOCAL_MODES, IPNetwork, Objects
from .model.proxy import ProxyConfig

if TYPE_CHECKING:
    from .compile.compiler import Output

__all__ = [
    "COMPILE_FLAGS", "ClusterError", "CompileArgs", "CompileOptions", "Compiled", "CompleteOptions", "OptionError",
    "ParseOptions", "compile_indexed", "compile_node", "compile_nodes", "compile_paths", "complete", "distinct_inputs",
    "load", "node_cluster", "node_clusters", "node_names", "parse_compile_args",
]  # fmt: skip


class OptionError(ValueError):
    """A compile option with a malformed value; the message names the option as written (`--table 'X': ...`)."""


# --- the compile options: the same words on the command line and in a golden case's args file ---------------

DEFAULT_NODE_PORT_RANGE = f"{NODE_PORT_RANGE[0]}-{NODE_PORT_RANGE[1]}"
# The back ends a compiled ruleset is written for (both render the same IR: netcompile/nft/render.py,
# netcompile/iptables/), and the iptables tools that load the second (iptables-nft, iptables-legacy).
BACKENDS = ("nftables", "iptables")
IPTABLES_VARIANTS = ("nft", "legacy")
VALIDATE_MODES = {"strict": "strict", "warn": "warn", "ignore": "ignore", "true": "strict", "false": "ignore"}


@dataclass(frozen=True)
class CompileArgs:
    """The compile options as words give them (every verb's options, a golden case's args file);
    `compile_options()` and `parse_options()` check them (OptionError) and build the library's options."""

    node: str | None = None
    cluster_cidr: tuple[str, ...] = ()
    nodeport_addresses: tuple[str, ...] = ()
    table: str = "netcompile"
    service_node_port_range: str = DEFAULT_NODE_PORT_RANGE
    validate: str = "strict"
    strict: bool = False
    nodes: str = "1"
    service_cidr: tuple[str, ...] = ()
    load_balancer_cidr: tuple[str, ...] = ()
    detect_local_mode: str | None = None
    masquerade_all: bool = False
    proxy_config: str | None = None

    def compile_options(self, proxy: ProxyConfig | None = None) -> CompileOptions:
        """CompileOptions from these values and kube-proxy's configuration (`proxy`, from the input or
        --proxy-config), which the options given override; OptionError on a malformed value.

        As kube-proxy: detectLocalMode ClusterCIDR without a clusterCIDR has nothing to tell pods by (the
        mode is None then); without any configuration netcompile finds the pod networks itself (--cluster-cidr,
        else the Nodes' podCIDRs, else the pods' addresses)."""
        given_cidrs = cidrs(self.cluster_cidr, "--cluster-cidr")
        mode = self.detect_local_mode
        if mode is not None and mode not in DETECT_LOCAL_MODES:
            modes = ", ".join(f'"{m}"' for m in DETECT_LOCAL_MODES)
            raise OptionError(f"--detect-local-mode: Unsupported value: {json.dumps(mode)}: supported values: {modes}")
        cluster_cidrs = given_cidrs or (proxy.cluster_cidrs if proxy else ())
        if mode is None:
            mode = proxy.detect_local_mode if proxy else "ClusterCIDR"
            if proxy is not None and mode == "ClusterCIDR" and not cluster_cidrs:
                mode = "None"
        nodeports = cidrs(self.nodeport_addresses, "--nodeport-addresses")
        return CompileOptions(
            node=self.node,
            cluster_cidrs=cluster_cidrs,
            nodeport_addresses=nodeports or (proxy.nodeport_addresses if proxy else ()),
            nodeport_primary=not nodeports and proxy is not None and proxy.nodeport_primary,
            table=table_name(self.table),
            masquerade_mark=1 << proxy.masquerade_bit if proxy else MASQUERADE_MARK,
            detect_local_mode=mode,
            masquerade_all=self.masquerade_all or (proxy is not None and proxy.masquerade_all),
        )

    def parse_options(self) -> ParseOptions:
        """ParseOptions from these values; OptionError on a malformed range or an unknown --validate mode."""
        if self.validate not in VALIDATE_MODES:
            raise OptionError(
                f'--validate: Unsupported value: "{self.validate}": supported values: "strict", "warn", "ignore"'
            )
        return ParseOptions(
            node_port_range=node_port_range(self.service_node_port_range), validate=VALIDATE_MODES[self.validate]
        )

    def complete_options(self) -> CompleteOptions:
        """The simulated cluster's options (complete/options.py) from these values: --nodes, --service-cidr,
        --load-balancer-cidr, and the pod network and node-port range the compiler is given too (so that
        what the simulation hands out is what the compiler sees: pods inside --cluster-cidr, nodePorts
        inside --service-node-port-range). OptionError on a malformed value or options no cluster could
        have (CompleteOptions' ValueError)."""
        nodes = number(self.nodes)
        if nodes is None:
            raise OptionError(f"--nodes {self.nodes!r}: must be a number of nodes, 0 or more (e.g. 3)")
        pods = first_of_each_family(cidrs(self.cluster_cidr, "--cluster-cidr"))
        services = cidrs(self.service_cidr, "--service-cidr")
        if len({c.version for c in services}) != len(services):
            raise OptionError(
                f"--service-cidr {','.join(self.service_cidr)}: at most one CIDR per IP family (as the API "
                "server's --service-cluster-ip-range: IPv4,IPv6 for dual stack)"
            )
        if not services and pods:  # the defaults, the pods' primary family first (as a cluster's would be)
            services = tuple(sorted(DEFAULT_SERVICE_CIDRS, key=lambda c: c.version != pods[0].version))
        load_balancers = cidrs(self.load_balancer_cidr, "--load-balancer-cidr")
        ports = node_port_range(self.service_node_port_range)
        try:
            return CompleteOptions(
                nodes=nodes,
                service_cidrs=services or DEFAULT_SERVICE_CIDRS,
                pod_cidrs=pods or DEFAULT_POD_CIDRS,
                node_port_range=ports,
                load_balancer_cidrs=load_balancers or DEFAULT_LOAD_BALANCER_CIDRS,
                service_cidrs_configured=bool(self.service_cidr),  # a given clusterIP outside: an error
            )
        except ValueError as exc:
            raise OptionError(f"{self.simulation_flags()}: {exc}") from None

    def simulation_flags(self) -> str:
        """The options given that shape the simulated cluster, as written (for messages)."""
        given = [f"--nodes {self.nodes}"] if self.nodes != CompileArgs.nodes else []
        given += [f"--cluster-cidr {c}" for c in self.cluster_cidr]
        given += [f"--service-cidr {c}" for c in self.service_cidr]
        given += [f"--load-balancer-cidr {c}" for c in self.load_balancer_cidr]
        if self.service_node_port_range != DEFAULT_NODE_PORT_RANGE:
            given.append(f"--service-node-port-range {self.service_node_port_range}")
        return " ".join(given) or "the simulated cluster's defaults"

    def check(self) -> tuple[CompileOptions, ParseOptions]:
        """Both, checked before any input is read (and the simulated cluster's, `complete_options`): a bad
        option is reported before a bad file."""
        self.complete_options()
        return self.compile_options(), self.parse_options()


# (CompileArgs field, flag, what it takes): "one" a value, "many" a value each time it is given (also
# comma-separated), "flag" none. The command line (cli.with_compile_options) and golden args files
# (parse_compile_args) both take exactly these.
COMPILE_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("node", "--node", "one"),
    ("cluster_cidr", "--cluster-cidr", "many"),
    ("nodeport_addresses", "--nodeport-addresses", "many"),
    ("table", "--table", "one"),
    ("service_node_port_range", "--service-node-port-range", "one"),
    ("validate", "--validate", "one"),
    ("strict", "--strict", "flag"),
    ("nodes", "--nodes", "one"),
    ("service_cidr", "--service-cidr", "many"),
    ("load_balancer_cidr", "--load-balancer-cidr", "many"),
    ("detect_local_mode", "--detect-local-mode", "one"),
    ("masquerade_all", "--masquerade-all", "flag"),
    ("proxy_config", "--proxy-config", "one"),
)


def parse_compile_args(words: Sequence[str], where: str = "compile flags") -> CompileArgs:
    """CompileArgs from words (a golden case's args file, split as a shell does), with the command line's
    flags (COMPILE_FLAGS); OptionError on an unknown flag or a flag without its value. The values are
    checked later, by `CompileArgs.check`, as the command line's are."""
    import argparse  # (golden args files alone: the command line is Typer's)

    parser = argparse.ArgumentParser(prog=where, exit_on_error=False, allow_abbrev=False, add_help=False)
    for name, flag, takes in COMPILE_FLAGS:
        if takes == "many":
            parser.add_argument(flag, dest=name, action="append", default=[])
        elif takes == "flag":
            parser.add_argument(flag, dest=name, action="store_true")
        else:
            parser.add_argument(flag, dest=name, default=getattr(CompileArgs, name))
    try:  # exit_on_error=False: a bad word is an OptionError, never an exit from here
        ns, unknown = parser.parse_known_args(list(words))
    except argparse.ArgumentError as exc:
        raise OptionError(str(exc)) from None
    if unknown:
        raise OptionError(f"unknown flags: {' '.join(unknown)}")
    return CompileArgs(
        node=ns.node,
        cluster_cidr=tuple(ns.cluster_cidr),
        nodeport_addresses=tuple(ns.nodeport_addresses),
        table=ns.table,
        service_node_port_range=ns.service_node_port_range,
        validate=ns.validate,
        strict=ns.strict,
        nodes=ns.nodes,
        service_cidr=tuple(ns.service_cidr),
        load_balancer_cidr=tuple(ns.load_balancer_cidr),
        detect_local_mode=ns.detect_local_mode,
        masquerade_all=ns.masquerade_all,
        proxy_config=ns.proxy_config,
    )


def cidrs(values: Sequence[str], flag: str) -> tuple[IPNetwork, ...]:
    out = []
    for value in values:
        for part in value.split(","):
            net = parse_cidr(part.strip())
            if net is None:
                raise OptionError(f"{flag} {part!r}: must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")
            out.append(net)
    return tuple(out)


def first_of_each_family(networks: Sequence[IPNetwork]) -> tuple[IPNetwork, ...]:
    """The first network of each IP family, in the order given: the simulated pods' networks, from
    --cluster-cidr (a cluster has one pod network per family; the compiler still sees every CIDR given)."""
    out: dict[int, IPNetwork] = {}
    for network in networks:
        out.setdefault(network.version, network)
    return tuple(out.values())


def number(text: str) -> int | None:
    """A decimal number written in ASCII digits (int() also reads "٣", "1_000" and " 1"), or None."""
    return int(text) if text.isascii() and text.isdigit() else None


def node_port_range(text: str) -> tuple[int, int]:
    first, _, second = text.partition("-")
    low, high = number(first), number(second)
    if low is None or high is None or not 1 <= low <= high <= 65535:
        raise OptionError(f"--service-node-port-range {text!r}: must be LOW-HIGH, e.g. 30000-32767")
    return low, high


def table_name(table: str) -> str:
    """A --table the compiler can emit and `apply`/`delete` accept (OptionError otherwise)."""
    from .nft.identifiers import IRError, check_name  # (not the IR: options are checked before matrix forks)

    try:
        return check_name(check_table_name(table))
    except (ValueError, IRError):
        raise OptionError(
            f"--table {table!r}: must be an nftables table name: a lowercase letter, then lowercase letters, digits "
            "or _ . / -, at most 64 characters, and not a word of nft's syntax (inet, table, add...)"
        ) from None


# --- phase 1, load: files to model objects --------------------------------------------------------------


def distinct_inputs(paths: Sequence[str]) -> list[str]:
    """The paths to read, each file once: a path named twice, or also inside a folder that is named too
    (`compile examples examples/30-policies.yaml`), is read once; read twice, every object in it would be
    there twice."""
    real = [p if p == "-" else os.path.realpath(p) for p in paths]
    folders = [r for r, p in zip(real, paths, strict=True) if p != "-" and os.path.isdir(p)]
    out: list[str] = []
    seen: set[str] = set()
    for path, resolved in zip(paths, real, strict=True):
        inside = os.path.exists(path) and any(  # a path that is not there is read, to say so
            resolved.startswith(folder.rstrip("/") + "/") for folder in folders if folder != resolved
        )
        if resolved not in seen and not inside:
            seen.add(resolved)
            out.append(path)
    return out


def load(
    paths: Sequence[str],
    limits: Limits = Limits(),
    parse: ParseOptions = ParseOptions(),
    proxy_config: str | None = None,
) -> Objects:
    """Read, check and default the manifests (each file once); InputError with every diagnostic.

    `proxy_config` (--proxy-config FILE): a file holding kube-proxy's configuration (a
    KubeProxyConfiguration, or the kube-proxy ConfigMap), which takes the place of one in the manifests."""
    objects = load_manifests(distinct_inputs(paths), limits, parse)
    if proxy_config is None:
        return objects
    given = load_manifests([proxy_config], limits, parse)
    if given.proxy_config is None:
        where = Position(proxy_config, 1, 1)
        missing = "--proxy-config: the file holds no KubeProxyConfiguration (nor kube-system's kube-proxy ConfigMap)"
        raise InputError([Diagnostic(where, "", "", missing)])
    notices = objects.notices + given.notices
    if objects.proxy_config is not None:
        replaced = objects.proxy_config
        notices += (f"{replaced.position}: {replaced.source}: not read: --proxy-config {proxy_config} takes its place",)
    return replace(objects, proxy_config=given.proxy_config, notices=notices)


# --- phase 2, complete: what the cluster adds, once ------------------------------------------------------


def complete(objects: Objects, options: CompleteOptions | None = None) -> Objects:
    """The objects as the cluster would hold them (complete/: the simulated cluster where the input leaves
    things to it, EndpointSlices from pods): done once per input, before any node is compiled; what both
    the compiler and the reference evaluator are given. Idempotent."""
    return complete_objects(objects) if options is None else complete_objects(objects, options)


# --- phase 3, compile: one node, or every node ------------------------------------------------------------


class Compiled(NamedTuple):
    """One node's ruleset: the Cluster it was compiled from (the index, and `scope` for the reference) and
    the Output (the IR table, the text, notices)."""

    cluster: Cluster
    output: Output


def compile_node(completed: Objects, opts: CompileOptions) -> Compiled:
    """The ruleset of the node `opts.node` (implied when the input has one Node or none), from completed
    objects (`complete`). ClusterError when `opts.node` does not fit the input."""
    return compile_indexed(node_cluster(completed, opts), opts)


def node_cluster(completed: Objects, opts: CompileOptions) -> Cluster:
    """The index of the node `opts.node`'s cluster (what the reference evaluator reads, and the compiler
    compiles: `compile_indexed`). ClusterError when `opts.node` does not fit the input."""
    return Cluster(
        completed, opts.node, opts.cluster_cidrs, opts.detect_local_mode, opts.masquerade_all, opts.nodeport_primary
    )


def compile_indexed(cluster: Cluster, opts: CompileOptions) -> Compiled:
    """The ruleset of the node `cluster` was indexed for (`node_cluster`, with the same `opts`). The compiler
    is imported here: a process that only indexes (matrix's, whose helper process compiles) never loads it."""
    from .compile.compiler import compile_cluster

    return Compiled(cluster, compile_cluster(cluster, opts))


def share_across_nodes(completed: Objects, opts: CompileOptions) -> None:
    """Resolve once what every node's compile needs and that does not depend on the node: the indexes and
    every Service port's endpoints (`compile.index.Shared`). `compile --all-nodes` calls it before its
    workers fork, so that they inherit it rather than each resolving it again; and from then on each node's
    compile keeps what the next one can replay (compile/reuse.py)."""
    cluster = Cluster(completed, node_names(completed, opts)[0], opts.cluster_cidrs, opts.detect_local_mode)
    cluster.shared_indexes.several_nodes = True
    for service in cluster.services.values():
        for port in service.ports:
            cluster.endpoints(service, port)


def node_names(objects: Objects, opts: CompileOptions) -> list[str | None]:
    """Every node a ruleset is written for: each Node of the input, else the one implied node (named by
    `opts.node`, if given, as `compile --node` names it)."""
    return [n.meta.name for n in objects.nodes] or [opts.node]


def compile_nodes(completed: Objects, opts: CompileOptions) -> dict[str | None, Compiled]:
    """Every node's ruleset (`node_names`), each compiled with `opts` for that node. ClusterError when
    `opts.node` names no Node of the input."""
    return {
        name: compile_indexed(cluster, replace(opts, node=name))
        for name, cluster in node_clusters(completed, opts).items()
    }


def node_clusters(completed: Objects, opts: CompileOptions) -> dict[str | None, Cluster]:
    """Every node's index (`node_cluster`), not yet compiled (`compile_indexed`, with `opts` for that node:
    `replace(opts, node=name)`). ClusterError when `opts.node` names no Node of the input."""
    names = node_names(completed, opts)
    if opts.node is not None and opts.node not in names:  # as Cluster says it
        known = ", ".join(sorted(str(name) for name in names))
        raise ClusterError(f"--node {opts.node}: no such Node in the input (known: {known})")
    if len(names) > 1:
        share_across_nodes(completed, opts)
    return {name: node_cluster(completed, replace(opts, node=name)) for name in names}


def compile_paths(
    paths: Sequence[str], opts: CompileOptions, limits: Limits = Limits(), parse: ParseOptions = ParseOptions()
) -> Compiled:
    """The whole pipeline for one node: load, complete, compile; the input's notices first among the
    output's. Raises InputError or ClusterError."""
    objects = load(paths, limits, parse)
    compiled = compile_node(complete(objects), opts)
    compiled.output.notices[:0] = objects.notices
    return compiled
