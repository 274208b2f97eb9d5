"""Downloads for auditors: a meeting's attendance as CSV, and the standalone verifier.

Read-only, and readable by whoever reads the meeting (its minutes): the council's
secretaries, auditors and delegates.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from council.models import Meeting
from proposals import exports

from .pages import visible

VERIFIER = Path(exports.__file__).resolve().parent / "verify_export.py"


@functools.cache
def verifier_bytes() -> bytes:
    """The standalone verifier, byte for byte as it ships (read once)."""
    return VERIFIER.read_bytes()


@functools.cache
def verifier_sha256() -> str:
    return hashlib.sha256(verifier_bytes()).hexdigest()


@login_required
def attendance_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    meeting, _access = visible(
        request, Meeting.objects.select_related("council"), lambda m: m.council_id, pk=pk
    )
    response = StreamingHttpResponse(
        exports.attendance_rows(meeting), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="attendance-{meeting.pk}.csv"'
    return response


@login_required
def verifier(request: HttpRequest) -> HttpResponse:
    """``verify_export.py`` as a download; its SHA-256 is on the register page (and in a
    header) so that an auditor can check the copy they run."""
    response = HttpResponse(verifier_bytes(), content_type="text/x-python; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="verify_export.py"'
    response["X-Content-SHA256"] = verifier_sha256()
    return response
