"""Presets: the endpoints, quirks and identity mapping of well-known providers, as data.

A preset's strings may name ``{base_uri}``, ``{tenant}``, ``{realm}``, ``{issuer}`` and
``{user_agent}``: they are filled from the provider's own values, so a self-hosted
GitLab (``base_uri``), a Microsoft Entra ID tenant (``tenant``), a Keycloak realm
(``realm``) or an Okta authorization server (``issuer``) needs one key. A preset value
that is only a placeholder (``"user_agent": "{user_agent}"``) is one the site must give.
Relative ``api_base_urls`` and ``identity["url"]`` follow ``base_uri`` like the
endpoint paths do. Nothing here imports Django.

The presets are grouped by family of providers (``developer_tools``,
``identity_platforms``, ``workplace``, ``social``) and gathered in
``catalog``; ``merge`` merges an entry over its preset.
"""

from __future__ import annotations

from .catalog import PRESETS
from .merge import PLACEHOLDERS, merged_values, unfilled_placeholders

__all__ = ["PLACEHOLDERS", "PRESETS", "merged_values", "unfilled_placeholders"]
