"""``PRESETS``: every preset by name, gathered from the modules of each family of
providers. A preset is data: endpoints, quirks (each with the provider's documentation
cited beside it) and the identity mapping."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .developer_tools import DEVELOPER_TOOLS
from .identity_platforms import IDENTITY_PLATFORMS
from .social import SOCIAL
from .workplace import WORKPLACE

_FAMILIES = (DEVELOPER_TOOLS, IDENTITY_PLATFORMS, WORKPLACE, SOCIAL)

#: The order presets are listed in (the reference's list follows it): the order they
#: were added in.
ORDER = (
    "stackexchange",
    "github",
    "gitlab",
    "google",
    "microsoft",
    "slack",
    "discord",
    "bitbucket",
    "keycloak",
    "salesforce",
    "dropbox",
    "notion",
    "atlassian",
    "box",
    "reddit",
    "x",
    "zoom",
    "linkedin",
    "spotify",
    "twitch",
    "okta",
    "auth0",
)

PRESETS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {name: family[name] for name in ORDER for family in _FAMILIES if name in family}
)
