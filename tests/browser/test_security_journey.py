"""Login lockout as a person meets it, and the Content-Security-Policy the journeys are checked against."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.factories import UserFactory
from tests.support.helpers import wait_until


def test_after_ten_wrong_passwords_the_login_page_says_it_is_blocked(page, screenshot):
    # Given an account
    user = UserFactory(username="claire.dpo")

    # When someone types a wrong password ten times on the login page
    page.goto("/admin/login/")
    for attempt in range(9):
        log_in(page, user, f"mauvais-{attempt}")
        expect(page.locator(".errornote")).to_contain_text("Veuillez compléter correctement les champs")
    log_in(page, user, "mauvais-9")

    # Then the admin-styled lockout page tells them, in French, how long to wait
    expect(page).to_have_title("Connexion temporairement bloquée | gdpr_portal")
    expect(page.get_by_role("alert")).to_contain_text(
        "Trop de tentatives de connexion échouées pour ce compte depuis votre adresse. "
        "Par sécurité, la connexion est bloquée pendant 15 minutes."
    )
    screenshot("login-locked")

    # And the right password, sent from the login page it links back to, is refused as well
    page.get_by_role("link", name="Retour à la page de connexion").click()
    log_in(page, user)
    expect(page.get_by_role("alert")).to_contain_text("la connexion est bloquée")
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/$"))


def test_an_inline_script_is_blocked_and_the_journeys_would_fail_on_it(page, csp_violations):
    # Given the login page
    page.goto("/admin/login/")

    # When an inline script gets into the page (as an injection would)
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.injected = true;";
            document.head.appendChild(script);
        }"""
    )

    # Then the browser does not run it, and the violation is collected (a journey would fail on it)
    assert page.evaluate("() => window.injected === undefined")
    wait_until(
        lambda: page.wait_for_timeout(50) or any("script-src" in v for v in csp_violations),
        timeout=10,
        message="the CSP violation to be reported",
    )
    csp_violations.clear()
