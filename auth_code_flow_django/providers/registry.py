"""The configured providers: each ``OAUTH_PROVIDERS`` entry built into a
:class:`~.provider.Provider` once, and built again when the settings change."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from .. import discovery
from ..core.endpoint_urls import endpoint_url
from ..exceptions import ImproperlyConfigured, NotConnectedError
from ..presets import PRESETS, merged_values, unfilled_placeholders
from .provider import PROVIDER_KEYS, Provider


class UnknownProviderError(NotConnectedError, LookupError):
    """No provider with this slug in ``OAUTH_PROVIDERS`` (perhaps removed while tokens
    remain): for the token API, the user is not connected to it."""

    default_description = "This provider is not configured on this site."

    @staticmethod
    def describe(provider: str, user_pk: object) -> str:
        return f"No provider {provider!r} is configured on this site (OAUTH_PROVIDERS)."


def build_provider(slug: str, raw: Mapping[str, Any]) -> Provider:
    """Build one provider from its settings entry (merged over its preset)."""
    preset = raw.get("preset")
    if preset is not None and preset not in PRESETS:
        raise ImproperlyConfigured(f"OAUTH_PROVIDERS[{slug!r}]: unknown preset {preset!r}.")
    values = merged_values(raw)
    unfilled = unfilled_placeholders(values)
    if unfilled:
        raise ImproperlyConfigured(
            f"OAUTH_PROVIDERS[{slug!r}]: the preset needs {', '.join(unfilled)}."
        )
    sources: dict[str, str] = dict.fromkeys(PRESETS[preset], f"preset {preset}") if preset else {}
    sources.update({k: "settings" for k in raw if k != "preset"})
    unknown = sorted(set(values) - PROVIDER_KEYS)
    if unknown:
        raise ImproperlyConfigured(
            f"OAUTH_PROVIDERS[{slug!r}]: unknown keys {', '.join(unknown)}."
        )
    if not values.get("client_id"):
        raise ImproperlyConfigured(f"OAUTH_PROVIDERS[{slug!r}]: client_id is required.")
    values["extra_authorize_params"] = MappingProxyType(
        dict(values.get("extra_authorize_params") or {})
    )
    base_uri = values.get("base_uri")
    values["api_base_urls"] = tuple(
        endpoint_url(base_uri, url) for url in values.get("api_base_urls") or ()
    )
    values["request_headers"] = MappingProxyType(dict(values.get("request_headers") or {}))
    values["bearer_token_types"] = tuple(values.get("bearer_token_types") or ())
    values["invalid_grant_errors"] = tuple(values.get("invalid_grant_errors") or ())
    if isinstance(values.get("client_private_key"), Mapping):
        values["client_private_key"] = MappingProxyType(dict(values["client_private_key"]))
    values["client_previous_public_keys"] = tuple(
        MappingProxyType(dict(key)) if isinstance(key, Mapping) else key
        for key in values.get("client_previous_public_keys") or ()
    )
    values["api_base_url_hosts"] = tuple(
        host.lower() for host in values.get("api_base_url_hosts") or ()
    )
    for key in ("invalid_grant_errors", "issuer_aliases"):
        values[key] = tuple(values.get(key) or ())
    values["shared_token_types"] = tuple(t.lower() for t in values.get("shared_token_types") or ())
    if values.get("allowed_tenants") is not None:
        values["allowed_tenants"] = tuple(values["allowed_tenants"])
    identity = dict(values.get("identity") or {})
    if identity.get("url"):
        identity["url"] = endpoint_url(base_uri, identity["url"])
    if "params" in identity:
        identity["params"] = MappingProxyType(dict(identity["params"] or {}))
    values["identity"] = MappingProxyType(identity)
    return Provider(slug=slug, sources=MappingProxyType(sources), **values)


_cache: dict[str, Provider] | None = None
_lock = threading.Lock()


def get_providers() -> dict[str, Provider]:
    """Every configured provider, by slug, in settings order."""
    global _cache
    providers = _cache
    if providers is None:
        raw = getattr(settings, "OAUTH_PROVIDERS", {})
        if not isinstance(raw, Mapping):
            raise ImproperlyConfigured("OAUTH_PROVIDERS must be a dict.")
        providers = {slug: build_provider(slug, entry) for slug, entry in raw.items()}
        with _lock:
            _cache = providers
    return providers


def get_provider(slug: str) -> Provider:
    try:
        return get_providers()[slug]
    except KeyError:
        raise UnknownProviderError(provider=slug) from None


@receiver(setting_changed)
def _reset_providers(*, setting: str, **kwargs: Any) -> None:
    global _cache
    if setting == "OAUTH_PROVIDERS" or setting.startswith("AUTH_CODE_FLOW_"):
        with _lock:
            _cache = None
        discovery.forget()
