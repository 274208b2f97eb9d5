"""An email backend that fails like an unreachable mail server (for the outage test)."""

from typing import Any

from django.core.mail.backends.base import BaseEmailBackend


class Backend(BaseEmailBackend):
    def send_messages(self, email_messages: Any) -> int:
        raise ConnectionError("the mail server does not answer")
