"""What the company keeps to reach a person, whoever they are (a client contact, an employee): the same
columns, labels and sizes for both, declared once."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ReachDetails(models.Model):
    """Abstract: phones, postal address and birth date (a subclass declares them personal in the registry)."""

    phone = models.CharField(_("phone"), max_length=40, blank=True)
    mobile = models.CharField(_("mobile"), max_length=40, blank=True)
    street = models.CharField(_("address"), max_length=255, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=120, blank=True)
    country = models.CharField(_("country"), max_length=120, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)

    class Meta:
        abstract = True
