"""The compile options every verb that reads manifests takes (pipeline.COMPILE_FLAGS), as Typer reads
them, and `with_compile_options`, which puts them in a verb's signature."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer

from ..pipeline import BACKENDS, COMPILE_FLAGS, DEFAULT_NODE_PORT_RANGE, IPTABLES_VARIANTS, CompileArgs

NodeOpt = Annotated[
    str | None,
    typer.Option(
        "--node", metavar="NAME", help="Node the ruleset is for (implied when the input has one Node or none)."
    ),
]
ClusterCidrOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--cluster-cidr",
        metavar="CIDR",
        help="Pod network(s); overrides the Nodes' podCIDRs. Repeat or comma-separate.",
    ),
]
NodePortAddrOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--nodeport-addresses", metavar="CIDR", help="Accept NodePorts only on node addresses in these CIDRs."
    ),
]
TableOpt = Annotated[
    str, typer.Option("--table", metavar="NAME", help="Name of netcompile's own nftables table (family inet).")
]
NodePortRangeOpt = Annotated[
    str,
    typer.Option(
        "--service-node-port-range", metavar="LOW-HIGH", help="Valid nodePort range, as the API server's flag."
    ),
]
ValidateOpt = Annotated[
    str,
    typer.Option(
        "--validate",
        metavar="MODE",
        help="Fields the Kubernetes API does not declare, as kubectl's flag: strict (errors), warn, ignore.",
    ),
]
StrictOpt = Annotated[
    bool,
    typer.Option(
        "--strict", help="Dangling references (a selector that selects no pod, an unknown port name...) are errors."
    ),
]


NodesOpt = Annotated[
    str,
    typer.Option("--nodes", metavar="N", help="Synthetic Nodes to simulate when the input has none (kind's layout)."),
]
ServiceCidrOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--service-cidr",
        metavar="CIDR",
        help="Where simulated ClusterIPs come from, one per family (default 10.96.0.0/12, fd00:10:96::/112).",
    ),
]
LoadBalancerCidrOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--load-balancer-cidr", metavar="CIDR", help="Where simulated LoadBalancer ingress IPs come from (repeat)."
    ),
]

DetectLocalOpt = Annotated[
    str | None,
    typer.Option(
        "--detect-local-mode",
        metavar="MODE",
        help="How kube-proxy tells pods' traffic: ClusterCIDR (the pod networks), NodeCIDR (this node's), None.",
    ),
]
MasqueradeAllOpt = Annotated[
    bool, typer.Option("--masquerade-all", help="Masquerade every connection to a ClusterIP (kube-proxy's).")
]
ProxyConfigOpt = Annotated[
    str | None,
    typer.Option(
        "--proxy-config",
        metavar="FILE",
        help="kube-proxy's configuration (a KubeProxyConfiguration, or its ConfigMap); options given override it.",
    ),
]

# The options in the order --help lists them, each with its type and default; `with_compile_options`
# puts them in a verb's signature, so that Typer parses them as it parses the verb's own.
_COMPILE_PARAMETERS: tuple[tuple[str, Any, Any], ...] = (
    ("node", NodeOpt, None),
    ("cluster_cidr", ClusterCidrOpt, None),
    ("nodeport_addresses", NodePortAddrOpt, None),
    ("table", TableOpt, "netcompile"),
    ("service_node_port_range", NodePortRangeOpt, DEFAULT_NODE_PORT_RANGE),
    ("validate", ValidateOpt, "strict"),
    ("strict", StrictOpt, False),
    ("nodes", NodesOpt, "1"),
    ("service_cidr", ServiceCidrOpt, None),
    ("load_balancer_cidr", LoadBalancerCidrOpt, None),
    ("detect_local_mode", DetectLocalOpt, None),
    ("masquerade_all", MasqueradeAllOpt, False),
    ("proxy_config", ProxyConfigOpt, None),
)
COMPILE_OPTIONS = tuple(flag for _, flag, _ in COMPILE_FLAGS)

# The back end a ruleset is written for (compile, apply, delete, lab --backend): not a compile option,
# since both write the same compiled IR.
BackendOpt = Annotated[
    str,
    typer.Option(
        "--backend",
        metavar="NAME",
        help="nftables (default: one nft script) or iptables (ipset, iptables-restore and ip6tables-restore "
        "input, in one file of three sections; docs/iptables.md).",
    ),
]
VariantOpt = Annotated[
    str | None,
    typer.Option(
        "--iptables",
        metavar="VARIANT",
        help="With --backend iptables: the tools to load with, nft (iptables-nft) or legacy (iptables-legacy); "
        "default: the host's iptables-restore.",
    ),
]


def backend_problem(backend: str, variant: str | None = None) -> str | None:
    """What is wrong with --backend (and --iptables), or None."""
    if backend not in BACKENDS:
        return f'--backend: Unsupported value: "{backend}": supported values: "nftables", "iptables"'
    if variant is not None and (backend != "iptables" or variant not in IPTABLES_VARIANTS):
        return '--iptables: "nft" or "legacy", with --backend iptables'
    return None


SplitOpt = Annotated[
    str | None,
    typer.Option(
        "--split",
        metavar="DIR",
        help="With --backend iptables: also write DIR/ipset.restore, DIR/iptables.rules and DIR/ip6tables.rules, "
        "the input of each tool.",
    ),
]
assert [name for name, _, _ in _COMPILE_PARAMETERS] == [name for name, _, _ in COMPILE_FLAGS]


def with_compile_options(verb: Callable[..., None]) -> Callable[..., None]:
    """Give a verb the compile options (COMPILE_OPTIONS), defined once here: the verb declares a
    `compile_args: CompileArgs` parameter, and receives the options given, in one value. Typer reads the
    signature this sets: the verb's own parameters, then the compile options (keyword-only)."""
    own = inspect.signature(verb, eval_str=True)
    if "compile_args" not in own.parameters:
        raise TypeError(f"{verb.__name__}: a verb with the compile options takes compile_args: CompileArgs")
    names = [name for name, _, _ in _COMPILE_PARAMETERS]
    added = [
        inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d, annotation=t) for n, t, d in _COMPILE_PARAMETERS
    ]
    kept = [p for p in own.parameters.values() if p.name != "compile_args"]

    @functools.wraps(verb)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        given = {name: kwargs.pop(name) for name in names if name in kwargs}
        for many in ("cluster_cidr", "nodeport_addresses", "service_cidr", "load_balancer_cidr"):
            given[many] = tuple(given.get(many) or ())
        return verb(*args, **kwargs, compile_args=CompileArgs(**given))

    del wrapper.__wrapped__  # Typer (inspect.signature) reads __signature__, not the verb's own
    wrapper.__signature__ = own.replace(parameters=[*kept, *added])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in [*kept, *added]}
    return wrapper
