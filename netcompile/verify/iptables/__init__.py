"""The interpreter of the iptables back end's text: what iptables-restore and ipset input do to one packet.

Like `verify.interpreter` for nftables, it reads a closed vocabulary (docs/iptables.md) and refuses anything else.
"""
