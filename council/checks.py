"""System checks for production (``manage.py check --deploy``).

The rate limits and the sign-in lockout's throttles count in Django's cache. With each
process's own memory (the default without ``CACHE_URL``) every gunicorn worker and every
node counts apart, so a limit of 60 a minute becomes 60 per process: production must
name a shared cache.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

_PER_PROCESS = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@register(deploy=True)
def shared_cache(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if settings.DEBUG or backend not in _PER_PROCESS:
        return []
    return [
        Error(
            "No shared cache: the rate limits would count per process.",
            hint="Set CACHE_URL=redis://host:6379/1 (a Redis every web process reaches).",
            id="quorum.E001",
        )
    ]
