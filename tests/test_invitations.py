"""Running a council without the admin: units, roles, email invitations, and the rule
that a council keeps its last secretary.

Services first (what is stored, what the ledger records, what is refused), then the
pages a secretary and an invited person use, then the race on the last secretary.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from council import ledger
from council import services as council_services
from council.errors import Code, Conflict, Forbidden, Invalid, NotFound
from council.models import LedgerEvent
from members import invitations
from members import services as member_services
from members.models import Invitation, MemberUnit, Role

from .personas import World, build_world, make_user
from .test_concurrency import at_once


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def link_in(message: Any) -> str:
    found = re.search(r"https?://\S+/invitations/([\w-]+)/", message.body)
    assert found, message.body
    return found.group(0)


# --- Invitations: the service ---------------------------------------------------------------


@pytest.mark.django_db
def test_an_invitation_stores_only_a_digest_of_its_token(world: World, settings: Any) -> None:
    settings.QUORUM_INVITATION_TTL = datetime.timedelta(days=3)
    before = timezone.now()
    invitation, token = invitations.invite(
        actor=world.alice,
        council=world.council,
        email="New.Person@Example.ORG",
        role=Role.Kind.DELEGATE,
        unit=world.units[2],
    )
    assert len(token) >= 40
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    # Nowhere in the row, nor in the ledger, is the token itself.
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM members_invitation WHERE id = %s", [invitation.pk])
        row = cursor.fetchone()
    assert token not in " ".join(str(v) for v in row)
    event = LedgerEvent.objects.get(action="invitation.created")
    assert token not in str(event.data) and invitation.token_hash not in str(event.data)
    assert event.data == {
        "email": "New.Person@example.org",
        "role": "delegate",
        "unit": world.units[2].pk,
    }
    assert event.actor == "alice"
    # The expiry follows the setting.
    ttl = invitation.expires_at - before
    assert datetime.timedelta(days=3) <= ttl < datetime.timedelta(days=3, minutes=1)
    assert invitations.find(token) == invitation
    assert invitations.find(token + "x") is None


@pytest.mark.django_db
def test_a_new_person_accepts_once_and_gets_the_role(world: World) -> None:
    unit = world.units[2]
    invitation, token = invitations.invite(
        actor=world.alice,
        council=world.council,
        email="zoe@example.org",
        role="delegate",
        unit=unit,
    )
    user, role = invitations.accept_as_new(
        token=token, username="zoe", password="a long passphrase 42"
    )
    assert user.email == "zoe@example.org" and user.check_password("a long passphrase 42")
    assert (role.user, role.role, role.unit) == (user, "delegate", unit)
    invitation.refresh_from_db()
    assert invitation.accepted_by == user and invitation.accepted_at is not None
    actions = list(LedgerEvent.objects.order_by("-seq").values_list("action", "actor")[:2])
    # The inviter grants the role; the invited person accepts.
    assert actions == [("invitation.accepted", "zoe"), ("role.granted", "alice")]
    assert invitations.find(token) is None
    with pytest.raises(invitations.Unusable):
        invitations.accept(token=token, user=user)
    assert Role.objects.filter(user=user).count() == 1


@pytest.mark.django_db
def test_an_expired_invitation_cannot_be_accepted_but_can_be_resent(world: World) -> None:
    invitation, token = invitations.invite(
        actor=world.alice, council=world.council, email="late@example.org", role="auditor"
    )
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert invitations.find(token) is None
    count = LedgerEvent.objects.count()
    with pytest.raises(invitations.Unusable):
        invitations.accept_as_new(token=token, username="late", password="a long passphrase 42")
    assert not get_user_model().objects.filter(username="late").exists()
    assert LedgerEvent.objects.count() == count

    invitation.refresh_from_db()
    resent, new_token = invitations.resend(actor=world.alice, invitation=invitation)
    assert new_token != token and resent.expires_at > timezone.now()
    assert invitations.find(token) is None  # the old link stays dead
    assert invitations.find(new_token) == invitation
    assert LedgerEvent.objects.latest("seq").action == "invitation.resent"


@pytest.mark.django_db
def test_resending_kills_the_old_link(world: World) -> None:
    invitation, old = invitations.invite(
        actor=world.alice, council=world.council, email="x@example.org", role="auditor"
    )
    _same, new = invitations.resend(actor=world.alice, invitation=invitation)
    with pytest.raises(invitations.Unusable):
        invitations.accept_as_new(token=old, username="x", password="a long passphrase 42")
    user, _role = invitations.accept_as_new(
        token=new, username="x", password="a long passphrase 42"
    )
    assert Role.objects.get(user=user).role == "auditor"


@pytest.mark.django_db
def test_a_revoked_invitation_is_dead_and_only_secretaries_revoke(world: World) -> None:
    invitation, token = invitations.invite(
        actor=world.alice, council=world.council, email="y@example.org", role="auditor"
    )
    count = LedgerEvent.objects.count()
    for person in ("dave", "bob"):
        with pytest.raises(Forbidden):
            invitations.revoke(actor=world.people[person], invitation=invitation)
        with pytest.raises(Forbidden):
            invitations.resend(actor=world.people[person], invitation=invitation)
    assert LedgerEvent.objects.count() == count
    invitations.revoke(actor=world.alice, invitation=invitation)
    assert invitations.find(token) is None
    assert LedgerEvent.objects.latest("seq").action == "invitation.revoked"
    with pytest.raises(Invalid):
        invitations.revoke(actor=world.alice, invitation=invitation)
    with pytest.raises(Invalid):
        invitations.resend(actor=world.alice, invitation=invitation)


@pytest.mark.django_db
def test_invitations_are_checked_before_anything_is_written(world: World) -> None:
    count = LedgerEvent.objects.count()
    with pytest.raises(Invalid):  # a delegate names a unit
        invitations.invite(
            actor=world.alice, council=world.council, email="a@b.org", role="delegate"
        )
    with pytest.raises(Invalid):
        invitations.invite(
            actor=world.alice,
            council=world.council,
            email="a@b.org",
            role="auditor",
            unit=world.chair,
        )
    with pytest.raises(Invalid):
        invitations.invite(
            actor=world.alice, council=world.council, email="not an address", role="auditor"
        )
    with pytest.raises(Forbidden):
        invitations.invite(actor=world.bob, council=world.council, email="a@b.org", role="auditor")
    invitations.invite(actor=world.alice, council=world.council, email="a@b.org", role="auditor")
    with pytest.raises(Invalid):  # the same pending invitation twice: resend it instead
        invitations.invite(
            actor=world.alice, council=world.council, email="A@b.org", role="auditor"
        )
    assert LedgerEvent.objects.count() == count + 1
    assert Invitation.objects.count() == 1


@pytest.mark.django_db
def test_the_inviting_secretary_cannot_accept_their_own_invitation(world: World) -> None:
    world.alice.email = "alice@example.org"
    world.alice.save()
    invitation, token = invitations.invite(
        actor=world.alice,
        council=world.council,
        email="alice@example.org",
        role="delegate",
        unit=world.units[5],
    )
    count = LedgerEvent.objects.count()
    with pytest.raises(Forbidden):
        invitations.accept(token=token, user=world.alice)
    invitation.refresh_from_db()
    assert invitation.accepted_at is None
    assert not Role.objects.filter(user=world.alice, role="delegate").exists()
    assert LedgerEvent.objects.count() == count


@pytest.mark.django_db
def test_an_existing_account_accepts_only_with_the_invited_address(world: World) -> None:
    world.carol.email = "carol@example.org"
    world.carol.save()
    _inv, token = invitations.invite(
        actor=world.alice, council=world.council, email="CAROL@example.org", role="auditor"
    )
    with pytest.raises(Forbidden):
        invitations.accept(token=token, user=world.bob)  # bob has another (no) address
    with pytest.raises(Invalid):  # the address has an account: sign in rather than make one
        invitations.accept_as_new(token=token, username="carol2", password="a long passphrase 42")
    role = invitations.accept(token=token, user=world.carol)
    assert role.role == "auditor" and role.user == world.carol


@pytest.mark.django_db
def test_a_new_account_needs_a_good_password_and_a_free_username(world: World) -> None:
    _inv, token = invitations.invite(
        actor=world.alice, council=world.council, email="pat@example.org", role="auditor"
    )
    count = LedgerEvent.objects.count()
    with pytest.raises(Invalid) as weak:
        invitations.accept_as_new(token=token, username="pat", password="123")
    assert "password" in weak.value.errors
    with pytest.raises(Invalid) as taken:
        invitations.accept_as_new(token=token, username="bob", password="a long passphrase 42")
    assert "username" in taken.value.errors
    assert not get_user_model().objects.filter(email="pat@example.org").exists()
    assert LedgerEvent.objects.count() == count
    assert invitations.find(token) is not None


# --- The last secretary ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_last_secretary_role_is_kept_for_everyone(world: World) -> None:
    alice_role = Role.objects.get(user=world.alice, council=world.council, role="secretary")
    count = LedgerEvent.objects.count()
    for actor in (world.alice, world.root):
        with pytest.raises(Conflict) as refused:
            member_services.revoke_role(actor=actor, role=alice_role)
        assert refused.value.code == Code.LAST_SECRETARY and refused.value.status == 409
    assert Role.objects.filter(pk=alice_role.pk).exists()
    assert LedgerEvent.objects.count() == count
    # With a second secretary, either may go.
    frank = make_user("frank")
    member_services.grant_role(
        actor=world.alice, user=frank, council=world.council, role="secretary"
    )
    member_services.revoke_role(actor=frank, role=alice_role)
    assert not Role.objects.filter(pk=alice_role.pk).exists()
    # Other roles go as before.
    member_services.revoke_role(actor=frank, role=Role.objects.get(user=world.dave))


@pytest.mark.django_db
def test_the_api_answers_409_last_secretary(world: World) -> None:
    alice_role = Role.objects.get(user=world.alice, role="secretary", council=world.council)
    client = APIClient()
    client.force_authenticate(world.alice)
    response = client.delete(f"/api/v1/roles/{alice_role.pk}/")
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "last_secretary" and response.json()["detail"]
    assert Role.objects.filter(pk=alice_role.pk).exists()
    schema = APIClient().get("/api/schema/?format=json", HTTP_ACCEPT="application/json").json()
    assert "last_secretary" in schema["components"]["schemas"]["ConflictCodeEnum"]["enum"]


@pytest.mark.django_db
def test_the_admin_refuses_to_revoke_the_last_secretary(world: World) -> None:
    alice_role = Role.objects.get(user=world.alice, role="secretary", council=world.council)
    client = signed_in(world.root)
    response = client.post(
        reverse("admin:members_role_delete", args=[alice_role.pk]), {"post": "yes"}, follow=True
    )
    assert response.status_code == 200
    assert "last secretary" in response.content.decode()
    assert Role.objects.filter(pk=alice_role.pk).exists()


@pytest.mark.django_db
def test_the_page_refuses_to_revoke_the_last_secretary(world: World) -> None:
    alice_role = Role.objects.get(user=world.alice, role="secretary", council=world.council)
    count = LedgerEvent.objects.count()
    client = signed_in(world.alice)
    response = client.post(reverse("role-revoke", args=[alice_role.pk]), follow=True)
    assert "last secretary" in response.content.decode()
    assert Role.objects.filter(pk=alice_role.pk).exists()
    assert LedgerEvent.objects.count() == count


@pytest.mark.django_db(transaction=True)
def test_two_secretaries_revoking_each_other_at_once_leave_one() -> None:
    w = build_world()
    frank = make_user("frank")
    member_services.grant_role(actor=w.alice, user=frank, council=w.council, role="secretary")
    secretaries = Role.objects.filter(council=w.council, role="secretary")
    alice_role, frank_role = secretaries.get(user=w.alice), secretaries.get(user=frank)
    results = at_once(
        [
            lambda: member_services.revoke_role(actor=w.alice, role=frank_role),
            lambda: member_services.revoke_role(actor=frank, role=alice_role),
        ]
    )
    assert secretaries.count() == 1
    refusals = [r for r in results if isinstance(r, Exception)]
    assert len(refusals) == 1, results
    # The second one waits for the first and then finds that it may no longer act: its
    # only role in the council is gone, so the council is not its to see (404). Never are
    # both roles gone.
    assert isinstance(refusals[0], NotFound), refusals
    assert LedgerEvent.objects.filter(action="role.revoked").count() == 1
    assert ledger.verify().ok


# --- Units: the pages and eligibility --------------------------------------------------------


@pytest.mark.django_db
def test_the_secretary_adds_edits_and_records_a_leaving_on_the_pages(world: World) -> None:
    client = signed_in(world.alice)
    url = reverse("units", args=[world.council.slug])
    client.post(url, {"name": "Observer", "short_name": "OBS"})  # voting unticked
    client.post(url, {"name": "Newcomer", "short_name": "NEW", "voting": "on"})
    observer = MemberUnit.objects.get(short_name="OBS")
    newcomer = MemberUnit.objects.get(short_name="NEW")
    assert not observer.voting and newcomer.voting
    today = timezone.now().astimezone(world.council.zone).date()
    assert newcomer.joined_on == today
    leaving = world.units[20]
    response = client.post(
        reverse("unit", args=[world.council.slug, leaving.pk]),
        {
            "name": leaving.name,
            "short_name": leaving.short_name,
            "voting": "on",
            "joined_on": leaving.joined_on.isoformat(),
            "left_on": today.isoformat(),
        },
    )
    assert response.status_code == 302
    leaving.refresh_from_db()
    assert leaving.left_on == today
    event = LedgerEvent.objects.latest("seq")
    assert event.action == "unit.updated" and event.data == {"left_on": today.isoformat()}
    # A later meeting's snapshot: the newcomer votes; the observer and the leaver do not.
    meeting = council_services.create_meeting(
        actor=world.alice, council=world.council, title="Later", scheduled_at=timezone.now()
    )
    meeting = council_services.start_meeting(actor=world.alice, meeting=meeting)
    eligible = set(meeting.eligible_units.all())
    assert newcomer in eligible and observer not in eligible and leaving not in eligible
    assert len(eligible) == 21  # 21 voting units, one left, one joined
    page = client.get(url).content.decode()
    assert "Observer" in page and "non-voting" in page and "not a member today" in page


@pytest.mark.django_db
def test_a_bad_unit_form_writes_nothing(world: World) -> None:
    client = signed_in(world.alice)
    count = LedgerEvent.objects.count()
    response = client.post(
        reverse("units", args=[world.council.slug]),
        {"name": "Dup", "short_name": "U01"},
        follow=True,
    )
    assert response.status_code == 200 and "short_name" in response.content.decode()
    assert LedgerEvent.objects.count() == count


@pytest.mark.django_db
def test_people_page_is_for_secretaries_and_auditors(world: World) -> None:
    url = reverse("people", args=[world.council.slug])
    assert signed_in(world.alice).get(url).status_code == 200
    page = signed_in(world.dave).get(url).content.decode()
    assert "bob" in page and "carol" in page and 'id="invite"' not in page
    assert signed_in(world.bob).get(url).status_code == 403
    assert signed_in(world.erin).get(url).status_code == 404
    assert Client().get(url).status_code == 302


@pytest.mark.django_db
def test_granting_by_email_address_on_the_page(world: World) -> None:
    frank = make_user("frank", email="frank@example.org")
    client = signed_in(world.alice)
    client.post(
        reverse("role-grant", args=[world.council.slug]),
        {"person": "Frank@Example.org", "role": "delegate", "unit": world.units[4].pk},
    )
    assert Role.objects.get(user=frank).unit == world.units[4]


# --- Invitations: the pages and the email ----------------------------------------------------


@pytest.mark.django_db
def test_an_invited_delegate_sets_a_password_and_lands_on_the_unit(world: World) -> None:
    unit = world.units[3]
    secretary = signed_in(world.alice)
    secretary.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    secretary.post(
        reverse("invite", args=[world.council.slug]),
        {"email": "dan@example.org", "role": "delegate", "unit": unit.pk},
    )
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["dan@example.org"]
    assert "邀请" in message.subject  # the secretary's language
    link = link_in(message)
    assert link.startswith("http://testserver/invitations/")
    # The expiry, in the council's time zone (Europe/Paris), not the server's UTC.
    expires = Invitation.objects.get(email="dan@example.org").expires_at
    assert expires.astimezone(world.council.zone).strftime("%Y-%m-%d %H:%M") in message.body
    path = link.removeprefix("http://testserver")

    visitor = Client()
    page = visitor.get(path).content.decode()
    assert 'value="dan"' in page  # the username suggested from the address
    weak = visitor.post(path, {"username": "dan", "password1": "123", "password2": "123"})
    assert weak.status_code == 400
    response = visitor.post(
        path,
        {
            "username": "dan",
            "password1": "a long passphrase 42",
            "password2": "a long passphrase 42",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("unit", args=[world.council.slug, unit.pk])
    landed = visitor.get(response["Location"]).content.decode()
    assert 'id="yours"' in landed and "dan" in landed  # signed in, as the unit's delegate
    used = visitor.get(path)
    assert used.status_code == 404 and 'id="unusable"' in used.content.decode()


@pytest.mark.django_db
def test_an_existing_person_signs_in_then_accepts(world: World) -> None:
    world.carol.email = "carol@example.org"
    world.carol.save()
    _inv, token = invitations.invite(
        actor=world.alice, council=world.council, email="carol@example.org", role="auditor"
    )
    path = reverse("invitation", args=[token])
    anonymous = Client()
    page = anonymous.get(path).content.decode()
    assert 'id="sign-in"' in page and 'id="new-account"' not in page
    redirect = anonymous.post(path)
    assert redirect.status_code == 302 and redirect["Location"].startswith(reverse("login"))
    # Signing in from there brings carol back to the link.
    back = anonymous.post(redirect["Location"], {"username": "carol", "password": "pw"})
    assert back.status_code == 302 and back["Location"] == path
    assert not Role.objects.filter(user=world.carol, role="auditor").exists()  # not yet
    carol = signed_in(world.carol)
    assert 'id="accept"' in carol.get(path).content.decode()
    accepted = carol.post(path)
    assert accepted["Location"] == reverse("council", args=[world.council.slug])
    assert Role.objects.filter(user=world.carol, role="auditor").exists()


@pytest.mark.django_db
def test_unusable_links_say_so_alike(world: World) -> None:
    revoked, revoked_token = invitations.invite(
        actor=world.alice, council=world.council, email="r@example.org", role="auditor"
    )
    invitations.revoke(actor=world.alice, invitation=revoked)
    expired, expired_token = invitations.invite(
        actor=world.alice, council=world.council, email="e@example.org", role="auditor"
    )
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    bodies = set()
    for token in (revoked_token, expired_token, "no-such-token", "x" * 500):
        response = Client().get(f"/invitations/{token}/")
        assert response.status_code == 404
        body = response.content.decode()
        assert "cannot be used" in body
        bodies.add(body[body.index("<main") : body.index("</main>")])
    assert len(bodies) == 1  # which reason it was is not said


@pytest.mark.django_db
def test_the_secretary_resends_and_revokes_on_the_page(world: World) -> None:
    client = signed_in(world.alice)
    client.post(
        reverse("invite", args=[world.council.slug]), {"email": "q@example.org", "role": "auditor"}
    )
    invitation = Invitation.objects.get(email="q@example.org")
    first = link_in(mail.outbox[0])
    client.post(reverse("invitation-resend", args=[world.council.slug, invitation.pk]))
    second = link_in(mail.outbox[1])
    assert first != second
    assert Client().get(first.removeprefix("http://testserver")).status_code == 404
    assert Client().get(second.removeprefix("http://testserver")).status_code == 200
    page = client.get(reverse("people", args=[world.council.slug])).content.decode()
    assert "pending, until" in page
    client.post(reverse("invitation-revoke", args=[world.council.slug, invitation.pk]))
    assert Client().get(second.removeprefix("http://testserver")).status_code == 404
    assert "revoked" in client.get(reverse("people", args=[world.council.slug])).content.decode()


@pytest.mark.django_db(transaction=True)
def test_two_tabs_accepting_at_once_grant_the_role_once() -> None:
    w = build_world()
    w.carol.email = "carol@example.org"
    w.carol.save()
    _inv, token = invitations.invite(
        actor=w.alice, council=w.council, email="carol@example.org", role="auditor"
    )
    results = at_once([lambda: invitations.accept(token=token, user=w.carol)] * 2)
    assert sum(isinstance(r, Role) for r in results) == 1, results
    assert sum(isinstance(r, invitations.Unusable) for r in results) == 1, results
    assert Role.objects.filter(user=w.carol, role="auditor").count() == 1
    assert LedgerEvent.objects.filter(action="invitation.accepted").count() == 1
    # Two new accounts from one link at once: one is made, the other is refused whole.
    _inv, token = invitations.invite(
        actor=w.alice, council=w.council, email="new@example.org", role="auditor"
    )
    results = at_once(
        [
            lambda name=name: invitations.accept_as_new(
                token=token, username=name, password="a long passphrase 42"
            )
            for name in ("one", "two")
        ]
    )
    assert sum(isinstance(r, invitations.Unusable) for r in results) == 1, results
    assert get_user_model().objects.filter(email="new@example.org").count() == 1
    assert ledger.verify().ok


@pytest.mark.django_db
def test_an_email_that_cannot_be_sent_is_said_and_the_invitation_kept(
    world: World, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "tests.failing_mail.Backend"
    client = signed_in(world.alice)
    response = client.post(
        reverse("invite", args=[world.council.slug]),
        {"email": "far@example.org", "role": "auditor"},
        follow=True,
    )
    assert response.status_code == 200
    assert "could not be sent" in response.content.decode()
    invitation = Invitation.objects.get(email="far@example.org")
    assert invitation.pending
    # Once the mail server answers again, resending delivers a working link.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client.post(reverse("invitation-resend", args=[world.council.slug, invitation.pk]))
    assert (
        Client().get(link_in(mail.outbox[-1]).removeprefix("http://testserver")).status_code == 200
    )


@pytest.mark.django_db
def test_the_admin_shows_invitations_read_only_without_the_digest(world: World) -> None:
    invitation, token = invitations.invite(
        actor=world.alice, council=world.council, email="adm@example.org", role="auditor"
    )
    client = signed_in(world.root)
    listed = client.get(reverse("admin:members_invitation_changelist")).content.decode()
    shown = client.get(reverse("admin:members_invitation_change", args=[invitation.pk]))
    assert shown.status_code == 200 and "adm@example.org" in shown.content.decode()
    for page in (listed, shown.content.decode()):
        assert invitation.token_hash not in page and token not in page
    assert client.get(reverse("admin:members_invitation_add")).status_code == 403
    deleted = client.post(reverse("admin:members_invitation_delete", args=[invitation.pk]))
    assert deleted.status_code == 403 and Invitation.objects.filter(pk=invitation.pk).exists()
