#!/usr/bin/env python3
"""Verify a Quorum export offline, trusting nothing but this file and the export.

    python3 proposals/verify_export.py decisions.json

Standard library only (no Django, no Quorum import): an auditor can read all of it. It

1. re-checks every ledger chain in the export: each event's SHA-256 over its canonical
   JSON and the previous hash, the links, gap-free numbering, and the head;
2. replays the chain: the eligible units of each vote (of its meeting, for votes recorded
   before votes were numbered), the rule set each vote opened with, every ballot cast
   (the last per unit counts), and the result recorded at close;
3. re-derives every decision with its own implementation of the rule (integers only):
   the counts from the ballots, the quorum and majority lines, the outcome under the
   council's basis and the three readings;

and says exactly what does not match. Exit status 0 when everything holds, 1 otherwise.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

GENESIS = "0" * 64
BASES = ("members", "present", "cast")


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
            )
        }
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
        action, data = event["action"], event["data"]
        kind, _sep, number = event["object"].partition(":")
        pk = int(number)
        # A vote is named by (proposal, number). Events written before votes were
        # numbered are about their proposal's first and only vote.
        if kind == "proposal":
            vote = (pk, 1)
        elif kind == "vote":
            vote = (data["proposal"], data["number"])
        if action == "meeting.started":
            said["meeting_eligible"][pk] = sorted(data["eligible_units"])
        elif action in ("proposal.created", "proposal.updated"):
            known = said["proposals"].setdefault(pk, {})
            known.update({k: data[k] for k in ("title", "proposer_unit") if k in data})
        elif action in ("unit.created", "unit.updated"):
            known = said["units"].setdefault(pk, {})
            known.update({k: data[k] for k in ("name", "short_name", "voting") if k in data})
        elif action in ("vote.opened", "proposal.vote_opened"):
            said["rules"][vote] = data["rules"]
            said["opened"][vote] = data.get("opened_at")
            if "eligible_units" in data:
                said["eligible"][vote] = sorted(data["eligible_units"])
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
    if not export.get("filter"):
        # An unfiltered export must hold every vote its chains say was closed.
        listed = {(d["id"], d["number"]) for d in export["decisions"]}
        for cid, said in chains.items():
            for pid, number in sorted(set(said["results"]) - listed):
                audit.problem(
                    f"council {cid}: vote {number} on proposal {pid} was closed but its "
                    "decision is missing from the export"
                )
    return audit


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        export = json.load(handle)
    audit = verify(export)
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
    for head in audit.heads:  # to hold against the heads printed in the minutes
        print(f"  {head}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
