"""Indexes for the RGPD page's search at scale (PostgreSQL only).

The admin search (``search_fields = ["^last_name", "first_name", "email", "phone"]``) runs
``UPPER(last_name::text) LIKE UPPER('term%')`` ORed with ``UPPER(col::text) LIKE UPPER('%term%')`` for the
other fields: without these indexes every search reads the whole table (2 to 4 s at 1,000,000 contacts,
see bench/RESULTS.md). A btree on ``UPPER(last_name)`` (``text_pattern_ops``) serves the prefix, trigram
GIN indexes (``pg_trgm``) serve the substring searches. SQLite, the embedded default, gets none.
"""

from django.db import migrations

PREFIX_INDEX = "contact_last_name_prefix_idx"
TRIGRAM_COLUMNS = ("first_name", "email", "phone")


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f'CREATE INDEX IF NOT EXISTS {PREFIX_INDEX} ON contacts_contact (UPPER("last_name"::text) text_pattern_ops)'
    )
    for column in TRIGRAM_COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS contact_{column}_trgm_idx ON contacts_contact "
            f'USING gin (UPPER("{column}"::text) gin_trgm_ops)'
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in (PREFIX_INDEX, *(f"contact_{column}_trgm_idx" for column in TRIGRAM_COLUMNS)):
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("contacts", "0001_initial")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
