"""Phase 4, nft: the typed IR of one nftables table (names, sets, maps, chains, rules), the naming
arithmetic, and rendering through the templates. Knows nothing of Kubernetes."""
