"""Search previews in a real headless Chromium: on the landing page without JavaScript, and on
the manage page, served by the real function over real HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from jobalerts.models import Post
from jobalerts.preview import remember
from jobalerts_local.http import ApiServer
from jobalerts_local.template import LocalStack
from tests.e2e.test_accessibility import axe_source as axe_source
from tests.e2e.test_accessibility import axe_violations
from tests.e2e.test_web_pages import browser as browser
from tests.e2e.test_web_pages import click_and_wait, manage_page, no_alert
from tests.e2e.test_web_pages import server as server
from tests.support import stores

pytestmark = pytest.mark.e2e


@pytest.fixture
def recent_posts(clock: datetime, stack: LocalStack) -> list[Post]:
    """Given posts of the last days, stored and in the previews' window."""
    posts = [
        Post(
            id=f"x#{n}",
            source="x",
            author_handle=author,
            text=text,
            url=f"https://x.com/{author}/status/{n}",
            created_at=clock - timedelta(hours=hours),
        )
        for n, (author, text, hours) in enumerate(
            [
                ("acme", "Hiring a python developer, remote", 1),
                ("globex", "python <img src=x onerror=alert(1)> in berlin", 2),
                ("initech", "Rust engineer, remote", 3),
                ("acme", "python data engineer", 50),
            ]
        )
    ]
    store = stores.posts()
    for post in posts:
        store.put_new(post)
    remember(stores.recent(), posts, clock)
    return posts


def test_someone_previews_a_search_on_the_landing_page_without_javascript(
    recent_posts: list[Post], server: ApiServer, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    # Given a browser with JavaScript switched off, on the landing page
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    browser.get(f"{server.base_url}/")

    # When they type a search and press Preview (next to Subscribe)
    browser.find_element(By.ID, "query").send_keys("python")
    click_and_wait(browser, By.ID, "preview-button")

    # Then the page shows how many posts matched per day and the newest ones, like a digest
    preview = browser.find_element(By.ID, "preview")
    assert "3 posts of the last 7 days would have matched" in preview.text
    counts = [c.text for c in preview.find_elements(By.CSS_SELECTOR, "#preview-days td.count")]
    assert len(counts) == 7
    assert counts[-1] == "2"
    articles = preview.find_elements(By.TAG_NAME, "article")
    assert len(articles) == 3
    assert "@acme" in articles[0].text
    # And the hostile post is shown as text, running nothing
    assert "<img src=x onerror=alert(1)>" in articles[1].text
    assert no_alert(browser)
    # And the search is still in the form, nothing subscribed
    assert browser.find_element(By.ID, "query").get_attribute("value") == "python"


def test_a_malformed_preview_shows_the_column_on_the_landing_page(
    recent_posts: list[Post], server: ApiServer, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{server.base_url}/")
    browser.find_element(By.ID, "query").send_keys("python (remote")
    click_and_wait(browser, By.ID, "preview-button")

    assert "column 8" in browser.find_element(By.ID, "subscribe-error").text
    assert not browser.find_elements(By.ID, "preview")


def test_a_subscriber_previews_a_search_on_the_manage_page(
    recent_posts: list[Post], server: ApiServer, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    # Given a subscriber on their manage page
    manage_page(server, browser, "pia@example.com", "golang")

    # When they type a search in "Add a search" and press Preview
    browser.find_element(By.CSS_SELECTOR, "#add-search input[name=query]").send_keys("remote")
    click_and_wait(browser, By.ID, "preview-button")

    # Then the manage page shows the preview, and nothing was added
    preview = browser.find_element(By.ID, "preview")
    assert "2 posts of the last 7 days would have matched" in preview.text
    assert len(preview.find_elements(By.TAG_NAME, "article")) == 2
    searches = browser.find_elements(By.CSS_SELECTOR, "#searches td.query")
    assert [cell.text for cell in searches] == ["golang"]


def test_pages_with_a_preview_have_no_serious_axe_violation_in_light_or_dark_mode(
    recent_posts: list[Post],
    server: ApiServer,
    browser: Any,
    axe_source: str,
) -> None:
    from selenium.webdriver.common.by import By

    # Given the landing page and a manage page, each showing a preview
    browser.get(f"{server.base_url}/")
    browser.find_element(By.ID, "query").send_keys("python")
    click_and_wait(browser, By.ID, "preview-button")
    assert browser.find_element(By.ID, "preview").is_displayed()
    landing = axe_violations(browser, axe_source)
    manage_page(server, browser, "axe@example.com", "golang")
    browser.find_element(By.CSS_SELECTOR, "#add-search input[name=query]").send_keys("remote")
    click_and_wait(browser, By.ID, "preview-button")
    assert browser.find_element(By.ID, "preview").is_displayed()
    manage = axe_violations(browser, axe_source)
    # Then axe finds nothing serious or critical on either, in light or dark mode
    assert (landing, manage) == ([], [])
