"""Benchmark: verifying the ledger at 100,000 events, against reading them.

Usage (PostgreSQL; the script creates and empties its own database):

    .venv/bin/python bench/verify.py [--events 100000]

It writes a valid chain of N events for one council (hashes computed here, inserted in
bulk: the point is the verifier, not the writer), then measures in the same run:

1. baseline — streaming the N rows out of PostgreSQL (the floor any verifier pays);
2. ``ledger.verify()`` — recomputing every hash and link;
3. ``manage.py verify_ledger`` — the chain plus the replay of the stored state;
4. the JSON export of the register and the standalone verifier on it,

and reports each as seconds and as a ratio to the baseline.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/quorum_bench_verify"
)
os.environ["DATABASE_URL"] = BENCH_DB
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "council.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    from common import ensure_database, reset_database

    ensure_database(BENCH_DB)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from council import ledger
    from council import services as council_services
    from council.models import LedgerEvent, LedgerHead

    reset_database()

    n = args.events
    root = get_user_model().objects.create_superuser("root", password=None)
    council = council_services.create_council(actor=root, name="Bench", slug="bench")
    print(f"Writing a chain of {n:,} events ...", flush=True)
    head = LedgerHead.objects.get(council=council)
    seq, prev = head.seq, head.hash
    start_at = timezone.now()
    batch: list[LedgerEvent] = []
    with transaction.atomic():
        for i in range(n - seq):
            seq += 1
            at = start_at + datetime.timedelta(microseconds=i)
            data = {"unit": i % 500, "choice": ("yes", "no", "abstain")[i % 3], "n": i}
            digest = ledger.event_hash(
                council=council.pk,
                seq=seq,
                at=ledger.format_time(at),
                actor="bench",
                action="bench.event",
                object="bench:1",
                data=data,
                prev_hash=prev,
            )
            batch.append(
                LedgerEvent(
                    council=council,
                    seq=seq,
                    at=at,
                    actor="bench",
                    action="bench.event",
                    object="bench:1",
                    data=data,
                    prev_hash=prev,
                    hash=digest,
                )
            )
            prev = digest
            if len(batch) == 5000:
                LedgerEvent.objects.bulk_create(batch)
                batch = []
        LedgerEvent.objects.bulk_create(batch)
        LedgerHead.objects.filter(pk=council.pk).update(seq=seq, hash=prev)

    def timed(label: str, call) -> tuple[str, float]:  # type: ignore[no-untyped-def]
        begin = time.perf_counter()
        call()
        return label, time.perf_counter() - begin

    def stream_rows() -> None:
        rows = LedgerEvent.objects.order_by("council_id", "seq").values_list(
            "council_id", "seq", "at", "actor", "action", "object", "data", "prev_hash", "hash"
        )
        for _row in rows.iterator(chunk_size=5000):
            pass

    def verify_chain() -> None:
        assert ledger.verify().ok

    def verify_command() -> None:
        call_command("verify_ledger", stdout=io.StringIO())

    export = Path("/tmp/quorum-bench-export.json")

    def export_and_check() -> None:
        from proposals import exports
        from proposals.models import Vote

        with export.open("w", encoding="utf-8") as out:
            for chunk in exports.json_export(Vote.objects.none(), councils=[council.pk]):
                out.write(chunk)
        result = subprocess.run(
            [
                sys.executable,
                "-S",
                "-I",
                str(ROOT / "proposals" / "verify_export.py"),
                str(export),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout

    results = [
        timed("stream the rows (baseline)", stream_rows),
        timed("ledger.verify(): hashes and links", verify_chain),
        timed("manage.py verify_ledger: chain + stored state", verify_command),
        timed("export JSON + standalone verify_export.py", export_and_check),
    ]
    base = results[0][1]
    print(f"\n{seq:,} events in one chain, PostgreSQL\n")
    print("| step | seconds | ratio to streaming |")
    print("|---|---:|---:|")
    for label, seconds in results:
        print(f"| {label} | {seconds:.2f} | {seconds / base:.1f} |")


if __name__ == "__main__":
    main()
