"""End-to-end: the secretary in the room, in real headless Chromium.

A vote opened with a deadline typed in the council's time, shown on the agenda, the vote
panel, the projector and the delegate's ballot page; the close confirmation naming the
units that have not voted; a check-out that would lose the quorum asking first. At 1280
and 390 px wide, in English and Chinese, failing on any console error and on horizontal
overflow at 390 px.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.utils import timezone

from council import services as council_services
from council.models import Attendance, Meeting
from proposals import services as proposal_services
from proposals.models import Proposal, Vote

from .personas import World, check_in_units
from .test_browser import SHOTS, axe_problems, browser, room, shoot  # noqa: F401 — fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OVERFLOWS = "document.documentElement.scrollWidth > document.documentElement.clientWidth"


class Watched:
    """A signed-in page at one width and language that records every console error."""

    def __init__(self, chromium: Any, live_server: Any, username: str, width: int, lang: str):
        self.errors: list[str] = []
        self.width = width
        context = chromium.new_context(viewport={"width": width, "height": 900})
        context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
        self.page = context.new_page()
        self.page.set_default_timeout(10_000)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.url = live_server.url
        self.page.goto(f"{live_server.url}/accounts/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", "pw")
        self.page.click("button[type=submit].primary")
        self.page.wait_for_url(f"{live_server.url}/")

    def goto(self, path: str) -> Any:
        self.page.goto(f"{self.url}{path}")
        self.check()
        return self.page

    def shoot(self, name: str) -> None:
        shoot(self.page, name)

    def check(self) -> None:
        self.page.wait_for_load_state("load")
        errors = self.errors
        if SHOTS:
            # Playwright's full-page capture applies an inline style, which the
            # Content-Security-Policy reports (only when screenshots are taken).
            errors = [e for e in errors if "Applying inline style" not in e]
        assert not errors, errors
        if self.width <= 390:
            assert not self.page.evaluate(OVERFLOWS), f"overflow at {self.page.url}"


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_the_secretary_opens_a_vote_with_a_deadline_and_is_warned_before_each_step(
    browser: Any,  # noqa: F811 — the fixture
    live_server: Any,
    room: tuple[World, Meeting, Proposal],  # noqa: F811 — the fixture
    width: int,
    lang: str,
) -> None:
    w, meeting, proposal = room
    meeting = council_services.start_meeting(actor=w.alice, meeting=meeting)
    check_in_units(w, meeting, w.units[:15])  # 15 of 21: exactly the quorum
    zone = w.council.zone
    local = (timezone.now() + datetime.timedelta(hours=2)).astimezone(zone)
    typed = local.strftime("%Y-%m-%dT%H:%M")
    shown = local.strftime("%Y-%m-%d %H:%M") + f" ({w.council.time_zone})"

    alice = Watched(browser, live_server, "alice", width, lang)
    page = alice.goto(f"/meetings/{meeting.pk}/")
    assert page.locator("html").get_attribute("lang") == lang
    page.fill(f"#deadline-{proposal.pk}", typed)
    alice.shoot(f"room-open-form-{lang}-{width}")
    page.click(f"#open-{proposal.pk}")
    page.wait_for_selector("#vote-deadline")
    alice.check()
    vote = Vote.objects.get(proposal=proposal)
    assert vote.deadline is not None
    assert vote.deadline.astimezone(zone).strftime("%Y-%m-%dT%H:%M") == typed
    assert shown in page.inner_text("#vote-deadline")  # the vote panel
    assert shown in page.inner_text(f"#deadline-shown-{proposal.pk}")  # the agenda row
    assert not axe_problems(page), axe_problems(page)

    for unit, choice in [(w.units[0], "yes"), (w.units[1], "no"), (w.units[2], "abstain")]:
        page.click(f"#b-{unit.pk}-{choice}")
        page.wait_for_selector(f"#b-{unit.pk}-{choice}[aria-pressed=true]")
    alice.check()
    alice.shoot(f"room-deadline-{lang}-{width}")

    dave = Watched(browser, live_server, "dave", width, lang)  # the projector's screen
    projector = dave.goto(f"/meetings/{meeting.pk}/projector/")
    assert "11" in projector.inner_text("#projector-needed")  # more than 10.5 of 21
    left = projector.inner_text("#projector-time-left")
    # Two hours ahead, typed to the minute: a little under two hours are left.
    assert re.search(r"\b1:5[89]:\d\d\b", left), left
    projector.wait_for_selector("#projector .big-counts .yes span:text-is('1')")
    dave.check()
    dave.shoot(f"room-projector-{lang}-{width}")

    bob = Watched(browser, live_server, "bob", width, lang)  # U01's delegate
    ballot = bob.goto(f"/proposals/{proposal.pk}/vote/")
    assert shown in ballot.inner_text(".deadline")
    home = bob.goto("/")
    assert shown in home.inner_text("main")

    # The close confirmation: the count, who has not voted, the quorum line; cancelled.
    page.click(f"a[href='/proposals/{proposal.pk}/close/']")
    page.wait_for_selector("#close-not-voted")
    alice.check()
    missing = page.inner_text("#close-not-voted")
    for unit in w.units[3:15]:
        assert unit.short_name in missing
    for unit in w.units[:3]:
        assert unit.short_name not in missing
    assert "15" in page.inner_text("#close-quorum")
    assert page.locator("#no-ballot").count() == 0
    assert not axe_problems(page), axe_problems(page)
    alice.shoot(f"room-close-confirmation-{lang}-{width}")
    page.click("form .actions a.button")  # Cancel
    page.wait_for_selector("#vote")
    assert Vote.objects.get(pk=vote.pk).closed_at is None

    # A check-out that loses the quorum asks first; cancelled, then confirmed.
    leaving = w.units[14]
    page.click(f"#att-{leaving.pk}")
    page.wait_for_selector("#confirm")
    alice.check()
    assert leaving.short_name in page.inner_text("h1")
    assert not axe_problems(page), axe_problems(page)
    alice.shoot(f"room-check-out-warning-{lang}-{width}")
    page.click("form .actions a.button")  # Cancel
    page.wait_for_selector("#vote")
    assert Attendance.objects.filter(unit=leaving, checked_out_at__isnull=True).exists()
    page.click(f"#att-{leaving.pk}")
    page.click("#confirm")
    page.wait_for_selector("#quorum.unmet")
    alice.check()
    assert not Attendance.objects.filter(unit=leaving, checked_out_at__isnull=True).exists()
    assert Vote.objects.get(pk=vote.pk).closed_at is None  # the vote stays open


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_a_vote_past_its_deadline_is_closed_when_the_room_is_read_and_a_void_item_reopens(
    browser: Any,  # noqa: F811 — the fixture
    live_server: Any,
    room: tuple[World, Meeting, Proposal],  # noqa: F811 — the fixture
    lang: str,
) -> None:
    w, meeting, proposal = room
    meeting = council_services.start_meeting(actor=w.alice, meeting=meeting)
    check_in_units(w, meeting, w.units[:15])
    proposal_services.open_vote(
        actor=w.alice, proposal=proposal, deadline=timezone.now() + datetime.timedelta(hours=1)
    )
    # Time moves on (the rows, as the test cannot move the clock): fourteen units came
    # ten minutes ago, the vote opened five minutes ago, its deadline passed a minute
    # ago with no worker running, and U15 has only just arrived.
    now = timezone.now()
    Attendance.objects.filter(meeting=meeting, unit__in=w.units[:14]).update(
        checked_in_at=now - datetime.timedelta(minutes=10)
    )
    Vote.objects.filter(proposal=proposal).update(
        opened_at=now - datetime.timedelta(minutes=5),
        deadline=now - datetime.timedelta(minutes=1),
    )

    alice = Watched(browser, live_server, "alice", 390, lang)
    page = alice.goto(f"/meetings/{meeting.pk}/")
    page.wait_for_selector(f"#result-{proposal.pk}")
    assert page.locator("#vote").count() == 0  # never "vote open" beside the result
    vote = Vote.objects.get(proposal=proposal)
    assert vote.closed_at is not None and vote.closed_by is None
    # 14 of 21 present at the deadline: void (no quorum), whatever came after.
    assert vote.outcome == "no_quorum" and vote.result["present"] == 14

    # A void vote can be put to the vote again from the page (15 are here now).
    page = alice.goto(f"/meetings/{meeting.pk}/")
    page.click(f"#open-{proposal.pk}")
    page.wait_for_selector("#vote")
    alice.check()
    assert [v.number for v in Vote.objects.filter(proposal=proposal).order_by("number")] == [1, 2]


def test_the_warnings_work_with_javascript_off(
    browser: Any,  # noqa: F811 — the fixture
    live_server: Any,
    room: tuple[World, Meeting, Proposal],  # noqa: F811 — the fixture
) -> None:
    w, meeting, proposal = room
    meeting = council_services.start_meeting(actor=w.alice, meeting=meeting)
    check_in_units(w, meeting, w.units[:15])
    context = browser.new_context(viewport={"width": 390, "height": 900}, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "pw")
    page.click("button[type=submit].primary")
    page.goto(f"{live_server.url}/meetings/{meeting.pk}/")
    later = (timezone.now() + datetime.timedelta(hours=1)).astimezone(w.council.zone)
    page.fill(f"#deadline-{proposal.pk}", later.strftime("%Y-%m-%dT%H:%M"))
    page.click(f"#open-{proposal.pk}")
    page.wait_for_selector("#vote-deadline")
    page.click(f"#att-{w.units[14].pk}")
    page.wait_for_selector("#confirm")
    page.click("#confirm")
    page.wait_for_selector("#quorum.unmet")
    page.click(f"a[href='/proposals/{proposal.pk}/close/']")
    page.wait_for_selector("#close-void")  # the quorum is lost: closed now, void
    page.click("#confirm-close")
    page.wait_for_selector(f"#result-{proposal.pk}")
    assert Vote.objects.get(proposal=proposal).outcome == "no_quorum"
    assert not page.evaluate(OVERFLOWS)
