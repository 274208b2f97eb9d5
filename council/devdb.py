"""The development database: the local PostgreSQL if one answers, else an embedded one.

Quorum runs on PostgreSQL only: its row locks, constraints and append-only ledger
triggers are PostgreSQL's, and a second database engine would only test something else.
So that a fresh checkout needs nothing installed by hand, `make run` and `make test` (and
settings.py, with DEBUG on and no DATABASE_URL) ask this module for a database URL:

1. the local server (``QUORUM_LOCAL_PG``, by default
   ``postgresql://postgres@127.0.0.1:5432/quorum``) if it answers;
2. otherwise an embedded PostgreSQL 16 from the pip package ``pgserver`` (a development
   dependency that ships the server's binaries in its wheel), with its data in
   ``<checkout>/.pgdata``. It listens on a Unix socket in that folder only, so two
   checkouts never fight over a port, and it keeps running after the command that
   started it, so that the next command finds it at once; ``make clean`` stops it.

Either way the database named in the URL exists when the URL is returned. A set
DATABASE_URL always wins: the callers only come here when it is unset.

Standard library, psycopg2 and pgserver, and no Django: the Makefile runs this file as a
script before anything is configured::

    python council/devdb.py         print the URL (starting the embedded server if needed)
    python council/devdb.py stop    stop the embedded server
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import psycopg2
from psycopg2 import errors, sql

DEFAULT_LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/quorum"
PGDATA = Path(__file__).resolve().parent.parent / ".pgdata"
DATABASE = "quorum"


def database_url(pgdata: Path = PGDATA) -> str:
    """The URL of a development database that exists: the local server's, else the
    embedded server's (started on first use). Raises RuntimeError, saying what to do,
    when neither can be had."""
    candidate = os.environ.get("QUORUM_LOCAL_PG") or DEFAULT_LOCAL_PG
    try:
        _ensure_database(candidate)
    except psycopg2.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return embedded_url(pgdata, why=f"no PostgreSQL at {candidate} ({reason})")
    return candidate


def embedded_url(pgdata: Path = PGDATA, *, why: str = "") -> str:
    """Start (or find running) the embedded server whose data is in ``pgdata``; return the
    URL of its ``quorum`` database."""
    try:
        pgserver = _import_pgserver()
    except ImportError as exc:
        raise RuntimeError(
            f"{why or 'no local PostgreSQL'}, and the embedded one needs the package "
            "pgserver (`make install` installs it): install it, or set DATABASE_URL"
        ) from exc
    if not _running(pgdata):
        # On stderr: the Makefile reads the URL from stdout.
        note = f"{why}; " if why else ""
        print(f"devdb: {note}starting the embedded PostgreSQL in {pgdata}", file=sys.stderr)
    # cleanup_mode=None: the server outlives this process (the Makefile's probe exits at
    # once); stop() ends it.
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    info = server.get_postmaster_info()
    # The socket directory goes in the host part, percent-encoded: libpq and
    # dj-database-url both read it so, and a subprocess given the URL finds the server.
    url = f"postgresql://postgres@{quote(str(info.socket_dir), safe='')}:{info.port}/{DATABASE}"
    _ensure_database(url)
    return url


def stop(pgdata: Path = PGDATA) -> bool:
    """Stop the embedded server if it runs; True if it was running."""
    try:
        pgserver = _import_pgserver()
    except ImportError:
        return False
    if not _running(pgdata):
        return False
    # As root, pgserver runs the server as its own system user (PostgreSQL refuses root).
    user = "pgserver" if os.geteuid() == 0 else None
    pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    return True


def _import_pgserver() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, CI) and uses
        # /tmp/runtime-<uid> instead, which is fine for pgserver's lock file.
        warnings.simplefilter("ignore", UserWarning)
        import pgserver
    return pgserver


def _running(pgdata: Path) -> bool:
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.is_dir() else None
    return info is not None and info.is_running()


def _ensure_database(url: str) -> None:
    """Create the URL's database if the server lacks it. Raises psycopg2.OperationalError
    when the server does not answer."""
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    maintenance = parts._replace(path="/postgres").geturl()
    connection = psycopg2.connect(maintenance, connect_timeout=3)
    try:
        connection.autocommit = True  # CREATE DATABASE refuses to run in a transaction
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                # Another process may create it meanwhile: then it exists, as wanted.
                with contextlib.suppress(errors.DuplicateDatabase):
                    cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()


def main(argv: list[str]) -> int:
    if argv[1:] == ["stop"]:
        print("devdb: stopped the embedded PostgreSQL" if stop() else "devdb: not running")
        return 0
    if argv[1:]:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        print(database_url())
    except (RuntimeError, OSError, psycopg2.Error, subprocess.CalledProcessError) as exc:
        print(f"devdb: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
