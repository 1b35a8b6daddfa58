"""Jinja2 templates of nftables syntax, shipped inside the package as `netcompile.templates`."""
