#!/usr/bin/env python3
"""Verify a Quorum export offline, trusting nothing but this file and the export.

    python3 proposals/verify_export.py decisions.json [--expect-head SEQ:HASH ...]

Standard library only (no Django, no Quorum import): an auditor can read all of it. It

1. re-checks every ledger chain in the export: each event's SHA-256 over its canonical
   JSON and the previous hash, the links, gap-free numbering, and the head;
2. replays the chain: the council's rules, the units, every check-in and check-out, the
   eligible units of each vote (of its meeting, for votes recorded before votes were
   numbered), the rule set each vote opened with (which must be the council's of the
   day), every ballot cast (the last per unit counts), and the result recorded at close,
   which it re-derives from the replayed attendance, ballots and rules;
3. re-derives every decision with its own implementation of the rule (integers only):
   the counts from the ballots, the quorum and majority lines, the outcome under the
   council's basis and the three readings;

4. re-applies the export's filter to the chain's closes (a date is a day in the
   council's time zone, as the register reads it): every closed vote it selects
   must be in the export; and each ``--expect-head`` (a head kept from the minutes or a
   result email) must be an event of a chain, with that hash;

and says exactly what does not match. Exit status 0 when everything holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import sys
import zoneinfo
from typing import Any

GENESIS = "0" * 64
BASES = ("members", "present", "cast")

# The register's filters, as the export records them ("council": one id, or a list).
FILTERS = {"council", "outcome", "proposer_unit", "closed_after", "closed_before"}

# What each event about a vote names: the vote, or (events written before votes were
# records of their own) its proposal.
OBJECT_KINDS = {
    "vote.opened": "vote",
    "vote.ballot_cast": "vote",
    "vote.closed": "vote",
    "proposal.vote_opened": "proposal",
    "proposal.ballot_cast": "proposal",
    "proposal.vote_closed": "proposal",
    "meeting.started": "meeting",
    "attendance.checked_in": "meeting",
    "attendance.checked_out": "meeting",
    "council.created": "council",
    "council.updated": "council",
    "unit.created": "unit",
    "unit.updated": "unit",
}


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(council: int, event: dict[str, Any]) -> str:
    body = {
        key: event[key] for key in ("seq", "at", "actor", "action", "object", "data", "prev_hash")
    }
    body["council"] = council
    return hashlib.sha256(canonical(body)).hexdigest()


def smallest_passing(fraction: dict[str, Any], total: int) -> int:
    """The least count that is more than (strict) or at least the fraction of total."""
    product = fraction["numerator"] * total
    denominator = fraction["denominator"]
    if fraction["strict"]:
        least = product // denominator + 1
    else:
        least = (product + denominator - 1) // denominator
    return max(1, least)  # nothing is decided by nobody


def derive(rules: dict[str, Any], eligible: int, present: int, yes: int, no: int) -> dict[str, Any]:
    quorum_met = present >= smallest_passing(rules["quorum"], eligible)
    totals = {"members": eligible, "present": present, "cast": yes + no}
    readings = {}
    for basis in BASES:
        passed = yes >= smallest_passing(rules["majority"], totals[basis])
        readings[basis] = "no_quorum" if not quorum_met else "passed" if passed else "rejected"
    return {
        "quorum_met": quorum_met,
        "readings": readings,
        "outcome": readings[rules["majority"]["basis"]],
    }


class Audit:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.events = 0
        self.heads: list[str] = []

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def chain(self, council: dict[str, Any]) -> dict[str, Any]:
        """Check one chain; return what it says about units, meetings, votes, ballots."""
        cid = council["id"]
        said: dict[str, Any] = {
            key: {}
            for key in (
                "meeting_eligible",
                "eligible",
                "rules",
                "ballots",
                "casts",
                "results",
                "opened",
                "closed",
                "proposals",
                "units",
                "deadlines",
                "stays",
                "meeting_stays",
            )
        }
        said["council"], said["council_rules"] = cid, None
        # The council's time zone, as its chain last recorded it (else as the export says):
        # a filter's date is a day there.
        said["time_zone"] = council.get("time_zone")
        expected, prev = 1, GENESIS
        for event in council["events"]:
            self.events += 1
            where = f"council {cid}, event {event.get('seq')}"
            if event["seq"] != expected:
                self.problem(f"{where}: expected event {expected} (gap, duplicate or reorder)")
            if event["prev_hash"] != prev:
                self.problem(f"{where}: does not link to the event before it")
            if event_hash(cid, event) != event["hash"]:
                self.problem(f"{where}: content does not match its hash (edited)")
            expected, prev = event["seq"] + 1, event["hash"]
            self.replay(said, event)
        head = council.get("head")
        if head is None or (head["seq"], head["hash"]) != (expected - 1, prev):
            self.problem(
                f"council {cid}: the head does not match the end of the chain "
                "(events cut from the tail, or the head rewritten)"
            )
        for unit in council.get("units", []):
            shown = {k: unit[k] for k in ("name", "short_name", "voting")}
            if said["units"].get(unit["id"]) != shown:
                self.problem(
                    f"council {cid}, unit {unit['id']}: name or voting status "
                    "differs from the ledger"
                )
        self.heads.append(f"council {cid}: event {expected - 1}, hash {prev}")
        return said

    def replay(self, said: dict[str, Any], event: dict[str, Any]) -> None:
        """Replay one event; one whose data cannot be read is reported, not a crash."""
        try:
            self._replay(said, event)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self.problem(
                f"council {said['council']}, event {event.get('seq')}: "
                f"{event.get('action')!r} on {event.get('object')!r} cannot be read ({exc!r})"
            )

    def _replay(self, said: dict[str, Any], event: dict[str, Any]) -> None:
        action, data = event["action"], event["data"]
        kind, _sep, number = event["object"].partition(":")
        if not _ascii_digits(number):
            raise ValueError(f"not an object reference: {event['object']!r}")
        pk = int(number)
        expected = OBJECT_KINDS.get(action)
        if expected is not None and kind != expected:
            where = f"council {said['council']}, event {event['seq']}"
            self.problem(f"{where}: a {action!r} event about {event['object']!r}, not a {expected}")
            return
        # A vote is named by (proposal, number). Events written before votes were
        # numbered are about their proposal's first and only vote.
        if kind == "proposal":
            vote = (pk, 1)
        elif kind == "vote":
            vote = (data["proposal"], data["number"])
        if action in ("council.created", "council.updated"):
            said["council_rules"] = data.get("rules", said["council_rules"])
            said["time_zone"] = data.get("time_zone", said.get("time_zone"))
        elif action == "meeting.started":
            said["meeting_eligible"][pk] = sorted(data["eligible_units"])
        elif action == "attendance.checked_in":
            stay = {"meeting": pk, "unit": data["unit"], "in": data["at"], "out": None}
            said["stays"][data["attendance"]] = stay
            said["meeting_stays"].setdefault(pk, []).append(stay)
        elif action == "attendance.checked_out":
            said["stays"][data["attendance"]]["out"] = data["at"]
        elif action in ("proposal.created", "proposal.updated"):
            known = said["proposals"].setdefault(pk, {})
            known.update({k: data[k] for k in ("title", "proposer_unit", "meeting") if k in data})
        elif action in ("unit.created", "unit.updated"):
            known = said["units"].setdefault(pk, {})
            known.update({k: data[k] for k in ("name", "short_name", "voting") if k in data})
        elif action in ("vote.opened", "proposal.vote_opened"):
            said["rules"][vote] = data["rules"]
            said["opened"][vote] = data.get("opened_at")
            said["deadlines"][vote] = data.get("deadline")
            if "eligible_units" in data:
                said["eligible"][vote] = sorted(data["eligible_units"])
            self.opened(said, event, vote)
        elif action in ("vote.ballot_cast", "proposal.ballot_cast"):
            if vote in said["results"]:
                self.problem(f"event {event['seq']}: a ballot recorded after its vote closed")
            said["ballots"].setdefault(vote, {})[data["unit"]] = data["choice"]
            said["casts"][(vote, data["unit"])] = (
                event["actor"],
                data["at"],
                data["recorded_by_secretary"],
            )
        elif action in ("vote.closed", "proposal.vote_closed"):
            said["results"][vote] = data["result"]
            said["closed"][vote] = data["closed_at"]
            self.closed(said, event, vote)

    @staticmethod
    def present_at(said: dict[str, Any], meeting: int, moment: str) -> set[int]:
        """The meeting's eligible units checked in at ``moment``, by the ledger's
        check-ins and check-outs (the times sort as the moments do)."""
        eligible = set(said["meeting_eligible"].get(meeting, ()))
        return {
            s["unit"]
            for s in said["meeting_stays"].get(meeting, ())
            if s["unit"] in eligible
            and s["in"] <= moment
            and (s["out"] is None or s["out"] > moment)
        }

    @staticmethod
    def eligible_of(said: dict[str, Any], vote: tuple[int, int], meeting: int | None) -> Any:
        return said["eligible"].get(vote, said["meeting_eligible"].get(meeting))

    def opened(self, said: dict[str, Any], event: dict[str, Any], vote: tuple[int, int]) -> None:
        """The vote froze the council's rules of the day, and counted the room right."""
        data, name = event["data"], f"council {said['council']}, event {event['seq']}"
        charter = said["council_rules"]
        if charter is not None:
            kind = data.get("kind", "ordinary")
            majority = charter.get("special_majority") if kind == "special" else charter["majority"]
            if majority is not None and data["rules"] != {
                "quorum": charter["quorum"],
                "majority": majority,
            }:
                self.problem(
                    f"{name}: vote {vote[1]} on proposal {vote[0]} opened with a rule set "
                    "other than the council's as its ledger records it"
                )
        meeting = said["proposals"].get(vote[0], {}).get("meeting")
        if meeting is None or data.get("opened_at") is None or "quorum" not in data:
            return  # votes written before votes were records do not say when they opened
        counted = {
            "eligible": len(self.eligible_of(said, vote, meeting) or []),
            "present": len(self.present_at(said, meeting, data["opened_at"])),
        }
        if data["quorum"] != counted:
            self.problem(
                f"{name}: vote {vote[1]} on proposal {vote[0]} opened counting "
                f"{data['quorum']} but the ledger's attendance gives {counted}"
            )

    def closed(self, said: dict[str, Any], event: dict[str, Any], vote: tuple[int, int]) -> None:
        """Re-derive the result recorded at the close from the ledger alone: the units
        in the room at the close (at the deadline, for a vote that reached it), the
        ballots, the snapshot and the rules the vote opened with."""
        data, name = event["data"], f"council {said['council']}, event {event['seq']}"
        meeting = said["proposals"].get(vote[0], {}).get("meeting")
        eligible = self.eligible_of(said, vote, meeting)
        if meeting is None or eligible is None or vote not in said["rules"]:
            return  # reported against the decision, if exported
        deadline = said["deadlines"].get(vote)
        closed_at = data["closed_at"]
        moment = deadline if deadline and deadline <= closed_at else closed_at
        ballots = said["ballots"].get(vote, {})
        present = self.present_at(said, meeting, moment) | set(ballots)
        result = data["result"]
        if sorted(present) != result.get("present_units"):
            self.problem(
                f"{name}: vote {vote[1]} on proposal {vote[0]}: the units counted present "
                "at the close differ from the ledger's attendance and ballots"
            )
        choices = list(ballots.values())
        counts = {
            "eligible": len(eligible),
            "present": len(present),
            "yes": choices.count("yes"),
            "no": choices.count("no"),
            "abstain": choices.count("abstain"),
        }
        counts["not_voted"] = counts["present"] - counts["yes"] - counts["no"] - counts["abstain"]
        derived = {
            **counts,
            **derive(
                said["rules"][vote],
                counts["eligible"],
                counts["present"],
                counts["yes"],
                counts["no"],
            ),
        }
        differ = sorted(k for k in (*counts, "readings", "outcome") if result.get(k) != derived[k])
        if differ:
            self.problem(
                f"{name}: vote {vote[1]} on proposal {vote[0]}: the result recorded at the "
                f"close differs from one re-derived from the ledger ({', '.join(differ)})"
            )

    def decision(self, d: dict[str, Any], said: dict[str, Any]) -> None:
        pid, vote = d["id"], (d["id"], d["number"])
        where = f"decision {pid}/{d['number']} ({d['title']!r})"
        eligible = d["eligible_units"]
        logged = said["eligible"].get(vote, said["meeting_eligible"].get(d["meeting"]["id"]))
        if logged != sorted(eligible):
            self.problem(f"{where}: eligible units differ from the ledger")
        if said["rules"].get(vote) != d["rules"]:
            self.problem(f"{where}: rule set differs from the one the vote opened with")
        known = said["proposals"].get(pid, {})
        if (known.get("title"), known.get("proposer_unit")) != (d["title"], d["proposer_unit"]):
            self.problem(f"{where}: title or proposer unit differs from the ledger")
        if (said["opened"].get(vote), said["closed"].get(vote)) != (
            d["opened_at"],
            d["closed_at"],
        ):
            self.problem(f"{where}: opening or closing time differs from the ledger")
        ballots = {b["unit"]: b["choice"] for b in d["ballots"]}
        if said["ballots"].get(vote, {}) != ballots:
            self.problem(f"{where}: ballots differ from those recorded in the ledger")
        for b in d["ballots"]:
            if said["casts"].get((vote, b["unit"])) != (
                b["cast_by"],
                b["cast_at"],
                b["recorded_by_secretary"],
            ):
                self.problem(
                    f"{where}: the ballot of unit {b['unit']} names another caster "
                    "or time than the ledger"
                )
        if not set(ballots) <= set(eligible):
            self.problem(f"{where}: a ballot of a unit that was not eligible")
        result = d["result"]
        present_units = set(result["present_units"]) | set(ballots)
        counts = {
            "eligible": len(eligible),
            "present": len(present_units),
            "yes": sum(c == "yes" for c in ballots.values()),
            "no": sum(c == "no" for c in ballots.values()),
            "abstain": sum(c == "abstain" for c in ballots.values()),
        }
        counts["not_voted"] = counts["present"] - counts["yes"] - counts["no"] - counts["abstain"]
        for key, value in counts.items():
            if result.get(key) != value:
                self.problem(f"{where}: {key} is {result.get(key)} but the ballots give {value}")
        derived = derive(
            d["rules"], counts["eligible"], counts["present"], counts["yes"], counts["no"]
        )
        if derived["readings"] != result.get("readings"):
            self.problem(
                f"{where}: readings {result.get('readings')} but re-derived {derived['readings']}"
            )
        if derived["outcome"] != d["outcome"] or derived["outcome"] != result.get("outcome"):
            self.problem(f"{where}: outcome {d['outcome']!r} but re-derived {derived['outcome']!r}")
        recorded = {k: v for k, v in result.items() if k != "explanation"}
        if said["results"].get(vote) != recorded:
            self.problem(f"{where}: result differs from the one recorded when the vote closed")


def verify(export: dict[str, Any]) -> Audit:
    audit = Audit()
    if export.get("format") != "quorum-export/2":
        audit.problem(f"not a Quorum export (format {export.get('format')!r})")
        return audit
    chains = {council["id"]: audit.chain(council) for council in export["councils"]}
    for decision in export["decisions"]:
        said = chains.get(decision["council"])
        if said is None:
            audit.problem(f"decision {decision['id']}: its council's chain is missing")
            continue
        audit.decision(decision, said)
    listed = {(d["id"], d["number"]) for d in export["decisions"]}
    select = selector(export.get("filter") or {}, audit)
    if select is None:
        return audit
    wanted = select["council"]
    for cid in sorted((wanted or set()) - set(chains)):
        audit.problem(f"council {cid}: selected by the export's filter but its chain is missing")
    # Every vote the chains say was closed and the filter selects must be in the export:
    # the filter is re-applied to the chain's own record of each close.
    for cid, said in chains.items():
        if wanted is not None and cid not in wanted:
            continue
        for pid, number in sorted(set(said["results"]) - listed):
            if select["match"](said, (pid, number)):
                audit.problem(
                    f"council {cid}: vote {number} on proposal {pid} was closed but its "
                    "decision is missing from the export"
                )
    return audit


def moment(text: Any, zone: str | None = "UTC") -> str | None:
    """A filter's date, or date and time, as the ledger writes times (UTC, microseconds):
    a date is its midnight in the council's time zone ``zone``, a time without an offset
    is UTC — as the register reads them. None if it is neither, or if the zone is not
    known here (Python finds time zones in the system's tzdata)."""
    text = str(text)
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        day = None
    try:
        if day is not None:  # a date alone: a day of the council, from its midnight
            where = datetime.UTC if zone in (None, "UTC") else zoneinfo.ZoneInfo(str(zone))
            at = datetime.datetime.combine(day, datetime.time(), where)
        else:
            at = datetime.datetime.fromisoformat(text)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=datetime.UTC)
    return at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ascii_digits(text: str) -> bool:
    # str.isdecimal() also accepts other scripts' digits, which int() reads (U+0667 is 7).
    return text.isascii() and text.isdigit()


def _number(value: Any) -> int | None:
    text = str(value)
    return int(text) if _ascii_digits(text) else None


def selector(selection: dict[str, Any], audit: Audit) -> dict[str, Any] | None:
    """The export's filter as a test on a closed vote of a chain (and the councils it
    names, or None for all); None, with a problem, for a filter this file cannot apply."""
    unknown = sorted(set(selection) - FILTERS)
    if unknown:
        audit.problem(
            f"the export's filter names {unknown}, which this verifier cannot re-apply: "
            "whether a decision is missing cannot be checked"
        )
        return None
    councils = selection.get("council")
    wanted = None
    if councils is not None:
        wanted = {_number(c) for c in (councils if isinstance(councils, list) else [councils])}
    after, before = selection.get("closed_after"), selection.get("closed_before")
    unit = selection.get("proposer_unit")
    proposer = _number(unit) if unit is not None else None
    if (
        None in (wanted or set())
        or (after is not None and moment(after) is None)
        or (before is not None and moment(before) is None)
        or (unit is not None and proposer is None)
    ):
        audit.problem(f"the export's filter {selection} cannot be read")
        return None
    outcome = selection.get("outcome")
    unknown_zones: set[str] = set()

    def bounds(zone: str | None) -> tuple[str, str | None]:
        since = moment(after, zone) if after is not None else ""
        until = moment(before, zone) if before is not None else None
        if since is None or (before is not None and until is None):
            if zone not in unknown_zones:
                unknown_zones.add(str(zone))
                audit.problem(
                    f"the time zone {zone!r} is not known to this Python (no tzdata): the "
                    "filter's days cannot be re-applied"
                )
            return "~", ""  # selects nothing: the problem above says why
        return since, until

    def match(said: dict[str, Any], vote: tuple[int, int]) -> bool:
        closed_at = said["closed"][vote]
        since, until = bounds(said.get("time_zone"))
        return (
            (outcome is None or said["results"][vote].get("outcome") == outcome)
            and (
                proposer is None
                or said["proposals"].get(vote[0], {}).get("proposer_unit") == proposer
            )
            and closed_at >= since
            and (until is None or closed_at < until)
        )

    return {"council": wanted, "match": match}


def expect_heads(export: dict[str, Any], heads: list[str], audit: Audit) -> None:
    """Each head a member kept (``SEQ:HASH``) must be an event of one of the chains."""
    for head in heads:
        seq_text, _sep, digest = head.partition(":")
        if (
            not _ascii_digits(seq_text)
            or len(seq_text) > 18
            or len(digest) != 64
            or set(digest) - set("0123456789abcdef")
        ):
            audit.problem(f"expected head {head!r} is not SEQ:HASH")
            continue
        seq = int(seq_text)
        found = [
            event["hash"]
            for council in export.get("councils", [])
            for event in council["events"]
            if event.get("seq") == seq
        ]
        if digest in found:
            continue
        if not found:
            audit.problem(f"expected head {head}: no chain of the export reaches event {seq}")
        else:
            audit.problem(
                f"expected head {head}: no chain of the export extends it (its event "
                f"{seq} has another hash)"
            )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog=argv[0], description="Verify a Quorum export offline (standard library only)."
    )
    parser.add_argument("export", help="the JSON export file")
    parser.add_argument(
        "--expect-head",
        action="append",
        default=[],
        metavar="SEQ:HASH",
        help="a head you kept (minutes, result email): the export's chain must extend it "
        "(repeatable)",
    )
    args = parser.parse_args(argv[1:])
    try:
        with open(args.export, encoding="utf-8") as handle:
            export = json.load(handle)
    except OSError as exc:
        print(f"FAILED: cannot read {args.export}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        # A truncated download or another file: say so in one line, no traceback.
        print(
            f"FAILED: {args.export} is not a complete Quorum JSON export ({exc}). "
            "Download it again from the register (JSON).",
            file=sys.stderr,
        )
        return 2
    if not isinstance(export, dict) or "decisions" not in export or "councils" not in export:
        print(
            f"FAILED: {args.export} is JSON but not a Quorum export (no decisions and councils).",
            file=sys.stderr,
        )
        return 2
    audit = verify(export)
    expect_heads(export, args.expect_head, audit)
    decisions, chains = len(export.get("decisions", [])), len(export.get("councils", []))
    if audit.problems:
        print(
            f"FAILED: {len(audit.problems)} problem(s) in {decisions} decision(s) and "
            f"{chains} chain(s):"
        )
        for text in audit.problems:
            print(f"  - {text}")
        return 1
    print(
        f"OK: all {decisions} decisions re-derived, chain intact "
        f"({audit.events} events in {chains} chain(s))."
    )
    for head in args.expect_head:
        print(f"  extends the expected head {head}")
    for head in audit.heads:  # to hold against the heads printed in the minutes
        print(f"  {head}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
