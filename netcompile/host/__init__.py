"""The host: libnftables (check, apply, delete) and network namespaces; the only code that changes the
machine netcompile runs on."""
