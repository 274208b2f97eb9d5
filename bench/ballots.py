"""Benchmark: casting ballots through the service, against a one-row-insert baseline.

Usage (PostgreSQL required; the script creates and empties its own database):

    .venv/bin/python bench/ballots.py [--units 1000] [--threads 8]

It measures, in the same run and on the same connections:

1. baselines — one-row INSERT transactions (the storage ceiling for a tiny write), and
   transactions of one ORM query (the framework's floor per request);
2. casts    — first ballots of N units through ``cast_ballot`` (locks, checks, ledger);
3. replaces — the same N units replacing their ballot;
4. close    — closing the N-unit vote: time and queries;

then verifies the ledger chain and recounts the vote (speed never at the cost of a lost
or duplicated ballot). Figures are printed as ratios to the baseline, because these
machines are noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/quorum_bench")
os.environ["DATABASE_URL"] = BENCH_DB
# Queue notification tasks (in memory) instead of running them inside the measured calls,
# as a deployment with a broker does; the emails are not what is measured here.
os.environ["CELERY_BROKER_URL"] = "memory://"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "council.settings")


def run_threads(n_threads: int, jobs: list[Callable[[], None]]) -> tuple[float, list[float]]:
    """Run ``jobs`` on ``n_threads`` threads; return wall time and per-job latencies."""
    from django.db import connection

    latencies: list[float] = []
    lock = threading.Lock()
    chunks = [jobs[i::n_threads] for i in range(n_threads)]
    barrier = threading.Barrier(n_threads + 1)

    def work(chunk: list[Callable[[], None]]) -> None:
        mine = []
        barrier.wait()
        for job in chunk:
            start = time.perf_counter()
            job()
            mine.append(time.perf_counter() - start)
        with lock:
            latencies.extend(mine)
        connection.close()

    threads = [threading.Thread(target=work, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "bench"))
    from common import ensure_database, register_tasks, reset_database

    ensure_database(BENCH_DB)
    import django

    django.setup()
    register_tasks()
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from council import services as council_services
    from council.models import Meeting
    from members import services as member_services
    from members.models import Role
    from proposals import audit
    from proposals import services as proposal_services

    reset_database()
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS bench_baseline (id bigserial PRIMARY KEY, "
            "k integer NOT NULL, at timestamptz NOT NULL)"
        )
        cur.execute("TRUNCATE bench_baseline")

    n = args.units
    print(f"Setting up a council of {n} units ...", flush=True)
    User = get_user_model()
    root = User.objects.create_superuser("root", password=None)
    council = council_services.create_council(actor=root, name="Bench", slug="bench")
    with transaction.atomic():
        units = [
            member_services.create_unit(
                actor=root, council=council, name=f"Unit {i}", short_name=f"U{i}"
            )
            for i in range(n)
        ]
        User.objects.bulk_create([User(username=f"d{i}") for i in range(n)])
        people = list(User.objects.filter(username__startswith="d").order_by("id"))
        for user, unit in zip(people, units, strict=True):
            member_services.grant_role(
                actor=root, user=user, council=council, role=Role.Kind.DELEGATE, unit=unit
            )
    meeting = council_services.create_meeting(
        actor=root,
        council=council,
        title="Bench",
        scheduled_at=timezone.now(),
        mode=Meeting.Mode.ONLINE,
    )
    meeting = council_services.start_meeting(actor=root, meeting=meeting)
    with transaction.atomic():
        for unit in units[: n * 2 // 3 + 1]:
            council_services.check_in(actor=root, meeting=meeting, unit=unit)
    proposal = proposal_services.create_proposal(actor=root, meeting=meeting, title="Bench")
    proposal = proposal_services.open_vote(actor=root, proposal=proposal)

    def baseline_job(k: int) -> Callable[[], None]:
        def job() -> None:
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute("INSERT INTO bench_baseline (k, at) VALUES (%s, now())", [k])

        return job

    def orm_job(i: int) -> Callable[[], None]:
        def job() -> None:
            with transaction.atomic():
                Role.objects.filter(user_id=people[i].pk).exists()

        return job

    def cast_job(i: int, choice: str) -> Callable[[], None]:
        return lambda: proposal_services.cast_ballot(
            actor=people[i], proposal=proposal, unit=units[i], choice=choice
        )

    t = args.threads
    base_time, base_lat = run_threads(t, [baseline_job(k) for k in range(n)])
    orm_time, orm_lat = run_threads(t, [orm_job(i) for i in range(n)])
    cast_time, cast_lat = run_threads(t, [cast_job(i, "yes") for i in range(n)])
    repl_time, repl_lat = run_threads(
        t, [cast_job(i, "no" if i % 2 else "abstain") for i in range(n)]
    )
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as ctx:
        start = time.perf_counter()
        closed = proposal_services.close_vote(actor=root, proposal=proposal)
        close_ms = (time.perf_counter() - start) * 1000
    report = audit.verify()

    base_rate = n / base_time
    rows = [
        ("one-row INSERT transaction (baseline)", n / base_time, base_lat),
        ("one ORM query in a transaction (framework floor)", n / orm_time, orm_lat),
        ("cast_ballot, first ballot of each unit", n / cast_time, cast_lat),
        ("cast_ballot, replacing each ballot", n / repl_time, repl_lat),
    ]
    print(f"\n{n} units, {t} threads, PostgreSQL, service calls in-process (no HTTP)\n")
    print("| operation | per second | ratio to INSERT | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|")
    for label, rate, lat in rows:
        print(
            f"| {label} | {rate:,.0f} | {rate / base_rate:.2f} | {pct(lat, 50):.1f} | "
            f"{pct(lat, 99):.1f} |"
        )
    print(
        f"\nclose_vote of {n} units: {close_ms:.0f} ms, {len(ctx.captured_queries)} queries; "
        f"outcome {closed.outcome}, {closed.result['yes']} yes / {closed.result['no']} no / "
        f"{closed.result['abstain']} abstain of {closed.result['present']} present"
    )
    print(
        f"ledger verified: ok={report['ok']} events={report['events']} "
        f"problems={len(report['problems'])}"
    )
    ballots = closed.result["yes"] + closed.result["no"] + closed.result["abstain"]
    if not report["ok"] or ballots != n:
        sys.exit(f"FAILED: {ballots} ballots counted for {n} casts, or the ledger is broken")


if __name__ == "__main__":
    main()
