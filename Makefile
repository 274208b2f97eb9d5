# Quorum — the two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Every package pinned, dev tools included: what `make install` (and so CI) installs.
LOCK := requirements.lock

.PHONY: run test install lock lint typecheck worker prod messages bench clean

# Re-run whenever the lock (or the project's own metadata) changes. The lock holds every
# dependency, so the project itself goes in without resolving anything (--no-deps).
$(STAMP): $(LOCK) pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## make lock: re-resolve requirements.lock after a change to pyproject.toml's dependencies,
## keeping every other pin; `make lock LOCK_ARGS=--upgrade` moves everything to the newest
## release within pyproject's bounds (or --upgrade-package NAME, one). Resolved for the
## machines we run on (CPython 3.11, Linux x86_64) whatever machine runs it.
lock: install
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --quiet \
	  --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	  --custom-compile-command "make lock" --output-file $(LOCK) $(LOCK_ARGS)

# The database for run and test: DATABASE_URL when set (CI sets it), else the local
# PostgreSQL at 127.0.0.1:5432, else the embedded one in .pgdata, started on first use and
# left running (council/devdb.py prints the URL; `make clean` stops it).
WITH_DB := export DATABASE_URL="$${DATABASE_URL:-$$($(PY) council/devdb.py)}" && test -n "$$DATABASE_URL"

## make run: install, migrate, load the demo council, print the logins, serve :8000.
run: install
	@fc-list :lang=zh 2>/dev/null | grep -q . || echo "WARNING: no font with Chinese glyphs:" \
	  "Chinese PDF minutes will say so. Install one: sudo apt-get install fonts-noto-cjk"
	$(WITH_DB) && $(PY) manage.py migrate --noinput && $(PY) manage.py seed_demo \
	  && $(PY) manage.py runserver 127.0.0.1:8000

## make test: install and run the whole suite, on PostgreSQL (the same one as make run),
## on every core: one pytest-xdist worker per core, each with its own test database, a
## test file's tests kept on one worker (they share its browser). PYTEST_ARGS replaces
## these options: `make test PYTEST_ARGS=tests/test_rules.py` runs one file in-process.
PYTEST_ARGS ?= -n auto --dist loadfile
test: install
	$(WITH_DB) && $(PY) -m pytest $(PYTEST_ARGS)

## make worker: a real Celery worker with beat (deadlines, reminders) against Redis.
## Run the web process with the same CELERY_BROKER_URL so that it queues instead of
## running tasks in-process.
worker: install
	CELERY_BROKER_URL="$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}" \
	  $(VENV)/bin/celery -A council worker --beat --queues celery,pdf --loglevel=INFO \
	  --schedule "$${TMPDIR:-/tmp}/quorum-beat-schedule"

## make prod: the production-like stack (gunicorn + worker + beat, Procfile) on local
## PostgreSQL and Redis. Needs DEBUG=false, SECRET_KEY, ALLOWED_HOSTS, CACHE_URL,
## CELERY_BROKER_URL, DATABASE_URL (the application's role, quorum_app) and
## MIGRATE_DATABASE_URL (the tables' owner, quorum_owner) in the environment (README,
## "Running it for real"). The owner migrates and grants; the site runs as the app role,
## which cannot rewrite the ledger, and the last check refuses to start otherwise.
prod: install
	@test -n "$$MIGRATE_DATABASE_URL" || { echo "make prod: set MIGRATE_DATABASE_URL to the owner role's URL (docs/deploy.md, Database roles)" >&2; exit 1; }
	$(PY) manage.py check --deploy --fail-level WARNING
	DATABASE_URL="$$MIGRATE_DATABASE_URL" $(PY) manage.py migrate --noinput
	DATABASE_URL="$$MIGRATE_DATABASE_URL" $(PY) manage.py grant_app_role \
	  "$$($(PY) -c 'import sys, urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).username)' "$$DATABASE_URL")"
	$(PY) manage.py check --deploy --database default --fail-level WARNING
	$(PY) manage.py collectstatic --noinput -v0
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho start

## make bench: the benchmark suite (about 8 minutes; needs PostgreSQL, Redis, wrk and
## pgbench: apt-get install wrk postgresql-client). Writes docs/performance.md.
bench: install
	$(PY) bench/suite.py $(BENCH_ARGS)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

## make typecheck: mypy with django-stubs and djangorestframework-stubs (pyproject.toml
## says what is checked, and how strictly). The plugins import council.settings, which
## wants a database URL: a dummy one keeps it from looking for, or starting, a database;
## nothing connects to it. DEBUG=true: production settings would want a SECRET_KEY too.
typecheck: install
	DEBUG=true DATABASE_URL=postgresql://unused@127.0.0.1:1/unused $(PY) -m mypy

messages: install
	$(PY) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=.pgdata --ignore=staticfiles
	$(PY) manage.py compilemessages --ignore=.venv --ignore=.pgdata

## make clean: remove the virtualenv, the caches and the development database (.pgdata).
clean:
	test ! -x $(PY) || $(PY) council/devdb.py stop
	rm -rf $(VENV) .pgdata .pytest_cache .ruff_cache .mypy_cache .hypothesis
