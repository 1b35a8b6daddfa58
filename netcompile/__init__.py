"""netcompile: compile Kubernetes Services and NetworkPolicies into a proven nftables ruleset."""

__version__ = "0.2.0"
