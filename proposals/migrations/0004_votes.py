"""Votes become records of their own (schema, part 1 of 3): the new tables and columns,
nullable until 0005 has moved each opened proposal's vote into them."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("council", "0004_council_special_majority"),
        ("members", "0001_units_and_roles"),
        ("proposals", "0003_notification_plans"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="proposal",
            name="council",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="proposals",
                to="council.council",
                verbose_name="council",
            ),
        ),
        migrations.AddField(
            model_name="proposal",
            name="kind",
            field=models.CharField(
                choices=[("ordinary", "ordinary resolution"), ("special", "special resolution")],
                default="ordinary",
                max_length=10,
                verbose_name="kind",
            ),
        ),
        migrations.CreateModel(
            name="Vote",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "number",
                    models.PositiveSmallIntegerField(
                        help_text="1 for a first vote.", verbose_name="number"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("ordinary", "ordinary resolution"),
                            ("special", "special resolution"),
                        ],
                        max_length=10,
                        verbose_name="kind",
                    ),
                ),
                ("rules", models.JSONField(verbose_name="rule set")),
                ("deadline", models.DateTimeField(blank=True, null=True, verbose_name="deadline")),
                ("opened_at", models.DateTimeField(verbose_name="vote opened at")),
                (
                    "closed_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="vote closed at"),
                ),
                (
                    "outcome",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("passed", "passed"),
                            ("rejected", "rejected"),
                            ("no_quorum", "no quorum"),
                        ],
                        max_length=10,
                        null=True,
                        verbose_name="outcome",
                    ),
                ),
                ("result", models.JSONField(blank=True, null=True, verbose_name="result")),
                (
                    "closed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "eligible_units",
                    models.ManyToManyField(
                        blank=True,
                        related_name="+",
                        to="members.memberunit",
                        verbose_name="eligible units",
                    ),
                ),
                (
                    "opened_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "proposal",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="votes",
                        to="proposals.proposal",
                        verbose_name="proposal",
                    ),
                ),
            ],
            options={
                "verbose_name": "vote",
                "verbose_name_plural": "votes",
                "ordering": ["proposal_id", "number"],
            },
        ),
        migrations.AddField(
            model_name="ballot",
            name="vote",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="ballots",
                to="proposals.vote",
            ),
        ),
        migrations.AddField(
            model_name="notification",
            name="vote",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="notifications",
                to="proposals.vote",
            ),
        ),
        migrations.AddField(
            model_name="notificationplan",
            name="vote",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="proposals.vote",
            ),
        ),
    ]
