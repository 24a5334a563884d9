"""Settings for the test suite: SQLite, or PostgreSQL when a server is named.

``AUTH_CODE_FLOW_TEST_POSTGRES`` holds libpq keywords, e.g.
``host=127.0.0.1 port=54329 user=postgres dbname=acfd``.
"""

from __future__ import annotations

import os

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


def _databases() -> dict[str, dict[str, object]]:
    dsn = os.environ.get("AUTH_CODE_FLOW_TEST_POSTGRES", "").strip()
    if not dsn:
        return {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
    options = dict(part.split("=", 1) for part in dsn.split())
    return {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": options.pop("dbname", "acfd"),
            "USER": options.pop("user", "postgres"),
            "PASSWORD": options.pop("password", ""),
            "HOST": options.pop("host", "127.0.0.1"),
            "PORT": options.pop("port", "5432"),
            "OPTIONS": options,
        }
    }


DATABASES = _databases()

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
