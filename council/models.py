"""Councils, meetings, attendance, and the decision ledger.

Models hold data and the invariants the database can enforce. Business rules live in
``services.py`` (state changes) and ``proposals/rules.py`` (the arithmetic).
"""

from __future__ import annotations

import unicodedata
import zoneinfo
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from proposals import rules


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


# Text direction overrides and isolates (U+202A-U+202E, U+2066-U+2069): in a title they
# reorder what follows on every page, list and email that shows it.
_BIDI_CONTROLS = frozenset(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
# Letters and symbols that draw nothing (Hangul fillers, the blank Braille pattern).
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def validate_title(value: str) -> None:
    """A title is one line of visible text.

    It heads emails (a line break there makes Django refuse the header), agenda lines and
    the register, so it may hold no control character or line separator, no text
    direction override, and not only characters that draw nothing (zero-width spaces,
    format characters, fillers).
    """
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in value):
        raise ValidationError(
            _("A title is one line: no line breaks, tabs or control characters."),
            code="title_control",
        )
    if any(c in _BIDI_CONTROLS for c in value):
        raise ValidationError(
            _("A title cannot contain characters that override the text direction."),
            code="title_bidi",
        )
    if all(
        unicodedata.category(c) in ("Cf", "Zs", "Mn", "Me") or c in _BLANK_LETTERS for c in value
    ):
        raise ValidationError(_("A title needs visible characters."), code="title_blank")


class Basis(models.TextChoices):
    MEMBERS = rules.Basis.MEMBERS.value, _("all member units")
    PRESENT = rules.Basis.PRESENT.value, _("units present")
    CAST = rules.Basis.CAST.value, _("votes cast")


def _fraction_is_valid(prefix: str) -> Q:
    """``<prefix>_numerator / <prefix>_denominator`` lies in (0, 1], and below 1 when
    strict: the database refuses a rule that could never be met."""
    numerator, denominator = f"{prefix}_numerator", f"{prefix}_denominator"
    return (
        Q(**{f"{numerator}__gt": 0})
        & Q(**{f"{numerator}__lte": models.F(denominator)})
        & (Q(**{f"{prefix}_strict": False}) | Q(**{f"{numerator}__lt": models.F(denominator)}))
    )


class ResolutionKind(models.TextChoices):
    """Which majority a proposal needs: the council's ordinary or its special one."""

    ORDINARY = "ordinary", _("ordinary resolution")
    SPECIAL = "special", _("special resolution")


class Council(models.Model):
    """A body of member units that decides by vote, with its own rule set."""

    # The columns of the council's rules (its charter): the admin's form lists them, and
    # only a change of these is a change of the rules.
    RULE_FIELDS = (
        "quorum_numerator",
        "quorum_denominator",
        "quorum_strict",
        "majority_numerator",
        "majority_denominator",
        "majority_strict",
        "majority_basis",
        "special_numerator",
        "special_denominator",
        "special_strict",
        "special_basis",
    )

    name = models.CharField(_("name"), max_length=200, unique=True)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    # The rule set (docs/rules.md); copied onto each vote when it opens.
    quorum_numerator = models.PositiveSmallIntegerField(_("quorum numerator"), default=2)
    quorum_denominator = models.PositiveSmallIntegerField(_("quorum denominator"), default=3)
    quorum_strict = models.BooleanField(_("quorum: more than (not at least)"), default=True)
    majority_numerator = models.PositiveSmallIntegerField(_("majority numerator"), default=1)
    majority_denominator = models.PositiveSmallIntegerField(_("majority denominator"), default=2)
    majority_strict = models.BooleanField(_("majority: more than (not at least)"), default=True)
    majority_basis = models.CharField(
        _("majority basis"), max_length=10, choices=Basis.choices, default=Basis.MEMBERS
    )
    # The special resolution's majority: the same quorum, another line (by default at
    # least two thirds of all eligible units). A proposal says which of the two it needs.
    special_numerator = models.PositiveSmallIntegerField(_("special majority numerator"), default=2)
    special_denominator = models.PositiveSmallIntegerField(
        _("special majority denominator"), default=3
    )
    special_strict = models.BooleanField(
        _("special majority: more than (not at least)"), default=False
    )
    special_basis = models.CharField(
        _("special majority basis"), max_length=10, choices=Basis.choices, default=Basis.MEMBERS
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("council")
        verbose_name_plural = _("councils")
        constraints = [
            # Fractions in (0, 1]; "more than all" can never be met.
            models.CheckConstraint(
                condition=_fraction_is_valid("quorum"), name="council_quorum_fraction_valid"
            ),
            models.CheckConstraint(
                condition=_fraction_is_valid("majority"), name="council_majority_fraction_valid"
            ),
            models.CheckConstraint(
                condition=Q(majority_basis__in=Basis.values), name="council_majority_basis_valid"
            ),
            models.CheckConstraint(
                condition=_fraction_is_valid("special"),
                name="council_special_majority_fraction_valid",
            ),
            models.CheckConstraint(
                condition=Q(special_basis__in=Basis.values),
                name="council_special_majority_basis_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def rule_set(self) -> rules.RuleSet:
        """The rule of an ordinary resolution."""
        return self.rule_set_for(ResolutionKind.ORDINARY)

    @property
    def special_rule_set(self) -> rules.RuleSet:
        return self.rule_set_for(ResolutionKind.SPECIAL)

    def rule_set_for(self, kind: str) -> rules.RuleSet:
        """The rule a vote of this kind freezes when it opens: one quorum, two majorities."""
        quorum = rules.Threshold(self.quorum_numerator, self.quorum_denominator, self.quorum_strict)
        if kind == ResolutionKind.SPECIAL:
            return rules.RuleSet(
                quorum=quorum,
                majority=rules.Threshold(
                    self.special_numerator, self.special_denominator, self.special_strict
                ),
                basis=rules.Basis(self.special_basis),
            )
        return rules.RuleSet(
            quorum=quorum,
            majority=rules.Threshold(
                self.majority_numerator, self.majority_denominator, self.majority_strict
            ),
            basis=rules.Basis(self.majority_basis),
        )

    def rules_record(self) -> dict[str, Any]:
        """The council's rules as the API and the ledger show them: the ordinary rule set
        and the special resolution's majority."""
        special = self.special_rule_set
        return {
            **self.rule_set.as_dict(),
            "special_majority": {**special.majority.as_dict(), "basis": str(special.basis)},
        }

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class MeetingMode(models.TextChoices):
    IN_PERSON = "in_person", _("in person")
    ONLINE = "online", _("online")
    HYBRID = "hybrid", _("hybrid")


class MeetingStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("scheduled")
    IN_SESSION = "in_session", _("in session")
    ADJOURNED = "adjourned", _("adjourned")


class Meeting(models.Model):
    Mode = MeetingMode
    Status = MeetingStatus

    council = models.ForeignKey(
        Council, on_delete=models.PROTECT, related_name="meetings", verbose_name=_("council")
    )
    title = models.CharField(_("title"), max_length=200, validators=[validate_title])
    scheduled_at = models.DateTimeField(_("scheduled at"))
    mode = models.CharField(
        _("mode"), max_length=10, choices=MeetingMode.choices, default=MeetingMode.IN_PERSON
    )
    status = models.CharField(
        _("status"), max_length=12, choices=MeetingStatus.choices, default=MeetingStatus.SCHEDULED
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    adjourned_at = models.DateTimeField(_("adjourned at"), null=True, blank=True)
    # The snapshot of eligible units taken at the start: the denominator of every vote of
    # this meeting, whatever happens to the membership afterwards.
    eligible_units = models.ManyToManyField(
        "members.MemberUnit",
        related_name="eligible_in",
        blank=True,
        verbose_name=_("eligible units"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-scheduled_at", "-id"]
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        constraints = [
            models.CheckConstraint(
                condition=Q(mode__in=MeetingMode.values), name="meeting_mode_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="scheduled", started_at__isnull=True, adjourned_at__isnull=True)
                    | Q(status="in_session", started_at__isnull=False, adjourned_at__isnull=True)
                    | Q(status="adjourned", started_at__isnull=False, adjourned_at__isnull=False)
                ),
                name="meeting_status_matches_times",
            ),
        ]
        indexes = [models.Index(fields=["council", "scheduled_at"])]

    def __str__(self) -> str:
        return self.title


class Attendance(models.Model):
    """One attendance of a unit at a meeting: checked in, and later perhaps checked out.

    A unit is present while it has an attendance with no check-out. Rows are never
    deleted, so the history of check-ins and check-outs stays complete.
    """

    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="attendances")
    unit = models.ForeignKey(
        "members.MemberUnit", on_delete=models.PROTECT, related_name="attendances"
    )
    checked_in_at = models.DateTimeField(_("checked in at"))
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)
    checked_out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        ordering = ["checked_in_at", "id"]
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        constraints = [
            # A unit is present at most once at a time: the database arbitrates races.
            models.UniqueConstraint(
                fields=["meeting", "unit"],
                condition=Q(checked_out_at__isnull=True),
                name="attendance_one_open_stay_per_unit",
            ),
            models.CheckConstraint(
                condition=Q(checked_out_at__isnull=True)
                | Q(checked_out_at__gte=models.F("checked_in_at")),
                name="attendance_checks_out_after_check_in",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit} @ {self.meeting}"


class LedgerHead(models.Model):
    """The tip of one council's hash chain; locking it serialises appends."""

    council = models.OneToOneField(
        Council, on_delete=models.PROTECT, primary_key=True, related_name="ledger_head"
    )
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("ledger head")

    def __str__(self) -> str:
        return f"{self.council_id}#{self.seq}"


class LedgerEvent(models.Model):
    """One state change, appended in the same transaction as the change itself.

    ``hash`` is SHA-256 over the canonical JSON of the event and ``prev_hash``; see
    ``council/ledger.py``. Each council has its own chain, numbered from 1.
    """

    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="ledger_events")
    seq = models.PositiveBigIntegerField()
    at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=64)
    object = models.CharField(max_length=64)
    data = models.JSONField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["council_id", "seq"]
        verbose_name = _("ledger event")
        verbose_name_plural = _("ledger events")
        constraints = [
            # One successor per position: two appends can never fork a chain.
            models.UniqueConstraint(fields=["council", "seq"], name="ledger_one_event_per_seq"),
            models.UniqueConstraint(
                fields=["council", "prev_hash"], name="ledger_one_successor_per_event"
            ),
        ]
        indexes = [models.Index(fields=["object"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object}"


class Minutes(models.Model):
    """What the minutes of an adjourned meeting show, frozen in the adjournment's
    transaction (``council/minutes.py``) and never changed: the page and the PDF are
    rendered from ``document``, not from the live rows. ``sha256`` is over its canonical
    JSON and is also in the adjournment's ledger event."""

    meeting = models.OneToOneField(
        Meeting, on_delete=models.PROTECT, primary_key=True, related_name="minutes"
    )
    document = models.JSONField()
    sha256 = models.CharField(max_length=64)
    frozen_at = models.DateTimeField()

    class Meta:
        verbose_name = _("minutes")
        verbose_name_plural = _("minutes")

    def __str__(self) -> str:
        return f"minutes of {self.meeting_id}"


class MinutesPdf(models.Model):
    """The PDF of frozen minutes in one language, rendered once by a worker and then
    served as stored. The row is created when the render is queued: being unique per
    minutes and language, it lets one request of many queue the render. Until the
    worker stores the PDF, ``pdf`` and ``rendered_at`` are empty."""

    minutes = models.ForeignKey(Minutes, on_delete=models.PROTECT, related_name="pdfs")
    language = models.CharField(max_length=16)
    requested_at = models.DateTimeField()
    pdf = models.BinaryField(null=True, editable=False)
    sha256 = models.CharField(max_length=64, blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("minutes PDF")
        verbose_name_plural = _("minutes PDFs")
        constraints = [
            models.UniqueConstraint(
                fields=["minutes", "language"], name="minutes_pdf_once_per_language"
            ),
            models.CheckConstraint(
                condition=Q(pdf__isnull=True, rendered_at__isnull=True, sha256="")
                | Q(pdf__isnull=False, rendered_at__isnull=False, sha256__regex=r"^[0-9a-f]{64}$"),
                name="minutes_pdf_stored_with_its_hash",
            ),
        ]

    def __str__(self) -> str:
        return f"minutes PDF of {self.minutes_id} ({self.language})"
