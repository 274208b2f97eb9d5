"""Export the decision register to a file, streamed, with a progress bar on stderr."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import QuerySet

from proposals import exports
from proposals.filters import DecisionFilter
from proposals.models import Proposal, Vote


class Command(BaseCommand):
    help = (
        "Write the decision register as CSV, or as the self-contained JSON export that "
        "proposals/verify_export.py checks offline."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--format", choices=["csv", "json"], default="json")
        parser.add_argument("--output", "-o", required=True, help="file to write ('-': stdout)")
        parser.add_argument("--council", type=int, action="append", help="repeatable")
        # Read as text, as the API reads its query: the register's filters judge them.
        parser.add_argument("--outcome", help=", ".join(Proposal.Outcome.values))
        parser.add_argument("--proposer-unit", help="a unit id")
        days = "ISO 8601 date (a day in each council's time zone), or date and time (UTC if bare)"
        parser.add_argument("--closed-after", help=days)
        parser.add_argument("--closed-before", help=days)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        # A QuerySet[Vote]: what the filter set's .qs gives back (typed as any model's).
        decisions: QuerySet[Vote] = Vote.objects.closed()
        if options["council"]:
            decisions = decisions.filter(proposal__council_id__in=options["council"])
        chosen = {
            name: str(options[name])
            for name in DecisionFilter.base_filters
            if options.get(name) is not None
        }
        register_filter = DecisionFilter(chosen, queryset=decisions)
        if not register_filter.is_valid():
            raise CommandError(
                "; ".join(
                    f"--{name.replace('_', '-')}: {message}"
                    for name, _label, message in register_filter.refusals()
                )
            )
        decisions = register_filter.qs
        total = decisions.count()
        done = 0

        def tick() -> None:
            nonlocal done
            done += 1
            if not options["no_progress"] and (done == total or done % 200 == 0):
                filled = 30 * done // max(total, 1)
                sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
                sys.stderr.flush()

        if options["format"] == "csv":
            chunks = exports.csv_rows(decisions, on_decision=tick)
        else:
            councils = {"council": options["council"]} if options["council"] else {}
            selection = {**councils, **chosen}
            chunks = exports.json_export(decisions, on_decision=tick, selection=selection)
        out = (
            sys.stdout
            if options["output"] == "-"
            else open(  # noqa: SIM115
                options["output"], "w", encoding="utf-8", newline=""
            )
        )
        try:
            for chunk in chunks:
                out.write(chunk)
        finally:
            if out is not sys.stdout:
                out.close()
        if not options["no_progress"]:
            sys.stderr.write(f"\nexported {done} decision(s) to {options['output']}\n")
