"""End-to-end in headless Chromium: the secretary runs the council without the admin.

A secretary adds a unit and invites its delegate by email; the delegate opens the link
from the sent email, sets a password and lands on the unit's page. At desktop and phone
widths, in English and Chinese; any console error, and any horizontal scrolling at
390 px, fails the test.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail

from members.models import Invitation, MemberUnit, Role

from .personas import build_world
from .test_browser import axe_problems, browser, shoot  # noqa: F401 — the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OVERFLOWS = "document.documentElement.scrollWidth > document.documentElement.clientWidth"


def new_page(chromium: Any, live_server: Any, width: int, language: str) -> tuple[Any, list[str]]:
    context = chromium.new_context(viewport={"width": width, "height": 900})
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, errors


def check(page: Any, width: int, errors: list[str], lang: str) -> None:
    page.wait_for_selector(f"html[lang={lang}]")
    assert not errors, errors
    if width <= 390:
        assert not page.evaluate(OVERFLOWS), f"horizontal scrolling on {page.url}"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("width", [1280, 390])
def test_a_secretary_adds_a_unit_and_invites_its_delegate(
    browser: Any,  # noqa: F811 — the fixture imported above
    live_server: Any,
    width: int,
    language: str,
) -> None:
    w = build_world()
    slug = w.council.slug
    page, errors = new_page(browser, live_server, width, language)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "pw")
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/")

    # From the council page to its units; add one.
    page.goto(f"{live_server.url}/councils/{slug}/")
    page.click(f"a[href='/councils/{slug}/units/']")
    page.wait_for_selector("#add-unit")
    check(page, width, errors, language)
    page.fill("#id_name", "Harbour Cooperative")
    page.fill("#id_short_name", "HC")
    assert page.is_checked("#id_voting")
    page.click("#add-unit button[type=submit]")
    page.wait_for_selector("#units td:has-text('Harbour Cooperative')")
    unit = MemberUnit.objects.get(council=w.council, short_name="HC")
    assert unit.voting and unit.left_on is None
    check(page, width, errors, language)
    shoot(page, f"units-{language}-{width}")

    # Invite its delegate by email.
    page.goto(f"{live_server.url}/councils/{slug}/people/")
    page.fill("#id_email", "hana@example.org")
    page.select_option("#id_role", "delegate")
    page.select_option("#id_unit", str(unit.pk))
    page.click("#invite button[type=submit]")
    page.wait_for_selector("#invitations td:has-text('hana@example.org')")
    check(page, width, errors, language)
    assert not axe_problems(page), axe_problems(page)
    shoot(page, f"people-{language}-{width}")
    invitation = Invitation.objects.get(email="hana@example.org")
    assert invitation.unit == unit and invitation.accepted_at is None
    # Its times are the council's (Europe/Paris), not the server's UTC.
    row = page.locator(f"#invitation-{invitation.pk}").inner_text()
    local = "%Y-%m-%d %H:%M"
    assert invitation.created_at.astimezone(w.council.zone).strftime(local) in row
    assert invitation.expires_at.astimezone(w.council.zone).strftime(local) in row

    # The email, in the secretary's language, carries the direct link.
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["hana@example.org"]
    assert ("邀请" in message.subject) == (language == "zh-hans")
    found = re.search(r"https?://\S+/invitations/[\w-]+/", str(message.body))
    assert found, message.body
    link = found.group(0)
    assert link.startswith(live_server.url)

    # The delegate, with no account yet, opens it, sets a password and lands on the unit.
    guest, guest_errors = new_page(browser, live_server, width, language)
    guest.goto(link)
    check(guest, width, guest_errors, language)
    assert guest.input_value("#id_username") == "hana"
    guest.fill("#id_password1", "harbour lights 2027")
    guest.fill("#id_password2", "harbour lights 2027")
    assert not axe_problems(guest), axe_problems(guest)
    guest.click("#accept")
    guest.wait_for_url(f"{live_server.url}/councils/{slug}/units/{unit.pk}/")
    guest.wait_for_selector("#yours")
    assert "hana" in guest.locator("#unit-delegates").inner_text()
    check(guest, width, guest_errors, language)
    shoot(guest, f"unit-landing-{language}-{width}")
    role = Role.objects.get(user__username="hana")
    assert (role.role, role.unit_id) == ("delegate", unit.pk)

    # The secretary records, on the unit's page, the day the unit will leave.
    page.goto(f"{live_server.url}/councils/{slug}/units/{unit.pk}/")
    page.wait_for_selector("#edit-unit")
    check(page, width, errors, language)
    page.fill("#id_left_on", "2031-06-30")
    page.click("#edit-unit button[type=submit]")
    page.wait_for_selector("#unit-left:has-text('2031-06-30')")
    check(page, width, errors, language)
    shoot(page, f"unit-edit-{language}-{width}")
    unit.refresh_from_db()
    assert unit.left_on is not None and unit.left_on.isoformat() == "2031-06-30"

    # The link is used: a second visit says so, in a page of its own.
    # Its status is 404 (Chromium logs that as the page's one "error"; nothing else may be).
    guest.goto(link)
    guest.wait_for_selector("#unusable")
    assert guest_errors == [
        "Failed to load resource: the server responded with a status of 404 (Not Found)"
    ]
    guest_errors.clear()
    check(guest, width, guest_errors, language)
    guest.context.close()
    page.context.close()
