"""Browser journeys: Playwright driving Debian's Chromium against a live server of the app.

The live server runs in this process on the test database; Celery tasks run in the real worker
subprocess (``celery_worker``), emails arrive at the real SMTP sink.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make around it are
# still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS_DIR = os.environ.get("SCREENSHOTS_DIR")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="fr-FR", viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def login(page):
    """Log in through the admin's login form, as a person would."""

    def _login(user, password="pw-test-123"):
        page.goto("/admin/login/")
        page.get_by_label("Nom d’utilisateur").fill(user.username)
        page.get_by_label("Mot de passe").fill(password)
        page.get_by_role("button", name="Connexion").click()
        page.wait_for_url("**/admin/")

    return _login


@pytest.fixture
def screenshot(page):
    """Save a PNG into SCREENSHOTS_DIR (``make screenshots``); a no-op in ordinary runs."""

    def _shot(name: str):
        if SCREENSHOTS_DIR:
            Path(SCREENSHOTS_DIR).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SCREENSHOTS_DIR) / f"{name}.png"), full_page=True)

    return _shot
