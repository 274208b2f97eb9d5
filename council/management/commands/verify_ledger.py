"""Re-check every ledger chain and recount every closed vote; exit 1 on any problem."""

from __future__ import annotations

import argparse
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from proposals.audit import parse_head, verify


def _head(text: str) -> tuple[int, str]:
    try:
        return parse_head(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


class Command(BaseCommand):
    help = "Verify the hash chains and recount closed votes. Prints a JSON report."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--council", type=int, action="append", help="Only this council's chain (repeatable)."
        )
        parser.add_argument(
            "--expect-head",
            type=_head,
            action="append",
            default=[],
            metavar="SEQ:HASH",
            help="A head kept from the minutes or a result email: the chain (of --council, "
            "if given) must extend it (repeatable).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify(options["council"], options["expect_head"])
        self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False))
        if not report["ok"]:
            raise CommandError(f"{len(report['problems'])} problem(s) found")
