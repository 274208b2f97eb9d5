"""/healthz: is this web node able to serve? (the database and the broker answer)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers and the broker (if one is configured) too; 503
    otherwise, naming what failed — for load balancers and process supervisors."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {exc.__class__.__name__}"
    if settings.CELERY_BROKER_URL and not settings.CELERY_TASK_ALWAYS_EAGER:
        from council.celery import app

        try:
            with app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = f"error: {exc.__class__.__name__}"
    else:
        checks["broker"] = "not used (tasks run in-process)"
    healthy = all(v == "ok" or v.startswith("not used") for v in checks.values())
    return JsonResponse({"ok": healthy, **checks}, status=200 if healthy else 503)
