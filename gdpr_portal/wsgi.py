import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gdpr_portal.settings")
application = get_wsgi_application()

# gunicorn runs no system check of its own: a worker with a bad configuration does not boot. Exit code 3
# is gunicorn's "worker failed to boot": the master stops instead of starting workers again and again.
from gdpr_portal.checks import refuse_to_start_on_errors  # noqa: E402

refuse_to_start_on_errors("gunicorn", exit_code=3)
