"""API tokens (django-rest-knox, members.ApiToken) and the sign-in limit per address.

Personas (tests/personas.py): root superuser, alice secretary, bob delegate of U01,
carol delegate of U02; password "pw".
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient, APIRequestFactory

from council.api.auth import TokenAuthentication
from council.http import security
from members import services
from members.models import ApiToken

from .personas import World

API = "/api/v1"
TOKEN = f"{API}/auth/token/"
ME = f"{API}/me/"


@pytest.fixture(autouse=True)
def fresh_counts() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def me_status(key: str) -> int:
    return APIClient(HTTP_AUTHORIZATION=f"Token {key}").get(ME).status_code


def obtain(username: str = "bob", password: str = "pw", ip: str = "10.0.0.1") -> Any:  # noqa: S107
    return APIClient(REMOTE_ADDR=ip).post(
        TOKEN, {"username": username, "password": password}, format="json"
    )


# --- At rest ---------------------------------------------------------------------------------


def test_the_database_holds_only_a_digest_of_the_key(world: World) -> None:
    answer = obtain()
    assert answer.status_code == 200
    key = answer.json()["token"]
    assert me_status(key) == 200
    token = ApiToken.objects.get(user=world.people["bob"])
    assert token.digest == hashlib.sha512(key.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")  # noqa: S608 — our table
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert key not in stored  # only its first characters, for the lookup
    assert key[:15] in stored
    # The digest is no key: presented as one, it is refused.
    assert me_status(token.digest) == 401
    # DRF's authtoken table, which held keys in clear, is gone.
    assert "authtoken_token" not in connection.introspection.table_names()


def test_the_token_endpoint_answers_a_new_token_and_its_expiry(world: World) -> None:
    first, second = obtain().json(), obtain().json()
    assert first["token"] != second["token"]
    assert me_status(first["token"]) == 200 and me_status(second["token"]) == 200
    expiry = ApiToken.objects.filter(user=world.people["bob"]).first().expiry
    assert abs(expiry - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert first["expiry"].startswith(str(expiry.year))


def test_authentication_reads_token_and_user_in_one_query(world: World) -> None:
    _token, key = services.issue_token(user=world.people["bob"])
    request = APIRequestFactory().get(ME, HTTP_AUTHORIZATION=f"Token {key}")
    with CaptureQueriesContext(connection) as queries:
        user, auth = TokenAuthentication().authenticate(request)
    assert len(queries) == 1
    assert user == world.people["bob"] and auth.user_id == user.pk


# --- Expiry and revocation -------------------------------------------------------------------


def test_an_expired_token_is_refused(world: World) -> None:
    old, old_key = services.issue_token(user=world.people["bob"])
    _new, new_key = services.issue_token(user=world.people["bob"])
    ApiToken.objects.filter(pk=old.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    refused = APIClient(HTTP_AUTHORIZATION=f"Token {old_key}").get(ME)
    assert refused.status_code == 401 and refused.json()["detail"] == "Invalid token."
    assert me_status(new_key) == 200
    # Expired rows are cleared when their owner is next issued a token.
    services.issue_token(user=world.people["bob"])
    assert not ApiToken.objects.filter(pk=old.pk).exists()


def test_the_ttl_comes_from_the_setting(world: World, settings: Any) -> None:
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_TTL": timedelta(hours=2)}
    token, _key = services.issue_token(user=world.people["bob"])
    assert abs(token.expiry - (timezone.now() + timedelta(hours=2))) < timedelta(minutes=1)


def test_a_password_change_revokes_every_token_of_that_account(world: World) -> None:
    bob, carol = world.people["bob"], world.people["carol"]
    bob_keys = [services.issue_token(user=bob)[1] for _ in range(2)]
    carol_key = services.issue_token(user=carol)[1]
    bob.last_login = timezone.now()
    bob.save(update_fields=["last_login"])  # a sign-in: no password change
    bob.first_name = "Bob"
    bob.save()  # nor is this
    assert [me_status(k) for k in bob_keys] == [200, 200]

    bob.set_password("a new one")
    bob.save()
    assert [me_status(k) for k in bob_keys] == [401, 401]
    assert not ApiToken.objects.filter(user=bob).exists()
    assert me_status(carol_key) == 200


def test_the_admin_password_form_revokes_too(world: World) -> None:
    bob = world.people["bob"]
    key = services.issue_token(user=bob)[1]
    admin = Client()
    admin.force_login(world.people["root"])
    changed = admin.post(
        f"/admin/auth/user/{bob.pk}/password/",
        {"password1": "Another-pass-9", "password2": "Another-pass-9", "usable_password": "true"},
    )
    assert changed.status_code == 302
    assert me_status(key) == 401


def test_signing_out_revokes_the_tokens_that_session_made(world: World) -> None:
    bob = world.people["bob"]
    browser = Client()
    assert (
        browser.post("/accounts/login/", {"username": "bob", "password": "pw"}).status_code == 302
    )
    made = browser.post("/accounts/tokens/new/", {"label": "laptop"}, follow=True)
    assert made.status_code == 200
    session_key = made.context["new_key"]
    assert session_key and session_key in made.content.decode()
    # Shown once: the next visit does not show it again.
    assert session_key not in browser.get("/accounts/tokens/").content.decode()
    # The token endpoint called with bob's session cookie is that session's too.
    via_api = browser.post(TOKEN, {"username": "bob", "password": "pw"}, "application/json")
    api_session_key = via_api.json()["token"]
    password_only = obtain().json()["token"]
    elsewhere = Client()
    elsewhere.force_login(bob)
    other_session_key = services.issue_token(user=bob, session_key=elsewhere.session.session_key)[1]
    assert [me_status(k) for k in (session_key, api_session_key, password_only)] == [200] * 3

    assert browser.post("/accounts/logout/").status_code == 302
    assert me_status(session_key) == 401
    assert me_status(api_session_key) == 401
    assert me_status(password_only) == 200  # asked for with a password alone
    assert me_status(other_session_key) == 200  # another session of bob's


# --- The tokens page -------------------------------------------------------------------------


def test_the_tokens_page_lists_and_revokes_only_ones_own(world: World) -> None:
    bob, carol = world.people["bob"], world.people["carol"]
    mine, _key = services.issue_token(user=bob, label="script")
    theirs, carol_key = services.issue_token(user=carol, label="carols")
    assert Client().get("/accounts/tokens/").status_code == 302  # sign in first
    browser = Client()
    browser.force_login(bob)
    page = browser.get("/accounts/tokens/")
    body = page.content.decode()
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    assert mine.token_key in body and "script" in body
    assert theirs.token_key not in body and "carols" not in body
    assert mine.digest not in body

    assert browser.post(f"/accounts/tokens/{theirs.pk}/revoke/").status_code == 404
    assert me_status(carol_key) == 200
    assert browser.post("/accounts/tokens/999999/revoke/").status_code == 404
    assert browser.get(f"/accounts/tokens/{mine.pk}/revoke/").status_code == 405
    done = browser.post(f"/accounts/tokens/{mine.pk}/revoke/")
    assert done.status_code == 302 and done["Location"] == "/accounts/tokens/"
    assert not ApiToken.objects.filter(pk=mine.pk).exists()


def test_the_tokens_page_forms_need_the_csrf_token(world: World) -> None:
    token, _key = services.issue_token(user=world.people["bob"])
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.people["bob"])
    assert browser.post("/accounts/tokens/new/").status_code == 403
    assert browser.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 403
    assert ApiToken.objects.filter(user=world.people["bob"]).count() == 1


def test_the_tokens_page_speaks_chinese_and_is_linked_from_the_header(world: World) -> None:
    browser = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    browser.force_login(world.people["bob"])
    body = browser.get("/accounts/tokens/").content.decode()
    assert "API 令牌" in body and "创建令牌" in body
    assert 'href="/accounts/tokens/"' in browser.get("/").content.decode()


def test_the_admin_shows_no_secret(world: World) -> None:
    token, key = services.issue_token(user=world.people["bob"])
    admin = Client()
    admin.force_login(world.people["root"])
    listing = admin.get("/admin/members/apitoken/")
    detail = admin.get(f"/admin/members/apitoken/{token.pk}/change/")
    assert listing.status_code == 200 and detail.status_code == 200
    for page in (listing, detail):
        body = page.content.decode()
        assert token.token_key in body
        assert token.digest not in body and key not in body
    assert admin.get("/admin/members/apitoken/add/").status_code == 403


# --- The sign-in limit per address -----------------------------------------------------------


def sign_in(username: str, password: str, ip: str) -> Any:
    return Client(REMOTE_ADDR=ip).post(
        "/accounts/login/", {"username": username, "password": password}
    )


def test_an_address_spraying_usernames_is_mostly_refused(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    room = "10.0.0.7"
    assert sign_in("bob", "pw", room).status_code == 302  # bob signed in from the room
    answers = [
        sign_in(f"sprayed{n}", "wrong", room).status_code for _round in range(3) for n in range(28)
    ]
    assert len(answers) == 84
    # The first ten usernames are answered every round (and axes watches each of them);
    # the other eighteen are refused before their password is checked.
    assert answers.count(200) == 30 and answers.count(429) == 54
    refused = sign_in("sprayed20", "wrong", room)
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 900
    assert "from your address" in refused.content.decode()

    # bob, already signed in from here, still signs in; so does a tried username.
    assert sign_in("bob", "pw", room).status_code == 302
    # carol, not yet seen from the room, waits even with her right password...
    late = sign_in("carol", "pw", room)
    assert late.status_code == 429 and "_auth_user_id" not in late.wsgi_request.session
    # ...or signs in from another network.
    assert sign_in("carol", "pw", "10.0.0.8").status_code == 302
    assert any(
        line.startswith("sign_in_address_limited user='carol' ip='10.0.0.7'")
        for line in (r.getMessage() for r in caplog.records if r.name == "quorum.security")
    )


def test_the_limit_ends_with_its_window(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_000_000 * 900.0]
    monkeypatch.setattr(security.time, "time", lambda: now[0])
    for n in range(10):
        sign_in(f"sprayed{n}", "wrong", "10.0.0.7")
    assert sign_in("carol", "pw", "10.0.0.7").status_code == 429
    now[0] += 900
    assert sign_in("carol", "pw", "10.0.0.7").status_code == 302


def test_the_token_endpoint_and_the_admin_share_the_address_limit(
    world: World, settings: Any
) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "token": "1000/minute",
        },
    }
    for n in range(10):
        assert obtain(f"sprayed{n}", "wrong").status_code == 400
    refused = obtain("carol", "pw")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "from your address" in refused.json()["detail"]
    admin = Client(REMOTE_ADDR="10.0.0.1").post(
        "/admin/login/", {"username": "root", "password": "pw"}
    )
    assert admin.status_code == 429
    assert obtain("sprayed3", "pw").status_code == 400  # a tried username: still answered
    assert obtain("carol", "pw", ip="10.0.0.2").status_code == 200
