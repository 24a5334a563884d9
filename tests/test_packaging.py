"""The package ships what it needs, and its version follows the changelog."""

from __future__ import annotations

import os
import re
import sysconfig
from importlib import resources
from pathlib import Path

import pytest
from packaging.version import Version

import auth_code_flow_django

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = resources.files("auth_code_flow_django")


def test_py_typed_is_installed() -> None:
    assert PACKAGE.joinpath("py.typed").is_file()


@pytest.mark.parametrize("name", ["base", "connections", "authorize", "error"])
def test_templates_are_installed(name: str) -> None:
    assert PACKAGE.joinpath("templates", "auth_code_flow_django", f"{name}.html").is_file()


def test_migrations_are_installed() -> None:
    migrations = PACKAGE.joinpath("migrations")
    assert migrations.joinpath("0001_initial.py").is_file()


def test_installed_run_imports_the_installed_package() -> None:
    # .ci/package.sh sets this when it runs the suite against the built wheel.
    if not os.environ.get("AUTH_CODE_FLOW_TEST_INSTALLED"):
        pytest.skip("runs against an installed wheel only (bash .ci/package.sh)")
    site_packages = Path(sysconfig.get_paths()["purelib"]).resolve()
    assert site_packages in Path(auth_code_flow_django.__file__).resolve().parents


def changelog_sections() -> list[str]:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    return re.findall(r"^## \[([^\]]+)\]", text, flags=re.MULTILINE)


def test_version_follows_the_changelog() -> None:
    sections = changelog_sections()
    assert sections, "CHANGELOG.md has no '## [...]' section"
    version = Version(auth_code_flow_django.__version__)
    released = [Version(s) for s in sections if s != "Unreleased"]
    if sections[0] == "Unreleased":
        # Work towards the next release: a development version above the last release.
        assert version.is_devrelease
        assert all(version > r for r in released)
    else:
        assert version == Version(sections[0])
    assert released == sorted(released, reverse=True)


def test_classifiers_name_the_versions_tox_tests() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    tox = (ROOT / "tox.ini").read_text(encoding="utf-8")
    envs = re.search(r"^env_list\s*=\s*\n((?:[ \t]+\S.*\n)+)", tox, flags=re.MULTILINE)
    assert envs
    pythons: set[str] = set()
    djangos: set[str] = set()
    for line in envs[1].split():
        for major, minor in re.findall(r"py(\d)(\d+)-django", line):
            pythons.add(f"{major}.{minor}")
        for group in re.findall(r"-django\{?([\d,]+)\}?", line):
            djangos.update(f"{v[0]}.{v[1:]}" for v in group.split(","))
    classified_pythons = set(
        re.findall(r'"Programming Language :: Python :: (\d\.\d+)"', pyproject)
    )
    classified_djangos = set(re.findall(r'"Framework :: Django :: (\d\.\d+)"', pyproject))
    assert pythons == classified_pythons
    assert djangos == classified_djangos
