"""Proposals, their votes, and ballots.

A proposal is put to the vote zero or more times. Each :class:`Vote` freezes the
council's rule set for the proposal's kind when it opens (``rules``), with its snapshot
of eligible units, and its result with all its arithmetic when it closes (``result``), so
every decision can be re-derived from its own row and its ballots.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from council.models import ResolutionKind, validate_title

from . import rules as rules_module


class ProposalStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    OPEN = "open", _("vote open")
    CLOSED = "closed", _("vote closed")
    WITHDRAWN = "withdrawn", _("withdrawn")


class ProposalOutcome(models.TextChoices):
    PASSED = rules_module.Outcome.PASSED.value, _("passed")
    REJECTED = rules_module.Outcome.REJECTED.value, _("rejected")
    NO_QUORUM = rules_module.Outcome.NO_QUORUM.value, _("no quorum")


class BallotChoice(models.TextChoices):
    YES = "yes", _("yes")
    NO = "no", _("no")
    ABSTAIN = "abstain", _("abstain")


class Proposal(models.Model):
    """A motion on a council's agenda. It is put to the vote zero or more times.

    ``status`` is the proposal's own life: a draft, its current vote open or closed, or
    withdrawn. The records of each vote — frozen rules, snapshot, deadline, ballots,
    result — belong to the :class:`Vote`; the properties below read the current one.
    """

    Status = ProposalStatus
    Outcome = ProposalOutcome
    Kind = ResolutionKind

    council = models.ForeignKey(
        "council.Council",
        on_delete=models.PROTECT,
        related_name="proposals",
        verbose_name=_("council"),
    )
    meeting = models.ForeignKey(
        "council.Meeting",
        on_delete=models.PROTECT,
        related_name="proposals",
        verbose_name=_("meeting"),
    )
    title = models.CharField(_("title"), max_length=200, validators=[validate_title])
    body = models.TextField(_("text"), max_length=20_000, blank=True)
    proposer_unit = models.ForeignKey(
        "members.MemberUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proposals",
        verbose_name=_("proposer unit"),
    )
    kind = models.CharField(
        _("kind"), max_length=10, choices=ResolutionKind.choices, default=ResolutionKind.ORDINARY
    )
    position = models.PositiveIntegerField(_("agenda position"), default=0)
    status = models.CharField(
        _("status"), max_length=10, choices=ProposalStatus.choices, default=Status.DRAFT
    )
    # The deadline planned for the next vote; opening copies it onto the vote.
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        ordering = ["meeting_id", "position", "id"]
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ProposalStatus.values), name="proposal_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ResolutionKind.values), name="proposal_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="withdrawn", withdrawn_at__isnull=False)
                | (~Q(status="withdrawn") & Q(withdrawn_at__isnull=True)),
                name="proposal_withdrawn_at_matches_status",
            ),
        ]
        indexes = [models.Index(fields=["council", "status"])]

    def __str__(self) -> str:
        return self.title

    # current_vote's cache: in the instance's __dict__ once read or set, never a field.
    _current_vote: Vote | None

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        self.__dict__.pop("_current_vote", None)
        super().refresh_from_db(*args, **kwargs)

    @property
    def current_vote(self) -> Vote | None:
        """The latest vote: the one ``open``, ``close``, ballots and tally act on."""
        # Set by the services that just opened or closed it; else from a prefetch of
        # ``votes`` (lists of proposals); else one query.
        if "_current_vote" in self.__dict__:
            return self._current_vote
        prefetched = getattr(self, "_prefetched_objects_cache", {})
        if "votes" in prefetched:
            votes = list(prefetched["votes"])
            return max(votes, key=lambda v: v.number) if votes else None
        self._current_vote = self.votes.order_by("-number").first() if self.pk else None
        return self._current_vote

    @current_vote.setter
    def current_vote(self, vote: Vote | None) -> None:
        self._current_vote = vote

    # The API's proposal fields that describe its current vote.
    @property
    def outcome(self) -> str | None:
        vote = self.current_vote
        return vote.outcome if vote else None

    @property
    def opened_at(self) -> datetime.datetime | None:
        vote = self.current_vote
        return vote.opened_at if vote else None

    @property
    def closed_at(self) -> datetime.datetime | None:
        vote = self.current_vote
        return vote.closed_at if vote else None

    @property
    def result(self) -> dict[str, Any] | None:
        vote = self.current_vote
        return vote.result if vote else None

    @property
    def rules(self) -> dict[str, Any] | None:
        vote = self.current_vote
        return vote.rules if vote else None

    @property
    def rule_set(self) -> rules_module.RuleSet | None:
        vote = self.current_vote
        return vote.rule_set if vote else None

    @property
    def can_be_put_to_vote(self) -> bool:
        """A draft, or a proposal whose last vote was void: a passed or rejected one is
        final (a council that wants to reconsider files a new proposal)."""
        if self.status == ProposalStatus.DRAFT:
            return True
        return self.status == ProposalStatus.CLOSED and self.outcome == ProposalOutcome.NO_QUORUM


class VoteQuerySet(models.QuerySet["Vote"]):
    def open(self) -> VoteQuerySet:
        return self.filter(closed_at__isnull=True)

    def closed(self) -> VoteQuerySet:
        return self.filter(closed_at__isnull=False)


class Vote(models.Model):
    """One opening and closing of the ballot on a proposal: a decision once closed.

    Everything a vote is decided by is its own: the rule set frozen when it opened, the
    snapshot of eligible units, the deadline, the ballots, and the result frozen when it
    closed — so every decision can be re-derived from its own record, and a void vote
    (``no_quorum``) stays in the register when its proposal is put to the vote again.
    """

    Kind = ResolutionKind

    proposal = models.ForeignKey(
        Proposal, on_delete=models.PROTECT, related_name="votes", verbose_name=_("proposal")
    )
    number = models.PositiveSmallIntegerField(_("number"), help_text=_("1 for a first vote."))
    kind = models.CharField(_("kind"), max_length=10, choices=ResolutionKind.choices)
    # Frozen at open: RuleSet.as_dict() of the kind's rule.
    rules = models.JSONField(_("rule set"))
    eligible_units = models.ManyToManyField(
        "members.MemberUnit", related_name="+", blank=True, verbose_name=_("eligible units")
    )
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    opened_at = models.DateTimeField(_("vote opened at"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    closed_at = models.DateTimeField(_("vote closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    # NULL, not "": the API contract says an undecided outcome is null.
    outcome = models.CharField(  # noqa: DJ001
        _("outcome"), max_length=10, choices=ProposalOutcome.choices, null=True, blank=True
    )
    # Frozen at close: Result.as_dict() plus the units counted present.
    result = models.JSONField(_("result"), null=True, blank=True)

    objects = VoteQuerySet.as_manager()

    class Meta:
        ordering = ["proposal_id", "number"]
        verbose_name = _("vote")
        verbose_name_plural = _("votes")
        constraints = [
            models.UniqueConstraint(fields=["proposal", "number"], name="vote_numbered_once"),
            # At most one open vote per proposal, whatever races.
            models.UniqueConstraint(
                fields=["proposal"],
                condition=Q(closed_at__isnull=True),
                name="vote_one_open_per_proposal",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ResolutionKind.values), name="vote_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(outcome__isnull=True) | Q(outcome__in=ProposalOutcome.values),
                name="vote_outcome_valid",
            ),
            # Open: nothing decided yet. Closed: the outcome and its frozen result.
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True, outcome__isnull=True, result__isnull=True)
                | Q(closed_at__isnull=False, outcome__isnull=False, result__isnull=False),
                name="vote_closed_with_its_result",
            ),
        ]
        indexes = [
            models.Index(fields=["closed_at", "deadline"]),
            models.Index(fields=["outcome", "closed_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.proposal_id}/{self.number}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def status(self) -> str:
        """The vote's state in the proposal's words: ``open`` or ``closed``."""
        return ProposalStatus.OPEN if self.closed_at is None else ProposalStatus.CLOSED

    @property
    def rule_set(self) -> rules_module.RuleSet:
        return rules_module.RuleSet.from_dict(self.rules)


class Ballot(models.Model):
    """A unit's single ballot in a vote. Replacing it updates this row; the ledger keeps
    every version."""

    Choice = BallotChoice

    vote = models.ForeignKey(Vote, on_delete=models.PROTECT, related_name="ballots")
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
        ordering = ["vote_id", "unit_id"]
        verbose_name = _("ballot")
        verbose_name_plural = _("ballots")
        constraints = [
            # Rule 1, one unit one vote, enforced where no race can slip past it.
            models.UniqueConstraint(fields=["vote", "unit"], name="ballot_one_per_unit"),
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
    so running a task twice, or two workers at once, sends nothing twice. An email the
    mail server refuses for good (a refused address, a malformed header) is stamped
    ``failed_at`` with the reason instead, reported once and never tried again.
    """

    class Kind(models.TextChoices):
        VOTE_OPENED = "vote_opened", _("vote opened")
        REMINDER = "reminder", _("reminder before the deadline")
        RESULT = "result", _("result published")
        # A unit's ballot replaced by someone other than who cast it: its other delegates.
        REPLACED = "replaced", _("your unit's ballot was replaced")

    kind = models.CharField(max_length=12, choices=Kind.choices)
    vote = models.ForeignKey(Vote, on_delete=models.PROTECT, related_name="notifications")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    planned_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    failure = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "vote", "user"], name="notification_once_per_person"
            ),
            models.CheckConstraint(
                condition=Q(sent_at__isnull=True) | Q(failed_at__isnull=True),
                name="notification_sent_or_failed",
            ),
        ]
        indexes = [models.Index(fields=["vote", "kind", "sent_at"])]

    def __str__(self) -> str:
        return f"{self.kind} → {self.user_id} ({self.vote_id})"


class NotificationPlan(models.Model):
    """That a vote's emails of one kind were planned — even when nobody was to be told.

    Written with the :class:`Notification` rows it stands for. Beat's sweep plans the
    emails of open and closed votes that have no plan yet (their task was never queued:
    the broker was down); without this row a vote whose plan found nobody would look
    unplanned for ever, and be mailed to whoever holds a role later.
    """

    kind = models.CharField(max_length=12, choices=Notification.Kind.choices)
    vote = models.ForeignKey(Vote, on_delete=models.PROTECT, related_name="+")
    planned_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "vote"], name="notification_plan_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} planned for {self.vote_id}"
