"""Proposals, their votes, and ballots.

A proposal is voted once: when its vote opens the council's rule set is frozen onto it
(``rules``); when it closes the result with all its arithmetic is frozen too (``result``),
so every stored decision can be re-derived from its own row and its ballots.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from . import rules


class ProposalStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    OPEN = "open", _("vote open")
    CLOSED = "closed", _("vote closed")
    WITHDRAWN = "withdrawn", _("withdrawn")


class ProposalOutcome(models.TextChoices):
    PASSED = rules.Outcome.PASSED.value, _("passed")
    REJECTED = rules.Outcome.REJECTED.value, _("rejected")
    NO_QUORUM = rules.Outcome.NO_QUORUM.value, _("no quorum")


class BallotChoice(models.TextChoices):
    YES = "yes", _("yes")
    NO = "no", _("no")
    ABSTAIN = "abstain", _("abstain")


class Proposal(models.Model):
    Status = ProposalStatus
    Outcome = ProposalOutcome

    meeting = models.ForeignKey(
        "council.Meeting",
        on_delete=models.PROTECT,
        related_name="proposals",
        verbose_name=_("meeting"),
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), max_length=20_000, blank=True)
    proposer_unit = models.ForeignKey(
        "members.MemberUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proposals",
        verbose_name=_("proposer unit"),
    )
    position = models.PositiveIntegerField(_("agenda position"), default=0)
    status = models.CharField(
        _("status"), max_length=10, choices=ProposalStatus.choices, default=Status.DRAFT
    )
    # NULL, not "": the API contract says an undecided outcome is null.
    outcome = models.CharField(  # noqa: DJ001
        _("outcome"), max_length=10, choices=ProposalOutcome.choices, null=True, blank=True
    )
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    opened_at = models.DateTimeField(_("vote opened at"), null=True, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    closed_at = models.DateTimeField(_("vote closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    # Frozen at open: the rule set in force for this vote (RuleSet.as_dict()).
    rules = models.JSONField(_("rule set"), null=True, blank=True)
    # Frozen at close: Result.as_dict() plus the units counted present.
    result = models.JSONField(_("result"), null=True, blank=True)

    class Meta:
        ordering = ["meeting_id", "position", "id"]
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ProposalStatus.values), name="proposal_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(outcome__isnull=True) | Q(outcome__in=ProposalOutcome.values),
                name="proposal_outcome_valid",
            ),
            # Each status carries exactly the frozen records it must have.
            models.CheckConstraint(
                condition=(
                    Q(
                        status="draft",
                        opened_at__isnull=True,
                        outcome__isnull=True,
                        rules__isnull=True,
                        result__isnull=True,
                    )
                    | Q(
                        status="withdrawn",
                        opened_at__isnull=True,
                        outcome__isnull=True,
                        withdrawn_at__isnull=False,
                        result__isnull=True,
                    )
                    | Q(
                        status="open",
                        opened_at__isnull=False,
                        rules__isnull=False,
                        closed_at__isnull=True,
                        outcome__isnull=True,
                        result__isnull=True,
                    )
                    | Q(
                        status="closed",
                        opened_at__isnull=False,
                        rules__isnull=False,
                        closed_at__isnull=False,
                        outcome__isnull=False,
                        result__isnull=False,
                    )
                ),
                name="proposal_status_matches_records",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "deadline"]),
            models.Index(fields=["outcome", "closed_at"]),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def rule_set(self) -> rules.RuleSet | None:
        return rules.RuleSet.from_dict(self.rules) if self.rules else None


class Ballot(models.Model):
    """A unit's single ballot on a proposal. Replacing it updates this row; the ledger
    keeps every version."""

    Choice = BallotChoice

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="ballots")
    unit = models.ForeignKey("members.MemberUnit", on_delete=models.PROTECT, related_name="ballots")
    choice = models.CharField(_("choice"), max_length=8, choices=BallotChoice.choices)
    cast_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    cast_at = models.DateTimeField(_("cast at"))
    recorded_by_secretary = models.BooleanField(
        _("recorded by the secretary"),
        default=False,
        help_text=_("A vote given in the room and entered by the secretary for the unit."),
    )

    class Meta:
        ordering = ["proposal_id", "unit_id"]
        verbose_name = _("ballot")
        verbose_name_plural = _("ballots")
        constraints = [
            # Rule 1, one unit one vote, enforced where no race can slip past it.
            models.UniqueConstraint(fields=["proposal", "unit"], name="ballot_one_per_unit"),
            models.CheckConstraint(
                condition=Q(choice__in=BallotChoice.values), name="ballot_choice_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit}: {self.choice}"


class Notification(models.Model):
    """One email to one person about one vote, planned once and sent at most once.

    Planning inserts these rows (the unique constraint makes a second plan a no-op);
    delivery claims unsent rows with ``SKIP LOCKED``, sends, and stamps ``sent_at`` —
    so running a task twice, or two workers at once, sends nothing twice.
    """

    class Kind(models.TextChoices):
        VOTE_OPENED = "vote_opened", _("vote opened")
        REMINDER = "reminder", _("reminder before the deadline")
        RESULT = "result", _("result published")

    kind = models.CharField(max_length=12, choices=Kind.choices)
    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="notifications")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    planned_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "proposal", "user"], name="notification_once_per_person"
            ),
        ]
        indexes = [models.Index(fields=["proposal", "kind", "sent_at"])]

    def __str__(self) -> str:
        return f"{self.kind} → {self.user_id} ({self.proposal_id})"


class NotificationPlan(models.Model):
    """That a vote's emails of one kind were planned — even when nobody was to be told.

    Written with the :class:`Notification` rows it stands for. Beat's sweep plans the
    emails of open and closed votes that have no plan yet (their task was never queued:
    the broker was down); without this row a vote whose plan found nobody would look
    unplanned for ever, and be mailed to whoever holds a role later.
    """

    kind = models.CharField(max_length=12, choices=Notification.Kind.choices)
    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="+")
    planned_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "proposal"], name="notification_plan_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} planned for {self.proposal_id}"
