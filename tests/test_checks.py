from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import views as auth_views
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from django.urls import include, path, reverse_lazy

from auth_code_flow_django.checks import check_app_settings, check_providers, check_urls
from auth_code_flow_django.core.endpoint_urls import endpoint_url
from auth_code_flow_django.exceptions import EndpointURLError
from auth_code_flow_django.presets import merged_values
from auth_code_flow_django.providers import PRESETS

from .test_endpoints import EVIL_PATHS
from .test_flow import Manager

GOOD = {"client_id": "id", "client_secret": "secret", "base_uri": "https://p.example"}


def ids(providers: object) -> list[str]:
    with override_settings(OAUTH_PROVIDERS=providers):
        return [m.id for m in check_providers()]


def app_ids(**settings: Any) -> list[str]:
    with override_settings(**settings):
        return [m.id for m in check_app_settings()]


def test_valid_configurations_pass() -> None:
    assert ids({"p": GOOD}) == []
    assert ids({"se": {"preset": "stackexchange", "client_id": "i", "client_secret": "s"}}) == []
    assert ids({"local": {**GOOD, "base_uri": "http://127.0.0.1:8000"}}) == []
    assert ids({"local": {**GOOD, "base_uri": "http://localhost:8000"}}) == []
    assert (
        ids({"pub": {**GOOD, "client_secret": None, "token_endpoint_auth_method": "none"}}) == []
    )


@pytest.mark.parametrize(
    ("providers", "expected"),
    [
        ([GOOD], ["auth_code_flow_django.E001"]),
        ({"p": "not a dict"}, ["auth_code_flow_django.E002"]),
        ({"p": {**GOOD, "client_secert": "typo"}}, ["auth_code_flow_django.E003"]),
        ({"p": {**GOOD, "preset": "myspace"}}, ["auth_code_flow_django.E004"]),
        # Only E004: no follow-on errors for values the preset would have given.
        ({"p": {"preset": "gihtub", "client_id": "i"}}, ["auth_code_flow_django.E004"]),
        ({"p": {"preset": "gihtub", "client_secert": "s"}}, ["auth_code_flow_django.E004"]),
        ({"p": {"preset": ["github"]}}, ["auth_code_flow_django.E004"]),
        (
            {"p": {"preset": "nope"}, "q": {**GOOD, "base_uri": "http://q.example"}},
            ["auth_code_flow_django.E004", "auth_code_flow_django.E008"],
        ),
        ({}, ["auth_code_flow_django.W002"]),
        ({"p": {**GOOD, "api_base_urls": ["https://api.p.example/"]}}, []),
        ({"p": {**GOOD, "api_base_urls": ["http://127.0.0.1:9000/"]}}, []),
        (
            {"p": {**GOOD, "api_base_urls": "https://api.p.example/"}},
            ["auth_code_flow_django.E030"],
        ),
        (
            {"p": {**GOOD, "api_base_urls": ["http://api.p.example/"]}},
            ["auth_code_flow_django.E030"],
        ),
        (
            {"p": {**GOOD, "api_base_urls": ["https://api.p.example@evil.example/"]}},
            ["auth_code_flow_django.E030"],
        ),
        ({"p": {**GOOD, "client_id": ""}}, ["auth_code_flow_django.E005"]),
        ({"p": {**GOOD, "client_secret": None}}, ["auth_code_flow_django.E006"]),
        ({"p": {"client_id": "i", "client_secret": "s"}}, ["auth_code_flow_django.E007"]),
        ({"p": {**GOOD, "base_uri": "ftp://p.example"}}, ["auth_code_flow_django.E007"]),
        ({"p": {**GOOD, "base_uri": "http://p.example"}}, ["auth_code_flow_django.E008"]),
        ({"p": {**GOOD, "revocation_path": "http://p.example/r"}}, ["auth_code_flow_django.E008"]),
        ({"p": {**GOOD, "redirect_uri": "/relative/"}}, ["auth_code_flow_django.E007"]),
        ({"p": {**GOOD, "issuer": "http://p.example"}}, ["auth_code_flow_django.E008"]),
        ({"p": {**GOOD, "scope": ["read", "write"]}}, ["auth_code_flow_django.E009"]),
        (
            {"p": {**GOOD, "token_endpoint_auth_method": "tls_client_auth"}},
            ["auth_code_flow_django.E010"],
        ),
        ({"p": {**GOOD, "use_pkce": "yes"}}, ["auth_code_flow_django.E011"]),
        ({"p": {**GOOD, "extra_authorize_params": {"a": 1}}}, ["auth_code_flow_django.E011"]),
        ({"p": {**GOOD, "client_id": 123}}, ["auth_code_flow_django.E011"]),
        ({"Bad Slug": GOOD}, ["auth_code_flow_django.E012"]),
        (
            {"p": {**GOOD, "token_endpoint_auth_method": "none", "use_pkce": False}},
            ["auth_code_flow_django.E014"],
        ),
        (
            {
                "p": {
                    **GOOD,
                    "client_secret": None,
                    "token_endpoint_auth_method": "none",
                    "use_pkce": False,
                }
            },
            ["auth_code_flow_django.E014"],
        ),
        ({"p": {**GOOD, "use_pkce": False}}, []),
        ({"p": {**GOOD, "authorization_path": None}}, ["auth_code_flow_django.E007"]),
        ({"p": {**GOOD, "api_base_url_field": "instance_url"}}, ["auth_code_flow_django.W004"]),
        (
            {
                "p": {
                    **GOOD,
                    "api_base_url_field": "instance_url",
                    "api_base_url_hosts": ["*.salesforce.com", "api.zoom.us", "Na1.Example"],
                }
            },
            [],
        ),
        (
            {"p": {**GOOD, "api_base_url_hosts": "*.salesforce.com"}},
            ["auth_code_flow_django.E058"],
        ),
        *(
            ({"p": {**GOOD, "api_base_url_hosts": [bad]}}, ["auth_code_flow_django.E058"])
            for bad in (
                "*",
                "*.com",
                "https://na1.example",
                "na1.example:443",
                "*.*.example.com",
                "na*.example.com",
                "na1.example.com/",
                "",
                5,
            )
        ),
        # A preset's hosts are enough.
        ({"p": {"preset": "salesforce", "client_id": "i", "client_secret": "s"}}, []),
    ],
)
def test_each_provider_problem_has_its_id(providers: object, expected: list[str]) -> None:
    assert ids(providers) == expected


def test_messages_have_hints_and_name_the_provider() -> None:
    with override_settings(OAUTH_PROVIDERS={"p": {**GOOD, "client_secert": "x"}}):
        (message,) = check_providers()
    assert "OAUTH_PROVIDERS['p']" in message.msg
    assert "client_secert" in message.msg
    assert message.hint
    assert "client_secret" in message.hint


def test_secret_value_is_not_shown_in_messages() -> None:
    with override_settings(OAUTH_PROVIDERS={"p": {**GOOD, "base_uri": "http://p.example"}}):
        messages = check_providers()
    assert all("secret" not in m.msg.replace("client_secret", "") for m in messages)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, []),
        ({"AUTH_CODE_FLOW_STATE_TTL": 0}, ["auth_code_flow_django.E020"]),
        ({"AUTH_CODE_FLOW_STATE_TTL": "600"}, ["auth_code_flow_django.E020"]),
        ({"AUTH_CODE_FLOW_HTTP_TIMEOUT": True}, ["auth_code_flow_django.E020"]),
        ({"AUTH_CODE_FLOW_MAX_RESPONSE_BYTES": -1}, ["auth_code_flow_django.E020"]),
        ({"AUTH_CODE_FLOW_REFRESH_LEEWAY": -1}, ["auth_code_flow_django.E020"]),
        ({"AUTH_CODE_FLOW_REFRESH_LEEWAY": 1.5}, ["auth_code_flow_django.E020"]),
        ({"AUTH_CODE_FLOW_DISCOVERY_RETRY_AFTER": -1}, ["auth_code_flow_django.E020"]),
        ({"AUTH_CODE_FLOW_DISCOVERY_RETRY_AFTER": "30"}, ["auth_code_flow_django.E020"]),
        ({"AUTH_CODE_FLOW_DISCOVERY_RETRY_AFTER": 0}, []),
        ({"AUTH_CODE_FLOW_DISCOVERY_RETRY_AFTER": 120}, []),
        ({"AUTH_CODE_FLOW_AUTHORIZE_ON_GET": "yes"}, ["auth_code_flow_django.E020"]),
        ({"AUTH_CODE_FLOW_REVOKE_ON_DISCONNECT": 1}, ["auth_code_flow_django.E020"]),
        ({"AUTH_CODE_FLOW_SUCCESS_URL": 5}, ["auth_code_flow_django.E020"]),
        ({"AUTH_CODE_FLOW_SUCCESS_URL": "/ok/"}, []),
        ({"AUTH_CODE_FLOW_ENCRYPTION_KEYS": ["not-a-key"]}, ["auth_code_flow_django.E021"]),
        ({"AUTH_CODE_FLOW_ENCRYPTION_KEYS": []}, ["auth_code_flow_django.E021"]),
        ({"AUTH_CODE_FLOW_ENCRYPTION_KEYS": "x" * 44}, ["auth_code_flow_django.E021"]),
        (
            {"AUTH_CODE_FLOW_ENCRYPTION_KEYS": ["Gq8NB0VMeLXGuTkt7W3ZjJxH3tA2WcJ3bRLZ6Xq2T1w="]},
            [],
        ),
        ({"AUTH_CODE_FLOW_STATE_TTTL": 5}, ["auth_code_flow_django.W001"]),
        ({"AUTH_CODE_FLOW_ALLOWED_PRIVATE_NETWORKS": ["10.20.0.0/16", "fd12::/16"]}, []),
        ({"AUTH_CODE_FLOW_ALLOWED_PRIVATE_NETWORKS": ("192.168.4.0/24",)}, []),
        (
            {"AUTH_CODE_FLOW_ALLOWED_PRIVATE_NETWORKS": "10.0.0.0/8"},
            ["auth_code_flow_django.E052"],
        ),
        ({"AUTH_CODE_FLOW_ALLOWED_PRIVATE_NETWORKS": None}, ["auth_code_flow_django.E052"]),
        (
            {"AUTH_CODE_FLOW_ALLOWED_PRIVATE_NETWORKS": ["0.0.0.0/0", "127.0.0.0/8", "x", 10]},
            ["auth_code_flow_django.E052"] * 4,
        ),
        (
            {"AUTH_CODE_FLOW_ALLOWED_PRIVATE_NETWORKS": ["169.254.169.254/32", "10.0.0.1/8"]},
            ["auth_code_flow_django.E052"] * 2,
        ),
    ],
)
def test_each_app_setting_problem_has_its_id(
    settings: dict[str, Any], expected: list[str]
) -> None:
    assert app_ids(**settings) == expected


def test_checks_are_registered_with_manage_py_check() -> None:
    with (
        override_settings(OAUTH_PROVIDERS={"p": {**GOOD, "preset": "nope"}}),
        pytest.raises(SystemCheckError, match=r"auth_code_flow_django\.E004"),
    ):
        call_command("check", stdout=StringIO(), stderr=StringIO())
    call_command("check", stdout=StringIO())


@pytest.mark.parametrize("setting", ["authorization_path", "access_token_path", "revocation_path"])
@pytest.mark.parametrize("path", EVIL_PATHS)
def test_an_endpoint_path_that_could_reach_another_host_is_an_error(
    setting: str, path: str
) -> None:
    assert ids({"p": {**GOOD, setting: path}}) == ["auth_code_flow_django.E013"]


@pytest.mark.parametrize(
    "path",
    [
        *EVIL_PATHS,
        "/token",
        "https://tokens.example/t",
        "http://tokens.example/t",
        "http://127.0.0.1:9000/t",
        "ftp://p.example/t",
        "token",
        "",
    ],
)
def test_the_checks_pass_exactly_the_paths_the_requests_use(path: str) -> None:
    passes_checks = ids({"p": {**GOOD, "access_token_path": path}}) == []
    try:
        Manager(base_uri=GOOD["base_uri"], access_token_path=path).get_access_token_endpoint()
    except EndpointURLError:
        usable = False
    else:
        usable = True
    assert passes_checks is usable


def test_an_http_base_uri_is_reported_once_on_base_uri() -> None:
    with override_settings(OAUTH_PROVIDERS={"p": {**GOOD, "base_uri": "http://p.example"}}):
        (message,) = check_providers()
    assert message.id == "auth_code_flow_django.E008"
    assert message.msg.startswith("OAUTH_PROVIDERS['p']: base_uri ")
    assert message.hint is not None
    for host in ("localhost", "127.0.0.1", "::1"):
        assert host in message.hint


@pytest.mark.parametrize(
    ("base_uri", "expected"),
    [
        ("https://p.example?tenant=a", ["auth_code_flow_django.E013"]),
        ("https://user@p.example", ["auth_code_flow_django.E013"]),
        ("http://[::1]:8000", []),
        ("https://p.example/prefix/", []),
    ],
)
def test_base_uri_problems(base_uri: str, expected: list[str]) -> None:
    assert ids({"p": {**GOOD, "base_uri": base_uri}}) == expected


def test_absolute_endpoints_need_no_base_uri_but_a_bad_one_is_still_reported() -> None:
    absolute = {
        "client_id": "i",
        "client_secret": "s",
        "authorization_path": "https://p.example/a",
        "access_token_path": "https://p.example/t",
    }
    assert ids({"p": absolute}) == []
    assert ids({"p": {**absolute, "base_uri": "http://p.example"}}) == [
        "auth_code_flow_django.E008"
    ]


def test_a_missing_oauth_providers_setting_is_a_warning(settings: Any) -> None:
    del settings.OAUTH_PROVIDERS
    messages = check_providers()
    assert [m.id for m in messages] == ["auth_code_flow_django.W002"]
    assert messages[0].hint is not None
    assert "OAUTH_PROVIDERS" in messages[0].hint


#: What a preset needs besides the client credentials.
PRESET_NEEDS = {
    "okta": {"issuer": "https://example.okta.com/oauth2/default"},
    "auth0": {"issuer": "https://example.us.auth0.com/"},
    "keycloak": {"base_uri": "https://sso.example.com", "realm": "r"},
    "reddit": {"user_agent": "web:example:1.0 (by /u/example)"},
}


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_passes_the_checks_and_builds_https_endpoints(preset: str) -> None:
    entry = {"preset": preset, "client_id": "i", "client_secret": "s"}
    entry.update(PRESET_NEEDS.get(preset, {}))
    assert ids({"p": entry}) == []
    values = merged_values(entry)
    for setting in ("authorization_path", "access_token_path", "revocation_path"):
        if setting in values:
            url = endpoint_url(values["base_uri"], values[setting], setting)
            assert url.startswith("https://")


@pytest.mark.parametrize(
    "entry",
    [
        {"preset": "github", "client_id": "i", "client_secret": "s"},
        {"preset": "gitlab", "client_id": "i", "client_secret": "s"},
        {"preset": "gitlab", "client_id": "i", "client_secret": "s", "base_uri": "https://g.test"},
        {"preset": "google", "client_id": "i", "client_secret": "s"},
        {"preset": "microsoft", "client_id": "i", "client_secret": "s", "tenant": "contoso"},
        {"preset": "slack", "client_id": "i", "client_secret": "s"},
        {"preset": "discord", "client_id": "i", "client_secret": "s"},
        {"preset": "bitbucket", "client_id": "i", "client_secret": "s"},
        {
            "preset": "stackexchange",
            "client_id": "i",
            "client_secret": "s",
            "identity": {"params": {"key": "k"}},
        },
        {
            "preset": "keycloak",
            "client_id": "i",
            "client_secret": "s",
            "base_uri": "https://sso.test",
            "realm": "r",
        },
        {**GOOD, "api_base_urls": ["/api/"], "identity": {"url": "/api/me", "id": ["a", "b"]}},
    ],
)
def test_every_preset_passes_the_checks(entry: dict[str, object]) -> None:
    assert ids({"p": entry}) == []


ISSUER_ONLY = {"issuer": "https://idp.example/realms/main", "client_id": "i", "client_secret": "s"}


def test_a_provider_configured_by_its_issuer_alone_passes() -> None:
    assert ids({"idp": ISSUER_ONLY}) == []
    assert ids({"idp": {**ISSUER_ONLY, "scope": "openid email"}}) == []
    assert ids({"idp": {**ISSUER_ONLY, "issuer": "http://127.0.0.1:8000/o"}}) == []
    assert ids({"g": {"preset": "google", "client_id": "i", "client_secret": "s"}}) == []


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({**GOOD, "identity": "https://p.example/me"}, ["auth_code_flow_django.E047"]),
        ({**GOOD, "identity": {"endpoint": "x"}}, ["auth_code_flow_django.E047"]),
        ({**GOOD, "identity": {"id": ""}}, ["auth_code_flow_django.E047"]),
        ({**GOOD, "identity": {"name": ["a", 1]}}, ["auth_code_flow_django.E047"]),
        ({**GOOD, "identity": {"params": {"site": 1}}}, ["auth_code_flow_django.E047"]),
        ({**GOOD, "identity": {"url": 5}}, ["auth_code_flow_django.E047"]),
        (
            {**GOOD, "identity": {"url": "https://p.example/me"}},
            ["auth_code_flow_django.E048"],
        ),
        (
            {
                **GOOD,
                "api_base_urls": ["https://api.p.example/"],
                "identity": {"url": "http://api.p.example/me"},
            },
            ["auth_code_flow_django.E048"],
        ),
        (
            {"preset": "keycloak", "client_id": "i", "client_secret": "s"},
            ["auth_code_flow_django.E049"],
        ),
        (
            {**GOOD, "preset": "keycloak", "realm": None},
            ["auth_code_flow_django.E049"],
        ),
        ({**GOOD, "tenant": 5}, ["auth_code_flow_django.E011"]),
        ({**GOOD, "success_field": True}, ["auth_code_flow_django.E011"]),
        ({**GOOD, "bearer_token_types": "bot"}, ["auth_code_flow_django.E011"]),
        ({**GOOD, "invalid_grant_errors": [1]}, ["auth_code_flow_django.E011"]),
        ({**GOOD, "api_base_url_field": 1}, ["auth_code_flow_django.E011"]),
        ({**GOOD, "user_agent": ["a"]}, ["auth_code_flow_django.E011"]),
        ({**GOOD, "request_headers": {"X-V": 1}}, ["auth_code_flow_django.E011"]),
        ({**GOOD, "post_form_data": "no"}, ["auth_code_flow_django.E011"]),
        ({**GOOD, "user_agent": "web:x:1\r\nX-Injected: 1"}, ["auth_code_flow_django.E051"]),
        ({**GOOD, "request_headers": {"Bad Name": "v"}}, ["auth_code_flow_django.E051"]),
        ({**GOOD, "request_headers": {"X-V": "a\nb"}}, ["auth_code_flow_django.E051"]),
        ({**GOOD, "issuer_aliases": "accounts.google.com"}, ["auth_code_flow_django.E011"]),
        ({**GOOD, "shared_token_types": [None]}, ["auth_code_flow_django.E011"]),
        ({**GOOD, "revoke_shared_tokens": "yes"}, ["auth_code_flow_django.E011"]),
        ({**GOOD, "scope_param": 1}, ["auth_code_flow_django.E011"]),
        ({**GOOD, "token_reply_object": ["authed_user"]}, ["auth_code_flow_django.E011"]),
        ({**GOOD, "allowed_tenants": ["common"]}, ["auth_code_flow_django.E053"]),
        (
            {**GOOD, "api_base_urls": ["/api/"], "base_uri": None},
            ["auth_code_flow_django.E007", "auth_code_flow_django.E030"],
        ),
    ],
)
def test_each_identity_and_preset_problem_has_its_id(
    entry: dict[str, object], expected: list[str]
) -> None:
    assert ids({"p": entry}) == expected


def test_a_preset_placeholder_message_names_what_is_missing() -> None:
    with override_settings(
        OAUTH_PROVIDERS={"kc": {"preset": "keycloak", "client_id": "i", "client_secret": "s"}}
    ):
        (message,) = check_providers()
    assert "base_uri, realm" in message.msg
    assert message.hint


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({**ISSUER_ONLY, "issuer": "https://idp.example/?tenant=1"}, ["E040"]),
        ({**ISSUER_ONLY, "issuer": "https://idp.example/#x"}, ["E013"]),
        ({**ISSUER_ONLY, "jwks_uri": "https://user@idp.example/certs"}, ["E013"]),
        ({**ISSUER_ONLY, "issuer": "http://idp.example"}, ["E008"]),
        ({**ISSUER_ONLY, "jwks_uri": "http://idp.example/certs"}, ["E008"]),
        ({**ISSUER_ONLY, "userinfo_endpoint": "/userinfo"}, ["E007"]),
        ({**ISSUER_ONLY, "discovery": "yes"}, ["E011"]),
        ({**ISSUER_ONLY, "require_iss": 1}, ["E011"]),
        ({**ISSUER_ONLY, "access_token_path": "http://idp.example/t"}, ["E008"]),
        ({**ISSUER_ONLY, "discovery": False}, ["E007"]),
        ({**GOOD, "scope": "openid"}, ["E041"]),
        ({**GOOD, "scope": "openid", "issuer": "https://p.example", "discovery": False}, ["E041"]),
        (
            {
                **GOOD,
                "scope": "openid",
                "issuer": "https://p.example",
                "discovery": False,
                "jwks_uri": "https://p.example/jwks",
            },
            [],
        ),
    ],
)
def test_discovery_and_openid_problems_have_their_ids(
    entry: dict[str, object], expected: list[str]
) -> None:
    assert ids({"idp": entry}) == [f"auth_code_flow_django.{i}" for i in expected]


def test_check_never_fetches_discovery() -> None:
    import responses

    with (
        responses.RequestsMock() as mocked,
        override_settings(OAUTH_PROVIDERS={"idp": {**ISSUER_ONLY, "scope": "openid"}}),
    ):
        call_command("check", stdout=StringIO())
        assert len(mocked.calls) == 0


def test_discovery_cache_ttl_must_be_positive() -> None:
    assert app_ids(AUTH_CODE_FLOW_DISCOVERY_CACHE_TTL=0) == ["auth_code_flow_django.E020"]
    assert app_ids(AUTH_CODE_FLOW_DISCOVERY_CACHE_TTL=60) == []


class WithoutTheApp:
    """A site's URLconf that forgot ``include("auth_code_flow_django.urls")``."""

    urlpatterns = [path("accounts/login/", auth_views.LoginView.as_view(), name="login")]


class WithTheApp:
    urlpatterns = [
        path("signin/", auth_views.LoginView.as_view(), name="signin"),
        path("oauth/", include("auth_code_flow_django.urls")),
    ]


def url_ids(**settings: Any) -> list[str]:
    with override_settings(**settings):
        return [m.id for m in check_urls()]


def test_the_test_urlconf_passes_the_url_checks() -> None:
    assert url_ids() == []


def test_forgetting_to_include_the_app_urls_is_an_error_with_the_line_to_add() -> None:
    assert url_ids(ROOT_URLCONF=WithoutTheApp) == ["auth_code_flow_django.E050"]
    with override_settings(ROOT_URLCONF="tests.test_checks"):
        (error,) = check_urls()
    assert error.hint.startswith(
        'Add path("oauth/", include("auth_code_flow_django.urls")) '
        "to urlpatterns in tests.test_checks"
    )


# The module is its own URLconf above: the app's URLs are missing.
urlpatterns = WithoutTheApp.urlpatterns


@pytest.mark.parametrize(
    ("login_url", "expected"),
    [
        ("/signin/", []),
        ("signin", []),  # a URL name, as resolve_url() takes it
        (reverse_lazy("signin"), []),
        ("https://sso.example.com/login", []),  # another site's login page
        ("//sso.example.com/login", []),
        ("/accounts/login/", ["auth_code_flow_django.W003"]),  # Django's default
        ("login", ["auth_code_flow_django.W003"]),
        ("auth:login", ["auth_code_flow_django.W003"]),
        (reverse_lazy("login"), ["auth_code_flow_django.W003"]),
        ("signin/", ["auth_code_flow_django.W003"]),
        ("", ["auth_code_flow_django.W003"]),
        ("mailto:admin@example.com", ["auth_code_flow_django.W003"]),
    ],
)
def test_a_login_url_that_leads_to_no_view_is_a_warning(
    login_url: object, expected: list[str]
) -> None:
    assert url_ids(ROOT_URLCONF=WithTheApp, LOGIN_URL=login_url) == expected


def test_login_url_under_a_script_prefix_is_resolved_without_it() -> None:
    from django.urls import get_script_prefix, set_script_prefix

    before = get_script_prefix()
    set_script_prefix("/site/")
    try:
        assert url_ids(ROOT_URLCONF=WithTheApp, LOGIN_URL="/site/signin/") == []
        assert url_ids(ROOT_URLCONF=WithTheApp, LOGIN_URL="/site/nowhere/") == [
            "auth_code_flow_django.W003"
        ]
    finally:
        set_script_prefix(before)


def test_both_url_problems_are_reported_together() -> None:
    assert url_ids(ROOT_URLCONF=WithoutTheApp, LOGIN_URL="/nowhere/") == [
        "auth_code_flow_django.E050",
        "auth_code_flow_django.W003",
    ]


def test_a_urlconf_that_cannot_be_loaded_does_not_crash_the_url_checks() -> None:
    assert url_ids(ROOT_URLCONF="tests.no_such_urlconf") == []


def test_url_checks_are_registered_with_the_urls_tag() -> None:
    with (
        override_settings(ROOT_URLCONF=WithoutTheApp),
        pytest.raises(SystemCheckError, match=r"auth_code_flow_django\.E050"),
    ):
        call_command("check", "--tag", "urls", stdout=StringIO(), stderr=StringIO())
    with override_settings(ROOT_URLCONF=WithoutTheApp):
        call_command("check", "--tag", "security", stdout=StringIO(), stderr=StringIO())


def test_a_network_that_cannot_be_allowed_is_named_with_the_ranges_that_can() -> None:
    with override_settings(AUTH_CODE_FLOW_ALLOWED_PRIVATE_NETWORKS=["8.8.8.0/24"]):
        (message,) = check_app_settings()
    assert "8.8.8.0/24 is not inside a private range" in message.msg
    assert "10.0.0.0/8" in (message.hint or "")
