"""What each API operation is for, as the OpenAPI schema tells the people who call it.

One short description per operation: who may call it, what it does, its notable
refusals. The views' docstrings speak to the code's readers and the schema uses none of
them (``DISABLE_DOCSTRING_DESCRIPTIONS``): a client reads only what is written here.
Keyed by method and path as the schema names them; an operation missing here is a
warning of the schema generator, and ``manage.py spectacular --fail-on-warn`` (run by
tests/test_api_client.py) fails on it.
"""

from __future__ import annotations

DESCRIPTIONS: dict[str, str] = {
    # --- Authentication and identity
    "POST /api/v1/auth/token/": (
        "Anyone: exchange a username and password for the caller's API token, to send as "
        "`Authorization: Token <key>`. The same token is returned on every call. Wrong or "
        "missing credentials: 400 (`non_field_errors` or the missing field). An "
        "`Authorization` header is not needed, but a wrong one is refused (401). 429 when "
        "this address asks too often, or this username is locked out from it after "
        "failed attempts (see `Retry-After`)."
    ),
    "GET /api/v1/me/": (
        "Any signed-in person: their username and their roles, one per council (a "
        "delegate's role names their unit)."
    ),
    # --- Councils
    "GET /api/v1/councils/": (
        "Any signed-in person: the councils they hold a role in (superusers: every "
        "council), each with its rule set."
    ),
    "POST /api/v1/councils/": (
        "Superusers only (others: 403): create a council with its rule set: the quorum "
        "and majority fractions and the majority's basis (the default rule set when "
        "omitted). A slug already taken: 400."
    ),
    "GET /api/v1/councils/{id}/": (
        "A council the caller holds a role in (404 otherwise), with its rule set."
    ),
    # --- Roles and member units
    "GET /api/v1/roles/": (
        "Secretaries and auditors see every role of their councils; everyone else sees "
        "only their own."
    ),
    "POST /api/v1/roles/": (
        "The council's secretaries and superusers: give an existing user a role. `unit` "
        "is required for a delegate and must be null otherwise (400); an unknown username "
        "or a unit of another council: 400."
    ),
    "GET /api/v1/roles/{id}/": ("One role, if the caller may see it (as in the role list)."),
    "DELETE /api/v1/roles/{id}/": (
        "The council's secretaries and superusers: take a role away (204). Others who can "
        "see the role: 403."
    ),
    "GET /api/v1/units/": (
        "Anyone with a role in the council: its member units. `voting=false` marks a "
        "non-voting participant."
    ),
    "POST /api/v1/units/": (
        "The council's secretaries and superusers: add a member unit. Values the council "
        "already uses, or a second chair unit: 400 naming the field."
    ),
    "GET /api/v1/units/{id}/": "One member unit of a council the caller holds a role in.",
    # --- Meetings and attendance
    "GET /api/v1/meetings/": ("Anyone with a role in the council: its meetings, the latest first."),
    "POST /api/v1/meetings/": (
        "The council's secretaries and superusers: schedule a meeting (`mode` in_person "
        "by default)."
    ),
    "GET /api/v1/meetings/{id}/": "One meeting of a council the caller holds a role in.",
    "POST /api/v1/meetings/{id}/start/": (
        "The council's secretaries: open the session. The units eligible to vote are "
        "fixed at this moment. A meeting that already started: 409 `not_scheduled`."
    ),
    "POST /api/v1/meetings/{id}/adjourn/": (
        "The council's secretaries: end the session. 409 `vote_open` while a vote is "
        "open (close it first), `not_in_session` outside a session."
    ),
    "PUT /api/v1/meetings/{id}/attendance/{unit_id}/": (
        "Check a unit in (`present: true`) or out, during the session; answers with the "
        "quorum line as it now stands. Secretaries record any unit; a delegate only their "
        "own unit, and only in online or hybrid meetings (403 otherwise). 409 "
        "`not_in_session` outside the session. Checking in twice changes nothing. 429 "
        "when one person changes one unit's attendance too often (10 a minute by default)."
    ),
    "GET /api/v1/meetings/{id}/quorum/": (
        "Anyone with a role in the council: how many eligible units are present, and "
        "how many the quorum requires (the smallest passing count)."
    ),
    # --- Proposals and votes
    "GET /api/v1/proposals/": (
        "Anyone with a role in the council: its proposals, by meeting and agenda order."
    ),
    "POST /api/v1/proposals/": (
        "Secretaries, or a delegate with their own unit as `proposer_unit` (another unit: "
        "403): add a draft proposal to a meeting's agenda. 409 `meeting_adjourned` for a "
        "meeting that has ended; 409 `draft_limit` when the delegate's unit already has "
        "its maximum of open drafts on that agenda (10 by default)."
    ),
    "GET /api/v1/proposals/{id}/": "One proposal of a council the caller holds a role in.",
    "POST /api/v1/proposals/{id}/open/": (
        "The council's secretaries: put a proposal to the vote — a new vote, which becomes "
        "its current one — on a draft or on a proposal whose last vote was void "
        "(`no_quorum`). The vote freezes the council's rule for the proposal's `kind`. "
        "409 `not_draft` (passed, rejected, open or withdrawn), "
        "`not_in_session` (the meeting is not in session), `vote_open` (another vote of "
        "the meeting is open) or `no_quorum`. An optional body sets the vote's `deadline` "
        "(400 if it is not in the future)."
    ),
    "POST /api/v1/proposals/{id}/close/": (
        "The council's secretaries: close the proposal's current vote and freeze its "
        "result, answered as the "
        "tally. 409 `vote_not_open` or `vote_closed`."
    ),
    "POST /api/v1/proposals/{id}/withdraw/": (
        "The council's secretaries: withdraw a proposal whose vote has not opened; 409 "
        "`not_draft` once it has."
    ),
    "GET /api/v1/proposals/{id}/ballots/": (
        "Anyone with a role in the council: the vote's ballots, one per unit (a replaced "
        "ballot shows its latest choice), with who cast it and when."
    ),
    "PUT /api/v1/proposals/{id}/ballots/{unit_id}/": (
        "Cast or replace a unit's single ballot while the vote is open. A delegate casts "
        "for their own unit (other units: 403), and in online or hybrid meetings this "
        "checks the unit in; a secretary records a ballot given in the room for a unit "
        "present. 409 `vote_not_open`, `vote_closed`, `not_eligible` (not eligible in this "
        "meeting) or `unit_not_present`. Rate-limited per person (429)."
    ),
    "GET /api/v1/proposals/{id}/tally/": (
        "Anyone with a role in the council: the counts, the quorum and majority lines and "
        "the outcome under the council's basis, with all three readings. While the vote "
        "is open the counts are live and `outcome` is null; once closed, the frozen "
        "result. 409 `vote_not_open` for a vote that never opened."
    ),
    # --- The decision register and the audit log
    "GET /api/v1/decisions/": (
        "Anyone with a role in the council: closed votes (a proposal voted twice appears "
        "twice) with their frozen tally, rule set and close time, oldest first, filtered "
        "by outcome, proposer unit and close time (a date is a day in each council's own "
        "time zone). `format=csv` (or `Accept: text/csv`) downloads the whole "
        "filtered register as CSV (also "
        "`GET /api/v1/decisions/csv/`); `format=json` the verifiable export with the "
        "ledger chains, for the council's secretaries and auditors only (403 otherwise). "
        "Both are unpaginated."
    ),
    "GET /api/v1/decisions/csv/": (
        "The whole filtered decision register as CSV (UTF-8 with a byte-order mark, one "
        "row per decision), unpaginated: the same rows as `GET /api/v1/decisions/"
        "?format=csv`, as an operation of its own for generated clients."
    ),
    "GET /api/v1/meetings/{id}/attendance/": (
        "Anyone with a role in the council: the meeting's attendance as CSV (UTF-8 with a "
        "byte-order mark, one row per check-in): the unit, its short name, whether it "
        "votes, checked in and out (in the council's time zone and in UTC), and whether "
        "it was in the room at the adjournment (empty before)."
    ),
    "GET /api/v1/decisions/ballots/": (
        "Anyone with a role in the council: every ballot of the filtered decisions as CSV "
        "(UTF-8 with a byte-order mark, one row per ballot), unpaginated: the vote, its "
        "proposal, the unit, the choice, who cast it and when (in the council's time zone "
        "and in UTC), whether the secretary recorded it, and the proxy holder (empty: "
        "Quorum has no proxies yet). Filtered as the register."
    ),
    "GET /api/v1/audit/events/": (
        "The council's secretaries and auditors: the append-only event log, chain order "
        "(others get an empty list: the log names every role granted)."
    ),
    "GET /api/v1/audit/verify/": (
        "Re-check every ledger chain the caller oversees (as secretary or auditor) and "
        "the stored votes against it: `ok` is true when `problems` is empty. Each "
        "`expect_head=SEQ:HASH` (a head kept from the minutes or a result email) must be "
        "extended by a verified chain; a malformed one is a 400."
    ),
}
