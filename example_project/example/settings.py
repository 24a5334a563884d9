"""Settings of the example site.

One Django project plays two parts: the site that connects accounts
(``auth_code_flow_django``) and a demo OAuth 2.0 authorization server
(``django-oauth-toolkit``, under ``/o/``). The browser reaches the site as
http://127.0.0.1:8000 and the demo server as http://localhost:8000: two hosts, so two
separate sets of cookies, and logging in at the provider is a real, separate step.

Environment variables:
- ``EXAMPLE_DATABASE``: the SQLite file (default ``example_project/db.sqlite3``).
- ``DEMO_PROVIDER_URL``: where the demo server is reached (default http://localhost:8000).
- ``DEMO_OIDC_RSA_PRIVATE_KEY``: the PEM key that signs the demo server's ID tokens
  (default: a new key each time the process starts).
- ``GITHUB_CLIENT_ID``/``GITHUB_CLIENT_SECRET``, ``STACKEXCHANGE_CLIENT_ID``/
  ``STACKEXCHANGE_CLIENT_SECRET``: enable those real providers.
- ``OIDC_ISSUER``, ``OIDC_CLIENT_ID``, ``OIDC_CLIENT_SECRET`` (none: a public client),
  ``OIDC_SCOPE`` (default ``openid profile email``), ``OIDC_DISPLAY_NAME``: any
  OpenID Connect or RFC 8414 server by its issuer alone, as the provider ``oidc``.
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


def _oidc_signing_key() -> str:
    key = os.environ.get("DEMO_OIDC_RSA_PRIVATE_KEY")
    if key:
        return key
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


# The demo authorization server (django-oauth-toolkit), with OpenID Connect: RS256 ID
# tokens, its discovery documents (RFC 8414 at the root, see urls.py, and OpenID
# Connect under /o/), and iss on its authorization responses (RFC 9207).
OAUTH2_PROVIDER = {
    "PKCE_REQUIRED": True,
    "ROTATE_REFRESH_TOKEN": True,
    # RFC 9700 4.14.2: a refresh token used twice revokes the whole grant, so a client
    # that refreshes the same token from two workers loses the connection.
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "SCOPES": {
        "read": "Read your demo profile",
        "openid": "Know who you are there",
        "profile": "See your username and name",
        "email": "See your email address",
    },
    "DEFAULT_SCOPES": ["read"],
    "OIDC_ENABLED": True,
    # ID tokens name the user (preferred_username, name, email) for those scopes.
    "OAUTH2_VALIDATOR_CLASS": "example.validators.DemoOAuth2Validator",
    "OIDC_RSA_PRIVATE_KEY": _oidc_signing_key(),
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
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
        # Who is connected: the demo API names the token's owner.
        "identity": {"url": "/api/me/", "id": "username", "name": "username"},
    },
    # The same server found from its issuer alone: endpoints, client authentication,
    # revocation and JWKS come from its discovery document; the ID token is checked.
    "demo-openid": {
        "display_name": "Demo provider (OpenID Connect)",
        "issuer": DEMO_PROVIDER_URL + "/o",
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        # profile: the ID token names the account (preferred_username), not only
        # its subject (the user's primary key at the server).
        "scope": "openid profile read",
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

# Any OpenID Connect or RFC 8414 server, by its issuer alone.
if os.environ.get("OIDC_ISSUER") and os.environ.get("OIDC_CLIENT_ID"):
    OAUTH_PROVIDERS["oidc"] = {
        "display_name": os.environ.get("OIDC_DISPLAY_NAME", "OpenID Connect"),
        "issuer": os.environ["OIDC_ISSUER"],
        "client_id": os.environ["OIDC_CLIENT_ID"],
        "scope": os.environ.get("OIDC_SCOPE", "openid profile email"),
    }
    if os.environ.get("OIDC_CLIENT_SECRET"):
        OAUTH_PROVIDERS["oidc"]["client_secret"] = os.environ["OIDC_CLIENT_SECRET"]
    else:
        OAUTH_PROVIDERS["oidc"]["token_endpoint_auth_method"] = "none"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"auth_code_flow_django": {"handlers": ["console"], "level": "INFO"}},
}
