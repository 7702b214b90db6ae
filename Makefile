# Slipway: `make run` starts the portal, `make test` runs the whole suite. See README.md.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
REQ_HASH := $(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
STAMP := $(VENV)/.installed-$(REQ_HASH)

.PHONY: run test test-unit test-integration test-e2e test-reliability test-security test-security-deep lint stack-up stack-down stack-status bench bench-environments bench-copy-redis bench-copy-s3 bench-copy-mariadb bench-logs bench-chaos bench-sleep venv

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

run: venv
	devstack/system-deps.sh run
	$(PY) manage.py runportal

test: venv
	devstack/system-deps.sh
	$(PY) -m devstack up
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

test-unit: venv
	$(PY) -m pytest -m unit -q

test-integration: venv
	$(PY) -m pytest -m integration

test-e2e: venv
	$(PY) -m pytest -m e2e

test-reliability: venv
	$(PY) -m pytest -m reliability

test-security: venv
	$(PY) -m pytest -m security

# The security suite with many more generated examples per property (minutes, not part of `make test`).
test-security-deep: venv
	SLIPWAY_HYPOTHESIS_PROFILE=deep $(PY) -m pytest -m security

lint: venv
	$(VENV)/bin/ruff check .

stack-up: venv
	$(PY) -m devstack up

stack-down: venv
	$(PY) -m devstack down

stack-status: venv
	$(PY) -m devstack status

bench: venv
	$(PY) -m devstack up postgres
	$(PY) bench/audit_pagination.py

bench-environments: venv
	$(PY) -m devstack up postgres redis kube
	$(PY) bench/environment_create.py

bench-copy-redis: venv
	$(PY) bench/copy_redis.py

bench-copy-s3: venv
	$(PY) -m devstack up moto
	$(PY) bench/copy_s3.py

bench-copy-mariadb: venv
	$(PY) -m devstack up mariadb
	$(PY) bench/copy_mariadb.py --size-mb $${SIZE_MB:-1024}

bench-logs: venv
	$(PY) -m devstack up postgres kube
	$(PY) bench/logs_stream.py

bench-chaos: venv
	$(PY) -m devstack up postgres redis kube
	$(PY) bench/chaos_recovery.py

bench-sleep: venv
	$(PY) -m devstack up postgres redis kube
	$(PY) bench/sleep_wake.py

# Issue 18, part 5 (benchpath): list pages under load, and idle websockets' memory.
.PHONY: bench-load bench-websockets
bench-load: venv
	$(PY) -m devstack up postgres redis kube
	$(PY) bench/load_pages.py

bench-websockets: venv
	$(PY) -m devstack up postgres redis kube
	$(PY) bench/websocket_memory.py
