"""The demo authorization server's OpenID Connect claims."""

from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator


class DemoOAuth2Validator(OAuth2Validator):
    """Puts who the user is in the ID token (and the UserInfo reply), as an OpenID
    provider does: ``preferred_username`` and ``name`` for the ``profile`` scope,
    ``email`` for the ``email`` scope (OpenID Connect Core 5.4; django-oauth-toolkit
    leaves out the claims whose scope was not granted). Without them, a site knows the
    account only by its ``sub``, the user's primary key."""

    def get_additional_claims(self, request: Any) -> dict[str, str]:
        user = request.user
        return {
            "preferred_username": user.get_username(),
            "name": user.get_full_name() or user.get_username(),
            "email": user.email,
        }
