"""The example site and demo server as the multi-process benchmarks serve them.

The example's own settings, with what a production deployment changes: no debug, quiet
logs, the database from ``BENCH_DATABASE`` (a JSON ``DATABASES`` entry, see
``benchmarks/services.py``) and, when ``BENCH_REDIS_URL`` is set, Django's Redis cache
shared by every worker. ``BENCH_PART=provider`` gives the demo authorization server
alone (``example.settings_provider``).

For the load benchmark (``benchmarks/load.py``): ``BENCH_PROBE_LOG`` names a file where
``benchmarks/probe.py`` counts the site's token signals and the demo server's
``.well-known`` requests; ``BENCH_FAST_PASSWORDS=1`` hashes passwords with Django's
MD5 hasher (as its testing docs suggest), so that two logins per flow measure the flow
rather than PBKDF2's deliberate cost; ``BENCH_CONN_MAX_AGE`` sets ``CONN_MAX_AGE``.
The site serves ``benchmarks/load_urls.py``: the example's URLs and two benchmark views.
"""

from __future__ import annotations

import json
import os

if os.environ.get("BENCH_PART") == "provider":
    from example.settings_provider import *  # noqa: F403
else:
    from example.settings import *  # noqa: F403

    # The example's URLs and the load benchmark's two views (token read, memory).
    ROOT_URLCONF = "benchmarks.load_urls"

DEBUG = False
DATABASES = {"default": json.loads(os.environ["BENCH_DATABASE"])}
if os.environ.get("BENCH_CONN_MAX_AGE"):
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ["BENCH_CONN_MAX_AGE"])
if os.environ.get("BENCH_PROBE_LOG"):
    if os.environ.get("BENCH_PART") == "provider":
        MIDDLEWARE = ["benchmarks.probe.WellKnownCounter", *MIDDLEWARE]  # noqa: F405
    else:
        INSTALLED_APPS = [*INSTALLED_APPS, "benchmarks.probe.ProbeConfig"]  # noqa: F405
if os.environ.get("BENCH_FAST_PASSWORDS") == "1":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if os.environ.get("BENCH_REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["BENCH_REDIS_URL"],
        }
    }
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler", "level": "WARNING"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
