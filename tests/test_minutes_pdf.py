"""Minutes as a PDF: every result, and Chinese text set in an embedded font."""

from __future__ import annotations

import re
import subprocess
import zlib

import pytest
from django.test import Client
from django.urls import reverse

from council import services as council_services
from proposals import services as proposal_services

from .personas import World, check_in_units, new_meeting

pytestmark = pytest.mark.pdf


def test_the_minutes_pdf_embeds_a_font_with_the_chinese_glyphs(world: World) -> None:
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
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(world.dave)
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
