"""The product's settings, plus a test-only app declaring a second population (tests/populations/)."""

from django.conf import global_settings

from gdpr_portal.settings import *  # noqa: F403
from gdpr_portal.settings import INSTALLED_APPS as PRODUCT_APPS

INSTALLED_APPS = [*PRODUCT_APPS, "tests.second_population"]

# Passwords of test users hashed in microseconds, not the production hasher's deliberate second: the
# suite creates hundreds of users. The production hashers stay listed, to read what they wrote.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *global_settings.PASSWORD_HASHERS]
