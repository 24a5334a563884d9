"""Show each provider's effective configuration and where each value came from, with
the exact callback URL to register at the provider; with ``--check``, fetch its
discovery document and JWK Set live. Never prints a secret."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist
from django.core.management.base import CommandError, CommandParser
from django.db import DatabaseError
from django.urls import NoReverseMatch, reverse

from ... import discovery
from ...checks import check_providers
from ...conf import conf
from ...core.endpoint_urls import endpoint_url, is_loopback
from ...core.http_client import new_session
from ...core.oidc_id_tokens import ID_TOKEN_ALGORITHMS, usable_keys
from ...core.outbound_addresses import AddressPolicy
from ...core.rfc8414_server_metadata import ServerMetadata, fetch_json
from ...exceptions import BaseAuthCodeFlowError
from ...providers import PROVIDER_KEYS, Provider, get_providers
from ..base import EXIT_FAILED, AppCommand, unknown_provider, usage_error

SECRET_KEYS = frozenset({"client_secret", "client_private_key"})
ENDPOINT_KEYS = ("authorization_path", "access_token_path", "revocation_path")
#: Where the callback URL's scheme and host come from when no --base-url is given
#: and the Sites framework is not installed.
PLACEHOLDER_BASE = "https://<your-site>"
PLACEHOLDER_NOTE = (
    "<your-site> in redirect_uri stands for your site's address: run with\n"
    "--base-url https://your.site (or install django.contrib.sites) for the exact\n"
    "callback URL to register at each provider."
)


class Command(AppCommand):
    help = (
        "Show each OAuth provider's configuration and the callback URL to register.\n\n"
        "Each value is shown with where it came from: the settings, a preset, a default\n"
        "or the provider's discovery document. redirect_uri is the exact callback URL to\n"
        "register at the provider: its scheme and host come from --base-url, else from\n"
        "the Sites framework's current site, else a placeholder is shown. --check fetches\n"
        "the discovery documents and JWK Sets live. Never prints a secret."
    )

    exit_failed = "with --check: problems were found (each one is printed)"
    usage_errors = ("an unknown provider",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--provider", help="only this provider (slug)")
        parser.add_argument(
            "--base-url",
            metavar="URL",
            help="the site's scheme and host, e.g. https://www.example.com, for the "
            "callback URLs (default: the Sites framework's current domain)",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="fetch discovery documents and JWK Sets now; exit 1 on any problem",
        )
        self.add_format_argument(parser, ("text", "json"))

    def handle(self, *args: Any, **options: Any) -> None:
        live = bool(options["check"])
        base_url = options.get("base_url")
        site = checked_base_url(base_url) if base_url else None
        errors = [m for m in check_providers() if m.is_serious()]
        if errors:
            reports = [
                {"slug": "-", "problems": [f"{m.id}: {m.msg}" for m in errors], "notes": []}
            ]
        else:
            providers = get_providers()
            slug = options.get("provider")
            if slug:
                if slug not in providers:
                    raise unknown_provider(slug)
                providers = {slug: providers[slug]}
            base = (site, "--base-url") if site else site_base_url()
            reports = [report(provider, live=live, base=base) for provider in providers.values()]
        if options["format"] == "json":
            self.write_json(reports)
        else:
            for entry in reports:
                self.stdout.write(as_text(entry))
            if any(_callback_placeholder(entry) for entry in reports):
                self.stdout.write(PLACEHOLDER_NOTE)
        problems = sum(len(entry["problems"]) for entry in reports)
        if live and problems:
            raise CommandError(f"{problems} problem(s) found.", returncode=EXIT_FAILED)


def _callback_placeholder(entry: Mapping[str, Any]) -> bool:
    values: Mapping[str, Any] = entry.get("values", {})
    return bool(values.get("redirect_uri", {}).get("source") == "placeholder")


def checked_base_url(value: str) -> str:
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        raise usage_error(
            f"--base-url {value!r} is not a site's address: give its scheme and host "
            "only, e.g. https://www.example.com or http://127.0.0.1:8000."
        )
    return f"{parts.scheme}://{parts.netloc}"


def site_base_url() -> tuple[str, str]:
    """The current site's address and where it came from: the Sites framework (https
    unless the domain is loopback), or a placeholder."""
    if not apps.is_installed("django.contrib.sites"):
        return PLACEHOLDER_BASE, "placeholder"
    from django.contrib.sites.models import Site

    try:
        domain = Site.objects.get_current().domain
    except (ObjectDoesNotExist, ImproperlyConfigured, DatabaseError):
        return PLACEHOLDER_BASE, "placeholder"
    host = urlsplit(f"//{domain}").hostname or ""
    scheme = "http" if is_loopback(host) else "https"
    return f"{scheme}://{domain}", "sites framework"


def callback_url(provider: Provider, base: tuple[str, str]) -> tuple[str | None, str]:
    """The redirect URI the authorize view sends for ``provider`` and where it came
    from, or ``None`` when the app's URLs are not included (check E050)."""
    if provider.redirect_uri:
        return provider.redirect_uri, provider.sources.get("redirect_uri", "settings")
    try:
        path = reverse("auth_code_flow:callback", args=[provider.slug])
    except NoReverseMatch:
        return None, "the app's URLs are not included (auth_code_flow_django.E050)"
    site, source = base
    return site + path, source


def shown(name: str, value: object) -> object:
    if name in SECRET_KEYS:
        return "(set)" if value else "(not set)"
    if name == "client_previous_public_keys":
        # Public, but long: how many.
        return f"({len(value)} public keys)" if isinstance(value, tuple) and value else None
    if isinstance(value, tuple):
        return [shown(name, v) for v in value]
    if isinstance(value, Mapping):
        return {k: shown(name, v) for k, v in value.items()}
    return value


def values_of(provider: Provider, base: tuple[str, str]) -> dict[str, dict[str, Any]]:
    pending = provider.uses_discovery and provider.metadata is None
    discoverable = {*discovery.DISCOVERED_FIELDS, "token_endpoint_auth_method"}
    values: dict[str, dict[str, Any]] = {}
    for name in sorted(PROVIDER_KEYS - {"preset"}):
        if pending and name in discoverable and name not in provider.sources:
            values[name] = {"value": "(from discovery)", "source": "discovery"}
            continue
        if name == "redirect_uri":
            url, source = callback_url(provider, base)
            values[name] = {"value": url, "source": source}
            continue
        if name == "discovery" and not provider.issuer:
            values[name] = {"value": None, "source": "no issuer"}
            continue
        value = getattr(provider, name)
        if name in ENDPOINT_KEYS and value:
            value = endpoint_url(provider.base_uri, value)
        values[name] = {
            "value": shown(name, value),
            "source": provider.sources.get(name, "default"),
        }
    return values


def report(
    provider: Provider, *, live: bool, base: tuple[str, str] = (PLACEHOLDER_BASE, "placeholder")
) -> dict[str, Any]:
    problems: list[str] = []
    notes: list[str] = []
    state = "off"
    metadata: ServerMetadata | None = None
    if provider.uses_discovery:
        assert provider.issuer is not None
        if live:
            try:
                metadata = discovery.discover(provider.issuer, use_cache=False)
                state = "fetched"
            except BaseAuthCodeFlowError as exc:
                problems.append(exc.description)
                state = "failed"
        else:
            metadata = discovery.cached(provider.issuer)
            state = "cached" if metadata else "not fetched yet (run with --check)"
    effective = provider if metadata is None else discovery.with_metadata(provider, metadata)
    if metadata is not None:
        notes.extend(metadata_notes(metadata))
        problem = effective.connect_problem()
        if problem:
            problems.append(problem)
    elif not provider.uses_discovery:
        problem = effective.connect_problem()
        if problem:
            problems.append(problem)
    if live and effective.requests_openid and effective.jwks_uri:
        found = jwks_problems(effective.jwks_uri, metadata, discovery.address_policy(effective))
        problems.extend(found)
        if not found:
            notes.append(f"The JWK Set at {effective.jwks_uri} has a key to verify ID tokens.")
    values = values_of(effective, base)
    preset = next(
        (s.removeprefix("preset ") for s in provider.sources.values() if s.startswith("preset ")),
        None,
    )
    return {
        "slug": provider.slug,
        "name": provider.name,
        "preset": preset,
        "discovery": {
            "issuer": provider.issuer if provider.uses_discovery else None,
            "state": state,
            "url": metadata.source_url if metadata else None,
            "advertised": _advertised(metadata),
        },
        "values": values,
        "problems": problems,
        "notes": notes,
    }


def _advertised(metadata: ServerMetadata | None) -> dict[str, Any] | None:
    if metadata is None:
        return None
    fields = (
        "code_challenge_methods_supported",
        "token_endpoint_auth_methods_supported",
        "id_token_signing_alg_values_supported",
        "authorization_response_iss_parameter_supported",
    )
    values = dataclasses.asdict(metadata)
    return {name: shown(name, values[name]) for name in fields}


def metadata_notes(metadata: ServerMetadata) -> list[str]:
    notes = []
    issuer_host = urlsplit(metadata.issuer).hostname
    for name, host in sorted(metadata.hosts_other_than_issuer().items()):
        notes.append(f"{name} is on {host}, not on the issuer's host {issuer_host}.")
    if metadata.supports_s256 is None:
        notes.append(
            "The server does not list code_challenge_methods_supported; PKCE S256 is sent anyway."
        )
    return notes


def jwks_problems(
    jwks_uri: str, metadata: ServerMetadata | None, policy: AddressPolicy | None = None
) -> list[str]:
    try:
        jwks = fetch_json(
            new_session(policy),
            jwks_uri,
            timeout=float(conf.HTTP_TIMEOUT),
            connect_timeout=min(5.0, float(conf.HTTP_TIMEOUT)),
            max_bytes=int(conf.MAX_RESPONSE_BYTES),
        )
    except BaseAuthCodeFlowError as exc:
        return [f"The JWK Set at {jwks_uri} could not be fetched: {exc.description}"]
    advertised = metadata.id_token_signing_alg_values_supported if metadata else None
    algorithms = [a for a in (advertised or ID_TOKEN_ALGORITHMS) if a in ID_TOKEN_ALGORITHMS]
    if not algorithms:
        return [
            "The server signs ID tokens only with algorithms this app refuses "
            f"({', '.join(advertised or ())}); ask for RS256, PS256 or ES256."
        ]
    if not any(usable_keys(jwks, alg, None) for alg in algorithms):
        return [f"The JWK Set at {jwks_uri} has no key to verify {', '.join(algorithms)}."]
    return []


def as_text(entry: dict[str, Any]) -> str:
    lines = [f"{entry['slug']}" + (f"  ({entry['name']})" if entry.get("name") else "")]
    if entry.get("preset"):
        lines.append(f"  preset: {entry['preset']}")
    found = entry.get("discovery")
    if found and found["issuer"]:
        where = f" at {found['url']}" if found["url"] else ""
        lines.append(f"  discovery: {found['state']}{where}")
    width = max((len(name) for name in entry.get("values", {})), default=0)
    for name, item in entry.get("values", {}).items():
        value = item["value"]
        text = "-" if value is None or value == "" else json.dumps(value).strip('"')
        lines.append(f"  {name.ljust(width)}  {text}  [{item['source']}]")
    lines.extend(f"  problem: {text}" for text in entry["problems"])
    lines.extend(f"  note: {text}" for text in entry["notes"])
    return "\n".join(lines) + "\n"
