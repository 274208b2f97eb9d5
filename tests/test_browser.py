"""End-to-end: the secretary's meeting room in real headless Chromium.

Debian's ``chromium`` driven by Playwright (``executable_path='/usr/bin/chromium'``),
against Django's live server on a real (transactional) database. Set
``QUORUM_SCREENSHOTS=docs/screenshots`` to also write the screenshots the docs show.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from council import queries as council_queries
from council import services as council_services
from council.models import Meeting
from proposals import services as proposal_services
from proposals.models import Proposal

from .personas import World, build_world

# Playwright's sync API runs an event loop in this thread; the ORM calls made by the
# test itself (setup, assertions) are synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
SHOTS = os.environ.get("QUORUM_SCREENSHOTS", "")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


def sign_in(browser: Any, live_server: Any, username: str, **context: Any) -> Any:
    page = browser.new_context(viewport={"width": 1200, "height": 900}, **context).new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/")
    return page


def axe_problems(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def shoot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.fixture
def room() -> tuple[World, Meeting, Proposal]:
    w = build_world()
    meeting = council_services.create_meeting(
        actor=w.alice, council=w.council, title="General assembly", scheduled_at=timezone.now()
    )
    proposal = proposal_services.create_proposal(
        actor=w.alice,
        meeting=meeting,
        title="Adopt the chair's budget",
        body="The chair unit proposes a budget.",
        proposer_unit=w.chair,
    )
    return w, meeting, proposal


def test_the_secretary_runs_a_vote_from_start_to_result(
    browser: Any, live_server: Any, room: tuple[World, Meeting, Proposal]
) -> None:
    w, meeting, proposal = room
    page = sign_in(browser, live_server, "alice")
    page.goto(f"{live_server.url}/meetings/{meeting.pk}/")
    page.get_by_role("button", name="Start the meeting").click()
    page.wait_for_selector("text=in session")

    for unit in w.units[:14]:
        page.click(f"#att-{unit.pk}")
        page.wait_for_selector(f"#att-{unit.pk}:has-text('out')")
    quorum = page.locator("#quorum .quorum-text")
    assert quorum.inner_text() == "14 of 21 units present — more than 14 needed — no quorum"
    open_button = page.locator(f"#open-{proposal.pk}")
    assert open_button.is_disabled()
    why = page.locator(f"#open-why-{proposal.pk}").inner_text()
    assert why == "No quorum: 14 of 21 units present, 15 needed."

    page.click(f"#att-{w.units[14].pk}")
    page.wait_for_selector("text=15 of 21 units present — more than 14 needed — quorum met")
    page.click(f"#open-{proposal.pk}")
    page.wait_for_selector("#vote")
    assert not axe_problems(page), axe_problems(page)

    projector = sign_in(browser, live_server, "dave")  # the auditor's screen, read-only
    projector.goto(f"{live_server.url}/meetings/{meeting.pk}/projector/")
    choices = ["yes"] * 8 + ["no"] * 4 + ["abstain"] * 3
    for unit, choice in zip(w.units[:15], choices, strict=True):
        page.click(f"#b-{unit.pk}-{choice}")
        page.wait_for_selector(f"#b-{unit.pk}-{choice}[aria-pressed=true]")
        if unit == w.units[3]:
            # The projector refreshes by itself while ballots are being recorded.
            projector.wait_for_selector("#projector .big-counts .yes span:text-is('4')")
    # A unit's ballot can be replaced until the close: no, then back to yes.
    page.click(f"#b-{w.units[0].pk}-no")
    page.wait_for_selector(f"#b-{w.units[0].pk}-no[aria-pressed=true]")
    page.click(f"#b-{w.units[0].pk}-yes")
    page.wait_for_selector(f"#b-{w.units[0].pk}-yes[aria-pressed=true]")
    projector.wait_for_selector("#projector .big-counts .no span:text-is('4')")
    assert projector.locator("#projector .big-counts .yes span").inner_text() == "8"
    assert not axe_problems(projector), axe_problems(projector)
    shoot(projector, "projector")
    shoot(page, "meeting-vote-open")

    page.get_by_role("link", name="Close the vote…").click()
    page.get_by_role("button", name="Close the vote now").click()
    card = page.locator(f"#result-{proposal.pk}")
    card.wait_for()
    text = card.inner_text()
    assert "rejected" in text
    assert "Attendance 15 of 21 units — more than 14 needed — quorum met." in text
    assert "Yes 8 of 21 member units — more than 10.5 needed (11) — rejected." in text
    assert "of units present (15) → passed" in text and "they disagree" in text
    assert Proposal.objects.get(pk=proposal.pk).outcome == "rejected"
    card.scroll_into_view_if_needed()
    shoot(page, "meeting-result-en")
    if SHOTS:
        card.screenshot(path=str(Path(SHOTS) / "result-card-en.png"))

    page.select_option("#language", "zh-hans")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_selector("html[lang=zh-hans]")
    page.goto(f"{live_server.url}/meetings/{meeting.pk}/")
    card = page.locator(f"#result-{proposal.pk}")
    zh = card.inner_text()
    assert "出席 15 / 21 个单位 — 需多于 14 — 达到法定人数。" in zh
    assert "赞成 8 / 21 个成员单位 — 需多于 10.5 (11) — 未通过。" in zh
    assert not re.search(r"\b(rejected|passed|Attendance)\b", zh)
    assert not axe_problems(page), axe_problems(page)
    shoot(page, "meeting-result-zh")
    if SHOTS:
        card.screenshot(path=str(Path(SHOTS) / "result-card-zh.png"))


def test_the_forms_work_with_javascript_off(
    browser: Any, live_server: Any, room: tuple[World, Meeting, Proposal]
) -> None:
    w, meeting, _proposal = room
    meeting = council_services.start_meeting(actor=w.alice, meeting=meeting)
    page = sign_in(browser, live_server, "alice", java_script_enabled=False)
    page.goto(f"{live_server.url}/meetings/{meeting.pk}/")
    page.click(f"#att-{w.units[0].pk}")
    page.wait_for_selector("text=1 of 21 units present")
    assert council_queries.quorum(meeting).count == 1


def test_read_only_people_see_no_controls(
    browser: Any, live_server: Any, room: tuple[World, Meeting, Proposal]
) -> None:
    w, meeting, _proposal = room
    meeting = council_services.start_meeting(actor=w.alice, meeting=meeting)
    page = sign_in(browser, live_server, "bob")
    page.goto(f"{live_server.url}/meetings/{meeting.pk}/")
    assert page.locator("#quorum").is_visible()
    assert page.locator("form button").filter(has_text="Check").count() == 0
    assert page.locator("text=Open the vote").count() == 0
    page.goto(f"{live_server.url}/councils/{w.council.slug}/")
    assert not axe_problems(page), axe_problems(page)


def test_delegates_vote_online_and_see_their_units_ballot(
    browser: Any, live_server: Any, room: tuple[World, Meeting, Proposal]
) -> None:
    w, meeting, proposal = room
    Meeting.objects.filter(pk=meeting.pk).update(mode=Meeting.Mode.HYBRID)
    meeting = council_services.start_meeting(
        actor=w.alice, meeting=Meeting.objects.get(pk=meeting.pk)
    )
    for unit in w.units[1:16]:
        council_services.check_in(actor=w.alice, meeting=meeting, unit=unit)
    proposal_services.open_vote(actor=w.alice, proposal=proposal)

    bob = sign_in(browser, live_server, "bob")
    bob.get_by_role("link", name="Adopt the chair's budget").click()
    bob.wait_for_selector("text=Your unit has not voted yet.")
    bob.click(f"#b-{w.units[0].pk}-yes")
    bob.wait_for_selector(f"#b-{w.units[0].pk}-yes[aria-pressed=true]")
    assert "cast by bob" in bob.inner_text(f"#unit-{w.units[0].pk}")
    assert not axe_problems(bob), axe_problems(bob)

    bea = sign_in(browser, live_server, "bea")  # the unit's second delegate
    bea.goto(f"{live_server.url}/proposals/{proposal.pk}/vote/")
    assert "cast by bob" in bea.inner_text(f"#unit-{w.units[0].pk}")
    bea.click(f"#b-{w.units[0].pk}-no")
    bea.wait_for_selector(f"#b-{w.units[0].pk}-no[aria-pressed=true]")
    # Casting online checked the unit in (it was not present before).
    assert council_queries.quorum(meeting).count == 16

    proposal_services.close_vote(actor=w.alice, proposal=proposal)
    bob.reload()
    bob.wait_for_selector("text=The vote is closed.")
    assert "Yes 0 of 21 member units" in bob.inner_text("main")
