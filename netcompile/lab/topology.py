"""Building and removing the lab's network namespaces with iproute2 (batch mode), per DESIGN.md §3.

    client ns ─veth─┐                                    ┌─ pod ns (pod IP/32, default via 169.254.1.1)
                    ├─ bridge (LAN ns, gateway address)  │   veth
    node ns ──veth──┘   answers "unreachable"            └─ node ns: 169.254.1.1/32 scope link on every
      addresses /32, default via the gateway,                 pod veth, proxy_arp=1, pod IP/32 route,
      other nodes' addresses and pod networks via LAN         ip_forward=1, the compiled ruleset

With kube-proxy's detectLocalMode BridgeInterface the node's pod veths are instead ports of a bridge of
the configured name, which holds the gateway addresses and the pod routes, so pods' packets arrive on
the bridge (`iifname`); with InterfaceNamePrefix the node sides are named with the prefix (plan.py).

Veths are created directly inside their namespaces (`ip link add ... netns A type veth peer ... netns
B`), so no interface ever appears in the host's namespace and nothing the lab does can reach the
host's networks: the namespaces are joined only to each other.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

from ..host.apply import in_netns
from ..model import IPAddress
from .plan import NETNS_DIR, POD_GATEWAY, POD_GATEWAY6, LabPlan


class TopologyError(Exception):
    """iproute2 refused a command; the message names it."""


def ip_batch(commands: Iterable[str], netns: str | None = None, *, force: bool = False) -> None:
    """Run iproute2 commands in one `ip -batch -` process (in `netns` with `-n`)."""
    lines = list(commands)
    if not lines:
        return
    argv = ["ip", *(["-n", netns] if netns else []), *(["-force"] if force else []), "-batch", "-"]
    proc = subprocess.run(argv, input="\n".join(lines) + "\n", capture_output=True, text=True, check=False)
    if proc.returncode != 0 and not force:
        where = f" in {netns}" if netns else ""
        raise TopologyError(f"ip -batch{where} failed: {proc.stderr.strip()}")


def _parallel_batches(batches: dict[str, list[str]]) -> None:
    procs = []
    for netns, lines in batches.items():
        proc = subprocess.Popen(
            ["ip", "-n", netns, "-batch", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append((netns, proc, "\n".join(lines) + "\n"))
    errors = []
    for netns, proc, text in procs:
        _, err = proc.communicate(text)
        if proc.returncode != 0:
            errors.append(f"ip -batch in {netns} failed: {err.strip()}")
    if errors:
        raise TopologyError("; ".join(errors))


def _write_sysctls(values: dict[str, str]) -> None:
    for path, value in values.items():
        Path("/proc/sys/net", path).write_text(value)


def _host(address: IPAddress) -> str:
    return f"{address}/{address.max_prefixlen}"


def _add_address(address: IPAddress, dev: str) -> str:
    # IPv6: no duplicate address detection, or the address stays "tentative" (unusable) for a second
    return f"address add {_host(address)} dev {dev}" + (" nodad" if address.version == 6 else "")


def _default(version: int) -> str:
    return "0.0.0.0/0" if version == 4 else "::/0"


def sysctls(plan: LabPlan) -> dict[str, dict[str, str]]:
    """Per namespace, the sysctls (under /proc/sys/net) to set before any link comes up."""
    v6 = 6 in plan.families
    out: dict[str, dict[str, str]] = {}

    def no_dad(ifnames: list[str]) -> dict[str, str]:
        if not v6:
            return {}
        values = {"ipv6/conf/all/accept_dad": "0", "ipv6/conf/default/accept_dad": "0"}
        values |= {f"ipv6/conf/{name}/accept_dad": "0" for name in ifnames}
        return values

    # Rejects (ICMP errors) are answers the lab counts: no rate limit may swallow them when probes repeat.
    no_icmp_limit = {"ipv4/icmp_ratemask": "0"} | ({"ipv6/icmp/ratemask": "", "ipv6/icmp/ratelimit": "0"} if v6 else {})
    out[plan.lan_netns] = {"ipv4/ip_forward": "1"} | ({"ipv6/conf/all/forwarding": "1"} if v6 else {}) | no_icmp_limit
    out[plan.lan_netns] |= no_dad([n.bridge_port for n in plan.nodes] + [c.bridge_port for c in plan.clients])
    for node in plan.nodes:
        veths = [p.node_if for p in plan.pods if p.node == node.name and not p.host_network]
        veths += [plan.pod_bridge] if plan.pod_bridge else []  # the pods' gateway is on it
        values = {
            "ipv4/ip_forward": "1",
            "ipv4/conf/all/rp_filter": "0",
            "ipv4/conf/default/rp_filter": "0",
            "ipv4/conf/all/send_redirects": "0",
            f"ipv4/conf/{node.lan_if}/rp_filter": "0",
            f"ipv4/conf/{node.lan_if}/send_redirects": "0",
        }
        for veth in veths:
            values[f"ipv4/conf/{veth}/proxy_arp"] = "1"
            values[f"ipv4/conf/{veth}/rp_filter"] = "0"
        if v6:
            values["ipv6/conf/all/forwarding"] = "1"
        if plan.pod_bridge and Path("/proc/sys/net/bridge").is_dir():
            # br_netfilter: frames bridged between two pods' ports would pass the inet hooks; the routed
            # node of DESIGN.md §3 has none (pods send to the gateway), and sees no bridge-level traffic
            values |= {"bridge/bridge-nf-call-iptables": "0", "bridge/bridge-nf-call-ip6tables": "0"}
        out[node.netns] = values | no_icmp_limit | no_dad([node.lan_if, *veths])
    # pods and outside hosts answer closed ports with ICMP (the guard, servers.py): no rate limit either
    for pod in plan.pods:
        if not pod.host_network:
            out[pod.netns] = no_icmp_limit | no_dad([pod.pod_if])
    for client in plan.clients:
        out[client.netns] = no_icmp_limit | no_dad([client.client_if])
    return out


def build(plan: LabPlan) -> None:
    """Create every namespace, link, address and route of the plan (raise TopologyError on failure)."""
    ip_batch(f"netns add {ns}" for ns in plan.namespaces)
    veths = [
        f"link add {n.lan_if} netns {n.netns} type veth peer name {n.bridge_port} netns {plan.lan_netns}"
        for n in plan.nodes
    ]
    veths += [
        f"link add {c.client_if} netns {c.netns} type veth peer name {c.bridge_port} netns {plan.lan_netns}"
        for c in plan.clients
    ]
    veths += [
        f"link add {p.pod_if} netns {p.netns} type veth peer name {p.node_if} netns {plan.node(p.node).netns}"
        for p in plan.pods
        if not p.host_network
    ]
    # kube-proxy's BridgeInterface mode: each node's pod veths are ports of this bridge (made before the
    # sysctls, which name it)
    veths += [f"link add {plan.pod_bridge} netns {n.netns} type bridge" for n in plan.nodes if plan.pod_bridge]
    ip_batch(veths)
    for netns, values in sysctls(plan).items():
        in_netns(netns, _write_sysctls, values)

    batches: dict[str, list[str]] = {}
    # the LAN: a bridge with the gateway addresses ("unreachable" for everything), routes back to every
    # node and client
    lan = ["link set lo up", f"link add {plan.bridge} type bridge", f"link set {plan.bridge} up"]
    for gateway in plan.gateways:
        lan += [_add_address(gateway, plan.bridge), f"route add unreachable {_default(gateway.version)}"]
    for port, addresses in [(n.bridge_port, n.addresses) for n in plan.nodes] + [
        (c.bridge_port, (c.address,)) for c in plan.clients
    ]:
        lan.append(f"link set {port} master {plan.bridge} up")
        lan += [f"route add {_host(a)} dev {plan.bridge}" for a in addresses]
    batches[plan.lan_netns] = lan

    for node in plan.nodes:
        cmds = ["link set lo up", f"link set {node.lan_if} up"]
        cmds += [_add_address(a, node.lan_if) for a in node.addresses]
        for gateway in plan.gateways:
            cmds += [
                f"route add {_host(gateway)} dev {node.lan_if}",
                f"route add {_default(gateway.version)} via {gateway} dev {node.lan_if}",
            ]
        for other in plan.nodes:
            if other.name == node.name:
                continue
            cmds += [f"route add {_host(a)} dev {node.lan_if}" for a in other.addresses]
            for net in other.pod_networks:
                via = other.primary_of(net.version)
                if via is not None:
                    cmds.append(f"route add {net} via {via} dev {node.lan_if}")
        cmds += [f"route add {_host(c.address)} dev {node.lan_if}" for c in plan.clients]
        bridge = plan.pod_bridge
        if bridge:  # the gateway on the bridge, once; the veths are its ports, with no address
            cmds += [f"link set {bridge} up", f"address add {POD_GATEWAY}/32 dev {bridge} scope link"]
            if 6 in plan.families:
                cmds.append(f"address add {POD_GATEWAY6}/64 dev {bridge} nodad")
        for pod in plan.pods:
            if pod.node != node.name or pod.host_network:
                continue
            if bridge:
                cmds.append(f"link set {pod.node_if} master {bridge} up")
            else:
                cmds += [f"link set {pod.node_if} up", f"address add {POD_GATEWAY}/32 dev {pod.node_if} scope link"]
                if any(a.version == 6 for a in pod.addresses):
                    cmds.append(f"address add {POD_GATEWAY6}/64 dev {pod.node_if} nodad")
            for a in pod.addresses:
                src = node.primary_of(a.version)
                cmds.append(f"route add {_host(a)} dev {bridge or pod.node_if}" + (f" src {src}" if src else ""))
        batches[node.netns] = cmds

    for pod in plan.pods:
        if pod.host_network:
            continue
        cmds = ["link set lo up", f"link set {pod.pod_if} up"]
        cmds += [_add_address(a, pod.pod_if) for a in pod.addresses]
        for a in pod.addresses:
            if a.version == 4:
                cmds += [
                    f"route add {POD_GATEWAY}/32 dev {pod.pod_if} scope link",
                    f"route add {_default(4)} via {POD_GATEWAY} dev {pod.pod_if} src {a}",
                ]
            else:
                cmds.append(f"route add {_default(6)} via {POD_GATEWAY6} dev {pod.pod_if} src {a}")
        batches[pod.netns] = cmds

    for client in plan.clients:
        version = client.address.version
        entry = plan.node(client.entry).primary_of(version)
        cmds = ["link set lo up", f"link set {client.client_if} up", _add_address(client.address, client.client_if)]
        for node in plan.nodes:  # each node's addresses on the LAN, its pod networks through it
            cmds += [f"route add {_host(a)} dev {client.client_if}" for a in node.addresses if a.version == version]
            via = node.primary_of(version)
            cmds += [
                f"route add {net} via {via} dev {client.client_if}"
                for net in node.pod_networks
                if net.version == version and via is not None
            ]
        if entry is not None:  # Service addresses
            cmds.append(f"route add {_default(version)} via {entry} dev {client.client_if}")
        batches[client.netns] = cmds

    _parallel_batches(batches)


def leftovers(prefix: str) -> list[str]:
    """Namespaces of this prefix that still exist (for teardown checks)."""
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(prefix + "-"))


def teardown(prefix: str) -> list[str]:
    """Delete every namespace whose name starts with `prefix` (their veths and bridge go with them).

    Returns the names that could not be deleted (normally none). Safe to call twice.
    """
    if not prefix.startswith("nc") or len(prefix) < 4:
        raise ValueError(f"refusing to tear down namespaces by the unsafe prefix {prefix!r}")
    names = leftovers(prefix)
    ip_batch((f"netns delete {ns}" for ns in names), force=True)
    return leftovers(prefix)
