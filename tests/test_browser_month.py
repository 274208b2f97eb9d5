"""A council's first month, in the browser, for each of its roles.

The secretary invites a delegate, who sets a password from the emailed link; the
secretary schedules the first meeting, puts a motion on its agenda, starts it, checks
the room in and opens the vote with a deadline; the delegates vote from their dashboards
and get receipts; the secretary records the rest of the room by a show of hands, closes
the vote and adjourns; the auditor reads the minutes, downloads the register and checks
the export with the downloadable verifier.

In real headless Chromium at 1280 px and 390 px, in English and 简体中文. Every page on
the way fails the test on a console error, on sideways scrolling at 390 px, and on a
time shown in UTC instead of the council's zone (Asia/Shanghai, eight hours ahead, so
the two never look alike).
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from council import services as council_services
from council.models import Attendance, LedgerEvent, Meeting
from members.models import Role
from proposals.models import Ballot, Proposal

from .personas import build_world
from .test_browser import axe_problems, browser, shoot  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ZONE = "Asia/Shanghai"
SHOWN = "%Y-%m-%d %H:%M"


class Screen:
    """One person's browser tab, checked after every step."""

    def __init__(self, chromium: Any, url: str, width: int, language: str) -> None:
        self.url, self.width, self.language = url, width, language
        context = chromium.new_context(viewport={"width": width, "height": 900})
        context.add_cookies([{"name": "django_language", "value": language, "url": url}])
        self.page = context.new_page()
        self.page.set_default_timeout(10_000)
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.instants: list[datetime.datetime] = []

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def sign_in(self, username: str, password: str = "pw") -> Screen:  # noqa: S107
        self.page.goto(f"{self.url}/accounts/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.page.click("button[type=submit].primary")
        self.page.wait_for_url(f"{self.url}/")
        self.check()
        return self

    def goto(self, path: str) -> Any:
        self.page.goto(f"{self.url}{path}")
        self.check()
        return self.page

    def check(self, *, instants: tuple[datetime.datetime, ...] = ()) -> None:
        """No error, no sideways scrolling on a phone, no time of the record in UTC."""
        page = self.page
        page.wait_for_selector(f"html[lang={self.language}]")
        assert self.errors == [], (page.url, self.errors)
        if self.width <= 390:
            assert not page.evaluate(
                "document.documentElement.scrollWidth > document.documentElement.clientWidth"
            ), f"{page.url} scrolls sideways at {self.width} px"
        text = page.inner_text("main")
        for at in [*self.instants, *instants]:
            utc = at.astimezone(datetime.UTC).strftime(SHOWN)
            assert utc not in text, f"{page.url} shows {utc}, the UTC time of {at}"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("width", [1280, 390])
def test_a_councils_first_month_for_each_role(
    browser: Any,  # noqa: F811
    live_server: Any,
    width: int,
    language: str,
    tmp_path: Path,
) -> None:
    w = build_world()
    council_services.update_council(actor=w.root, council=w.council, time_zone=ZONE)
    w.council.refresh_from_db()
    zone = w.council.zone
    slug = w.council.slug
    url = live_server.url
    hana_unit = w.units[4]

    # --- Week 1: the secretary invites the delegate of a unit that has none yet.
    alice = Screen(browser, url, width, language).sign_in("alice")
    page = alice.goto(f"/councils/{slug}/people/")
    page.fill("#id_email", "hana@example.org")
    page.select_option("#id_role", Role.Kind.DELEGATE)
    page.select_option("#id_unit", str(hana_unit.pk))
    page.click("#invite button[type=submit]")
    page.wait_for_selector("#invitations td:has-text('hana@example.org')")
    alice.check()
    (message,) = mail.outbox
    link = re.search(r"https?://\S+/invitations/[\w-]+/", str(message.body))
    assert link is not None and link.group(0).startswith(url)

    hana = Screen(browser, url, width, language)
    hana.goto(link.group(0).removeprefix(url))
    hana.page.fill("#id_password1", "harbour lights 2027")
    hana.page.fill("#id_password2", "harbour lights 2027")
    hana.page.click("#accept")
    hana.page.wait_for_url(f"{url}/councils/{slug}/units/{hana_unit.pk}/")
    hana.check()
    hana_name = Role.objects.get(unit=hana_unit, role=Role.Kind.DELEGATE).user.get_username()

    # --- Week 2: the first meeting, scheduled in the council's local time.
    local_start = (timezone.now().astimezone(zone) + datetime.timedelta(days=1)).replace(
        hour=9, minute=30, second=0, microsecond=0
    )
    page = alice.goto(f"/councils/{slug}/")
    page.click("details.add summary")
    page.fill("#id_title", "First general assembly")
    page.fill("#id_scheduled_at", local_start.strftime("%Y-%m-%dT%H:%M"))
    page.select_option("#id_mode", Meeting.Mode.HYBRID)
    page.click("form[action$='/meetings/'] button[type=submit]")
    page.wait_for_url(re.compile(r"/meetings/\d+/$"))
    meeting = Meeting.objects.get(title="First general assembly")
    assert meeting.scheduled_at == local_start
    page.goto(f"{url}/councils/{slug}/")
    assert local_start.strftime(SHOWN) in page.inner_text("main")
    alice.instants.append(meeting.scheduled_at)
    alice.check()

    page = alice.goto(f"/meetings/{meeting.pk}/")
    page.fill("#new-title", "Adopt the 2027 work plan")
    page.fill("#new-body", "The council adopts the work plan as circulated.")
    page.click("form[action$='/proposals/'] button[type=submit]")
    page.wait_for_selector("#agenda h3:has-text('Adopt the 2027 work plan')")
    proposal = Proposal.objects.get(title="Adopt the 2027 work plan")
    page.goto(f"{url}/meetings/{meeting.pk}/")
    page.get_by_role("button", name=re.compile("Start the meeting|开始会议")).click()
    page.wait_for_selector(f"#open-{proposal.pk}")
    # Fifteen units of twenty-one in the room: more than two thirds.
    for unit in w.units[5:20]:
        page.click(f"#att-{unit.pk}")
        page.wait_for_selector(f"#att-{unit.pk}:not(.primary)")
    page.wait_for_selector("#quorum.met")
    alice.check()

    # The vote opens with a deadline typed in local time, and shows it so.
    deadline = (timezone.now() + datetime.timedelta(hours=3)).astimezone(zone)
    deadline = deadline.replace(second=0, microsecond=0)
    page.fill(f"#deadline-{proposal.pk}", deadline.strftime("%Y-%m-%dT%H:%M"))
    page.click(f"#open-{proposal.pk}")
    page.wait_for_selector("#vote-deadline")
    assert deadline.strftime("%H:%M") in page.inner_text("#vote-deadline")
    vote = Proposal.objects.get(pk=proposal.pk).current_vote
    assert vote is not None and vote.deadline == deadline
    alice.instants.append(deadline)
    alice.check()

    # --- The delegates vote from their dashboards, and keep a receipt.
    for screen, unit, choice in [
        (hana, hana_unit, "yes"),
        (Screen(browser, url, width, language).sign_in("bob"), w.chair, "yes"),
    ]:
        screen.instants.append(deadline)
        dashboard = screen.goto("/")
        assert deadline.strftime(SHOWN) in dashboard.inner_text("main")
        dashboard.click(f"a[href='/proposals/{proposal.pk}/vote/']")
        dashboard.wait_for_url(f"**/proposals/{proposal.pk}/vote/")
        dashboard.click(f"#b-{unit.pk}-{choice}")
        receipt = dashboard.locator(f"#receipt-{unit.pk}")
        receipt.wait_for()
        event = LedgerEvent.objects.filter(action="vote.ballot_cast").latest("seq")
        assert event.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") in receipt.inner_text()
        assert f"#{event.seq}" in receipt.inner_text()
        screen.instants.append(event.at)
        screen.check()
        assert not axe_problems(dashboard), axe_problems(dashboard)
    shoot(hana.page, f"month-receipt-{language}-{width}")

    # --- The room by a show of hands: all yes except three no and two abstentions.
    page = alice.goto(f"/meetings/{meeting.pk}/")
    page.click("#to-hands")
    page.wait_for_url(f"**/proposals/{proposal.pk}/show-of-hands/")
    for unit in w.units[5:8]:
        page.check(f"#h-{unit.pk}-no")
    for unit in w.units[8:10]:
        page.check(f"#h-{unit.pk}-abstain")
    alice.check()
    page.click("#hands-record")
    page.wait_for_selector(f"#b-{w.units[5].pk}-no[aria-pressed=true]")
    alice.check()

    # The close confirmation shows who has not voted, then the result.
    page.click(f"a[href='/proposals/{proposal.pk}/close/']")
    page.wait_for_selector("#confirm-close")
    alice.check()
    page.click("#confirm-close")
    card = page.locator(f"#result-{proposal.pk}")
    card.wait_for()
    proposal.refresh_from_db()
    assert proposal.outcome == "passed"
    counts = dict.fromkeys(["yes", "no", "abstain"], 0)
    for choice in Ballot.objects.filter(vote=vote).values_list("choice", flat=True):
        counts[choice] += 1
    # hana's and bob's units checked in by casting online: 17 present.
    assert counts == {"yes": 12, "no": 3, "abstain": 2}
    vote.refresh_from_db()
    alice.instants.append(vote.closed_at)
    alice.check()

    page.goto(f"{url}/meetings/{meeting.pk}/adjourn/")
    page.click("#confirm")
    page.wait_for_url(re.compile(rf"/meetings/{meeting.pk}/(#.*)?$"))
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.ADJOURNED
    alice.check()
    shoot(page, f"month-adjourned-{language}-{width}")

    # --- The auditor: minutes, the register, the exports and the verifier.
    dave = Screen(browser, url, width, language).sign_in("dave")
    dave.instants += [meeting.scheduled_at, vote.closed_at]
    dave.instants += [a.checked_in_at for a in Attendance.objects.filter(meeting=meeting)]
    minutes = dave.goto(f"/meetings/{meeting.pk}/minutes/")
    text = minutes.inner_text("main")
    assert "The council adopts the work plan as circulated." in text
    assert vote.closed_at.astimezone(zone).strftime(SHOWN) in text
    assert not axe_problems(minutes), axe_problems(minutes)
    shoot(minutes, f"month-minutes-{language}-{width}")

    register = dave.goto(f"/councils/{slug}/decisions/")
    assert vote.closed_at.astimezone(zone).strftime(SHOWN) in register.inner_text("main")
    with register.expect_download() as got:
        register.click("#download-csv")
    rows = list(csv.DictReader(io.StringIO(Path(got.value.path()).read_text("utf-8-sig"))))
    assert [r["title"] for r in rows] == ["Adopt the 2027 work plan"]
    assert rows[0]["closed_at_local"] == vote.closed_at.astimezone(zone).isoformat()
    with register.expect_download() as got:
        register.click("#download-ballots")
    ballots = list(csv.DictReader(io.StringIO(Path(got.value.path()).read_text("utf-8-sig"))))
    assert {r["cast_by"] for r in ballots} == {hana_name, "bob", "alice"}
    with register.expect_download() as got:
        register.click("a[href*='format=json']")
    export = tmp_path / "decisions.json"
    export.write_bytes(Path(got.value.path()).read_bytes())
    assert json.loads(export.read_text("utf-8"))["decisions"]
    with register.expect_download() as got:
        register.click("#download-verifier")
    verifier = tmp_path / "verify_export.py"
    verifier.write_bytes(Path(got.value.path()).read_bytes())
    checked = subprocess.run(  # noqa: S603 (our own script, on our own file)
        [sys.executable, str(verifier), str(export)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    dave.check()
