# Two entry points for a fresh Debian 12 machine (run as root, or with sudo available):
#   make demo   set up, compile examples/ and validate the result with libnftables
#   make test   set up and run the whole test suite (what CI runs)
# Every step is idempotent. Python packages come from uv.lock, exactly (make lock upgrades them).

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
SYSPY := /usr/bin/python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# gcc, libyaml-dev and python3-dev build netcompile's C reader of plain YAML (optional, but CI tests it).
# chromium renders the pictures (diff --format html) in tests/test_pictures.py.
# iptables and ipset: the second back end (--backend iptables) is validated, applied and run in the lab for real.
DEBS := nftables python3-nftables python3-venv iproute2 conntrack gcc libyaml-dev python3-dev chromium iptables ipset
# uv, in a virtualenv of its own, installed by pip from tools/uv.txt (pinned, with hashes).
UVENV := .uv
UV := $(UVENV)/bin/uv
# uv builds .venv from Debian's Python (the nftables binding is built for it) and never downloads one.
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON := $(SYSPY)
export UV_PYTHON_DOWNLOADS := never
export UV_NO_PROGRESS := 1

.PHONY: demo test setup debs lock lock-uv schema lint golden-update bench clean

demo: setup
	$(VENV)/bin/netcompile compile examples/ -o build/examples.nft
	$(VENV)/bin/netcompile check build/examples.nft
	@echo "compiled examples/ to build/examples.nft ($$(wc -l < build/examples.nft) lines), libnftables accepts it"

test: setup
	$(PY) -m ruff check netcompile tests bench tools
	$(PY) -m mypy
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest $(PYTEST_ARGS)

# `uv sync --locked` fails when uv.lock does not match pyproject.toml (run make lock), and otherwise makes
# .venv exactly the lock: it installs what is missing, reinstalls what differs and removes what the lock
# does not name (a hand-installed package). When nothing differs it changes nothing and takes a moment.
# --compile-bytecode, and compileall of netcompile itself (installed editable, which compiles nothing): every
# command then starts from bytecode, as an installed copy does, not from source where PYTHONDONTWRITEBYTECODE
# is set (0.04 s of typer, click and jinja2 alone per command); both only compile what changed.
setup: debs $(UV)
	$(UV) sync --locked --quiet --compile-bytecode || { echo "make setup: .venv could not be made exactly uv.lock (if uv.lock does not match pyproject.toml: make lock)" >&2; exit 1; }
	ln -sfn /usr/lib/python3/dist-packages/nftables "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/nftables"
	$(PY) -m compileall -q netcompile
	$(PY) -c 'import nftables, netcompile'
	$(PY) -c 'import netcompile.load._fastyaml' || echo "note: the C reader of YAML was not built; netcompile reads YAML the Python way (slower)"

# Debian packages: installed only when one is missing, so a second run does not touch apt.
debs:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(UV): tools/uv.txt | debs
	[ -x $(UVENV)/bin/python ] || $(SYSPY) -m venv $(UVENV)
	$(UVENV)/bin/python -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r tools/uv.txt
	touch $(UV)

# The one deliberate step that upgrades: every package of uv.lock to its newest release, then the whole
# suite. Review and commit the diff of uv.lock (and of pyproject.toml's build constraint, if raised).
lock: $(UV)
	$(UV) lock --upgrade
	$(MAKE) test

# Raise uv itself: make lock-uv UV_VERSION=0.14.0
lock-uv: $(UV)
	@[ -n "$(UV_VERSION)" ] || { echo "usage: make lock-uv UV_VERSION=X.Y.Z"; exit 2; }
	{ sed -n '1,3p' tools/uv.txt; echo "uv==$(UV_VERSION)" | $(UV) pip compile - --generate-hashes --no-header --quiet; } > tools/uv.txt.new
	mv tools/uv.txt.new tools/uv.txt
	$(MAKE) test

# The Kubernetes API schema that strict loading checks fields against: netcompile/load/schema/k8s-vX.Y.Z.json,
# from that release's OpenAPI definitions (kubernetes-validate's wheel, fetched by uv into its cache;
# nothing installed). A new Kubernetes release: make schema KUBERNETES_VERSION=X.Y.Z, then make test.
KUBERNETES_VERSION ?= 1.37.0
schema: $(UV)
	$(SYSPY) tools/gen_schema.py --version $(KUBERNETES_VERSION) --uv $(UV)

lint: setup
	$(PY) -m ruff check netcompile tests bench tools
	$(PY) -m mypy
	$(VENV)/bin/lint-imports --no-cache

golden-update: setup
	$(VENV)/bin/netcompile golden golden/ --update

bench: setup
	$(PY) bench/services.py
	$(PY) bench/policies.py
	$(PY) bench/matrix.py
	$(PY) bench/simulated.py
	$(PY) bench/compare.py
	$(PY) bench/delta.py && $(PY) bench/nodes.py && $(PY) bench/dataplane.py
	$(PY) bench/iptables.py && $(PY) bench/dataplane_backends.py

clean:
	rm -rf $(VENV) $(UVENV) build .mypy_cache .pytest_cache .ruff_cache .hypothesis netcompile/load/*.so
