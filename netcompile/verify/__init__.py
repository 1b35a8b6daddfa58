"""The proof: the reference evaluator (Kubernetes semantics straight from the model objects) and the
interpreter of the emitted nftables text, which must agree on every packet. Shares nothing with
netcompile.compile but the model objects."""
