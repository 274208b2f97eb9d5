"""End-to-end: the auditor's month-end in real headless Chromium (issue 13).

The auditor of a council in Asia/Shanghai opens the decision register, filters it by a
local day (a decision closed at 01:30 local time, 17:30 UTC the day before, must be
there), downloads the decisions CSV, the ballots CSV and the standalone verifier, and
opens the minutes — at 1280 and 390 px wide, in English and in Chinese. Any console
error, or a page wider than a 390 px screen, fails the test.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from council import services as council_services
from proposals import services as proposal_services
from proposals.models import Vote

from .personas import World, build_world, check_in_units
from .test_browser import axe_problems, browser, shoot  # noqa: F401 — browser: a fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
VERIFIER = Path(__file__).resolve().parent.parent / "proposals" / "verify_export.py"
# 01:30 on 3 December in Shanghai: 17:30 UTC on 2 December.
EARLY = datetime.datetime(2026, 12, 3, 1, 30, tzinfo=SHANGHAI)
OTHER_DAY = datetime.datetime(2026, 12, 5, 10, 0, tzinfo=SHANGHAI)

WORDS = {
    "en": {
        "filter": "Filter",
        "signatures": "Signatures",
        "roll": "Roll call",
        "zone": "Dates are days in the council's time zone (Asia/Shanghai)",
    },
    "zh-hans": {
        "filter": "筛选",
        "signatures": "签名",
        "roll": "点名",
        "zone": "日期按理事会所在时区（Asia/Shanghai）的日历日计算",  # noqa: RUF001
    },
}


@pytest.fixture
def month() -> tuple[World, Any]:
    """A council in Shanghai, a meeting with two decisions — "Early budget 预算" closed at
    01:30 local on 3 December, "Other day" on the 5th — adjourned."""
    w = build_world()
    council_services.update_council(actor=w.root, council=w.council, time_zone="Asia/Shanghai")
    meeting = council_services.create_meeting(
        actor=w.alice, council=w.council, title="General assembly", scheduled_at=timezone.now()
    )
    meeting = council_services.start_meeting(actor=w.alice, meeting=meeting)
    check_in_units(w, meeting, w.units[:15])
    for title, moment in (("Early budget 预算", EARLY), ("Other day", OTHER_DAY)):
        proposal = proposal_services.create_proposal(
            actor=w.alice,
            meeting=meeting,
            title=title,
            body="The council adopts it.",
            proposer_unit=w.chair,
        )
        proposal_services.open_vote(actor=w.alice, proposal=proposal)
        for unit in w.units[:12]:
            proposal_services.cast_ballot(actor=w.alice, proposal=proposal, unit=unit, choice="yes")
        proposal_services.close_vote(actor=w.alice, proposal=proposal)
        # The register filters on the close time: put it on the day under test.
        Vote.objects.filter(proposal=proposal).update(opened_at=moment, closed_at=moment)
    council_services.adjourn_meeting(actor=w.alice, meeting=meeting)
    return w, meeting


def open_page(chromium: Any, live_server: Any, width: int, language: str) -> tuple[Any, list[str]]:
    context = chromium.new_context(
        viewport={"width": width, "height": 900},
        extra_http_headers={"Accept-Language": language},
        accept_downloads=True,
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "dave")
    page.fill("#id_password", "pw")
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/")
    return page, errors


def no_overflow(page: Any, width: int) -> None:
    if width <= 390:
        wide = page.evaluate(
            "document.documentElement.scrollWidth > document.documentElement.clientWidth"
        )
        # What sticks out, to say so when it fails.
        culprits = page.evaluate(
            """[...document.querySelectorAll('main *')]
            .filter(e => e.scrollWidth > e.clientWidth + 1
                         && getComputedStyle(e).overflow !== 'hidden')
            .slice(0, 8)
            .map(e => e.tagName + '.' + e.className + ': ' + e.textContent.slice(0, 60))"""
        )
        assert not wide, f"{page.url} scrolls sideways at {width} px: {culprits}"


def download(page: Any, selector: str) -> bytes:
    with page.expect_download() as info:
        page.click(selector)
    return Path(info.value.path()).read_bytes()


def csv_rows(data: bytes) -> list[dict[str, str]]:
    text = data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("width", [1280, 390])
def test_the_auditor_filters_by_a_local_day_downloads_and_reads_the_minutes(
    browser: Any,  # noqa: F811 — the fixture imported above
    live_server: Any,
    month: tuple[World, Any],
    width: int,
    language: str,
) -> None:
    w, meeting = month
    words = WORDS[language]
    page, errors = open_page(browser, live_server, width, language)
    page.goto(f"{live_server.url}/councils/{w.council.slug}/decisions/")
    page.wait_for_selector(f"html[lang={language}]")
    assert words["zone"] in page.inner_text("main")
    no_overflow(page, width)

    # 3 December, a day of Shanghai.
    page.fill("#f-after", "2026-12-03")
    page.fill("#f-before", "2026-12-04")
    page.get_by_role("button", name=words["filter"]).click()
    page.wait_for_url("**closed_after=2026-12-03**")
    table = page.inner_text("main table")
    assert "Early budget 预算" in table and "Other day" not in table
    assert "2026-12-03 01:30" in table  # shown, as filtered, in the council's time
    no_overflow(page, width)
    assert not axe_problems(page), axe_problems(page)
    shoot(page, f"register-auditor-{language}-{width}")

    decisions = csv_rows(download(page, "#download-csv"))
    assert [r["title"] for r in decisions] == ["Early budget 预算"]
    assert decisions[0]["closed_at_local"] == "2026-12-03T01:30:00+08:00"
    assert decisions[0]["closed_at_utc"] == "2026-12-02T17:30:00Z"
    assert decisions[0]["council_name"] == "Test Council"
    assert decisions[0]["proposer_unit_name"] == "Unit 01"
    ballots = csv_rows(download(page, "#download-ballots"))
    assert len(ballots) == 12 and {r["proposal_title"] for r in ballots} == {"Early budget 预算"}
    assert {r["cast_by"] for r in ballots} == {"alice"}

    script = download(page, "#download-verifier")
    assert script == VERIFIER.read_bytes()
    shown = page.inner_text("#verifier-sha256")
    assert shown == hashlib.sha256(script).hexdigest()

    page.goto(f"{live_server.url}/meetings/{meeting.pk}/minutes/")
    main = page.inner_text("main")
    assert words["signatures"] in main and words["roll"] in main
    assert "The council adopts it." in main
    attendance = csv_rows(download(page, "#attendance-csv"))
    assert len(attendance) == 15
    assert {r["time_zone"] for r in attendance} == {"Asia/Shanghai"}
    no_overflow(page, width)
    assert not axe_problems(page), axe_problems(page)
    shoot(page, f"minutes-auditor-{language}-{width}")
    assert errors == []
