"""Faults: the database restarting under load, the broker down, a worker killed mid-task.

Each test runs its own PostgreSQL and Redis (tests/private_servers.py) and stops or
restarts them; the site is a real gunicorn process and the worker a real Celery worker,
so what is tested is the real connection handling, not a simulation of it.
"""

from __future__ import annotations

import email
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import translation

from council.http.middleware import DatabaseUnavailableMiddleware

from .private_servers import (
    ROOT,
    PrivatePostgres,
    PrivateRedis,
    Site,
    manage,
    prepared_database,
    private_postgres,
    private_redis,
    site_env,
)

DB = "quorum"


# --- The 503 itself, in-process -------------------------------------------------------


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_a_lost_database_is_a_503_with_retry_after_in_json_under_the_api(error: type) -> None:
    middleware = DatabaseUnavailableMiddleware(lambda request: HttpResponse())
    request = RequestFactory().put("/api/v1/proposals/1/ballots/2/")
    response = middleware.process_exception(request, error("server closed the connection"))
    assert response is not None and response.status_code == 503
    assert response["Retry-After"] == "5"
    assert json.loads(response.content)["code"] == "database_unavailable"


def test_a_lost_database_is_a_short_page_elsewhere() -> None:
    middleware = DatabaseUnavailableMiddleware(lambda request: HttpResponse())
    response = middleware.process_exception(
        RequestFactory().get("/meetings/1/"), OperationalError("connection refused")
    )
    assert response is not None and response.status_code == 503
    assert response["Retry-After"] == "5" and b"<h1>" in response.content


def test_the_page_speaks_the_readers_language() -> None:
    middleware = DatabaseUnavailableMiddleware(lambda request: HttpResponse())
    with translation.override("zh-hans"):
        response = middleware.process_exception(
            RequestFactory().get("/"), OperationalError("connection refused")
        )
    assert response is not None and "数据库暂时不可用" in response.content.decode()


def test_other_errors_are_left_alone() -> None:
    middleware = DatabaseUnavailableMiddleware(lambda request: HttpResponse())
    request = RequestFactory().get("/api/v1/me/")
    assert middleware.process_exception(request, ValueError("a bug")) is None


# --- The demo council over HTTP -------------------------------------------------------


def call(site: Site, method: str, path: str, token: str, data: Any = None) -> tuple[int, Any]:
    body = json.dumps(data).encode() if data is not None else None
    status, _, raw = site.request(method, path, body, token)
    return status, json.loads(raw) if raw else None


def sign_in(site: Site, username: str) -> str:
    body = json.dumps({"username": username, "password": "quorum-demo"}).encode()
    status, _, raw = site.request("POST", "/api/v1/auth/token/", body)
    assert status == 200, raw
    return json.loads(raw)["token"]


def open_a_vote(site: Site, token: str) -> tuple[int, list[int]]:
    """Start the demo's upcoming meeting, check 15 of its 21 units in, open a draft."""
    _, meetings = call(site, "GET", "/api/v1/meetings/?council=1", token)
    meeting = next(m for m in meetings["results"] if m["status"] == "scheduled")
    assert call(site, "POST", f"/api/v1/meetings/{meeting['id']}/start/", token)[0] == 200
    _, units = call(site, "GET", "/api/v1/units/?council=1&page_size=100", token)
    voting = [u["id"] for u in units["results"] if u["voting"]][:15]
    for unit in voting:
        status, _ = call(
            site,
            "PUT",
            f"/api/v1/meetings/{meeting['id']}/attendance/{unit}/",
            token,
            {"present": True},
        )
        assert status == 200
    _, proposals = call(site, "GET", "/api/v1/proposals/?council=1&page_size=100", token)
    draft = next(
        p for p in proposals["results"] if p["meeting"] == meeting["id"] and p["status"] == "draft"
    )
    status, opened = call(site, "POST", f"/api/v1/proposals/{draft['id']}/open/", token)
    assert status == 200, opened
    return draft["id"], voting


def cast(site: Site, token: str, proposal: int, unit: int, choice: str = "yes") -> int:
    path = f"/api/v1/proposals/{proposal}/ballots/{unit}/"
    return call(site, "PUT", path, token, {"choice": choice})[0]


def ledger_agrees_with_the_ballots(server: PrivatePostgres, env: dict[str, str]) -> None:
    """verify_ledger passes, and the ballots stored are exactly the last ballot_cast of
    each unit in the ledger: nothing half-written on either side."""
    result = manage(env, "verify_ledger")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["ok"] is True
    latest: dict[tuple[str, str], str] = {}
    for obj, data in server.sql(
        "SELECT object, data FROM council_ledgerevent WHERE action = 'vote.ballot_cast' "
        "ORDER BY council_id, seq",
        DB,
    ):
        latest[(obj.removeprefix("vote:"), str(data["unit"]))] = data["choice"]
    stored = {
        (str(v), str(u)): c
        for v, u, c in server.sql("SELECT vote_id, unit_id, choice FROM proposals_ballot", DB)
    }
    assert stored == latest


@pytest.fixture
def database() -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        yield server


# --- PostgreSQL restarted during voting -----------------------------------------------


def test_a_database_restart_during_voting_is_a_503_then_the_site_recovers(
    database: PrivatePostgres, tmp_path: Path
) -> None:
    env = site_env(database.url(DB))
    prepared_database(database, DB, env)
    site = Site(env, tmp_path / "gunicorn.log")
    try:
        token = sign_in(site, "secretary")
        proposal, units = open_a_vote(site, token)
        assert cast(site, token, proposal, units[0]) == 200

        # Hold the council's ledger head, so the next cast stops inside its transaction
        # with its ballot row already inserted, waiting to append to the ledger.
        holder = database.connect(DB)
        holder.autocommit = False
        holder.cursor().execute("SELECT 1 FROM council_ledgerhead FOR UPDATE")
        answers: list[tuple[int, dict[str, str], bytes]] = []
        body = json.dumps({"choice": "no"}).encode()
        path = f"/api/v1/proposals/{proposal}/ballots/{units[1]}/"
        in_flight = threading.Thread(
            target=lambda: answers.append(site.request("PUT", path, body, token))
        )
        in_flight.start()
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        for _ in range(200):
            if database.sql(waiting, DB)[0][0]:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the cast never reached the ledger lock")
        database.restart()
        in_flight.join(60)

        status, headers, raw = answers[0]
        assert status == 503, raw
        assert headers["Retry-After"] == "5"
        assert json.loads(raw)["code"] == "database_unavailable"
        # The same gunicorn process reconnects by itself: the cast goes through on retry.
        assert site.process.poll() is None
        assert cast(site, token, proposal, units[1], "no") == 200
        # A restart while the site is idle: the next request replaces the dead persistent
        # connection (CONN_HEALTH_CHECKS) instead of failing with it.
        database.restart()
        assert cast(site, token, proposal, units[2], "abstain") == 200
        status, tally = call(site, "POST", f"/api/v1/proposals/{proposal}/close/", token)
        assert status == 200 and (tally["yes"], tally["no"], tally["abstain"]) == (1, 1, 1)

        # While the database is down, every request is a 503 — not a hang, not a 500.
        database.stop()
        status, headers, _ = site.request("GET", "/api/v1/me/", token=token)
        assert status == 503 and headers["Retry-After"] == "5"
        database.start()
        assert call(site, "GET", "/api/v1/me/", token)[0] == 200
    finally:
        site.stop()
    ledger_agrees_with_the_ballots(database, env)


# --- Celery: the broker down, a worker killed ----------------------------------------


def start_worker(env: dict[str, str], log: Path, *, beat: bool = False) -> subprocess.Popen[bytes]:
    """A real worker (prefork, one process) in its own session, so that killing the
    session kills the worker and its pool process at once, as a lost machine would."""
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "council",
        "worker",
        "--concurrency=1",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    if beat:
        command += ["--beat", "--schedule", str(log.with_suffix(".schedule"))]
    return subprocess.Popen(  # noqa: S603
        command,
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)


def sent_emails(folder: Path) -> list[tuple[str, str]]:
    """(recipient, subject) of every email the file backend wrote."""
    messages = [
        email.message_from_string(chunk.strip())
        for path in folder.glob("*.log")
        for chunk in path.read_text().split("-" * 79)
        if chunk.strip()
    ]
    return [(m["To"], str(make_header(decode_header(m["Subject"])))) for m in messages]


def planned(server: PrivatePostgres, kind: str, proposal: int) -> list[tuple[str, bool]]:
    """(email, sent) of each planned notification of one kind for a proposal's votes."""
    return server.sql(
        "SELECT u.email, n.sent_at IS NOT NULL FROM proposals_notification n "
        "JOIN auth_user u ON u.id = n.user_id JOIN proposals_vote v ON v.id = n.vote_id "
        "WHERE n.kind = %s AND v.proposal_id = %s ORDER BY u.email",
        DB,
        (kind, proposal),
    )


def wait_for(condition: Any, seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}; worker log:\n{log.read_text()[-3000:]}")
        time.sleep(0.25)


@pytest.fixture
def broker() -> Iterator[PrivateRedis]:
    with private_redis() as server:
        yield server


@pytest.mark.worker
def test_with_the_broker_down_votes_go_on_and_every_email_is_sent_once_it_is_back(
    database: PrivatePostgres, broker: PrivateRedis, tmp_path: Path
) -> None:
    mails = tmp_path / "mail"
    env = site_env(
        database.url(DB),
        CELERY_BROKER_URL=broker.url,
        CELERY_TASK_ALWAYS_EAGER="false",
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mails),
        QUORUM_DELIVERY_SWEEP_SECONDS="1",
    )
    prepared_database(database, DB, env)
    site = Site(env, tmp_path / "gunicorn.log")
    worker = None
    try:
        broker.stop()
        token = sign_in(site, "secretary")
        first, units = open_a_vote(site, token)
        for unit in units[:12]:
            assert cast(site, token, first, unit) == 200
        status, tally = call(site, "POST", f"/api/v1/proposals/{first}/close/", token)
        assert status == 200 and tally["outcome"] == "passed"
        # No task could be queued, so no email is planned yet: the closed vote itself is
        # the record that its result is due.
        assert planned(database, "result", first) == []
        assert sent_emails(mails) == []

        # The broker comes back, empty (no persistence), and a worker with beat starts:
        # its sweep finds the closed vote without planned emails, plans and sends them.
        broker.start()
        worker = start_worker(env, tmp_path / "worker.log", beat=True)
        log = tmp_path / "worker.log"
        wait_for(
            lambda: (r := planned(database, "result", first)) and all(s for _, s in r),
            45,
            "the sweep did not send the results",
            log,
        )
        # The web process publishes again by itself: the next opening is mailed at once.
        _, proposals = call(site, "GET", "/api/v1/proposals/?council=1&page_size=100", token)
        second = next(p["id"] for p in proposals["results"] if p["status"] == "draft")
        assert call(site, "POST", f"/api/v1/proposals/{second}/open/", token)[0] == 200
        wait_for(
            lambda: (n := planned(database, "vote_opened", second)) and all(s for _, s in n),
            45,
            "the second opening was not mailed",
            log,
        )
        time.sleep(3)  # more sweeps: nothing may be sent again
    finally:
        if worker is not None:
            stop_worker(worker)
        site.stop()

    expected = sorted(
        [(to, "result") for to, _ in planned(database, "result", first)]
        + [(to, "opened") for to, _ in planned(database, "vote_opened", second)]
    )
    got = sorted(
        (to, "result" if "Result:" in subject else "opened") for to, subject in sent_emails(mails)
    )
    # Each email once; none for the first vote's opening, which had closed meanwhile.
    assert got == expected


@pytest.mark.worker
def test_a_worker_killed_mid_task_gets_its_task_redelivered_and_sends_each_email_once(
    database: PrivatePostgres, broker: PrivateRedis, tmp_path: Path
) -> None:
    mails = tmp_path / "mail"
    env = site_env(
        database.url(DB),
        CELERY_BROKER_URL=broker.url,
        CELERY_TASK_ALWAYS_EAGER="false",
        EMAIL_BACKEND="tests.slow_mail.Backend",
        EMAIL_FILE_PATH=str(mails),
    )
    prepared_database(database, DB, env)
    site = Site(env, tmp_path / "gunicorn.log")
    try:
        token = sign_in(site, "secretary")
        proposal, units = open_a_vote(site, token)
        assert cast(site, token, proposal, units[0]) == 200
        assert call(site, "POST", f"/api/v1/proposals/{proposal}/close/", token)[0] == 200
    finally:
        site.stop()
    # Both tasks wait in the queue; the opening's finds its vote closed and sends nothing.
    first_log = tmp_path / "worker-1.log"
    first = start_worker({**env, "QUORUM_TEST_MAIL_DELAY": "0.5"}, first_log)
    try:
        wait_for(lambda: len(sent_emails(mails)) >= 3, 60, "no email was sent", first_log)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    # The task planned every recipient before it began sending.
    total = len(planned(database, "result", proposal))
    done = sum(sent for _, sent in planned(database, "result", proposal))
    assert 3 <= done < total, "the worker must die in the middle of the task"

    # No beat: only the redelivered task can send the rest. The short visibility timeout
    # lets the new worker take back the unacknowledged task within seconds.
    second_log = tmp_path / "worker-2.log"
    second = start_worker({**env, "QUORUM_BROKER_VISIBILITY_TIMEOUT": "2"}, second_log)
    try:
        wait_for(
            lambda: all(sent for _, sent in planned(database, "result", proposal)),
            50,
            "the task was not redelivered",
            second_log,
        )
    finally:
        stop_worker(second)
    assert "proposals.tasks.notify_result" in second_log.read_text()
    recipients = [to for to, subject in sent_emails(mails) if "Result:" in subject]
    assert sorted(recipients) == sorted(to for to, _ in planned(database, "result", proposal))
    assert len(recipients) == len(set(recipients)) == total


def test_a_lost_database_outside_any_view_is_a_503_too(rf: Any) -> None:
    """Raised by a middleware (the session saved after the view), the fault reaches
    Django's 500 handler, not the view-level middleware: it must still be a 503."""
    from django.db import OperationalError

    from council.http.handlers import api_server_error

    for path, kind in (("/api/v1/me/", "application/json"), ("/meetings/1/", "text/html")):
        try:
            raise OperationalError("server closed the connection unexpectedly")
        except OperationalError:
            response = api_server_error(rf.get(path))
        assert response.status_code == 503, path
        assert response["Retry-After"] == "5" and response["Content-Type"].startswith(kind)
    try:
        raise ValueError("a bug")
    except ValueError:
        assert api_server_error(rf.get("/api/v1/me/")).status_code == 500
