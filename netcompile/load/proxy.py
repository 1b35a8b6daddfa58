"""kube-proxy's configuration: a KubeProxyConfiguration (`kubeproxy.config.k8s.io/v1alpha1`), given as an
object of the manifests, inside the `kube-proxy` ConfigMap of `kube-system` (its `config.conf` key, as
kubeadm and kind deploy it), or with `--proxy-config FILE`.

Its fields are checked as kube-proxy checks them (cmd/kube-proxy/app/server.go loads it strictly: an
unknown field is an error; pkg/proxy/apis/config/validation: masqueradeBit in [0, 31], the detectLocalMode
values, clusterCIDR a CIDR or a dual-stack pair, nodePortAddresses CIDRs or `primary`, a non-empty
`detectLocal.bridgeInterface` or `interfaceNamePrefix` for the mode that reads it; netcompile also
refuses names no Linux interface can have, which nftables could not quote). What changes the
rules is kept (model/proxy.py); every other field given is named in one notice, with why it changes
nothing in a node's ruleset.
"""

from __future__ import annotations

import re

from ..errors import Diagnostic, Position, forbidden, invalid
from ..model import IPNetwork
from ..model.proxy import DEFAULT_MASQUERADE_BIT, IFNAMSIZ, PROXY_KIND, ProxyConfig
from .documents import Limits, Piece, YList, YMap
from .schema import Table, unknown_fields
from .source import RawObject, read_documents
from .validation import Field, parse_cidr

CONFIG_MAP = ("kube-system", "kube-proxy")  # kubeadm's and kind's
CONFIG_KEY = "config.conf"

MODES = ("", "iptables", "ipvs", "nftables", "kernelspace")
DETECT_LOCAL = ("ClusterCIDR", "NodeCIDR", "BridgeInterface", "InterfaceNamePrefix", "")

_NOTHING: None = None  # a field with nothing declared inside (a scalar, a list of scalars, a free-form map)


def _table(name: str, *fields: str, **nested: Table) -> Table:
    return Table(name, {**dict.fromkeys(fields, _NOTHING), **nested})


# The fields of v1alpha1 (staging/src/k8s.io/kube-proxy/config/v1alpha1/types.go).
SCHEMA = _table(
    PROXY_KIND,
    "apiVersion", "kind", "featureGates", "logging", "hostnameOverride", "bindAddress", "healthzBindAddress",
    "metricsBindAddress", "bindAddressHardFail", "enableProfiling", "showHiddenMetricsForVersion", "mode",
    "detectLocalMode", "clusterCIDR", "nodePortAddresses", "oomScoreAdj", "configSyncPeriod", "portRange",
    "windowsRunAsService",
    clientConnection=_table("ClientConnectionConfiguration", "kubeconfig", "acceptContentTypes", "contentType", "qps",
                            "burst"),
    iptables=_table("KubeProxyIPTablesConfiguration", "masqueradeBit", "masqueradeAll", "localhostNodePorts",
                    "syncPeriod", "minSyncPeriod"),
    ipvs=_table("KubeProxyIPVSConfiguration", "syncPeriod", "minSyncPeriod", "scheduler", "excludeCIDRs", "strictARP",
                "tcpTimeout", "tcpFinTimeout", "udpTimeout"),
    nftables=_table("KubeProxyNFTablesConfiguration", "masqueradeBit", "masqueradeAll", "syncPeriod", "minSyncPeriod"),
    winkernel=_table("KubeProxyWinkernelConfiguration", "networkName", "sourceVip", "enableDSR", "rootHnsEndpointName",
                     "forwardHealthCheckVip"),
    detectLocal=_table("DetectLocalConfiguration", "bridgeInterface", "interfaceNamePrefix"),
    conntrack=_table("KubeProxyConntrackConfiguration", "maxPerCore", "min", "tcpEstablishedTimeout",
                     "tcpCloseWaitTimeout", "tcpBeLiberal", "udpTimeout", "udpStreamTimeout"),
)  # fmt: skip

# Why the fields netcompile does not read change nothing in the rules it writes.
_WHY_IGNORED = {
    "kube-proxy's process, its API connection and its servers": (
        "featureGates", "logging", "clientConnection", "hostnameOverride", "bindAddress", "healthzBindAddress",
        "metricsBindAddress", "bindAddressHardFail", "enableProfiling", "showHiddenMetricsForVersion", "oomScoreAdj",
        "windowsRunAsService", "portRange",
    ),
    "when rules are synced, not which": ("configSyncPeriod", "syncPeriod", "minSyncPeriod"),
    "conntrack's sysctls, not rules": ("conntrack",),
    "another proxy mode's settings": ("ipvs", "winkernel"),
    "IPv4 NodePorts on localhost exist in iptables mode only; netcompile writes nftables rules": (
        "localhostNodePorts",
    ),
}  # fmt: skip


def config_map_text(raw: RawObject) -> tuple[str, Position, str] | None:
    """The `config.conf` of the `kube-proxy` ConfigMap of `kube-system` (text, where its value starts,
    and its field path), or None for any other ConfigMap (or one without that key)."""
    md, data = raw.body.get("metadata"), raw.body.get("data")
    if not isinstance(md, YMap) or (md.get("namespace"), md.get("name")) != CONFIG_MAP or not isinstance(data, YMap):
        return None
    text = data.get(CONFIG_KEY)
    if not isinstance(text, str):
        return None
    return text, data.position(CONFIG_KEY), f"data[{CONFIG_KEY}]"


def read_embedded(
    text: str, where: Position, piece: Piece | None, limits: Limits, errors: list[Diagnostic]
) -> list[YMap]:
    """The documents of a ConfigMap's `config.conf`, placed where they stand in the file: a block scalar
    (`config.conf: |`) starts on the next line, indented as that line is (`piece`: the piece of the file
    the ConfigMap was read from). A value of any other form is placed where it starts."""
    first_line, indent = where.line, 0
    lines = piece.text.split("\n") if piece is not None else []
    index = where.line - piece.first_line if piece is not None else -1
    line_text = lines[index] if 0 <= index < len(lines) else ""
    if line_text[where.col - 1 : where.col] in ("|", ">"):
        body = next((line for line in lines[index + 1 :] if line.strip()), "")
        first_line, indent = where.line + 1, len(body) - len(body.lstrip(" "))
    documents = [doc for doc, _ in read_documents(Piece(where.file, text, first_line), limits, errors)]
    for doc in documents:
        _shift(doc, indent)
    return documents


def _shift(value: object, columns: int) -> None:
    """Move every position under `value` right by `columns` (the block scalar's indentation)."""
    if not columns:
        return
    if isinstance(value, YMap):
        value.pos += columns
        value.positions = {key: packed + columns for key, packed in value.positions.items()}
        for item in value.values():
            _shift(item, columns)
    elif isinstance(value, YList):
        value.pos += columns
        value.positions = [packed + columns for packed in value.positions]
        for item in value:
            _shift(item, columns)


def parse_proxy_config(raw: RawObject, root: Field, source: str, strict: bool = True) -> ProxyConfig | None:
    """A KubeProxyConfiguration, checked as kube-proxy checks it (strict: unknown fields are errors)."""
    for unknown in unknown_fields(raw.body, SCHEMA) if strict else ():
        path = f"{root.path}.{unknown.path}" if root.path else unknown.path
        root.report.add(unknown.position, path, unknown.message)
    mode = root.child("mode").choice(MODES, default="") or ""
    if mode == "kernelspace":
        root.child("mode").error(invalid(mode, "kernelspace is kube-proxy's mode on Windows: no node ruleset to write"))
    section = root.child("nftables" if mode == "nftables" else "iptables")
    masquerade_all = bool(section.child("masqueradeAll").boolean(default=False)) if section.is_map() else False
    bit_f = section.child("masqueradeBit")
    bit = bit_f.integer() if bit_f.present else DEFAULT_MASQUERADE_BIT
    if bit is not None and not 0 <= bit <= 31:
        bit_f.error(invalid(bit, "must be within the range [0, 31]"))
    detect = _detect_local(root)
    cidrs = _cluster_cidrs(root.child("clusterCIDR"))
    nodeports, primary = _nodeport_addresses(root.child("nodePortAddresses"))
    if root.report.count or bit is None or detect is None:
        return None
    ignored = [f"{', '.join(given)} ({why})" for why, given in _ignored(raw.body, mode).items() if given]
    mode_, bridge, prefix = detect
    return ProxyConfig(
        raw.position, source, mode, cidrs, mode_, nodeports, primary, masquerade_all, bit, tuple(ignored),
        bridge_interface=bridge, interface_name_prefix=prefix,
    )  # fmt: skip


_READ = frozenset({"apiVersion", "kind", "mode", "detectLocalMode", "detectLocal", "clusterCIDR", "nodePortAddresses"})


def _ignored(body: YMap, mode: str) -> dict[str, list[str]]:
    """The fields given that change nothing in the rules, by why (`_WHY_IGNORED`); in the section of the
    proxy mode (`nftables`, else `iptables`), all but masqueradeAll and masqueradeBit."""
    given = [key for key, value in body.items() if value is not None and key not in _READ]
    own = "nftables" if mode == "nftables" else "iptables"
    section = body.get(own)
    if own in given:
        given.remove(own)
    if isinstance(section, YMap):
        given += [k for k, v in section.items() if v is not None and k not in ("masqueradeAll", "masqueradeBit")]
    other = "iptables" if own == "nftables" else "nftables"
    out: dict[str, list[str]] = {why: [f for f in fields if f in given] for why, fields in _WHY_IGNORED.items()}
    if other in given:
        out["another proxy mode's settings"].append(other)
    return out


def _detect_local(root: Field) -> tuple[str, str, str] | None:
    """detectLocalMode, with the bridge or the prefix of `detectLocal` when the mode reads one (kube-proxy's
    validateDetectLocalConfiguration: it must not be empty)."""
    f = root.child("detectLocalMode")
    mode = f.choice(DETECT_LOCAL, default="") or ""
    if f.present and mode not in DETECT_LOCAL:
        return None
    detect = root.child("detectLocal")
    bridge = _interface(detect, "bridgeInterface") if mode == "BridgeInterface" else ""
    prefix = _interface(detect, "interfaceNamePrefix") if mode == "InterfaceNamePrefix" else ""
    if bridge is None or prefix is None:
        return None
    return mode or "ClusterCIDR", bridge, prefix


# An interface name netcompile writes: printable ASCII without what a Linux interface name may not hold
# (dev_valid_name: `/`, `:`, whitespace), what nftables strings cannot (quotes, backslashes), and `*`,
# which nftables reads as a wildcard.
_IFNAME = re.compile(r"[!-~]+")
_BAD_IFNAME = re.compile(r'[/:"\\*]')


def _interface(detect: Field, key: str) -> str | None:
    f = detect.child(key)
    if detect.present and not detect.is_map():
        return None  # reported where detectLocal is read as an object
    text = f.string() if f.present else ""
    if text is None:
        return None  # not a string: reported
    if not text:
        f.error(invalid(text, "must not be empty"))
        return None
    if len(text) > IFNAMSIZ or text in (".", "..") or not _IFNAME.fullmatch(text) or _BAD_IFNAME.search(text):
        f.error(invalid(text, f"must be a network interface name: at most {IFNAMSIZ} printable ASCII characters, "
                        "without '/', ':', quotes, backslashes or '*'"))  # fmt: skip
        return None
    return text


_SEPARATOR = re.compile(r"\s*,\s*")


def _cluster_cidrs(f: Field) -> tuple[IPNetwork, ...]:
    """clusterCIDR: one CIDR, or a dual-stack pair separated by a comma (validateKubeProxyConfiguration)."""
    text = f.string()
    if not text:
        return ()
    parts = _SEPARATOR.split(text.strip())
    nets = [parse_cidr(part) for part in parts]
    if any(n is None for n in nets):
        f.error(invalid(text, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"))
        return ()
    if len(nets) > 2 or len({n.version for n in nets if n}) != len(nets):
        dual = "only one CIDR allowed or a valid DualStack CIDR (e.g. 10.100.0.0/16,fde4:8dba:82e1::/48)"
        f.error(invalid(text, dual))
        return ()
    return tuple(n for n in nets if n)


def _nodeport_addresses(f: Field) -> tuple[tuple[IPNetwork, ...], bool]:
    """nodePortAddresses: CIDRs, or the single string `primary`."""
    items = list(f.items())
    texts = [item.string(required_=True) for item in items]
    if "primary" in texts:
        if len(items) > 1:
            f.error(forbidden("`primary` may only be given alone"))
        return (), True
    nets: list[IPNetwork] = []
    for item, text in zip(items, texts, strict=True):
        if text is None:
            continue
        net = parse_cidr(text)
        if net is None:
            item.error(invalid(text, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64), or 'primary'"))
        else:
            nets.append(net)
    return tuple(nets), False


def proxy_summary(config: ProxyConfig) -> str:
    """What netcompile takes from a configuration, in one line (`mode nftables, clusterCIDR 10.244.0.0/16, ...`)."""
    parts = [f"mode {config.mode or '(default)'}"]
    if config.cluster_cidrs:
        parts.append(f"clusterCIDR {','.join(str(c) for c in config.cluster_cidrs)}")
    parts.append(f"detectLocalMode {config.detect_local_mode}")
    if config.detect_local_mode == "BridgeInterface":
        parts[-1] += f" (bridgeInterface {config.bridge_interface})"
    elif config.detect_local_mode == "InterfaceNamePrefix":
        parts[-1] += f" (interfaceNamePrefix {config.interface_name_prefix})"
    if config.nodeport_primary or config.nodeport_addresses:
        shown = "primary" if config.nodeport_primary else ",".join(str(n) for n in config.nodeport_addresses)
        parts.append(f"nodePortAddresses {shown}")
    parts.append(f"masqueradeAll {str(config.masquerade_all).lower()}, masqueradeBit {config.masquerade_bit}")
    return ", ".join(parts)
