from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The project itself as an app, so that its system checks are registered at start-up."""

    name = "gdpr_portal"
    verbose_name = "gdpr_portal"

    def ready(self) -> None:
        from gdpr_portal import checks  # noqa: F401, PLC0415 - registers the checks
