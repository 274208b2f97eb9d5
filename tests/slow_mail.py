"""A file-based email backend that takes its time, like a slow mail server.

The worker-killed test needs a task that is still running when the worker is killed:
each message waits ``QUORUM_TEST_MAIL_DELAY`` seconds *before* it is written, so a kill
during the wait leaves that message unsent (and its notification row unstamped).
"""

import os
import time
from typing import Any

from django.core.mail.backends.filebased import EmailBackend


class Backend(EmailBackend):
    def send_messages(self, email_messages: Any) -> int:
        time.sleep(float(os.environ.get("QUORUM_TEST_MAIL_DELAY", "0")))
        return super().send_messages(email_messages)
