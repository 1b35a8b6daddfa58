"""Addresses and CIDRs whose parts hold thousands of digits: refused with a message, never a traceback
(Python's int() refuses texts of more than 4 300 digits), and zeros without end still read as zero, as
Kubernetes' sloppy parser reads leading zeros."""

from __future__ import annotations

from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest

from netcompile.errors import InputError
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
