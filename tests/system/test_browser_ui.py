"""The Airflow UI path in a real browser: connection form, Test button, trigger form, extra link.

Debian's chromium (scripts/debian-packages.txt), driven by Playwright for Python, against the
real API server, scheduler, DAG processor and triggerer (`airflow_stack.stack_on_emulator`) and
the emulator. Every step asserts on what a user sees on the page, and on what the emulator and
Airflow then hold. Screenshots go to a temporary folder whose path is printed at the end, so a
reviewer can look at what a user sees.

The machine's network is closed: chromium runs with its background connections switched off
and a fresh profile, and the "Adobe offer" link's page (on experience.adobe.com) is answered by
a stand-in so that following it shows where it leads.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

import httpx
import pytest
from airflow_stack import AirflowStack, stack_on_emulator

from airflow_provider_offers.emulator.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_ORG_ID,
)
from airflow_provider_offers.emulator.server import dps_client

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page, Response

pytestmark = pytest.mark.timeout(600)

EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "example_fallback_offer_ui.py"
DAG_ID = "example_fallback_offer_ui"
DEFAULT_OFFER_NAME = "Example UI fallback banner"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 30_000  # a page on a loaded 2-core machine


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "chromium is missing: bash scripts/debian_packages.sh installs it"
    return found


@dataclass
class UI:
    """The stack, the emulator's URL, a browser page and where its screenshots go."""

    stack: AirflowStack
    emulator_url: str
    page: Page
    screenshots: Path
    taken: list[Path] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.stack.url

    def shot(self, name: str) -> Path:
        path = self.screenshots / f"{len(self.taken) + 1:02d}-{name}.png"
        self.page.screenshot(path=str(path))
        self.taken.append(path)
        return path

    def runs(self) -> list[dict]:
        return self.stack.api("GET", f"/dags/{DAG_ID}/dagRuns").json()["dag_runs"]


@pytest.fixture(scope="module")
def ui(tmp_path_factory, request) -> Iterator[UI]:
    from playwright.sync_api import sync_playwright

    home = tmp_path_factory.mktemp("airflow-browser")
    dags = home / "dags"
    dags.mkdir()
    shutil.copy(EXAMPLE, dags / EXAMPLE.name)
    screenshots = Path(tempfile.mkdtemp(prefix="browser-ui-screenshots-"))
    settings = {"AIRFLOW__CORE__TEST_CONNECTION": "Enabled"}
    with stack_on_emulator(home, dags, settings) as (stack, emulator_url):
        stack.wait_for_dag(DAG_ID)
        stack.unpause(DAG_ID)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch_persistent_context(
                str(home / "chromium-profile"),  # a fresh profile
                executable_path=chromium_path(),
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1400, "height": 1000},
            )
            browser.set_default_timeout(WAIT_MS)
            try:
                view = UI(stack, emulator_url, browser.new_page(), screenshots)
                yield view
            finally:
                browser.close()
                capture = request.config.pluginmanager.get_plugin("capturemanager")
                with capture.global_and_fixture_disabled():
                    for path in view.taken:
                        print(f"\nbrowser screenshot: {path}", end="")


# The stored extras as a task reads them: the API masks some values ("token_cache" included).
READ_EXTRA = """
import json, sys
from airflow.models.connection import Connection
from airflow.utils.session import create_session
with create_session() as session:
    connection = session.query(Connection).filter_by(conn_id=sys.argv[1]).one()
    print(json.dumps(connection.extra_dejson))
"""


def stored_extra(stack: AirflowStack, connection_id: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", READ_EXTRA, connection_id],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def open_new_connection_form(ui: UI, connection_id: str) -> Locator:
    page = ui.page
    page.goto(f"{ui.url}/connections")
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("input[name=connection_id]").fill(connection_id)
    dialog.get_by_role("combobox").last.click()
    page.keyboard.type("Adobe Offer Library")
    page.keyboard.press("Enter")
    return dialog


def fill_emulator_connection(ui: UI, dialog: Locator, org_id: str) -> None:
    dialog.locator("input[name=host]").fill(ui.emulator_url)
    dialog.locator("input[name=login]").fill(DEFAULT_CLIENT_ID)
    dialog.locator("input[name=password]").fill(DEFAULT_CLIENT_SECRET)
    dialog.locator("input[name=port]").fill(str(urlsplit(ui.emulator_url).port))
    dialog.get_by_text("Extra Fields", exact=True).click()
    dialog.locator("#element_org_id").fill(org_id)
    dialog.locator("#element_ims_url").fill(ui.emulator_url)


def press_test(ui: UI, connection_id: str) -> dict:
    """Press the row's Test button; the API's answer (what the page then shows)."""
    page = ui.page
    row = page.get_by_role("row").filter(has_text=connection_id)
    with page.expect_response(lambda r: r.url.endswith("/connections/test")) as answer:
        row.get_by_role("button", name="Test Connection").click()
    assert answer.value.status == 200, answer.value.text()
    return answer.value.json()


def test_connection_made_in_the_form_is_saved_and_its_test_button_succeeds(ui: UI):
    page = ui.page
    dialog = open_new_connection_form(ui, "adobe_offers_ui")
    for label in ("API base URL", "Client ID", "Client secret", "Port (for the Test button)"):
        assert dialog.get_by_text(label, exact=True).is_visible()
    save = dialog.get_by_role("button", name="Save")
    assert save.is_disabled()  # the IMS Org ID is required
    fill_emulator_connection(ui, dialog, DEFAULT_ORG_ID)
    for help_text in ("More client secrets", "Experience Cloud tenant", "Token cache"):
        assert dialog.get_by_text(help_text, exact=True).count() == 1
    ui.shot("connection-form")
    save.click()
    page.get_by_text("Connection has been successfully created.").wait_for()

    stored = ui.stack.api("GET", "/connections/adobe_offers_ui").json()
    assert (stored["host"], stored["port"]) == (ui.emulator_url, urlsplit(ui.emulator_url).port)
    extra = stored_extra(ui.stack, "adobe_offers_ui")
    assert extra["org_id"] == DEFAULT_ORG_ID and extra["ims_url"] == ui.emulator_url
    assert "***" not in extra.values()  # the form saved no masked default
    result = press_test(ui, "adobe_offers_ui")
    page.get_by_text("Test Connection Successful").wait_for()
    assert page.get_by_text(result["message"]).is_visible()
    assert result["status"] is True
    assert "sandbox 'prod'" in result["message"] and DEFAULT_ORG_ID in result["message"]
    ui.shot("connection-test-succeeded")


def test_test_button_names_an_org_id_that_cannot_work(ui: UI):
    page = ui.page
    dialog = open_new_connection_form(ui, "adobe_offers_bad_org")
    fill_emulator_connection(ui, dialog, "not-an-org")
    dialog.get_by_role("button", name="Save").click()
    page.get_by_text("Connection has been successfully created.").wait_for()
    before = len(emulator_requests(ui))

    result = press_test(ui, "adobe_offers_bad_org")

    assert result["status"] is False
    assert "org_id" in result["message"] and "@AdobeOrg" in result["message"]
    page.get_by_text(result["message"]).wait_for()
    ui.shot("connection-test-bad-org")
    assert len(emulator_requests(ui)) == before  # refused before any request


def emulator_requests(ui: UI) -> list[dict]:
    return httpx.get(f"{ui.emulator_url}/_emulator/requests", timeout=10).json()


def open_trigger_form(ui: UI) -> Locator:
    page = ui.page
    page.goto(f"{ui.url}/dags/{DAG_ID}")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    dialog.locator("#element_image_url").wait_for()
    return dialog


def submit_trigger_form(ui: UI, dialog: Locator) -> Response:
    page = ui.page
    with page.expect_response(
        lambda r: r.url.endswith(f"/dags/{DAG_ID}/dagRuns") and r.request.method == "POST"
    ) as answer:
        dialog.get_by_role("button", name="Trigger").click()
    return answer.value


def test_trigger_form_with_its_defaults_runs_and_links_to_the_offer(ui: UI):
    page = ui.page
    dialog = open_trigger_form(ui)
    assert dialog.locator("#element_sandbox").input_value() == ""  # optional, empty
    ui.shot("trigger-form-defaults")

    answer = submit_trigger_form(ui, dialog)

    assert answer.status == 200, answer.text()
    run_id = answer.json()["dag_run_id"]
    assert answer.request.post_data_json["conf"]["sandbox"] is None
    ui.stack.wait_for_run(DAG_ID, run_id, timeout=180)
    created = ui.stack.xcom(DAG_ID, run_id, "create_fallback_offer")
    assert (created["name"], created["sandbox"]) == (DEFAULT_OFFER_NAME, "prod")
    with dps_client(ui.emulator_url) as dps:
        offer = dps.get(f"/offers/{created['id']}", params={"offer-type": "fallback"}).json()
    assert offer["name"] == DEFAULT_OFFER_NAME
    assert offer["description"] == "Created from the Airflow UI"

    run_path = f"{ui.url}/dags/{DAG_ID}/runs/{quote(run_id)}/tasks/create_fallback_offer"
    page.goto(f"{run_path}/details")
    link = page.get_by_role("link", name="Adobe offer")
    link.wait_for()
    ui.shot("task-extra-link")
    page.context.route(
        "https://experience.adobe.com/**",
        lambda route: route.fulfill(
            status=200, content_type="text/html", body="<h1>Journey Optimizer (stand-in)</h1>"
        ),
    )
    with page.expect_popup() as popup:
        link.click()
    opened = popup.value
    opened.wait_for_load_state()
    assert opened.url.startswith("https://experience.adobe.com/")
    assert created["id"] in opened.url and "sname:prod" in opened.url
    opened.close()


def test_trigger_form_refuses_a_bad_image_url_without_creating_a_run(ui: UI):
    runs_before = {run["dag_run_id"] for run in ui.runs()}
    dialog = open_trigger_form(ui)
    dialog.locator("#element_image_url").fill("ftp://cdn.example.com/banner.png")

    answer = submit_trigger_form(ui, dialog)

    assert answer.status == 400
    shown = dialog.get_by_text(re.compile(r"Invalid input for param image_url"))
    shown.wait_for()
    assert "ftp://cdn.example.com/banner.png" in shown.inner_text()
    ui.shot("trigger-form-bad-image-url")
    assert {run["dag_run_id"] for run in ui.runs()} == runs_before


def test_providers_page_links_to_the_documentation(ui: UI):
    page = ui.page
    page.goto(f"{ui.url}/providers")
    link = page.get_by_role("link", name="airflow-provider-offers")
    link.wait_for()
    ui.shot("providers-page")
    assert link.get_attribute("href") == "https://airflow-provider-offers.readthedocs.io/"
