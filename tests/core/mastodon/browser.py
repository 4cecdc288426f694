"""A real headless Debian chromium, driven with selenium through /usr/bin/chromedriver."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage")


def available() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


needs_chromium = pytest.mark.skipif(
    not available(), reason="needs Debian's chromium and chromium-driver "
                            "(packaging/sysdeps.sh test installs them)")


@contextmanager
def chromium() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="avatar-studio-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def press(driver: Any, url: str, button: str = "authorize") -> str:
    """Open the authorize page, press a button, return the text of the page it leads to."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    driver.get(url)
    pressed = driver.find_element(By.ID, button)
    pressed.click()
    WebDriverWait(driver, 20).until(expected_conditions.staleness_of(pressed))

    def loaded_text(d: Any) -> str | bool:
        # Right after the old page goes stale the next one may still be replacing it:
        # a body found then can belong to a document that is already gone ("Node with
        # given id does not belong to the document"). Ask again until it has settled.
        try:
            if d.execute_script("return document.readyState") != "complete":
                return False
            return str(d.find_element(By.TAG_NAME, "body").text) or False
        except WebDriverException:
            return False

    return str(WebDriverWait(driver, 20).until(
        loaded_text, message=f"the page after pressing {button!r} never finished loading"))
