"""Providers: ``settings.OAUTH_PROVIDERS`` turned into immutable :class:`Provider` objects.

Each entry is a dict keyed by the provider's slug. A ``preset``
(:mod:`auth_code_flow_django.presets`) fills in endpoints, quirks and the identity
mapping; any preset value can be overridden. Quirks are data (``token_type_required``,
``expires_in_field``, ``success_field`` ...) so the views have no special cases.

``provider`` holds the :class:`Provider` object, ``flow_manager`` the flow
manager behind it, ``registry`` the providers built from settings.
"""

from __future__ import annotations

from ..presets import PRESETS
from .flow_manager import ProviderFlowManager
from .provider import PROVIDER_KEYS, Provider
from .registry import UnknownProviderError, build_provider, get_provider, get_providers

__all__ = [
    "PRESETS",
    "PROVIDER_KEYS",
    "Provider",
    "ProviderFlowManager",
    "UnknownProviderError",
    "build_provider",
    "get_provider",
    "get_providers",
]
