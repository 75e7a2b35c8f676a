"""Headless Chromium (Debian's chromium and chromium-driver) driven by selenium, for the report tests.

The browser starts with a fresh profile and without any network service of its own (no sync, no
component updates, no background requests), so a test sees only what the page itself loads.
`DUBKIT_REQUIRE_TEST_DATA=1` turns a missing browser into a failure instead of a skip.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMIUM = ("chromium", "chromium-browser")
DRIVER = "chromedriver"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--window-size=1280,1600", "--hide-scrollbars", "--force-device-scale-factor=1")


def _need(what: str) -> None:
    message = f"{what} is not installed (apt-get install chromium chromium-driver; pip install selenium)"
    if os.environ.get("DUBKIT_REQUIRE_TEST_DATA") == "1":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def chromium(downloads: str | None = None) -> Iterator:
    """A selenium WebDriver on headless Chromium with a fresh --user-data-dir (removed afterwards)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _need("selenium")
    binary = next((shutil.which(name) for name in CHROMIUM if shutil.which(name)), None)
    driver_path = shutil.which(DRIVER)
    if binary is None or driver_path is None:
        _need("chromium or chromium-driver")
    profile = tempfile.mkdtemp(prefix="dubkit-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    if downloads:
        options.add_experimental_option("prefs", {"download.default_directory": downloads,
                                                  "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        driver.set_page_load_timeout(60)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
