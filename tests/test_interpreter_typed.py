"""The interpreter's reading of addresses, prefixes and ranges (netcompile.verify.interpreter.typed).

Addresses are read by the C library's `inet_pton`, and `ipaddress` decides what it refuses. These tests
hold the result to `ipaddress` alone (the interpreter's reading before `inet_pton`, kept here as the
oracle): every word, well formed or not, must be accepted or refused alike, with the same interval.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netcompile.verify.interpreter import InterpreterError, Ruleset
from netcompile.verify.interpreter.typed import address, typed_value
from netcompile.verify.interpreter.vocabulary import IPV4, IPV6, Interval

Reading = tuple[Interval, bool] | None  # None: refused


def by_ipaddress(text: str, dtype: str) -> Reading:
    """An address, prefix (host bits ignored) or range of `dtype` as `ipaddress` alone reads it."""
    version = 4 if dtype == IPV4 else 6
    try:
        if "/" in text:
            net = ipaddress.ip_network(text, strict=False)
            if net.version != version:
                return None
            return (int(net.network_address), int(net.broadcast_address)), True
        if "-" in text:
            lo_text, hi_text = text.split("-", 1)
            lo, hi = ipaddress.ip_address(lo_text), ipaddress.ip_address(hi_text)
            if lo.version != version or hi.version != version or int(lo) > int(hi):
                return None
            return (int(lo), int(hi)), True
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if addr.version != version:
        return None
    return (int(addr), int(addr)), False


def by_interpreter(text: str, dtype: str) -> Reading:
    try:
        return typed_value(text, dtype)
    except ValueError:
        return None


# --- words that look like addresses: well formed, and each way of getting one wrong -----------------

OCTETS = st.one_of(
    st.integers(0, 255).map(str),
    st.sampled_from(["", "0", "00", "01", "007", "099", "255", "256", "300", "999", "1000", "0x1", "a", "٣"]),
    st.text("0123456789", min_size=1, max_size=4),
)
V4 = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.lists(OCTETS, min_size=1, max_size=6).map(".".join),
)
HEXTETS = st.one_of(
    st.integers(0, 0xFFFF).map(lambda n: f"{n:x}"),
    st.integers(0, 0xFFFF).map(lambda n: f"{n:04X}"),
    st.text("0123456789abcdefABCDEFg", max_size=6),
)


@st.composite
def v6_words(draw: st.DrawFn) -> str:
    """Groups with perhaps a `::`, perhaps ending in dotted quads (well formed or not)."""
    if draw(st.booleans()):
        parsed = draw(st.ip_addresses(v=6))
        return str(parsed) if draw(st.booleans()) else parsed.exploded
    groups = draw(st.lists(HEXTETS, min_size=0, max_size=9))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(groups)))
        groups = [*groups[:at], "", *groups[at:]] if groups else ["", ""]
        if at == 0:
            groups.insert(0, "")
    text = ":".join(groups)
    if draw(st.booleans()):
        text += ":" + draw(V4) if text else "::" + draw(V4)
    return text


ADDRESSES = st.one_of(V4, v6_words(), st.text("0123456789abcdef.:", max_size=18))
LENGTHS = st.one_of(
    st.integers(0, 129).map(str),
    st.sampled_from(["", "08", "032", "0", "00", "129", "1e1", "-1", "255.0.0.0", "0.0.0.255", "255.0.255.0"]),
    st.text("0123456789", min_size=1, max_size=4),
)


@st.composite
def words(draw: st.DrawFn) -> str:
    """An address, a prefix, a range, or text made of the characters addresses are made of."""
    kind = draw(st.sampled_from(["address", "prefix", "range", "noise"]))
    if kind == "address":
        return draw(ADDRESSES)
    if kind == "prefix":
        return f"{draw(ADDRESSES)}/{draw(LENGTHS)}"
    if kind == "range":
        return f"{draw(ADDRESSES)}-{draw(ADDRESSES)}"
    return draw(st.text("0123456789abcdefx.:/-", max_size=24))


@settings(max_examples=3000, deadline=None)
@given(words(), st.sampled_from([IPV4, IPV6]))
def test_addresses_prefixes_and_ranges_read_as_ipaddress_reads_them(text: str, dtype: str) -> None:
    assert by_interpreter(text, dtype) == by_ipaddress(text, dtype), text


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)))
def test_every_address_as_nft_prints_it(parsed: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    """nft prints addresses compressed (IPv6 `::`, IPv4-mapped as dotted quads): each is its integer."""
    assert address(str(parsed), parsed.version) == int(parsed)
    assert address(parsed.exploded, parsed.version) == int(parsed)


FORMS = [
    # (word, family): the forms nft prints, and the near misses around them
    ("10.0.0.1", IPV4),
    ("0.0.0.0", IPV4),
    ("255.255.255.255", IPV4),
    ("10.0.0.01", IPV4),  # leading zero: refused by both
    ("10.0.0.256", IPV4),
    ("10.0.0", IPV4),
    ("10.0.0.1.2", IPV4),
    ("10.0.0.", IPV4),
    ("1", IPV4),
    ("0x0a.0.0.1", IPV4),
    ("10.0.0.0/8", IPV4),
    ("10.1.2.3/8", IPV4),  # host bits: ignored
    ("10.0.0.0/08", IPV4),  # a leading zero in the length: ipaddress takes it
    ("10.0.0.0/33", IPV4),
    ("10.0.0.0/", IPV4),
    ("10.0.0.0/255.0.0.0", IPV4),  # a netmask: ipaddress takes it
    ("10.0.0.0/0.255.255.255", IPV4),  # a hostmask too
    ("10.0.0.0/8/8", IPV4),
    ("10.0.0.5-10.0.0.9", IPV4),
    ("10.0.0.9-10.0.0.5", IPV4),
    ("10.0.0.5-", IPV4),
    ("fd00::1", IPV4),
    ("fd00::1", IPV6),
    ("::", IPV6),
    ("::1", IPV6),
    ("::ffff:10.0.0.1", IPV6),
    ("::ffff:10.0.0.01", IPV6),
    ("64:ff9b::10.0.0.1", IPV6),
    ("1:2:3:4:5:6:7:8", IPV6),
    ("1:2:3:4:5:6:7::", IPV6),
    ("::2:3:4:5:6:7:8", IPV6),
    ("1::2:3:4:5:6:7:8", IPV6),
    ("1:2:3:4:5:6:7:8:9", IPV6),
    ("00001::", IPV6),
    ("1:::2", IPV6),
    (":1::", IPV6),
    ("FD00::ABCD", IPV6),
    ("fd00::/64", IPV6),
    ("fd00::1/128", IPV6),
    ("fd00::/129", IPV6),
    ("fd00::/ffff::", IPV6),
    ("fd00::5-fd00::9", IPV6),
    ("10.0.0.1", IPV6),
    ("10.0.0.0/8", IPV6),
]


@pytest.mark.parametrize(("text", "dtype"), FORMS, ids=[f"{t}:{d}" for t, d in FORMS])
def test_each_form_reads_as_ipaddress_reads_it(text: str, dtype: str) -> None:
    assert by_interpreter(text, dtype) == by_ipaddress(text, dtype)


def test_a_refused_address_is_an_error_with_its_line() -> None:
    text = "table inet t {\nset s {\ntype ipv4_addr\nflags interval\nelements = {\n10.0.0.0/8,\n10.0.0.01,\n}\n}\n}\n"
    with pytest.raises(InterpreterError) as caught:
        Ruleset.parse(text)
    assert (caught.value.line, caught.value.message) == (7, "invalid ipv4_addr value '10.0.0.01'")
