"""The WSGI application, for serving the example under gunicorn or another WSGI server.

``DJANGO_SETTINGS_MODULE`` picks the part: ``example.settings`` (the site, the default)
or ``example.settings_provider`` (the demo authorization server alone).
"""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")

application = get_wsgi_application()
