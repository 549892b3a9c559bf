"""docker-compose.yml and ``make run-stack`` (scripts/run_stack.py) run the same stack: same services, same
variables for each application process, same values where they are not addresses or secrets, same queues."""

import shlex
from pathlib import Path

import pytest
import yaml

from scripts import run_stack

ROOT = Path(__file__).resolve().parents[2]
# Addresses, credentials, folders and the log format: each stack sets its own (the compose file's are the
# containers' names, run-stack's the loopback ports of this run). Every other value must be the same.
PER_STACK = {
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "SITE_URL",
    "GDPR_PORTAL_VAR_DIR",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "AWS_S3_ENDPOINT_URL",
    "AWS_STORAGE_BUCKET_NAME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "LOG_FORMAT",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


@pytest.fixture(scope="module")
def stack_environment() -> dict[str, str]:
    # Addresses are placeholders: only the variables' names and the non-address values are compared,
    # nothing connects to them (the smoke test, test_run_stack.py, starts the real services).
    return run_stack.app_environment(
        port=8000,
        database_url="postgres://postgres@database.invalid/gdpr_portal",
        redis_port=16379,
        s3={"AWS_STORAGE_BUCKET_NAME": "b", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
        | {"AWS_S3_ENDPOINT_URL": "http://127.0.0.1:8333", "AWS_S3_REGION_NAME": "us-east-1"},
        smtp_port=1025,
        var_dir=Path("/tmp/var"),
        log_format="text",
    )


@pytest.fixture(scope="module")
def stack_processes() -> dict[str, list[str]]:
    return run_stack.processes(port=8000, var_dir=Path("/tmp/var"))


def arguments(command: list[str] | str) -> list[str]:
    """A command's arguments from ``gdpr_portal`` on (the program differs: ``celery`` or ``python -m``)."""
    words = shlex.split(command) if isinstance(command, str) else command
    first = next(i for i, word in enumerate(words) if word.startswith("gdpr_portal"))
    return words[first:]


def option(words: list[str], name: str) -> str:
    return words[words.index(name) + 1]


def test_both_run_the_same_services(compose, stack_processes):
    stack_services = set(stack_processes) | set(run_stack.BACKING_SERVICES)
    # setup (migrations, bucket) is run-stack's prepare_stack step, before the processes start.
    assert set(compose) - {"setup"} == stack_services
    assert set(stack_processes) == {"web", "worker", "export-worker", "beat"}


@pytest.mark.parametrize("service", ["web", "worker", "export-worker", "beat"])
def test_each_process_gets_the_same_variables_with_the_same_values(compose, stack_environment, service):
    compose_environment = compose[service]["environment"]
    assert set(compose_environment) == set(stack_environment), service
    for name, value in stack_environment.items():
        if name not in PER_STACK:
            assert str(compose_environment[name]) == value, name
    # The log format is chosen by the caller in both, text unless LOG_FORMAT says otherwise.
    assert compose_environment["LOG_FORMAT"] == "${LOG_FORMAT:-text}"
    assert stack_environment["PRODUCTION"] == "true" and stack_environment["DEBUG"] == "false"


def test_each_worker_consumes_the_same_queue_under_its_own_name(compose, stack_environment, stack_processes):
    queues = {
        "worker": stack_environment["CELERY_TASK_DEFAULT_QUEUE"],
        "export-worker": stack_environment["RGPD_EXPORT_QUEUE"],
    }
    assert queues["worker"] != queues["export-worker"]
    for name, queue in queues.items():
        for words in (arguments(compose[name]["command"]), arguments(stack_processes[name])):
            assert words[:3] == ["gdpr_portal", "--quiet", "worker"], words
            assert option(words, "-Q") == queue
            assert option(words, "-n").startswith(name.split("-")[0])
    for words in (arguments(compose["beat"]["command"]), arguments(stack_processes["beat"])):
        assert words[:3] == ["gdpr_portal", "--quiet", "beat"]


def test_the_web_process_is_gunicorn_with_the_same_configuration(compose, stack_processes):
    compose_words, stack_words = arguments(compose["web"]["command"]), arguments(stack_processes["web"])
    assert compose_words[0] == stack_words[0] == "gdpr_portal.wsgi:application"
    assert option(compose_words, "--config") == option(stack_words, "--config") == "gunicorn.conf.py"
    assert option(compose_words, "--timeout") == option(stack_words, "--timeout")
    assert "gunicorn" in compose["web"]["command"] and "gunicorn" in stack_processes["web"]
