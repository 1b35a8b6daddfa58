"""The compiler's and the renderer's shortcuts write what the general way writes.

- `allow.ipv4_text` (an IPv4 address's text without making the address object) is `ipaddress`'s text,
  and `allow.address_text` of one address is the address's text, in both families.
- `syntax.element_line_list` with the comments quoted by earlier sets (`quoted`, kept across a table's
  sets) and values shared by many elements writes each element as `syntax.element` does.
- A rule several chains share (`Table.append_rule`) is written in each of them as a rule of its own is.
- `Table.add_elements` checks a batch as it checked each element: a bad one is refused, none is added.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netcompile.compile.allow import address_text, ipv4_text
from netcompile.nft.ir import Element, IRError, Set, Table
from netcompile.nft.render import script
from netcompile.nft.statements import ACCEPT, DROP, VERDICTS, Types, goto, member, saddr
from netcompile.nft.syntax import element, element_line_list
from netcompile.nft.types import IPV4, DataType

_EDGES = [0, 1, 255, 256, 65535, 65536, (1 << 24) - 1, 1 << 24, 0x0A800001, 0x7F000001, (1 << 32) - 1]


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.sampled_from(_EDGES), st.integers(0, (1 << 32) - 1)))
def test_ipv4_text_is_the_address_text(number: int) -> None:
    assert ipv4_text(number) == str(IPv4Address(number))
    assert address_text((number, number), 4) == str(IPv4Address(number))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, (1 << 128) - 1))
def test_an_ipv6_point_is_the_address_text(number: int) -> None:
    assert address_text((number, number), 6) == str(IPv6Address(number))


_ATOMS = st.sampled_from(["10.0.0.1", "10.0.0.2", "tcp", "80", "8000-8100", "fd00::1"])
_COMMENTS = st.one_of(st.none(), st.sampled_from(["a", "ns/p ingress[0]", 'say "hi"', "é", "x" * 140]))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.lists(_ATOMS, min_size=1, max_size=3), _COMMENTS, st.integers(0, 3)), min_size=0, max_size=12
    ),
    st.lists(_COMMENTS, max_size=4),
)
def test_element_lines_with_shared_comments_and_values(
    rows: list[tuple[list[str], str | None, int]], earlier: list[str | None]
) -> None:
    """Elements that share comments (quoted by an earlier set, or by an earlier element) and values (a
    verdict, a data map's atoms, or none) are each written as `element` writes it alone."""
    shared_values: list[tuple[str, ...] | tuple[object, ...] | None] = [
        None,
        (goto("chain-a"),),
        (goto("chain-b"),),
        ("10.1.0.1", "8080"),
    ]
    elements = [Element(tuple(key), shared_values[value], comment) for key, comment, value in rows]  # type: ignore[arg-type]
    quoted: dict[str, str] = {}
    element_line_list([Element(("1.2.3.4",), None, c) for c in earlier], "\t", quoted)  # an earlier set
    assert element_line_list(elements, "\t", quoted) == [f"\t{element(e)}," for e in elements]
    assert element_line_list(elements, "\t") == [f"\t{element(e)}," for e in elements]


def _table_with_groups(shared: bool) -> Table:
    table = Table("t")
    table.add_set(Set("peers", Types((DataType.IPV4_ADDR,))))
    table.add_element("peers", Element(("10.0.0.1",)))
    for name in ("g1", "g2", "g3"):
        table.add_chain(name, f"group {name}")
    first_accept = table.add_rule("g1", member(saddr(IPV4), "peers"), ACCEPT)
    first_drop = table.add_rule("g1", DROP, comment="not allowed")
    for name in ("g2", "g3"):
        if shared:
            table.append_rule(name, first_accept)
            table.append_rule(name, first_drop)
        else:
            table.add_rule(name, member(saddr(IPV4), "peers"), ACCEPT)
            table.add_rule(name, DROP, comment="not allowed")
    return table.finish()


def test_a_shared_rule_is_written_in_each_chain_as_its_own_would_be() -> None:
    shared, own = _table_with_groups(True), _table_with_groups(False)
    assert script(shared, ["h"]) == script(own, ["h"])
    assert shared.chains["g3"].rules == own.chains["g3"].rules
    assert shared.chains["g3"].rules[0] is shared.chains["g1"].rules[0]
    with pytest.raises(IRError, match="unknown chain"):
        shared.append_rule("nowhere", shared.chains["g1"].rules[0])


def test_a_shared_rule_naming_an_unknown_set_is_refused_by_finish() -> None:
    table = Table("t")
    table.add_chain("a")
    table.add_chain("b")
    rule = table.add_rule("a", member(saddr(IPV4), "missing"), ACCEPT)
    table.append_rule("b", rule)
    with pytest.raises(IRError, match="chain 'a' refers to unknown set @missing"):
        table.finish()


@pytest.mark.parametrize(
    ("set_name", "bad"),
    [
        ("s", Element(("10.0.0.9", "x y"))),  # an atom that would end the element
        ("s", Element(("10.0.0.9",), ("10.0.0.1",))),  # a value in a set
        ("m", Element(("10.0.0.9",))),  # no value in a map
        ("m", Element(("10.0.0.9",), ("goto c",))),  # not a verdict
    ],
)
def test_a_batch_with_one_bad_element_is_refused_whole(set_name: str, bad: Element) -> None:
    table = Table("t")
    table.add_chain("c")
    table.add_set(Set("s", Types((DataType.IPV4_ADDR, DataType.INET_PROTO))))
    table.add_set(Set("m", Types((DataType.IPV4_ADDR,)), VERDICTS))
    good = [Element(("10.0.0.1", "tcp")) if set_name == "s" else Element(("10.0.0.1",), (goto("c"),))]
    with pytest.raises(IRError):
        table.add_elements(set_name, [*good, bad, *good])
    assert table.sets[set_name].elements == []
    table.add_elements(set_name, good)
    assert table.sets[set_name].elements == good


def test_ipv4_text_refuses_what_is_no_address() -> None:
    for number in (-1, 1 << 32, 1 << 40):
        with pytest.raises(ValueError):
            ipv4_text(number)
