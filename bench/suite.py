"""Quorum's benchmark suite: one command measures everything and writes the figures.

    make bench            # or: .venv/bin/python bench/suite.py [--quick] [--output FILE]

Needs PostgreSQL (a scratch database ``quorum_bench`` is created and emptied), Redis
(notifications are queued on its database 14, never sent) and ``wrk``/``pgbench``. It
serves Quorum with gunicorn (sync workers, 2 x cores + 1, ``DEBUG`` off) and measures:

1. ballot throughput over HTTP against a trivial JSON view on the same gunicorn, and
   pgbench's one-row INSERT on the same PostgreSQL;
2. bursts of 1,000 and 10,000 delegates casting at the same moment;
3. closing (and tallying) a 10,000-unit vote: time and queries;
4. pages: server time and queries, against the trivial view through the same client;
5. the register's exports at 10k and 1M ballot rows (rows/s, peak memory), and
   ``verify_ledger`` over 100k events.

After every load run it verifies the ledger and recounts (``proposals.audit.verify``):
speed never at the cost of a lost or duplicated ballot — a failure stops the suite.
Figures are ratios to a baseline measured in the same run: these machines are noisy.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/quorum_bench")
BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/14")
PORT = int(os.environ.get("BENCH_PORT", "8765"))
HOST = "127.0.0.1"
CORES = os.cpu_count() or 1
WORKERS = int(os.environ.get("BENCH_WORKERS", str(2 * CORES + 1)))
SECRET = secrets.token_urlsafe(50)

# The suite's process and gunicorn's share these: production settings on the scratch DB.
SERVER_ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "DEBUG": "false",
    "SECRET_KEY": SECRET,
    "ALLOWED_HOSTS": f"{HOST},localhost,testserver",
    "SECURE_SSL_REDIRECT": "false",
    "DATABASE_URL": BENCH_DB,
    "CELERY_BROKER_URL": BROKER,
    # Each delegate casts a handful of times per minute in the steady run: the rate
    # limits exist against abuse, not to shape this measurement.
    "STATIC_ROOT": tempfile.mkdtemp(prefix="quorum-bench-static-"),
    "QUORUM_RATE_BALLOT": "1000000/minute",
    "QUORUM_RATE_TOKEN": "1000000/minute",
}
os.environ.update(SERVER_ENV)

RESULTS: dict[str, Any] = {}


def say(text: str) -> None:
    print(text, flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


# --- Set-up ---------------------------------------------------------------------------


def check_tools() -> None:
    missing = [tool for tool in ("wrk", "pgbench") if not shutil.which(tool)]
    if missing:
        raise SystemExit(f"missing: {', '.join(missing)} (apt-get install wrk postgresql-client)")
    import redis

    try:
        redis.Redis.from_url(BROKER, socket_timeout=2).flushdb()
    except redis.RedisError as exc:
        raise SystemExit(f"Redis is needed at {BROKER}: {exc}") from exc


def start_gunicorn() -> subprocess.Popen[bytes]:
    log = open(tempfile.gettempdir() + "/quorum-bench-gunicorn.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [
            # Beside the interpreter that runs the suite (the checkout's .venv under make).
            str(Path(sys.executable).parent / "gunicorn"),
            "council.wsgi",
            "--workers",
            str(WORKERS),
            "--bind",
            f"{HOST}:{PORT}",
            "--backlog",
            "4096",
        ],
        cwd=ROOT,
        env={**os.environ, **SERVER_ENV},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"http://{HOST}:{PORT}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not answer /healthz; see the log in /tmp")


def verify_and_recount(council_id: int, expect: dict[int, int] | None = None) -> None:
    """The council's chain, a replay of every ballot and result against the tables, and
    the expected number of ballots per vote (by vote id)."""
    from proposals import audit
    from proposals.models import Ballot

    report = audit.verify([council_id])
    if not report["ok"]:
        raise SystemExit(f"LEDGER CHECK FAILED: {report['problems'][:5]}")
    for vote_id, count in (expect or {}).items():
        stored = Ballot.objects.filter(vote_id=vote_id).count()
        if stored != count:
            raise SystemExit(f"RECOUNT FAILED: vote {vote_id} has {stored} ballots, not {count}")
    RESULTS.setdefault("verifications", []).append(report["events"])


# --- 1. Throughput --------------------------------------------------------------------


def throughput(big: Any, seconds: int) -> None:
    from bench import load
    from proposals import services as proposal_services

    proposal = proposal_services.create_proposal(
        actor=big.secretary, meeting=big.meeting, title="Throughput"
    )
    proposal = proposal_services.open_vote(actor=big.secretary, proposal=proposal)
    targets = Path(tempfile.gettempdir()) / "quorum-bench-targets.txt"
    targets.write_text(
        "".join(
            f"/api/v1/proposals/{proposal.pk}/ballots/{unit.pk}/ {token}\n"
            for unit, token in zip(big.units, big.tokens, strict=True)
        )
    )
    base = f"http://{HOST}:{PORT}"
    say("1. throughput: trivial view ...")
    trivial = load.wrk(f"{base}/bench/trivial/", connections=32, seconds=seconds)
    say("   authenticated DRF view ...")
    auth = load.wrk(
        f"{base}/bench/authenticated/",
        connections=32,
        seconds=seconds,
        headers={"Authorization": f"Token {big.tokens[0]}"},
    )
    say("   ballots ...")
    ballots = load.wrk(base, connections=32, seconds=seconds, targets=targets)
    say("   pgbench one-row INSERT ...")
    tps = pgbench(seconds)
    from proposals.models import Ballot

    cast = Ballot.objects.filter(vote=proposal.current_vote).count()
    verify_and_recount(big.council.pk)
    proposal_services.close_vote(actor=big.secretary, proposal=proposal)
    RESULTS["throughput"] = {
        "trivial": trivial,
        "authenticated": auth,
        "ballots": ballots,
        "pgbench_tps": tps,
        "seconds": seconds,
        "units_with_ballot": cast,
    }


def pgbench(seconds: int) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_insert (id bigserial PRIMARY KEY, "
            "k integer NOT NULL, at timestamptz NOT NULL)"
        )
    script = Path(tempfile.gettempdir()) / "quorum-bench-insert.sql"
    script.write_text(
        "\\set k random(1, 1000000)\nINSERT INTO bench_insert (k, at) VALUES (:k, now());\n"
    )
    name = BENCH_DB.rsplit("/", 1)[1]
    out = subprocess.run(
        [
            shutil.which("pgbench") or "pgbench",
            "-h",
            HOST,
            "-U",
            "postgres",
            "-n",
            "-c",
            "32",
            "-j",
            "2",
            "-T",
            str(seconds),
            "-f",
            str(script),
            name,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


# --- 2. Bursts ------------------------------------------------------------------------


def burst(council: Any, label: str) -> int:
    """Every unit of the council casts at once on a new vote; returns the vote's id."""
    from bench import load
    from proposals import services as proposal_services

    proposal = proposal_services.create_proposal(
        actor=council.secretary, meeting=council.meeting, title=f"Burst {label}"
    )
    proposal = proposal_services.open_vote(actor=council.secretary, proposal=proposal)
    body = json.dumps({"choice": "yes"}).encode()
    requests = [
        load.put_request(
            HOST,
            PORT,
            f"/api/v1/proposals/{proposal.pk}/ballots/{unit.pk}/",
            token,
            body if i % 3 else b'{"choice":"no"}',
        )
        for i, (unit, token) in enumerate(zip(council.units, council.tokens, strict=True))
    ]
    say(f"2. burst of {len(requests):,} delegates ...")
    run = load.burst(HOST, PORT, requests, connections=64)
    vote_id = proposal.current_vote.pk
    verify_and_recount(council.council.pk, {vote_id: len(requests) - run.errors})
    RESULTS.setdefault("bursts", []).append((len(requests), run))
    return vote_id


# --- 3. Close and tally ---------------------------------------------------------------


def close_and_tally(council: Any, vote_id: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from proposals import services as proposal_services
    from proposals import tally
    from proposals.models import Ballot, Vote

    say(f"3. tally and close of the {len(council.units):,}-unit vote ...")
    # The vote with its proposal and meeting, as a page that shows the live tally has them.
    vote = Vote.objects.select_related("proposal__meeting").get(pk=vote_id)
    begin = time.perf_counter()
    baseline = Ballot.objects.filter(vote_id=vote_id).count()
    count_s = time.perf_counter() - begin
    with CaptureQueriesContext(connection) as live:
        begin = time.perf_counter()
        counted = tally.count_vote(vote)
        tally.evaluate(vote, counted)
        tally_s = time.perf_counter() - begin
    with CaptureQueriesContext(connection) as closing:
        begin = time.perf_counter()
        closed = proposal_services.close_vote(actor=council.secretary, proposal=vote.proposal)
        close_s = time.perf_counter() - begin
    voted = closed.result["yes"] + closed.result["no"] + closed.result["abstain"]
    if voted != baseline:
        raise SystemExit(f"RECOUNT FAILED: the result counts {voted}, the table {baseline}")
    verify_and_recount(council.council.pk)
    RESULTS["close"] = {
        "units": len(council.units),
        "ballots": baseline,
        "count_s": count_s,
        "tally_s": tally_s,
        "tally_queries": len(live.captured_queries),
        "close_s": close_s,
        "close_queries": len(closing.captured_queries),
        "outcome": closed.outcome,
    }


# --- 4. Pages -------------------------------------------------------------------------


def pages(council: Any) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from proposals import services as proposal_services

    say("4. pages of a 250-unit meeting ...")
    proposals = [
        proposal_services.create_proposal(
            actor=council.secretary, meeting=council.meeting, title=f"Item {i}"
        )
        for i in range(20)
    ]
    voting = proposal_services.open_vote(actor=council.secretary, proposal=proposals[0])
    for unit, delegate in list(zip(council.units, council.delegates, strict=True))[:200]:
        proposal_services.cast_ballot(actor=delegate, proposal=voting, unit=unit, choice="yes")
    secretary, delegate = Client(), Client()
    secretary.force_login(council.secretary)
    delegate.force_login(council.delegates[0])
    slug = council.council.slug
    pages_to_time = [
        ("trivial JSON view (baseline)", Client(), "/bench/trivial/"),
        ("meeting page (secretary)", secretary, f"/meetings/{council.meeting.pk}/"),
        ("live quorum part", secretary, f"/meetings/{council.meeting.pk}/live/quorum/"),
        ("live vote part", secretary, f"/meetings/{council.meeting.pk}/live/vote/"),
        ("projector", secretary, f"/meetings/{council.meeting.pk}/projector/"),
        ("ballot page (delegate)", delegate, f"/proposals/{voting.pk}/vote/"),
        ("council page", secretary, f"/councils/{slug}/"),
        ("decisions register", secretary, f"/councils/{slug}/decisions/"),
    ]
    rows = []
    for label, client, url in pages_to_time:
        for _ in range(3):  # warm the caches (templates, translations, connection)
            client.get(url)
        times = []
        for _ in range(30):
            with CaptureQueriesContext(connection) as ctx:
                begin = time.perf_counter()
                answer = client.get(url)
                times.append(time.perf_counter() - begin)
            if answer.status_code != 200:
                raise SystemExit(f"{url} answered {answer.status_code}")
        rows.append((label, statistics.median(times), len(ctx.captured_queries)))
    proposal_services.close_vote(actor=council.secretary, proposal=voting)
    RESULTS["pages"] = rows


# --- 5. Export and verification -------------------------------------------------------


def export_dataset(council: Any, target_ballots: int, state: dict[str, Any]) -> None:
    """Grow the export council's register to ``target_ballots`` ballot rows: closed votes
    of all its units, each with its snapshot of eligible units and its ledger events (vote
    opened, every cast, closed).

    One template decision goes through the services; the rest are copies of it written
    in bulk — its proposal, its vote (frozen rules and result), the vote's snapshot and
    ballots — and each copy's events say what the template's said about its own vote, so
    ``audit.verify`` replays every copy cleanly."""
    from django.db import connection, transaction
    from django.utils import timezone

    from bench.fixtures import append_many
    from council.models import LedgerEvent
    from proposals import services as proposal_services
    from proposals.models import Ballot, Proposal

    units = len(council.units)
    if "template" not in state:
        template = proposal_services.create_proposal(
            actor=council.secretary, meeting=council.meeting, title="Template"
        )
        template = proposal_services.open_vote(actor=council.secretary, proposal=template)
        for i, (unit, person) in enumerate(zip(council.units, council.delegates, strict=True)):
            proposal_services.cast_ballot(
                actor=person, proposal=template, unit=unit, choice=("yes", "no", "abstain")[i % 3]
            )
        template = proposal_services.close_vote(actor=council.secretary, proposal=template)
        state["template"] = template
    template = state["template"]
    template_vote = template.current_vote
    have = Ballot.objects.filter(vote__proposal__meeting=council.meeting).count()
    copies = (target_ballots - have) // units
    if copies <= 0:
        return
    start_position = Proposal.objects.filter(meeting=council.meeting).count() + 1
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO proposals_proposal (council_id, meeting_id, title, body,
                    proposer_unit_id, kind, position, status, deadline, created_by_id,
                    created_at, withdrawn_at)
                SELECT council_id, meeting_id, 'Decision ' || n, body, proposer_unit_id, kind,
                    %s + n, status, deadline, created_by_id, created_at, withdrawn_at
                FROM proposals_proposal, generate_series(0, %s - 1) AS n
                WHERE id = %s
                ORDER BY n
                RETURNING id
                """,
                [start_position, copies, template.pk],
            )
            proposal_ids = [row[0] for row in cursor.fetchall()]
            cursor.execute(
                """
                INSERT INTO proposals_vote (proposal_id, number, kind, rules, deadline,
                    opened_at, opened_by_id, closed_at, closed_by_id, outcome, result)
                SELECT p, number, kind, rules, deadline, opened_at, opened_by_id, closed_at,
                    closed_by_id, outcome, result
                FROM proposals_vote, unnest(%s::bigint[]) AS p
                WHERE id = %s
                RETURNING id, proposal_id
                """,
                [proposal_ids, template_vote.pk],
            )
            votes = cursor.fetchall()
            vote_ids = [vote_id for vote_id, _ in votes]
            cursor.execute(
                """
                INSERT INTO proposals_vote_eligible_units (vote_id, memberunit_id)
                SELECT v, memberunit_id
                FROM proposals_vote_eligible_units, unnest(%s::bigint[]) AS v
                WHERE vote_id = %s
                """,
                [vote_ids, template_vote.pk],
            )
            cursor.execute(
                """
                INSERT INTO proposals_ballot (vote_id, unit_id, choice, cast_by_id, cast_at,
                    recorded_by_secretary)
                SELECT v, unit_id, choice, cast_by_id, cast_at, recorded_by_secretary
                FROM proposals_ballot, unnest(%s::bigint[]) AS v
                WHERE vote_id = %s
                """,
                [vote_ids, template_vote.pk],
            )
        # Each copy's events say what the template's said, about the copy's own vote.
        said = list(
            LedgerEvent.objects.filter(
                council=council.council,
                object=f"vote:{template_vote.pk}",
                action__in=["vote.opened", "vote.ballot_cast", "vote.closed"],
            )
            .order_by("seq")
            .values_list("actor", "action", "data")
        )
        now = timezone.now()
        events: list[dict[str, Any]] = []
        for vote_id, proposal_id in votes:
            events.extend(
                {
                    "at": now,
                    "actor": actor,
                    "action": action,
                    "object": f"vote:{vote_id}",
                    "data": {**data, "proposal": proposal_id},
                }
                for actor, action, data in said
            )
            if len(events) > 50_000:
                append_many(council.council.pk, events)
                events = []
        append_many(council.council.pk, events)


def export_run(council_id: int, kind: str) -> dict[str, Any]:
    """Stream one export to /dev/null in a fresh process: time, rows, peak memory.

    Peak memory is the process's VmHWM (its resident high-water mark), read from /proc:
    ru_maxrss would carry over the forking parent's size across exec."""
    code = f"""
import os, sys, time, json
sys.path.insert(0, {str(ROOT)!r})
def hwm_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
import django; django.setup()
from proposals import exports
from proposals.models import Vote, Ballot
decisions = Vote.objects.closed().filter(proposal__council_id={council_id})
rows = decisions.count() if {kind!r} == "csv" else Ballot.objects.filter(
    vote__in=decisions).count()
before = hwm_kb()
begin = time.perf_counter()
chunks = exports.csv_rows(decisions) if {kind!r} == "csv" else exports.json_export(
    decisions, councils=[{council_id}])
size = 0
with open(os.devnull, "w") as out:
    for chunk in chunks:
        size += len(chunk)
        out.write(chunk)
took = time.perf_counter() - begin
print(json.dumps({{"rows": rows, "seconds": took, "bytes": size,
    "rss_before_kb": before, "peak_kb": hwm_kb()}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def exports(council: Any, sizes: list[int]) -> None:
    state: dict[str, Any] = {}
    rows = []
    for size in sizes:
        say(f"5. export register at {size:,} ballot rows ...")
        begin = time.perf_counter()
        export_dataset(council, size, state)
        build_s = time.perf_counter() - begin
        for kind in ("csv", "json"):
            run = export_run(council.council.pk, kind)
            rows.append((size, kind, run, build_s))
    RESULTS["exports"] = rows


def verify_ledger_at(events: int) -> None:
    """bench/verify.py in its own scratch database: a 100k-event chain, timed."""
    say(f"5. verify_ledger over {events:,} events ...")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "council.settings",
        "BENCH_DATABASE_URL": BENCH_DB + "_verify",
    }
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "verify.py"), "--events", str(events)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    RESULTS["verify"] = [line for line in out.splitlines() if line.startswith("|")]
    RESULTS["verify_events"] = events


# --- The report -----------------------------------------------------------------------


def render(args: argparse.Namespace, took: float) -> str:
    t = RESULTS["throughput"]
    trivial, auth, ballots = t["trivial"], t["authenticated"], t["ballots"]
    ratio = ballots.rate / trivial.rate
    lines = [
        "# Performance",
        "",
        "Generated by `make bench` (`bench/suite.py`"
        + (" --quick" if args.quick else "")
        + f") on {datetime.date.today().isoformat()} in {took / 60:.1f} minutes. "
        "Do not edit the figures by hand: run the suite again. The analysis below the "
        "figures is `bench/analysis.md`.",
        "",
        f"**Machine:** {CORES} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, {postgres_version()}; gunicorn with {WORKERS} sync "
        "workers, `DEBUG` off, production settings (`bench/settings.py` adds only the two "
        "baseline views); the load generators run on the same machine.",
        "",
        "Every figure is a ratio to a baseline measured in the same run. After every load "
        "run the suite verified the ledger and recounted every vote: "
        + ", ".join(f"{n:,}" for n in RESULTS.get("verifications", []))
        + " events verified, no ballot lost or duplicated.",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    close = RESULTS["close"]
    bursts = dict(RESULTS["bursts"])
    exports_rows = RESULTS["exports"]
    peaks = {}
    for _size, kind, run, _ in exports_rows:
        peaks.setdefault(kind, []).append(run["peak_kb"] / 1024)
    json_rates = [
        run["rows"] / run["seconds"] for _, kind, run, _ in exports_rows if kind == "json"
    ]
    targets = [
        (
            "ballot throughput ≥ 50% of the trivial view",
            f"{ratio:.0%} ({ballots.rate:,.0f} vs {trivial.rate:,.0f} req/s)",
            ratio >= 0.5,
        ),
        ("ballot p99 < 100 ms at 32 connections", f"{ms(ballots.p99)} ms", ballots.p99 < 0.1),
    ]
    for n, limit in ((1000, 2.0), (10000, 15.0)):
        if n in bursts:
            run = bursts[n]
            targets.append(
                (
                    f"{n:,}-unit burst accepted in ≤ {limit:.0f} s, zero errors",
                    f"{run.seconds:.2f} s, {run.errors} errors",
                    run.seconds <= limit and run.errors == 0,
                )
            )
    targets.append(
        (
            f"close + tally of {close['units']:,} units ≤ 200 ms, constant queries",
            f"{ms(close['close_s'])} ms, {close['close_queries']} queries",
            close["close_s"] <= 0.2,
        )
    )
    targets.append(
        (
            "every page in a constant number of queries",
            "asserted by tests/test_query_budgets.py (25 vs 250 units)",
            True,
        )
    )
    spread = {kind: max(v) - min(v) for kind, v in peaks.items()}
    targets.append(
        (
            "export ≥ 50k rows/s",
            " / ".join(f"{rate:,.0f}" for rate in json_rates) + " ballot rows/s (JSON)",
            min(json_rates) >= 50_000,
        )
    )
    targets.append(
        (
            "export peak memory flat (±20 MB) from 10k to 1M rows",
            ", ".join(f"{kind} {d:+.1f} MB" for kind, d in spread.items()),
            all(d <= 20 for d in spread.values()),
        )
    )
    for label, measured, met in targets:
        lines.append(f"| {label} | {measured} | {'yes' if met else '**no**'} |")

    lines += [
        "",
        "## 1. Ballot throughput over HTTP",
        "",
        f"wrk, 32 connections, {t['seconds']} s each; the ballots are authenticated `PUT "
        f"/api/v1/proposals/{{id}}/ballots/{{unit}}/` over {len(RESULTS['units']):,} units "
        "(most replace an earlier ballot).",
        "",
        "| endpoint | req/s | ratio to trivial | p50 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, run in (
        ("trivial JSON view (baseline)", trivial),
        ("token-authenticated DRF view", auth),
        ("ballot PUT", ballots),
    ):
        lines.append(
            f"| {label} | {run.rate:,.0f} | {run.rate / trivial.rate:.2f} | {ms(run.p50)} | "
            f"{ms(run.p99)} | {run.errors} |"
        )
    lines += [
        "",
        f"pgbench, one-row INSERT transactions, 32 clients: **{t['pgbench_tps']:,.0f} TPS** "
        f"(the storage ceiling; ballots reach {ballots.rate / t['pgbench_tps']:.2f} of it).",
        "",
        "## 2. Bursts: every delegate casts at the same moment",
        "",
        "All requests start together; at most 64 are on the wire at once (a proxy's upstream "
        "pool), so a delegate's latency includes the wait for a connection.",
        "",
        "| delegates | all accepted in s | ballots/s | p50 ms | p99 ms | errors |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for n, run in RESULTS["bursts"]:
        lines.append(
            f"| {n:,} | {run.seconds:.2f} | {n / run.seconds:,.0f} | {ms(run.p50)} | "
            f"{ms(run.p99)} | {run.errors} |"
        )
    lines += [
        "",
        f"## 3. Tally and close of a {close['units']:,}-unit vote",
        "",
        "| step | ms | ratio to COUNT | queries |",
        "|---|---:|---:|---:|",
        f"| `SELECT count(*)` of the ballots (baseline) | {ms(close['count_s'])} | 1.0 | 1 |",
        f"| live tally (`tally.count_vote` + `evaluate`) | {ms(close['tally_s'])} | "
        f"{close['tally_s'] / close['count_s']:.1f} | {close['tally_queries']} |",
        f"| `close_vote` (locks, count, frozen result, ledger) | {ms(close['close_s'])} | "
        f"{close['close_s'] / close['count_s']:.1f} | {close['close_queries']} |",
        "",
        "## 4. Pages (server time, median of 30, through Django's test client)",
        "",
        "| page | ms | ratio to trivial | queries |",
        "|---|---:|---:|---:|",
    ]
    base = RESULTS["pages"][0][1]
    for label, seconds, queries in RESULTS["pages"]:
        lines.append(f"| {label} | {ms(seconds)} | {seconds / base:.1f} | {queries} |")
    lines += [
        "",
        "250 units in the snapshot, all present, 20 agenda items, 200 ballots on the open vote.",
        "",
        "## 5. Exports and verification",
        "",
        "Each export streams to /dev/null in a fresh process; peak memory is that process's "
        "maximum resident set. CSV rows are decisions (100 ballots each); JSON rows are "
        "ballots (the export also carries every ledger event).",
        "",
        "| ballot rows | format | rows | seconds | rows/s | MB written | peak MB |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for size, kind, run, _ in exports_rows:
        lines.append(
            f"| {size:,} | {kind} | {run['rows']:,} | {run['seconds']:.2f} | "
            f"{run['rows'] / run['seconds']:,.0f} | {run['bytes'] / 1e6:,.0f} | "
            f"{run['peak_kb'] / 1024:.0f} |"
        )
    lines += [
        "",
        f"`bench/verify.py --events {RESULTS['verify_events']}` (its own scratch database):",
        "",
    ]
    lines += RESULTS["verify"]
    analysis = ROOT / "bench" / "analysis.md"
    if analysis.exists():
        lines += ["", analysis.read_text().rstrip()]
    return "\n".join(lines) + "\n"


def postgres_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return "PostgreSQL " + cursor.fetchone()[0].split()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--output", default=str(ROOT / "docs" / "performance.md"))
    args = parser.parse_args()
    began = time.perf_counter()
    check_tools()
    sys.path.insert(0, str(ROOT / "bench"))
    from common import ensure_database, register_tasks, reset_database

    ensure_database(BENCH_DB)
    import django

    django.setup()
    register_tasks()
    from bench.fixtures import council_of

    reset_database()
    big_n, small_n = (2000, 200) if args.quick else (10_000, 1_000)
    say(f"Setting up councils of {big_n:,}, {small_n:,}, 250 and 100 units ...")
    big = council_of("Big", big_n)
    small = council_of("Small", small_n)
    room = council_of("Room", 250)
    archive = council_of("Archive", 100)
    RESULTS["units"] = big.units
    server = start_gunicorn()
    try:
        throughput(big, 3 if args.quick else args.seconds)
        burst(small, "small")
        big_vote = burst(big, "big")
    finally:
        server.terminate()
        server.wait(timeout=30)
    close_and_tally(big, big_vote)
    pages(room)
    exports(archive, [10_000, 100_000] if args.quick else [10_000, 1_000_000])
    verify_ledger_at(10_000 if args.quick else 100_000)
    text = render(args, time.perf_counter() - began)
    Path(args.output).write_text(text, encoding="utf-8")
    say("\n" + text)
    say(f"Written to {args.output}")


if __name__ == "__main__":
    sys.stdout = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", line_buffering=True)
    main()
