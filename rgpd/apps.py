from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class RgpdConfig(AppConfig):
    name = "rgpd"
    verbose_name = _("GDPR management")

    def ready(self) -> None:
        from . import lookups  # noqa: F401 - registers ``__any_of`` on every field

        # Each app declares its personal data in personal_data.py, like admin.py for the admin.
        autodiscover_modules("personal_data")
        # A deleted person's or row's admin history keeps no name (str(obj) is copied there).
        from .services.anonymisation.deleted_history import connect_deleted_history

        connect_deleted_history()
