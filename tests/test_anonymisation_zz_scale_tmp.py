import time
from contacts.models import Contact
from rgpd.models import AnonymisationRequest, PendingStorageDeletion
from rgpd.services.anonymisation import anonymisation_preview, anonymisation_request_create
from tests.factories import exported, rgpd_user
from tests.test_anonymisation_worker import wait_for_idle, wait_until

def test_scale(celery_worker):
    N = 10_000
    Contact.objects.bulk_create([Contact(first_name=f"P{i}", last_name=f"Scale{i}", email=f"p{i}@ex.fr", phone=f"06{i:08d}") for i in range(N)], batch_size=2000)
    qs = Contact.objects.filter(last_name__startswith="Scale")
    exported(qs[: N - 100])
    user = rgpd_user()
    t = time.monotonic(); preview = anonymisation_preview(contacts=qs); tp = time.monotonic() - t
    t = time.monotonic(); req = anonymisation_request_create(contact_ids=qs.values_list("pk", flat=True), actor=user, confirmed=True, source="bulk"); tc = time.monotonic() - t
    t = time.monotonic()
    wait_until(lambda: AnonymisationRequest.objects.get(pk=req.pk).status == "done", timeout=1800, what="done")
    tw = time.monotonic() - t
    req.refresh_from_db()
    print(f"\nSCALE preview={tp:.2f}s create={tc:.2f}s worker={tw:.1f}s ({N/tw:.0f}/s) anonymised={req.anonymised_count} skipped={req.skipped_count} eligible={preview.eligible_count}")
    wait_for_idle(celery_worker)
