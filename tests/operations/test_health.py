"""``/healthz`` tells a load balancer whether this process reaches its database, broker and storage."""

import pytest

from tests.support.broker import broker_unreachable

pytestmark = pytest.mark.django_db


def test_health_answers_200_without_login_when_everything_is_reachable(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["failing"] == []
    assert set(body["checks"]) == {"database", "broker", "storage"}
    assert all(check["ok"] and check["latency_ms"] >= 0 for check in body["checks"].values())
    assert "no-store" in response["Cache-Control"]


def test_health_answers_503_naming_the_broker_while_it_is_down_and_200_once_back(client):
    with broker_unreachable():
        down = client.get("/healthz")
    assert down.status_code == 503
    body = down.json()
    assert (body["status"], body["failing"]) == ("unavailable", ["broker"])
    assert body["checks"]["broker"]["ok"] is False
    # Only the error's class: a message could name a host or a password
    assert set(body["checks"]["broker"]) == {"ok", "error", "latency_ms"}
    assert "127.0.0.1" not in down.content.decode()

    assert client.get("/healthz").status_code == 200


def test_health_only_answers_reads(client):
    assert client.post("/healthz").status_code == 405


def test_the_compose_file_checks_the_web_service_through_it():
    from pathlib import Path

    import yaml

    compose = yaml.safe_load((Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text())
    assert "http://127.0.0.1:8000/healthz" in " ".join(compose["services"]["web"]["healthcheck"]["test"])
