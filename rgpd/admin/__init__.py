"""Admin pages of the RGPD engine: the RGPD page, export requests, the audit log."""

from . import anonymisations, audit, exports, rgpd_page  # noqa: F401
