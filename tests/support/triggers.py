"""Database triggers standing for a bug elsewhere, so that the anonymisation's own defences are seen
working on the real PostgreSQL (no hook in the engine is needed for tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def _trigger(table: str, when: str, body: str) -> Iterator[None]:
    name = "test_bug_elsewhere"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$ BEGIN {body} END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            f"CREATE TRIGGER {name} BEFORE UPDATE ON {table} FOR EACH ROW WHEN ({when}) "
            f"EXECUTE FUNCTION {name}()"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            cursor.execute(f"DROP FUNCTION IF EXISTS {name}()")


def history_rewritten_with(*, contact_id: int, message: str):
    """Whenever the admin history of ``contact_id`` is rewritten, ``message`` is written back into it
    (a copy of a former value kept elsewhere and restored)."""
    quoted = message.replace("'", "''")
    return _trigger(
        "django_admin_log",
        f"NEW.object_id = '{int(contact_id)}'",
        f"NEW.change_message := '{quoted}'; RETURN NEW;",
    )


def update_fails(*, table: str, row_id: int):
    """Any UPDATE of that row raises (a failure in the middle of an anonymisation)."""
    return _trigger(table, f"NEW.id = {int(row_id)}", "RAISE EXCEPTION 'a trigger broke'; RETURN NEW;")


def column_kept(*, table: str, row_id: int, column: str):
    """Any UPDATE of that row leaves ``column`` as it was (a former value surviving the anonymisation)."""
    return _trigger(table, f"NEW.id = {int(row_id)}", f'NEW."{column}" := OLD."{column}"; RETURN NEW;')
