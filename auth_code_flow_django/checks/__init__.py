"""System checks for ``OAUTH_PROVIDERS``, the ``AUTH_CODE_FLOW_*`` settings and the
URLconf the app's views need.

Ids are never reused. Raw values are read as ``object`` and narrowed. The checks of
each provider entry are in ``provider_entries`` (its URLs in ``provider_urls``),
those of the app-wide settings in ``app_settings``, those of the URLconf in
``urlconf``.
"""

from __future__ import annotations

from .app_settings import check_app_settings
from .provider_entries import check_providers
from .urlconf import check_urls

__all__ = ["check_app_settings", "check_providers", "check_urls"]
