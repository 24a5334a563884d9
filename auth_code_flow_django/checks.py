"""System checks for ``OAUTH_PROVIDERS``, the ``AUTH_CODE_FLOW_*`` settings and the
URLconf the app's views need.

Ids are never reused. Raw values are read as ``object`` and narrowed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.urls import NoReverseMatch, Resolver404, get_script_prefix, resolve, reverse

from .conf import DEFAULTS
from .core.client_auth import ClientKey, ClientKeyError, public_jwk
from .core.endpoint_urls import absolute_url, check_base_uri, endpoint_url
from .core.endpoint_urls import is_loopback as is_loopback
from .core.oidc_id_tokens import TENANT_ID
from .core.outbound_addresses import private_network
from .exceptions import EndpointURLError, EndpointURLProblem
from .flow import CLIENT_AUTH_METHODS
from .identity import IDENTITY_KEYS
from .presets import merged_values, unfilled_placeholders
from .providers import PRESETS, PROVIDER_KEYS

_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_BOOL_KEYS = (
    "use_pkce",
    "token_type_required",
    "discovery",
    "post_form_data",
    "revoke_shared_tokens",
    "dpop",
)
_STR_KEYS = (
    "display_name",
    "base_uri",
    "authorization_path",
    "access_token_path",
    "revocation_path",
    "redirect_uri",
    "issuer",
    "jwks_uri",
    "userinfo_endpoint",
    "expires_in_field",
    "client_id",
    "client_secret",
    "success_field",
    "tenant",
    "realm",
    "api_base_url_field",
    "user_agent",
    "scope_param",
    "token_reply_object",
    "pushed_authorization_request_endpoint",
)


def _id(number: int) -> str:
    return f"auth_code_flow_django.E{number:03d}"


#: The check id and hint for each reason an endpoint URL is refused.
_URL_PROBLEMS: Mapping[EndpointURLProblem, tuple[int, str]] = {
    "missing": (
        7,
        "Set base_uri to https://... and each endpoint to a path starting with '/', "
        "or give an absolute https:// URL.",
    ),
    "not_absolute": (
        7,
        "Set base_uri to https://... and each endpoint to a path starting with '/', "
        "or give an absolute https:// URL.",
    ),
    "insecure": (
        8,
        "Codes, secrets and tokens would cross the network in clear; use https:// "
        "(http is allowed on loopback hosts only: localhost, 127.0.0.1 and ::1).",
    ),
    "unsafe": (
        13,
        "An endpoint URL must not be able to send requests to another host: no user "
        "information (@), backslash, whitespace, control character or fragment (#), "
        "and a plain host name (xn-- for an international one) or IP address; a "
        "relative path starts with a single '/' and is joined to base_uri.",
    ),
}


def _usable_url(url: object, setting: str) -> bool:
    try:
        absolute_url(url, setting)
    except EndpointURLError:
        return False
    return True


def check_providers(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    raw: object = getattr(settings, "OAUTH_PROVIDERS", {})
    if not isinstance(raw, Mapping):
        return [
            Error(
                "OAUTH_PROVIDERS must be a dict of provider dicts keyed by slug.",
                hint='OAUTH_PROVIDERS = {"github": {"preset": "github", "client_id": ...}}',
                id=_id(1),
            )
        ]
    if not raw:
        return [
            Warning(
                "OAUTH_PROVIDERS is empty or not set: there is no provider to connect to.",
                hint='Add one, e.g. OAUTH_PROVIDERS = {"github": {"preset": "github", '
                '"client_id": ..., "client_secret": ...}}.',
                id="auth_code_flow_django.W002",
            )
        ]
    errors: list[CheckMessage] = []
    for slug, entry in raw.items():
        errors.extend(_check_provider(slug, entry))
    return errors


def _check_provider(slug: object, entry: object) -> list[CheckMessage]:
    where = f"OAUTH_PROVIDERS[{slug!r}]"
    if not isinstance(slug, str) or not _SLUG.fullmatch(slug):
        return [
            Error(
                f"{where}: the key must be a slug (lowercase letters, digits, - and _).",
                hint="The slug appears in URLs such as /oauth/<slug>/callback/.",
                id=_id(12),
            )
        ]
    if not isinstance(entry, Mapping):
        return [Error(f"{where} must be a dict.", hint="See the settings reference.", id=_id(2))]
    preset = entry.get("preset")
    if preset is not None and not (isinstance(preset, str) and preset in PRESETS):
        # The entry's other values would be checked without the preset's: only noise.
        return [
            Error(
                f"{where}: unknown preset {preset!r}.",
                hint=f"Known presets: {', '.join(sorted(PRESETS))}.",
                id=_id(4),
            )
        ]
    errors: list[CheckMessage] = []
    unknown = sorted(str(k) for k in entry if k not in PROVIDER_KEYS)
    if unknown:
        errors.append(
            Error(
                f"{where} has unknown keys: {', '.join(unknown)}.",
                hint=f"Allowed keys: {', '.join(sorted(PROVIDER_KEYS))}.",
                id=_id(3),
            )
        )
    values: dict[str, object] = merged_values(entry)
    unfilled = unfilled_placeholders(values)
    if unfilled:
        errors.append(
            Error(
                f"{where}: the {preset} preset needs {', '.join(unfilled)}.",
                hint="For example "
                '{"preset": "keycloak", "base_uri": "https://sso.example.com", '
                '"realm": "myrealm"}.',
                id=_id(49),
            )
        )
    errors.extend(_check_values(where, values, check_urls=not unfilled))
    return errors


def _check_values(
    where: str, values: Mapping[str, object], *, check_urls: bool = True
) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    method = values.get("token_endpoint_auth_method", "client_secret_post")
    if method not in CLIENT_AUTH_METHODS:
        errors.append(
            Error(
                f"{where}: token_endpoint_auth_method must be one of "
                f"{', '.join(CLIENT_AUTH_METHODS)}.",
                hint="Most providers accept client_secret_post or client_secret_basic.",
                id=_id(10),
            )
        )
    if not values.get("client_id"):
        errors.append(
            Error(
                f"{where}: client_id is missing.",
                hint="Copy it from the OAuth app you registered with the provider.",
                id=_id(5),
            )
        )
    if method not in ("none", "private_key_jwt") and not values.get("client_secret"):
        errors.append(
            Error(
                f"{where}: client_secret is missing.",
                hint="Read it from the environment, not from source control; "
                'or set "token_endpoint_auth_method": "none" for a public client.',
                id=_id(6),
            )
        )
    if method == "none" and values.get("use_pkce", True) is False:
        errors.append(
            Error(
                f'{where}: a public client (token_endpoint_auth_method "none") must use PKCE.',
                hint="Remove use_pkce (PKCE is on by default): without a client secret, "
                "PKCE is what stops a stolen authorization code from being redeemed "
                "(RFC 9700 2.1.1).",
                id=_id(14),
            )
        )
    scope = values.get("scope", "")
    if not isinstance(scope, str):
        errors.append(
            Error(
                f"{where}: scope must be a string of space-separated scopes.",
                hint='For example "read:user repo".',
                id=_id(9),
            )
        )
    bad_types = [k for k in _BOOL_KEYS if k in values and not isinstance(values[k], bool)]
    for key in ("require_iss", "pushed_authorization_requests"):
        if values.get(key) is not None and not isinstance(values[key], bool):
            bad_types.append(key)
    bad_types += [
        k for k in _STR_KEYS if values.get(k) is not None and not isinstance(values[k], str)
    ]
    for key in ("extra_authorize_params", "request_headers"):
        extra = values.get(key, {})
        if not isinstance(extra, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in extra.items()
        ):
            bad_types.append(key)
    for key in (
        "bearer_token_types",
        "invalid_grant_errors",
        "issuer_aliases",
        "shared_token_types",
    ):
        if not _is_str_list(values.get(key, ())):
            bad_types.append(key)
    if bad_types:
        errors.append(
            Error(
                f"{where}: wrong type for {', '.join(sorted(bad_types))}.",
                hint="Flags are booleans, extra_authorize_params and request_headers are "
                "dicts of strings, "
                "the rest are strings.",
                id=_id(11),
            )
        )
    errors.extend(_check_headers(where, values))
    errors.extend(_check_identity(where, values.get("identity", {})))
    errors.extend(_check_allowed_tenants(where, values.get("allowed_tenants")))
    errors.extend(_check_client_keys(where, values, method))
    if values.get("pushed_authorization_requests") is True and not (
        values.get("pushed_authorization_request_endpoint") or _discovers(values)
    ):
        errors.append(
            Error(
                f"{where}: pushed_authorization_requests is on, but there is no "
                "pushed_authorization_request_endpoint.",
                hint='Set "issuer" (its metadata names the endpoint), or set '
                '"pushed_authorization_request_endpoint".',
                id=_id(57),
            )
        )
    if not check_urls:
        return errors
    errors.extend(_check_endpoints(where, values))
    errors.extend(_check_openid(where, values))
    errors.extend(_check_api_base_urls(where, values))
    return errors


def _check_client_keys(
    where: str, values: Mapping[str, object], method: object
) -> list[CheckMessage]:
    """E054-E056: the ``private_key_jwt`` keys. A message names the problem, never the
    key."""
    errors: list[CheckMessage] = []
    key = values.get("client_private_key")
    if key is None and method == "private_key_jwt":
        errors.append(
            Error(
                f"{where}: private_key_jwt needs client_private_key.",
                hint="Give the private key as a JWK dict (RSA, or EC on P-256) or a PEM "
                "string, read from the environment or a secrets store.",
                id=_id(55),
            )
        )
    elif key is not None:
        try:
            ClientKey(key)
        except ClientKeyError as exc:
            errors.append(
                Error(
                    f"{where}: client_private_key cannot be used: {exc.description}",
                    hint="A private RSA key (2048 bits or more) or EC key on P-256, as "
                    "a JWK dict or a PEM string.",
                    id=_id(54),
                )
            )
    previous = values.get("client_previous_public_keys", ())
    problem = "" if isinstance(previous, (list, tuple)) else "it is not a list."
    for item in previous if isinstance(previous, (list, tuple)) else ():
        try:
            public_jwk(item)
        except ClientKeyError as exc:
            problem = exc.description
            break
    if problem:
        errors.append(
            Error(
                f"{where}: client_previous_public_keys cannot be published: {problem}",
                hint="A list of the public keys (JWK dicts or PEM strings) still valid "
                "while a key is rolled.",
                id=_id(56),
            )
        )
    return errors


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _check_headers(where: str, values: Mapping[str, object]) -> list[CheckMessage]:
    """E051: ``user_agent`` and ``request_headers`` must make valid header lines."""
    headers: list[tuple[object, object]] = []
    if isinstance(values.get("user_agent"), str):
        headers.append(("User-Agent", values["user_agent"]))
    extra = values.get("request_headers", {})
    if isinstance(extra, Mapping):
        headers.extend(extra.items())
    bad = [
        str(name)
        for name, value in headers
        if isinstance(name, str)
        and isinstance(value, str)
        and (not _HEADER_NAME.fullmatch(name) or bool(_CONTROL.search(value)))
    ]
    if not bad:
        return []
    return [
        Error(
            f"{where}: the header {', '.join(sorted(bad))} is not a valid header line.",
            hint="A header name is a token (letters, digits and !#$%&'*+.^_`|~-); a value "
            "has no control character (no line break).",
            id=_id(51),
        )
    ]


def _check_allowed_tenants(where: str, tenants: object) -> list[CheckMessage]:
    """E053: ``allowed_tenants`` is ``None`` or a non-empty list of tenant ids."""
    if tenants is None or (
        isinstance(tenants, (list, tuple))
        and tenants
        and all(isinstance(t, str) and TENANT_ID.fullmatch(t) for t in tenants)
    ):
        return []
    return [
        Error(
            f"{where}: allowed_tenants must be a non-empty list of tenant ids (GUIDs).",
            hint='For example ["72f988bf-86f1-41af-91ab-2d7cd011db47"]: the "Directory '
            '(tenant) ID" of each tenant whose accounts may connect. Leave it out to '
            "accept the tenant the endpoints name (any tenant for common and "
            "organizations).",
            id=_id(53),
        )
    ]


def _is_str_list(value: object) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)


def _is_fields(value: object) -> bool:
    if isinstance(value, str):
        return bool(value)
    return isinstance(value, (list, tuple)) and bool(value) and _is_str_list(value) and all(value)


def _check_identity(where: str, identity: object) -> list[CheckMessage]:
    """E047: the ``identity`` mapping's shape."""
    problems: list[str] = []
    if not isinstance(identity, Mapping):
        problems.append("it must be a dict")
    else:
        unknown = sorted(str(k) for k in identity if k not in IDENTITY_KEYS)
        if unknown:
            problems.append(f"unknown keys {', '.join(unknown)}")
        for key in ("url", "token_param"):
            if identity.get(key) is not None and not (
                isinstance(identity[key], str) and identity[key]
            ):
                problems.append(f"{key} must be a non-empty string")
        for key in ("id", "name"):
            if key in identity and not _is_fields(identity[key]):
                problems.append(f"{key} must be a field path or a list of them")
        params = identity.get("params", {})
        if not isinstance(params, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in params.items()
        ):
            problems.append("params must be a dict of strings")
    if not problems:
        return []
    return [
        Error(
            f"{where}: identity is not valid: {'; '.join(problems)}.",
            hint='For example {"url": "https://api.github.com/user", "id": "id", '
            f'"name": ["login", "name"]}}. Keys: {", ".join(sorted(IDENTITY_KEYS))}.',
            id=_id(47),
        )
    ]


def _resolved(base: object, url: object, setting: str) -> str | None:
    """``url`` (absolute, or relative to ``base``) as the requests build it, or ``None``."""
    try:
        return endpoint_url(base, url, setting)
    except EndpointURLError:
        return None


def _under_any(url: str, prefixes: Sequence[str]) -> bool:
    parts = urlsplit(url)
    for prefix in prefixes:
        allowed = urlsplit(prefix)
        path = allowed.path.rstrip("/")
        if (parts.scheme, parts.netloc) == (allowed.scheme, allowed.netloc) and (
            parts.path == path or parts.path.startswith(path + "/")
        ):
            return True
    return False


def _check_api_base_urls(where: str, values: Mapping[str, object]) -> list[CheckMessage]:
    """E030 for ``api_base_urls`` (absolute, or relative to ``base_uri``), and E048 for
    an identity URL the token may not be sent to."""
    value = values.get("api_base_urls", ())
    base = values.get("base_uri")
    prefixes = (
        [_resolved(base, url, "api_base_urls") for url in value]
        if isinstance(value, (list, tuple))
        else [None]
    )
    usable = [prefix for prefix in prefixes if prefix is not None]
    if len(usable) == len(prefixes):
        identity = values.get("identity", {})
        url = identity.get("url") if isinstance(identity, Mapping) else None
        if not isinstance(url, str) or not url:
            return []  # no identity request, or E047
        resolved = _resolved(base, url, "identity url")
        if resolved is not None and _under_any(resolved, usable):
            return []
        return [
            Error(
                f"{where}: identity url is not under the provider's api_base_urls.",
                hint="The access token is sent only to https:// URLs under "
                "api_base_urls: add the identity URL's API prefix to them.",
                id=_id(48),
            )
        ]
    return [
        Error(
            f"{where}: api_base_urls must be a list of https:// URL prefixes.",
            hint="authorized_session() sends the token only under these URLs, e.g. "
            '["https://api.github.com/"] (http is allowed on loopback hosts only).',
            id=_id(30),
        )
    ]


def _discovers(values: Mapping[str, object]) -> bool:
    """Whether the provider's metadata will fill the values its settings leave out."""
    return bool(values.get("issuer")) and values.get("discovery", True) is not False


def _check_openid(where: str, values: Mapping[str, object]) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    issuer = values.get("issuer")
    if isinstance(issuer, str) and "?" in issuer:
        errors.append(
            Error(
                f"{where}: issuer must have no query.",
                hint="The issuer identifier is an https URL with at most a path "
                "(RFC 8414 2), e.g. https://idp.example/realms/main.",
                id=_id(40),
            )
        )
    scope = values.get("scope", "")
    openid = isinstance(scope, str) and "openid" in scope.split()
    if openid and not (issuer and (values.get("jwks_uri") or _discovers(values))):
        errors.append(
            Error(
                f"{where}: the scope asks for openid, but the ID token cannot be checked "
                "without the server's issuer and jwks_uri.",
                hint='Set "issuer" (its discovery document gives the jwks_uri), or both '
                '"issuer" and "jwks_uri" with "discovery": False.',
                id=_id(41),
            )
        )
    return errors


def _check_endpoints(where: str, values: Mapping[str, object]) -> list[CheckMessage]:
    """Build every endpoint URL with the functions the requests use; report each
    setting at fault once (an http:// ``base_uri`` on ``base_uri``, not on each path)."""
    problems: dict[str, EndpointURLError] = {}
    base = values.get("base_uri")
    attempts: list[Callable[[], object]] = []
    if base is not None and base != "":
        attempts.append(functools.partial(check_base_uri, base))
    paths = {
        "authorization_path": values.get("authorization_path", "/authorize"),
        "access_token_path": values.get("access_token_path", "/access_token"),
    }
    if _discovers(values):
        # Discovery gives the endpoints the settings leave out (checked when fetched).
        paths = {setting: path for setting, path in paths.items() if setting in values}
    for setting in ("revocation_path", "pushed_authorization_request_endpoint"):
        if values.get(setting):
            paths[setting] = values[setting]
    for setting, path in paths.items():
        attempts.append(functools.partial(endpoint_url, base, path, setting))
    for setting in ("redirect_uri", "issuer", "jwks_uri", "userinfo_endpoint"):
        if values.get(setting):
            attempts.append(functools.partial(absolute_url, values[setting], setting))
    for attempt in attempts:
        try:
            attempt()
        except EndpointURLError as error:
            problems.setdefault(error.setting, error)
    errors: list[CheckMessage] = []
    for refusal in problems.values():
        number, hint = _URL_PROBLEMS[refusal.problem]
        errors.append(Error(f"{where}: {refusal.description}", hint=hint, id=_id(number)))
    return errors


def check_app_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    positive_numbers = (
        "AUTH_CODE_FLOW_STATE_TTL",
        "AUTH_CODE_FLOW_HTTP_TIMEOUT",
        "AUTH_CODE_FLOW_MAX_RESPONSE_BYTES",
        "AUTH_CODE_FLOW_DISCOVERY_CACHE_TTL",
    )
    for name in positive_numbers:
        value: object = getattr(settings, name, DEFAULTS[name])
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            errors.append(
                Error(
                    f"{name} must be a positive number.",
                    hint=f"Default: {DEFAULTS[name]}.",
                    id=_id(20),
                )
            )
    for name in ("AUTH_CODE_FLOW_REFRESH_LEEWAY", "AUTH_CODE_FLOW_DISCOVERY_RETRY_AFTER"):
        seconds: object = getattr(settings, name, DEFAULTS[name])
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            errors.append(
                Error(
                    f"{name} must be a whole number of seconds >= 0.",
                    hint=f"Default: {DEFAULTS[name]}.",
                    id=_id(20),
                )
            )
    for name in ("AUTH_CODE_FLOW_AUTHORIZE_ON_GET", "AUTH_CODE_FLOW_REVOKE_ON_DISCONNECT"):
        if not isinstance(getattr(settings, name, DEFAULTS[name]), bool):
            errors.append(
                Error(
                    f"{name} must be True or False.",
                    hint=f"Default: {DEFAULTS[name]}.",
                    id=_id(20),
                )
            )
    success: object = getattr(settings, "AUTH_CODE_FLOW_SUCCESS_URL", None)
    if success is not None and not isinstance(success, str):
        errors.append(
            Error(
                "AUTH_CODE_FLOW_SUCCESS_URL must be a URL path or None.",
                hint="Default: the connections page.",
                id=_id(20),
            )
        )
    errors.extend(_check_keys())
    errors.extend(_check_private_networks())
    unknown = sorted(
        name
        for name in dir(settings)
        if name.startswith("AUTH_CODE_FLOW_") and name not in DEFAULTS
    )
    if unknown:
        errors.append(
            Warning(
                f"Unknown settings: {', '.join(unknown)}.",
                hint=f"Known settings: {', '.join(sorted(DEFAULTS))}.",
                id="auth_code_flow_django.W001",
            )
        )
    return errors


def _check_keys() -> list[CheckMessage]:
    from cryptography.fernet import Fernet

    keys: object = getattr(settings, "AUTH_CODE_FLOW_ENCRYPTION_KEYS", None)
    if keys is None:
        return []
    problem = not isinstance(keys, (list, tuple)) or not keys
    if not problem:
        assert isinstance(keys, (list, tuple))
        for key in keys:
            try:
                Fernet(key)
            except (TypeError, ValueError):
                problem = True
    if problem:
        return [
            Error(
                "AUTH_CODE_FLOW_ENCRYPTION_KEYS must be a non-empty list of Fernet keys, "
                "newest first.",
                hint="Make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'. Or remove the setting to derive "
                "keys from SECRET_KEY and SECRET_KEY_FALLBACKS.",
                id=_id(21),
            )
        ]
    return []


def check_urls(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """E050: the app's URLs are not included; W003: ``LOGIN_URL`` leads to no view.

    A URLconf that cannot even be loaded is left to Django's own URL checks and to
    the error it raises: these checks only report what they can tell for sure.
    """
    if not getattr(settings, "ROOT_URLCONF", None):
        return []
    errors: list[CheckMessage] = []
    try:
        reverse("auth_code_flow:connections")
    except NoReverseMatch:
        urlconf = settings.ROOT_URLCONF
        where = f"urlpatterns in {urlconf}" if isinstance(urlconf, str) else "your urlpatterns"
        errors.append(
            Error(
                "The auth_code_flow URLs are not in the URLconf: "
                "reverse('auth_code_flow:connections') fails, the connections page is a "
                "404 and a redirect to it is a server error.",
                hint=f'Add path("oauth/", include("auth_code_flow_django.urls")) to {where} '
                "(include comes from django.urls).",
                id=_id(50),
            )
        )
    except Exception:  # a URLconf that does not load: Django reports it
        return []
    login_url: object = getattr(settings, "LOGIN_URL", None)
    try:
        login_url_ok = _leads_to_a_view(login_url)
    except Exception:  # as above
        return errors
    if not login_url_ok:
        shown = f" ({login_url!r})" if isinstance(login_url, str) else ""
        errors.append(
            Warning(
                f"LOGIN_URL{shown} leads to no view: users who are not "
                "logged in are sent there by the connect pages and get a 404.",
                hint='Set LOGIN_URL to the name of your login view (e.g. "login") or a '
                'path your URLconf serves, e.g. path("accounts/", '
                'include("django.contrib.auth.urls")) serves /accounts/login/.',
                id="auth_code_flow_django.W003",
            )
        )
    return errors


def _leads_to_a_view(login_url: object) -> bool:
    """Whether ``login_url`` is what :func:`django.shortcuts.resolve_url` turns into a
    URL this site serves (a view name that reverses, or a path that resolves), or an
    absolute URL, which may well be another site's login page."""
    try:
        url = str(login_url) if login_url is not None else ""  # reverse_lazy() is fine
    except NoReverseMatch:
        return False
    if not url:
        return False
    try:
        reverse(url)
    except NoReverseMatch:
        pass
    else:
        return True
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return bool(parts.netloc)
    prefix = get_script_prefix()
    path = parts.path
    if path.startswith(prefix):
        path = "/" + path.removeprefix(prefix)
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def _check_private_networks() -> list[CheckMessage]:
    """E052: ``AUTH_CODE_FLOW_ALLOWED_PRIVATE_NETWORKS`` lists private networks only."""
    value: object = getattr(settings, "AUTH_CODE_FLOW_ALLOWED_PRIVATE_NETWORKS", ())
    hint = (
        'A list of private networks in CIDR form, e.g. ["10.20.0.0/16", "fd12:3456::/48"], '
        "inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10 or fc00::/7; "
        "loopback, link-local and public addresses cannot be allowed."
    )
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        return [
            Error(
                "AUTH_CODE_FLOW_ALLOWED_PRIVATE_NETWORKS must be a list of networks.",
                hint=hint,
                id=_id(52),
            )
        ]
    errors: list[CheckMessage] = []
    for network in value:
        try:
            private_network(network)
        except ValueError as exc:
            errors.append(
                Error(
                    f"AUTH_CODE_FLOW_ALLOWED_PRIVATE_NETWORKS: {exc}.",
                    hint=hint,
                    id=_id(52),
                )
            )
    return errors
