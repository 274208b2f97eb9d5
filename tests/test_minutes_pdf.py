"""Minutes as a PDF: every result, Chinese text set in an embedded font, rendered once
off the request path (eagerly here: CELERY_TASK_ALWAYS_EAGER runs the task on commit)
and then served as stored."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import zlib
from collections.abc import Callable
from typing import Any

import pypdf
import pytest
from django.test import Client
from django.urls import reverse

from council import ledger, minutes
from council import services as council_services
from council.models import LedgerEvent, MinutesPdf
from members import services as member_services
from proposals import services as proposal_services
from proposals import tasks

from .personas import World, build_world, check_in_units, new_meeting
from .test_minutes import decided_meeting, signed_in
from .test_security import rates

pytestmark = pytest.mark.pdf


def test_the_minutes_pdf_embeds_a_font_with_the_chinese_glyphs(
    world: World, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    meeting = new_meeting(world)
    check_in_units(world, meeting, world.units[:15])
    proposal = proposal_services.create_proposal(
        actor=world.alice, meeting=meeting, title="预算 budget", proposer_unit=world.chair
    )
    proposal_services.open_vote(actor=world.alice, proposal=proposal)
    for unit in world.units[:8]:
        proposal_services.cast_ballot(actor=world.alice, proposal=proposal, unit=unit, choice="yes")
    proposal_services.close_vote(actor=world.alice, proposal=proposal)
    council_services.adjourn_meeting(actor=world.alice, meeting=meeting)
    MinutesPdf.objects.all().delete()  # queued at the adjournment, whose commit is the test's
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(world.dave)
    with django_capture_on_commit_callbacks(execute=True):
        # The test's transaction never commits: the render runs when this block ends.
        assert client.get(reverse("minutes-pdf", args=[meeting.pk])).status_code == 202
    response = client.get(reverse("minutes-pdf", args=[meeting.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF-")
    inside = pdf + b"".join(_streams(pdf))
    # Font programs are embedded (FontFile*), among them a face with the Chinese glyphs.
    assert b"/FontFile" in inside
    assert re.search(rb"/BaseFont\s*/[A-Z]{6}\+[^/\s]*CJK", inside), "no embedded CJK font"
    assert b"TJ" in inside or b"Tj" in inside  # text was set in those fonts


def _streams(pdf: bytes) -> list[bytes]:
    """The decompressed streams (content, fonts and the object streams holding the dicts)."""
    out = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        try:
            out.append(zlib.decompressobj().decompress(raw))
        except zlib.error:
            continue
    return out


def test_only_the_council_gets_the_minutes_pdf(world: World) -> None:
    meeting = new_meeting(world)
    client = Client()
    client.force_login(world.erin)
    assert client.get(reverse("minutes-pdf", args=[meeting.pk])).status_code == 404


def test_fonts_are_there() -> None:
    # What the pdf marker checks, said plainly when it fails.
    found = subprocess.run(
        ["/usr/bin/fc-list", ":lang=zh"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert found.strip(), "no font with Chinese glyphs: apt-get install fonts-noto-cjk"


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def _adjourned(world: World, capture: Callable[..., Any]) -> Any:
    """A decided meeting, adjourned for real: its renders run at the commit (eagerly)."""
    meeting = decided_meeting(world)
    with capture(execute=True) as callbacks:
        council_services.adjourn_meeting(actor=world.alice, meeting=meeting)
    assert len(callbacks) == 2  # one render per language
    return meeting


def test_the_pdf_is_rendered_at_adjournment_and_then_served_as_stored(
    world: World, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    meeting = _adjourned(world, django_capture_on_commit_callbacks)
    stored = {row.language: row for row in MinutesPdf.objects.all()}
    assert set(stored) == {"en", "zh-hans"} and all(r.pdf is not None for r in stored.values())
    client = signed_in(world.dave)
    url = reverse("minutes-pdf", args=[meeting.pk])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first, second = client.get(url), client.get(url)
    assert callbacks == []  # nothing queued: both served from the store
    for response in (first, second):
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert response.content == bytes(stored["en"].pdf)
        assert response["ETag"] == f'"{stored["en"].sha256}"'
    again = MinutesPdf.objects.get(language="en")
    assert (again.rendered_at, again.sha256) == (stored["en"].rendered_at, stored["en"].sha256)
    # A task delivered twice stores nothing the second time.
    assert tasks.render_minutes_pdf(meeting.pk, "en") is False
    assert MinutesPdf.objects.get(language="en").rendered_at == stored["en"].rendered_at
    assert "Minutes: Assembly" in _text(first.content) and "Budget" in _text(first.content)


def test_a_unit_renamed_after_adjournment_keeps_its_old_name_in_the_pdf(
    world: World, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    meeting = decided_meeting(world)
    council_services.adjourn_meeting(actor=world.alice, meeting=meeting)
    member_services.update_unit(actor=world.alice, unit=world.units[0], name="Renamed")
    # Rendered after the rename, from the frozen document.
    assert council_services.render_minutes_pdf(meeting.pk, "en") is True
    text = _text(bytes(MinutesPdf.objects.get(language="en").pdf))
    assert "Unit 01" in text and "Renamed" not in text


def test_the_first_request_gets_a_page_that_waits_for_the_render(
    world: World, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    meeting = decided_meeting(world)
    council_services.adjourn_meeting(actor=world.alice, meeting=meeting)
    MinutesPdf.objects.all().delete()
    url = reverse("minutes-pdf", args=[meeting.pk])
    for language, words in [("en", "being prepared"), ("zh-hans", "正在生成")]:
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        client.force_login(world.dave)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            waiting = [client.get(url) for _ in range(3)]
        assert len(callbacks) == 1  # three requests, one render queued
        for response in waiting:
            assert response.status_code == 202 and response["Retry-After"] == "5"
            page = response.content.decode()
            assert words in page and '<meta http-equiv="refresh" content="5">' in page
        callbacks[0]()  # the worker's turn
        done = client.get(url)
        assert done.status_code == 200 and done.content.startswith(b"%PDF-")
    assert MinutesPdf.objects.filter(pdf__isnull=False).count() == 2


def test_one_person_may_ask_for_the_pdf_only_so_often(
    world: World, settings: Any, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    rates(settings, minutes_pdf="3/minute")
    meeting = _adjourned(world, django_capture_on_commit_callbacks)
    url = reverse("minutes-pdf", args=[meeting.pk])
    dave = signed_in(world.dave)
    assert [dave.get(url).status_code for _ in range(3)] == [200, 200, 200]
    limited = dave.get(url)
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    assert "Too many requests" in limited.content.decode()
    assert signed_in(world.alice).get(url).status_code == 200  # per person


def test_a_draft_is_refused_as_a_pdf(world: World) -> None:
    meeting = decided_meeting(world)
    response = signed_in(world.dave).get(reverse("minutes-pdf", args=[meeting.pk]))
    assert response.status_code == 409
    assert "once the meeting is adjourned" in response.content.decode()
    assert not MinutesPdf.objects.exists()


def test_the_stored_pdf_is_the_render_of_the_frozen_document(world: World) -> None:
    meeting = decided_meeting(world)
    council_services.adjourn_meeting(actor=world.alice, meeting=meeting)
    council_services.render_minutes_pdf(meeting.pk, "zh-hans")
    row = MinutesPdf.objects.get(language="zh-hans")
    assert row.sha256 == hashlib.sha256(bytes(row.pdf)).hexdigest()
    assert "会议纪要" in _text(bytes(row.pdf))
    assert minutes.digest(row.minutes.document) == row.minutes.sha256


@pytest.mark.django_db(transaction=True)
def test_in_eager_mode_the_first_request_gets_the_pdf(settings: Any) -> None:
    # As with `make run`: no broker, so the task runs in-process when the request's
    # transaction commits, and the same request then finds the PDF stored.
    assert settings.CELERY_TASK_ALWAYS_EAGER
    w = build_world()
    meeting = decided_meeting(w)
    council_services.adjourn_meeting(actor=w.alice, meeting=meeting)
    assert MinutesPdf.objects.filter(pdf__isnull=False).count() == 2  # rendered on commit
    MinutesPdf.objects.all().delete()
    response = signed_in(w.dave).get(reverse("minutes-pdf", args=[meeting.pk]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    assert response.content == bytes(MinutesPdf.objects.get(language="en").pdf)


def _recorded_meeting(world: World) -> Any:
    """A meeting with a motion text, a deadline, a special resolution, an absent unit, a
    non-voting unit present, adjourned."""
    import datetime

    from django.utils import timezone

    meeting = new_meeting(world)
    check_in_units(world, meeting, [*world.units[:15], world.partner])
    proposal = proposal_services.create_proposal(
        actor=world.alice,
        meeting=meeting,
        title="Charter 章程",
        body="The council adopts the charter.\n理事会通过章程。",
        proposer_unit=world.chair,
        kind="special",
    )
    deadline = timezone.now() + datetime.timedelta(hours=2)
    proposal_services.open_vote(actor=world.alice, proposal=proposal, deadline=deadline)
    for unit in world.units[:15]:
        proposal_services.cast_ballot(actor=world.alice, proposal=proposal, unit=unit, choice="yes")
    proposal_services.close_vote(actor=world.alice, proposal=proposal)
    council_services.adjourn_meeting(actor=world.alice, meeting=meeting)
    return meeting, deadline


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "en",
            [
                "Page 1 of ",
                "Signatures",
                "Chair",
                "Secretary",
                "Ledger head at the adjournment: event",
                "The council adopts the charter.",
                "Majority needed special resolution",
                "Absent: 6 eligible units",
                "non-voting",
                "Proxy holder",
            ],
        ),
        (
            "zh-hans",
            ["第 1 页", "签名", "主席", "秘书", "休会时的决策账本链头", "理事会通过章程。"],
        ),
    ],
)
def test_the_pdf_is_a_record_with_page_numbers_signatures_and_the_head(
    world: World, language: str, words: list[str]
) -> None:
    meeting, deadline = _recorded_meeting(world)
    assert council_services.render_minutes_pdf(meeting.pk, language) is True
    pdf = bytes(MinutesPdf.objects.get(minutes_id=meeting.pk, language=language).pdf)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    pages = len(reader.pages)
    text = _text(pdf)
    flat = re.sub(r"\s+", " ", text)
    for word in words:
        assert word in flat, (word, flat[:3000])
    # Every page carries its number, of the whole.
    for number, page in enumerate(reader.pages, start=1):
        said = re.sub(r"\s+", " ", page.extract_text())
        assert (f"Page {number} of {pages}" if language == "en" else f"第 {number} 页") in said
    head = LedgerEvent.objects.get(action="meeting.adjourned", object=ledger.ref(meeting))
    assert head.hash[:16] in flat.replace(" ", "")
    # The vote's deadline, in the council's time zone.
    assert deadline.astimezone(meeting.council.zone).strftime("%Y-%m-%d %H:%M") in flat
    assert "font for Chinese" not in flat  # this machine has one (test_fonts_are_there)


def test_without_a_cjk_font_the_pdf_says_so_and_the_log_warns(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    meeting, _deadline = _recorded_meeting(world)
    # fontconfig finding no font with Chinese glyphs, as on a fresh machine without
    # fonts-noto-cjk (the probe is stubbed; the render is real).
    monkeypatch.setattr(minutes, "cjk_font_available", lambda: False)
    with caplog.at_level("WARNING", logger="council.minutes"):
        council_services.render_minutes_pdf(meeting.pk, "en")
    pdf = MinutesPdf.objects.get(minutes_id=meeting.pk, language="en").pdf
    flat = re.sub(r"\s+", " ", _text(bytes(pdf)))
    assert "without a font for Chinese characters" in flat and "fonts-noto-cjk" in flat
    assert any("fonts-noto-cjk" in r.getMessage() for r in caplog.records)
