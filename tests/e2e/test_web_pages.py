"""The web pages in a real headless Chromium, served by the real function over real HTTP.

The function runs in this process behind `ApiServer` (a thread), so moto's in-process mock
serves its AWS calls; the browser talks plain HTTP to 127.0.0.1.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from jobalerts.models import SubscriberStatus
from jobalerts_local.http import ApiServer
from jobalerts_local.outbox import sent_emails
from jobalerts_local.runtime import http_event, invoke
from jobalerts_local.template import LocalStack
from tests.support import stores

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HOSTILE_QUERY = '"><img src=x onerror=alert(1)>" <script>alert(2)</script>'
HOSTILE_BROKEN_QUERY = 'python "><img src=x onerror=alert(3)>'


@pytest.fixture
def server(stack: LocalStack) -> Iterator[ApiServer]:
    """Given the subscriptions function behind a real HTTP server on a random port."""
    lock = threading.Lock()

    def handle(event: dict[str, Any]) -> dict[str, Any]:
        with lock:  # moto's in-process backends are not meant for concurrent writers
            response: dict[str, Any] = invoke("subscriptions", event)
            return response

    with ApiServer(handler=handle, port=0) as running:
        yield running


@pytest.fixture
def browser() -> Iterator[Any]:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        # A browser test that quietly skips proves nothing: fail and say how to get one.
        pytest.fail("chromium and chromedriver are missing: run `make browser`")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def subscribe(body: dict[str, Any]) -> str:
    """Subscribe through the API; returns the token of the emailed confirm link."""
    import json

    response = invoke(
        "subscriptions",
        http_event(
            "POST",
            "/subscriptions",
            body=json.dumps(body),
            headers={"content-type": "application/json"},
        ),
    )
    assert response["statusCode"] == 202
    link = next(link for link in sent_emails()[-1].links() if "/confirm?" in link)
    return parse_qs(urlparse(link).query)["t"][0]


def no_alert(driver: Any) -> bool:
    from selenium.common.exceptions import NoAlertPresentException

    try:
        driver.switch_to.alert  # noqa: B018 - the property raises when there is no alert
    except NoAlertPresentException:
        return True
    return False


def click_and_wait(driver: Any, by: str, value: str, within: Any = None) -> None:
    """Click something that loads a new page, and wait until the old page is gone."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old_page = driver.find_element(By.TAG_NAME, "html")
    (within or driver).find_element(by, value).click()
    # While the page is swapped chromedriver can answer "node does not belong to the document"
    # instead of "stale"; both mean the old page is going, so keep polling.
    WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(
        expected_conditions.staleness_of(old_page)
    )


def in_zone(driver: Any, zone: str) -> None:
    """Make the browser report `zone` as its own (Chrome DevTools emulation)."""
    driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": zone})


def script_sources(driver: Any) -> list[str]:
    from selenium.webdriver.common.by import By

    return [tag.get_attribute("src") for tag in driver.find_elements(By.TAG_NAME, "script")]


def query_cells(driver: Any) -> list[str]:
    from selenium.webdriver.common.by import By

    return [cell.text for cell in driver.find_elements(By.CSS_SELECTOR, "#searches td.query")]


def test_a_subscriber_confirms_manages_searches_and_unsubscribes_in_a_browser(
    server: ApiServer, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    # Given a pending subscriber who opens the link from their confirmation email
    token = subscribe(
        {
            "email": "ana@example.com",
            "timezone": "Europe/Berlin",
            "query": "python remote -senior",
            "channel": "email",
            "frequency": "daily",
        }
    )
    browser.get(f"{server.base_url}/confirm?t={token}")
    assert browser.find_element(By.ID, "title").text == "Confirm your job alerts"

    # When they press the confirm button
    click_and_wait(browser, By.ID, "confirm")

    # Then they land on their manage page, confirmed, with their first search
    assert "/manage?" in browser.current_url
    assert "confirmed" in browser.find_element(By.ID, "notice").text
    assert query_cells(browser) == ["python remote -senior"]
    subscriber = stores.subscribers().find_by_email("ana@example.com")
    assert subscriber is not None
    assert subscriber.status is SubscriberStatus.ACTIVE

    # When they add a search with a syntax error
    browser.find_element(By.ID, "query").send_keys("python (remote")
    click_and_wait(browser, By.ID, "add")

    # Then the error is shown inline with its column, and what they typed is kept
    error = browser.find_element(By.ID, "search-error").text
    assert "column 8" in error
    assert browser.find_element(By.ID, "query").get_attribute("value") == "python (remote"

    # When they fix it and add it weekly
    field = browser.find_element(By.ID, "query")
    field.clear()
    field.send_keys('"data engineer" (berlin OR remote)')
    Select(browser.find_element(By.ID, "frequency")).select_by_value("weekly")
    click_and_wait(browser, By.ID, "add")

    # Then it is listed
    assert query_cells(browser) == ["python remote -senior", '"data engineer" (berlin OR remote)']
    assert "weekly" in browser.find_element(By.ID, "searches").text

    # When they delete the first one
    row = browser.find_element(By.CSS_SELECTOR, "#searches tbody tr")
    click_and_wait(browser, By.CSS_SELECTOR, "button[name=delete]", within=row)

    # Then only the second is left
    assert query_cells(browser) == ['"data engineer" (berlin OR remote)']

    # When they pick another timezone from the list (their stored one is preselected)
    assert browser.find_element(By.ID, "timezone").get_attribute("value") == "Europe/Berlin"
    Select(browser.find_element(By.ID, "timezone")).select_by_value("Asia/Tokyo")
    Select(browser.find_element(By.ID, "digest_hour")).select_by_value("7")
    click_and_wait(browser, By.ID, "save-settings")
    assert browser.find_element(By.ID, "timezone").get_attribute("value") == "Asia/Tokyo"
    saved = stores.subscribers().get(subscriber.subscriber_id)
    assert (saved.timezone, saved.digest_hour) == ("Asia/Tokyo", 7)

    # When they follow the unsubscribe link and press the button
    click_and_wait(browser, By.ID, "unsubscribe-link")
    assert browser.find_element(By.ID, "title").text == "Unsubscribe from job alerts?"
    click_and_wait(browser, By.ID, "unsubscribe")

    # Then they are told so, and nothing more will be sent
    assert browser.find_element(By.ID, "title").text == "You are unsubscribed"
    final = stores.subscribers().get(subscriber.subscriber_id)
    assert final.status is SubscriberStatus.UNSUBSCRIBED


def test_hostile_queries_are_shown_as_text_and_run_no_script(
    server: ApiServer, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    # Given a confirmed subscriber whose first search is hostile markup
    token = subscribe(
        {
            "email": "mallory@example.com",
            "timezone": "UTC",
            "query": HOSTILE_QUERY,
            "channel": "email",
            "frequency": "daily",
        }
    )
    browser.get(f"{server.base_url}/confirm?t={token}")
    click_and_wait(browser, By.ID, "confirm")

    # Then the manage page shows it as text: no image, no script, no alert, no side effect
    assert query_cells(browser) == [HOSTILE_QUERY]
    assert browser.find_elements(By.CSS_SELECTOR, "main img") == []
    assert script_sources(browser) == [f"{server.base_url}/static/timezone.js"]
    assert no_alert(browser)

    # When a hostile search with a syntax error is submitted
    browser.find_element(By.ID, "query").send_keys(HOSTILE_BROKEN_QUERY)
    click_and_wait(browser, By.ID, "add")

    # Then it is echoed in the error as text, still without running anything
    error = browser.find_element(By.ID, "search-error")
    assert "column 8" in error.text
    assert "<img src=x onerror=alert(3)>" in error.text
    assert error.find_elements(By.TAG_NAME, "img") == []
    assert browser.find_element(By.ID, "query").get_attribute("value") == HOSTILE_BROKEN_QUERY
    assert no_alert(browser)


def test_someone_signs_up_on_the_landing_page_and_confirms_from_their_inbox(
    server: ApiServer, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    # Given the landing page, in a browser whose zone is São Paulo
    in_zone(browser, "America/Sao_Paulo")
    browser.get(f"{server.base_url}/")
    assert "golang OR rust -crypto" in browser.find_element(By.ID, "examples").text
    # Then the browser's zone is preselected
    assert browser.find_element(By.ID, "timezone").get_attribute("value") == "America/Sao_Paulo"

    # When they fill in the form with a malformed search and another zone
    browser.find_element(By.ID, "email").send_keys("bea@example.com")
    Select(browser.find_element(By.ID, "timezone")).select_by_value("Europe/Madrid")
    browser.find_element(By.ID, "query").send_keys("python (remote")
    Select(browser.find_element(By.ID, "frequency")).select_by_value("weekly")
    Select(browser.find_element(By.ID, "digest_hour")).select_by_value("9")
    click_and_wait(browser, By.ID, "subscribe-button")

    # Then the form comes back with the error at its column, and everything they typed kept
    error = browser.find_element(By.ID, "subscribe-error")
    assert error.get_attribute("data-field") == "query"
    assert "column 8" in error.text
    assert browser.find_element(By.ID, "query").get_attribute("value") == "python (remote"
    assert browser.find_element(By.ID, "email").get_attribute("value") == "bea@example.com"
    assert browser.find_element(By.ID, "timezone").get_attribute("value") == "Europe/Madrid"
    assert Select(browser.find_element(By.ID, "frequency")).first_selected_option.text == "weekly"
    assert sent_emails() == []

    # When they fix the search and send the form again
    field = browser.find_element(By.ID, "query")
    field.clear()
    field.send_keys("python (remote OR berlin)")
    click_and_wait(browser, By.ID, "subscribe-button")

    # Then they are told to check their inbox, where the confirmation email is
    assert browser.find_element(By.ID, "title").text == "Check your inbox or phone"
    [mail] = sent_emails()
    assert mail.to == "bea@example.com"
    link = next(link for link in mail.links() if "/confirm?" in link)

    # When they follow its link (on this server) and press the button
    parts = urlparse(link)
    browser.get(f"{server.base_url}{parts.path}?{parts.query}")
    click_and_wait(browser, By.ID, "confirm")

    # Then they land on their manage page, confirmed, with the search and settings they chose
    assert "/manage?" in browser.current_url
    assert "confirmed" in browser.find_element(By.ID, "notice").text
    assert query_cells(browser) == ["python (remote OR berlin)"]
    assert "weekly" in browser.find_element(By.ID, "searches").text
    subscriber = stores.subscribers().find_by_email("bea@example.com")
    assert subscriber is not None
    assert subscriber.status is SubscriberStatus.ACTIVE
    assert (subscriber.timezone, subscriber.digest_hour) == ("Europe/Madrid", 9)


def test_the_timezone_select_is_utc_without_javascript(server: ApiServer, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    # Given a browser in Tokyo with JavaScript switched off
    in_zone(browser, "Asia/Tokyo")
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})

    # When it opens the landing page
    browser.get(f"{server.base_url}/")

    # Then the timezone select offers every zone with UTC selected
    select = browser.find_element(By.ID, "timezone")
    assert select.get_attribute("value") == "UTC"
    values = [o.get_attribute("value") for o in select.find_elements(By.TAG_NAME, "option")]
    assert {"UTC", "Asia/Tokyo", "America/Argentina/Buenos_Aires"} <= set(values)
    assert len(values) > 300


def manage_page(server: ApiServer, browser: Any, email: str, query: str) -> str:
    """Subscribe and confirm in the browser; returns the subscriber id, on the manage page."""
    from selenium.webdriver.common.by import By

    token = subscribe({"email": email, "timezone": "UTC", "query": query, "channel": "email"})
    browser.get(f"{server.base_url}/confirm?t={token}")
    click_and_wait(browser, By.ID, "confirm")
    subscriber = stores.subscribers().find_by_email(email)
    assert subscriber is not None
    return subscriber.subscriber_id


def test_a_subscriber_edits_a_search_in_place_on_the_manage_page(
    server: ApiServer, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    # Given a subscriber on their manage page with one search
    subscriber_id = manage_page(server, browser, "eve@example.com", "python remote")
    [search] = stores.searches().list_for(subscriber_id)
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-search-id="{search.search_id}"]')

    # When they open its edit form and save a broken query
    row.find_element(By.TAG_NAME, "summary").click()
    field = row.find_element(By.NAME, "query")
    field.clear()
    field.send_keys("python (remote")
    click_and_wait(browser, By.CSS_SELECTOR, "button.save-edit", within=row)

    # Then the error is shown in that open form with its column, and nothing changed
    assert "column 8" in browser.find_element(By.ID, "edit-error").text
    assert query_cells(browser) == ["python remote"]

    # When they save a good query, weekly
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-search-id="{search.search_id}"]')
    field = row.find_element(By.NAME, "query")
    field.clear()
    field.send_keys("django OR flask")
    Select(row.find_element(By.NAME, "frequency")).select_by_value("weekly")
    click_and_wait(browser, By.CSS_SELECTOR, "button.save-edit", within=row)

    # Then the same search (same id) shows the new query and frequency
    assert query_cells(browser) == ["django OR flask"]
    [edited] = stores.searches().list_for(subscriber_id)
    assert (edited.search_id, edited.query, edited.frequency.value) == (
        search.search_id,
        "django OR flask",
        "weekly",
    )


def test_a_subscriber_pauses_and_resumes_and_mutes_and_unmutes_an_account(
    server: ApiServer, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    from jobalerts.links import Links
    from jobalerts_local.settings import get_settings
    from tests.integration.test_subscriptions_api import signer

    # Given a subscriber on their manage page
    subscriber_id = manage_page(server, browser, "fay@example.com", "nurse")

    # When they pause for two weeks
    browser.find_element(By.CSS_SELECTOR, '#pause-form input[value="2w"]').click()
    click_and_wait(browser, By.ID, "pause")

    # Then the page says until when, and the searches are not live
    assert "Paused until" in browser.find_element(By.ID, "pause-status").text
    assert [s.live for s in stores.searches().list_for(subscriber_id)] == [False]

    # When they resume
    click_and_wait(browser, By.ID, "resume")

    # Then the alerts run again
    assert browser.find_elements(By.ID, "pause-status") == []
    assert [s.live for s in stores.searches().list_for(subscriber_id)] == [True]
    manage_url = browser.current_url

    # When they follow a digest's "mute @acme" link and press the button
    link = Links(get_settings().public_base_url, signer()).mute(subscriber_id, "@acme")
    parts = urlparse(link)
    browser.get(f"{server.base_url}{parts.path}?{parts.query}")
    assert browser.find_element(By.ID, "title").text == "Mute @acme?"
    click_and_wait(browser, By.ID, "mute")

    # Then it is muted, with an undo on the page and on the manage page
    assert browser.find_element(By.ID, "title").text == "@acme is muted"
    browser.get(manage_url)
    assert browser.find_element(By.ID, "muted-accounts").text.startswith("@acme")

    # When they undo it there
    click_and_wait(browser, By.CSS_SELECTOR, "#muted-accounts button")

    # Then nobody is muted
    assert browser.find_element(By.ID, "no-mutes").is_displayed()
    assert stores.subscribers().get(subscriber_id).muted == []
