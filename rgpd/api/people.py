"""The people a POST names: ``{"<population's API key>": [ids]}``, e.g. ``{"contacts": [1, 2]}``.

Every declared population adds its key (``Population.api_key``), so ``{"users": [...]}`` works as soon
as that population is declared. One population per request: its right is checked by the view.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..populations import all_populations
from .fields import DatabaseIdListField


class PeopleSerializer(serializers.Serializer):
    """Validated data: ``population`` (a ``Population``) and ``subject_ids``, plus the subclass's fields."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for population in all_populations():
            fields[population.api_key] = DatabaseIdListField(required=False)
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        populations = list(all_populations())
        named = [population for population in populations if population.api_key in attrs]
        if not named:
            required = serializers.Field.default_error_messages["required"]
            raise serializers.ValidationError({population.api_key: [required] for population in populations})
        if len(named) > 1:
            raise serializers.ValidationError(
                {"non_field_errors": [_("Send the ids of one population per request.")]}, code="invalid"
            )
        attrs["population"] = named[0]
        attrs["subject_ids"] = attrs.pop(named[0].api_key)
        return attrs
