"""Phase 4, nft: the typed IR of one nftables table and its text. Knows nothing of Kubernetes.

`types` (enumerations, the IP address family), `statements` (rules as typed statements, set and map key
types), `ir` (table, chains, rules, sets, elements; validation), `syntax` (the one place the IR becomes
nftables text), `render` (the templates, which call `syntax`), `names` (the naming arithmetic).
"""
