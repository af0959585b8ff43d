"""A real Chromium for the page tests: Debian's chromium driven by Playwright, a phone-sized
window by default, and a screenshot of each step kept with the test's files."""

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright

PHONE = {"width": 390, "height": 844}


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "no chromium: scripts/ensure-chromium.sh installs Debian's package"
    return path


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        # The machines tests run on are containers where Chromium's sandbox cannot start.
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            await browser.close()


async def fits_the_width(page: Page) -> bool:
    """No horizontal scrolling: the page is no wider than its window."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    return bool(width <= page.viewport_size["width"]) if page.viewport_size else True


async def snapshot(page: Page, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    await page.screenshot(path=path, full_page=True)
    return path
