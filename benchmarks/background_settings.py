"""Settings for the background-refresh benchmark (``benchmarks/background_refresh.py``).

A site's settings reduced to what ``oauth_refresh_tokens`` needs: the database from
``BENCH_DATABASE`` (a JSON ``DATABASES`` entry, see ``benchmarks/services.py``) and one
provider, ``bench``, whose token endpoint is ``BENCH_TOKEN_BASE`` (a server on loopback).
"""

from __future__ import annotations

import json
import os

SECRET_KEY = "benchmark-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "auth_code_flow_django",
]
DATABASES = {"default": json.loads(os.environ.get("BENCH_DATABASE", "{}"))}
OAUTH_PROVIDERS = {
    "bench": {
        "display_name": "Bench",
        "base_uri": os.environ.get("BENCH_TOKEN_BASE", "http://127.0.0.1:9"),
        "authorization_path": "/authorize",
        "access_token_path": "/token",
        "client_id": "bench-client",
        "client_secret": "bench-secret",
        "scope": "read",
    }
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler", "level": "WARNING"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
