"""Every page and email checked with axe-core in headless Chromium, in light and dark mode, and
the form errors tied to their fields, on a desktop and on a phone-sized screen.

axe-core is the npm package pinned in package-lock.json (`make axe` installs it into
node_modules/); it is injected into each page and fails the test on any serious or critical
violation. Dark mode is Chromium's own `prefers-color-scheme` emulation (DevTools protocol).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from jobalerts.digests.render import DigestLinks, render_email, render_web
from jobalerts.links import Links
from jobalerts.subscriptions import confirmation_email
from jobalerts_local.http import ApiServer
from jobalerts_local.outbox import sent_emails
from jobalerts_local.settings import get_settings
from tests.e2e.test_web_pages import (  # noqa: F401 - the server and browser fixtures
    browser,
    click_and_wait,
    manage_page,
    server,
)
from tests.integration.test_subscriptions_api import signer
from tests.support import stores
from tests.unit.test_render import fair_digest, hostile_digest, sample_digest

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SCHEMES = ("light", "dark")
PHONE = {"width": 375, "height": 667, "deviceScaleFactor": 2, "mobile": True}

# Runs axe on the whole document and answers the violations that matter, one line per element.
RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ["violations"]})
  .then((result) => done(result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({
      rule: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + " :: " + n.failureSummary),
    }))))
  .catch((error) => done([{rule: "axe-error", impact: "critical", help: String(error), nodes: []}]));
"""


@pytest.fixture
def axe_source() -> str:
    if not AXE.exists():
        # An accessibility check that quietly skips proves nothing: fail and say how to get it.
        pytest.fail(f"{AXE} is missing: run `make axe` (npm ci)")
    return AXE.read_text(encoding="utf-8")


def color_scheme(driver: Any, scheme: str) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
    )
    dark = driver.execute_script("return matchMedia('(prefers-color-scheme: dark)').matches")
    assert dark is (scheme == "dark")


def axe_violations(driver: Any, axe_source: str, *, mail: bool = False) -> list[str]:
    """The serious and critical violations on the page, in light and then in dark mode.

    `mail`: shown as a mail client shows a message, on the client's own canvas (dark in dark
    mode), which is what an email that sets no background of its own ends up on."""
    driver.set_script_timeout(60)
    if not driver.execute_script("return typeof window.axe !== 'undefined'"):
        driver.execute_script(axe_source)
    if mail:
        driver.execute_script("document.documentElement.style.backgroundColor = 'Canvas'")
    found = []
    try:
        for scheme in SCHEMES:
            color_scheme(driver, scheme)
            for violation in driver.execute_async_script(RUN_AXE):
                found.append(f"[{scheme}] {json.dumps(violation, ensure_ascii=False)}")
    finally:
        color_scheme(driver, "light")
    return found


class Audit:
    """Collects every page's violations, so one run reports all of them at once."""

    def __init__(self, driver: Any, axe_source: str) -> None:
        self.driver = driver
        self.axe_source = axe_source
        self.checked: list[str] = []
        self.failures: list[str] = []

    def check(self, name: str, *, mail: bool = False) -> None:
        self.checked.append(name)
        for violation in axe_violations(self.driver, self.axe_source, mail=mail):
            self.failures.append(f"{name} ({self.driver.current_url}): {violation}")

    def assert_clean(self) -> None:
        assert self.failures == [], "\n".join(self.failures)


@pytest.fixture
def audit(browser: Any, axe_source: str) -> Audit:  # noqa: F811 - the imported fixture
    return Audit(browser, axe_source)


def local(server: ApiServer, link: str) -> str:  # noqa: F811
    """A link we sent (on the public base URL), on the test server."""
    parts = urlparse(link)
    return f"{server.base_url}{parts.path}?{parts.query}"


def by_id(driver: Any, element_id: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)


def focused_id(driver: Any) -> str:
    return str(driver.execute_script("return document.activeElement.id"))


def assert_error_tied_to(driver: Any, field_id: str, error_id: str) -> None:
    """The field is marked invalid, described by the error, and has the focus; the page title
    starts with "Error:"."""
    field = by_id(driver, field_id)
    assert field.get_attribute("aria-invalid") == "true"
    assert field.get_attribute("aria-describedby") == error_id
    assert by_id(driver, error_id).text.startswith("Error: ")
    assert focused_id(driver) == field_id
    assert driver.title.startswith("Error: ")


def break_select(driver: Any, select_id: str, value: str) -> None:
    """Make a select send a value it does not offer (what a stale or forged form would send)."""
    driver.execute_script(
        "const s = document.getElementById(arguments[0]); s.options[s.selectedIndex].value = "
        "arguments[1];",
        select_id,
        value,
    )


# ---------------------------------------------------------------- axe on every page


def test_every_page_has_no_serious_axe_violation_in_light_or_dark_mode(
    clock: datetime,
    server: ApiServer,  # noqa: F811
    browser: Any,  # noqa: F811
    audit: Audit,
) -> None:
    from selenium.webdriver.common.by import By

    base = server.base_url
    links = Links(get_settings().public_base_url, signer())

    # The landing page, and the same form refused (a broken search) and accepted
    browser.get(f"{base}/")
    audit.check("landing")
    by_id(browser, "email").send_keys("ana@example.com")
    by_id(browser, "query").send_keys("python (remote")
    click_and_wait(browser, By.ID, "subscribe-button")
    assert by_id(browser, "subscribe-error").is_displayed()
    audit.check("landing, sign-up refused")
    by_id(browser, "query").clear()
    by_id(browser, "query").send_keys("python remote")
    click_and_wait(browser, By.ID, "subscribe-button")
    assert by_id(browser, "title").text == "Check your inbox or phone"
    audit.check("check your inbox")

    # The confirm page a sign-up link opens, and the manage page it leads to
    confirm = next(link for link in sent_emails()[-1].links() if "/confirm?" in link)
    browser.get(local(server, confirm))
    audit.check("confirm a sign-up")
    click_and_wait(browser, By.ID, "confirm")
    manage_url = browser.current_url
    # (with its search's feed link and the column it sits in, so axe sees them too)
    assert browser.find_elements(By.CSS_SELECTOR, "#searches a.feed-link")
    audit.check("manage, just confirmed")

    # The manage page with a second search, a muted account, a pause and each form's error
    by_id(browser, "query").send_keys("golang OR rust")
    click_and_wait(browser, By.ID, "add")
    by_id(browser, "query").send_keys("python (remote")
    click_and_wait(browser, By.ID, "add")
    assert by_id(browser, "search-error").is_displayed()
    audit.check("manage, add-search error")
    row = browser.find_element(By.CSS_SELECTOR, "#searches tbody tr")
    row.find_element(By.TAG_NAME, "summary").click()
    field = row.find_element(By.NAME, "query")
    field.clear()
    field.send_keys("rust OR")
    click_and_wait(browser, By.CSS_SELECTOR, "button.save-edit", within=row)
    assert by_id(browser, "edit-error").is_displayed()
    audit.check("manage, edit error")
    # (a form the browser lets through: the server wants a domain with a dot)
    by_id(browser, "channel-email").send_keys("ana@example")
    click_and_wait(browser, By.ID, "add-channel-button")
    assert by_id(browser, "channel-error").is_displayed()
    audit.check("manage, email/phone error")
    break_select(browser, "digest_hour", "99")
    click_and_wait(browser, By.ID, "save-settings")
    assert by_id(browser, "settings-error").is_displayed()
    audit.check("manage, settings error")
    browser.get(manage_url)
    browser.find_element(By.CSS_SELECTOR, '#pause-form input[value="resumed"]').click()
    click_and_wait(browser, By.ID, "pause")
    audit.check("manage, paused")
    click_and_wait(browser, By.ID, "resume")

    # The channel confirm page a new address gets
    by_id(browser, "channel-email").send_keys("ana.work@example.com")
    click_and_wait(browser, By.ID, "add-channel-button")
    audit.check("manage, confirmation link sent")
    channel_link = next(link for link in sent_emails()[-1].links() if "/confirm?" in link)
    browser.get(local(server, channel_link))
    audit.check("confirm a new address")

    # The pause page of a digest link, before and after pausing
    ana = stores.subscribers().find_by_email("ana@example.com")
    assert ana is not None
    subscriber_id = ana.subscriber_id
    browser.get(local(server, links.pause(subscriber_id)))
    audit.check("pause link")
    click_and_wait(browser, By.ID, "pause")
    audit.check("pause link, paused")
    click_and_wait(browser, By.ID, "resume")

    # The mute page of a digest link, before and after muting; then the manage page lists it
    browser.get(local(server, links.mute(subscriber_id, "@acme")))
    audit.check("mute link")
    click_and_wait(browser, By.ID, "mute")
    audit.check("mute link, muted")
    browser.get(manage_url)
    assert by_id(browser, "muted-accounts").is_displayed()
    audit.check("manage, with a muted account")

    # The web view of an archived digest (the page every digest email and text links)
    stores.archive().put(
        subscriber_id, "d1", render_web(fair_digest(), "view"), clock, short_link=False
    )
    browser.get(local(server, links.digest(subscriber_id, "d1")))
    assert "more from" in browser.page_source
    audit.check("digest web view")

    # The unsubscribe page, and after it
    browser.get(local(server, links.unsubscribe(subscriber_id)))
    audit.check("unsubscribe")
    click_and_wait(browser, By.ID, "unsubscribe")
    audit.check("unsubscribed")

    # Error pages: not found, a forged link, a gone digest
    browser.get(f"{base}/no/such/page")
    audit.check("404")
    browser.get(f"{base}/manage?t=forged")
    audit.check("403, bad link")
    browser.get(local(server, links.digest(subscriber_id, "gone")))
    audit.check("404, digest gone")

    audit.assert_clean()
    assert len(audit.checked) == 23


# ---------------------------------------------------------------- axe on every email


def email_previews(tmp_path: Path) -> dict[str, Path]:
    """The HTML part of every kind of email we send, each written to a file of its own."""
    links = DigestLinks(
        view="https://alerts.example/digests/abc?t=VIEW",
        manage="https://alerts.example/manage?t=MANAGE",
        pause="https://alerts.example/pause?t=PAUSE",
        unsubscribe="https://alerts.example/unsubscribe?t=UNSUB",
        feeds={"s1": "https://alerts.example/feeds/FEED"},
        mute={},
    )
    htmls = {
        "confirm": confirmation_email(
            "ana@example.com", "https://alerts.example/confirm?t=C", already_active=False
        ).html,
        "already subscribed": confirmation_email(
            "ana@example.com", "https://alerts.example/manage?t=M", already_active=True
        ).html,
        "digest": render_email(sample_digest(), links).html,
        "digest, fair (more from, warnings, mentions)": render_email(fair_digest(), links).html,
        "digest, hostile text": render_email(hostile_digest(), links).html,
        "digest web view": render_web(fair_digest(), links.view),
    }
    paths = {}
    for number, (name, html) in enumerate(htmls.items()):
        path = tmp_path / f"email-{number}.html"
        path.write_text(html, encoding="utf-8")
        paths[name] = path
    return paths


def test_every_email_has_no_serious_axe_violation_in_light_or_dark_mode(
    browser: Any,  # noqa: F811
    audit: Audit,
    tmp_path: Path,
) -> None:
    # Given the HTML part of every kind of email, as a mail client would show it
    for name, path in email_previews(tmp_path).items():
        # When axe checks it in a light and a dark client
        browser.get(path.as_uri())
        audit.check(name, mail=True)

    # Then nothing serious or critical is found
    audit.assert_clean()


def test_the_confirmation_email_turns_dark_in_a_dark_client(
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    # Given the confirmation email in a client that prefers dark
    browser.get(email_previews(tmp_path)["confirm"].as_uri())
    color_scheme(browser, "dark")

    # Then its page is dark and its small print light grey, not the light scheme's colours
    colours = browser.execute_script(
        "const style = (s) => getComputedStyle(document.querySelector(s));"
        "return [style('body').backgroundColor, style('.muted').color, style('h1').color];"
    )
    assert colours == ["rgb(15, 17, 21)", "rgb(169, 177, 188)", "rgb(232, 234, 237)"]


# ---------------------------------------------------------------- errors tied to their fields


def test_error_pages_say_error_first_in_their_title(
    server: ApiServer,  # noqa: F811
    browser: Any,  # noqa: F811
) -> None:
    # Given pages that refuse: nothing there, a forged link
    for path in ("/no/such/page", "/manage?t=forged"):
        browser.get(f"{server.base_url}{path}")

        # Then the title, the first thing a screen reader says, starts with "Error:"
        assert browser.title.startswith("Error: "), path

    # while a page that did what was asked does not
    browser.get(f"{server.base_url}/")
    assert browser.title == "Job alerts from social posts · jobalerts"


def test_a_refused_sign_up_names_the_error_in_the_title_and_focuses_the_field(
    server: ApiServer,  # noqa: F811
    browser: Any,  # noqa: F811
) -> None:
    from selenium.webdriver.common.by import By

    # Given the landing page
    browser.get(f"{server.base_url}/")
    assert not browser.title.startswith("Error")
    assert by_id(browser, "query").get_attribute("aria-invalid") is None

    # When a broken search is submitted
    by_id(browser, "email").send_keys("bea@example.com")
    by_id(browser, "query").send_keys("python (remote")
    click_and_wait(browser, By.ID, "subscribe-button")

    # Then the search field is marked invalid, described by the error, and has the focus
    assert_error_tied_to(browser, "query", "subscribe-error")
    assert by_id(browser, "email").get_attribute("aria-invalid") is None

    # When instead the email address is the problem
    by_id(browser, "email").clear()
    by_id(browser, "email").send_keys("not-an-address")
    by_id(browser, "query").clear()
    by_id(browser, "query").send_keys("python remote")
    click_and_wait(browser, By.ID, "subscribe-button")

    # Then it is the email field
    assert_error_tied_to(browser, "email", "subscribe-error")
    assert by_id(browser, "query").get_attribute("aria-invalid") is None


def test_manage_page_errors_are_tied_to_their_fields_and_focus_them(
    server: ApiServer,  # noqa: F811
    browser: Any,  # noqa: F811
) -> None:
    from selenium.webdriver.common.by import By

    # Given a subscriber on their manage page
    subscriber_id = manage_page(server, browser, "cy@example.com", "python remote")
    [search] = stores.searches().list_for(subscriber_id)
    assert not browser.title.startswith("Error")

    # When a broken search is added
    by_id(browser, "query").send_keys("python (remote")
    click_and_wait(browser, By.ID, "add")
    # Then the add form's search field carries the error
    assert_error_tied_to(browser, "query", "search-error")

    # When a saved search is edited into a broken one
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-search-id="{search.search_id}"]')
    row.find_element(By.TAG_NAME, "summary").click()
    row.find_element(By.NAME, "query").clear()
    row.find_element(By.NAME, "query").send_keys("rust OR")
    click_and_wait(browser, By.CSS_SELECTOR, "button.save-edit", within=row)
    # Then that row's search field carries it, and the add form's does not
    assert_error_tied_to(browser, f"query-{search.search_id}", "edit-error")
    assert by_id(browser, "query").get_attribute("aria-invalid") is None

    # When a malformed address is added
    # (a form the browser lets through: the server wants a domain with a dot)
    by_id(browser, "channel-email").send_keys("ana@example")
    click_and_wait(browser, By.ID, "add-channel-button")
    # Then the email field carries it
    assert_error_tied_to(browser, "channel-email", "channel-error")

    # When the settings form sends an hour it does not offer
    break_select(browser, "digest_hour", "99")
    click_and_wait(browser, By.ID, "save-settings")
    # Then the hour select carries it
    assert_error_tied_to(browser, "digest_hour", "settings-error")


def test_an_error_about_no_field_of_the_form_takes_the_focus_itself(
    server: ApiServer,  # noqa: F811
    browser: Any,  # noqa: F811
) -> None:
    from selenium.webdriver.common.by import By

    # Given a subscriber on their manage page
    manage_page(server, browser, "dee@example.com", "nurse")

    # When the pause form sends a choice it does not offer
    browser.execute_script(
        "document.querySelector('#pause-form input[value=\"1w\"]').value = 'forever'"
    )
    click_and_wait(browser, By.ID, "pause")

    # Then the error itself has the focus, and the title says so
    assert focused_id(browser) == "pause-error"
    assert by_id(browser, "pause-error").text.startswith("Error: ")
    assert browser.title.startswith("Error: ")


def test_delete_and_edit_buttons_say_which_search_they_are_for(
    server: ApiServer,  # noqa: F811
    browser: Any,  # noqa: F811
) -> None:
    from selenium.webdriver.common.by import By

    # Given a subscriber with two saved searches
    manage_page(server, browser, "eli@example.com", "python remote")
    by_id(browser, "query").send_keys("golang OR rust")
    click_and_wait(browser, By.ID, "add")

    # Then each Delete, Edit and Save button's and each feed link's accessible name names its
    # search
    def names(selector: str) -> list[str]:
        return [e.accessible_name for e in browser.find_elements(By.CSS_SELECTOR, selector)]

    assert names("button[name=delete]") == [
        "Delete search “python remote”",
        "Delete search “golang OR rust”",
    ]
    assert names("details.edit summary") == [
        "Edit search “python remote”",
        "Edit search “golang OR rust”",
    ]
    assert names("a.feed-link") == [
        "Atom feed for “python remote”",
        "Atom feed for “golang OR rust”",
    ]
    # while what names the search takes no room on the screen: sighted users see "Delete" and
    # "Atom feed"
    hidden = browser.find_elements(
        By.CSS_SELECTOR, "button[name=delete] .visually-hidden, a.feed-link .visually-hidden"
    )
    assert [(e.rect["width"], e.rect["height"]) for e in hidden] == [(1, 1)] * 4


# ---------------------------------------------------------------- on a phone


@pytest.fixture
def phone(browser: Any) -> Any:  # noqa: F811
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    return browser


def test_on_a_phone_the_sign_up_error_is_on_the_first_screen_and_address_fields_are_wide(
    server: ApiServer,  # noqa: F811
    phone: Any,
) -> None:
    from selenium.webdriver.common.by import By

    # Given the landing page on a 375x667 phone screen
    phone.get(f"{server.base_url}/")
    assert phone.execute_script("return [innerWidth, innerHeight]") == [375, 667]

    # Then the email and phone fields are wide enough to show an address
    for field in ("email", "phone"):
        assert by_id(phone, field).rect["width"] >= 280, field

    # When a broken search is submitted
    by_id(phone, "email").send_keys("bea@example.com")
    by_id(phone, "query").send_keys("python (remote")
    click_and_wait(phone, By.ID, "subscribe-button")

    # Then the error is on the first screen, without scrolling, next to the focused field
    top, bottom, height = phone.execute_script(
        "const box = document.getElementById('subscribe-error').getBoundingClientRect();"
        "return [box.top, box.bottom, innerHeight];"
    )
    assert 0 <= top < bottom <= height
    assert focused_id(phone) == "query"
    field = phone.execute_script(
        "return document.getElementById('query').getBoundingClientRect().bottom"
    )
    assert field <= height


def test_on_a_phone_the_manage_page_address_fields_are_wide(
    server: ApiServer,  # noqa: F811
    phone: Any,
) -> None:
    # Given a subscriber's manage page on a phone
    manage_page(server, phone, "fin@example.com", "nurse")

    # Then its email and phone fields are wide enough to show an address
    for field in ("channel-email", "channel-phone"):
        assert by_id(phone, field).rect["width"] >= 280, field
    # And the searches table, feed column included, fits the screen: no sideways scrolling
    assert phone.execute_script("return document.documentElement.scrollWidth <= innerWidth")
