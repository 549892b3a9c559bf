"""Quality gates: lint, Django checks, migrations, the registry of personal data, translations, README."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command

from contacts.models import Contact
from rgpd.populations import population
from rgpd.registry import PersonalDataRegistry, Treatment, registry

ROOT = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).with_name("ruff")
MYPY = Path(sys.executable).with_name("mypy")
PO_FILE = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)


def test_ruff_lint_is_clean():
    result = run(str(RUFF), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean():
    result = run(str(RUFF), "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean():
    # The packages checked and the stubs' settings are in pyproject.toml ([tool.mypy]).
    result = run(str(MYPY))
    assert result.returncode == 0, result.stdout + result.stderr
    checked = re.search(r"no issues found in (\d+) source files", result.stdout)
    assert checked and int(checked.group(1)) > 0, result.stdout


def test_django_system_checks_pass():
    call_command("check", fail_level="WARNING")


@pytest.mark.django_db
def test_no_model_change_is_missing_a_migration():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


# --- The registry of personal data ------------------------------------------------------------------


def registry_problems(personal_registry: PersonalDataRegistry) -> list[str]:
    problems = []
    for spec in personal_registry:
        for name in sorted(spec.undeclared_fields()):
            problems.append(f"{spec.model.__name__}.{name} is declared neither personal nor not personal")
        concrete = {f.name for f in spec.model._meta.concrete_fields}
        for name in sorted((set(spec.personal) | spec.not_personal) - concrete):
            problems.append(f"{spec.model.__name__}.{name} is declared but is no field")
    return problems


def test_every_field_of_every_registered_model_is_declared():
    assert registry_problems(registry) == []


def test_every_model_of_the_population_apps_is_in_the_registry():
    registered = {spec.model for spec in registry}
    for app in ("contacts", "staff"):  # client contacts; employees (profiles, HR documents)
        assert set(apps.get_app_config(app).get_models()) <= registered, app


def test_a_forgotten_field_is_reported():
    # Given a spec of Contact that forgets its "notes" field (a throwaway registry, not the real one)
    throwaway = PersonalDataRegistry()
    spec = population("contacts").subject
    personal = {name: t for name, t in spec.personal.items() if name != "notes"}
    throwaway.register(Contact, personal=personal, not_personal=sorted(spec.not_personal))

    # Then the completeness check names it
    assert registry_problems(throwaway) == ["Contact.notes is declared neither personal nor not personal"]


def test_a_declared_field_that_does_not_exist_is_reported():
    throwaway = PersonalDataRegistry()
    spec = population("contacts").subject
    throwaway.register(
        Contact,
        personal={**spec.personal, "nickname": Treatment.MASK},
        not_personal=sorted(spec.not_personal),
    )
    assert registry_problems(throwaway) == ["Contact.nickname is declared but is no field"]


# --- Translations --------------------------------------------------------------------------------------


def po_entries(text: str) -> list[dict]:
    entries = []
    for block in text.split("\n\n"):
        entry = {"flags": "", "msgid": None, "keys": []}
        current = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] = line
            elif line.startswith("#"):
                continue
            elif match := re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d\])?|msgctxt) (".*")$', line):
                current = match.group(1)
                entry.setdefault(current, "")
                entry[current] = ast.literal_eval(match.group(2))
                if current.startswith("msgstr"):
                    entry["keys"].append(current)
            elif line.startswith('"') and current:
                entry[current] += ast.literal_eval(line)
        if entry["msgid"]:
            entry["strings"] = [entry[key] for key in entry["keys"]]
            entries.append(entry)
    return entries


def test_every_french_message_is_translated_and_not_fuzzy():
    entries = po_entries(PO_FILE.read_text(encoding="utf-8"))
    assert entries
    untranslated = [e["msgid"] for e in entries if not all(e["strings"])]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert untranslated == []
    assert fuzzy == []


def test_the_seed_sentences_are_the_french_texts():
    translations = {s for e in po_entries(PO_FILE.read_text(encoding="utf-8")) for s in e["strings"]}
    for sentence in ("Accès à la fiche du contact", "Gestion - RGPD : Contacts Clients"):
        assert sentence in translations


def test_the_compiled_messages_match_the_sources(tmp_path):
    compiled = tmp_path / "django.mo"
    result = run("msgfmt", "--check-format", "-o", str(compiled), str(PO_FILE))
    assert result.returncode == 0, result.stderr
    assert compiled.read_bytes() == PO_FILE.with_suffix(".mo").read_bytes(), (
        "run: python manage.py compilemessages -l fr"
    )


# --- README ---------------------------------------------------------------------------------------------


def test_the_readme_opens_with_the_two_commands_and_documents_every_variable():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```\w*\n(.*?)```", readme, re.S).group(1)
    assert first_block.split("\n", 2)[:2] == ["make run", "make test"]
    assert readme.index("```") < readme.index("\n## ")
    from tests.operations.test_compose import settings_environment_variables

    missing = sorted(v for v in settings_environment_variables() if f"| `{v}` |" not in readme)
    assert missing == [], "README configuration table lacks: " + ", ".join(missing)


def test_the_readme_security_section_points_at_tests_that_exist():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Security\n", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"\(`((?:tests/)?[\w/]*test_[\w]+\.py|tests/browser/)`\)", section)
    assert len(named) >= 8, named
    missing = [name for name in named if not (ROOT / "tests" / name.removeprefix("tests/")).exists()]
    assert missing == []
