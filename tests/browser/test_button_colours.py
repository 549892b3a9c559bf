"""Colours tell the risk: the irreversible anonymise button is the admin's danger colour, export is not."""

from playwright.sync_api import Page, expect

from tests.factories import ContactFactory, exported, rgpd_user


def background(page: Page, selector: str) -> str:
    return page.locator(selector).evaluate("element => getComputedStyle(element).backgroundColor")


def admin_colour(page: Page, variable: str) -> str:
    """An admin colour variable (e.g. ``--delete-button-bg``) as the browser computes it (rgb(…))."""
    return page.evaluate(
        """variable => {
            const probe = document.createElement("span");
            probe.style.backgroundColor = `var(${variable})`;
            document.body.append(probe);
            const colour = getComputedStyle(probe).backgroundColor;
            probe.remove();
            return colour;
        }""",
        variable,
    )


def test_anonymise_is_in_the_danger_colour_and_export_in_the_default_one(page, login):
    # Given an officer, a contact to export and an exported contact to anonymise
    to_export = ContactFactory()
    to_anonymise = ContactFactory()
    exported([to_anonymise])
    login(rgpd_user(username="claire.dpo"))

    # When the officer opens the export confirmation
    page.goto(f"/admin/rgpd/exportrequest/contact/{to_export.pk}/export/")
    export_button = page.get_by_role("button", name="Exporter les données")
    expect(export_button).to_be_visible()
    export_button.blur()  # the page focuses it (test_access_keyboard.py): the colour at rest, not focused
    danger = admin_colour(page, "--delete-button-bg")

    # Then its button is the admin's default button, not the danger red (waited for: the admin's buttons
    # fade between colours, so the colour right after the blur may still be the focused one)
    expect(export_button).to_have_css("background-color", admin_colour(page, "--default-button-bg"))
    assert background(page, ".submit-row input[type=submit]") != danger

    # When the officer opens the anonymisation confirmation and ticks the acknowledgement
    page.goto(f"/admin/rgpd/anonymisationrequest/contact/{to_anonymise.pk}/")
    page.locator("#id_acknowledge").check()
    anonymise_button = page.get_by_role("button", name="Rendre anonyme les données")
    expect(anonymise_button).to_be_enabled()
    page.mouse.move(0, 0)  # not hovered: the colour at rest

    # Then the irreversible button is the danger red
    assert background(page, ".rgpd-anonymise__form .submit-row input[type=submit]") == danger
