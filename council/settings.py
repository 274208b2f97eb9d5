"""Quorum's one settings module.

Everything comes from environment variables with safe development defaults: with nothing
set, Quorum runs on the local PostgreSQL (or an embedded one, council/devdb.py) with
Celery tasks executed eagerly, which is what `make run` needs on a fresh machine. A
malformed value stops start-up with a clear message instead of being silently replaced by
a default.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

_DEV_SECRET_KEY = "django-insecure-quorum-development-only-key"  # noqa: S105
SECRET_KEY = os.environ.get("SECRET_KEY", "") or _DEV_SECRET_KEY
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])

if not DEBUG:
    # Production must be configured on purpose: refuse the development defaults.
    if SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 40:
        raise ImproperlyConfigured("Set SECRET_KEY (40+ random characters) when DEBUG is off.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("Set ALLOWED_HOSTS when DEBUG is off.")

# Behind a TLS-terminating proxy (docs/deploy.md): trust its X-Forwarded-Proto,
# and redirect plain HTTP to HTTPS; cookies travel over HTTPS only.
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # The load balancer's health probe speaks plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
X_FRAME_OPTIONS = "DENY"

# --- Security (docs/security.md) ------------------------------------------------------
# Content-Security-Policy: everything from this site only, no inline script or style, no
# framing. htmx's own indicator <style> is switched off in base.html's htmx-config.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # Swagger UI's stylesheet draws its icons as data: SVGs.
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from exc
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}")
    return value


def env_rate(name: str, default: str) -> str:
    """A rate limit such as ``60/minute`` (DRF's notation: per second, minute, hour, day)."""
    raw = (os.environ.get(name) or default).strip()
    count, _slash, period = raw.partition("/")
    if not (count.isdigit() and int(count) > 0 and period[:1] in {"s", "m", "h", "d"}):
        raise ImproperlyConfigured(f"{name} must look like 60/minute, not {raw!r}")
    return raw


# How many proxies append to X-Forwarded-For in front of the site (1 behind the usual TLS
# proxy). 0 trusts no such header: a client could otherwise pick any address it likes
# and escape the lockout and the rate limits.
QUORUM_PROXY_COUNT = env_int("QUORUM_PROXY_COUNT", 0)

# Sign-in lockout (django-axes): after AXES_FAILURE_LIMIT failures, that username *from
# that address* is refused for the cool-off. Locking the username alone would let anyone
# lock every member out; the address alone would lock out a whole office behind one NAT.
AUTHENTICATION_BACKENDS = [
    "council.http.security.SignInGuard",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("QUORUM_SIGNIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("QUORUM_SIGNIN_LOCKOUT_SECONDS", 900, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# A locked-out pair's further attempts are refused without extending the cool-off.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "council.http.security.client_ip"
AXES_LOCKOUT_CALLABLE = "council.http.security.lockout_response"
# Successful sign-ins are not worth a row each; failures are (the admin lists them).
AXES_DISABLE_ACCESS_LOG = True
# Per address, across usernames (council/http/security.py, SignInGuard): once more than
# QUORUM_SIGNIN_ADDRESS_USERNAMES distinct usernames failed from one address within the
# window, that address may try no further usernames until the window ends. Usernames it
# already tried, or signed in with, are left to the per-pair lockout above.
QUORUM_SIGNIN_ADDRESS_USERNAMES = env_int("QUORUM_SIGNIN_ADDRESS_USERNAMES", 10, minimum=1)
QUORUM_SIGNIN_ADDRESS_WINDOW = env_int("QUORUM_SIGNIN_ADDRESS_WINDOW", 900, minimum=1)

# Rate limits count in this cache: set CACHE_URL (redis://…) in production so that every
# web process shares the counts; the default is each process's own memory.
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL:
    if not CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured("CACHE_URL must be a redis:// URL")
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    # API tokens: knox's hashing and its abstract model; the table is members.ApiToken.
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "axes",
    "csp",
    "council",
    "members",
    "proposals",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # A council's pages activate its time zone; every request starts and ends without one.
    "council.http.middleware.CouncilTimeZoneMiddleware",
    # Faults (issue 7): a lost database connection answers 503 with Retry-After.
    "council.http.middleware.DatabaseUnavailableMiddleware",
    # A sign-in refused by the per-address limit becomes its 429 answer.
    "council.http.security.SignInAddressLimitMiddleware",
    # Last, as axes asks: it turns a locked-out sign-in into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

if not DEBUG:
    # In production the app serves its own static files (collected, compressed).
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "council.urls"
WSGI_APPLICATION = "council.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# PostgreSQL only: the locks, constraints and ledger triggers are PostgreSQL's. Production
# names its database in DATABASE_URL and must: a default there would be a guess. In
# development (DEBUG on) an unset DATABASE_URL means the local server, or else an embedded
# one started from the checkout (council/devdb.py), so that `manage.py shell` works as
# `make run` does.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if not DATABASE_URL:
    if not DEBUG:
        raise ImproperlyConfigured(
            "Set DATABASE_URL (postgresql://user:password@host:5432/name) when DEBUG is off."
        )
    from council import devdb

    try:
        DATABASE_URL = devdb.database_url()
    except RuntimeError as exc:
        raise ImproperlyConfigured(f"Set DATABASE_URL: {exc}") from exc
try:
    # Faults (issue 7): health checks replace a persistent connection that died while
    # idle (a database restart or failover), so the site recovers without a restart.
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must be a postgresql:// URL: Quorum needs PostgreSQL.")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Languages and time ---------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
# Stored times are UTC; pages show them in each council's own time zone.
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Without DEBUG, `collectstatic` gathers the files and WhiteNoise serves them compressed.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedStaticFilesStorage"
    },
}

# --- Celery ---------------------------------------------------------------------------
# Without a broker, tasks run eagerly in-process so the embedded default needs no Redis.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
# Minutes PDFs take seconds of CPU each: their own queue, so that a flood of renders
# never delays a notification (docs/deploy.md, "Queues"). The worker consumes both.
CELERY_TASK_ROUTES = {"proposals.tasks.render_minutes_pdf": {"queue": "pdf"}}


def env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number of seconds, not {raw!r}") from exc
    if value <= 0:
        raise ImproperlyConfigured(f"{name} must be positive")
    return value


# Deadlines are enforced by the cast service at once; this only closes them formally.
CELERY_BEAT_SCHEDULE = {
    "close-due-votes": {
        "task": "proposals.tasks.close_due_votes",
        "schedule": env_seconds("QUORUM_DEADLINE_CHECK_SECONDS", 30),
    },
    "deliver-pending-notifications": {
        "task": "proposals.tasks.deliver_pending",
        "schedule": env_seconds("QUORUM_DELIVERY_SWEEP_SECONDS", 60),
    },
    "send-reminders": {
        "task": "proposals.tasks.send_reminders",
        "schedule": env_seconds("QUORUM_REMINDER_CHECK_SECONDS", 300),
    },
}
QUORUM_REMINDER_BEFORE_SECONDS = env_seconds("QUORUM_REMINDER_BEFORE_SECONDS", 3600)


def _site_url() -> str:
    """Where the site is reached, for the links in emails (no request to ask): the
    setting, else https:// and the first plain name of ALLOWED_HOSTS, else (development)
    the address `make run` serves."""
    configured = os.environ.get("QUORUM_SITE_URL", "").strip().rstrip("/")
    if configured:
        if not configured.startswith(("http://", "https://")):
            raise ImproperlyConfigured("QUORUM_SITE_URL must start with http:// or https://")
        return configured
    named = [h for h in ALLOWED_HOSTS if h not in ("*", "") and not h.startswith(".")]
    if DEBUG or not named:
        return "http://127.0.0.1:8000"
    return f"https://{named[0]}"


QUORUM_SITE_URL = _site_url()

# Faults (issue 7, docs/deploy.md). A worker that dies mid-task gets its task back: late
# acks redeliver it after the visibility timeout (longer than any task or retry countdown),
# and a pool process that dies rejects it back to the queue; the tasks are idempotent. A
# broker that is down delays a request by a few seconds at most, never fails it: the
# vote's state says its emails are due, and deliver_pending plans and sends them once the
# broker is back.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
# A task that hangs (a mail server that accepts the connection and never answers, a
# lock never granted) must not hold a worker for ever. At the soft limit the task gets
# SoftTimeLimitExceeded, which is not retried; at the hard limit its pool process is
# replaced. Either way nothing is lost: each email is stamped in its own transaction and
# deliver_pending sends the rest. Both must stay below QUORUM_BROKER_VISIBILITY_TIMEOUT.
# (Workers enforce them with the default prefork pool; eager runs and --pool=solo don't.)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360, minimum=1)
if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_SOFT_TIME_LIMIT must be below CELERY_TASK_TIME_LIMIT")
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_seconds("QUORUM_BROKER_VISIBILITY_TIMEOUT", 3600),
        "socket_connect_timeout": 2,
        "socket_timeout": 10,
    }

# --- Email ----------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(BASE_DIR / "sent-emails"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "quorum@localhost")
# Seconds before a mail server that does not answer fails the send (Django waits for ever
# by default): the task then retries with backoff instead of hanging to its time limit.
EMAIL_TIMEOUT = env_seconds("EMAIL_TIMEOUT", 10)

# Open drafts a delegate may have on one meeting's agenda per unit (secretaries: any).
QUORUM_DRAFTS_PER_UNIT = env_int("QUORUM_DRAFTS_PER_UNIT", 10, minimum=1)

# --- REST framework -------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes "no credentials" a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "council.api.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["council.api.permissions.CouncilAccess"],
    "DEFAULT_PAGINATION_CLASS": "council.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    # drf-spectacular's, plus each operation's refusals (tests/test_schemathesis.py).
    "DEFAULT_SCHEMA_CLASS": "council.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "council.api.common.exception_handler",
    # ?format= is the register's download switch (csv, json), not a renderer override.
    "URL_FORMAT_OVERRIDE": None,
    # (API fuzzing) The API speaks JSON only: a form encoding cannot say
    # null or a number, so a form body is refused with 415 rather than misread. The parser
    # refuses JSON nested deeper than 32 levels (400), which would exhaust the decoder's stack.
    "DEFAULT_PARSER_CLASSES": ["council.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # Rate limits (council/http/security.py): tokens per client address, changes of one
    # unit's ballot per person and proposal.
    # The throttles name their own scope; the benchmark raises QUORUM_RATE_BALLOT.
    "DEFAULT_THROTTLE_RATES": {
        "token": env_rate("QUORUM_RATE_TOKEN", "10/minute"),
        "ballot": env_rate("QUORUM_RATE_BALLOT", "60/minute"),
        # Minutes PDF downloads per person: the page waiting for a render refreshes
        # every 5 s, well under this.
        "minutes_pdf": env_rate("QUORUM_RATE_MINUTES_PDF", "20/minute"),
        # Changes of one unit's attendance by one person: a secretary recording a whole
        # room changes many units once each, and is never slowed down by this.
        "attendance": env_rate("QUORUM_RATE_ATTENDANCE", "10/minute"),
    },
    "NUM_PROXIES": QUORUM_PROXY_COUNT,
}
# API tokens (django-rest-knox): only a SHA-512 digest is stored; each token expires
# QUORUM_TOKEN_TTL seconds after it was issued (default 30 days) and is revoked sooner by
# a password change, by signing out of the session that asked for it, or by its owner on
# the tokens page. council/api/auth.py reads it on every request.
KNOX_TOKEN_MODEL = "members.ApiToken"  # noqa: S105 — a model name
QUORUM_TOKEN_TTL = timedelta(seconds=env_int("QUORUM_TOKEN_TTL", 30 * 24 * 3600, minimum=60))
# Email invitations (members.Invitation): a link works for QUORUM_INVITATION_TTL seconds
# after it was sent or last resent (default 7 days). Only a SHA-256 digest of its token
# is stored; resending makes a new token, revoking or accepting ends it.
QUORUM_INVITATION_TTL = timedelta(
    seconds=env_int("QUORUM_INVITATION_TTL", 7 * 24 * 3600, minimum=60)
)
# knox's migrations create its own token table even when the model is swapped (they
# predate its swappable setting); with none, no table is made for the unused model.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_TTL": QUORUM_TOKEN_TTL,
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Quorum API",
    "DESCRIPTION": "Councils that decide by vote: one vote per member unit, an attendance "
    "quorum, a verifiable ledger.\n\n"
    "Scripts send `Authorization: Token <key>` (the key from `POST /api/v1/auth/token/`). "
    "A request is judged in this order: 401 (no credentials), 404 (an object the caller "
    "cannot see), 403 (may see, may not act), 400 (invalid input, `{field: [message]}`), "
    "409 (the state forbids it, with a stable `code`). A refused request changes nothing. "
    "Lists are paginated (`count`, `next`, `previous`, `results`; follow `next`) and "
    "filter by `?council=<id>`. 503 with `Retry-After` while the database is briefly "
    "unavailable.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The views' docstrings are for the code's readers; each operation's description is
    # written for the API's callers in council/api/operations.py.
    "DISABLE_DOCSTRING_DESCRIPTIONS": True,
    # (API fuzzing) Request bodies get their own components, with what input must be (a
    # title that is not blank: minLength 1), not only what output is.
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page works offline: Swagger UI's assets are served from this site.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ProposalStatusEnum": "proposals.models.ProposalStatus",
        "OutcomeEnum": "proposals.models.ProposalOutcome",
        "MeetingStatusEnum": "council.models.MeetingStatus",
        "MeetingModeEnum": "council.models.MeetingMode",
        "BallotChoiceEnum": "proposals.models.BallotChoice",
        "RoleEnum": "members.models.Role.Kind",
        "BasisEnum": "council.models.Basis",
    },
}

# Everything goes to stderr, through the root logger's one handler, where the process
# manager (honcho, systemd, a container runtime) collects it. An unhandled exception is
# written there with its traceback, with DEBUG on or off: Django logs a view's to
# "django.request", whose default handler prints only with DEBUG on (and otherwise mails
# ADMINS, of whom we have none), so it is replaced. A Celery task that fails for good is
# logged by "celery.app.trace" with its traceback: to the root's handler in-process
# (eager), to the worker's own stderr handler in a worker.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "line"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "quorum": {"level": os.environ.get("LOG_LEVEL", "INFO")},
        # Failed sign-ins, lockouts, refusals (401, 403, 429): one line each, whatever
        # LOG_LEVEL says.
        "quorum.security": {"level": "INFO"},
        # Naming a logger here drops Django's default handlers (DEBUG-only console, mail).
        "django": {"level": "INFO"},
        # CSRF failures, suspicious hosts and operations.
        "django.security": {"level": "WARNING"},
        # Every 500 with its traceback; 4xx answers are not worth a line each.
        "django.request": {"level": "ERROR"},
        # WeasyPrint warns of every screen-only CSS rule of the shared stylesheet (media
        # queries, SVG fills) on every render; a missing font or a failed render is an
        # error and still shows.
        "weasyprint": {"level": "ERROR"},
        "fontTools": {"level": "ERROR"},
    },
}
