"""The modules of ``auth_code_flow_django.tokens`` import only the ones below them, and
never the package itself, whose ``__init__`` only re-exports their public names."""

from __future__ import annotations

import ast
from importlib import resources

import pytest

#: Top to bottom, as the package's docstring lists them.
LAYERS = (
    "sessions",
    "connecting",
    "refreshing",
    "accounts",
    "api_urls",
    "revocation",
    "claims",
    "transactions",
    "rows",
)

PACKAGE = resources.files("auth_code_flow_django").joinpath("tokens")


def imported_siblings(module: str) -> set[str]:
    """The package's modules ``module`` imports (``""`` for the package itself)."""
    tree = ast.parse(PACKAGE.joinpath(f"{module}.py").read_text(encoding="utf-8"))
    siblings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            name = node.module or ""
            if node.level == 1:
                siblings.add(name.split(".")[0])
            elif node.level == 0 and name.startswith("auth_code_flow_django.tokens"):
                siblings.add(name.removeprefix("auth_code_flow_django.tokens").lstrip("."))
            elif node.level == 2 and name.split(".")[0] == "tokens":
                siblings.add(name.removeprefix("tokens").lstrip("."))
            elif node.level == 2 and not name and any(a.name == "tokens" for a in node.names):
                siblings.add("")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("auth_code_flow_django.tokens"):
                    siblings.add(alias.name.removeprefix("auth_code_flow_django.tokens"))
    return siblings


def test_every_module_of_the_package_has_its_layer() -> None:
    modules = {
        entry.name.removesuffix(".py")
        for entry in PACKAGE.iterdir()
        if entry.name.endswith(".py") and entry.name != "__init__.py"
    }
    assert modules == set(LAYERS)


@pytest.mark.parametrize("module", LAYERS)
def test_a_module_imports_only_the_modules_below_it(module: str) -> None:
    below = set(LAYERS[LAYERS.index(module) + 1 :])
    assert imported_siblings(module) <= below


def test_the_package_re_exports_its_public_names() -> None:
    from auth_code_flow_django import tokens

    for name in (
        *tokens.__all__,
        "BearerAuth",
        "ClaimedElsewhere",
        "POLL_SECONDS",
        "check_api_url",
        "connect_signals",
        "connection_api_base",
        "refresh_read",
    ):
        value = getattr(tokens, name)
        if callable(value):
            assert value.__module__.startswith("auth_code_flow_django.tokens."), name
