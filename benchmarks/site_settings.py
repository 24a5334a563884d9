"""The example site and demo server as the multi-process benchmarks serve them.

The example's own settings, with what a production deployment changes: no debug, quiet
logs, the database from ``BENCH_DATABASE`` (a JSON ``DATABASES`` entry, see
``benchmarks/services.py``) and, when ``BENCH_REDIS_URL`` is set, Django's Redis cache
shared by every worker. ``BENCH_PART=provider`` gives the demo authorization server
alone (``example.settings_provider``).
"""

from __future__ import annotations

import json
import os

if os.environ.get("BENCH_PART") == "provider":
    from example.settings_provider import *  # noqa: F403
else:
    from example.settings import *  # noqa: F403

DEBUG = False
DATABASES = {"default": json.loads(os.environ["BENCH_DATABASE"])}
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
