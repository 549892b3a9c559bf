"""The icons of a row of an RGPD page (record, export, anonymise), rendered the same way for every
population."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from django.templatetags.static import static
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ..views.selection import with_list_query


@dataclass(frozen=True)
class RowAction:
    """One icon of a row of the RGPD page."""

    url: str
    label: str | Promise  # accessible name: the link's title and aria-label
    icon: str  # static path, e.g. "rgpd/icons/box.svg"
    enabled: bool = True
    reason: str | Promise = ""  # why the action is disabled (tooltip), when enabled is False

    def with_list_query(self, list_query: str) -> RowAction:
        """The same icon leading to a page that can return to the list as it was (search, filters, page)."""
        if not (list_query and self.url):
            return self
        return replace(self, url=with_list_query(self.url, list_query))

    def render(self) -> SafeString:
        image = format_html(
            '<img src="{}" alt="" width="20" height="20" class="rgpd-row-action__icon">', static(self.icon)
        )
        if self.enabled:
            return format_html(
                '<a href="{}" class="rgpd-row-action" title="{}" aria-label="{}">{}</a>',
                self.url,
                self.label,
                self.label,
                image,
            )
        # Focusable all the same (aria-disabled, not disabled): a keyboard or screen-reader user reaches it
        # and hears why (its description); the reason shows under it on focus, as its tooltip on hover.
        reason_id = "reason-" + re.sub(r"[^A-Za-z0-9]+", "-", self.url).strip("-")
        return format_html(
            '<span class="rgpd-row-action rgpd-row-action--disabled" role="link" aria-disabled="true"'
            ' tabindex="0" aria-label="{}" aria-describedby="{}" title="{}">{}'
            '<span class="rgpd-row-action__reason" id="{}" role="tooltip">{}</span></span>',
            self.label,
            reason_id,
            self.reason or self.label,
            image,
            reason_id,
            self.reason or self.label,
        )
