"""Freeze the minutes of the meetings adjourned before minutes were frozen at adjournment.

They are frozen from the rows as they are when this runs: a unit renamed between such a
meeting's adjournment and this migration shows its new name in those minutes. Their
ledger events are not touched (the chain is append-only), so only meetings adjourned
from now on carry ``minutes_sha256`` in their ``meeting.adjourned`` event. The document
is built by the same code as at adjournment (``council.minutes.freeze``), reading
through this migration's historical models.
"""

from django.db import migrations
from django.utils import timezone


def forward(apps, schema_editor):
    from council import minutes

    Meeting = apps.get_model("council", "Meeting")
    Minutes = apps.get_model("council", "Minutes")
    now = timezone.now()
    for meeting_id in (
        Meeting.objects.filter(status="adjourned", minutes__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    ):
        document = minutes.freeze(meeting_id, apps)
        Minutes.objects.create(
            meeting_id=meeting_id,
            document=document,
            sha256=minutes.digest(document),
            frozen_at=now,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("council", "0005_minutes_frozen_and_pdfs"),
        ("proposals", "0006_votes_own_their_records"),
    ]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
