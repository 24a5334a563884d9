"""The ASGI application, for serving the example under uvicorn or another ASGI server.

``DJANGO_SETTINGS_MODULE`` picks the part, as in ``wsgi.py``: ``example.settings`` (the
site, the default) or ``example.settings_provider`` (the demo authorization server
alone). The views are synchronous: Django's ASGI handler runs each request's view on a
thread of its own.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")

application = get_asgi_application()
