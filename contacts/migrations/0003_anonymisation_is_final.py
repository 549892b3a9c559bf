"""An anonymisation is final, in the database itself (PostgreSQL and SQLite).

Whatever writes (the change form, an upload, the API, a shell), the database refuses:
- an UPDATE of an anonymised contact that changes a personal column or ``anonymised_at``;
- a document INSERTed for an anonymised contact, or moved to one (UPDATE of ``contact_id``/``file``).

On PostgreSQL the document check locks the contact row (``FOR SHARE``): an insert racing an
anonymisation waits for it and then sees the committed ``anonymised_at``. SQLite serialises writers.
Both raise an IntegrityError whose text holds ``ANONYMISED_REFUSAL`` (see contacts/integrity.py).

The personal columns are those of the registry (contacts/personal_data.py); a test changes each of
them on an anonymised contact, so a new personal field without a new trigger migration fails it.
SQLite loses triggers when Django rebuilds a table: that test runs on SQLite too.
"""

from django.db import migrations, models

import contacts.models
import gdpr_portal.uploads

REFUSAL = "gdpr_portal: anonymised contact is final"
PERSONAL_COLUMNS = (
    "civility",
    "first_name",
    "last_name",
    "email",
    "phone",
    "mobile",
    "street",
    "postal_code",
    "city",
    "country",
    "birth_date",
    "photo",
    "company",
    "job_title",
    "notes",
)
_ROW = ", ".join(f'"{c}"' for c in (*PERSONAL_COLUMNS, "anonymised_at"))
_NEW = ", ".join(f'NEW."{c}"' for c in (*PERSONAL_COLUMNS, "anonymised_at"))
_OLD = ", ".join(f'OLD."{c}"' for c in (*PERSONAL_COLUMNS, "anonymised_at"))

POSTGRES_CREATE = f"""
CREATE OR REPLACE FUNCTION contacts_contact_anonymised_is_final() RETURNS trigger AS $$
BEGIN
    IF OLD.anonymised_at IS NOT NULL AND ROW({_NEW}) IS DISTINCT FROM ROW({_OLD}) THEN
        RAISE EXCEPTION '{REFUSAL} (contact %)', OLD.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER contacts_contact_anonymised_is_final BEFORE UPDATE ON contacts_contact
    FOR EACH ROW EXECUTE FUNCTION contacts_contact_anonymised_is_final();

CREATE OR REPLACE FUNCTION contacts_document_contact_not_anonymised() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.contact_id IS DISTINCT FROM OLD.contact_id OR NEW.file IS DISTINCT FROM OLD.file
    THEN
        PERFORM 1 FROM contacts_contact WHERE id = NEW.contact_id AND anonymised_at IS NOT NULL FOR SHARE;
        IF FOUND THEN
            RAISE EXCEPTION '{REFUSAL} (contact %)', NEW.contact_id USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER contacts_document_contact_not_anonymised BEFORE INSERT OR UPDATE ON contacts_document
    FOR EACH ROW EXECUTE FUNCTION contacts_document_contact_not_anonymised();
"""
POSTGRES_DROP = """
DROP TRIGGER IF EXISTS contacts_document_contact_not_anonymised ON contacts_document;
DROP FUNCTION IF EXISTS contacts_document_contact_not_anonymised();
DROP TRIGGER IF EXISTS contacts_contact_anonymised_is_final ON contacts_contact;
DROP FUNCTION IF EXISTS contacts_contact_anonymised_is_final();
"""

_CHANGED = " OR ".join(f'NEW."{c}" IS NOT OLD."{c}"' for c in (*PERSONAL_COLUMNS, "anonymised_at"))
_ANONYMISED_OWNER = (
    "EXISTS (SELECT 1 FROM contacts_contact WHERE id = NEW.contact_id AND anonymised_at IS NOT NULL)"
)
SQLITE_CREATE = [
    f"""CREATE TRIGGER contacts_contact_anonymised_is_final BEFORE UPDATE ON contacts_contact
    FOR EACH ROW WHEN OLD.anonymised_at IS NOT NULL AND ({_CHANGED})
    BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END""",
    f"""CREATE TRIGGER contacts_document_insert_not_anonymised BEFORE INSERT ON contacts_document
    FOR EACH ROW WHEN {_ANONYMISED_OWNER}
    BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END""",
    f"""CREATE TRIGGER contacts_document_update_not_anonymised BEFORE UPDATE OF contact_id, file
    ON contacts_document FOR EACH ROW WHEN {_ANONYMISED_OWNER}
    BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS contacts_contact_anonymised_is_final",
    "DROP TRIGGER IF EXISTS contacts_document_insert_not_anonymised",
    "DROP TRIGGER IF EXISTS contacts_document_update_not_anonymised",
]


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_CREATE, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_CREATE:
            schema_editor.execute(statement)
    else:
        raise NotImplementedError(f"no anonymisation triggers for {vendor}")


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0002_search_indexes")]

    operations = [
        # Uploads checked by content and size (no schema change; listed before the triggers, which a
        # table rebuild on SQLite would drop).
        migrations.AlterField(
            model_name="contact",
            name="photo",
            field=models.ImageField(
                blank=True,
                max_length=255,
                upload_to=contacts.models.contact_photo_path,
                validators=[gdpr_portal.uploads.validate_photo_upload],
                verbose_name="photo",
            ),
        ),
        migrations.AlterField(
            model_name="document",
            name="file",
            field=models.FileField(
                max_length=255,
                upload_to=contacts.models.document_file_path,
                validators=[gdpr_portal.uploads.validate_document_upload],
                verbose_name="file",
            ),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
