"""The product's settings, plus a test-only app declaring a second population (tests/populations/)."""

from gdpr_portal.settings import *  # noqa: F403
from gdpr_portal.settings import INSTALLED_APPS as PRODUCT_APPS

INSTALLED_APPS = [*PRODUCT_APPS, "tests.second_population"]
