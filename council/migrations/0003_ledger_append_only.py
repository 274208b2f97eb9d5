"""Make the decision ledger append-only in the database itself.

A trigger refuses UPDATE, DELETE and TRUNCATE on ledger events, whoever asks: a bug, an
admin action or a stray script cannot rewrite history. Someone who owns the table can
still lift it (ALTER TABLE ... DISABLE TRIGGER) — which is why, in production, the
application's database role must not own the ledger table (docs/architecture.md) — and
the hash chain still catches what such a person would change.
"""

from django.db import migrations

INSTALL = """
CREATE OR REPLACE FUNCTION quorum_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the decision ledger is append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_no_update_or_delete
    BEFORE UPDATE OR DELETE ON council_ledgerevent
    FOR EACH ROW EXECUTE FUNCTION quorum_ledger_append_only();

CREATE TRIGGER ledger_no_truncate
    BEFORE TRUNCATE ON council_ledgerevent
    FOR EACH STATEMENT EXECUTE FUNCTION quorum_ledger_append_only();
"""

REMOVE = """
DROP TRIGGER IF EXISTS ledger_no_truncate ON council_ledgerevent;
DROP TRIGGER IF EXISTS ledger_no_update_or_delete ON council_ledgerevent;
DROP FUNCTION IF EXISTS quorum_ledger_append_only();
"""


def install(apps, schema_editor):
    schema_editor.execute(INSTALL, params=None)  # the SQL has % of its own


def remove(apps, schema_editor):
    schema_editor.execute(REMOVE, params=None)


class Migration(migrations.Migration):
    dependencies = [("council", "0002_meeting_eligible_units_attendance_unit")]

    operations = [migrations.RunPython(install, remove)]
