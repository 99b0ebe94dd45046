"""Open a page in Debian's headless Chromium through Playwright (never `playwright install`)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    """$PRSYNTH_CHROMIUM, else the first Chromium on PATH."""
    configured = os.environ.get("PRSYNTH_CHROMIUM")
    if configured:
        return configured
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """The browser's path; without one, skip locally and fail in CI (which installs it)."""
    path = chromium_path()
    if path:
        return path
    message = (
        "Chromium is missing: install Debian's package (apt-get install -y chromium) "
        "or set PRSYNTH_CHROMIUM to a Chromium binary"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def open_page(html_file: Path) -> Iterator[tuple[Any, list[str]]]:
    """Yield (page, errors) for a local HTML file; `errors` collects script and console errors."""
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            page.on("console", lambda msg: errors.append(f"console: {msg.text}")
                    if msg.type == "error" else None)
            page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"),
                                              dialog.dismiss()))
            page.goto(html_file.resolve().as_uri())
            page.wait_for_load_state("load")
            yield page, errors
        finally:
            browser.close()
