"""Votes become records of their own (schema, part 3 of 3): the proposal's old vote
columns go, and the new ones become required with their constraints."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0001_units_and_roles'),
        ('proposals', '0005_votes_from_proposals'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='ballot',
            options={'ordering': ['vote_id', 'unit_id'], 'verbose_name': 'ballot', 'verbose_name_plural': 'ballots'},
        ),
        migrations.RemoveConstraint(
            model_name='ballot',
            name='ballot_one_per_unit',
        ),
        migrations.RemoveConstraint(
            model_name='notification',
            name='notification_once_per_person',
        ),
        migrations.RemoveConstraint(
            model_name='notificationplan',
            name='notification_plan_once',
        ),
        migrations.RemoveConstraint(
            model_name='proposal',
            name='proposal_outcome_valid',
        ),
        migrations.RemoveConstraint(
            model_name='proposal',
            name='proposal_status_matches_records',
        ),
        migrations.RemoveIndex(
            model_name='notification',
            name='proposals_n_proposa_059c71_idx',
        ),
        migrations.RemoveIndex(
            model_name='proposal',
            name='proposals_p_status_c0815b_idx',
        ),
        migrations.RemoveIndex(
            model_name='proposal',
            name='proposals_p_outcome_475e0c_idx',
        ),
        migrations.RemoveField(
            model_name='ballot',
            name='proposal',
        ),
        migrations.RemoveField(
            model_name='notification',
            name='proposal',
        ),
        migrations.RemoveField(
            model_name='notificationplan',
            name='proposal',
        ),
        migrations.RemoveField(
            model_name='proposal',
            name='closed_at',
        ),
        migrations.RemoveField(
            model_name='proposal',
            name='closed_by',
        ),
        migrations.RemoveField(
            model_name='proposal',
            name='opened_at',
        ),
        migrations.RemoveField(
            model_name='proposal',
            name='opened_by',
        ),
        migrations.RemoveField(
            model_name='proposal',
            name='outcome',
        ),
        migrations.RemoveField(
            model_name='proposal',
            name='result',
        ),
        migrations.RemoveField(
            model_name='proposal',
            name='rules',
        ),
        migrations.AlterField(
            model_name='ballot',
            name='vote',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='ballots', to='proposals.vote'),
        ),
        migrations.AlterField(
            model_name='notification',
            name='vote',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='notifications', to='proposals.vote'),
        ),
        migrations.AlterField(
            model_name='notificationplan',
            name='vote',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='proposals.vote'),
        ),
        migrations.AlterField(
            model_name='proposal',
            name='council',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='proposals', to='council.council', verbose_name='council'),
        ),
        migrations.AddIndex(
            model_name='notification',
            index=models.Index(fields=['vote', 'kind', 'sent_at'], name='proposals_n_vote_id_e66dd9_idx'),
        ),
        migrations.AddIndex(
            model_name='proposal',
            index=models.Index(fields=['council', 'status'], name='proposals_p_council_90ce29_idx'),
        ),
        migrations.AddIndex(
            model_name='vote',
            index=models.Index(fields=['closed_at', 'deadline'], name='proposals_v_closed__6a5ed8_idx'),
        ),
        migrations.AddIndex(
            model_name='vote',
            index=models.Index(fields=['outcome', 'closed_at'], name='proposals_v_outcome_8e1078_idx'),
        ),
        migrations.AddConstraint(
            model_name='ballot',
            constraint=models.UniqueConstraint(fields=('vote', 'unit'), name='ballot_one_per_unit'),
        ),
        migrations.AddConstraint(
            model_name='notification',
            constraint=models.UniqueConstraint(fields=('kind', 'vote', 'user'), name='notification_once_per_person'),
        ),
        migrations.AddConstraint(
            model_name='notificationplan',
            constraint=models.UniqueConstraint(fields=('kind', 'vote'), name='notification_plan_once'),
        ),
        migrations.AddConstraint(
            model_name='proposal',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['ordinary', 'special'])), name='proposal_kind_valid'),
        ),
        migrations.AddConstraint(
            model_name='proposal',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'withdrawn'), ('withdrawn_at__isnull', False)), models.Q(models.Q(('status', 'withdrawn'), _negated=True), ('withdrawn_at__isnull', True)), _connector='OR'), name='proposal_withdrawn_at_matches_status'),
        ),
        migrations.AddConstraint(
            model_name='vote',
            constraint=models.UniqueConstraint(fields=('proposal', 'number'), name='vote_numbered_once'),
        ),
        migrations.AddConstraint(
            model_name='vote',
            constraint=models.UniqueConstraint(condition=models.Q(('closed_at__isnull', True)), fields=('proposal',), name='vote_one_open_per_proposal'),
        ),
        migrations.AddConstraint(
            model_name='vote',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['ordinary', 'special'])), name='vote_kind_valid'),
        ),
        migrations.AddConstraint(
            model_name='vote',
            constraint=models.CheckConstraint(condition=models.Q(('outcome__isnull', True), ('outcome__in', ['passed', 'rejected', 'no_quorum']), _connector='OR'), name='vote_outcome_valid'),
        ),
        migrations.AddConstraint(
            model_name='vote',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('closed_at__isnull', True), ('outcome__isnull', True), ('result__isnull', True)), models.Q(('closed_at__isnull', False), ('outcome__isnull', False), ('result__isnull', False)), _connector='OR'), name='vote_closed_with_its_result'),
        ),
    ]
