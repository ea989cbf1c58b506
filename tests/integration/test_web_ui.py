"""The web page at `/` in headless Chromium (Debian's `chromium` + `chromium-driver`, driven by
Selenium) against a real server: a bad key shows the API's error; a good one generates with the
tiny model, follows the progress stream to its last step, shows the image, opens it, upscales it
and deletes it. Every step leaves a screenshot in `test-artifacts/web-ui/`.

Without Chromium the browser tests skip (a laptop) or fail (`SFUMATO_REQUIRE_SERVICES=1`, CI)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.images import image_bytes
from tests.support.server import TINY_MODEL_ID, Server
from tests.support.services import require

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web-ui"
WAIT_S = 180  # one tiny render and one upscale on a busy 2-core machine, with room to spare

try:  # selenium is a test dependency; its absence is reported like a missing browser
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:  # pragma: no cover - depends on the environment
    webdriver = None  # type: ignore[assignment]


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    have = webdriver is not None and Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()
    require(have, f"headless Chromium needs selenium, {CHROMIUM} (apt chromium) and {CHROMEDRIVER} (chromium-driver)")
    options = Options()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver: WebDriver, condition: Any, message: str) -> Any:
    return WebDriverWait(driver, WAIT_S, poll_frequency=0.2).until(condition, message)


def shot(driver: WebDriver, name: str) -> None:
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def error_text(driver: WebDriver) -> str:
    banner = driver.find_element(By.ID, "error")
    return banner.text if banner.is_displayed() else ""


def loaded(driver: WebDriver, image: Any) -> bool:
    """The browser fetched and decoded the picture from its URL."""
    return bool(driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", image))


def test_a_wrong_key_shows_the_apis_error(server: Server, browser: WebDriver) -> None:
    browser.get(server.base_url + "/")
    shot(browser, "01-page")
    browser.find_element(By.ID, "api-key").send_keys("not-a-real-key", Keys.ENTER)  # the keyboard submits
    text = wait(browser, error_text, "no error shown for a wrong key")
    shot(browser, "02-wrong-key")
    assert "Authentication hook unauthorized this request" in text and "401" in text
    assert not browser.find_element(By.ID, "signed-in").is_displayed()


def test_generate_watch_open_upscale_delete(server: Server, browser: WebDriver) -> None:
    key = server.create_key("web-page")["apiKey"]
    browser.get(server.base_url + "/")
    browser.find_element(By.ID, "api-key").send_keys(key, Keys.ENTER)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"#model option[value='{TINY_MODEL_ID}']"), "no models")
    assert error_text(browser) == ""
    unlabelled = browser.execute_script(
        "return [...document.querySelectorAll('input, select, textarea')]"
        ".filter(e => e.labels.length === 0 && !e.getAttribute('aria-label')).map(e => e.id || e.name)"
    )
    assert unlabelled == []
    shot(browser, "03-signed-in")

    browser.find_element(By.ID, "prompt").send_keys("a lighthouse at dusk")
    Select(browser.find_element(By.ID, "model")).select_by_value(TINY_MODEL_ID)
    for field, value in (("width", "64"), ("height", "64"), ("steps", "10"), ("seed", "7")):
        box = browser.find_element(By.ID, field)
        box.clear()
        box.send_keys(value)
    browser.find_element(By.ID, "alchemy").click()  # off: the tiny model's plain 10 steps
    browser.find_element(By.ID, "generate").click()

    card = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#jobs li.job"), "no job card")[0]
    generation_id = card.get_attribute("data-generation-id")
    shot(browser, "04-submitted")
    wait(browser, lambda _d: card.get_attribute("data-state") in ("COMPLETE", "FAILED"), "the job never ended")
    assert card.get_attribute("data-state") == "COMPLETE", card.text
    # The stream's progress reached the last step of the steps asked, and the bar is full.
    assert (card.get_attribute("data-step"), card.get_attribute("data-total")) == ("10", "10")
    steps = [int(step) for step in card.get_attribute("data-steps").split(",")]
    assert steps == sorted(steps) and steps[-1] == 10, steps  # shown in order, ending on the last
    bar = card.find_element(By.TAG_NAME, "progress")
    assert bar.get_attribute("value") == bar.get_attribute("max") == "10"
    image = card.find_element(By.CSS_SELECTOR, "img[data-image-id]")
    wait(browser, lambda d: loaded(d, image), "the generated image did not load")
    assert image.get_attribute("src").startswith(server.base_url + "/files/")  # its own URL, not a data: copy
    # The README's picture: a 1280x800 view of the playground beside the finished job.
    desktop = {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", desktop)
    browser.execute_script("document.getElementById('signed-in').scrollIntoView()")
    shot(browser, "05-complete")

    gallery_item = f"#gallery li[data-generation-id='{generation_id}'][data-status='COMPLETE'] button"
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, gallery_item), "not in the gallery")[0].click()
    detail = browser.find_element(By.ID, "detail")
    wait(
        browser,
        lambda _d: detail.is_displayed() and detail.get_attribute("data-generation-id") == generation_id,
        "the generation did not open",
    )
    full = detail.find_element(By.CSS_SELECTOR, "figure img.full")
    wait(browser, lambda d: loaded(d, full), "the opened image did not load")
    params = browser.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('#detail-params dt')]"
        ".map(dt => [dt.textContent, dt.nextElementSibling.textContent]))"
    )
    assert (params["Prompt"], params["Seed"], params["Status"]) == ("a lighthouse at dusk", "7", "COMPLETE")
    browser.execute_script("arguments[0].scrollIntoView()", detail)
    shot(browser, "06-opened")

    detail.find_element(By.CSS_SELECTOR, "button[data-action='upscale']").click()
    upscaled = "#detail li[data-transform='UPSCALE'][data-status='COMPLETE'] img"
    variation = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, upscaled), "the upscale never completed")[0]
    wait(browser, lambda d: loaded(d, variation), "the upscaled image did not load")
    assert browser.execute_script("return arguments[0].naturalWidth", variation) > 64
    assert error_text(browser) == ""
    browser.execute_script("arguments[0].scrollIntoView()", browser.find_element(By.ID, "detail"))
    shot(browser, "07-upscaled")
    for action, transform in (("nobg", "NOBG"), ("unzoom", "UNZOOM")):  # the other two buttons, as simply
        browser.find_element(By.CSS_SELECTOR, f"#detail button[data-action='{action}']").click()
        made = f"#detail li[data-transform='{transform}'][data-status='COMPLETE'] img"
        picture = wait(browser, lambda d, made=made: d.find_elements(By.CSS_SELECTOR, made), f"no {transform}")[0]
        wait(browser, lambda d, picture=picture: loaded(d, picture), f"the {transform} image did not load")
    assert error_text(browser) == ""

    browser.find_element(By.ID, "detail-delete").click()
    browser.find_element(By.ID, "delete-yes").click()
    wait(browser, lambda d: not d.find_element(By.ID, "detail").is_displayed(), "the detail did not close")
    wait(
        browser,
        lambda d: not d.find_elements(By.CSS_SELECTOR, f"#gallery li[data-generation-id='{generation_id}']"),
        "the deleted generation is still in the gallery",
    )
    shot(browser, "08-deleted")
    with server.http(key) as client:
        assert client.get(f"/generations/{generation_id}").json() == {"generations_by_pk": None}

    # A phone (390 CSS px, as a mobile browser lays the page out): one column, nothing wider than it.
    phone = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", phone)
    browser.execute_script("window.scrollTo(0, 0)")
    widths = browser.execute_script("return [window.innerWidth, document.documentElement.scrollWidth]")
    assert widths == [390, 390]
    shot(browser, "09-phone")


def test_an_api_refusal_shows_and_an_uploaded_init_image_guides(
    server: Server, browser: WebDriver, tmp_path: Path
) -> None:
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    key = server.create_key("web-page-guided")["apiKey"]
    browser.get(server.base_url + "/")
    browser.find_element(By.ID, "api-key").send_keys(key, Keys.ENTER)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"#model option[value='{TINY_MODEL_ID}']"), "no models")
    for field, value in (("width", "64"), ("height", "64"), ("steps", "10")):
        box = browser.find_element(By.ID, field)
        box.clear()
        box.send_keys(value)
    browser.find_element(By.ID, "alchemy").click()
    browser.find_element(By.ID, "prompt").send_keys("   ")  # passes the browser's `required`, not the API
    browser.find_element(By.ID, "generate").click()
    text = wait(browser, error_text, "no error shown for a blank prompt")
    shot(browser, "10-refused")
    assert "prompt must not be empty" in text and "400" in text
    assert not browser.find_elements(By.CSS_SELECTOR, "#jobs li.job")

    init = tmp_path / "init.png"
    init.write_bytes(image_bytes("PNG", (64, 64)))
    browser.find_element(By.ID, "prompt").send_keys("a lighthouse at dusk")
    browser.find_element(By.ID, "init-image").send_keys(str(init))
    preview = browser.find_element(By.ID, "init-preview")
    wait(browser, lambda d: loaded(d, preview), "no preview of the init image")
    Select(browser.find_element(By.ID, "controlnet-type")).select_by_value("CANNY")
    browser.find_element(By.ID, "element-0").click()  # the built-in tiny element, at a weight of our own
    weight = browser.find_element(By.ID, "element-weight-0")
    weight.clear()
    weight.send_keys("0.5")
    browser.find_element(By.ID, "generate").click()
    card = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#jobs li.job"), "no job card")[0]
    wait(browser, lambda _d: card.get_attribute("data-state") in ("COMPLETE", "FAILED"), "the guided job never ended")
    assert card.get_attribute("data-state") == "COMPLETE", card.text
    assert error_text(browser) == ""
    shot(browser, "11-guided")
    # The file went to the presigned form's URL (this server's /uploads), never through the page's API calls.
    uploads = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(n => n.endsWith('/uploads'))"
    )
    assert uploads == [server.base_url + "/uploads"]
    with server.http(key) as client:
        generation = client.get(f"/generations/{card.get_attribute('data-generation-id')}").json()
    assert generation["generations_by_pk"]["status"] == "COMPLETE"
    assert [e["weightApplied"] for e in generation["generations_by_pk"]["generation_elements"]] == [0.5]


def test_the_page_and_its_files_carry_a_strict_policy(server: Server) -> None:
    page = httpx.get(server.base_url + "/", timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "connect-src 'self';" in policy and "unsafe-inline" not in policy
    assert '<label for="api-key">' in page.text
    for name, kind in (("app.js", "text/javascript"), ("api.js", "text/javascript"), ("app.css", "text/css")):
        served = httpx.get(f"{server.base_url}/static/{name}", timeout=30)
        assert served.status_code == 200 and served.headers["content-type"].startswith(kind), name
    assert httpx.get(server.base_url + "/static/../config.py", timeout=30).status_code == 404
    assert httpx.get(server.base_url + "/static/router.py", timeout=30).json()["code"] == "not-found"


def test_web_ui_false_turns_the_page_off(tmp_path: Path) -> None:
    with Server(tmp_path / "data", env={"SFUMATO_WEB_UI": "false"}, args=("--no-worker",)).running() as off:
        for path in ("/", "/static/app.js"):
            answer = httpx.get(off.base_url + path, timeout=30)
            assert answer.status_code == 404 and answer.json()["error"] == "Endpoint not found"
        assert httpx.get(off.base_url + "/healthz", timeout=30).status_code == 200
