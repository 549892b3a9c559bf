"""What the admin's changelist posts for a bulk action, written once for the tests and the benchmark."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME


def bulk_action_payload(
    action: str,
    ids: Iterable[object] = (),
    *,
    select_across: bool = False,
    confirm: bool = False,
    **fields: str,
) -> dict[str, object]:
    """The POST of the bulk ``action`` on the ticked rows ``ids``.

    Chosen in the changelist's action menu, it carries ``index`` (the menu's "Go" button); submitted from
    the confirmation page, ``post=yes`` instead. ``select_across`` is "select all N matching": the action
    then runs on the whole search of the URL posted to, and the ticked ``ids`` are only the page's.
    ``fields`` are the confirmation form's own (``expected_count``, ``acknowledge``).
    """
    payload: dict[str, object] = {
        "action": action,
        ACTION_CHECKBOX_NAME: [str(pk) for pk in ids],
        "select_across": "1" if select_across else "0",
    }
    payload.update({"post": "yes"} if confirm else {"index": "0"})
    return {**payload, **fields}
