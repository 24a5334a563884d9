from __future__ import annotations

from django.apps import AppConfig
from django.core.checks import Tags, register


class AuthCodeFlowConfig(AppConfig):
    name = "auth_code_flow_django"
    verbose_name = "OAuth connections"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, tokens

        tokens.connect_signals()
        register(checks.check_providers, Tags.security)
        register(checks.check_app_settings, Tags.security)
        # They load the URLconf, as Django's own URL checks (Tags.urls) do.
        register(checks.check_urls, Tags.urls)
