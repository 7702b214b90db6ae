"""Slipway settings, read from environment variables with embedded defaults.

With no variable set, Slipway runs on a laptop: SQLite, an in-memory channel layer and Celery on
kombu's filesystem transport (or Redis when ``REDIS_URL`` is set). ``SLIPWAY_ENV=production``
switches to safe defaults and refuses to start without a secret key and encryption keys.
The README's configuration reference lists every variable read here.
"""

from __future__ import annotations

from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from portal.beat_schedule import beat_schedule
from portal.channel_layer import redis_channel_layer

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

# Fail closed: only the two known values are accepted. A typo ("prod", "Production", "staging")
# used to fall back to development — public SECRET_KEY, encryption keys derived from it — silently.
ENVIRONMENTS = ("development", "production")
SLIPWAY_ENV = env.str("SLIPWAY_ENV", default="development")
if SLIPWAY_ENV not in ENVIRONMENTS:
    raise ImproperlyConfigured(f"SLIPWAY_ENV={SLIPWAY_ENV[:40]!r} is not a known environment: set it to "
                               f"{' or '.join(ENVIRONMENTS)} (exactly, lower case).")
PRODUCTION = SLIPWAY_ENV == "production"
VAR_DIR = Path(env.str("SLIPWAY_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

_DEV_SECRET_KEY = "slipway-development-only-secret-key-not-for-production"
SECRET_KEY = env.str("SECRET_KEY", default="" if PRODUCTION else _DEV_SECRET_KEY)
if PRODUCTION and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY == _DEV_SECRET_KEY):
    raise ImproperlyConfigured("SECRET_KEY must be set to a random value of at least 50 characters when "
                               "SLIPWAY_ENV=production (python -c 'import secrets; print(secrets.token_urlsafe(50))').")

# Off unless asked for, `make run` included: a QA user gets the friendly 403/404/500 pages, never Django's
# technical ones (URL patterns, tracebacks, settings). Static files are served by WhiteNoise either way.
DEBUG = env.bool("DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when SLIPWAY_ENV=production: it shows tracebacks and settings.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS",
                         default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must name the portal's host names when SLIPWAY_ENV=production.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Encryption keys for secrets at rest (Fernet, urlsafe base64, 32 bytes). The first key encrypts;
# all keys decrypt, so a new key is added in front and `manage.py rotate_secrets` re-encrypts.
# Outside production a key is derived from SECRET_KEY (portal/crypto.py); in production never.
SLIPWAY_ENCRYPTION_KEYS = env.list("SLIPWAY_ENCRYPTION_KEYS", default=[])
if PRODUCTION:
    if not SLIPWAY_ENCRYPTION_KEYS:
        raise ImproperlyConfigured("SLIPWAY_ENCRYPTION_KEYS must be set when SLIPWAY_ENV=production")
    try:
        [Fernet(key) for key in SLIPWAY_ENCRYPTION_KEYS]
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured("SLIPWAY_ENCRYPTION_KEYS holds a value that is not a Fernet key (make one with "
                                   "python -c 'from cryptography.fernet import Fernet; "
                                   "print(Fernet.generate_key().decode())').") from exc

# Bounds on what users send: whole request bodies (413 beyond, portal/request_limits.py), form
# fields and request.body (Django's own limit), and YAML texts (portal/safe_yaml.py).
SLIPWAY_MAX_REQUEST_BYTES = env.int("SLIPWAY_MAX_REQUEST_BYTES", default=2 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = SLIPWAY_MAX_REQUEST_BYTES
SLIPWAY_MAX_YAML_BYTES = env.int("SLIPWAY_MAX_YAML_BYTES", default=256 * 1024)

SLIPWAY_INSTANCE_ID = env.str("SLIPWAY_INSTANCE_ID", default="slipway-local")

# Single sign-on (OpenID Connect), off unless SLIPWAY_OIDC_ENABLED; its settings are further down.
SLIPWAY_OIDC_ENABLED = env.bool("SLIPWAY_OIDC_ENABLED", default=False)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "channels",
    "portal",
    "portal.accounts",
    "portal.audit",
    "portal.jobs",
    "portal.dashboard",
    "clusters",
    "environments",
    "migrations_tool",
    *(["mozilla_django_oidc"] if SLIPWAY_OIDC_ENABLED else []),
    "axes",  # sign-in lockout, see AXES_* below
]

MIDDLEWARE = [
    # First: a request for a sleeping environment's hostname (its Ingress routes to Slipway while it sleeps)
    # is answered with the waking page before anything validates the Host header against ALLOWED_HOSTS.
    "environments.sleep.wake_on_request.WakeOnRequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "portal.outages.OutageMiddleware",  # faults: a view's database or queue outage answers 503
    "portal.request_limits.RequestBoundsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.request_context.RequestContextMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.accounts.middleware.RoleRequiredMiddleware",  # an account with no role sees no page
    "environments.sleep.activity.ActivityMiddleware",  # use of an environment's pages and API (idle sleep)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as axes requires
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

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
                "portal.accounts.context.roles",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'slipway.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # `make run`'s web server, worker, beat and cluster thread write concurrently. Wait for the lock
    # instead of failing; take it when a transaction begins (a deferred one that later upgrades to a
    # write gets "database is locked" at once, without waiting); WAL lets readers run beside a writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=20, transaction_mode="IMMEDIATE",
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve static/ without collectstatic (no build step)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Security: safe defaults in production, overridable for TLS-terminating proxies.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=PRODUCTION)
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if PRODUCTION else 0)
# `check --deploy` is clean in production by default; a deployment sharing its domain with plain-HTTP
# sub-sites turns these off explicitly.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Redis: Celery broker and results, and the channel layer, when available.
REDIS_URL = env.str("REDIS_URL", default="")

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL or None)
if PRODUCTION and CELERY_BROKER_URL == "filesystem://":
    # Separate web and worker containers would never see each other's tasks on a local folder.
    raise ImproperlyConfigured("REDIS_URL (or CELERY_BROKER_URL) must be set when SLIPWAY_ENV=production")
if CELERY_BROKER_URL.startswith("redis"):
    # A task whose worker died unacknowledged is redelivered after this many seconds (acks_late).
    _visibility = env.int("SLIPWAY_CELERY_VISIBILITY_TIMEOUT", default=3600)
    # kombu sweeps for such tasks only every interval x throttle seconds (10 x 10 by default), which
    # would add up to 100 s to a short visibility timeout: sweep at least five times per timeout.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": _visibility, "unacked_restore_throttle": 1,
                                       "unacked_restore_interval": min(10, max(1, _visibility // 5))}
if CELERY_BROKER_URL == "filesystem://":
    _queue = VAR_DIR / "celery" / "queue"
    _queue.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(_queue), "data_folder_out": str(_queue),
                                       "processed_folder": str(VAR_DIR / "celery" / "processed"),
                                       "store_processed": False,
                                       # kombu writes broadcast (pidbox) messages to ./control otherwise
                                       "control_folder": str(VAR_DIR / "celery" / "control")}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a killed worker's task is redelivered: tasks are idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
# Part faults (issue 18): a job's task sent while the broker restarts is retried for about
# SLIPWAY_QUEUE_PUBLISH_RETRIES seconds (0.5 s, then every second) before the request answers 503 and
# the job is failed with the reason (portal.jobs.services.job_enqueue).
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": env.int("SLIPWAY_QUEUE_PUBLISH_RETRIES", default=10),
                                    "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
# Jobs record their outcome in the database and nothing reads Celery's results. Left on, every send
# first subscribed the web to the result store, and once Redis had been down that failed for good
# ("the Celery application must be restarted"), a 500 instead of the 503 above.
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = beat_schedule(env)  # portal/beat_schedule.py

# --- Issue 18, part "multiproc" (portal/beat_leader.py): several beats may run, one publishes. The leader
# holds a lease in the broker's Redis for SLIPWAY_BEAT_LOCK_SECONDS, renewed every tick; a stand-by takes
# over within about that long after the leader dies. SLIPWAY_CELERY_QUEUE names the task queue, so two
# installations (or a test) can share one Redis database without taking each other's tasks.
CELERY_BEAT_SCHEDULER = "portal.beat_leader:LeaderScheduler"
SLIPWAY_BEAT_LOCK_SECONDS = env.float("SLIPWAY_BEAT_LOCK_SECONDS", default=30.0)
CELERY_TASK_DEFAULT_QUEUE = env.str("SLIPWAY_CELERY_QUEUE", default="celery")
SLIPWAY_BEAT_LOCK_KEY = f"slipway:beat-leader:{CELERY_TASK_DEFAULT_QUEUE}"  # one leader per installation
# --- end of part "multiproc"

# --- Issue 18, follow-up "lease" (portal/jobs/lease.py): the delivery running a job's body holds a lease on
# the job for SLIPWAY_JOB_LEASE_SECONDS, renewed every third of it. A delivery of the same job that finds the
# lease unexpired (Redis redelivered a task still running past the visibility timeout) waits for it; a
# killed worker's job is taken over about this long after its death.
SLIPWAY_JOB_LEASE_SECONDS = env.float("SLIPWAY_JOB_LEASE_SECONDS", default=60.0)
if SLIPWAY_JOB_LEASE_SECONDS <= 0:
    raise ImproperlyConfigured("SLIPWAY_JOB_LEASE_SECONDS must be a positive number of seconds")
# --- end of follow-up "lease"


CHANNEL_LAYER_URL = env.str("CHANNEL_LAYER_URL", default=REDIS_URL)
if CHANNEL_LAYER_URL:
    CHANNEL_LAYERS = {"default": redis_channel_layer(CHANNEL_LAYER_URL)}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# How often a job-stream websocket reads the database for events it was not sent over the channel layer
# (the in-memory layer does not cross processes; Redis can drop under load).
# -- Issue 18, part 5 (benchpath): every open stream polls, each poll a database connection opened and
# closed in the web process (CONN_MAX_AGE stays 0: under ASGI each request has its own thread, and kept
# connections piled up to PostgreSQL's limit); at 1 s, 500 idle viewers on one daphne (bench/
# websocket_memory.py) slowed new handshakes past daphne's 5 s until they were dropped. Over Redis the
# broadcasts carry the events and the poll only repairs a dropped one: 15 s there; 1 s with the
# in-memory layer, where the poll is the only cross-process path.
SLIPWAY_JOB_STREAM_POLL_SECONDS = env.float("SLIPWAY_JOB_STREAM_POLL_SECONDS",
                                            default=15.0 if CHANNEL_LAYER_URL else 1.0)

# The client address behind reverse proxies: SLIPWAY_TRUSTED_PROXIES is the number of proxies in front of
# Slipway that append to X-Forwarded-For; with 0 the header is ignored (a client writes it). The audit
# trail, the sign-in lockout and DRF's throttles all read it.
SLIPWAY_TRUSTED_PROXIES = env.int("SLIPWAY_TRUSTED_PROXIES", default=0)
if SLIPWAY_TRUSTED_PROXIES < 0:
    raise ImproperlyConfigured("SLIPWAY_TRUSTED_PROXIES must be 0 (no proxy) or the number of trusted proxies")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header turns a bad credential into 401, not 403.
        "portal.accounts.tokens.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Authorized: every endpoint asks its object kind's function in portal.accounts.authz first.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated", "portal.api.permissions.Authorized"],
    "DEFAULT_PARSER_CLASSES": ["portal.api.parsers.JSONParser", "portal.api.parsers.FormParser",
                               "portal.api.parsers.MultiPartParser"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend",
                                "rest_framework.filters.OrderingFilter"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "NUM_PROXIES": SLIPWAY_TRUSTED_PROXIES,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Slipway API",
    "DESCRIPTION": "Self-service environments on Kubernetes. Every UI action has an endpoint here.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI served from the installed sidecar package: no CDN is reachable from most clusters.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "TerraformRunActionEnum": "clusters.models.TerraformRun.ACTIONS",
        "TerraformRunStateEnum": "clusters.models.TerraformRun.STATES",
        "DocumentPlanActionEnum": "environments.documents.PLAN_ACTIONS",
        "DataStoreKindEnum": "migrations_tool.models.KINDS",
        "ChaosRunStatusEnum": "environments.chaos.models.ChaosRun.STATUSES",
    },
}

# AWS: one adapter (portal/aws.py) builds every client; endpoint overrides point it at moto.
AWS_REGION = env.str("AWS_DEFAULT_REGION", default="us-east-1")
AWS_ENDPOINT_URL = env.str("AWS_ENDPOINT_URL", default="")
AWS_ENDPOINT_URLS = env.dict("SLIPWAY_AWS_ENDPOINT_URLS", default={})  # per service: s3=http://...

# How long a rollout waits for its workloads to become ready before failing with the reason.
SLIPWAY_ROLLOUT_TIMEOUT_SECONDS = env.float("SLIPWAY_ROLLOUT_TIMEOUT_SECONDS", default=300.0)
# How long a pod stays on a failed (NotReady or unreachable) node before it is evicted and rescheduled:
# rendered as the pods' tolerations. Kubernetes' own default is 300 s.
SLIPWAY_NODE_EVICTION_SECONDS = env.int("SLIPWAY_NODE_EVICTION_SECONDS", default=15)

# Chaos experiments: a running run whose worker sent no heartbeat for this long was interrupted (the
# periodic undo task takes its faults back); a run watches for recovery this long past duration + SLO.
SLIPWAY_CHAOS_HEARTBEAT_SECONDS = env.float("SLIPWAY_CHAOS_HEARTBEAT_SECONDS", default=20.0)
SLIPWAY_CHAOS_WATCH_MARGIN_SECONDS = env.float("SLIPWAY_CHAOS_WATCH_MARGIN_SECONDS", default=30.0)

# The TTL reaper tells owners this long before expiry, and destroys no sooner than this after telling.
SLIPWAY_EXPIRY_NOTICE_HOURS = env.float("SLIPWAY_EXPIRY_NOTICE_HOURS", default=24.0)
SLIPWAY_EXPIRY_GRACE_MINUTES = env.float("SLIPWAY_EXPIRY_GRACE_MINUTES", default=10.0)
SLIPWAY_DESTROY_TIMEOUT_SECONDS = env.float("SLIPWAY_DESTROY_TIMEOUT_SECONDS", default=300.0)
# Hostnames in Route 53. The owner id goes into every ownership TXT record: give each Slipway instance that
# shares a hosted zone its own (default: derived from SLIPWAY_INSTANCE_ID and the database, stable).
SLIPWAY_DNS_OWNER_ID = env.str("SLIPWAY_DNS_OWNER_ID", default="")
SLIPWAY_DNS_CHANGE_TIMEOUT_SECONDS = env.float("SLIPWAY_DNS_CHANGE_TIMEOUT_SECONDS", default=120.0)
SLIPWAY_DNS_CHANGE_POLL_SECONDS = env.float("SLIPWAY_DNS_CHANGE_POLL_SECONDS", default=2.0)
SLIPWAY_DNS_SWEEP_REMOVE = env.bool("SLIPWAY_DNS_SWEEP_REMOVE", default=False)  # report only unless enabled
SLIPWAY_ROUTE53_RETRY_ATTEMPTS = env.int("SLIPWAY_ROUTE53_RETRY_ATTEMPTS", default=8)
SLIPWAY_ROUTE53_RETRY_BASE_SECONDS = env.float("SLIPWAY_ROUTE53_RETRY_BASE_SECONDS", default=0.5)
SLIPWAY_ROUTE53_RETRY_MAX_SECONDS = env.float("SLIPWAY_ROUTE53_RETRY_MAX_SECONDS", default=20.0)

# Data copies: "undo last copy" (and a destroyed environment's data) is kept this long; masking is
# keyed per installation so masked values are stable across copies (derived from SECRET_KEY if unset).
SLIPWAY_DATA_COPY_UNDO_HOURS = env.float("SLIPWAY_DATA_COPY_UNDO_HOURS", default=24.0)
SLIPWAY_MASKING_KEY = env.str("SLIPWAY_MASKING_KEY", default="")
SLIPWAY_DATA_COPY_WORKERS = env.int("SLIPWAY_DATA_COPY_WORKERS", default=4)
# Where undo snapshots go when the target environment has no S3 store of its own.
SLIPWAY_SNAPSHOT_BUCKET = env.str("SLIPWAY_SNAPSHOT_BUCKET", default="slipway-snapshots")

# Terraform: a local filesystem mirror of providers (no registry is reachable from many networks).
SLIPWAY_TERRAFORM_PLUGIN_MIRROR = env.str("SLIPWAY_TERRAFORM_PLUGIN_MIRROR", default="")
# Blueprints: one folder of Terraform code per cluster kind (local, aws-eks).
SLIPWAY_TERRAFORM_BLUEPRINTS_DIR = Path(env.str("SLIPWAY_TERRAFORM_BLUEPRINTS_DIR",
                                                default=str(BASE_DIR / "clusters" / "terraform")))
SLIPWAY_TERRAFORM_BIN = env.str("SLIPWAY_TERRAFORM_BIN", default="terraform")
# One working directory per cluster under here (blueprint copy, tfvars, saved plans, CLI config).
SLIPWAY_TERRAFORM_DIR = Path(env.str("SLIPWAY_TERRAFORM_DIR", default=str(VAR_DIR / "terraform")))
# Remote state: one S3 bucket (created when missing), one key per cluster, S3-native locking.
SLIPWAY_TERRAFORM_STATE_BUCKET = env.str("SLIPWAY_TERRAFORM_STATE_BUCKET", default="slipway-terraform-state")
# Blueprints whose plans apply without a Platform admin's approval.
SLIPWAY_TERRAFORM_AUTO_APPROVE = env.list("SLIPWAY_TERRAFORM_AUTO_APPROVE", default=["local"])
# Extra inputs per blueprint for every cluster of that kind (JSON), e.g. {"aws-eks": {"nat_gateway_mode": "per_az"}}.
SLIPWAY_TERRAFORM_BLUEPRINT_VARS = env.json("SLIPWAY_TERRAFORM_BLUEPRINT_VARS", default={})
SLIPWAY_TERRAFORM_TIMEOUT_SECONDS = env.float("SLIPWAY_TERRAFORM_TIMEOUT_SECONDS", default=3600.0)
# `local` clusters: API server ports handed out from this range, cluster files under this directory.
SLIPWAY_LOCAL_CLUSTER_PORTS = env.str("SLIPWAY_LOCAL_CLUSTER_PORTS", default="56500-56599")
SLIPWAY_LOCAL_CLUSTERS_DIR = Path(env.str("SLIPWAY_LOCAL_CLUSTERS_DIR", default=str(VAR_DIR / "local-clusters")))
# What `make run` is doing with its local cluster (building/up/failed), read by "New environment".
SLIPWAY_LOCAL_CLUSTER_STATUS_FILE = Path(env.str("SLIPWAY_LOCAL_CLUSTER_STATUS_FILE",
                                                default=str(VAR_DIR / "local-cluster.json")))

AUTHENTICATION_BACKENDS = [
    "portal.accounts.lockout.LockoutBackend",  # first: the sign-in lockout (AXES_* below) sees every attempt
    *(["portal.accounts.oidc.RoleMappingOIDCBackend"] if SLIPWAY_OIDC_ENABLED else []),
    "django.contrib.auth.backends.ModelBackend",
]

# Single sign-on (OpenID Connect), when SLIPWAY_OIDC_ENABLED.
if SLIPWAY_OIDC_ENABLED:
    OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID")
    OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET")
    OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")
    OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT")
    OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT")
    OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT")
    OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
    OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid email profile groups")
# IdP group -> Slipway role, e.g. "platform-team=Platform admins,qa=QA".
SLIPWAY_OIDC_GROUPS_CLAIM = env.str("SLIPWAY_OIDC_GROUPS_CLAIM", default="groups")
SLIPWAY_OIDC_ROLE_MAP = env.dict("SLIPWAY_OIDC_ROLE_MAP", default={})

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "portal.redaction.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Image registries (environments/catalog/registries): how long one request may take (how often versions
# sync: SLIPWAY_VERSIONS_SYNC_SECONDS, in CELERY_BEAT_SCHEDULE).
SLIPWAY_REGISTRY_TIMEOUT_SECONDS = env.float("SLIPWAY_REGISTRY_TIMEOUT_SECONDS", default=15.0)

# Expiry notices beyond the dashboard: e-mail to the owner (console backend outside production, so
# `make run` prints them; tests get Django's locmem outbox) and an optional Slack-compatible webhook.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend" if PRODUCTION
                        else "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=15)
DEFAULT_FROM_EMAIL = env.str("SLIPWAY_EMAIL_FROM", default="Slipway <slipway@localhost>")
SLIPWAY_BASE_URL = env.str("SLIPWAY_BASE_URL", default="http://127.0.0.1:8000")
SLIPWAY_CHAT_WEBHOOK_URL = env.str("SLIPWAY_CHAT_WEBHOOK_URL", default="")
SLIPWAY_CHAT_TIMEOUT_SECONDS = env.float("SLIPWAY_CHAT_TIMEOUT_SECONDS", default=10.0)
# Chaos experiments (environments/chaos/): the shortest interval a schedule may have.
SLIPWAY_CHAOS_MIN_INTERVAL_SECONDS = env.int("SLIPWAY_CHAOS_MIN_INTERVAL_SECONDS", default=10)
# --- Orphans (issue 17, environments/orphans/) ---
# How often the sweep runs (its beat entry is in CELERY_BEAT_SCHEDULE), and whether it removes what it
# finds by itself (each thing re-checked first) instead of waiting for a Platform admin's confirmation.
SLIPWAY_ORPHAN_SWEEP_SECONDS = env.float("SLIPWAY_ORPHAN_SWEEP_SECONDS", default=86400.0)
SLIPWAY_ORPHANS_REMOVE_AUTOMATICALLY = env.bool("SLIPWAY_ORPHANS_REMOVE_AUTOMATICALLY", default=False)
# --- Issue 17, part "sleep" (environments/sleep/): while an environment sleeps, its Ingresses send requests to
# a Service "slipway-waker" pointing at Slipway at this "host:port" (an IP address: a Service plus an
# EndpointSlice; a DNS name: an ExternalName Service). Loopback (the default, for development) is unreachable
# from a cluster: the Service is made without endpoints. How long a sleep or a wake waits for its workloads.
SLIPWAY_WAKE_ADDRESS = env.str("SLIPWAY_WAKE_ADDRESS", default="127.0.0.1:8000")
SLIPWAY_SLEEP_TIMEOUT_SECONDS = env.float("SLIPWAY_SLEEP_TIMEOUT_SECONDS", default=300.0)
# --- end of part "sleep"
# Issue 17, wake part (environments/sleep/): how often the sleep tick runs (schedules, idle sleep), and the
# least time between two writes of an environment's last activity.
SLIPWAY_SLEEP_TICK_SECONDS = env.float("SLIPWAY_SLEEP_TICK_SECONDS", default=60.0)
SLIPWAY_ACTIVITY_THROTTLE_SECONDS = env.float("SLIPWAY_ACTIVITY_THROTTLE_SECONDS", default=60.0)
# Cost (issue 17, part "cost": environments/cost/): how often the clusters' usage is sampled (the beat
# entry "environments-cost-sample"), and after how many hours without activity an awake environment
# counts as idle when its sleep schedule names no idle_hours.
SLIPWAY_COST_SAMPLE_SECONDS = env.float("SLIPWAY_COST_SAMPLE_SECONDS", default=300.0)
SLIPWAY_COST_IDLE_HOURS = env.float("SLIPWAY_COST_IDLE_HOURS", default=4.0)
# Log history (searchable logs shipped by the clusters' fluent-bit): a dotted path to a class
# implementing environments.logs.history.LogHistoryBackend. CloudWatch Logs is built in.
SLIPWAY_LOG_HISTORY_BACKEND = env.str("SLIPWAY_LOG_HISTORY_BACKEND",
                                      default="environments.logs.cloudwatch.CloudWatchLogHistory")

# Sign-in lockout (django-axes, in INSTALLED_APPS, MIDDLEWARE and AUTHENTICATION_BACKENDS above) on
# every password sign-in: the login page, the admin's, the API token endpoint.
AXES_FAILURE_LIMIT = env.int("SLIPWAY_SIGN_IN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("SLIPWAY_SIGN_IN_COOLOFF_MINUTES", default=15.0) / 60  # hours
# Across all usernames, from one address, within the cool-off (portal/accounts/lockout.py).
SLIPWAY_SIGN_IN_ADDRESS_LIMIT = env.int("SLIPWAY_SIGN_IN_ADDRESS_LIMIT", default=30)
# Per account and address: a guesser locks only themselves out, not the account's owner elsewhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "portal.request_context.source_ip"
AXES_USERNAME_CALLABLE = "portal.accounts.lockout.attempted_username"
# Axes keeps the posted form of each failure and logs it: every password field is masked, not only
# "password" (the change form posts old_password and new_password1/2); username and address as axes does.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "old_password", "new_password1", "new_password2",
                             "csrfmiddlewaretoken"]
AXES_LOCKOUT_CALLABLE = "portal.accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
# A locked-out attempt is refused without being recorded: the cool-off runs from the lockout, and a
# guesser hammering a locked account grows no rows.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are on the audit trail already
AXES_ENABLE_ADMIN = False  # portal/accounts/admin.py registers an audited admin of the lockouts instead

# --- Issue 18, part "observe": /readyz, /metrics, JSON logs with a request id (portal/observability/) ---
from portal.observability.json_logs import logging_settings  # noqa: E402

SLIPWAY_LOG_FORMAT = env.str("SLIPWAY_LOG_FORMAT", default="text")  # "text" (make run) or "json" (the chart)
LOGGING = logging_settings(LOGGING, SLIPWAY_LOG_FORMAT)  # ImproperlyConfigured for any other format
CELERY_WORKER_HIJACK_ROOT_LOGGER = SLIPWAY_LOG_FORMAT != "json"  # a worker keeps Django's (JSON) handler
MIDDLEWARE.insert(0, "portal.observability.http_metrics.RequestMetricsMiddleware")  # outermost: counts refusals
SECURE_REDIRECT_EXEMPT.append(r"^readyz$")  # kubelet probes speak plain HTTP to the pod
SLIPWAY_METRICS_TOKEN = env.str("SLIPWAY_METRICS_TOKEN", default="")  # /metrics: "Authorization: Bearer <token>"
SLIPWAY_WORKER_METRICS_PORT = env.int("SLIPWAY_WORKER_METRICS_PORT", default=0)  # each worker's /metrics; 0: off
SLIPWAY_METRICS_QUEUES = env.list("SLIPWAY_METRICS_QUEUES", default=["celery"])  # whose depth /metrics reports
SLIPWAY_PROBE_TIMEOUT_SECONDS = env.float("SLIPWAY_PROBE_TIMEOUT_SECONDS", default=2.0)  # each /readyz check
