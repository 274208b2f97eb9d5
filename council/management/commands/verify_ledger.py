"""Re-check every ledger chain and recount every closed vote; exit 1 on any problem."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from proposals.audit import verify


class Command(BaseCommand):
    help = "Verify the hash chains and recount closed votes. Prints a JSON report."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--council", type=int, action="append", help="Only this council's chain (repeatable)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify(options["council"])
        self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False))
        if not report["ok"]:
            raise CommandError(f"{len(report['problems'])} problem(s) found")
