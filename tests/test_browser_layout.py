"""Every page at phone width, in both languages, for each role: no sideways scrolling.

Walks every HTML page the site serves (the test fails when a page is added to
``council/urls.py`` without being listed here) as the secretary, a delegate and the
auditor, at 390 px wide in English and 简体中文, in real headless Chromium. On each page:

* the document is no wider than the window (tables reflow into cards);
* every table cell in a card is labelled with its column's name;
* no status word, tag or badge breaks over lines (Chinese would wrap one character a
  line in a squeezed column);
* the browser logs no error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone

from council import services as council_services
from council import urls as site_urls
from council.models import Meeting
from members import invitations
from members.models import Role
from proposals import services as proposal_services
from proposals.models import Proposal

from .personas import World, build_world, check_in_units
from .test_browser import CHROMIUM, browser, shoot  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@dataclass
class Site:
    world: World
    scheduled: Meeting
    in_session: Meeting
    adjourned: Meeting
    open_item: Proposal
    draft: Proposal
    decided: Proposal


@pytest.fixture
def site() -> Site:
    w = build_world()
    council_services.update_council(actor=w.root, council=w.council, time_zone="Asia/Shanghai")
    w.council.refresh_from_db()

    def meeting(title: str) -> Meeting:
        return council_services.create_meeting(
            actor=w.alice, council=w.council, title=title, scheduled_at=timezone.now()
        )

    adjourned = council_services.start_meeting(actor=w.alice, meeting=meeting("Spring session"))
    check_in_units(w, adjourned, w.units[:17])
    decided = proposal_services.create_proposal(
        actor=w.alice,
        meeting=adjourned,
        title="Adopt the budget of the working group on open standards",
        body="The council adopts the budget as annexed.",
        proposer_unit=w.units[2],
    )
    proposal_services.open_vote(actor=w.alice, proposal=decided)
    for i, unit in enumerate(w.units[:17]):
        choice = "yes" if i < 9 else ("no" if i < 14 else "abstain")
        proposal_services.cast_ballot(actor=w.alice, proposal=decided, unit=unit, choice=choice)
    proposal_services.close_vote(actor=w.alice, proposal=decided)
    adjourned = council_services.adjourn_meeting(actor=w.alice, meeting=adjourned)

    in_session = council_services.start_meeting(actor=w.alice, meeting=meeting("Summer session"))
    check_in_units(w, in_session, w.units[:16])
    open_item = proposal_services.create_proposal(
        actor=w.alice, meeting=in_session, title="Admit a new partner", proposer_unit=w.chair
    )
    proposal_services.open_vote(actor=w.alice, proposal=open_item)
    proposal_services.cast_ballot(actor=w.bob, proposal=open_item, unit=w.chair, choice="yes")
    draft = proposal_services.create_proposal(
        actor=w.bob, meeting=in_session, title="Move the archive", proposer_unit=w.chair
    )
    scheduled = meeting("Autumn session")
    invitations.invite(
        actor=w.alice,
        council=w.council,
        email="new.delegate@example.org",
        role=Role.Kind.DELEGATE,
        unit=w.units[5],
    )
    return Site(w, scheduled, in_session, adjourned, open_item, draft, decided)


# Every HTML page, by URL name: how to reach it, and who may see it.
EVERYONE = ("alice", "bob", "dave")
PAGES: dict[str, tuple[Callable[[Site], str], tuple[str, ...]]] = {
    "home": (lambda s: reverse("home"), EVERYONE),
    "council": (lambda s: reverse("council", args=[s.world.council.slug]), EVERYONE),
    "register": (lambda s: reverse("register", args=[s.world.council.slug]), EVERYONE),
    "meeting": (lambda s: reverse("meeting", args=[s.in_session.pk]), EVERYONE),
    "projector": (lambda s: reverse("projector", args=[s.in_session.pk]), EVERYONE),
    "minutes": (lambda s: reverse("minutes", args=[s.adjourned.pk]), EVERYONE),
    "ballot-page": (lambda s: reverse("ballot-page", args=[s.open_item.pk]), EVERYONE),
    "proposal-edit": (lambda s: reverse("proposal-edit", args=[s.draft.pk]), ("alice",)),
    # GET shows the confirmation page, the POST acts.
    "proposal-withdraw": (lambda s: reverse("proposal-withdraw", args=[s.draft.pk]), ("alice",)),
    "proposal-close": (lambda s: reverse("proposal-close", args=[s.open_item.pk]), ("alice",)),
    "meeting-adjourn": (lambda s: reverse("meeting-adjourn", args=[s.in_session.pk]), ("alice",)),
    "tokens": (lambda s: reverse("tokens"), EVERYONE),
    "units": (lambda s: reverse("units", args=[s.world.council.slug]), EVERYONE),
    "unit": (lambda s: reverse("unit", args=[s.world.council.slug, s.world.chair.pk]), EVERYONE),
    "people": (lambda s: reverse("people", args=[s.world.council.slug]), ("alice", "dave")),
    "show-of-hands": (lambda s: reverse("show-of-hands", args=[s.open_item.pk]), ("alice",)),
}
# The other pages of the same meetings, as the walk also shows them.
MORE = {
    "meeting (scheduled)": (lambda s: reverse("meeting", args=[s.scheduled.pk]), EVERYONE),
    "meeting (adjourned)": (lambda s: reverse("meeting", args=[s.adjourned.pk]), EVERYONE),
    "projector (adjourned)": (lambda s: reverse("projector", args=[s.adjourned.pk]), EVERYONE),
}
# Named URLs that are not pages: POST-only actions, fragments, files, other formats.
NOT_PAGES = {
    "healthz",
    "meeting-create",
    "meeting-start",
    "attendance",
    "meeting-live",
    "minutes-pdf",
    "attendance-csv",
    "verifier",
    "proposal-create",
    "proposal-move",
    "proposal-open",
    "ballot",
    "token-create",
    "token-revoke",
    "logout",
    "login",
    "set_language",
    "role-grant",
    "role-revoke",
    "invite",
    "invitation-resend",
    "invitation-revoke",
    # The invited person's page, walked at 390 px by tests/test_browser_admin.py.
    "invitation",
}


def _names(patterns: list[Any]) -> Iterator[str]:
    for entry in patterns:
        if isinstance(entry, URLPattern) and entry.name:
            yield entry.name
        elif isinstance(entry, URLResolver):
            continue  # the API, the admin and i18n's set_language are not these pages


def test_the_walk_covers_every_page_of_the_site() -> None:
    names = set(_names(site_urls.urlpatterns))
    assert names - set(PAGES) - NOT_PAGES == set(), "a page is missing from this walk"
    assert set(PAGES) - names == set(), "this walk lists a page the site no longer has"


PROBE = """() => {
  const root = document.documentElement;
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > root.clientWidth + 1)
    .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''));
  const unlabelled = [...document.querySelectorAll('table > tbody > tr > td')]
    .filter(td => td.colSpan === 1 && !td.dataset.label)
    .map(td => td.textContent.trim().slice(0, 30));
  const broken = [...document.querySelectorAll('.badge, .tag, thead th, span.status')]
    .filter(e => e.getClientRects().length > 1 || e.getBoundingClientRect().height >
                 1.8 * parseFloat(getComputedStyle(e).lineHeight || '20'))
    .map(e => e.textContent.trim());
  return {scroll: root.scrollWidth, width: root.clientWidth, wide: wide.slice(0, 5),
          unlabelled: unlabelled.slice(0, 5), broken: broken.slice(0, 5)};
}"""


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_page_fits_a_phone_in_each_language_for_each_role(
    browser: Any,  # noqa: F811
    live_server: Any,
    site: Site,
    language: str,
) -> None:
    problems: list[str] = []
    for username in EVERYONE:
        context = browser.new_context(viewport=PHONE, locale=language)
        context.add_cookies(
            [{"name": "django_language", "value": language, "url": live_server.url}]
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("console", lambda m, errors=errors: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", "pw")
        page.click("button[type=submit].primary")
        page.wait_for_url(f"{live_server.url}/")
        for name, (url, who) in {**PAGES, **MORE}.items():
            if username not in who:
                continue
            response = page.goto(live_server.url + url(site))
            assert response is not None and response.status == 200, (name, username)
            assert page.locator("html").get_attribute("lang") == language
            found = page.evaluate(PROBE)
            where = f"{language} {username} {name}"
            if found["scroll"] > found["width"]:
                problems.append(f"{where}: {found['scroll']} px wide: {found['wide']}")
            if found["unlabelled"]:
                problems.append(f"{where}: cells without a label: {found['unlabelled']}")
            if found["broken"]:
                problems.append(f"{where}: words broken over lines: {found['broken']}")
            if errors:
                problems.append(f"{where}: console: {errors}")
                errors.clear()
            shoot(page, f"phone-{language}-{username}-{name.replace(' ', '-')}")
        context.close()
    assert problems == []
