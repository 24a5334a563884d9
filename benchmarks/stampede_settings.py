"""The example site as ``benchmarks/stampede.py`` serves it: ``site_settings`` (the
database from ``BENCH_DATABASE``, no debug), the demo provider at ``DEMO_PROVIDER_URL``
(the benchmark's counting provider) and one benchmark view (``benchmarks/stampede_urls.py``).
``STAMPEDE_ATOMIC_REQUESTS=1`` runs each request in a transaction; ``STAMPEDE_CONN_MAX_AGE``
keeps each worker thread's database connection open that many seconds;
``STAMPEDE_SQLITE_DEFAULTS=1`` drops the SQLite options (WAL, a 20 s busy timeout) for
Django's defaults (the rollback journal, 5 s).
"""

from __future__ import annotations

import os

from benchmarks.site_settings import *  # noqa: F403
from benchmarks.site_settings import DATABASES

ROOT_URLCONF = "benchmarks.stampede_urls"
DATABASES["default"]["ATOMIC_REQUESTS"] = os.environ.get("STAMPEDE_ATOMIC_REQUESTS") == "1"
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("STAMPEDE_CONN_MAX_AGE", "0"))
if (
    os.environ.get("STAMPEDE_SQLITE_DEFAULTS") == "1"
    and "sqlite" in DATABASES["default"]["ENGINE"]
):
    DATABASES["default"]["OPTIONS"] = {}
