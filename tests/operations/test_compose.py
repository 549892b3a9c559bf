"""docker-compose.yml describes the production-like stack; Docker cannot run here: check it by reading."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "worker", "export-worker", "beat")


def settings_environment_variables() -> set[str]:
    """Names of the environment variables gdpr_portal/settings.py reads (env(...), env.bool(...), ...)."""
    tree = ast.parse((ROOT / "gdpr_portal" / "settings.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        # env("X"), env.int("X"), and tunables.integer("X", …) (numbers and rates checked at start-up).
        reads_env = (isinstance(func, ast.Name) and func.id == "env") or (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in ("env", "tunables")
        )
        first = node.args[0]
        if reads_env and isinstance(first, ast.Constant) and isinstance(first.value, str):
            names.add(first.value)
    return names


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_stack_has_web_worker_beat_and_the_services_they_use(compose):
    services = compose["services"]
    assert {"web", "worker", "beat", "postgres", "redis", "s3", "mailpit"} <= set(services)
    assert "gunicorn gdpr_portal.wsgi" in services["web"]["command"]
    assert "celery -A gdpr_portal --quiet worker" in services["worker"]["command"]
    assert "-Q gdpr_portal.exports" in services["export-worker"]["command"]
    assert "celery -A gdpr_portal --quiet beat" in services["beat"]["command"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert "seaweedfs" in services["s3"]["image"] and "-s3" in services["s3"]["command"]
    assert "mailpit" in services["mailpit"]["image"]
    for name in APP_SERVICES:
        assert services[name]["depends_on"]["setup"]["condition"] == "service_completed_successfully"
    assert "migrate" in services["setup"]["command"]


def test_every_variable_given_to_the_application_is_one_the_settings_read(compose):
    read = settings_environment_variables()
    assert {"DATABASE_URL", "CELERY_BROKER_URL", "AWS_STORAGE_BUCKET_NAME", "SECRET_KEY"} <= read
    for name in (*APP_SERVICES, "setup"):
        environment = compose["services"][name]["environment"]
        unknown = set(environment) - read
        assert not unknown, f"{name}: variables no setting reads: {sorted(unknown)}"


def test_the_application_points_at_the_stacks_services(compose):
    services = compose["services"]
    environment = services["web"]["environment"]
    database = urlsplit(environment["DATABASE_URL"])
    postgres = services["postgres"]["environment"]
    assert (database.hostname, database.username, database.password, database.path.lstrip("/")) == (
        "postgres",
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        postgres["POSTGRES_DB"],
    )
    assert urlsplit(environment["CELERY_BROKER_URL"]).hostname == "redis"
    assert urlsplit(environment["AWS_S3_ENDPOINT_URL"]).hostname == "s3"
    assert environment["EMAIL_HOST"] == "mailpit"
    assert environment["PRODUCTION"] == "true" and environment["SECRET_KEY"]
    # The object store is private: the application's keys are its only identity.
    s3_config = json.loads((ROOT / "docker" / "seaweedfs" / "s3.json").read_text())
    credentials = s3_config["identities"][0]["credentials"][0]
    assert (credentials["accessKey"], credentials["secretKey"]) == (
        environment["AWS_ACCESS_KEY_ID"],
        environment["AWS_SECRET_ACCESS_KEY"],
    )
    assert any("s3.json" in volume for volume in services["s3"]["volumes"])


def test_the_settings_take_the_stack_configuration(compose, tmp_path):
    """Load the settings with the compose environment: PostgreSQL, Redis, S3, SMTP, static files served."""
    environment = dict(compose["services"]["web"]["environment"])
    environment["SECRET_KEY"] = "x" * 50
    environment["GDPR_PORTAL_VAR_DIR"] = str(tmp_path)
    probe = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.DATABASES['default']['ENGINE'], s.DATABASES['default']['HOST'], "
        "s.CELERY_BROKER_URL, s.STORAGES['default']['BACKEND'], s.EMAIL_BACKEND, s.DEBUG, "
        "'whitenoise.middleware.WhiteNoiseMiddleware' in s.MIDDLEWARE]))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DATABASE_", "CELERY_"))}
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "gdpr_portal.settings", **environment},
        capture_output=True,
        text=True,
        check=True,
    )
    engine, host, broker, storage, email, debug, whitenoise = json.loads(
        result.stdout.strip().splitlines()[-1]
    )
    assert engine == "django.db.backends.postgresql" and host == "postgres"
    assert broker == "redis://redis:6379/0"
    assert storage == "gdpr_portal.storage_backends.S3Storage"  # django-storages' S3Storage
    assert email == "django.core.mail.backends.smtp.EmailBackend"
    assert debug is False and whitenoise is True


def test_production_mode_refuses_to_start_without_a_secret_key(tmp_path):
    base = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={
            **base,
            "DJANGO_SETTINGS_MODULE": "gdpr_portal.settings",
            "PRODUCTION": "true",
            "GDPR_PORTAL_VAR_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_the_image_installs_the_locked_dependencies_and_serves_with_gunicorn():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11" in dockerfile
    assert "uv sync --frozen --no-dev" in dockerfile
    assert "collectstatic" in dockerfile
    assert "USER app" in dockerfile
    assert "gunicorn" in dockerfile
