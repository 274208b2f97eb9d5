from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CouncilConfig(AppConfig):
    name = "council"
    verbose_name = _("Councils and meetings")

    def ready(self) -> None:
        from . import checks  # noqa: F401 — registers the deploy checks
