"""Phase 3, compile: Services and NetworkPolicies into the IR of one node's nftables table. This is the
compiler's own reading of Kubernetes semantics; the proof (netcompile.verify) has its own."""
