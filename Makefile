# make run   the service on embedded defaults (SQLite, SQLite-backed Celery) at http://127.0.0.1:5000/
#            (PORT=8000 for another port; without MAIL_SERVER, mail goes to instance/mail/*.eml)
# make test  the whole suite on PostgreSQL, then again on SQLite (without browser and worker tests)

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
PYTEST := $(VENV)/bin/pytest
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
PYTEST_ARGS ?=
# make run PORT=8000 serves on another port
PORT ?= 5000
SYSTEM_PACKAGES := chromium chromium-driver fonts-noto-cjk poppler-utils
# sudo only when not root and sudo exists
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)

.PHONY: install install-system services db run test test-pg test-sqlite bench lint

install: install-system $(VENV)/.installed

# Reinstalls when a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

# Debian packages: Chromium + driver for browser tests, CJK fonts for PDFs, poppler for PDF checks.
install-system:
	@missing=""; \
	for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "install-system: installing$$missing"; \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi

services:
	@scripts/ensure-services.sh

db: install
	$(FLASK) db upgrade

run: install db
	$(FLASK) seed-demo
	@worker_pid=""; \
	export BASE_URL="$${BASE_URL:-http://127.0.0.1:$(PORT)}"; \
	if [ -z "$$MAIL_SERVER" ]; then \
	  export MAIL_BACKEND="$${MAIL_BACKEND:-file}" MAIL_CAPTURE_DIR="$${MAIL_CAPTURE_DIR:-$(CURDIR)/instance/mail}"; \
	  echo "==> no MAIL_SERVER: mail is written to $$MAIL_CAPTURE_DIR/*.eml"; \
	fi; \
	if [ -f workers/celery_app.py ]; then \
	  PYTHONPATH=$(CURDIR) $(VENV)/bin/celery -A workers.celery_app worker -B --loglevel=info \
	    --schedule instance/celerybeat-schedule & worker_pid=$$!; \
	fi; \
	trap 'if [ -n "$$worker_pid" ]; then kill $$worker_pid 2>/dev/null; wait $$worker_pid 2>/dev/null; fi' EXIT; \
	echo "==> http://127.0.0.1:$(PORT)/  (demo logins above; Ctrl-C stops)"; \
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

# Both runs always happen; the target fails if either fails (pytest's exit 5, "no tests", included).
test: install services
	@rc=0; \
	echo "==> tests on PostgreSQL"; \
	TEST_DATABASE_URL=$(PG_TEST_URL) $(PYTEST) -n 2 $(PYTEST_ARGS) || rc=$$?; \
	echo "==> tests on SQLite (no browser/worker tests)"; \
	TEST_DATABASE_URL=sqlite $(PYTEST) -n 2 -m "not browser and not worker" $(PYTEST_ARGS) || rc=$$((rc ? rc : $$?)); \
	exit $$rc

test-pg: install services
	TEST_DATABASE_URL=$(PG_TEST_URL) $(PYTEST) -n 2 $(PYTEST_ARGS)

test-sqlite: install
	TEST_DATABASE_URL=sqlite $(PYTEST) -m "not browser and not worker" $(PYTEST_ARGS)

bench: install services
	@shopt -s nullglob; files=(bench/*.py); \
	if [ $${#files[@]} -eq 0 ]; then echo "bench: no bench/*.py yet"; exit 0; fi; \
	for f in "$${files[@]}"; do echo "==> $$f"; $(PY) "$$f" || exit 1; done

lint:
	$(VENV)/bin/ruff check .
