"""The example site's URLs as the load benchmark serves them, with two benchmark views
(``benchmarks/probe.py``) that the example itself does not have:

- ``/bench/token/<provider>/``: one ``get_access_token`` for the logged-in user;
- ``/bench/memory/``: the answering worker's process id and its live database
  connection objects (after a full garbage collection), so that ``benchmarks/load.py``
  can tell a leak from the allocator's noise.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from benchmarks import probe

urlpatterns: list[URLPattern | URLResolver] = [
    path("bench/token/<slug:provider>/", probe.token_read),
    path("bench/memory/", probe.memory),
    path("", include("example.urls")),
]
