"""Votes become records of their own (data, part 2 of 3).

Each proposal whose vote was opened gets its vote number 1, carrying what the proposal
carried: the frozen rule set, the deadline, the opening and closing, the outcome and the
frozen result; its snapshot of eligible units is the meeting's, as it was counted. The
ballots and the emails follow their vote. Nothing is recomputed and the ledger is not
touched: its events about ``proposal:N`` stay as they were written, and the verifiers
read them as the events of that proposal's first vote.
"""

from django.db import migrations


def forward(apps, schema_editor):
    Proposal = apps.get_model("proposals", "Proposal")
    Vote = apps.get_model("proposals", "Vote")
    Ballot = apps.get_model("proposals", "Ballot")
    Notification = apps.get_model("proposals", "Notification")
    NotificationPlan = apps.get_model("proposals", "NotificationPlan")
    Through = Vote.eligible_units.through
    proposals = Proposal.objects.select_related("meeting").order_by("pk")
    for proposal in proposals.iterator(chunk_size=500):
        proposal.council_id = proposal.meeting.council_id
        proposal.save(update_fields=["council"])
        if proposal.status not in ("open", "closed"):
            continue
        vote = Vote.objects.create(
            proposal_id=proposal.pk,
            number=1,
            kind="ordinary",
            rules=proposal.rules,
            deadline=proposal.deadline,
            opened_at=proposal.opened_at,
            opened_by_id=proposal.opened_by_id,
            closed_at=proposal.closed_at,
            closed_by_id=proposal.closed_by_id,
            outcome=proposal.outcome,
            result=proposal.result,
        )
        units = proposal.meeting.eligible_units.values_list("pk", flat=True)
        Through.objects.bulk_create(
            [Through(vote_id=vote.pk, memberunit_id=unit) for unit in units], batch_size=1000
        )
        Ballot.objects.filter(proposal_id=proposal.pk).update(vote_id=vote.pk)
        Notification.objects.filter(proposal_id=proposal.pk).update(vote_id=vote.pk)
        NotificationPlan.objects.filter(proposal_id=proposal.pk).update(vote_id=vote.pk)


class Migration(migrations.Migration):
    dependencies = [("proposals", "0004_votes")]

    # Forward only: going back would fold several votes of a proposal into one row.
    operations = [migrations.RunPython(forward, elidable=False)]
