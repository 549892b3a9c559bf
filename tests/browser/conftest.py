"""Browser journeys: Playwright driving Debian's Chromium against a live server of the app.

The live server runs in this process on the committed test database; Celery tasks run in the real
worker subprocess (``celery_worker``), which builds links from the live server's address
(``site_url`` in ``tests/conftest.py``); emails arrive at the real SMTP sink.

``make screenshots`` sets ``SCREENSHOTS_DIR``: the ``screenshot`` fixture then saves PNGs there.
When a journey fails, a screenshot and the HTML of each open page are saved into
``BROWSER_FAILURES_DIR`` (default ``var/browser-failures``) to see what the user saw.
Every journey fails if the browser reports a Content-Security-Policy violation (``csp_violations``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright

from tests.browser import support

# Playwright's sync API runs an event loop in this thread, which makes Django refuse ORM calls from
# it ("async unsafe"); the tests' ORM calls around the browser are synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
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
FAILURES_DIR = Path(os.environ.get("BROWSER_FAILURES_DIR", ROOT / "var" / "browser-failures"))
PASSWORD = "pw-test-123"  # tests.factories.UserFactory's password


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
def csp_violations():
    """What the pages' Content-Security-Policy blocked; a journey that leaves any here fails."""
    violations: list[str] = []
    yield violations
    if violations:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(violations), pytrace=False)


@pytest.fixture
def new_context(browser, live_server, request, csp_violations):
    """Open browser contexts (separate cookies: another person, or a fresh session) on the live server."""
    contexts: list[BrowserContext] = []

    def _new(**options) -> BrowserContext:
        context = browser.new_context(
            base_url=live_server.url,
            locale="fr-FR",
            viewport={"width": 1600, "height": 1000},
            accept_downloads=True,
            **options,
        )
        context.set_default_timeout(15_000)
        support.watch_csp_violations(context, csp_violations)
        contexts.append(context)
        return context

    yield _new
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        _save_failure(request.node.name, contexts)
    for context in contexts:
        context.close()


def _save_failure(name: str, contexts: list[BrowserContext]) -> None:
    FAILURES_DIR.mkdir(parents=True, exist_ok=True)
    for c, context in enumerate(contexts):
        for p, page in enumerate(context.pages):
            stem = FAILURES_DIR / re.sub(r"[^\w.-]+", "_", f"{name}-{c}-{p}")
            try:
                page.screenshot(path=f"{stem}.png", full_page=True)
                Path(f"{stem}.html").write_text(f"<!-- {page.url} -->\n{page.content()}")
            except Exception:  # noqa: BLE001 - best effort, never hide the test's own failure
                continue


@pytest.fixture
def page(new_context) -> Page:
    return new_context().new_page()


def log_in(page: Page, user, password: str = PASSWORD) -> None:
    """Fill the admin's login form (already shown on ``page``) and send it, as a person would."""
    page.get_by_label("Nom d’utilisateur").fill(user.username)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Connexion").click()


@pytest.fixture
def login(page):
    """Log in through the admin's login form and land on the admin's home page."""

    def _login(user, password: str = PASSWORD, *, on: Page | None = None) -> None:
        target = on or page
        target.goto("/admin/login/")
        log_in(target, user, password)
        target.wait_for_url("**/admin/")

    return _login


@pytest.fixture
def screenshot(page):
    """Save a PNG of ``page`` into SCREENSHOTS_DIR (``make screenshots``); a no-op in ordinary runs."""

    def _shot(name: str, *, on: Page | None = None) -> None:
        if SCREENSHOTS_DIR:
            directory = Path(SCREENSHOTS_DIR)
            directory.mkdir(parents=True, exist_ok=True)
            target = on or page
            # From the top: the admin's sticky side bar would otherwise be drawn where the page was scrolled.
            target.evaluate("window.scrollTo(0, 0)")
            target.screenshot(path=str(directory / f"{name}.png"), full_page=True, animations="disabled")

    return _shot
