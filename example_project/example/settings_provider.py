"""The demo authorization server alone (django-oauth-toolkit), as its own site.

``manage.py demo`` serves site and server together; the end-to-end tests run this
module as a separate process with its own database (``PROVIDER_DATABASE``).
"""

from __future__ import annotations

import os

from .settings import *  # noqa: F403
from .settings import BASE_DIR, INSTALLED_APPS

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "auth_code_flow_django"]
ROOT_URLCONF = "example.urls_provider"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("PROVIDER_DATABASE", str(BASE_DIR / "provider.sqlite3")),
    }
}
SESSION_COOKIE_NAME = "provider_sessionid"
CSRF_COOKIE_NAME = "provider_csrftoken"
OAUTH_PROVIDERS: dict[str, dict[str, object]] = {}
