"""Settings for the connect-flow benchmark: our app, and optionally the peers.

``BENCH_PEERS=1`` adds django-allauth and social-auth-app-django (``pip install -e
".[bench]"``). ``BENCH_ORM_STATEMENTS=1`` (``--orm-statements``) runs the statements the
library builds once per connection as plain ORM queries instead (the internal setting
of ``auth_code_flow_django/statements.py``). All three connect to the same GitHub
endpoints, mocked with ``responses``.
"""

from __future__ import annotations

import json
import os

PEERS = os.environ.get("BENCH_PEERS") == "1"
if os.environ.get("BENCH_ORM_STATEMENTS") == "1":
    _AUTH_CODE_FLOW_ORM_STATEMENTS = True

SECRET_KEY = "benchmark-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
USE_TZ = True
ROOT_URLCONF = "benchmarks.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# BENCH_DATABASE: a JSON DATABASES entry (benchmarks/services.py), for a real server.
DATABASES = {
    "default": json.loads(os.environ["BENCH_DATABASE"])
    if os.environ.get("BENCH_DATABASE")
    else {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
}
STATIC_URL = "/static/"
LOGGING = {"version": 1, "disable_existing_loggers": True}

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "auth_code_flow_django",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]

OAUTH_PROVIDERS = {
    "github": {"preset": "github", "client_id": "bench-client", "client_secret": "bench-secret"}
}

if os.environ.get("BENCH_HARDENED") == "1":
    # The same server twice: a plain confidential client, and PAR + DPoP +
    # private_key_jwt (connect_flow.py --hardened).
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    _SERVER = {
        "base_uri": "https://as.bench.example",
        "authorization_path": "/authorize",
        "access_token_path": "/token",
        "pushed_authorization_request_endpoint": "/par",
        "client_id": "bench-client",
        "scope": "read",
        "discovery": False,
    }
    OAUTH_PROVIDERS["plain"] = {**_SERVER, "client_secret": "bench-secret"}
    OAUTH_PROVIDERS["hardened"] = {
        **_SERVER,
        "token_endpoint_auth_method": "private_key_jwt",
        "client_private_key": ECAlgorithm.to_jwk(
            ec.generate_private_key(ec.SECP256R1()), as_dict=True
        ),
        "pushed_authorization_requests": True,
        "dpop": True,
    }

if PEERS:
    INSTALLED_APPS += [
        "allauth",
        "allauth.account",
        "allauth.socialaccount",
        "allauth.socialaccount.providers.github",
        "social_django",
    ]
    MIDDLEWARE += ["allauth.account.middleware.AccountMiddleware"]
    AUTHENTICATION_BACKENDS += [
        "allauth.account.auth_backends.AuthenticationBackend",
        "social_core.backends.github.GithubOAuth2",
    ]
    ACCOUNT_EMAIL_VERIFICATION = "none"
    SOCIALACCOUNT_STORE_TOKENS = True
    SOCIALACCOUNT_QUERY_EMAIL = False
    SOCIALACCOUNT_PROVIDERS = {
        "github": {"APPS": [{"client_id": "bench-client", "secret": "bench-secret", "key": ""}]}
    }
    SOCIAL_AUTH_GITHUB_KEY = "bench-client"
    SOCIAL_AUTH_GITHUB_SECRET = "bench-secret"
    SOCIAL_AUTH_URL_NAMESPACE = "social"
    SOCIAL_AUTH_LOGIN_REDIRECT_URL = "/"
