"""Admin pages of the RGPD engine: the RGPD page, export requests, the audit log."""

from ..information import admin as information  # noqa: F401 - "Informations sur le traitement"
from ..legal_holds import admin as legal_holds  # noqa: F401 - "Conservations légales"
from ..subject_requests import admin as subject_requests  # noqa: F401 - "Demandes des personnes"
from . import accounts, anonymisations, audit, exports, rgpd_page  # noqa: F401
