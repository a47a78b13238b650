"""Browser tests: a real headless Chromium (Debian's, /usr/bin/chromium; `make chromium`
installs it) driven by Playwright against pytest-django's live server. Playwright's own
browser download is never used. Skipped, with the reason, where Chromium is missing."""

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("LAUREL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch):
    """Playwright's sync API runs an event loop in this thread; the test's own ORM calls
    (fixtures, checks) are plain synchronous code all the same. Only for these tests: the
    variable must not reach other processes (`check --deploy` refuses it)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing: run `make chromium` "
                            "(apt-get install chromium) for the browser tests")
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture
def browser():
    """A Chromium per test: Playwright's event loop then ends with the test, before
    pytest-django flushes the database (which must not run inside an event loop)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
