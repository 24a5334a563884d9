"""The example site as ``benchmarks/stampede.py`` serves it: ``site_settings`` (the
database from ``BENCH_DATABASE``, no debug), the demo provider at ``DEMO_PROVIDER_URL``
(the benchmark's counting provider) and one benchmark view (``benchmarks/stampede_urls.py``).
"""

from __future__ import annotations

from benchmarks.site_settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.stampede_urls"
