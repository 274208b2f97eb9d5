from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProposalsConfig(AppConfig):
    name = "proposals"
    verbose_name = _("Proposals and votes")

    def ready(self) -> None:
        # Register the Celery tasks in every process (web included): the services queue
        # them by name after commit, without importing the module that calls them back.
        from . import tasks  # noqa: F401
