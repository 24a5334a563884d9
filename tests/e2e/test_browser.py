"""A real browser (Chromium, driven by Playwright) through the example project.

The site is started with the README's command (``manage.py demo``) as a subprocess on
a free port. Each step leaves a screenshot in ``tests/e2e/screenshots/``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import require
from .servers import free_port, manage_py_server

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("AUTH_CODE_FLOW_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    require("browser", sync_playwright is not None, "needs the playwright package")
    require("browser", Path(CHROMIUM).exists(), f"needs Chromium at {CHROMIUM}")
    assert sync_playwright is not None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    folder = tmp_path_factory.mktemp("example-site")
    env = {
        "EXAMPLE_DATABASE": str(folder / "db.sqlite3"),
        "DEMO_PROVIDER_URL": f"http://localhost:{port}",
        "DJANGO_SETTINGS_MODULE": "example.settings",
    }
    with manage_py_server(["demo", f"127.0.0.1:{port}"], port, env, folder / "site.log"):
        yield f"http://127.0.0.1:{port}"


class Steps:
    def __init__(self) -> None:
        if SCREENSHOTS.exists():
            shutil.rmtree(SCREENSHOTS)
        SCREENSHOTS.mkdir(parents=True)
        self.count = 0

    def shot(self, page: Any, name: str) -> Path:
        self.count += 1
        path = SCREENSHOTS / f"{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


def log_in(page: Any, username: str) -> None:
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"{username}-demo-password")
    page.click("button[type=submit], input[type=submit]")


def test_connect_inspect_and_disconnect_in_a_browser(chromium: Any, example_site: str) -> None:
    steps = Steps()
    context = chromium.new_context(viewport={"width": 1000, "height": 700})
    page = context.new_page()

    page.goto(f"{example_site}/")
    assert page.locator("h1").inner_text() == "auth-code-flow-django example"
    steps.shot(page, "home-logged-out")

    page.goto(f"{example_site}/accounts/login/")
    log_in(page, "alice")
    page.wait_for_url(f"{example_site}/")
    assert "Signed in as alice" in page.locator("nav").inner_text()
    assert page.locator("#connect-hint").count() == 1

    page.goto(f"{example_site}/oauth/")
    demo_row = page.locator('[data-provider="demo"]')
    assert demo_row.locator("[data-status]").get_attribute("data-status") == "none"
    steps.shot(page, "connections-not-connected")

    demo_row.locator("button", has_text="Connect").click()
    page.wait_for_url(re.compile(r"^http://localhost:\d+/accounts/login/"))
    assert "Demo provider" in page.content()
    steps.shot(page, "provider-login")

    log_in(page, "alice")
    page.wait_for_url(re.compile(r"^http://localhost:\d+/o/authorize/"))
    assert page.locator("input[name=allow]").count() == 1
    steps.shot(page, "provider-approve")

    page.click("input[name=allow]")
    page.wait_for_url(f"{example_site}/oauth/")
    demo_row = page.locator('[data-provider="demo"]')
    assert demo_row.locator("[data-status]").get_attribute("data-status") == "active"
    assert "Connected to Demo provider." in page.content()
    assert demo_row.locator(".acf-account").inner_text() == "Connected as alice"
    connected = steps.shot(page, "connections-connected")

    page.goto(f"{example_site}/")
    assert "'username': 'alice'" in page.locator("#api-result").inner_text()
    assert page.locator("#connect-hint").count() == 0
    assert page.locator("#connected-hint").count() == 1
    steps.shot(page, "home-api-call")

    # Tall enough for the whole admin sidebar: it scrolls on its own, so a full-page
    # screenshot alone would cut it off.
    admin = chromium.new_context(viewport={"width": 1400, "height": 640}).new_page()
    admin.goto(f"{example_site}/admin/auth_code_flow_django/oauthtoken/")
    log_in(admin, "admin")
    admin.wait_for_url(re.compile(r".*/admin/auth_code_flow_django/oauthtoken/$"))
    rows = admin.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "alice" in rows.first.inner_text()
    assert "active" in rows.first.inner_text()
    last_link = admin.locator("#nav-sidebar a", has_text="Pending authorizations").bounding_box()
    assert last_link is not None
    assert last_link["y"] + last_link["height"] <= 640, "the screenshot would crop the sidebar"
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", rows.first.inner_text())
    admin_list = steps.shot(admin, "admin-token-list")
    rows.first.locator("th a").click()
    masked = admin.locator(".field-masked_access_token .readonly").inner_text()
    assert re.fullmatch("\u2022{8}[A-Za-z0-9]{4}", masked), masked
    assert admin.locator("textarea, input[name=access_token_encrypted]").count() == 0
    steps.shot(admin, "admin-token-detail")

    page.goto(f"{example_site}/oauth/")
    page.locator('[data-provider="demo"] button', has_text="Disconnect").click()
    page.wait_for_url(f"{example_site}/oauth/")
    demo_row = page.locator('[data-provider="demo"]')
    assert demo_row.locator("[data-status]").get_attribute("data-status") == "none"
    assert "Disconnected from Demo provider." in page.content()
    steps.shot(page, "disconnected")

    admin.reload()
    assert admin.locator("#result_list tbody tr").count() == 0 or "0 OAuth tokens" in (
        admin.content()
    )
    context.close()

    if os.environ.get("AUTH_CODE_FLOW_UPDATE_DOCS_SCREENSHOTS"):
        shutil.copy(connected, DOCS / "connections.png")
        shutil.copy(admin_list, DOCS / "admin.png")


def test_connect_by_issuer_alone_with_openid_connect_in_a_browser(
    chromium: Any, example_site: str
) -> None:
    """The example's "demo-openid" provider is configured by its issuer alone: the site
    discovers the demo server, sends a nonce and checks the RS256 ID token."""
    context = chromium.new_context(viewport={"width": 1000, "height": 700})
    page = context.new_page()
    page.goto(f"{example_site}/accounts/login/")
    log_in(page, "bob")
    page.wait_for_url(f"{example_site}/")

    page.goto(f"{example_site}/oauth/")
    row = page.locator('[data-provider="demo-openid"]')
    assert row.locator("[data-status]").get_attribute("data-status") == "none"
    row.locator("button", has_text="Connect").click()
    page.wait_for_url(re.compile(r"^http://localhost:\d+/accounts/login/"))
    log_in(page, "bob")
    page.wait_for_url(re.compile(r"^http://localhost:\d+/o/authorize/\?.*nonce="))
    page.click("input[name=allow]")
    page.wait_for_url(f"{example_site}/oauth/")
    row = page.locator('[data-provider="demo-openid"]')
    assert row.locator("[data-status]").get_attribute("data-status") == "active"
    assert "Connected to Demo provider (OpenID Connect)." in page.content()
    # The ID token names the account (its profile claims), not only its subject.
    assert row.locator(".acf-account").inner_text() == "Connected as bob"
    # The home page calls the demo server's API through the connected provider.
    page.goto(f"{example_site}/")
    assert "'username': 'bob'" in page.locator("#api-result").inner_text()

    page.goto(f"{example_site}/oauth/")
    row = page.locator('[data-provider="demo-openid"]')
    row.locator("button", has_text="Disconnect").click()
    page.wait_for_url(f"{example_site}/oauth/")
    row = page.locator('[data-provider="demo-openid"]')
    assert row.locator("[data-status]").get_attribute("data-status") == "none"
    context.close()
