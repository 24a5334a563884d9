"""The core (the flow manager and the modules it is made of) imports no Django."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

CORE = (
    "auth_code_flow_django.flow",
    "auth_code_flow_django.provider_http",
    "auth_code_flow_django.token_replies",
    "auth_code_flow_django.endpoints",
    "auth_code_flow_django.exceptions",
    "auth_code_flow_django.server_metadata",
    "auth_code_flow_django.id_tokens",
    "auth_code_flow_django.core",
    "auth_code_flow_django.core.rfc7638",
    "auth_code_flow_django.core.client_auth",
    "auth_code_flow_django.core.rfc9126_par",
    "auth_code_flow_django.core.rfc9449_dpop",
)


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_django(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_every_name_the_seed_face_exported_is_still_importable() -> None:
    from auth_code_flow_django import flow

    for name in (
        "AbstractBaseFlowManager",
        "ClientAuthMethod",
        "CLIENT_AUTH_METHODS",
        "TokenResponse",
        "code_challenge_s256",
        "decode_body",
        "make_code_verifier",
        "make_state",
        "new_session",
        "parse_expires_in",
        "states_match",
        "MAX_EXPIRES_IN",
        "MAX_STORED_LENGTH",
    ):
        assert hasattr(flow, name), name


def test_the_core_package_imports_nothing_above_it() -> None:
    """Imports only point down: the specification modules import neither the flow
    manager nor anything of the Django layer."""
    code = (
        "import sys, auth_code_flow_django.core.client_auth, "
        "auth_code_flow_django.core.rfc9126_par, auth_code_flow_django.core.rfc9449_dpop; "
        "print(sorted(m for m in sys.modules if m.startswith('auth_code_flow_django.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded = set(ast.literal_eval(result.stdout))
    assert loaded <= {
        "auth_code_flow_django.core",
        "auth_code_flow_django.core.rfc7638",
        "auth_code_flow_django.core.client_auth",
        "auth_code_flow_django.core.rfc9126_par",
        "auth_code_flow_django.core.rfc9449_dpop",
        "auth_code_flow_django.exceptions",
    }, loaded
