"""Row locks, taken in one global order to rule out deadlocks.

Order: meeting → proposal → vote → attendance or ballot → ledger head. A service takes only
the locks it needs, but never in another order. (A delegate's submission locks its unit
after the meeting, to count the unit's drafts; nothing else locks a unit with a meeting.)

Exclusive locks are ``FOR NO KEY UPDATE``, not ``FOR UPDATE``: inserting a row that
refers to a locked row (a ledger event → its council, a ballot → its proposal) takes
PostgreSQL's ``FOR KEY SHARE`` on it, which ``FOR UPDATE`` would block — a deadlock
waiting to happen between, say, a council update and any ledger append. No service
changes a primary key, so the weaker lock is enough.

Shared locks (``FOR SHARE``) let many ballots be cast at once while still blocking the
exclusive lock a close or an adjournment takes; the Django ORM only offers exclusive
locks, hence the raw query.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import connection, models

from . import rows

M = TypeVar("M", bound=models.Model)


def lock(model: type[M], pk: object, *, shared: bool = False) -> M:
    """Lock row ``pk`` of ``model`` until the transaction ends and return it, fresh.

    Raises ``model.DoesNotExist`` when there is no such row.
    """
    if not shared:
        return model._default_manager.select_for_update(no_key=True).get(pk=pk)
    opts = model._meta
    row = rows.fetch_one(
        f"SELECT {rows.columns(model, 't')} FROM {connection.ops.quote_name(opts.db_table)} t "  # noqa: S608 — names, not input
        f"WHERE t.{connection.ops.quote_name(opts.pk.column)} = %s FOR SHARE",
        [pk],
    )
    if row is None:
        # Every concrete model has DoesNotExist; the stubs give it to concrete models only,
        # and a type variable bound to Model is not one.
        raise model.DoesNotExist(f"{opts.object_name} {pk} does not exist")  # type: ignore[attr-defined]
    return rows.build(model, row)
