"""API fields shared by the RGPD endpoints."""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from gdpr_portal.ids import MAX_DATABASE_ID, ids_summary, invalid_id_message


class DatabaseIdListField(serializers.ListField):
    """A non-empty list of at most ``RGPD_API_MAX_IDS`` database ids (1..2^63-1).

    Bad entries give one message naming a few of them, not one error per entry.
    """

    default_error_messages = {
        "too_many": _("At most %(max)d ids per request (%(count)d were sent)."),
        "invalid_ids": _("Not valid ids: %(ids)s. %(rule)s"),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.IntegerField(min_value=1, max_value=MAX_DATABASE_ID))
        kwargs.setdefault("allow_empty", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, (str, Mapping)) or not hasattr(data, "__len__"):
            self.fail("not_a_list", input_type=type(data).__name__)
        limit = settings.RGPD_API_MAX_IDS
        # Before the entries are read: an oversized list costs nothing more than this check.
        if len(data) > limit:
            raise serializers.ValidationError(
                self.error_messages["too_many"] % {"max": limit, "count": len(data)}, code="too_many"
            )
        if not data:
            self.fail("empty")
        ids, bad = [], []
        for item in data:
            try:
                ids.append(self.child.run_validation(item))
            except serializers.ValidationError:
                bad.append(item)
        if bad:
            raise serializers.ValidationError(
                self.error_messages["invalid_ids"] % {"ids": ids_summary(bad), "rule": invalid_id_message()},
                code="invalid_ids",
            )
        return ids
