"""A real server and headless Chromium (Debian's ``chromium``) driven by Playwright.

The browser tests skip, saying why, when Playwright or a Chromium binary is missing;
``make test`` installs both on a fresh Debian machine.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.service.conftest import FAST_LEASES, Server, start_server

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    """The Chromium binary to drive: ``OPENQPU_TEST_CHROMIUM``, else one on PATH."""
    configured = os.environ.get("OPENQPU_TEST_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server with one worker on SQLite for every browser test; tests use their own users."""
    folder = tmp_path_factory.mktemp("web")
    running = start_server(
        f"sqlite:///{folder / 'openqpu.db'}", folder / "server.log", extra_env=FAST_LEASES
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium, shared by every browser test; skips them when Playwright or
    Chromium is missing."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed (pip install -e '.[dev]')"
    )
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium found (apt-get install chromium, or set OPENQPU_TEST_CHROMIUM)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield launched
        finally:
            launched.close()


class Console:
    """Console errors and uncaught exceptions of a page; some HTTP statuses may be expected."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.expected: list[re.Pattern[str]] = []

    def expect(self, pattern: str) -> None:
        """Allow console errors matching ``pattern`` (a 4xx the test provokes on purpose)."""
        self.expected.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        """The errors no ``expect`` allowed."""
        return [e for e in self.errors if not any(p.search(e) for p in self.expected)]


@pytest.fixture
def console() -> Console:
    """Collects what the test's pages report."""
    return Console()


def _page(browser: Any, console: Console, viewport: dict[str, int]) -> Iterator[Any]:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.on("console", lambda m: m.type == "error" and console.errors.append(m.text))
    page.on("pageerror", lambda exc: console.errors.append(f"uncaught: {exc}"))
    try:
        yield page
    finally:
        context.close()
    assert not console.unexpected(), f"console errors: {console.unexpected()}"


@pytest.fixture
def page(browser: Any, console: Console) -> Iterator[Any]:
    """A fresh laptop-sized tab (its own sessionStorage); fails on console errors."""
    yield from _page(browser, console, {"width": 1280, "height": 800})


@pytest.fixture
def phone(browser: Any, console: Console) -> Iterator[Any]:
    """A fresh phone-sized tab (390 x 844); fails on console errors."""
    yield from _page(browser, console, {"width": 390, "height": 844})
