# Two entry points for a fresh Debian 12 machine (run as root, or with sudo available):
#   make demo   set up, compile examples/ and validate the result with libnftables
#   make test   set up and run the whole test suite (what CI runs)
# Every step is idempotent.

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
SYSPY := /usr/bin/python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# gcc, libyaml-dev and python3-dev build netcompile's C reader of plain YAML (optional, but CI tests it).
DEBS := nftables python3-nftables python3-venv iproute2 conntrack gcc libyaml-dev python3-dev
STAMP := $(VENV)/.installed

.PHONY: demo test setup debs venv lint golden-update bench clean

demo: setup
	$(VENV)/bin/netcompile compile examples/ -o build/examples.nft
	$(VENV)/bin/netcompile check build/examples.nft
	@echo "compiled examples/ to build/examples.nft ($$(wc -l < build/examples.nft) lines), libnftables accepts it"

test: setup
	$(PY) -m ruff check netcompile tests bench
	$(PY) -m mypy
	$(PY) -m pytest $(PYTEST_ARGS)

setup: debs $(STAMP)

# Debian packages: installed only when one is missing, so a second run does not touch apt.
debs:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# The virtualenv uses Debian's Python, and sees Debian's `nftables` module (and only that one)
# through a symlink: the binding is not published on PyPI.
$(STAMP): pyproject.toml netcompile/_fastyaml.c | debs
	[ -x $(PY) ] || $(SYSPY) -m venv $(VENV)
	ln -sfn /usr/lib/python3/dist-packages/nftables $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/nftables
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -c 'import nftables, netcompile'
	$(PY) -c 'import netcompile._fastyaml' || echo "note: the C reader of YAML was not built; netcompile reads YAML the Python way (slower)"
	touch $(STAMP)

lint: setup
	$(PY) -m ruff check netcompile tests bench
	$(PY) -m mypy

golden-update: setup
	$(VENV)/bin/netcompile golden golden/ --update

bench: setup
	$(PY) bench/services.py

clean:
	rm -rf $(VENV) build .mypy_cache .pytest_cache .ruff_cache .hypothesis netcompile/*.so
