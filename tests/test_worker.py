"""One real Celery worker (with beat) on the local Redis: a deadline closes a vote.

The worker is a separate process on the test database; it must find the vote due,
close it through the service, and send the result emails once each.
"""

from __future__ import annotations

import datetime
import email
import os
import subprocess
import sys
import time
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from django.utils import timezone

from council.models import LedgerEvent, Meeting
from proposals import services as proposal_services
from proposals import tasks
from proposals.models import Notification, Proposal

from .personas import build_world, check_in_units, new_meeting
from .test_production import database_url, production_env

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parent.parent
BROKER = os.environ.get("QUORUM_TEST_BROKER", "redis://127.0.0.1:6379/15")
CELERY = [sys.executable, "-m", "celery", "-A", "council"]


def test_a_real_worker_closes_a_vote_at_its_deadline_and_mails_once(tmp_path: Path) -> None:
    import redis

    redis.Redis.from_url(BROKER).flushdb()  # a dedicated database: no stale tasks
    w = build_world()
    for name, person in w.people.items():
        person.email = f"{name}@example.org"
        person.save(update_fields=["email"])
    meeting = new_meeting(w, mode=Meeting.Mode.ONLINE)
    check_in_units(w, meeting, w.units[:15])
    proposal = proposal_services.create_proposal(
        actor=w.alice,
        meeting=meeting,
        title="Deadline vote",
        deadline=timezone.now() + datetime.timedelta(seconds=4),
    )
    proposal = proposal_services.open_vote(actor=w.alice, proposal=proposal)
    proposal_services.cast_ballot(actor=w.bob, proposal=proposal, unit=w.units[0], choice="yes")

    mails = tmp_path / "mail"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": BROKER,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "QUORUM_DEADLINE_CHECK_SECONDS": "1",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mails),
    }
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(  # noqa: S603 — our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "council",
            "worker",
            "--beat",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--schedule",
            str(tmp_path / "beat-schedule"),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        closed = False
        while time.monotonic() < deadline and not closed:
            time.sleep(0.5)
            closed = Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.CLOSED
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
        assert closed, (tmp_path / "worker.log").read_text()[-3000:]
        results = Notification.objects.filter(vote__proposal=proposal, kind="result")
        while time.monotonic() < deadline and (
            not results.exists() or results.filter(sent_at__isnull=True).exists()
        ):
            time.sleep(0.5)
        time.sleep(2)  # a few more beat ticks: the vote must not be closed or mailed again
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()

    closed_vote = Proposal.objects.get(pk=proposal.pk)
    assert closed_vote.outcome == "rejected" and closed_vote.current_vote.closed_by is None
    closes = LedgerEvent.objects.filter(action="vote.closed")
    assert closes.count() == 1 and closes.get().actor == "system"
    messages = [
        email.message_from_string(chunk.strip())
        for path in mails.glob("*.log")
        for chunk in path.read_text().split("-" * 79)
        if chunk.strip()
    ]
    subjects = [str(make_header(decode_header(m["Subject"]))) for m in messages]
    assert len(messages) == 5 and all("Result: Deadline vote" in s for s in subjects), subjects
    assert sorted(m["To"] for m in messages) == sorted(
        f"{n}@example.org" for n in ["alice", "dave", "bob", "bea", "carol"]
    )
    # Running the tasks again here changes nothing: nothing is due, everything is sent.
    assert tasks.close_due_votes() == 0
    assert tasks.notify_result(proposal.current_vote.pk) == 0


def test_a_task_that_fails_is_written_with_its_traceback_to_the_workers_stderr(
    tmp_path: Path,
) -> None:
    import redis

    redis.Redis.from_url(BROKER).flushdb()
    env = production_env(
        DATABASE_URL=database_url(), CELERY_BROKER_URL=BROKER, CELERY_TASK_ALWAYS_EAGER="false"
    )
    stderr = tmp_path / "stderr"
    with stderr.open("w") as log:
        worker = subprocess.Popen(  # noqa: S603 — our own interpreter and arguments
            [*CELERY, "worker", "--pool=solo", "--without-gossip", "--without-mingle"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            # A vote that does not exist: a programming error, failed at once, no retry.
            subprocess.run(  # noqa: S603
                [*CELERY, "call", "proposals.tasks.notify_result", "--args", "[1000000000]"],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                timeout=60,
            )
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and "Vote.DoesNotExist" not in stderr.read_text():
                assert worker.poll() is None, stderr.read_text()[-3000:]
                time.sleep(0.5)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    written = stderr.read_text()
    assert "Task proposals.tasks.notify_result[" in written and "raised unexpected" in written
    assert "Traceback (most recent call last)" in written, written[-3000:]
    assert "Vote.DoesNotExist" in written and "Retry in" not in written
