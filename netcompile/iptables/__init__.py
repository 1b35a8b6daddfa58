"""The iptables back end: the nftables IR `Table` rendered as iptables-restore, ip6tables-restore and ipset input.

A second renderer, not a second compiler: it lowers the same IR the nftables renderer writes (docs/iptables.md).
"""
