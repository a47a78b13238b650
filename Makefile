# Laurel: `make run` to try it, `make test` to prove it. Both start from a bare clone.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# config/embedded.py: start this checkout's embedded PostgreSQL (a wheel; data in
# .run/postgres) for the command after `--`, with DATABASE_URL pointing at it, and stop it
# afterwards; with --redis also a private Redis (REDIS_URL). With DATABASE_URL (run) or
# TEST_DATABASE_URL (test) set it starts no PostgreSQL, with REDIS_URL set no Redis.
EMBEDDED := $(BIN)/python -m config.embedded exec

.PHONY: run serve test check lint install install-dev schema bench clean db-reset

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Laurel needs $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[embedded]"
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Web on http://127.0.0.1:$(PORT) plus a Celery worker and beat (Procfile, under honcho), on the
# embedded PostgreSQL and a private Redis (both from wheels) unless DATABASE_URL / REDIS_URL
# say otherwise. Ctrl-C stops all three, then the servers.
run: install
	@$(EMBEDDED) --redis -- $(MAKE) --no-print-directory serve

# What `make run` runs once the database is up (DATABASE_URL set or the server running).
serve: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py ensure_admin
	@echo
	@echo "  Admin:    http://127.0.0.1:$(PORT)/admin/   (login admin / admin)"
	@echo "  API docs: http://127.0.0.1:$(PORT)/api/docs/"
	@echo "  API:      http://127.0.0.1:$(PORT)/api/v1/  (Authorization: Bearer <a demo key above>)"
	@echo "  Database: $${DATABASE_URL}"
	@echo "  Broker:   $${REDIS_URL:-filesystem (.run/broker)}"
	@echo
	@PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile -e /dev/null -p $(PORT) \
	  || [ $$? -eq 130 ]  # 130: stopped with Ctrl-C

# Delete the embedded PostgreSQL's data (make run loads the demo again on its next start).
db-reset: install
	$(BIN)/python -m config.embedded reset

# The whole suite on PostgreSQL (TEST_DATABASE_URL, or else the embedded server), then lint,
# migrations and the OpenAPI schema.
test: install-dev
	@$(MAKE) --no-print-directory chromium
	@$(EMBEDDED) --url-from TEST_DATABASE_URL -- $(MAKE) --no-print-directory check

# What `make test` runs with DATABASE_URL set to the server to test on.
check: install-dev
	$(BIN)/python -m pytest --create-db
	$(MAKE) --no-print-directory lint
	DATABASE_URL="$${DATABASE_URL%/*}/postgres" DJANGO_SETTINGS_MODULE=config.settings.test \
	  $(BIN)/python manage.py makemigrations --check --dry-run
	$(MAKE) --no-print-directory schema

lint: install-dev
	$(BIN)/ruff check .

schema: install-dev
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py spectacular \
	  --validate --fail-on-warn --file /dev/null

# Debian's headless Chromium for the browser tests (tests/browser, Playwright drives it; its
# own browser download is never used). Installs only when /usr/bin/chromium is missing.
.PHONY: chromium
chromium:
	bash bin/ensure-chromium.sh

# Benchmarks (not part of `make test`): recreates the laurel_bench database, loads it, drives
# gunicorn with wrk next to bare baselines and writes docs/benchmarks.md. See bench/README.md.
bench: install-dev
	bash bench/prereqs.sh
	$(BIN)/python -m bench.run

clean:
	-@test -x $(BIN)/python && $(BIN)/python -m config.embedded stop
	rm -rf $(VENV) .run staticfiles
