"""Hypothesis strategies: small clusters as YAML manifests, and packets aimed at interesting places.

Clusters are generated as Kubernetes manifests (dicts dumped to YAML) and go through the real loader,
so every example is also a loading test and a shrunk failure prints as YAML a person can read and
paste into `netcompile trace`. The address plan is fixed so that selectors, named ports, VIPs and node
ports collide often:

    node-a  192.168.0.1   fd00:192::1   pods 10.244.1.0/24  fd00:244:1::/64   (the ruleset is for node-a)
    node-b  192.168.0.2   fd00:192::2   pods 10.244.2.0/24  fd00:244:2::/64
    ClusterIPs 10.96.0.0/24 and fd00:96::/112, externalIPs 203.0.113.0/24, LB IPs 198.51.100.0/24,
    outside clients 203.0.113.200, 198.51.100.200, 100.64.0.1, 2001:db8::200
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any

import yaml
from hypothesis import strategies as st

from netcompile.compile.options import CompileOptions
from netcompile.model import IPAddress, Protocol
from netcompile.verify.packet import Origin, Packet

NODES = {
    "node-a": ("192.168.0.1", "fd00:192::1", "10.244.1", "fd00:244:1::"),
    "node-b": ("192.168.0.2", "fd00:192::2", "10.244.2", "fd00:244:2::"),
}
NAMESPACES = ("default", "ns-a", "ns-b")
OUTSIDE = ("203.0.113.200", "198.51.100.200", "100.64.0.1", "2001:db8::200")
LABEL_VALUES = {"app": ("web", "db", "api"), "tier": ("front", "back"), "team": ("a", "b"), "env": ("prod", "dev")}
# (name, number, protocol): the same name maps to different numbers on different pods
PORT_CHOICES = (
    ("http", 8080, "TCP"),
    ("http", 8081, "TCP"),
    ("dns", 53, "UDP"),
    ("dns-tcp", 53, "TCP"),
    ("metrics", 9100, "TCP"),
    ("diameter", 3868, "SCTP"),
    ("alt", 8080, "UDP"),
)
PROTOCOLS = ("TCP", "UDP", "SCTP")
# kube-proxy's detectLocalMode values as drawn (ClusterCIDR, the default, twice as often); the interface
# modes, which need the packets' input interface, are drawn on their own (tests/test_properties.py)
DETECT_LOCAL_MODES = ("ClusterCIDR", "ClusterCIDR", "NodeCIDR", "None")
INTERFACE_MODES = ("BridgeInterface", "InterfaceNamePrefix")


@dataclass
class Scenario:
    """Manifests and packets; its repr is YAML, so failures print readably."""

    docs: list[dict[str, Any]]
    packets: list[Packet] = field(default_factory=list)  # drawn at random
    dual_stack: bool = False
    # kube-proxy's configuration (compile options): how pods' traffic is told apart, and masqueradeAll
    detect_local_mode: str = "ClusterCIDR"
    masquerade_all: bool = False
    # BridgeInterface / InterfaceNamePrefix: the name kube-proxy's configuration (one of `docs`) gives
    interface: str = ""

    @property
    def pod_iif(self) -> str:
        """The interface node-a's pods' packets arrive on: the bridge, or a name with the prefix."""
        return self.interface + "1a2b" if self.detect_local_mode == "InterfaceNamePrefix" else self.interface

    def arriving(self, packet: Packet) -> Packet:
        """`packet` as it arrives at node-a: from one of its pods, on the pods' interface (interface modes)."""
        if not self.interface or packet.origin != Origin.NETWORK:
            return packet
        local = packet.src in ip_network("10.244.1.0/24") or packet.src in ip_network("fd00:244:1::/64")
        return replace(packet, iif=self.pod_iif) if local else packet

    @property
    def options(self) -> CompileOptions:
        """The compile options the scenario is for (node-a, and kube-proxy's configuration)."""
        return CompileOptions(
            node="node-a", detect_local_mode=self.detect_local_mode, masquerade_all=self.masquerade_all
        )

    @property
    def probes(self) -> list[Packet]:
        """The random packets plus systematic probes of every frontend and policy port (see `probes`)."""
        systematic = [self.arriving(p) for p in probes(self.docs, self.dual_stack)]
        return self.packets + [p for p in systematic if p not in self.packets]

    @property
    def yaml(self) -> str:
        return yaml.safe_dump_all(self.docs, sort_keys=False, default_flow_style=None, width=120)

    def __repr__(self) -> str:
        packets = "\n".join(f"#   {p}" for p in self.packets)
        mode = "" if self.interface else f" --detect-local-mode {self.detect_local_mode}"  # else: the configuration's
        return (
            f"\n# --- manifests (compile with --node node-a{mode}"
            f"{' --masquerade-all' if self.masquerade_all else ''}) ---\n{self.yaml}# --- packets ---\n{packets}\n"
            f"#   (and {len(self.probes) - len(self.packets)} systematic probes)\n"
        )


def crowded_networks(
    bases: list[int], offsets: int, shortest: int, version: int = 4
) -> st.SearchStrategy[IPv4Network | IPv6Network]:
    """Networks of IP `version` starting within `offsets` addresses of one of `bases`, prefixes from `shortest`
    to the host's: crowded into a few small stretches, so that they overlap, nest and touch."""
    kind, longest = (IPv4Network, 32) if version == 4 else (IPv6Network, 128)
    return st.builds(
        lambda base, offset, prefix: kind((base + offset, prefix), strict=False),
        st.sampled_from(bases),
        st.integers(0, offsets),
        st.integers(shortest, longest),
    )


def _labels(draw: st.DrawFn, keys: tuple[str, ...] = ("app", "tier")) -> dict[str, str]:
    out: dict[str, str] = {}
    for key in keys:
        if draw(st.booleans()):
            out[key] = draw(st.sampled_from(LABEL_VALUES[key]))
    return out


@st.composite
def label_selectors(draw: st.DrawFn, keys: tuple[str, ...] = ("app", "tier")) -> dict[str, Any]:
    """metav1.LabelSelector, simplest first: {} (everything), matchLabels, matchExpressions."""
    kind = draw(st.sampled_from(["empty", "labels", "expressions", "both"]))
    sel: dict[str, Any] = {}
    if kind in ("labels", "both"):
        key = draw(st.sampled_from(keys))
        sel["matchLabels"] = {key: draw(st.sampled_from(LABEL_VALUES[key]))}
    if kind in ("expressions", "both"):
        exprs = []
        for _ in range(draw(st.integers(1, 2))):
            key = draw(st.sampled_from(keys))
            op = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]))
            expr: dict[str, Any] = {"key": key, "operator": op}
            if op in ("In", "NotIn"):
                expr["values"] = sorted(draw(st.sets(st.sampled_from(LABEL_VALUES[key]), min_size=1)))
            exprs.append(expr)
        sel["matchExpressions"] = exprs
    return sel


@st.composite
def pods(draw: st.DrawFn, dual_stack: bool) -> list[dict[str, Any]]:
    out = []
    count = draw(st.integers(0, 6))
    for i in range(count):
        node = draw(st.sampled_from(sorted(NODES)))
        v4, v6, prefix4, prefix6 = NODES[node]
        host_network = draw(st.integers(0, 9)) == 0
        phase = draw(st.sampled_from(["Running"] * 8 + ["Pending", "Succeeded"]))
        ips = [v4, v6] if host_network else [f"{prefix4}.{10 + i}", f"{prefix6}{10 + i:x}"]
        ports = draw(
            st.lists(
                st.sampled_from(PORT_CHOICES),
                min_size=draw(st.sampled_from([0, 1, 1])),
                max_size=3,
                unique_by=lambda p: (p[0], p[2]),
            )
        )
        ports = [p for j, p in enumerate(ports) if all(q[1:] != p[1:] for q in ports[:j])]
        meta: dict[str, Any] = {"name": f"pod-{i}", "namespace": draw(st.sampled_from(NAMESPACES))}
        labels = _labels(draw)
        if draw(st.integers(0, 4)) != 0:
            labels.setdefault("app", draw(st.sampled_from(LABEL_VALUES["app"])))
        if labels:
            meta["labels"] = labels
        if draw(st.integers(0, 9)) == 0:
            meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
        spec: dict[str, Any] = {"nodeName": node, "containers": [{"name": "c", "image": "x"}]}
        if ports:
            spec["containers"][0]["ports"] = [
                {"name": n, "containerPort": num, "protocol": proto} for n, num, proto in ports
            ]
        if host_network:
            spec["hostNetwork"] = True
        status: dict[str, Any] = {"phase": phase}
        if phase == "Running":
            chosen = ips if dual_stack else ips[:1]
            status["podIP"] = chosen[0]
            status["podIPs"] = [{"ip": ip} for ip in chosen]
            ready = draw(st.integers(0, 5)) != 0
            status["conditions"] = [{"type": "Ready", "status": "True" if ready else "False"}]
        out.append({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status})
    return out


@st.composite
def services(draw: st.DrawFn, pod_docs: list[dict[str, Any]], dual_stack: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    used_node_ports: set[int] = set()
    for i in range(draw(st.integers(0, 3))):
        name, ns = f"svc-{i}", draw(st.sampled_from(NAMESPACES))
        kind = draw(st.sampled_from(["ClusterIP"] * 3 + ["NodePort", "LoadBalancer", "ExternalName", "Headless"]))
        meta = {"name": name, "namespace": ns}
        if kind == "ExternalName":
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": meta,
                    "spec": {"type": "ExternalName", "externalName": "example.com"},
                }
            )
            continue
        spec: dict[str, Any] = {"type": "ClusterIP" if kind == "Headless" else kind}
        ips = [f"10.96.0.{10 + i}"] + ([f"fd00:96::{10 + i:x}"] if dual_stack else [])
        if kind == "Headless":
            ips = ["None"]
        spec["clusterIP"], spec["clusterIPs"] = ips[0], ips
        has_selector = draw(st.integers(0, 3)) != 0
        # Mostly select pods that exist and target ports they declare, so traffic really gets DNATed.
        labelled = [p for p in pod_docs if p["metadata"].get("labels")]
        model_pod = draw(st.sampled_from(labelled)) if labelled and draw(st.integers(0, 3)) != 0 else None
        if model_pod is not None:
            ns = model_pod["metadata"]["namespace"]
            meta["namespace"] = ns
        if has_selector:
            if model_pod is not None:
                key = draw(st.sampled_from(sorted(model_pod["metadata"]["labels"])))
                spec["selector"] = {key: model_pod["metadata"]["labels"][key]}
            else:
                spec["selector"] = _labels(draw) or {"app": "web"}
        declared = [
            (q["name"], q["containerPort"], q["protocol"])
            for q in (model_pod["spec"]["containers"][0].get("ports", []) if model_pod else [])
        ]
        ports: list[dict[str, Any]] = []
        for j, (proto, number) in enumerate(
            draw(
                st.lists(
                    st.tuples(st.sampled_from(PROTOCOLS), st.sampled_from([53, 80, 443, 3868, 8080])),
                    min_size=1,
                    max_size=2,
                    unique=True,
                )
            )
        ):
            if declared and draw(st.integers(0, 2)) != 0:
                target_name, target_number, proto = draw(st.sampled_from(declared))
                target: int | str = draw(st.sampled_from([target_name, target_number]))
            else:
                choices: list[int | str] = [number, 8080, 9100, "http", "dns", "metrics", "diameter", "alt"]
                target = draw(st.sampled_from(choices))
            if any(q["protocol"] == proto and q["port"] == number for q in ports):
                continue  # the API server refuses two ports with the same number and protocol
            port: dict[str, Any] = {"name": f"p{j}", "protocol": proto, "port": number, "targetPort": target}
            if kind in ("NodePort", "LoadBalancer"):
                node_port = 30000 + 10 * i + j
                used_node_ports.add(node_port)
                port["nodePort"] = node_port
            ports.append(port)
        spec["ports"] = ports
        if kind != "Headless" and draw(st.integers(0, 3)) == 0:
            spec["externalIPs"] = [f"203.0.113.{10 + i}"]
        external = kind in ("NodePort", "LoadBalancer") or "externalIPs" in spec
        if external and draw(st.booleans()):
            spec["externalTrafficPolicy"] = "Local"
        if draw(st.integers(0, 3)) == 0:
            spec["internalTrafficPolicy"] = "Local"
        if draw(st.integers(0, 4)) == 0:
            spec["sessionAffinity"] = "ClientIP"
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": draw(st.sampled_from([10, 10800]))}}
        if draw(st.integers(0, 4)) == 0:
            spec["trafficDistribution"] = "PreferClose"
        if has_selector and draw(st.integers(0, 4)) == 0:
            spec["publishNotReadyAddresses"] = True  # completion then publishes not-ready pods as ready
        doc: dict[str, Any] = {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}
        if kind == "LoadBalancer":
            ingress: list[dict[str, Any]] = [{"ip": f"198.51.100.{10 + i}"}]
            if draw(st.integers(0, 3)) == 0:
                ingress[0]["ipMode"] = "Proxy"
            doc["status"] = {"loadBalancer": {"ingress": ingress}}
            if draw(st.booleans()):
                spec["loadBalancerSourceRanges"] = [draw(st.sampled_from(["203.0.113.0/24", "100.64.0.0/10"]))]
        out.append(doc)
        if not has_selector and kind != "Headless" and draw(st.booleans()):
            out.append(draw(endpoint_slices(name, ns, ports, pod_docs)))
    return out


@st.composite
def endpoint_slices(
    draw: st.DrawFn, service: str, namespace: str, ports: list[dict[str, Any]], pod_docs: list[dict[str, Any]]
) -> dict[str, Any]:
    """An IPv4 slice for a selector-less Service: pod addresses (or strangers), every condition mix."""
    candidates = [
        (p["status"]["podIP"], p["spec"]["nodeName"])
        for p in pod_docs
        if "podIP" in p["status"] and ":" not in p["status"]["podIP"] and not p["spec"].get("hostNetwork")
    ] + [("10.244.1.200", "node-a"), ("10.244.2.200", "node-b")]
    chosen = draw(st.lists(st.sampled_from(candidates), max_size=4, unique=True))
    zones = {"node-a": "zone-1", "node-b": "zone-2"}
    hinted = draw(st.booleans())
    endpoints = []
    for ip, node in chosen:
        ready = draw(st.booleans())
        conditions = {"ready": ready, "serving": ready or draw(st.booleans()), "terminating": draw(st.booleans())}
        ep: dict[str, Any] = {"addresses": [ip], "conditions": conditions, "nodeName": node, "zone": zones[node]}
        if hinted:
            ep["hints"] = {"forZones": [{"name": draw(st.sampled_from(["zone-1", "zone-2"]))}]}
        endpoints.append(ep)
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{service}-slice",
            "namespace": namespace,
            "labels": {"kubernetes.io/service-name": service},
        },
        "addressType": "IPv4",
        "ports": [
            {"name": p["name"], "protocol": p["protocol"], "port": draw(st.sampled_from([8080, 9100, 53]))}
            for p in ports
        ],
        "endpoints": endpoints,
    }


@st.composite
def peers(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["pod", "namespace", "both", "ipblock", "ipblock"]))
    if kind == "ipblock":
        cidr, excepts = draw(
            st.sampled_from(
                [
                    ("10.244.0.0/16", ["10.244.2.0/24"]),
                    ("10.244.1.0/24", []),
                    ("0.0.0.0/0", ["10.244.1.0/25"]),
                    ("203.0.113.0/24", ["203.0.113.128/25"]),
                    ("192.168.0.0/16", []),
                    ("fd00:244::/32", ["fd00:244:2::/48"]),
                    ("::/0", []),
                    ("10.244.1.10/32", []),
                    ("0.0.0.0/0", ["10.244.1.10/32"]),
                    ("fd00:244:1::a/128", []),
                ]
            )
        )
        block: dict[str, Any] = {"cidr": cidr}
        if excepts:
            block["except"] = excepts
        return {"ipBlock": block}
    out: dict[str, Any] = {}
    if kind in ("pod", "both"):
        out["podSelector"] = draw(label_selectors())
    if kind in ("namespace", "both"):
        out["namespaceSelector"] = draw(label_selectors(("team", "env")))
    return out


@st.composite
def policy_ports(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["number", "name", "range", "range", "protocol-only", "empty"]))
    port: dict[str, Any] = {}
    if kind != "empty":
        port["protocol"] = draw(st.sampled_from(PROTOCOLS))
    if kind == "number":
        port["port"] = draw(st.sampled_from([53, 80, 8080, 9100, 3868]))
    elif kind == "name":
        port["port"] = draw(st.sampled_from(["http", "dns", "metrics", "diameter", "alt", "nosuch"]))
    elif kind == "range":
        low = draw(st.sampled_from([53, 8000, 9000]))
        port["port"], port["endPort"] = low, low + draw(st.sampled_from([0, 1, 100, 1000]))
    return port


@st.composite
def rules(draw: st.DrawFn, peers_key: str) -> dict[str, Any]:
    rule: dict[str, Any] = {}
    if draw(st.booleans()):
        rule[peers_key] = draw(st.lists(peers(), max_size=2))
    if draw(st.integers(0, 2)) != 0:
        rule["ports"] = draw(st.lists(policy_ports(), max_size=2))
    return rule


@st.composite
def network_policies(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(0, 3))):
        spec: dict[str, Any] = {"podSelector": draw(label_selectors())}
        types = draw(st.sampled_from([None, ["Ingress"], ["Egress"], ["Ingress", "Egress"]]))
        if types is not None:
            spec["policyTypes"] = types
        if draw(st.booleans()):
            spec["ingress"] = draw(st.lists(rules("from"), max_size=2))
        if draw(st.booleans()):
            spec["egress"] = draw(st.lists(rules("to"), max_size=2))
        out.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": f"np-{i}", "namespace": draw(st.sampled_from(NAMESPACES))},
                "spec": spec,
            }
        )
    return out


def _targets(
    docs: list[dict[str, Any]],
) -> tuple[list[tuple[str, str, int]], list[tuple[str, str, int]], set[str], set[int], list[tuple[str, str, int]]]:
    """Where packets should go: every (address, protocol, port) the manifests serve — Service
    frontends (ClusterIPs, node ports on every node address, externalIPs, LB IPs) and pod container
    ports — plus every address and port mentioned, for near misses."""
    frontends: list[tuple[str, str, int]] = []
    pod_ports: list[tuple[str, str, int]] = []
    policy_ports: set[tuple[str, str, int]] = set()  # (local pod in the policy's namespace, proto, port)
    local_by_ns: dict[str, list[str]] = {}
    for doc in docs:
        if doc["kind"] == "Pod" and doc["spec"]["nodeName"] == "node-a" and not doc["spec"].get("hostNetwork"):
            ips = [ip["ip"] for ip in doc["status"].get("podIPs", [])]
            local_by_ns.setdefault(doc["metadata"]["namespace"], []).extend(ips)
    addresses: set[str] = set()
    ports: set[int] = set()
    node_ips = [ip for v4, v6, _, _ in NODES.values() for ip in (v4, v6)]
    for doc in docs:
        if doc["kind"] == "Pod":
            ips = [ip["ip"] for ip in doc["status"].get("podIPs", [])]
            addresses.update(ips)
            for port in doc["spec"]["containers"][0].get("ports", []):
                ports.add(port["containerPort"])
                pod_ports += [(ip, port["protocol"], port["containerPort"]) for ip in ips]
        if doc["kind"] == "Service":
            spec = doc["spec"]
            vips = [ip for ip in spec.get("clusterIPs", []) if ip != "None"] + spec.get("externalIPs", [])
            vips += [ing["ip"] for ing in doc.get("status", {}).get("loadBalancer", {}).get("ingress", [])]
            addresses.update(vips)
            for port in spec.get("ports", []):
                ports.add(port["port"])
                frontends += [(ip, port["protocol"], port["port"]) for ip in vips]
                if "nodePort" in port:
                    ports.add(port["nodePort"])
                    frontends += [(ip, port["protocol"], port["nodePort"]) for ip in node_ips]
        if doc["kind"] == "EndpointSlice":
            for ep in doc["endpoints"]:
                addresses.update(ep["addresses"])
            ports.update(port["port"] for port in doc["ports"])
        if doc["kind"] == "NetworkPolicy":  # range boundaries and numbers policies name: off-by-ones show here
            for direction in ("ingress", "egress"):
                for rule in doc["spec"].get(direction, []):
                    for port in rule.get("ports", []):
                        for key in ("port", "endPort"):
                            if isinstance(port.get(key), int):
                                ports.update({port[key], port[key] + 1})
                                proto = port.get("protocol", "TCP")
                                for pod in local_by_ns.get(doc["metadata"]["namespace"], []):
                                    policy_ports.update({(pod, proto, port[key]), (pod, proto, port[key] + 1)})
    return sorted(frontends), sorted(pod_ports), addresses, ports, sorted(policy_ports)


@st.composite
def packets(draw: st.DrawFn, docs: list[dict[str, Any]], dual_stack: bool) -> Packet:
    """Mostly aimed at something served (a frontend or a pod port), sometimes a near miss."""
    frontends, pod_ports, addresses, ports, policy_ports = _targets(docs)
    node_ips = [ip for v4, v6, _, _ in NODES.values() for ip in (v4, v6)]
    sources = sorted(a for a in addresses if a.startswith(("10.244.", "fd00:244:"))) + node_ips + list(OUTSIDE)
    destinations = sorted(addresses) + node_ips + list(OUTSIDE[:2]) + ["10.96.0.99"]
    if not dual_stack:
        sources = [s for s in sources if ":" not in s]
        destinations = [d for d in destinations if ":" not in d]
        frontends = [a for a in frontends if ":" not in a[0]]
        pod_ports = [a for a in pod_ports if ":" not in a[0]]
        policy_ports = [a for a in policy_ports if ":" not in a[0]]
    aim = draw(st.sampled_from(["frontend", "frontend", "pod", "pod-any-port", "policy-port", "anywhere"]))
    aimed = frontends if aim == "frontend" and frontends else pod_ports if aim == "pod" else []
    pods = sorted(a for a in addresses if a.startswith(("10.244.", "fd00:244:")) and (dual_stack or ":" not in a))
    if aimed:
        dst_text, proto_text, dport = draw(st.sampled_from(aimed))
        protocol = Protocol(proto_text)
    elif aim == "policy-port" and policy_ports:  # a pod a policy may select, on a port it names or one past
        dst_text, proto_text, dport = draw(st.sampled_from(policy_ports))
        protocol = Protocol(proto_text)
    else:
        dst_text = draw(st.sampled_from(pods if aim == "pod-any-port" and pods else destinations))
        protocol = Protocol(draw(st.sampled_from(PROTOCOLS)))
        dport = draw(st.sampled_from(sorted(ports | {1, 80, 8080, 65535})))
    dst: IPAddress = ip_address(dst_text)
    same_family = [s for s in sources if ip_address(s).version == dst.version] or [dst_text]
    src = ip_address(draw(st.sampled_from(same_family)))
    local = {ip_address(NODES["node-a"][0]), ip_address(NODES["node-a"][1])}
    origin = Origin.NODE if src in local else Origin.NETWORK
    assert isinstance(src, IPv4Address | IPv6Address)
    return Packet(src, dst, protocol, dport, origin=origin)


def _block_samples(docs: list[dict[str, Any]]) -> tuple[set[str], set[tuple[str, int]]]:
    """Addresses inside every ipBlock `cidr` and every `except` (first and last), and every (protocol,
    port) the policies name: where an ipBlock mistake would show."""
    from ipaddress import ip_network

    samples: set[str] = set()
    named: set[tuple[str, int]] = set()
    for doc in docs:
        if doc["kind"] != "NetworkPolicy":
            continue
        for direction, key in (("ingress", "from"), ("egress", "to")):
            for rule in doc["spec"].get(direction) or []:
                for peer in rule.get(key) or []:
                    block = peer.get("ipBlock")
                    for text in [block["cidr"], *block.get("except", [])] if block else []:
                        net = ip_network(text)
                        samples.update({str(net[0]), str(net[-1])} if net.num_addresses > 1 else {str(net[0])})
                for port in rule.get("ports") or []:
                    if isinstance(port.get("port"), int):
                        named.add((port.get("protocol", "TCP"), port["port"]))
    return samples, named


def probes(docs: list[dict[str, Any]], dual_stack: bool) -> list[Packet]:
    """Deterministic packets at every place worth probing: each Service frontend and pod port, and each
    policy port and one past it on the local pods of the policy's namespace; each from a local pod, a
    pod of the other node, the node itself and an outside client (of the destination's family)."""
    frontends, pod_ports, addresses, _, policy_ports = _targets(docs)
    pods = sorted(a for a in addresses if a.startswith(("10.244.", "fd00:244:")))
    sources: dict[int, list[str]] = {4: [], 6: []}
    for prefix in ("10.244.1.", "10.244.2.", "fd00:244:1:", "fd00:244:2:"):
        first = next((a for a in pods if a.startswith(prefix)), None)
        if first is not None:
            sources[ip_address(first).version].append(first)
    sources[4] += ["192.168.0.1", "203.0.113.200"]
    sources[6] += ["fd00:192::1", "2001:db8::200"]
    local = {"192.168.0.1", "fd00:192::1"}
    samples, block_ports = _block_samples(docs)
    out: list[Packet] = []

    def add(src: str, dst: str, proto: str, port: int) -> None:
        if ip_address(src).version == ip_address(dst).version and (dual_stack or ":" not in dst):
            origin = Origin.NODE if src in local else Origin.NETWORK
            out.append(Packet(ip_address(src), ip_address(dst), Protocol(proto), port, origin=origin))

    for dst, proto, port in sorted(set(frontends + pod_ports + policy_ports)):
        for src in sources[ip_address(dst).version]:
            add(src, dst, proto, port)
    local_ports = [t for t in pod_ports if t[0].startswith(("10.244.1.", "fd00:244:1:"))]
    for sample in sorted(samples):  # ingress from inside/outside each ipBlock, egress towards it
        for dst, proto, port in sorted(set(policy_ports + local_ports)):
            add(sample, dst, proto, port)
        for proto, port in sorted(block_ports):
            for src in sources[ip_address(sample).version][:2]:
                add(src, sample, proto, port)
    return out[:600]


@st.composite
def scenarios(draw: st.DrawFn, max_packets: int = 12, modes: tuple[str, ...] = DETECT_LOCAL_MODES) -> Scenario:
    """A node-a cluster with pods, Services (and slices), NetworkPolicies, and packets to try; kube-proxy's
    detectLocalMode one of `modes` (the interface modes with a KubeProxyConfiguration naming the interface)."""
    dual_stack = draw(st.integers(0, 4)) == 0
    docs: list[dict[str, Any]] = []
    for ns in NAMESPACES:
        labels = _labels(draw, ("team", "env"))
        meta: dict[str, Any] = {"name": ns}
        if labels:
            meta["labels"] = labels
        docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": meta})
    for name, (v4, v6, prefix4, prefix6) in NODES.items():
        zone = "zone-1" if name == "node-a" else "zone-2"
        cidrs = [f"{prefix4}.0/24"] + ([f"{prefix6}/64"] if dual_stack else [])
        addresses = [{"type": "InternalIP", "address": v4}] + (
            [{"type": "InternalIP", "address": v6}] if dual_stack else []
        )
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": zone}},
                "spec": {"podCIDR": cidrs[0], "podCIDRs": cidrs},
                "status": {"addresses": addresses},
            }
        )
    pod_docs = draw(pods(dual_stack))
    docs += pod_docs
    docs += draw(services(pod_docs, dual_stack))
    docs += draw(network_policies())
    if draw(st.integers(0, 2)) == 0:  # the Service range known: its unallocated addresses are dropped
        cidrs = ["10.96.0.0/24"] + (["fd00:96::/112"] if dual_stack else [])
        docs.append(
            {"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR", "metadata": {"name": "kubernetes"},
             "spec": {"cidrs": cidrs}}
        )  # fmt: skip
    scenario = Scenario(docs, dual_stack=dual_stack)
    scenario.detect_local_mode = draw(st.sampled_from(modes))
    scenario.masquerade_all = draw(st.integers(0, 3)) == 0
    if scenario.detect_local_mode in ("BridgeInterface", "InterfaceNamePrefix"):
        bridge = scenario.detect_local_mode == "BridgeInterface"
        scenario.interface = draw(st.sampled_from(["cbr0", "cni0"] if bridge else ["veth", "cali"]))
        key = "bridgeInterface" if bridge else "interfaceNamePrefix"
        docs.append(
            {"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration", "mode": "nftables",
             "detectLocalMode": scenario.detect_local_mode, "detectLocal": {key: scenario.interface}}
        )  # fmt: skip
    drawn = draw(st.lists(packets(docs, dual_stack), min_size=1, max_size=max_packets))
    if scenario.interface:  # arriving on the pods' interface, elsewhere, or on a near miss of its name
        near = scenario.interface[:-1] if bridge else scenario.interface[:-1] + "0"
        names = ["", scenario.pod_iif, "eth0", near, scenario.interface + "1"]
        drawn = [replace(p, iif=draw(st.sampled_from(names))) if p.origin == Origin.NETWORK else p for p in drawn]
    scenario.packets = drawn
    return scenario
