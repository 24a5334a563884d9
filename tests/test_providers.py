from __future__ import annotations

import threading

import pytest
from django.test import override_settings

from auth_code_flow_django.exceptions import ImproperlyConfigured
from auth_code_flow_django.providers import (
    PRESETS,
    PROVIDER_KEYS,
    Provider,
    UnknownProviderError,
    build_provider,
    get_provider,
    get_providers,
)


def test_providers_come_from_settings_in_order() -> None:
    assert list(get_providers()) == ["example", "stackexchange"]
    example = get_provider("example")
    assert example.client_id == "example-client-id"
    assert example.name == "Example"
    assert example.supports_revocation


def test_stackexchange_preset_declares_its_quirks() -> None:
    provider = get_provider("stackexchange")
    assert provider.access_token_path == "/oauth/access_token/json"
    assert provider.scope == "no_expiry"
    assert provider.token_type_required is False
    assert provider.expires_in_field == "expires"
    assert provider.name == "Stack Exchange"
    assert not provider.supports_revocation


def test_preset_values_can_be_overridden() -> None:
    provider = build_provider("gh", {"preset": "github", "client_id": "i", "scope": "repo"})
    assert provider.scope == "repo"
    assert provider.base_uri == PRESETS["github"]["base_uri"]


def test_unknown_provider() -> None:
    with pytest.raises(UnknownProviderError):
        get_provider("nope")


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"preset": "nope", "client_id": "i"}, "unknown preset"),
        ({"client_id": "i", "colour": "red"}, "unknown keys colour"),
        ({"client_secret": "s"}, "client_id is required"),
        (
            {"preset": "keycloak", "client_id": "i", "base_uri": "https://sso.test"},
            "the preset needs realm",
        ),
    ],
)
def test_build_errors(raw: dict[str, object], match: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=match):
        build_provider("p", raw)


def test_settings_must_be_a_dict() -> None:
    with override_settings(OAUTH_PROVIDERS=["x"]), pytest.raises(ImproperlyConfigured):
        get_providers()


def test_override_settings_resets_the_cache() -> None:
    before = get_provider("example")
    with override_settings(OAUTH_PROVIDERS={"other": {"client_id": "o", "base_uri": "https://o"}}):
        assert list(get_providers()) == ["other"]
    assert get_provider("example") == before


@override_settings(AUTH_CODE_FLOW_HTTP_TIMEOUT=2.5, AUTH_CODE_FLOW_MAX_RESPONSE_BYTES=999)
def test_flow_manager_carries_provider_and_app_settings() -> None:
    manager = get_provider("stackexchange").flow_manager
    assert manager.base_uri == "https://stackoverflow.com"
    assert manager.token_type_required is False
    assert manager.expires_in_field == "expires"
    assert manager.timeout == 2.5
    assert manager.max_response_bytes == 999
    assert manager.redirect_uri is None
    assert get_provider("stackexchange").flow_manager is manager


def test_flow_manager_session_is_per_thread() -> None:
    manager = get_provider("example").flow_manager
    sessions = [manager.get_session()]
    thread = threading.Thread(target=lambda: sessions.append(manager.get_session()))
    thread.start()
    thread.join()
    assert sessions[0] is manager.get_session()
    assert sessions[0] is not sessions[1]


def test_seed_state_hooks_point_to_the_models() -> None:
    manager = get_provider("example").flow_manager
    with pytest.raises(NotImplementedError):
        manager.store_user_state(None, "s")
    with pytest.raises(NotImplementedError):
        manager.check_user_state(None, "s")


def test_provider_repr_hides_the_secret() -> None:
    provider = get_provider("example")
    assert "example-client-secret-value" not in repr(provider)
    assert "example-client-secret-value" not in repr(provider.flow_manager)


def test_every_preset_uses_only_known_keys() -> None:
    for preset in PRESETS.values():
        assert set(preset) <= PROVIDER_KEYS
    assert Provider(slug="my_api", client_id="i").name == "My Api"
