"""An employee's anonymisation is final, in the database itself (PostgreSQL and SQLite), as a contact's.

The database refuses:
- an UPDATE of an anonymised profile that changes a personal column or ``anonymised_at``;
- an HR document INSERTed for an anonymised profile, or moved to one (UPDATE of ``employee_id``/``file``);
- an UPDATE of the account (auth_user) of an anonymised profile that would open it again: names or email
  not empty, a username that is not an anonymised one, or an active account. The anonymisation itself
  closes the account after setting ``anonymised_at`` (staff/accounts.py ``accounts_close``): it passes.

The errors' text holds ``EMPLOYEE_REFUSAL`` (staff/integrity.py). SQLite drops a table's triggers when
Django rebuilds it: later migrations of these tables add nullable columns only (plain ADD COLUMN).
A test changes each personal column of the registry (staff/personal_data.py) on both engines.
"""

from django.db import migrations

REFUSAL = "gdpr_portal: anonymised employee is final"
PERSONAL_COLUMNS = (
    "civility",
    "phone",
    "mobile",
    "street",
    "postal_code",
    "city",
    "country",
    "birth_date",
    "photo",
    "job_title",
    "start_date",
    "end_date",
    "anonymised_at",
)
_PG_ROW = ", ".join(f'{{0}}."{c}"' for c in PERSONAL_COLUMNS)
_REOPENED = (
    "NEW.first_name <> '' OR NEW.last_name <> '' OR NEW.email <> '' "
    "OR NEW.username NOT LIKE 'anonymised-%' OR NEW.is_active"
)

POSTGRES = [
    f"""CREATE OR REPLACE FUNCTION staff_employeeprofile_anonymised_is_final() RETURNS trigger AS $$
BEGIN
    IF OLD.anonymised_at IS NOT NULL
        AND ROW({_PG_ROW.format("NEW")}) IS DISTINCT FROM ROW({_PG_ROW.format("OLD")})
    THEN
        RAISE EXCEPTION '{REFUSAL} (employee %)', OLD.user_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql""",
    """CREATE TRIGGER staff_employeeprofile_anonymised_is_final BEFORE UPDATE ON staff_employeeprofile
    FOR EACH ROW EXECUTE FUNCTION staff_employeeprofile_anonymised_is_final()""",
    f"""CREATE OR REPLACE FUNCTION staff_hrdocument_employee_not_anonymised() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.employee_id IS DISTINCT FROM OLD.employee_id OR NEW.file IS DISTINCT FROM OLD.file
    THEN
        PERFORM 1 FROM staff_employeeprofile WHERE user_id = NEW.employee_id AND anonymised_at IS NOT NULL
            FOR SHARE;
        IF FOUND THEN
            RAISE EXCEPTION '{REFUSAL} (employee %)', NEW.employee_id USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql""",
    """CREATE TRIGGER staff_hrdocument_employee_not_anonymised BEFORE INSERT OR UPDATE ON staff_hrdocument
    FOR EACH ROW EXECUTE FUNCTION staff_hrdocument_employee_not_anonymised()""",
    # No row lock here: the admin locks the profile before saving the account (staff/admin.py), the
    # anonymisation too; the check reads the committed profile at the statement's start.
    f"""CREATE OR REPLACE FUNCTION staff_account_of_anonymised_stays_closed() RETURNS trigger AS $$
BEGIN
    IF ({_REOPENED}) AND EXISTS (
        SELECT 1 FROM staff_employeeprofile WHERE user_id = NEW.id AND anonymised_at IS NOT NULL
    ) THEN
        RAISE EXCEPTION '{REFUSAL} (account %)', NEW.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql""",
    """CREATE TRIGGER staff_account_of_anonymised_stays_closed BEFORE UPDATE ON auth_user
    FOR EACH ROW EXECUTE FUNCTION staff_account_of_anonymised_stays_closed()""",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS staff_account_of_anonymised_stays_closed ON auth_user",
    "DROP FUNCTION IF EXISTS staff_account_of_anonymised_stays_closed()",
    "DROP TRIGGER IF EXISTS staff_hrdocument_employee_not_anonymised ON staff_hrdocument",
    "DROP FUNCTION IF EXISTS staff_hrdocument_employee_not_anonymised()",
    "DROP TRIGGER IF EXISTS staff_employeeprofile_anonymised_is_final ON staff_employeeprofile",
    "DROP FUNCTION IF EXISTS staff_employeeprofile_anonymised_is_final()",
]

_SQLITE_CHANGED = " OR ".join(f'NEW."{c}" IS NOT OLD."{c}"' for c in PERSONAL_COLUMNS)
_SQLITE_OWNER = (
    "EXISTS (SELECT 1 FROM staff_employeeprofile WHERE user_id = {} AND anonymised_at IS NOT NULL)"
)
_SQLITE_RAISE = f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
SQLITE = [
    f"""CREATE TRIGGER staff_employeeprofile_anonymised_is_final BEFORE UPDATE ON staff_employeeprofile
    FOR EACH ROW WHEN OLD.anonymised_at IS NOT NULL AND ({_SQLITE_CHANGED}) {_SQLITE_RAISE}""",
    f"""CREATE TRIGGER staff_hrdocument_insert_not_anonymised BEFORE INSERT ON staff_hrdocument
    FOR EACH ROW WHEN {_SQLITE_OWNER.format("NEW.employee_id")} {_SQLITE_RAISE}""",
    f"""CREATE TRIGGER staff_hrdocument_update_not_anonymised BEFORE UPDATE OF employee_id, file
    ON staff_hrdocument FOR EACH ROW WHEN {_SQLITE_OWNER.format("NEW.employee_id")} {_SQLITE_RAISE}""",
    f"""CREATE TRIGGER staff_account_of_anonymised_stays_closed BEFORE UPDATE ON auth_user
    FOR EACH ROW WHEN ({_REOPENED}) AND {_SQLITE_OWNER.format("NEW.id")} {_SQLITE_RAISE}""",
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {name}"
    for name in (
        "staff_account_of_anonymised_stays_closed",
        "staff_hrdocument_update_not_anonymised",
        "staff_hrdocument_insert_not_anonymised",
        "staff_employeeprofile_anonymised_is_final",
    )
]


def _statements(schema_editor, postgresql: list[str], sqlite: list[str]) -> list[str]:
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"no anonymisation triggers for {vendor}")
    return postgresql if vendor == "postgresql" else sqlite


def triggers_create(apps, schema_editor):
    for statement in _statements(schema_editor, POSTGRES, SQLITE):
        schema_editor.execute(statement, params=None)


def triggers_drop(apps, schema_editor):
    for statement in _statements(schema_editor, POSTGRES_DROP, SQLITE_DROP):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("staff", "0002_profiles_for_existing_users")]

    operations = [migrations.RunPython(triggers_create, triggers_drop)]
