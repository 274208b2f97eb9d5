"""An email backend that fails like an unreachable mail server (for the outage test)."""

from typing import Any

from django.core.mail.backends.base import BaseEmailBackend


class Backend(BaseEmailBackend):
    def send_messages(self, email_messages: Any) -> int:
        raise ConnectionError("the mail server does not answer")


class Refusing(BaseEmailBackend):
    """Django's test outbox, behind a mail server that refuses some recipients: for good
    (550) an address starting ``refused``, for the moment (451) one starting ``later``."""

    def send_messages(self, email_messages: Any) -> int:
        import smtplib

        from django.core.mail.backends.locmem import EmailBackend

        for message in email_messages:
            for address in message.recipients():
                if address.startswith("refused"):
                    raise smtplib.SMTPRecipientsRefused({address: (550, b"no such mailbox")})
                if address.startswith("later"):
                    raise smtplib.SMTPRecipientsRefused({address: (451, b"try again later")})
        return EmailBackend().send_messages(email_messages)
