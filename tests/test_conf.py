"""The app's settings are read once and again after each change (conf.py)."""

from __future__ import annotations

from django.test import override_settings

from auth_code_flow_django.conf import DEFAULTS, conf


def test_settings_follow_override_settings_both_ways() -> None:
    assert DEFAULTS["AUTH_CODE_FLOW_STATE_TTL"] == conf.STATE_TTL
    assert conf.ENCRYPTION_KEYS is None
    with override_settings(AUTH_CODE_FLOW_STATE_TTL=5, AUTH_CODE_FLOW_HTTP_TIMEOUT=1.5):
        assert conf.STATE_TTL == 5
        assert conf.HTTP_TIMEOUT == 1.5
        with override_settings(AUTH_CODE_FLOW_STATE_TTL=7):
            assert conf.STATE_TTL == 7
        assert conf.STATE_TTL == 5
    # Gone again: the default, not the value kept from inside the block.
    assert DEFAULTS["AUTH_CODE_FLOW_STATE_TTL"] == conf.STATE_TTL
    assert DEFAULTS["AUTH_CODE_FLOW_HTTP_TIMEOUT"] == conf.HTTP_TIMEOUT


def test_every_setting_has_a_property_reading_its_default() -> None:
    for name, default in DEFAULTS.items():
        assert getattr(conf, name.removeprefix("AUTH_CODE_FLOW_")) == default
