"""What the browser journeys share: finding rows, the keyboard, waiting, and the translation catalogue."""

from __future__ import annotations

import ast
import contextlib
import re
import time
from functools import cache
from pathlib import Path

from playwright.sync_api import BrowserContext, Error, Locator, Page

from tests.support.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]
RGPD_PAGE = "/admin/rgpd/rgpdcontact/"
PAGE_TITLE_FR = "Gestion - RGPD : Contacts Clients"
PAGE_TITLE_EN = "GDPR management: client contacts"
LOUPE_FR, BOX_FR, DETECTIVE_FR = (
    "Accès à la fiche du contact",
    "Exporter les données",
    "Anonymiser les données",
)
LOUPE_EN, BOX_EN, DETECTIVE_EN = "Open the contact's record", "Export the data", "Anonymise the data"
ACKNOWLEDGE_FR = (
    "J'ai pris connaissance des éléments ci-dessus et j'accepte que les données soient anonymisées."
)
ACKNOWLEDGE_EN = "I have read the above and I accept that the data be anonymised."
NOT_EXPORTED_FR = "Aucune archive n'a été générée pour ce contact : exportez d'abord les données."

# The seed's sentences on the export confirmation (rgpd-contacts-clients-formation.txt), verbatim.
SEED_EXPORT_TEXTS = [
    "Cette fonctionnalité permet de récupérer les données et documents d'une population ciblée.",
    "En lançant cette action, l'application va générer une archive contenant un fichier structuré"
    " (format JSON).",
    "Cette étape est obligatoire pour pouvoir ensuite anonymiser les données.",
    "ATTENTION : Cette archive sera stockée pendant 10 jours. Une fois ce délai dépassé, les données seront"
    " définitivement supprimées de nos serveurs.",
    "Une fois l'archive générée, un email sera envoyé à la personne qui a effectué l'action.",
]
# The seed's sentences on the anonymisation confirmation, verbatim.
SEED_ANONYMISE_TEXTS = [
    "Une fois les fichiers archives générés, vous avez la possibilité de rendre anonyme une personne dans"
    " votre environnement.",
    "A savoir que la personne sera toujours visible dans l'application mais de manière anonyme de façon à"
    " ne plus être identifiée. Les éléments de types nom, prénom, numéro de téléphone, adresse seront"
    " remplacés par des xxx",
    "Cette action peut avoir des conséquences irréversibles.",
    "Il vous est fortement conseillé de télécharger et sauvegarder chez vous les données et les documents"
    " précédemment archivés.",
    "Si vous ne suivez pas ce process, vos données seront définitivement perdues 10 jours après avoir créé"
    " votre archive et vous ne pourrez plus jamais réintégrer les données concernant le(s) contact(s)"
    " sélectionné(s).",
]


def export_count_text(count: int) -> str:
    return f"Les données et éventuels documents concernant {count} personne(s) vont être exportées."


def anonymise_count_text(count: int) -> str:
    return (
        f"Les données concernant {count} contact(s) vont être anonymisées et les documents attachés"
        " supprimés."
    )


# --- Content-Security-Policy --------------------------------------------------------------------------
CSP_REPORT_PREFIX = "securitypolicyviolation:"
# Runs in every page before its own scripts (Playwright's init scripts are not subject to the CSP).
_REPORT_CSP_VIOLATIONS = f"""document.addEventListener("securitypolicyviolation", (event) => {{
  console.error("{CSP_REPORT_PREFIX} " + event.violatedDirective + " blocked " + event.blockedURI
                + " in " + event.documentURI);
}});"""


def watch_csp_violations(context: BrowserContext, violations: list[str]) -> None:
    """Add to ``violations`` what the CSP blocks in ``context``'s pages: the browser's console message
    ("Refused to ... Content Security Policy ...") and the page's ``securitypolicyviolation`` event."""
    context.add_init_script(_REPORT_CSP_VIOLATIONS)

    def on_console(message) -> None:
        if "Content Security Policy" in message.text or message.text.startswith(CSP_REPORT_PREFIX):
            violations.append(f"{message.location.get('url', '')}: {message.text}")

    context.on("console", on_console)


# --- Finding things as a user does ------------------------------------------------------------------
def row_of(page: Page, contact) -> Locator:
    """The RGPD page's row of ``contact`` (the one whose checkbox carries its id)."""
    checkbox = page.locator(f'input[name="_selected_action"][value="{contact.pk}"]')
    return page.locator("#result_list tbody tr").filter(has=checkbox)


def tab_to(page: Page, target: Locator, *, limit: int = 200) -> None:
    """Press Tab until ``target`` has the focus, as a keyboard user moves through the page."""
    handle = target.element_handle()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("element => document.activeElement === element", handle):
            return
    raise AssertionError(f"Tab never reached {target} after {limit} presses")


def double_click(page: Page, button: Locator) -> int:
    """Click ``button`` twice as a hurried person does: the second click lands while the first answer
    is still on its way. Return how many times the form was sent.

    The answers to the page's POSTs are held back (the server has handled each request already) until
    both clicks are done, so the second click always meets the page of the first.
    """
    held = []

    def hold(route):
        if route.request.method != "POST":
            route.fallback()
            return
        held.append((route, route.fetch(max_redirects=0)))

    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.route("**/*", hold)
    try:
        page.mouse.click(x, y)
        wait_until(lambda: held or page.wait_for_timeout(50), timeout=15, message="the first POST")
        # The second click, where the button is, whether or not the page still accepts it.
        page.mouse.click(x, y)
        page.wait_for_timeout(500)
        sent = len(held)
    finally:
        for route, response in held:
            with contextlib.suppress(Error):  # the browser dropped the navigation a second send replaced
                route.fulfill(response=response)
        page.unroute("**/*", hold)
    return sent


# --- Emails ---------------------------------------------------------------------------------------------
def text_part(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def emails_about(smtp_sink, export_request, *, settle: float = 1.0, timeout: float = 60) -> list:
    """The emails at the SMTP sink that link to ``export_request``'s page, once one has arrived.

    Waits ``settle`` seconds more, so that a second email about the same request would be counted.
    Emails about other requests (a previous test's late worker) are left aside.
    """
    path = f"/admin/rgpd/exportrequest/{export_request.pk}/change/"

    def matching() -> list:
        with smtp_sink.lock:
            messages = list(smtp_sink.messages)
        return [message for message in messages if path in text_part(message)]

    wait_until(matching, timeout=timeout, message=f"an email about export #{export_request.pk}")
    time.sleep(settle)
    return matching()


# --- What a page says ---------------------------------------------------------------------------------
_TEXTS_SCRIPT = """() => {
  const texts = [document.title, document.body.innerText];
  for (const element of document.querySelectorAll(
      "[aria-label], [title], [alt], [placeholder], [aria-description],"
      + " input[type=submit], input[type=button], button")) {
    for (const name of ["aria-label", "title", "alt", "placeholder", "aria-description"]) {
      if (element.hasAttribute(name)) texts.push(element.getAttribute(name));
    }
    if (element.matches("input[type=submit], input[type=button]")) texts.push(element.value);
  }
  for (const option of document.querySelectorAll("option")) texts.push(option.textContent);
  return texts.join("\\n");
}"""


def page_text(page: Page) -> str:
    """Everything a person reads or hears on the page: text, tooltips, accessible names, button labels."""
    return page.evaluate(_TEXTS_SCRIPT)


def _po_string(lines: list[str]) -> str:
    return "".join(ast.literal_eval(line) for line in lines)


@cache
def catalogue() -> list[tuple[str, str]]:
    """(English msgid, French msgstr) pairs of the project's catalogue (plural forms included)."""
    entries: list[tuple[str, str]] = []
    text = (ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if line and not line.startswith("#")]
        if "#, fuzzy" in block or not lines:
            continue
        fields: dict[str, list[str]] = {}
        key = None
        for line in lines:
            match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d\])?) (".*")$', line)
            if match:
                key = match.group(1)
                fields[key] = [match.group(2)]
            elif key and line.startswith('"'):
                fields[key].append(line)
        if "msgid" not in fields:
            continue
        ids = [_po_string(fields["msgid"])]
        if "msgid_plural" in fields:
            ids.append(_po_string(fields["msgid_plural"]))
            strs = [_po_string(v) for k, v in sorted(fields.items()) if k.startswith("msgstr[")]
        else:
            strs = [_po_string(fields.get("msgstr", ['""']))]
        if ids[0]:
            entries.extend((ids[min(i, len(ids) - 1)], s) for i, s in enumerate(strs) if s)
    return entries


_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\{.*?\}\}")


def _fragments(message: str) -> list[str]:
    """The literal parts of a message that are long enough to recognise in a page."""
    parts = (part.strip(" .,:;!?()«»\"'—–-…>\n") for part in _PLACEHOLDER.split(message))
    return [part for part in parts if len(part) >= 4 and re.search(r"[^\W\d_]{3}", part)]


@cache
def phrases(language: str) -> frozenset[str]:
    """Phrases of the catalogue that belong to ``language`` only ("en": msgids, "fr": msgstrs)."""
    english = {
        f for msgid, msgstr in catalogue() if msgid.lower() != msgstr.lower() for f in _fragments(msgid)
    }
    french = {
        f for msgid, msgstr in catalogue() if msgid.lower() != msgstr.lower() for f in _fragments(msgstr)
    }
    # A word written the same in both languages ("Actions", "Documents", "Contact") belongs to neither;
    # so do the languages' names (the switch lists each in its own language) and "email" (the seed's
    # French says "un email").
    both = {"français", "french", "anglais", "english", "email"}
    english_text = "\n".join(msgid for msgid, _ in catalogue()).lower()
    french_text = "\n".join(msgstr for _, msgstr in catalogue()).lower()

    def shared(fragment: str, other_text: str) -> bool:
        # Also a word of the other language's texts ("mobile" in "téléphone mobile").
        return fragment.lower() in both or bool(
            re.search(rf"(?<!\w){re.escape(fragment.lower())}(?!\w)", other_text)
        )

    if language == "en":
        return frozenset(f for f in english if not shared(f, french_text))
    return frozenset(f for f in french if not shared(f, english_text))


# Django admin's own words around the journeys' pages, in each language.
ADMIN_WORDS = {
    "fr": ["Accueil", "Déconnexion", "Rechercher", "Sélectionner", "Envoyer", "Langue", "Changer"],
    "en": ["Home", "Log out", "Search", "Select all", "Language", "Change", "Welcome"],
}


def leftovers(text: str, language: str) -> list[str]:
    """Phrases of ``language`` found in ``text`` (whole words, case-sensitive)."""
    found = []
    for phrase in sorted(phrases(language) | set(ADMIN_WORDS[language])):
        if re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text):
            found.append(phrase)
    return found
