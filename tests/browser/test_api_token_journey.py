"""An RGPD officer gets an API token from the back office, uses it, revokes it; and reads the API's docs,
which load from this site only."""

from __future__ import annotations

import requests
from playwright.sync_api import expect

from tests.factories import rgpd_user


def test_an_officer_creates_uses_and_revokes_a_token_then_reads_the_docs(
    page, login, live_server, screenshot
):
    # Given an RGPD officer logged in to the back office
    officer = rgpd_user(username="claire.dpo")
    login(officer)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    # When they open "Mon jeton d’API" from the header and create a token
    page.get_by_role("link", name="Mon jeton d’API").click()
    expect(page.get_by_text("Vous n’avez pas de jeton d’API.")).to_be_visible()
    page.get_by_role("button", name="Créer mon jeton d’API").click()

    # Then the key is shown once, and it opens the API
    expect(page.get_by_text("il ne sera plus affiché")).to_be_visible()
    key = page.locator("#api-token-key").inner_text()
    screenshot("api-token-created")
    exports = f"{live_server.url}/api/rgpd/exports/"
    assert requests.get(exports, headers={"Authorization": f"Token {key}"}, timeout=10).status_code == 200

    # And opened again, the page gives the creation date but not the key
    page.goto("/admin/api-token/")
    expect(page.locator("#api-token-created")).to_contain_text("Vous avez un jeton d’API, créé le")
    expect(page.locator("#api-token-key")).to_have_count(0)
    assert key not in page.content()

    # When they revoke it, Then the API answers 401 to it
    page.get_by_role("button", name="Révoquer mon jeton d’API").click()
    expect(page.get_by_text("Votre jeton d’API est révoqué")).to_be_visible()
    refused = requests.get(exports, headers={"Authorization": f"Token {key}"}, timeout=10)
    assert refused.status_code == 401 and refused.json()["code"] == "authentication_failed"

    # And the API documentation, linked from the header, shows every endpoint from this site alone
    page.get_by_role("link", name="Documentation de l’API").first.click()
    expect(page.get_by_text("gdpr_portal API").first).to_be_visible()
    for path in (
        "/api/rgpd/exports/",
        "/api/rgpd/anonymisations/",
        "/api/rgpd/exports/{id}/parts/{number}/download/",
    ):
        expect(page.get_by_text(path, exact=True).first).to_be_visible()
    screenshot("api-docs")
    assert requested and all(url.startswith(live_server.url) for url in requested), [
        url for url in requested if not url.startswith(live_server.url)
    ]
