"""Security (issue 7): the Content-Security-Policy, sign-in lockout, rate limits, and the
security log.

Personas (tests/personas.py): alice secretary, bob delegate of U01, carol delegate of
U02, dave auditor; password "pw".
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from council.models import Attendance, LedgerEvent, Meeting
from proposals import services as proposal_services
from proposals.models import Ballot, Proposal

from .personas import World, check_in_units, new_meeting

ROOT = Path(__file__).resolve().parent.parent
API = "/api/v1"
TOKEN = f"{API}/auth/token/"
LIMIT = 5  # QUORUM_SIGNIN_FAILURE_LIMIT's default


@pytest.fixture(autouse=True)
def fresh_counts() -> Iterator[None]:
    # Rate-limit counts live in the cache, which outlives each test's transaction.
    cache.clear()
    yield
    cache.clear()


def rates(settings: Any, **scopes: str) -> None:
    """Set rate limits for this test, as QUORUM_RATE_* would in the environment."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            **scopes,
        },
    }


def security_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "quorum.security"]


# --- Content-Security-Policy -----------------------------------------------------------------


def csp_of(response: Any) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {parts[0]: parts[1:] for parts in (d.split() for d in header.split(";") if d.strip())}


def test_pages_and_the_api_carry_the_policy(world: World) -> None:
    client = Client()
    login = client.get("/accounts/login/")
    client.force_login(world.alice)
    home = client.get("/")
    docs = client.get("/api/docs/")
    api = APIClient()
    api.force_authenticate(world.bob)
    me = api.get(f"{API}/me/")
    for response in (login, home, docs, me):
        assert response.status_code == 200
        policy = csp_of(response)
        assert policy["default-src"] == ["'self'"]
        assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
        assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
        assert policy["form-action"] == ["'self'"] and policy["base-uri"] == ["'self'"]
        assert "unsafe-inline" not in response["Content-Security-Policy"]
        assert response["X-Frame-Options"] == "DENY"


def test_the_api_docs_load_their_script_from_the_site(world: World) -> None:
    client = Client()
    client.force_login(world.dave)
    page = client.get("/api/docs/").content.decode()
    assert "<style" not in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page), "an inline script is back"
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()


# Served pages only: the PDF minutes' template is read by WeasyPrint, never by a browser.
NOT_SERVED = {"council/minutes_pdf.html"}


def test_no_template_has_inline_script_style_or_event_handler() -> None:
    problems = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        name = str(path.relative_to(ROOT / "templates"))
        if name in NOT_SERVED:
            continue
        text = path.read_text()
        for pattern, what in [
            (r"<script(?![^>]*\bsrc=)", "inline <script>"),
            (r"<style", "<style> element"),
            (r"\sstyle=", "style attribute"),
            (r"\son[a-z]+=", "event-handler attribute"),
            (r"\shx-on", "hx-on (evaluated code)"),
            (r"javascript:", "javascript: URL"),
        ]:
            if re.search(pattern, text):
                problems.append(f"{name}: {what}")
    assert problems == []


# --- Sign-in lockout -------------------------------------------------------------------------


def sign_in(username: str, password: str, ip: str, **headers: str) -> Any:
    # The headers are WSGI environ entries (HTTP_...), which Client takes as **defaults;
    # the stubs match a str-valued ** against its bool parameters first.
    return Client(REMOTE_ADDR=ip, **headers).post(  # type: ignore[arg-type]
        "/accounts/login/", {"username": username, "password": password}
    )


def test_repeated_failures_lock_that_username_from_that_address_only(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="quorum.security")
    for _attempt in range(LIMIT - 1):
        assert sign_in("carol", "wrong", "10.0.0.1").status_code == 200  # the form, again
    locked = sign_in("carol", "wrong", "10.0.0.1")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert int(locked["Retry-After"]) == 15 * 60

    # The right password does not get through from that address during the cool-off...
    still = sign_in("carol", "pw", "10.0.0.1")
    assert still.status_code == 429 and "_auth_user_id" not in still.wsgi_request.session
    # ...but carol from elsewhere, and everyone else from that address, sign in.
    assert sign_in("carol", "pw", "10.0.0.2").status_code == 302
    assert sign_in("bob", "pw", "10.0.0.1").status_code == 302

    lines = security_lines(caplog)
    assert "sign_in_failed user='carol' ip='10.0.0.1' path='/accounts/login/'" in lines
    assert any(line.startswith("sign_in_locked_out user='carol' ip='10.0.0.1'") for line in lines)


def test_a_forged_forwarded_for_header_does_not_escape_the_lockout(world: World) -> None:
    # No proxy configured (the default): X-Forwarded-For is the client's own word.
    for attempt in range(LIMIT):
        sign_in("carol", "wrong", "10.0.0.1", HTTP_X_FORWARDED_FOR=f"192.0.2.{attempt}")
    assert sign_in("carol", "pw", "10.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429


def test_behind_a_proxy_the_address_it_saw_is_the_clients(world: World, settings: Any) -> None:
    settings.QUORUM_PROXY_COUNT = 1
    proxy = "10.9.9.9"  # every request arrives from the proxy
    for attempt in range(LIMIT):
        # The left part is the client's invention; the proxy appended what it saw.
        sign_in("carol", "wrong", proxy, HTTP_X_FORWARDED_FOR=f"1.1.1.{attempt}, 198.51.100.7")
    assert sign_in("carol", "pw", proxy, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429
    # Another client behind the same proxy is not locked out.
    assert sign_in("carol", "pw", proxy, HTTP_X_FORWARDED_FOR="198.51.100.8").status_code == 302


def test_the_token_endpoint_shares_the_lockout(world: World, settings: Any) -> None:
    rates(settings, token="100/minute")
    client = APIClient(REMOTE_ADDR="10.0.0.1")
    for _attempt in range(LIMIT - 1):
        bad = client.post(TOKEN, {"username": "bob", "password": "no"}, format="json")
        assert bad.status_code == 400
    locked = client.post(TOKEN, {"username": "bob", "password": "no"}, format="json")
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.json()["detail"]
    good_but_locked = client.post(TOKEN, {"username": "bob", "password": "pw"}, format="json")
    assert good_but_locked.status_code == 429 and "Retry-After" in good_but_locked
    other = APIClient(REMOTE_ADDR="10.0.0.2")
    assert (
        other.post(TOKEN, {"username": "bob", "password": "pw"}, format="json").status_code == 200
    )


def test_a_success_forgets_earlier_failures(world: World) -> None:
    for _attempt in range(LIMIT - 1):
        sign_in("carol", "wrong", "10.0.0.1")
    assert sign_in("carol", "pw", "10.0.0.1").status_code == 302
    for _attempt in range(LIMIT - 1):
        assert sign_in("carol", "wrong", "10.0.0.1").status_code == 200


# --- Rate limits -----------------------------------------------------------------------------


def test_the_token_endpoint_is_rate_limited_per_address(world: World, settings: Any) -> None:
    rates(settings, token="3/minute")
    client = APIClient(REMOTE_ADDR="10.0.0.1")
    for _request in range(3):
        ok = client.post(TOKEN, {"username": "bob", "password": "pw"}, format="json")
        assert ok.status_code == 200
    refused = client.post(TOKEN, {"username": "bob", "password": "pw"}, format="json")
    assert refused.status_code == 429
    assert set(refused.json()) == {"detail"} and "throttled" in refused.json()["detail"]
    assert 0 < int(refused["Retry-After"]) <= 60
    elsewhere = APIClient(REMOTE_ADDR="10.0.0.2")
    assert (
        elsewhere.post(TOKEN, {"username": "bob", "password": "pw"}, format="json").status_code
        == 200
    )


def test_ballots_are_rate_limited_per_person_and_a_refused_cast_writes_nothing(
    world: World, open_vote: Proposal, settings: Any
) -> None:
    rates(settings, ballot="2/minute")
    bob = APIClient()
    bob.force_authenticate(world.bob)
    url = f"{API}/proposals/{open_vote.pk}/ballots/{world.units[0].pk}/"
    assert bob.put(url, {"choice": "yes"}, format="json").status_code == 200
    assert bob.put(url, {"choice": "no"}, format="json").status_code == 200
    events = LedgerEvent.objects.count()

    refused = bob.put(url, {"choice": "abstain"}, format="json")
    assert refused.status_code == 429 and "Retry-After" in refused
    assert set(refused.json()) == {"detail"}
    assert LedgerEvent.objects.count() == events
    assert Ballot.objects.get(vote__proposal=open_vote, unit=world.units[0]).choice == "no"

    # The ballot page's form counts against the same limit.
    page = Client()
    page.force_login(world.bob)
    form = page.post(reverse("ballot", args=[open_vote.pk, world.units[0].pk]), {"choice": "yes"})
    assert form.status_code == 429 and "Retry-After" in form
    assert "Too many requests" in form.content.decode()
    assert LedgerEvent.objects.count() == events

    # Another delegate's ballots are counted apart.
    carol = APIClient()
    carol.force_authenticate(world.carol)
    theirs = f"{API}/proposals/{open_vote.pk}/ballots/{world.units[1].pk}/"
    assert carol.put(theirs, {"choice": "yes"}, format="json").status_code == 200


def test_the_ballot_form_answers_429_once_one_units_ballot_changes_too_often(
    world: World, open_vote: Proposal, settings: Any
) -> None:
    rates(settings, ballot="2/minute")
    page = Client()
    page.force_login(world.alice)  # the secretary records the votes given in the room
    unit = world.units[2]
    for choice in ("yes", "no"):
        done = page.post(reverse("ballot", args=[open_vote.pk, unit.pk]), {"choice": choice})
        assert done.status_code == 302
    events = LedgerEvent.objects.count()
    refused = page.post(reverse("ballot", args=[open_vote.pk, unit.pk]), {"choice": "abstain"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert LedgerEvent.objects.count() == events
    assert Ballot.objects.get(vote__proposal=open_vote, unit=unit).choice == "no"


def test_a_secretary_records_every_present_units_ballot_without_a_429(
    world: World, settings: Any
) -> None:
    """The limit counts changes of one unit's ballot, not the units a secretary records:
    with 65 units present, the secretary records all of them (pages, then the API) at a
    rate of 2 per unit per minute."""
    from members import services as member_services

    rates(settings, ballot="2/minute")
    extra = [
        member_services.create_unit(
            actor=world.root, council=world.council, name=f"Unit X{i:02d}", short_name=f"X{i:02d}"
        )
        for i in range(44)
    ]
    meeting = new_meeting(world)  # its snapshot: the 21 units and the 44 new ones
    units = world.units + extra
    check_in_units(world, meeting, units)
    proposal = proposal_services.create_proposal(actor=world.alice, meeting=meeting, title="M")
    proposal = proposal_services.open_vote(actor=world.alice, proposal=proposal)
    page = Client()
    page.force_login(world.alice)
    for unit in units:
        done = page.post(reverse("ballot", args=[proposal.pk, unit.pk]), {"choice": "yes"})
        assert done.status_code == 302, unit
    api = APIClient()
    api.force_authenticate(world.alice)
    for unit in units:
        url = f"{API}/proposals/{proposal.pk}/ballots/{unit.pk}/"
        assert api.put(url, {"choice": "no"}, format="json").status_code == 200, unit
    assert Ballot.objects.filter(vote__proposal=proposal, choice="no").count() == len(units)
    # A third change of one unit's ballot within the minute is one too many.
    again = api.put(f"{API}/proposals/{proposal.pk}/ballots/{units[7].pk}/", {"choice": "yes"})
    assert again.status_code == 429


# --- The security log ------------------------------------------------------------------------


def test_refused_permissions_are_logged_with_user_address_and_path(
    world: World, open_vote: Proposal, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="quorum.security")
    anonymous = APIClient(REMOTE_ADDR="10.0.0.3")
    assert anonymous.get(f"{API}/me/").status_code == 401

    carol = APIClient(REMOTE_ADDR="10.0.0.4")
    carol.force_authenticate(world.carol)
    bobs_unit = f"{API}/proposals/{open_vote.pk}/ballots/{world.units[0].pk}/"
    assert carol.put(bobs_unit, {"choice": "no"}, format="json").status_code == 403

    page = Client(REMOTE_ADDR="10.0.0.5")
    page.force_login(world.bob)
    close = reverse("proposal-close", args=[open_vote.pk])
    assert page.post(close).status_code == 403

    lines = security_lines(caplog)
    assert f"api_refused_401 user=- ip='10.0.0.3' path='{API}/me/'" in lines
    assert f"api_refused_403 user='carol' ip='10.0.0.4' path='{bobs_unit}'" in lines
    assert f"page_refused_403 user='bob' ip='10.0.0.5' path='{close}'" in lines


def test_a_crafted_username_cannot_forge_a_log_line(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="quorum.security")
    sign_in("x\nsign_in_ok user='root'", "wrong", "10.0.0.1")
    assert all("\n" not in line for line in security_lines(caplog))


# --- Settings ---------------------------------------------------------------------------------


def load_settings(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("QUORUM_", "CACHE_URL"))}
    return subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-c",
            f"import django; django.setup(); from django.conf import settings; {code}",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "council.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_rates_and_the_cache_come_from_the_environment() -> None:
    result = load_settings(
        "print(settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['ballot'],"
        " settings.CACHES['default']['BACKEND'], settings.AXES_FAILURE_LIMIT)",
        QUORUM_RATE_BALLOT="5000/minute",
        CACHE_URL="redis://127.0.0.1:6379/2",
        QUORUM_SIGNIN_FAILURE_LIMIT="8",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "5000/minute",
        "django.core.cache.backends.redis.RedisCache",
        "8",
    ]
    default = load_settings("print(settings.CACHES['default']['BACKEND'])")
    assert default.stdout.strip() == "django.core.cache.backends.locmem.LocMemCache"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"QUORUM_RATE_BALLOT": "fast"}, "QUORUM_RATE_BALLOT must look like 60/minute"),
        ({"QUORUM_RATE_TOKEN": "0/minute"}, "QUORUM_RATE_TOKEN must look like 60/minute"),
        ({"CACHE_URL": "memcached://x"}, "CACHE_URL must be a redis:// URL"),
        ({"QUORUM_PROXY_COUNT": "one"}, "QUORUM_PROXY_COUNT must be a whole number"),
        ({"QUORUM_SIGNIN_FAILURE_LIMIT": "0"}, "QUORUM_SIGNIN_FAILURE_LIMIT must be at least 1"),
    ],
)
def test_malformed_security_settings_stop_start_up(env: dict[str, str], message: str) -> None:
    result = load_settings("pass", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


# --- The policy in a real browser ------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls
    # are synchronous and safe. Set only while the browser runs, never for other modules.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            yield browser
            browser.close()


def watched_sign_in(browser: Any, live_server: Any, username: str, violations: list[str]) -> Any:
    """A signed-in page whose every CSP violation, in any document it loads, is recorded:
    the browser's event, and its console message as a second witness."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.expose_function("quorumCspViolation", lambda v: violations.append(v))
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', e =>"
        " window.quorumCspViolation(e.violatedDirective + ' blocked ' + e.blockedURI"
        " + ' on ' + e.documentURI));"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on(
        "console",
        lambda m: (
            violations.append(f"console: {m.text}") if "Content Security Policy" in m.text else None
        ),
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/")
    return page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_pages_pass_the_policy_and_htmx_still_updates(chromium: Any, live_server: Any) -> None:
    from council import services as council_services

    from .personas import build_world, new_meeting, open_proposal

    w = build_world()
    meeting = new_meeting(w)
    proposal = open_proposal(w, meeting, present=15)
    violations: list[str] = []

    alice = watched_sign_in(chromium, live_server, "alice", violations)
    for path, ready in [
        (f"/councils/{w.council.slug}/", "h1"),
        (f"/councils/{w.council.slug}/decisions/", "h1"),
        (f"/meetings/{meeting.pk}/minutes/", "h1"),
        (f"/meetings/{meeting.pk}/projector/", "#projector"),
        ("/api/docs/", ".swagger-ui .info .title"),
        (f"/meetings/{meeting.pk}/", "#quorum"),
    ]:
        alice.goto(f"{live_server.url}{path}")
        alice.wait_for_selector(ready)

    # htmx still works under the policy: a boosted form swaps the page in place...
    quorum = alice.locator("#quorum .quorum-text")
    assert quorum.inner_text().startswith("15 of 21 units present")
    alice.click(f"#att-{w.units[15].pk}")
    alice.wait_for_selector("#quorum .quorum-text:has-text('16 of 21 units present')")
    # ...and the live quorum bar polls: a check-in made elsewhere shows up by itself.
    council_services.check_in(actor=w.alice, meeting=meeting, unit=w.units[16])
    alice.wait_for_selector("#quorum .quorum-text:has-text('17 of 21 units present')")

    bob = watched_sign_in(chromium, live_server, "bob", violations)
    bob.goto(f"{live_server.url}/proposals/{proposal.pk}/vote/")
    bob.click(f"#b-{w.units[0].pk}-yes")
    bob.wait_for_selector(f"#b-{w.units[0].pk}-yes[aria-pressed=true]")

    assert violations == []


# --- Floods: repeated check-ins, drafts ---------------------------------------------------------


def test_one_units_attendance_is_rate_limited_per_person_api_and_page_together(
    world: World, settings: Any
) -> None:
    rates(settings, attendance="3/minute")
    meeting = new_meeting(world, mode=Meeting.Mode.ONLINE)
    carol = APIClient()
    carol.force_authenticate(world.carol)
    page = Client()
    page.force_login(world.carol)
    unit = world.units[1]
    url = f"{API}/meetings/{meeting.pk}/attendance/{unit.pk}/"
    assert carol.put(url, {"present": True}, format="json").status_code == 200
    assert carol.put(url, {"present": False}, format="json").status_code == 200
    assert (
        page.post(reverse("attendance", args=[meeting.pk, unit.pk]), {"present": "1"}).status_code
        == 302
    )
    events = LedgerEvent.objects.count()
    refused = carol.put(url, {"present": False}, format="json")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    on_page = page.post(reverse("attendance", args=[meeting.pk, unit.pk]), {"present": "0"})
    assert on_page.status_code == 429
    assert LedgerEvent.objects.count() == events  # still checked in: nothing written


def test_a_secretary_records_a_whole_room_without_being_limited(
    world: World, settings: Any
) -> None:
    rates(settings, attendance="2/minute")
    meeting = new_meeting(world)
    alice = APIClient()
    alice.force_authenticate(world.alice)
    for unit in world.units:
        response = alice.put(
            f"{API}/meetings/{meeting.pk}/attendance/{unit.pk}/", {"present": True}, format="json"
        )
        assert response.status_code == 200, response.content
    assert Attendance.objects.filter(meeting=meeting, checked_out_at__isnull=True).count() == 21


def test_the_meeting_page_shows_its_agenda_a_page_at_a_time(world: World) -> None:
    from council.web.views import AGENDA_PAGE_SIZE

    meeting = new_meeting(world)
    check_in_units(world, meeting, world.units[:15])
    long_text = "x" * 20_000
    items = [
        proposal_services.create_proposal(
            actor=world.alice, meeting=meeting, title=f"Item {i:02}", body=long_text
        )
        for i in range(AGENDA_PAGE_SIZE + 5)
    ]
    last = items[-1]  # on page 2, and open: the vote panel shows it on page 1 too
    proposal_services.open_vote(actor=world.alice, proposal=last)
    page = Client()
    page.force_login(world.alice)
    first = page.get(reverse("meeting", args=[meeting.pk])).content.decode()
    assert first.count(long_text) == AGENDA_PAGE_SIZE
    assert "Item 00" in first and "Item 19" in first and "Item 20" not in first
    assert "Page 1 of 2" in first and "?agenda=2#agenda" in first
    assert reverse("ballot", args=[last.pk, world.units[0].pk]) in first  # the vote panel
    second = page.get(reverse("meeting", args=[meeting.pk]), {"agenda": "2"}).content.decode()
    assert second.count(long_text) == 5 and "Item 20" in second and "Item 00" not in second
    # Anything else is read as a page that exists, never an error.
    for junk in ("0", "-3", "abc", "99999999999999999999"):
        answer = page.get(reverse("meeting", args=[meeting.pk]), {"agenda": junk})
        assert answer.status_code == 200, junk


def test_a_delegates_open_drafts_per_meeting_are_bounded(world: World, settings: Any) -> None:
    settings.QUORUM_DRAFTS_PER_UNIT = 3
    meeting = new_meeting(world)
    bob, alice, carol = (APIClient() for _ in range(3))
    bob.force_authenticate(world.bob)
    alice.force_authenticate(world.alice)
    carol.force_authenticate(world.carol)
    body = {"meeting": meeting.pk, "title": "Motion", "proposer_unit": world.chair.pk}
    for _draft in range(3):
        assert bob.post(f"{API}/proposals/", body, format="json").status_code == 201
    before = (Proposal.objects.count(), LedgerEvent.objects.count())
    refused = bob.post(f"{API}/proposals/", body, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "draft_limit"
    # bea is the same unit's other delegate: the bound is the unit's.
    page = Client()
    page.force_login(world.bea)
    page.post(reverse("proposal-create", args=[meeting.pk]), {**body, "kind": "ordinary"})
    assert (Proposal.objects.count(), LedgerEvent.objects.count()) == before
    # Other units, and the secretary, are not held back by it.
    other = {**body, "proposer_unit": world.units[1].pk}
    assert carol.post(f"{API}/proposals/", other, format="json").status_code == 201
    assert alice.post(f"{API}/proposals/", body, format="json").status_code == 201
    # Drafts that leave the agenda (withdrawn) make room again; the secretary's count too.
    for draft in Proposal.objects.filter(created_by=world.bob)[:2]:
        assert alice.post(f"{API}/proposals/{draft.pk}/withdraw/").status_code == 200
    assert bob.post(f"{API}/proposals/", body, format="json").status_code == 201
