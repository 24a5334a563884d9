"""Settings of the example site.

One Django project plays two parts: the site that connects accounts
(``auth_code_flow_django``) and a demo OAuth 2.0 authorization server
(``django-oauth-toolkit``, under ``/o/``). The browser reaches the site as
http://127.0.0.1:8000 and the demo server as http://localhost:8000: two hosts, so two
separate sets of cookies, and logging in at the provider is a real, separate step.

Environment variables:
- ``EXAMPLE_DATABASE``: the SQLite file (default ``example_project/db.sqlite3``).
- ``DEMO_PROVIDER_URL``: where the demo server is reached (default http://localhost:8000).
- ``GITHUB_CLIENT_ID``/``GITHUB_CLIENT_SECRET``, ``STACKEXCHANGE_CLIENT_ID``/
  ``STACKEXCHANGE_CLIENT_SECRET``: enable those real providers.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get(
    "EXAMPLE_SECRET_KEY", "example-project-secret-key-change-me-0123456789"
)
DEBUG = os.environ.get("EXAMPLE_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "example.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "/static/"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "oauth2_provider",
    "auth_code_flow_django",
    "example",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # First, so the example's templates override the app's.
        "DIRS": [BASE_DIR / "example" / "templates"],
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

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("EXAMPLE_DATABASE", str(BASE_DIR / "db.sqlite3")),
    }
}

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# The demo authorization server (django-oauth-toolkit).
OAUTH2_PROVIDER = {
    "PKCE_REQUIRED": True,
    "ROTATE_REFRESH_TOKEN": True,
    # RFC 9700 4.14.2: a refresh token used twice revokes the whole grant, so a client
    # that refreshes the same token from two workers loses the connection.
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "SCOPES": {"read": "Read your demo profile"},
    "DEFAULT_SCOPES": ["read"],
}

DEMO_PROVIDER_URL = os.environ.get("DEMO_PROVIDER_URL", "http://localhost:8000").rstrip("/")
DEMO_CLIENT_ID = "demo-client"
DEMO_CLIENT_SECRET = os.environ.get("DEMO_CLIENT_SECRET", "demo-client-secret-not-for-production")

OAUTH_PROVIDERS: dict[str, dict[str, object]] = {
    "demo": {
        "display_name": "Demo provider",
        "base_uri": DEMO_PROVIDER_URL,
        "authorization_path": "/o/authorize/",
        "access_token_path": "/o/token/",
        "revocation_path": "/o/revoke_token/",
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        "scope": "read",
        "token_endpoint_auth_method": "client_secret_basic",
        "use_pkce": True,
        "api_base_urls": [DEMO_PROVIDER_URL.rstrip("/") + "/api/"],
    },
}

for slug, preset in (("github", "github"), ("stackexchange", "stackexchange")):
    client_id = os.environ.get(f"{slug.upper()}_CLIENT_ID")
    client_secret = os.environ.get(f"{slug.upper()}_CLIENT_SECRET")
    if client_id and client_secret:
        OAUTH_PROVIDERS[slug] = {
            "preset": preset,
            "client_id": client_id,
            "client_secret": client_secret,
        }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"auth_code_flow_django": {"handlers": ["console"], "level": "INFO"}},
}
