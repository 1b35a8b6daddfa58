"""Numbers of thousands of digits (Python's int() refuses texts of more than 4 300): addresses and CIDRs
whose parts hold them, and YAML integers, are refused with a message, never a traceback; zeros without end
still read as zero in an address, as Kubernetes' sloppy parser reads leading zeros."""

from __future__ import annotations

import sys
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest

from netcompile.errors import InputError
from netcompile.load import scalars
from netcompile.load.manifests import load
from netcompile.load.validation import parse_cidr, parse_ip

MANY = 5002


def test_a_part_of_thousands_of_digits_is_no_address() -> None:
    assert parse_ip("1" * MANY + ".0.0.1") is None
    assert parse_ip("10.0.0." + "9" * MANY) is None
    assert parse_cidr("10.0.0.0/" + "1" * MANY) is None
    assert parse_cidr("1" * MANY + ".0.0.0/8") is None


def test_zeros_without_end_are_zero() -> None:
    assert parse_ip("0" * MANY + "10.0.0." + "0" * MANY) == ip_address("10.0.0.0")
    assert parse_ip("010.001.2.0003") == ip_address("10.1.2.3")
    assert parse_ip("10.0.0.0256") is None and parse_ip("10.0.0.1000") is None
    assert parse_cidr("10.0.0.0/" + "0" * MANY + "8") == ip_network("10.0.0.0/8")
    assert parse_cidr("10.0.0.0/0") == ip_network("0.0.0.0/0") and parse_cidr("10.0.0.0/000") == ip_network("0.0.0.0/0")
    assert parse_cidr("10.0.0.0/0033") is None and parse_cidr("fd00::/0129") is None


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_pod_at_such_an_address_is_a_message(tmp_path: Path, suffix: str) -> None:
    address = "1" * MANY + "0.244.1.10"
    if suffix == ".json":
        text = (
            '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"}, '
            f'"spec": {{"containers": [{{"name": "c"}}]}}, "status": {{"podIPs": [{{"ip": "{address}"}}]}}}}'
        )
    else:
        text = (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}\n"
            f"status: {{podIP: '{address}'}}\n"
        )
    path = tmp_path / f"pod{suffix}"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as raised:
        load([str(path)])
    messages = [str(d) for d in raised.value.diagnostics]
    assert len(messages) == 1 and "must be a valid IP address" in messages[0], messages


def test_a_yaml_integer_of_thousands_of_digits_is_its_text() -> None:
    """As PyYAML's constructor leaves an int it cannot make (`scalars.construct`): the field's check then
    says what is wrong; an integer int() reads is still an int, whatever the process's limit."""
    long = "1" * MANY
    assert scalars.plain_value(long) == long and scalars.plain_value("-" + long) == "-" + long
    assert scalars.plain_value("1" * 640) == int("1" * 640) and scalars.plain_value("80") == 80
    limit = sys.get_int_max_str_digits()
    try:
        sys.set_int_max_str_digits(0)  # no limit: read as the int it is
        assert scalars.quick_value("7" * MANY) == int("7" * MANY)
    finally:
        sys.set_int_max_str_digits(limit)


@pytest.mark.parametrize("style", ["block", "flow", "anchored"])  # the C reader, and PyYAML's (an anchor)
def test_a_port_of_thousands_of_digits_is_a_message(tmp_path: Path, style: str) -> None:
    number = "9" * MANY
    ports = {
        "block": f"    ports:\n    - containerPort: {number}\n",
        "flow": f"    ports: [{{containerPort: {number}}}]\n",
        "anchored": f"    ports: &p\n    - containerPort: {number}\n",
    }[style]
    text = f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: c\n{ports}"
    path = tmp_path / "pod.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as raised:
        load([str(path)])
    messages = [str(d) for d in raised.value.diagnostics]
    assert len(messages) == 1 and "spec.containers[0].ports[0].containerPort: Invalid value" in messages[0]
    assert messages[0].startswith(f"{path}:{7 if style == 'flow' else 8}:")
