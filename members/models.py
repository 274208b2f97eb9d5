"""Member units of a council, and the roles people hold in councils."""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from knox.models import AbstractAuthToken
from knox.settings import CONSTANTS


class MemberUnitQuerySet(models.QuerySet["MemberUnit"]):
    def eligible_on(self, day: datetime.date) -> MemberUnitQuerySet:
        """Voting units that are members on ``day`` (joined on or before, not yet left)."""
        return self.filter(voting=True, joined_on__lte=day).filter(
            Q(left_on__isnull=True) | Q(left_on__gt=day)
        )


class MemberUnit(models.Model):
    """An organisation of the council. It holds one vote per proposal, if it votes at all."""

    class Label(models.TextChoices):
        # Labels only: the chair unit has one vote like everyone else (docs/rules.md).
        NONE = "", _("—")
        CHAIR = "chair", _("chair unit")
        VICE_CHAIR = "vice_chair", _("vice-chair unit")

    council = models.ForeignKey(
        "council.Council",
        on_delete=models.PROTECT,
        related_name="units",
        verbose_name=_("council"),
    )
    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=40)
    voting = models.BooleanField(
        _("voting"),
        default=True,
        help_text=_("Non-voting participants (partners, observers) attend but count nowhere."),
    )
    label = models.CharField(_("label"), max_length=12, choices=Label.choices, blank=True)
    joined_on = models.DateField(_("joined on"), default=datetime.date.today)
    left_on = models.DateField(_("left on"), null=True, blank=True)

    objects = MemberUnitQuerySet.as_manager()

    class Meta:
        ordering = ["council_id", "short_name"]
        verbose_name = _("member unit")
        verbose_name_plural = _("member units")
        constraints = [
            models.UniqueConstraint(fields=["council", "name"], name="unit_name_unique"),
            models.UniqueConstraint(
                fields=["council", "short_name"], name="unit_short_name_unique"
            ),
            models.UniqueConstraint(
                fields=["council", "label"],
                condition=~Q(label=""),
                name="unit_one_chair_and_vice_chair",
            ),
            models.CheckConstraint(
                condition=Q(left_on__isnull=True) | Q(left_on__gte=models.F("joined_on")),
                name="unit_leaves_after_joining",
            ),
            models.CheckConstraint(
                condition=Q(label__in=["", "chair", "vice_chair"]), name="unit_label_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.short_name


class Role(models.Model):
    """A person's role in one council: secretary, auditor, or delegate of one unit."""

    class Kind(models.TextChoices):
        SECRETARY = "secretary", _("secretary")
        AUDITOR = "auditor", _("auditor")
        DELEGATE = "delegate", _("delegate")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="council_roles"
    )
    council = models.ForeignKey("council.Council", on_delete=models.PROTECT, related_name="roles")
    role = models.CharField(_("role"), max_length=10, choices=Kind.choices)
    unit = models.ForeignKey(
        MemberUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="delegates",
        help_text=_("Required for a delegate, empty otherwise."),
    )

    class Meta:
        ordering = ["council_id", "role", "user_id"]
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        constraints = [
            models.CheckConstraint(
                condition=(Q(role="delegate") & Q(unit__isnull=False))
                | (Q(role__in=["secretary", "auditor"]) & Q(unit__isnull=True)),
                name="role_unit_only_for_delegates",
            ),
            models.UniqueConstraint(
                fields=["user", "council", "role"],
                condition=Q(unit__isnull=True),
                name="role_once_per_council",
            ),
            models.UniqueConstraint(
                fields=["user", "unit"],
                condition=Q(unit__isnull=False),
                name="role_delegate_once_per_unit",
            ),
        ]

    def __str__(self) -> str:
        if self.unit_id:
            return f"{self.user} — {self.get_role_display()} ({self.unit})"
        return f"{self.user} — {self.get_role_display()} ({self.council})"


class ApiToken(AbstractAuthToken):
    """An API token: knox's digest (SHA-512 of the key; the key itself is never stored),
    its first characters for lookup, owner and expiry — plus the session that asked for it.

    ``session`` is a SHA-256 digest of the session key of the signed-in browser session
    that created the token (the tokens page, or the token endpoint called with that
    session's cookie); empty for a token asked for with only a username and password.
    Signing out revokes the tokens of the session signing out (members/receivers.py):
    a token made in a session lives no longer than it. Storing a digest rather than the
    key keeps this table free of anything that would let a reader take over a session.

    The primary key is a number, not knox's digest, so that the tokens page and its
    revoke form name a token by something that says nothing about it.
    """

    # Annotated: knox ships no types, so the stubs' plugin cannot infer them from Any.
    id: models.BigAutoField[Any, int] = models.BigAutoField(primary_key=True)
    digest: models.CharField[Any, str] = models.CharField(
        max_length=CONSTANTS.DIGEST_LENGTH, unique=True
    )
    session: models.CharField[Any, str] = models.CharField(
        max_length=64, blank=True, default="", db_index=True
    )
    label: models.CharField[Any, str] = models.CharField(
        _("label"), max_length=100, blank=True, default=""
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        # Never the digest: the admin and logs name a token by its public prefix.
        return f"{self.token_key}… ({self.user})"


class Invitation(models.Model):
    """An invitation sent by email to take a role in a council.

    The token is random and appears only in the emailed link: the row keeps its SHA-256
    digest (``token_hash``), so whoever reads the table cannot use a pending invitation.
    Resending replaces the digest (the old link stops working) and the expiry.
    """

    council = models.ForeignKey(
        "council.Council",
        on_delete=models.PROTECT,
        related_name="invitations",
        verbose_name=_("council"),
    )
    email = models.EmailField(_("email address"))
    role = models.CharField(_("role"), max_length=10, choices=Role.Kind.choices)
    unit = models.ForeignKey(
        MemberUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invitations",
        verbose_name=_("unit"),
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="invitations_sent",
        verbose_name=_("invited by"),
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invitations_accepted",
        verbose_name=_("accepted by"),
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["council_id", "-created_at", "-id"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.CheckConstraint(
                condition=(Q(role="delegate") & Q(unit__isnull=False))
                | (Q(role__in=["secretary", "auditor"]) & Q(unit__isnull=True)),
                name="invitation_unit_only_for_delegates",
            ),
            models.CheckConstraint(
                condition=Q(accepted_at__isnull=True) | Q(revoked_at__isnull=True),
                name="invitation_accepted_or_revoked",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} — {self.get_role_display()} ({self.council})"

    def usable(self, now: datetime.datetime) -> bool:
        """Whether its link may still be accepted: not used, not revoked, not expired."""
        return self.accepted_at is None and self.revoked_at is None and now < self.expires_at

    @property
    def pending(self) -> bool:
        """Neither accepted nor revoked (an expired one can still be resent)."""
        return self.accepted_at is None and self.revoked_at is None


class Profile(models.Model):
    """A person's preferences that outlive a session: the language their emails are
    written in.

    ``language`` is the language they last used: set when they switch language (the
    language menu) and when they sign in (the language the sign-in page was shown in).
    Empty until then: emails are in the site's default language (``LANGUAGE_CODE``).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quorum_profile"
    )
    language = models.CharField(
        _("language"),
        max_length=16,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("The language of the emails this person receives."),
    )

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")

    def __str__(self) -> str:
        return f"{self.user} ({self.language or '-'})"
