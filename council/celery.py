"""The Celery application. Tasks stay thin: they load by id and call a service."""

import os
import smtplib
import socket

from celery import Celery
from django.db import InterfaceError, OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "council.settings")

app = Celery("quorum")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# What a task may retry: a part that was briefly unreachable and may answer next time
# (the database restarting or failing over, a deadlock or serialization failure, the mail
# server or the network). A programming error, a missing row or a refusal would fail the
# same way again: those fail at once, logged with their traceback. ConnectionError and
# TimeoutError cover refused, reset and timed-out sockets; smtplib's are OSErrors, but
# only these two say "try again": the others are the server's answers to this message.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
)
