from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Member units and roles")

    def ready(self) -> None:
        from . import receivers  # noqa: F401 — connects the token revocation receivers
