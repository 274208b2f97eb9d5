# Quorum — the two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test install lint worker prod messages bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The database for run and test: DATABASE_URL when set (CI sets it), else the local
# PostgreSQL at 127.0.0.1:5432, else the embedded one in .pgdata, started on first use and
# left running (council/devdb.py prints the URL; `make clean` stops it).
WITH_DB := export DATABASE_URL="$${DATABASE_URL:-$$($(PY) council/devdb.py)}" && test -n "$$DATABASE_URL"

## make run: install, migrate, load the demo council, print the logins, serve :8000.
run: install
	$(WITH_DB) && $(PY) manage.py migrate --noinput && $(PY) manage.py seed_demo \
	  && $(PY) manage.py runserver 127.0.0.1:8000

## make test: install and run the whole suite, on PostgreSQL (the same one as make run).
test: install
	$(WITH_DB) && $(PY) -m pytest $(PYTEST_ARGS)

## make worker: a real Celery worker with beat (deadlines, reminders) against Redis.
## Run the web process with the same CELERY_BROKER_URL so that it queues instead of
## running tasks in-process.
worker: install
	CELERY_BROKER_URL="$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}" \
	  $(VENV)/bin/celery -A council worker --beat --loglevel=INFO \
	  --schedule "$${TMPDIR:-/tmp}/quorum-beat-schedule"

## make prod: the production-like stack (gunicorn + worker + beat, Procfile) on local
## PostgreSQL and Redis. Needs DEBUG=false, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and
## CELERY_BROKER_URL in the environment (README, "Running it for real").
prod: install
	$(PY) manage.py check --deploy --fail-level WARNING
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(VENV)/bin/honcho start

## make bench: the benchmark suite (about 8 minutes; needs PostgreSQL, Redis, wrk and
## pgbench: apt-get install wrk postgresql-client). Writes docs/performance.md.
bench: install
	$(PY) bench/suite.py $(BENCH_ARGS)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

messages: install
	$(PY) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=.pgdata --ignore=staticfiles
	$(PY) manage.py compilemessages --ignore=.venv --ignore=.pgdata

## make clean: remove the virtualenv, the caches and the development database (.pgdata).
clean:
	test ! -x $(PY) || $(PY) council/devdb.py stop
	rm -rf $(VENV) .pgdata .pytest_cache .ruff_cache .hypothesis
