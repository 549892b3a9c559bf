"""Logging filters (see ``LOGGING`` in settings)."""

import logging
import re

# A URL path and its query string: "/admin/rgpd/rgpdcontact/?q=Dupont" keeps "/admin/rgpd/rgpdcontact/".
_QUERY_STRING = re.compile(r"(/[^\s?\"'#]*)\?[^\s\"']*")


class StripQueryStrings(logging.Filter):
    """Remove the query string of every URL in a record's message.

    A query string may carry personal data (a search for a contact's name, an email in a filter):
    access logs and request warnings keep the method, path and status only.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        stripped = _QUERY_STRING.sub(r"\1", message)
        if stripped != message:
            record.msg, record.args = stripped, ()
        return True
