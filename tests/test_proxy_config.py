"""kube-proxy's configuration as input (issue 21.1): a KubeProxyConfiguration in the manifests, in the
kube-proxy ConfigMap of kube-system, or given with --proxy-config; options given override it.

What each honoured field does to the rules is proven elsewhere: the Hypothesis scenarios draw
detectLocalMode and masqueradeAll (tests/test_properties.py), and the golden case svc-kube-proxy-config
(NodeCIDR, masqueradeAll, masqueradeBit, nodePortAddresses: [primary]) is checked against the reference.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcompile.cli import app
from netcompile.errors import InputError
from netcompile.pipeline import CompileArgs, complete, load

NODE = """\
apiVersion: v1
kind: Node
metadata: {name: node-a}
spec: {podCIDRs: [10.244.1.0/24]}
status:
  addresses:
  - {type: InternalIP, address: 192.168.0.1}
  - {type: ExternalIP, address: 198.51.100.1}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: NodePort
  clusterIP: 10.96.0.10
  ports: [{port: 80, nodePort: 30080}]
  selector: {app: web}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, labels: {app: web}}
spec: {nodeName: node-a, containers: [{name: c, image: i}]}
status: {phase: Running, podIP: 10.244.1.5, conditions: [{type: Ready, status: "True"}]}
"""

CONFIG_MAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: kube-proxy
  namespace: kube-system
data:
  kubeconfig.conf: "not read"
  config.conf: |-
    apiVersion: kubeproxy.config.k8s.io/v1alpha1
    kind: KubeProxyConfiguration
{body}
"""


def config_map(body: str) -> str:
    return CONFIG_MAP.format(body=textwrap.indent(textwrap.dedent(body).strip("\n"), "    "))


def direct(body: str) -> str:
    return "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n" + textwrap.dedent(body)


def write(tmp_path: Path, *documents: str) -> Path:
    directory = tmp_path / "input"
    directory.mkdir(exist_ok=True)
    (directory / "cluster.yaml").write_text("---\n".join([NODE, *documents]))
    return directory


def errors(directory: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        load([str(directory)])
    return [str(d) for d in caught.value.diagnostics]


@pytest.mark.parametrize("form", [config_map, direct], ids=["ConfigMap", "KubeProxyConfiguration"])
def test_the_honoured_fields(tmp_path: Path, form: object) -> None:
    body = """\
    mode: nftables
    clusterCIDR: 10.244.0.0/16, fd00:244::/48
    detectLocalMode: NodeCIDR
    nodePortAddresses: [192.168.0.0/16]
    nftables: {masqueradeAll: true, masqueradeBit: 16}
    iptables: {masqueradeAll: false, masqueradeBit: 14}
    """
    objects = load([str(write(tmp_path, form(body)))])  # type: ignore[operator]
    config = objects.proxy_config
    assert config is not None
    assert [str(c) for c in config.cluster_cidrs] == ["10.244.0.0/16", "fd00:244::/48"]
    assert (config.detect_local_mode, config.masquerade_all, config.masquerade_bit) == ("NodeCIDR", True, 16)
    opts = CompileArgs().compile_options(config)
    assert (opts.masquerade_mark, opts.masquerade_all, opts.detect_local_mode) == (0x10000, True, "NodeCIDR")
    assert [str(n) for n in opts.nodeport_addresses] == ["192.168.0.0/16"]
    # iptables' section is another mode's: named among what is not read
    assert any("iptables (another proxy mode's settings)" in notice for notice in objects.notices)
    # and what is read is said: never applied quietly
    read = "kube-proxy's configuration read: mode nftables, clusterCIDR 10.244.0.0/16,fd00:244::/48, detectLocalMode"
    assert any(read in notice and "masqueradeAll true, masqueradeBit 16" in notice for notice in objects.notices)


def test_the_mode_chooses_the_section(tmp_path: Path) -> None:
    body = "mode: iptables\niptables: {masqueradeAll: true, masqueradeBit: 13}\nnftables: {masqueradeBit: 16}\n"
    config = load([str(write(tmp_path, direct(body)))]).proxy_config
    assert config is not None and (config.masquerade_all, config.masquerade_bit) == (True, 13)


def test_an_unknown_field_is_an_error_where_it_stands_in_the_configmap(tmp_path: Path) -> None:
    """The error points into the block scalar: the line in the file, and the column with its indentation."""
    found = errors(write(tmp_path, config_map("nftables:\n  masqueradAll: true\n")))
    lines = (tmp_path / "input" / "cluster.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "masqueradAll" in text)
    column = lines[line - 1].index("true") + 1  # positions are a value's, as everywhere
    assert found == [
        f'{tmp_path}/input/cluster.yaml:{line}:{column}: ConfigMap "kube-system/kube-proxy": '
        'data[config.conf].nftables.masqueradAll: unknown field "masqueradAll", did you mean "masqueradeAll"?'
    ]


BRIDGE = "detectLocalMode: BridgeInterface\ndetectLocal"
PREFIX = "detectLocalMode: InterfaceNamePrefix\ndetectLocal"


@pytest.mark.parametrize(
    ("body", "path", "gist"),
    [
        ("nftables: {masqueradeBit: 32}\nmode: nftables", "nftables.masqueradeBit", "within the range [0, 31]"),
        ("detectLocalMode: Sometimes", "detectLocalMode", 'Unsupported value: "Sometimes"'),
        ("detectLocalMode: BridgeInterface", "detectLocal.bridgeInterface", "must not be empty"),
        ("detectLocalMode: InterfaceNamePrefix\ndetectLocal: {}", "detectLocal.interfaceNamePrefix", "not be empty"),
        (f"{BRIDGE}: {{bridgeInterface: a-bridge-too-long}}", "detectLocal.bridgeInterface", "at most 15 printable"),
        (f"{PREFIX}: {{interfaceNamePrefix: 'veth*'}}", "detectLocal.interfaceNamePrefix", "'*'"),
        (f"{PREFIX}: {{interfaceNamePrefix: 'a b'}}", "detectLocal.interfaceNamePrefix", "printable ASCII"),
        (f"{BRIDGE}: {{bridgeInterface: 'br\u00e9'}}", "detectLocal.bridgeInterface", "printable ASCII"),
        (f"{BRIDGE}: x", "detectLocal", "must be an object"),
        ("clusterCIDR: 10.0.0.0/8,10.1.0.0/16", "clusterCIDR", "DualStack"),
        ("clusterCIDR: 10.0.0.0/33", "clusterCIDR", "valid CIDR"),
        ("nodePortAddresses: [primary, 10.0.0.0/8]", "nodePortAddresses", "alone"),
        ("nodePortAddresses: [10.0.0.300/8]", "nodePortAddresses[0]", "valid CIDR"),
        ("mode: kernelspace", "mode", "Windows"),
        ("mode: userspace", "mode", "Unsupported"),
    ],
)
def test_what_kube_proxy_refuses(tmp_path: Path, body: str, path: str, gist: str) -> None:
    found = errors(write(tmp_path, direct(body + "\n")))
    assert any(f"KubeProxyConfiguration: {path}: " in e and gist in e for e in found), found


@pytest.mark.parametrize(
    ("body", "mode", "bridge", "prefix", "summary"),
    [
        ("detectLocalMode: BridgeInterface\ndetectLocal: {bridgeInterface: cbr0}", "BridgeInterface", "cbr0", "",
         "detectLocalMode BridgeInterface (bridgeInterface cbr0)"),
        ("detectLocalMode: InterfaceNamePrefix\ndetectLocal: {interfaceNamePrefix: veth}", "InterfaceNamePrefix", "",
         "veth", "detectLocalMode InterfaceNamePrefix (interfaceNamePrefix veth)"),
        # the other mode's field is not read (kube-proxy reads the one its mode names)
        ("detectLocalMode: NodeCIDR\ndetectLocal: {bridgeInterface: cbr0}", "NodeCIDR", "", "", "NodeCIDR"),
    ],
)  # fmt: skip
def test_the_interface_modes_are_read(
    tmp_path: Path, body: str, mode: str, bridge: str, prefix: str, summary: str
) -> None:
    objects = load([str(write(tmp_path, config_map(body)))])
    config = objects.proxy_config
    assert config is not None
    assert (config.detect_local_mode, config.bridge_interface, config.interface_name_prefix) == (mode, bridge, prefix)
    assert CompileArgs().compile_options(config).detect_local_mode == mode
    assert any(summary in notice for notice in objects.notices), objects.notices


def test_two_configurations_are_an_error(tmp_path: Path) -> None:
    found = errors(write(tmp_path, direct("mode: nftables\n"), config_map("mode: nftables")))
    assert len(found) == 1 and "a second kube-proxy configuration" in found[0]


def test_another_configmap_is_skipped_as_before(tmp_path: Path) -> None:
    other = CONFIG_MAP.format(body="    clusterCIDR: 10.0.0.0/8").replace("name: kube-proxy", "name: other")
    objects = load([str(write(tmp_path, other))])
    assert objects.proxy_config is None
    assert any("ConfigMap (1)" in notice for notice in objects.notices)


def test_cluster_cidr_mode_without_a_cluster_cidr_tells_no_pods(tmp_path: Path) -> None:
    """As kube-proxy: ClusterCIDR with nothing to tell pods by is its no-op detector; without any
    configuration, netcompile finds the pod networks itself."""
    config = load([str(write(tmp_path, direct("mode: nftables\n")))]).proxy_config
    assert CompileArgs().compile_options(config).detect_local_mode == "None"
    assert CompileArgs(cluster_cidr=("10.244.0.0/16",)).compile_options(config).detect_local_mode == "ClusterCIDR"
    assert CompileArgs().compile_options(None).detect_local_mode == "ClusterCIDR"


runner = CliRunner()


def test_options_given_override_the_configuration(tmp_path: Path) -> None:
    directory = write(tmp_path, direct("mode: nftables\nclusterCIDR: 10.244.0.0/16\nnftables: {masqueradeBit: 16}\n"))
    plain = runner.invoke(app, ["compile", str(directory)])
    assert plain.exit_code == 0, plain.output
    assert "0x00010000" in plain.stdout and "10.244.0.0/16" in plain.stdout
    assert "masqueradeAll" not in plain.stdout
    given = runner.invoke(
        app,
        ["compile", str(directory), "--cluster-cidr", "10.0.0.0/8", "--masquerade-all", "--detect-local-mode", "None"],
    )
    assert given.exit_code == 0, given.output
    assert "10.0.0.0/8" not in given.stdout  # None: the pod-cidrs sets are left empty
    assert 'comment "masqueradeAll"' in given.stdout
    bad = runner.invoke(app, ["compile", str(directory), "--detect-local-mode", "Bridge"])
    assert bad.exit_code == 2 and 'Unsupported value: "Bridge"' in bad.output


def test_proxy_config_file_takes_the_place_of_the_input_s(tmp_path: Path) -> None:
    directory = write(tmp_path, config_map("mode: nftables\nnftables: {masqueradeBit: 16}"))
    (tmp_path / "kube-proxy.yaml").write_text(direct("mode: nftables\nnftables: {masqueradeBit: 12}\n"))
    result = runner.invoke(app, ["compile", str(directory), "--proxy-config", str(tmp_path / "kube-proxy.yaml")])
    assert result.exit_code == 0, result.output
    assert "0x00001000" in result.stdout and "0x00010000" not in result.stdout
    assert "--proxy-config" in result.stderr and "takes its place" in result.stderr
    (tmp_path / "empty.yaml").write_text(NODE)
    missing = runner.invoke(app, ["compile", str(directory), "--proxy-config", str(tmp_path / "empty.yaml")])
    assert missing.exit_code == 2 and "holds no KubeProxyConfiguration" in missing.output


def test_primary_nodeport_addresses(tmp_path: Path) -> None:
    """`nodePortAddresses: [primary]`: the Node's InternalIP, not its ExternalIP (kube-proxy's GetNodeHostIPs);
    trace follows the same addresses through the reference."""
    directory = write(tmp_path, direct("mode: nftables\nnodePortAddresses: [primary]\n"))
    out = runner.invoke(app, ["compile", str(directory)])
    assert out.exit_code == 0, out.output
    assert "192.168.0.1 . tcp . 30080" in out.stdout and "198.51.100.1 . tcp . 30080" not in out.stdout
    for address, delivered in (("192.168.0.1", True), ("198.51.100.1", False)):
        trace = runner.invoke(
            app,
            ["trace", str(directory), "--from", "203.0.113.9", "--to", address, "--port", "30080", "--format", "json"],
        )
        assert trace.exit_code in (0, 1), trace.output
        assert ("10.244.1.5" in trace.stdout) == delivered, trace.stdout


# --- unallocated Service addresses (issue 21.2) ---------------------------------------------------------

SERVICE_CIDR = """\
apiVersion: networking.k8s.io/v1
kind: ServiceCIDR
metadata: {name: kubernetes}
spec: {cidrs: [10.96.0.0/24]}
"""
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: i, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
"""


def trace_outcome(directory: Path, destination: str, *options: str) -> str:
    result = runner.invoke(
        app, ["trace", str(directory), "--from", "203.0.113.9", "--to", destination, "--port", "80", *options]
    )
    assert result.exit_code in (0, 1), result.output
    return result.stdout


@pytest.mark.parametrize(
    ("documents", "options", "dropped"),
    [
        ((SERVICE_CIDR,), (), True),  # a ServiceCIDR of the input
        ((), ("--service-cidr", "10.96.0.0/24"), True),  # the range given
        ((), (), False),  # a snapshot that does not say: untouched, as before
    ],
    ids=["ServiceCIDR", "--service-cidr", "snapshot"],
)
def test_unallocated_service_addresses_are_dropped(
    tmp_path: Path, documents: tuple[str, ...], options: tuple[str, ...], dropped: bool
) -> None:
    directory = write(tmp_path, *documents)
    compiled = runner.invoke(app, ["compile", str(directory), *options])
    assert compiled.exit_code == 0, compiled.output
    assert ("an address of the Service range that no Service holds" in compiled.stdout) == dropped
    assert "no Service holds it: dropped" in trace_outcome(directory, "10.96.0.99", *options) if dropped else True
    assert "10.244.1.5" in trace_outcome(directory, "10.96.0.10", *options)  # the allocated one still works


def test_the_simulated_cluster_knows_its_range(tmp_path: Path) -> None:
    directory = tmp_path / "repo"
    directory.mkdir()
    (directory / "app.yaml").write_text(DEPLOYMENT)
    objects = load([str(directory)])
    assert [str(c) for c in complete(objects).service_cidrs] == ["10.96.0.0/12", "fd00:10:96::/112"]
    assert "no Service holds it" in trace_outcome(directory, "10.96.0.1")


@pytest.mark.parametrize(
    ("spec", "gist"),
    [
        ("{cidrs: []}", "spec.cidrs: Required"),
        ("{cidrs: [10.96.0.0/24, 10.97.0.0/24]}", "spec.cidrs[1]: Invalid value"),
        ("{cidrs: [10.96.0.0/24, 'fd00::/112', 10.97.0.0/24]}", "up to 2 values"),
        ("{cidrs: [nope]}", "spec.cidrs[0]: Invalid value"),
    ],
)
def test_what_the_api_server_refuses_of_a_service_cidr(tmp_path: Path, spec: str, gist: str) -> None:
    text = SERVICE_CIDR.replace("{cidrs: [10.96.0.0/24]}", spec)
    assert any(gist in e for e in errors(write(tmp_path, text))), errors(write(tmp_path, text))
