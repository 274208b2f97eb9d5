from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("council", "0003_ledger_append_only")]

    operations = [
        migrations.AddField(
            model_name="council",
            name="special_numerator",
            field=models.PositiveSmallIntegerField(
                default=2, verbose_name="special majority numerator"
            ),
        ),
        migrations.AddField(
            model_name="council",
            name="special_denominator",
            field=models.PositiveSmallIntegerField(
                default=3, verbose_name="special majority denominator"
            ),
        ),
        migrations.AddField(
            model_name="council",
            name="special_strict",
            field=models.BooleanField(
                default=False, verbose_name="special majority: more than (not at least)"
            ),
        ),
        migrations.AddField(
            model_name="council",
            name="special_basis",
            field=models.CharField(
                choices=[
                    ("members", "all member units"),
                    ("present", "units present"),
                    ("cast", "votes cast"),
                ],
                default="members",
                max_length=10,
                verbose_name="special majority basis",
            ),
        ),
        migrations.AddConstraint(
            model_name="council",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("special_numerator__gt", 0),
                    ("special_numerator__lte", models.F("special_denominator")),
                    models.Q(
                        ("special_strict", False),
                        ("special_numerator__lt", models.F("special_denominator")),
                        _connector="OR",
                    ),
                ),
                name="council_special_majority_fraction_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="council",
            constraint=models.CheckConstraint(
                condition=models.Q(("special_basis__in", ["members", "present", "cast"])),
                name="council_special_majority_basis_valid",
            ),
        ),
    ]
