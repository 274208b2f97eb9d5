"""The site's settings, serving one URL only, whose view raises: the production logging
test (tests/test_production.py) asks for it and reads the traceback from stderr. The
module is both the settings and their URLconf, to stay one small file."""

from django.urls import path

from council.settings import *  # noqa: F403 — the settings under test, unchanged

ROOT_URLCONF = "tests.raising_site"


def raising_view(request: object) -> None:
    raise RuntimeError("a bug in a view")


urlpatterns = [path("raise", raising_view)]
