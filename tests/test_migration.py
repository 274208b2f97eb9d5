"""The move to votes as records of their own, tested on data written by the code before it.

The last release before the move (the commit below) runs from a copy of the repository
as it was: it migrates a scratch database and loads its demo council, whose meeting
closed two votes. Today's code then migrates that database forward and must find every
decision, every ballot and an intact, verifiable ledger — and keep working on it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings

# The last commit whose schema kept a proposal's single vote on the proposal itself.
BEFORE_VOTES = "c6a777c"
ROOT = Path(__file__).resolve().parent.parent
SCRATCH = "quorum_before_votes"


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603 — our own interpreter and manage.py
        [sys.executable, "manage.py", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def old_release(tmp_path: Path) -> Path:
    """The repository's files as they were at BEFORE_VOTES."""
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.fail("the migration test needs the repository's git history (a full clone)")
    archive = subprocess.run(  # noqa: S603
        [git, "-C", str(ROOT), "archive", "--format=tar", BEFORE_VOTES],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tmp_path / "old", filter="data")
    return tmp_path / "old"


@pytest.fixture
def scratch_url() -> Iterator[str]:
    db = settings.DATABASES["default"]
    # A computed key, which a TypedDict does not take; each is one of the four named.
    params = {k: db[k.upper()] for k in ("host", "port", "user", "password") if db.get(k.upper())}  # type: ignore[literal-required]
    admin = psycopg2.connect(dbname="postgres", **params)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {SCRATCH}")
        cursor.execute(f"CREATE DATABASE {SCRATCH}")
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    yield f"postgresql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{SCRATCH}"
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
    admin.close()


def test_the_move_to_votes_keeps_every_decision_verifiable(
    old_release: Path, scratch_url: str
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "DATABASE_URL": scratch_url,
        "DEBUG": "true",
    }
    # Yesterday's code writes yesterday's data.
    _run(["migrate", "--noinput"], old_release, env)
    _run(["seed_demo"], old_release, env)
    before = json.loads(_run(["verify_ledger"], old_release, env))
    assert before["ok"] is True

    # Today's code migrates it forward and verifies it.
    _run(["migrate", "--noinput"], ROOT, env)
    after = json.loads(_run(["verify_ledger"], ROOT, env))
    assert after["ok"] is True, after["problems"]
    assert (after["events"], after["head"]) == (before["events"], before["head"])

    script = """
from proposals.models import Ballot, Proposal, Vote
votes = Vote.objects.order_by("pk")
print([(v.proposal.title[:6], v.number, v.kind, v.outcome, v.eligible_units.count(),
        Ballot.objects.filter(vote=v).count()) for v in votes])
print(sorted(set(Proposal.objects.values_list("status", flat=True))))
"""
    listed = _run(["shell", "--no-imports", "-c", script], ROOT, env).splitlines()
    assert listed[0] == (
        "[('Adopt ', 1, 'ordinary', 'rejected', 21, 17), "
        "('Publis', 1, 'ordinary', 'passed', 21, 17)]"
    )

    # And the migrated council keeps deciding: a new vote after the move verifies too.
    new_vote = """
from django.contrib.auth import get_user_model
from council import services as council_services
from council.models import Council
from proposals import services
secretary = get_user_model().objects.get(username="secretary")
council = Council.objects.get()
meeting = council_services.create_meeting(
    actor=secretary, council=council, title="After", scheduled_at=council.created_at
)
meeting = council_services.start_meeting(actor=secretary, meeting=meeting)
units = list(meeting.eligible_units.order_by("pk"))
for unit in units[:15]:
    council_services.check_in(actor=secretary, meeting=meeting, unit=unit)
proposal = services.create_proposal(actor=secretary, meeting=meeting, title="Next")
proposal = services.open_vote(actor=secretary, proposal=proposal)
for unit in units[:15]:
    services.cast_ballot(actor=secretary, proposal=proposal, unit=unit, choice="yes")
print(services.close_vote(actor=secretary, proposal=proposal).outcome)
"""
    # (Celery runs eagerly here: the console mail backend prints the emails first.)
    printed = _run(["shell", "--no-imports", "-c", new_vote], ROOT, env).strip()
    assert printed.splitlines()[-1] == "passed"
    final = json.loads(_run(["verify_ledger"], ROOT, env))
    assert final["ok"] is True, final["problems"]
    assert final["events"] > after["events"]
