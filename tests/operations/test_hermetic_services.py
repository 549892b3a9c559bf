"""`make test` runs on services of its own, never on the machine's (scripts/testenv.py)."""

import os
from urllib.parse import urlsplit

import pytest
import redis
from django.db import connection

pytestmark = pytest.mark.django_db


def test_the_database_is_a_throwaway_cluster_on_a_port_of_its_own():
    port = urlsplit(os.environ["DATABASE_URL"]).port
    assert port not in (None, 5432)
    with connection.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        (data_directory,) = cursor.fetchone()
    assert data_directory.startswith("/tmp/gdpr-testenv-pg-")


def test_the_broker_is_a_redis_of_its_own():
    url = os.environ["CELERY_BROKER_URL"]
    assert urlsplit(url).port not in (None, 6379)
    assert redis.Redis.from_url(url).ping()
