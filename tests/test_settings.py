"""The one settings module: safe defaults, loud failures on unsafe production values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = "k" * 50


def load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"}
    }
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings;"
            " print(settings.DATABASES['default']['ENGINE'], settings.CELERY_TASK_ALWAYS_EAGER)",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "council.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_defaults_are_a_development_postgresql_and_eager_celery() -> None:
    # No DATABASE_URL: the local server, or else the embedded one (tests/test_devdb.py).
    result = load_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", "True"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "false"}, "SECRET_KEY"),
        ({"DEBUG": "false", "SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"DEBUG": "false", "SECRET_KEY": GOOD_KEY}, "ALLOWED_HOSTS"),
        ({"DEBUG": "maybe"}, "DEBUG must be true or false"),
        ({"DATABASE_URL": "nonsense://"}, "DATABASE_URL"),
        ({"DATABASE_URL": "sqlite:///quorum.db"}, "Quorum needs PostgreSQL"),
        # Production names its database: no local server, no embedded one.
        ({"DEBUG": "false", "SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "q.example"}, "DATABASE_URL"),
        ({"CELERY_TASK_SOFT_TIME_LIMIT": "400"}, "below CELERY_TASK_TIME_LIMIT"),
        ({"EMAIL_TIMEOUT": "0"}, "EMAIL_TIMEOUT must be positive"),
    ],
)
def test_it_refuses_to_start_with_unsafe_or_malformed_values(
    env: dict[str, str], message: str
) -> None:
    result = load_settings(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def test_production_values_are_accepted() -> None:
    result = load_settings(
        DEBUG="false",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="quorum.example",
        DATABASE_URL="postgresql://u@db:5432/quorum",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", "False"]


def _site_url(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings;"
            " print(settings.QUORUM_SITE_URL)",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "council.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_links_in_emails_name_the_sites_public_address() -> None:
    production = {
        "DEBUG": "false",
        "SECRET_KEY": GOOD_KEY,
        "DATABASE_URL": "postgresql://u@db:5432/quorum",
    }
    named = _site_url(**production, ALLOWED_HOSTS=".example.org,quorum.example.org")
    assert named.stdout.strip() == "https://quorum.example.org", named.stderr
    chosen = _site_url(**production, ALLOWED_HOSTS="q.example", QUORUM_SITE_URL="https://v.ex/")
    assert chosen.stdout.strip() == "https://v.ex", chosen.stderr
    wrong = _site_url(QUORUM_SITE_URL="v.example")
    assert wrong.returncode != 0 and "QUORUM_SITE_URL must start with" in wrong.stderr
