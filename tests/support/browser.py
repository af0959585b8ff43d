"""A real Chromium for the page tests: Debian's chromium driven by Playwright, a phone-sized
window by default, a screenshot of each step kept with the test's files, and axe-core's
accessibility check."""

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from axe_playwright_python.async_playwright import Axe
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


AXE = Axe()


async def accessibility_problems(page: Page) -> list[str]:
    """The serious and critical violations axe-core finds on the page as it is now, each with
    the elements it names (empty when there is none)."""
    results = await AXE.run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']}: "
        + ", ".join(str(node["target"]) for node in violation["nodes"])
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
