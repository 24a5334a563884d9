"""The layers: the core (the flow manager and the specification modules it is made of)
imports no Django and nothing above it, and every import in the package points down."""

from __future__ import annotations

import ast
import graphlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import auth_code_flow_django
import auth_code_flow_django.core

PACKAGE = Path(auth_code_flow_django.__file__).parent
CORE = sorted(
    f"auth_code_flow_django.core.{info.name}"
    for info in pkgutil.iter_modules(auth_code_flow_django.core.__path__)
)
#: The faces the seed API promises, made of the core alone.
FACES = ("auth_code_flow_django.flow", "auth_code_flow_django.exceptions")


def loaded_by(module: str) -> list[str]:
    """The modules a fresh interpreter has loaded after importing ``module``."""
    code = f"import sys, {module}; print(sorted(sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded: list[str] = ast.literal_eval(result.stdout)
    return loaded


def test_the_core_has_its_specification_modules() -> None:
    for name in (
        "rfc6749_authorization",
        "rfc6749_token_requests",
        "rfc6749_token_replies",
        "rfc7009_revocation",
        "rfc7636_pkce",
        "rfc8414_server_metadata",
        "rfc9126_par",
        "rfc9449_dpop",
        "client_auth",
        "oidc_id_tokens",
        "flow_manager",
    ):
        assert f"auth_code_flow_django.core.{name}" in CORE, name


@pytest.mark.parametrize("module", [*CORE, "auth_code_flow_django.core", *FACES])
def test_core_module_imports_no_django_and_nothing_above_the_core(module: str) -> None:
    loaded = loaded_by(module)
    assert [m for m in loaded if m == "django" or m.startswith("django.")] == []
    ours = {m for m in loaded if m.startswith("auth_code_flow_django.")}
    assert ours <= {"auth_code_flow_django.core", *CORE, *FACES}, ours - set(CORE)
    if module not in FACES:
        assert not ours & set(FACES), ours & set(FACES)


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
    assert set(flow.__all__) <= set(dir(flow))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_graph() -> dict[str, set[str]]:
    """Each module of the package and the modules of the package it imports at run
    time (at module level or in a function; not under ``TYPE_CHECKING``)."""
    paths = {
        _module_name(path): path
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts
    }
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()

        def visit(node: ast.AST, package: str = package, found: set[str] = found) -> None:
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                for child in node.orelse:
                    visit(child)
                return
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    module = node.module or ""
                for alias in node.names:
                    full = f"{module}.{alias.name}"
                    found.add(full if full in paths else module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            for child in ast.iter_child_nodes(node):
                visit(child)

        visit(ast.parse(path.read_text(encoding="utf-8")))
        graph[name] = {module for module in found if module in paths and module != name}
    return graph


def test_imports_only_point_down() -> None:
    """No cycle among the package's modules, and the Django layer's order holds: the
    entry points over ``tokens``, over ``models``, over ``providers``, over the core."""
    graph = import_graph()
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError on a cycle

    def reaches(start: str) -> set[str]:
        seen: set[str] = set()
        pending = [start]
        while pending:
            for module in graph.get(pending.pop(), ()):
                if module not in seen:
                    seen.add(module)
                    pending.append(module)
        return seen

    entry_points = {"auth_code_flow_django.views", "auth_code_flow_django.admin"}
    for lower, above in (
        ("auth_code_flow_django.tokens", entry_points),
        ("auth_code_flow_django.models", {"auth_code_flow_django.tokens", *entry_points}),
        (
            "auth_code_flow_django.providers",
            {"auth_code_flow_django.models", "auth_code_flow_django.tokens", *entry_points},
        ),
    ):
        reached = {m.partition(".")[2].partition(".")[0] for m in reaches(lower)}
        forbidden = {m.partition(".")[2] for m in above}
        assert not reached & forbidden, (lower, reached & forbidden)


def test_no_module_is_much_over_400_lines() -> None:
    """Modules stay small and named for what they hold: one over about 400 lines is
    split by concern, as the core is by specification."""
    long = {
        str(path.relative_to(PACKAGE)): length
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts
        and (length := len(path.read_text(encoding="utf-8").splitlines())) > 420
    }
    assert long == {}
