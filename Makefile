# Laurel: `make run` to try it, `make test` to prove it. Both start from a bare clone.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/laurel

.PHONY: run test lint install install-dev schema bench clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Laurel needs $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Web on http://127.0.0.1:8000 plus a Celery worker and beat, on SQLite and the filesystem
# broker unless DATABASE_URL / REDIS_URL say otherwise. Ctrl-C stops all three.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py ensure_admin
	@echo
	@echo "  Admin:    http://127.0.0.1:8000/admin/   (login admin / admin)"
	@echo "  API docs: http://127.0.0.1:8000/api/docs/"
	@echo "  API:      http://127.0.0.1:8000/api/v1/  (Authorization: Bearer <a demo key above>)"
	@echo
	@trap 'kill 0' INT TERM EXIT; \
	  $(BIN)/celery -A config worker --loglevel=INFO --concurrency=2 & \
	  $(BIN)/celery -A config beat --loglevel=INFO & \
	  $(BIN)/python manage.py runserver 127.0.0.1:8000 & \
	  wait

# The whole suite on PostgreSQL, then lint, migrations and the OpenAPI schema.
test: install-dev
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m pytest --create-db
	$(MAKE) --no-print-directory lint
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
	  DJANGO_SETTINGS_MODULE=config.settings.test \
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
	rm -rf $(VENV) .run db.sqlite3 staticfiles
