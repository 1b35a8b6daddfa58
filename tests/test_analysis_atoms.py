"""Address atoms (analysis/atoms.py): an address's answer, found by its piece of the address space, is
which CIDRs hold it, as asking each CIDR says."""

from __future__ import annotations

from ipaddress import ip_address

from hypothesis import given
from hypothesis import strategies as st

from netcompile.analysis.atoms import AddressAtoms
from netcompile.model import IPAddress, IPNetwork
from tests.strategies import crowded_networks

# Networks and addresses crowded into small stretches of each family: they overlap, nest and touch.
v4_networks = crowded_networks([0x0A000000], 80, 25)
v6_networks = crowded_networks([0xFD00 << 112], 80, 121, version=6)
networks = st.lists(st.one_of(v4_networks, v6_networks), max_size=12)
addresses = st.lists(
    st.one_of(
        st.integers(0, 200).map(lambda n: ip_address(0x0A000000 - 20 + n)),
        st.integers(0, 200).map(lambda n: ip_address((0xFD00 << 112) - 20 + n)),
    ),
    max_size=40,
)


def asked(atoms: AddressAtoms, address: IPAddress) -> tuple[bool, ...]:
    inside = [n.version == address.version and address in n for n in atoms.cidrs]
    inside.append(any(n.version == address.version and address in n for n in atoms.pod_networks))
    return tuple(inside)


@given(networks, networks, addresses)
def test_an_atom_is_which_cidrs_hold_the_address(
    cidrs: list[IPNetwork], pod_networks: list[IPNetwork], probes: list[IPAddress]
) -> None:
    atoms = AddressAtoms(cidrs, pod_networks)
    for address in probes:
        assert atoms.atom(address) == asked(atoms, address)
