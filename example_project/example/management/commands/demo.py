"""Set up and serve the example site: migrate, demo users, the demo OAuth client."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from oauth2_provider.models import get_application_model

USERS = (("alice", False), ("bob", False), ("admin", True))


class Command(BaseCommand):
    help = "Migrate, create the demo users and OAuth client, and serve the example site."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--setup-only", action="store_true", help="set everything up, do not serve"
        )
        parser.add_argument(
            "--site",
            help="the site the demo client redirects back to (default: this one)",
        )

    def handle(
        self, *args: Any, addrport: str, setup_only: bool, site: str | None, **options: Any
    ) -> None:
        call_command("migrate", verbosity=0, interactive=False)
        for username, is_admin in USERS:
            user, _ = User.objects.get_or_create(
                username=username,
                defaults={
                    "email": f"{username}@example.com",
                    "is_staff": is_admin,
                    "is_superuser": is_admin,
                },
            )
            user.set_password(f"{username}-demo-password")
            user.save()
        port = addrport.rsplit(":", 1)[-1]
        site = (site or f"http://127.0.0.1:{port}").rstrip("/")
        application_model = get_application_model()
        _application, _ = application_model.objects.update_or_create(
            client_id=settings.DEMO_CLIENT_ID,
            defaults={
                # What the consent page asks to authorize: the site the client sends
                # users back to.
                "name": f"the site at {site}",
                "client_type": application_model.CLIENT_CONFIDENTIAL,
                "authorization_grant_type": application_model.GRANT_AUTHORIZATION_CODE,
                "redirect_uris": f"{site}/oauth/demo/callback/ {site}/oauth/demo-openid/callback/",
                "client_secret": settings.DEMO_CLIENT_SECRET,
                "skip_authorization": False,
                # ID tokens signed with the server's RSA key (OpenID Connect).
                "algorithm": application_model.RS256_ALGORITHM,
            },
        )
        if settings.ROOT_URLCONF != "example.urls":
            self.stdout.write(f"Demo authorization server set up; client redirects to {site}.")
            if not setup_only:
                call_command("runserver", addrport, use_reloader=False)
            return
        self.stdout.write(
            self.style.SUCCESS("The example site is set up.")
            + f"""
  Open      {site}/
  Log in    alice / alice-demo-password   (also bob / bob-demo-password)
  Admin     {site}/admin/  as admin / admin-demo-password
  Connect   {site}/oauth/  -> "Demo provider"
            (django-oauth-toolkit at {settings.DEMO_PROVIDER_URL}/o/)
"""
        )
        if not setup_only:
            call_command("runserver", addrport, use_reloader=False)
