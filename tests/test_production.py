"""The production-like configuration: deploy checks, health, gunicorn + WhiteNoise."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The URL of the database these tests use, for a process of the site's own. Its host
    may be a socket directory (the embedded server's): it goes percent-encoded."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    port = f":{db['PORT']}" if db["PORT"] else ""
    host = quote(db["HOST"] or "", safe="")
    return f"postgresql://{quote(db['USER'], safe='')}{password}@{host}{port}/{db['NAME']}"


def production_env(**extra: str) -> dict[str, str]:
    # DJANGO_ALLOW_ASYNC_UNSAFE is the browser tests' (Playwright); production never has it.
    dropped = {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,quorum.example",
        # Production settings require it; the tests' own unless the caller names another.
        DATABASE_URL=os.environ.get("DATABASE_URL") or database_url(),
    )
    env.update(extra)
    return env


def deploy_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_deploy_check_is_clean_with_production_settings() -> None:
    # The check only reads the setting: no Redis need answer at this address.
    result = deploy_check(production_env(CACHE_URL="redis://127.0.0.1:6379/3"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_deploy_check_fails_without_a_shared_cache() -> None:
    env = production_env()
    env.pop("CACHE_URL", None)
    result = deploy_check(env)
    assert result.returncode != 0
    assert "quorum.E001" in result.stderr and "CACHE_URL" in result.stderr


def test_healthz_reports_the_database(db: None) -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json()["ok"] is True and response.json()["database"] == "ok"


def test_healthz_is_503_when_the_broker_is_down(db: None, settings) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.CELERY_TASK_ALWAYS_EAGER = False
    response = Client().get("/healthz")
    assert response.status_code == 503 and response.json()["broker"].startswith("error")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_gunicorn_serves_the_site_with_static_files_and_https_headers(tmp_path: Path) -> None:
    env = production_env(STATIC_ROOT=str(tmp_path / "static"), DATABASE_URL=database_url())
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "council.wsgi",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(60):
            try:
                health = urllib.request.urlopen(f"{base}/healthz", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        else:
            pytest.fail("gunicorn did not answer")
        assert health.status == 200
        # Plain HTTP is redirected to HTTPS ...
        request = urllib.request.Request(f"{base}/accounts/login/")
        with pytest.raises(urllib.error.HTTPError) as redirect:
            urllib.request.build_opener(NoRedirect).open(request, timeout=5)
        assert redirect.value.code == 301
        assert redirect.value.headers["Location"].startswith("https://")
        # ... and, behind the TLS proxy, served with HSTS and framing denied.
        request = urllib.request.Request(
            f"{base}/accounts/login/", headers={"X-Forwarded-Proto": "https"}
        )
        page = urllib.request.urlopen(request, timeout=5)
        assert page.status == 200
        assert "max-age" in page.headers["Strict-Transport-Security"]
        assert page.headers["X-Frame-Options"] == "DENY"
        css = urllib.request.urlopen(
            urllib.request.Request(
                f"{base}/static/css/quorum.css", headers={"X-Forwarded-Proto": "https"}
            ),
            timeout=5,
        )
        assert css.status == 200 and b"--accent" in css.read()
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_an_unhandled_exception_is_written_with_its_traceback_to_stderr(tmp_path: Path) -> None:
    # gunicorn with the production settings plus one view that raises (tests/raising_site.py).
    port = _free_port()
    stderr = tmp_path / "stderr"
    with stderr.open("w") as log:
        server = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "gunicorn", "council.wsgi", "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=production_env(DJANGO_SETTINGS_MODULE="tests.raising_site"),
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/raise", headers={"X-Forwarded-Proto": "https"}
        )
        try:
            for _ in range(60):
                try:
                    urllib.request.urlopen(request, timeout=5)
                except urllib.error.HTTPError as answer:
                    status = answer.code
                    break
                except (urllib.error.URLError, ConnectionError):
                    time.sleep(0.5)
            else:
                pytest.fail("gunicorn did not answer: " + stderr.read_text()[-2000:])
        finally:
            server.terminate()
            server.wait(timeout=30)
    written = stderr.read_text()
    assert status == 500
    assert "ERROR django.request: Internal Server Error: /raise" in written
    assert "Traceback (most recent call last)" in written
    assert 'raise RuntimeError("a bug in a view")' in written, written[-2000:]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
