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

A meeting is locked behind a **gate** first: a transaction-scoped advisory lock of the
same mode, taken just before the row lock. Row locks are not fair: PostgreSQL lets a new
``FOR SHARE`` locker join the holders of a row while an exclusive locker waits, so a
steady stream of casts or check-ins could hold a close off indefinitely. Advisory locks
live in the lock manager's queue, where a new shared request waits behind a waiting
exclusive one. So once a close (or an adjournment, or an opening) is waiting, the casts
that arrive after it queue behind it; the close waits only for the casts already in
flight, each one short transaction, and the casts behind it then find the vote closed
(``vote_closed``). The gate is taken before the row lock, at the head of the lock order,
so it adds no new wait cycle.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import connection, models

from . import rows
from .models import Meeting

M = TypeVar("M", bound=models.Model)


# The advisory locks' first key, naming the gate; the second is the meeting's id.
MEETING_GATE = 0x51_4D  # "QM"


def _pass_gate(meeting_id: int, *, shared: bool) -> None:
    # The two-key form takes 32-bit keys: ids past 2**31 share a gate with a lower one,
    # which can only make two meetings wait for each other, never let a close be passed.
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [MEETING_GATE, meeting_id % 2**31])


def lock(model: type[M], pk: object, *, shared: bool = False) -> M:
    """Lock row ``pk`` of ``model`` until the transaction ends and return it, fresh.

    A meeting passes its gate first (see above). Raises ``model.DoesNotExist`` when
    there is no such row.
    """
    if issubclass(model, Meeting):
        _pass_gate(int(str(pk)), shared=shared)
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
