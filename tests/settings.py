"""Settings for the test suite.

The database is SQLite in memory, or a server named by keywords in one variable:

- ``AUTH_CODE_FLOW_TEST_POSTGRES``: libpq keywords, e.g.
  ``host=127.0.0.1 port=54329 user=postgres dbname=acfd``;
- ``AUTH_CODE_FLOW_TEST_MARIADB``: the same keywords for MariaDB or MySQL, e.g.
  ``host=127.0.0.1 port=3306 user=acfd password=secret dbname=acfd``;
- ``AUTH_CODE_FLOW_TEST_SQLITE=file``: SQLite in a temporary file instead of memory.

``AUTH_CODE_FLOW_TEST_CONFIG`` is a comma-separated list of configurations that sites
use and the suite must pass under (each one is a CI cell):

- ``atomic_requests``: ``ATOMIC_REQUESTS = True``;
- ``no_tz``: ``USE_TZ = False``;
- ``router``: the app's models on a second alias, ``oauth``, of the same database (see
  ``tests/routers.py``); for PostgreSQL and MariaDB: two connections to one SQLite file
  cannot both write inside one transaction;
- ``uuid_user``: a custom user model whose primary key is a UUID (``tests/custom_user``);
- ``orm_statements``: the statements the library otherwise builds once per connection
  run as plain ORM queries (the internal setting ``_AUTH_CODE_FLOW_ORM_STATEMENTS``,
  see ``auth_code_flow_django/statements.py``), as on a Django whose ORM internals
  they do not recognise.
"""

from __future__ import annotations

import json
import os
import tempfile

SECRET_KEY = "tests-secret-key-not-for-production-0123456789abcdef"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "auth_code_flow_django",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [os.path.join(os.path.dirname(__file__), "templates")],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


TEST_CONFIG = {c.strip() for c in os.environ.get("AUTH_CODE_FLOW_TEST_CONFIG", "").split(",")}
TEST_CONFIG.discard("")
_unknown = TEST_CONFIG - {"atomic_requests", "no_tz", "orm_statements", "router", "uuid_user"}
if _unknown:
    raise ValueError(f"unknown AUTH_CODE_FLOW_TEST_CONFIG: {', '.join(sorted(_unknown))}")


def _keywords(variable: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in os.environ.get(variable, "").split())


def _database() -> dict[str, object]:
    postgres = _keywords("AUTH_CODE_FLOW_TEST_POSTGRES")
    mariadb = _keywords("AUTH_CODE_FLOW_TEST_MARIADB")
    if postgres and mariadb:
        raise ValueError("set one of AUTH_CODE_FLOW_TEST_POSTGRES and _MARIADB, not both")
    if postgres:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": postgres.pop("dbname", "acfd"),
            "USER": postgres.pop("user", "postgres"),
            "PASSWORD": postgres.pop("password", ""),
            "HOST": postgres.pop("host", "127.0.0.1"),
            "PORT": postgres.pop("port", "5432"),
            "OPTIONS": postgres,
        }
    if mariadb:
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": mariadb.pop("dbname", "acfd"),
            "USER": mariadb.pop("user", "root"),
            "PASSWORD": mariadb.pop("password", ""),
            "HOST": mariadb.pop("host", "127.0.0.1"),
            "PORT": mariadb.pop("port", "3306"),
            "OPTIONS": {
                # Any Unicode a provider sends (an emoji in a display name) fits;
                # MariaDB's "utf8" is three bytes at most.
                "charset": "utf8mb4",
                # Django's default, stated because the token lifecycle relies on it:
                # under REPEATABLE READ (the server's default) every plain read in a
                # transaction shows the snapshot of its first read, so a caller that
                # waited for another's refresh could still read the expired row.
                "isolation_level": "read committed",
                **mariadb,
            },
            "TEST": {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"},
        }
    # Two connections cannot share one database in memory: the router configuration
    # uses a file.
    if os.environ.get("AUTH_CODE_FLOW_TEST_SQLITE") == "file" or "router" in TEST_CONFIG:
        path = os.path.join(tempfile.gettempdir(), f"acfd-tests-{os.getpid()}.sqlite3")
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path,
            "TEST": {"NAME": path},
        }
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}


def _databases() -> dict[str, dict[str, object]]:
    default = _database()
    databases = {"default": default}
    if "router" in TEST_CONFIG:
        # A second connection to the same database: Django has no foreign keys across
        # databases, and OAuthToken.user is one (see tests/routers.py). The test
        # runner sees the same database twice and creates it once.
        databases["oauth"] = dict(default)
    # A process that a test starts (tests/concurrency_worker.py) opens the database
    # that the test run created: {"alias": "name", ...}.
    names = json.loads(os.environ.get("AUTH_CODE_FLOW_TEST_DATABASE_NAMES", "{}"))
    for alias, name in names.items():
        databases[alias] = {**databases[alias], "NAME": name}
    return databases


DATABASES = _databases()
if "atomic_requests" in TEST_CONFIG:
    for _database_settings in DATABASES.values():
        _database_settings["ATOMIC_REQUESTS"] = True
if "no_tz" in TEST_CONFIG:
    USE_TZ = False
if "router" in TEST_CONFIG:
    DATABASE_ROUTERS = ["tests.routers.OAuthRouter"]
if "orm_statements" in TEST_CONFIG:
    _AUTH_CODE_FLOW_ORM_STATEMENTS = True
if "uuid_user" in TEST_CONFIG:
    INSTALLED_APPS.append("tests.custom_user")
    AUTH_USER_MODEL = "custom_user.User"

OAUTH_PROVIDERS = {
    "example": {
        "display_name": "Example",
        "base_uri": "https://provider.example",
        "authorization_path": "/oauth/authorize",
        "access_token_path": "/oauth/token",
        "revocation_path": "/oauth/revoke",
        "client_id": "example-client-id",
        "client_secret": "example-client-secret-value",
        "scope": "read write",
        "api_base_urls": ["https://api.provider.example/"],
    },
    "stackexchange": {
        "preset": "stackexchange",
        "client_id": "se-client-id",
        "client_secret": "se-client-secret-value",
    },
}

LOGIN_URL = "/accounts/login/"
STATIC_URL = "/static/"
