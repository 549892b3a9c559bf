"""An employee's anonymisation is final: the database refuses writes that would undo it (staff migration
0003), on the profile, its HR documents and its account. Writers turn the refusal into
``EmployeeAnonymised``, a message for the user (not a 500), as for contacts (contacts/integrity.py)."""

from django.utils.translation import gettext_lazy as _

from contacts.integrity import ContactAnonymised

# Text of the triggers' error (staff/migrations/0003_anonymisation_is_final.py).
EMPLOYEE_REFUSAL = "gdpr_portal: anonymised employee is final"


class EmployeeAnonymised(ContactAnonymised):
    """A write was refused because the employee it touches has been anonymised."""

    refusal = EMPLOYEE_REFUSAL
    message = _("This user has been anonymised: their account and profile can no longer be changed.")
