"""End-to-end: the delegates' week in real headless Chromium (issue 13).

A delegate casts from the meeting page's link and sees the receipt; a co-delegate
replaces the ballot and the first sees the change notice and the history; the secretary
records a show of hands. At 1280 and 390 px wide, in English and Chinese; any console
error fails, and so does a page wider than the screen at 390 px.
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from django.utils import timezone

from council import services as council_services
from council.models import LedgerEvent, Meeting
from proposals import services as proposal_services
from proposals.models import Ballot, Proposal

from .personas import World, build_world
from .test_browser import axe_problems, browser, shoot  # noqa: F401 — the browser fixture

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What the checks read, in each language (the rest is found by id).
WORDS = {
    "en": {"recorded": "Your ballot is recorded.", "changed_by": "changed by"},
    "zh-hans": {"recorded": "您的选票已记录。", "changed_by": "更改"},
}


class Screen:
    """One person's browser tab at one width and in one language, collecting console
    errors as it goes."""

    def __init__(self, chromium: Any, live_server: Any, username: str, width: int, lang: str):
        self.url = live_server.url
        self.width = width
        self.errors: list[str] = []
        context = chromium.new_context(viewport={"width": width, "height": 900})
        context.add_cookies([{"name": "django_language", "value": lang, "url": self.url}])
        self.page = context.new_page()
        self.page.set_default_timeout(10_000)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.goto(f"{self.url}/accounts/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", "pw")
        self.page.click("button[type=submit].primary")
        self.page.wait_for_url(f"{self.url}/")
        assert self.page.locator(f"html[lang={lang}]").count() == 1

    def goto(self, path: str) -> None:
        self.page.goto(f"{self.url}{path}")
        self.check()

    def check(self) -> None:
        """No console error so far; at phone width, nothing wider than the screen."""
        assert self.errors == [], self.errors
        if self.width <= 400:
            wide = self.page.evaluate(
                "document.documentElement.scrollWidth > document.documentElement.clientWidth"
            )
            assert not wide, f"horizontal overflow at {self.width}px on {self.page.url}"


@pytest.fixture
def vote() -> tuple[World, Meeting, Proposal]:
    w = build_world()
    meeting = council_services.create_meeting(
        actor=w.alice, council=w.council, title="General assembly", scheduled_at=timezone.now()
    )
    meeting = council_services.start_meeting(actor=w.alice, meeting=meeting)
    for unit in w.units[:15]:
        council_services.check_in(actor=w.alice, meeting=meeting, unit=unit)
    proposal = proposal_services.create_proposal(
        actor=w.alice, meeting=meeting, title="Adopt the budget", proposer_unit=w.chair
    )
    return w, meeting, proposal_services.open_vote(actor=w.alice, proposal=proposal)


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
@pytest.mark.parametrize("width", [1280, 390])
def test_the_delegates_week_receipt_notice_history_and_show_of_hands(
    browser: Any,  # noqa: F811 — the fixture imported above
    live_server: Any,
    vote: tuple[World, Meeting, Proposal],
    width: int,
    lang: str,
) -> None:
    w, meeting, proposal = vote
    words = WORDS[lang]
    u01 = w.units[0].pk

    # bob follows the meeting page's link to the ballot page, casts, sees the receipt.
    bob = Screen(browser, live_server, "bob", width, lang)
    bob.goto(f"/meetings/{meeting.pk}/")
    bob.page.click("#to-ballot")
    bob.page.wait_for_url(f"**/proposals/{proposal.pk}/vote/")
    bob.check()
    bob.page.click(f"#b-{u01}-yes")
    receipt = bob.page.locator(f"#receipt-{u01}")
    receipt.wait_for()
    event = LedgerEvent.objects.filter(action="vote.ballot_cast").latest("seq")
    text = receipt.inner_text()
    assert words["recorded"] in text
    assert f"#{event.seq}" in text and event.hash[:12] in text
    local = event.at.astimezone(w.council.zone).strftime("%Y-%m-%d %H:%M:%S")
    assert f"{local} (Europe/Paris)" in text
    bob.check()
    assert not axe_problems(bob.page), axe_problems(bob.page)
    shoot(bob.page, f"ballot-receipt-{lang}-{width}")

    # bea, the unit's second delegate, replaces it.
    bea = Screen(browser, live_server, "bea", width, lang)
    bea.goto(f"/proposals/{proposal.pk}/vote/")
    bea.page.click(f"#b-{u01}-no")
    bea.page.wait_for_selector(f"#b-{u01}-no[aria-pressed=true]")
    bea.page.locator(f"#receipt-{u01}").wait_for()
    bea.check()

    # bob sees that bea changed it, and the history of both versions.
    bob.goto(f"/proposals/{proposal.pk}/vote/")
    notice = bob.page.locator(f"#notice-{u01}").inner_text()
    assert "bea" in notice and words["changed_by"] in notice
    assert bob.page.locator(f"#history-{u01} li").count() == 2
    assert "bob" in bob.page.locator(f"#history-{u01} li").nth(0).inner_text()
    assert "bea" in bob.page.locator(f"#history-{u01} li").nth(1).inner_text()
    assert bob.page.locator(f"#receipt-{u01}").count() == 0
    assert not axe_problems(bob.page), axe_problems(bob.page)
    shoot(bob.page, f"ballot-notice-{lang}-{width}")

    # alice records a show of hands: all yes, except U02 no, U03 abstain, U04 not voting.
    alice = Screen(browser, live_server, "alice", width, lang)
    alice.goto(f"/meetings/{meeting.pk}/")
    alice.page.click("#to-hands")
    alice.page.wait_for_url(f"**/proposals/{proposal.pk}/show-of-hands/")
    alice.check()
    assert not axe_problems(alice.page), axe_problems(alice.page)
    # U01 voted online (bea's "no"): the form keeps it unless the secretary picks again.
    assert alice.page.is_checked(f"#h-{u01}-keep")
    alice.page.check(f"#h-{u01}-yes")
    alice.page.check(f"#h-{w.units[1].pk}-no")
    alice.page.check(f"#h-{w.units[2].pk}-abstain")
    alice.page.check(f"#h-{w.units[3].pk}-none")
    shoot(alice.page, f"show-of-hands-{lang}-{width}")
    alice.page.click("#hands-record")
    alice.page.wait_for_url(re.compile(rf"/meetings/{meeting.pk}/(#vote)?$"))
    alice.page.wait_for_selector(f"#b-{w.units[1].pk}-no[aria-pressed=true]")
    alice.page.wait_for_selector(f"#b-{w.units[2].pk}-abstain[aria-pressed=true]")
    assert alice.errors == [], alice.errors
    ballots = dict(
        Ballot.objects.filter(vote=proposal.current_vote).values_list("unit_id", "choice")
    )
    assert len(ballots) == 14 and w.units[3].pk not in ballots
    assert ballots[u01] == "yes" and ballots[w.units[14].pk] == "yes"
    assert LedgerEvent.objects.filter(action="vote.ballot_cast").count() == 2 + 14

    # bob is told the secretary changed his unit's ballot, marked in the history.
    bob.goto(f"/proposals/{proposal.pk}/vote/")
    assert "alice" in bob.page.locator(f"#notice-{u01}").inner_text()
    assert bob.page.locator(f"#history-{u01} li").count() == 3
    assert bob.page.locator(f"#history-{u01} li .tag").count() == 1
    bob.check()


def test_the_show_of_hands_and_the_receipt_work_with_javascript_off(
    browser: Any,  # noqa: F811 — the fixture imported above
    live_server: Any,
    vote: tuple[World, Meeting, Proposal],
) -> None:
    w, _meeting, proposal = vote
    context = browser.new_context(viewport={"width": 390, "height": 900}, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "pw")
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/proposals/{proposal.pk}/show-of-hands/")
    page.check(f"#h-{w.units[4].pk}-no")
    page.click("#hands-record")
    page.wait_for_selector(f"#b-{w.units[4].pk}-no[aria-pressed=true]")
    ballots = Ballot.objects.filter(vote=proposal.current_vote)
    assert ballots.count() == 15 and ballots.get(unit=w.units[4]).choice == "no"

    bob = browser.new_context(java_script_enabled=False).new_page()
    bob.set_default_timeout(10_000)
    bob.goto(f"{live_server.url}/accounts/login/")
    bob.fill("#id_username", "bob")
    bob.fill("#id_password", "pw")
    bob.click("button[type=submit].primary")
    bob.wait_for_url(f"{live_server.url}/")
    bob.goto(f"{live_server.url}/proposals/{proposal.pk}/vote/")
    assert "alice" in bob.locator(f"#history-{w.units[0].pk}").inner_text()
    bob.click(f"#b-{w.units[0].pk}-abstain")
    bob.locator(f"#receipt-{w.units[0].pk}").wait_for()
    assert ballots.get(unit=w.units[0]).choice == "abstain"
