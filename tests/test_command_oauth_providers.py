"""``manage.py oauth_providers``: effective configuration, its sources, ``--check``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
import responses
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import modify_settings, override_settings

from .oidc import (
    AUTHORIZE_URL,
    CLIENT_SECRET,
    ISSUER,
    JWKS_URL,
    OPENID_URL,
    RFC8414_URL,
    SigningKey,
    document,
    jwks,
    provider_settings,
)

KEY = SigningKey("key-1")


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def idp(settings: Any, mocked: responses.RequestsMock) -> responses.RequestsMock:
    settings.OAUTH_PROVIDERS = {
        **settings.OAUTH_PROVIDERS,
        "idp": provider_settings(),
        "google": {"preset": "google", "client_id": "g-id", "client_secret": "g-secret-value"},
    }
    mocked.get(RFC8414_URL, status=404)
    mocked.get(OPENID_URL, json=document(token_endpoint="https://tokens.example/token"))
    mocked.get(JWKS_URL, json=jwks(KEY))
    return mocked


def run(*args: str) -> str:
    out = StringIO()
    call_command("oauth_providers", *args, stdout=out)
    return out.getvalue()


def as_json(*args: str) -> dict[str, Any]:
    return {entry["slug"]: entry for entry in json.loads(run("--format", "json", *args))}


def test_without_check_nothing_is_fetched(idp: responses.RequestsMock) -> None:
    report = as_json()
    assert len(idp.calls) == 0
    entry = report["idp"]
    assert entry["discovery"]["state"] == "not fetched yet (run with --check)"
    assert entry["values"]["authorization_path"] == {
        "value": "(from discovery)",
        "source": "discovery",
    }
    assert entry["values"]["issuer"] == {"value": ISSUER, "source": "settings"}
    assert report["google"]["preset"] == "google"
    assert report["google"]["values"]["jwks_uri"]["source"] == "preset google"
    assert report["example"]["values"]["token_endpoint_auth_method"]["source"] == "default"


def test_check_fetches_and_shows_discovered_values_with_their_source(
    idp: responses.RequestsMock,
) -> None:
    entry = as_json("--check", "--provider", "idp")["idp"]
    assert entry["discovery"]["state"] == "fetched"
    assert entry["discovery"]["url"] == OPENID_URL
    assert entry["values"]["authorization_path"] == {
        "value": AUTHORIZE_URL,
        "source": "discovery",
    }
    assert entry["values"]["token_endpoint_auth_method"] == {
        "value": "client_secret_post",
        "source": "discovery",
    }
    assert entry["problems"] == []
    assert entry["notes"] == [
        "token_endpoint is on tokens.example, not on the issuer's host idp.example.",
        f"The JWK Set at {JWKS_URL} has a key to verify ID tokens.",
    ]
    assert sum(1 for c in idp.calls if c.request.url == JWKS_URL) == 1


def test_a_cached_document_is_shown_without_check(idp: responses.RequestsMock, alice: Any) -> None:
    alice.post("/oauth/idp/authorize/")
    calls = len(idp.calls)
    entry = as_json("--provider", "idp")["idp"]
    assert entry["discovery"]["state"] == "cached"
    assert entry["values"]["revocation_path"]["source"] == "discovery"
    assert len(idp.calls) == calls


def test_no_secret_is_printed(idp: responses.RequestsMock) -> None:
    # The Google preset's JWKS is not served here: a problem, but no secret either.
    for output in (
        _output_despite_error("--check"),
        _output_despite_error("--format", "json", "--check"),
    ):
        assert CLIENT_SECRET not in output
        assert "g-secret-value" not in output
        assert "example-client-secret-value" not in output
    assert "(set)" in run()


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"issuer": "https://evil.example"}, "names the issuer"),
        ({"code_challenge_methods_supported": ["plain"]}, "S256"),
        ({"jwks_uri": "http://idp.example/certs"}, "uses http://"),
    ],
)
def test_check_exits_non_zero_on_a_problem(
    idp: responses.RequestsMock, overrides: dict[str, Any], problem: str
) -> None:
    idp.upsert(responses.GET, OPENID_URL, json=document(**overrides))
    with pytest.raises(CommandError, match="1 problem") as info:
        run("--check", "--provider", "idp")
    assert info.value.returncode == 1
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("oauth_providers", "--check", "--provider", "idp", stdout=out)
    assert problem in out.getvalue()


def test_check_reports_a_jwks_without_usable_keys(idp: responses.RequestsMock) -> None:
    idp.upsert(responses.GET, JWKS_URL, json={"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})
    with pytest.raises(CommandError):
        run("--check", "--provider", "idp")
    idp.upsert(responses.GET, JWKS_URL, status=404)
    entry = json.loads(_output_despite_error("--check", "--provider", "idp", "--format", "json"))
    assert "could not be fetched" in entry[0]["problems"][0]


def test_check_reports_hmac_only_signing(idp: responses.RequestsMock) -> None:
    idp.upsert(
        responses.GET, OPENID_URL, json=document(id_token_signing_alg_values_supported=["HS256"])
    )
    entry = json.loads(_output_despite_error("--check", "--provider", "idp", "--format", "json"))
    assert "only with algorithms this app refuses (HS256)" in entry[0]["problems"][0]


def test_configuration_errors_are_problems(settings: Any) -> None:
    settings.OAUTH_PROVIDERS = {"bad": {"client_id": "x", "client_secret": "y", "typo": 1}}
    output = _output_despite_error("--check")
    assert "E003" in output


def test_an_unknown_provider_is_an_error(idp: responses.RequestsMock) -> None:
    with pytest.raises(CommandError, match="Unknown provider 'nope'") as info:
        run("--provider", "nope")
    assert info.value.returncode == 2


def _output_despite_error(*args: str) -> str:
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("oauth_providers", *args, stdout=out)
    return out.getvalue()


def test_the_callback_url_has_a_placeholder_host_and_says_how_to_get_the_real_one() -> None:
    entry = as_json("--provider", "example")["example"]
    assert entry["values"]["redirect_uri"] == {
        "value": "https://<your-site>/oauth/example/callback/",
        "source": "placeholder",
    }
    text = run()
    assert re.search(r"redirect_uri +https://<your-site>/oauth/example/callback/", text)
    assert text.count("<your-site> in redirect_uri stands for") == 1
    assert "run with\n--base-url https://your.site" in text


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://www.example.com", "https://www.example.com/oauth/example/callback/"),
        ("https://www.example.com/", "https://www.example.com/oauth/example/callback/"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/oauth/example/callback/"),
    ],
)
def test_base_url_gives_the_exact_callback_url(base_url: str, expected: str) -> None:
    entry = as_json("--provider", "example", "--base-url", base_url)["example"]
    assert entry["values"]["redirect_uri"] == {"value": expected, "source": "--base-url"}
    assert "<your-site>" not in run("--base-url", base_url)


@pytest.mark.parametrize(
    "base_url",
    ["www.example.com", "ftp://example.com", "https://example.com/app", "https://u@example.com"],
)
def test_a_base_url_that_is_not_a_sites_address_is_a_usage_error(base_url: str) -> None:
    with pytest.raises(CommandError, match="is not a site's address") as info:
        run("--base-url", base_url)
    assert info.value.returncode == 2


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("connect.example.com", "https://connect.example.com/oauth/example/callback/"),
        ("localhost:8000", "http://localhost:8000/oauth/example/callback/"),
        ("127.0.0.1:8000", "http://127.0.0.1:8000/oauth/example/callback/"),
    ],
)
def test_the_sites_framework_gives_the_callback_urls_host(domain: str, expected: str) -> None:
    with modify_settings(INSTALLED_APPS={"append": "django.contrib.sites"}):
        from django.contrib.sites.models import SITE_CACHE, Site

        # The current site as Site.objects.get_current() caches it (no table here).
        SITE_CACHE[7] = Site(id=7, domain=domain, name="Site")
        try:
            with override_settings(SITE_ID=7):
                entry = as_json("--provider", "example")["example"]
        finally:
            SITE_CACHE.clear()
    assert entry["values"]["redirect_uri"] == {"value": expected, "source": "sites framework"}


def test_without_a_current_site_the_placeholder_is_shown() -> None:
    with modify_settings(INSTALLED_APPS={"append": "django.contrib.sites"}):
        entry = as_json("--provider", "example")["example"]  # no SITE_ID, no request
    assert entry["values"]["redirect_uri"]["source"] == "placeholder"


def test_an_explicit_redirect_uri_is_shown_as_set(settings: Any) -> None:
    url = "https://connect.example.com/oauth/example/callback/"
    settings.OAUTH_PROVIDERS = {
        "example": {**settings.OAUTH_PROVIDERS["example"], "redirect_uri": url}
    }
    entry = as_json("--base-url", "https://other.example")["example"]
    assert entry["values"]["redirect_uri"] == {"value": url, "source": "settings"}


def test_discovery_is_shown_only_for_providers_with_an_issuer(
    idp: responses.RequestsMock,
) -> None:
    report = as_json()
    assert report["example"]["values"]["discovery"] == {"value": None, "source": "no issuer"}
    assert report["idp"]["values"]["discovery"] == {"value": True, "source": "default"}
    text = run("--provider", "example")
    assert re.search(r"discovery +-  \[no issuer\]", text)
