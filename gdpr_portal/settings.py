"""Settings read from the environment, with embedded defaults that need no server.

Embedded defaults (``make run``): SQLite, local files, Celery on a filesystem queue, emails to the
console and ``var/mail/``. Every default is switched off by its environment variable (see README).
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from gdpr_portal.environment import EnvironmentReader
from gdpr_portal.log_format import LOG_FORMATS, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# Numbers and rates: a bad value is reported by a system check naming the variable (gdpr_portal/checks.py).
tunables = EnvironmentReader(os.environ)

VAR_DIR = Path(env("GDPR_PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))
# Production mode has no insecure default: a missing SECRET_KEY stops the start.
PRODUCTION = env.bool("PRODUCTION", default=False)
if PRODUCTION:
    try:
        SECRET_KEY = env("SECRET_KEY")
    except ImproperlyConfigured as exc:
        raise ImproperlyConfigured("PRODUCTION=true requires the SECRET_KEY environment variable.") from exc
else:
    SECRET_KEY = env("SECRET_KEY", default="insecure-embedded-default-key-for-local-use-only")
# Off unless asked for: the debug page shows tracebacks and settings to whoever triggers an error.
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "rgpd.admin_site.GdprAdminConfig",  # django.contrib.admin, RGPD pages first (rgpd/admin_site.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",  # runserver leaves static files to WhiteNoise, as in production
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from our static files (no CDN)
    "gdpr_portal.apps.PortalConfig",
    "axes",
    "csp",
    "contacts",
    "staff",
    "rgpd",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # After WhiteNoise (inserted at 1 in production): static files keep their own caching headers.
    "gdpr_portal.middleware.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "gdpr_portal.middleware.ChosenLanguageMiddleware",  # French unless the user chose English
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]
# WhiteNoise serves the back office's CSS, JS and icons in every mode (runserver serves none without
# DEBUG): from STATIC_ROOT, collected in the image, in production; else from the apps' and static/ folders.
MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION

ROOT_URLCONF = "gdpr_portal.urls"
WSGI_APPLICATION = "gdpr_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web server and worker pool write the one file at once. WAL: readers never wait for the writer.
    # IMMEDIATE: a transaction takes the write lock when it begins, so it waits (up to the timeout) for
    # another writer instead of failing with "database is locked" when a read has to become a write.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=30, transaction_mode="IMMEDIATE", init_command="PRAGMA journal_mode=WAL;"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "admin:login"
# A back-office session over personal data lasts a working day at most.
SESSION_COOKIE_AGE = tunables.integer("SESSION_COOKIE_AGE", 8 * 3600, minimum=60)

# --- Caches ----------------------------------------------------------------------------------------
# Login and API throttling count in this cache, which every process serving the site must share.
# The embedded default is process-local: make run has one web process. Production needs CACHE_URL
# (Redis): without it, django-axes' warning fails `check --deploy --fail-level WARNING`.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
if not PRODUCTION and "CACHE_URL" not in env:
    SILENCED_SYSTEM_CHECKS = ["axes.W001"]
CACHES["default"]["KEY_PREFIX"] = env("CACHE_KEY_PREFIX", default="gdpr_portal")

# --- Login throttling (django-axes) ----------------------------------------------------------------
# After AXES_FAILURE_LIMIT wrong passwords for one username from one address, that pair may not log in
# (even with the right password) for AXES_COOLOFF_MINUTES. Counters live in the cache under hashed
# keys: no username or address is stored, and the logs mask both.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = tunables.integer("AXES_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=tunables.integer("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "gdpr_portal.lockout.lockout_response"
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False
# The client's address: REMOTE_ADDR unless a trusted proxy's header is named here (django-ipware),
# e.g. HTTP_X_REAL_IP behind a proxy that sets it. X-Forwarded-For is never trusted by default.
AXES_IPWARE_META_PRECEDENCE_ORDER = env.list("AXES_IPWARE_META_PRECEDENCE_ORDER", default=["REMOTE_ADDR"])
AXES_IPWARE_PROXY_COUNT = tunables.optional_integer("AXES_IPWARE_PROXY_COUNT", minimum=0)

# French first, English available.
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env("TIME_ZONE", default="Europe/Paris")
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"

# --- Files -------------------------------------------------------------------------------------
# Media (photos, documents) and RGPD archives. On S3 both live in one private bucket, under
# different prefixes; nothing is ever served from a public URL.
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media-not-served/"
RGPD_ARCHIVES_ROOT = VAR_DIR / "archives"
RGPD_ARCHIVE_PREFIX = "rgpd-archives"
# Seconds a presigned download URL (S3) stays valid: the storages' default and every download's.
# S3 refuses a presigned URL living more than 7 days.
STORAGE_URL_SECONDS = tunables.integer("STORAGE_URL_SECONDS", 300, maximum=7 * 24 * 3600)
if AWS_STORAGE_BUCKET_NAME:
    _s3_options = {
        "bucket_name": AWS_STORAGE_BUCKET_NAME,
        "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),
        "access_key": env("AWS_ACCESS_KEY_ID", default=None),
        "secret_key": env("AWS_SECRET_ACCESS_KEY", default=None),
        "region_name": env("AWS_S3_REGION_NAME", default="us-east-1"),
        "addressing_style": "path",
        "signature_version": "s3v4",
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": STORAGE_URL_SECONDS,
        "file_overwrite": False,
    }
    STORAGES = {
        # django-storages' S3Storage, sharing one parsed S3 description per process (~10 MB less each).
        "default": {
            "BACKEND": "gdpr_portal.storage_backends.S3Storage",
            "OPTIONS": {**_s3_options, "location": "media"},
        },
        "rgpd_archives": {
            "BACKEND": "gdpr_portal.storage_backends.S3Storage",
            "OPTIONS": {**_s3_options, "location": RGPD_ARCHIVE_PREFIX},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
else:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "rgpd_archives": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(RGPD_ARCHIVES_ROOT), "base_url": "/archives-not-served/"},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Largest document or photo accepted (checked before the file reaches the storage).
UPLOAD_MAX_BYTES = tunables.integer("UPLOAD_MAX_MB", 25) * 1024 * 1024

# --- Email -------------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="gdpr_portal <no-reply@gdpr-portal.local>")
EMAIL_HOST = env("EMAIL_HOST", default="")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = tunables.integer("EMAIL_PORT", 25, maximum=65535)
    EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
    EMAIL_TIMEOUT = 30
else:
    EMAIL_BACKEND = "gdpr_portal.mail.ConsoleAndFileBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"

# --- Celery --------------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _queue_dir = VAR_DIR / "celery"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        # Broadcast (ping, inspect) files; kombu's default is a "control" folder in the working directory.
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
    for _folder in ("queue", "processed", "control"):
        (_queue_dir / _folder).mkdir(parents=True, exist_ok=True)
else:
    # A task whose worker dies is redelivered after this delay (acks_late).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": tunables.integer("CELERY_VISIBILITY_TIMEOUT", 3600),
        # Several deployments (or test runs) may share one Redis: each keeps its keys apart.
        "global_keyprefix": env("CELERY_REDIS_KEY_PREFIX", default=""),
        # A broker that is down or does not answer fails a publish within seconds instead of hanging
        # the web request (which then records the job for the periodic sweep; rgpd/services/dispatch.py).
        "socket_connect_timeout": 3,
        "socket_timeout": 5,
    }
# Bounded publish retry: with the timeouts above a publish gives up after about 2 s when the broker is down,
# 6 s when it hangs.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="gdpr_portal")
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "rgpd-purge-expired-archives": {"task": "rgpd.purge_expired_archives", "schedule": crontab(minute=7)},
    # Once a day (the task itself sends once per day however often it runs): requests due soon or overdue.
    "rgpd-deadline-reminders": {"task": "rgpd.send_deadline_reminders", "schedule": crontab(0, 7)},
    "rgpd-resume-stalled-exports": {
        "task": "rgpd.resume_stalled_exports",
        # Every minute: a part whose worker vanished is rebuilt within a lease and a minute.
        "schedule": timedelta(minutes=1),
    },
    "rgpd-finish-pending-deletions": {
        "task": "rgpd.finish_pending_deletions",
        "schedule": timedelta(minutes=5),
    },
}

# --- RGPD ----------------------------------------------------------------------------------------
RGPD_EXPORT_PART_SIZE = tunables.integer("RGPD_EXPORT_PART_SIZE", 200)
# A "select all" of more people than this is stored by the web request and recorded by a worker.
RGPD_EXPORT_INLINE_MAX = tunables.integer("RGPD_EXPORT_INLINE_MAX", 10000, minimum=0)
RGPD_ARCHIVE_RETENTION_DAYS = tunables.integer("RGPD_ARCHIVE_RETENTION_DAYS", 10)
RGPD_INACTIVITY_YEARS = tunables.integer("RGPD_INACTIVITY_YEARS", 3, maximum=100)  # retention sweep
# Anonymisation: up to INLINE_MAX contacts are processed during the request (a row, a small API call);
# larger selections run in the background, at most CHUNK_SIZE contacts per task and per transaction.
RGPD_ANONYMISATION_INLINE_MAX = tunables.integer("RGPD_ANONYMISATION_INLINE_MAX", 10, minimum=0)
RGPD_ANONYMISATION_CHUNK_SIZE = tunables.integer("RGPD_ANONYMISATION_CHUNK_SIZE", 1000)
# A part RUNNING without a heartbeat for this long belongs to a dead worker and may be rebuilt. A worker
# restarted under its node name takes its parts back at once (export_parts_reclaim); one that does not come
# back is covered by this lease and the sweep every minute: about three minutes at worst.
RGPD_EXPORT_LEASE_SECONDS = tunables.integer("RGPD_EXPORT_LEASE_SECONDS", 120)
# Attempts at the requester's email after the first, with exponential backoff (5 s to 5 min).
RGPD_EMAIL_MAX_RETRIES = tunables.integer("RGPD_EMAIL_MAX_RETRIES", 8, minimum=0, maximum=100)
# Queue of the archive-building tasks ("" = the default queue); lets heavy exports run on their own workers.
RGPD_EXPORT_QUEUE = env("RGPD_EXPORT_QUEUE", default="")

# --- API -----------------------------------------------------------------------------------------
# At most this many ids in one API request's list (export, anonymisation).
RGPD_API_MAX_IDS = tunables.integer("RGPD_API_MAX_IDS", 1000)
REST_FRAMEWORK = {
    # Token first: a missing or wrong token is then a 401 with "WWW-Authenticate: Token" (a 403 otherwise).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "gdpr_portal.throttling.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # One error body across the API: {"detail": ..., "code": ...} (+ "errors" per field on a 400).
    "EXCEPTION_HANDLER": "rgpd.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # gdpr_portal/throttling.py: wrong tokens per client address, RGPD creations per user (DRF rates).
    "DEFAULT_THROTTLE_RATES": {
        "token_failures": tunables.rate("API_TOKEN_FAILURE_RATE", "10/hour"),
        "rgpd_exports": tunables.rate("API_EXPORT_RATE", "60/hour"),
        "rgpd_anonymisations": tunables.rate("API_ANONYMISATION_RATE", "60/hour"),
    },
}

# OpenAPI schema (/api/schema/) and its Swagger UI (/api/docs/): rgpd/api/schema.py, gdpr_portal/urls.py.
SPECTACULAR_SETTINGS = {
    "TITLE": "gdpr_portal API",
    "DESCRIPTION": (
        "Exports and anonymisations of client contacts (GDPR), and the register of data subjects' "
        "requests. Authenticate with "
        '`Authorization: Token <key>`: a back-office user holding the right "RGPD Contacts Clients" '
        'creates their token on the page "Mon jeton d\'API" (/admin/api-token/). Every error answers '
        '`{"detail": "...", "code": "..."}`; a 400 adds `errors` per field.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/rgpd/",
    "COMPONENT_SPLIT_REQUEST": True,
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],  # the API is documented in JSON only
    # <id:…> in URLs (gdpr_portal/ids.py): 1..2^63-1.
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1}
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ExportStatusEnum": "rgpd.models.ExportRequest.Status",
        "ExportPartStatusEnum": "rgpd.models.ExportPart.Status",
        "AnonymisationStatusEnum": "rgpd.models.AnonymisationRequest.Status",
        "AnonymisationResultEnum": "rgpd.models.AnonymisationSubject.Result",
    },
}

# --- Security ------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = PRODUCTION
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"  # they may name a person
X_FRAME_OPTIONS = "DENY"
# HTTPS only in production (manage.py check --deploy passes with these defaults).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
# Health checks come from inside (load balancer, container runtime), often in plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = tunables.integer("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if PRODUCTION else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=PRODUCTION)
# Behind a TLS-terminating proxy: "HTTP_X_FORWARDED_PROTO,https" (only if the proxy always sets it).
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) if _proxy_ssl_header else None

# Content-Security-Policy (django-csp): scripts and styles from this site only, no inline script.
# Photos may be shown from the S3 endpoint the presigned URLs point to.
_s3_image_origins = []
if AWS_STORAGE_BUCKET_NAME:
    _endpoint = _s3_options["endpoint_url"] or "https://*.amazonaws.com"
    _s3_image_origins = ["{0.scheme}://{0.netloc}".format(urlsplit(_endpoint))]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, *_s3_image_origins],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# LOG_FORMAT=json: one JSON object per line (gdpr_portal/log_format.py), also for Celery
# (gdpr_portal/celery.py) and gunicorn (gunicorn.conf.py). Query strings are stripped in both formats.
LOG_FORMAT = tunables.choice("LOG_FORMAT", "text", LOG_FORMATS)
LOGGING = logging_config(LOG_FORMAT, env("LOG_LEVEL", default="INFO"))

# Read last: every number and rate above has been read by now.
ENVIRONMENT_PROBLEMS = tunables.problems
