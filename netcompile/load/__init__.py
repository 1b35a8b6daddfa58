"""Phase 1, load: files, folders and stdin (YAML and JSON, with positions) into validated, defaulted model
objects, as the API server would accept them: strict fields against the OpenAPI schema, every error at
once, dangling references reported. `load.manifests.load` is the entry point."""
