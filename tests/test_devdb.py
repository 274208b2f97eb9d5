"""The development database (council/devdb.py): the local server when it answers, else
an embedded PostgreSQL started from the pgserver package, found again once running."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dj_database_url
import psycopg2
import pytest

from council import devdb

from .test_production import database_url

NOBODY = "postgresql://postgres@127.0.0.1:1/quorum"  # nothing listens on port 1


@pytest.fixture
def pgdata() -> Iterator[Path]:
    # Not under tmp_path: as root the server runs as the pgserver user, which must reach
    # its folder, and every pytest session resets its own base folder to mode 0700.
    folder = Path(tempfile.mkdtemp(prefix="quorum-devdb-"))
    yield folder / "pgdata"
    devdb.stop(folder / "pgdata")
    shutil.rmtree(folder)


def version_of(url: str) -> str:
    connection = psycopg2.connect(url, connect_timeout=5)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return str(cursor.fetchone()[0])
    finally:
        connection.close()


def test_a_local_server_that_answers_is_used_as_it_is(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUORUM_LOCAL_PG", database_url())
    assert devdb.database_url() == database_url()


def test_without_a_local_server_an_embedded_one_is_started_then_found_running(
    pgdata: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUORUM_LOCAL_PG", NOBODY)
    url = devdb.database_url(pgdata)
    assert dj_database_url.parse(url)["HOST"] == str(pgdata)  # its socket, no port
    assert dj_database_url.parse(url)["NAME"] == "quorum"  # created
    assert version_of(url).startswith("16.")
    assert devdb.database_url(pgdata) == url  # the running server, found again
    assert devdb.stop(pgdata)
    assert not devdb.stop(pgdata)
    with pytest.raises(psycopg2.OperationalError):
        version_of(url)
