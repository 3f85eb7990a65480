"""The web page in a real browser: Debian's chromium driven by Playwright.

`make test` installs chromium (scripts/install-test-deps.sh); a missing browser is a
failure that names the install command, never a skip. The server is a real
`flowyml ui` process over a catalog that real pipeline runs filled (session fixtures
from test_ui.py). The run and lineage screenshots in docs/img/ are taken here.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_ui import STEPS, shared_project, shared_server, shared_wide_server

CHROMIUM = "/usr/bin/chromium"
INSTALL = "bash scripts/install-test-deps.sh  (runs: sudo apt-get install -y chromium)"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# The README's screenshots: refreshed in docs/img when FLOWYML_UPDATE_SCREENSHOTS=1, so
# an ordinary `make test` leaves the work tree clean (they carry timestamps).
IMG = (
    Path(__file__).resolve().parents[1] / "docs" / "img"
    if os.environ.get("FLOWYML_UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "flowyml-ui-screenshots"
)


def _require_chromium() -> None:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"chromium is not installed at {CHROMIUM}; the UI tests need it. Install it with: "
            f"{INSTALL} (or `make test`, which runs that script)",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def ui_project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return shared_project(tmp_path_factory)


@pytest.fixture(scope="session")
def ui_server(ui_project: dict[str, Any]) -> Iterator[str]:
    yield from shared_server("server", ui_project["root"])


@pytest.fixture(scope="session")
def wide_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    yield from shared_wide_server(tmp_path_factory)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page; any JavaScript error or CSP violation fails the test."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, device_scale_factor=1)
    pg = ctx.new_page()
    pg.set_default_timeout(15000)
    problems: list[str] = []
    pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    pg.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
          if m.type == "error" and "404" not in m.text else None)
    try:
        yield pg
    finally:
        ctx.close()
    assert not problems, problems


def test_chromium_is_installed() -> None:
    _require_chromium()


def test_runs_list_then_a_click_opens_the_run_graph(page: Any, ui_server: str,
                                                    ui_project: dict[str, Any]) -> None:
    page.goto(ui_server)
    rows = page.locator("tr.run-row")
    ids = [rows.nth(i).get_attribute("data-run") for i in range(rows.count())]
    churn = [ui_project["ok3"], ui_project["failed"], ui_project["ok1"]]
    assert [i for i in ids if i in churn] == churn  # newest first
    row = page.locator(f"tr.run-row[data-run='{ui_project['ok3']}']")
    assert "churn" in row.inner_text() and "succeeded" in row.inner_text()
    assert "2 executed" in row.inner_text() and "5 reused" in row.inner_text()

    row.locator("a", has_text=ui_project["ok3"]).click()
    page.wait_for_url(re.compile(rf"/runs/{ui_project['ok3']}$"))
    nodes = page.locator("svg.run-graph .node.step")
    states = {nodes.nth(i).get_attribute("data-step"): nodes.nth(i).get_attribute("data-state")
              for i in range(nodes.count())}
    assert states == {**dict.fromkeys(STEPS[:5], "reused"), "train": "executed", "evaluate": "executed"}
    assert page.locator("svg.run-graph path.edge").count() == 7

    panel = page.locator("#step-panel")
    assert panel.is_hidden()
    page.locator("svg.run-graph .node.step[data-step='train']").click()
    detail = page.locator(".step-detail[data-detail='train']")
    detail.wait_for(state="visible")
    assert "parameter lr 0.1 -> 0.3" in detail.inner_text()
    assert "features" in detail.inner_text() and "model@2" in detail.inner_text().replace("\n", "")
    assert page.url.endswith("#step=train")
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(200)
    IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMG / "ui-run.png"), full_page=True)

    detail.locator("[data-close-panel]").click()
    assert panel.is_hidden()


def test_failed_run_shows_the_failing_step_and_its_error(page: Any, ui_server: str,
                                                         ui_project: dict[str, Any]) -> None:
    page.goto(ui_server)
    failed = ui_project["failed"]
    err_row = page.locator(f"tr.run-row[data-run='{failed}'] + tr.run-error")
    assert "failed at step train" in err_row.inner_text()
    assert "learning rate must be positive, got -1" in err_row.inner_text()

    page.locator(f"a:text-is('{failed}')").click()
    page.wait_for_url(re.compile(rf"/runs/{failed}$"))
    alert = page.locator("#run-error")
    assert "Failed at step train" in alert.inner_text()
    assert "ValueError: learning rate must be positive, got -1" in alert.inner_text()
    graph = page.locator("svg.run-graph")
    assert graph.locator(".node[data-step='train']").get_attribute("data-state") == "failed"
    assert graph.locator(".node[data-step='evaluate']").get_attribute("data-state") == "not-reached"
    assert graph.locator(".node[data-step='featurize']").get_attribute("data-state") == "reused"

    alert.locator("button[data-open-step='train']").click()
    detail = page.locator(".step-detail[data-detail='train']")
    detail.wait_for(state="visible")
    assert "learning rate must be positive, got -1" in detail.locator("pre.step-error").inner_text()


def test_artifact_page_shows_version_and_preview(page: Any, ui_server: str,
                                                 ui_project: dict[str, Any]) -> None:
    clean = ui_project["artifacts"]["clean_data"][0]
    page.goto(ui_server + "assets/clean_data")
    page.wait_for_url(re.compile(rf"/artifacts/{clean['id']}$"))
    assert page.locator("#artifact-title").inner_text().replace("\n", "").startswith("clean_data@1")
    assert page.locator("#artifact-version").inner_text().startswith("1")
    assert page.locator("#content-hash").inner_text() == clean["hash"]
    facts = page.locator("#artifact-facts").inner_text()
    assert "pandas-arrow" in facts and "pandas.DataFrame" in facts and "clean" in facts
    table = page.locator("#preview table.preview-table")
    table.wait_for()
    assert table.locator("tbody tr").count() == 20
    assert "customer_id" in table.locator("thead").inner_text()

    page.goto(ui_server + "assets/features")
    page.locator("#preview pre.code").wait_for()
    assert "(300, 2)" in page.locator("#preview").inner_text() or "Shape" in page.locator("#preview").inner_text()
    assert "float64" in page.locator("#preview").inner_text()

    page.goto(ui_server + "assets/metrics")
    page.locator("#preview pre.json").wait_for()
    assert '"accuracy"' in page.locator("#preview pre.json").inner_text()

    page.goto(ui_server + "assets/model/1")
    page.locator("#preview[data-loaded='1']").wait_for(state="attached")
    assert "stored with pickle" in page.locator("#preview").inner_text()
    versions = page.locator("#versions tbody tr")
    assert versions.count() == 2
    assert "prod" in versions.filter(has_text="v1").inner_text()
    assert "prod" in page.locator("#artifact-title").inner_text()


def test_lineage_page_shows_every_ancestor(page: Any, ui_server: str,
                                           ui_project: dict[str, Any]) -> None:
    metrics = ui_project["artifacts"]["metrics"][-1]
    page.goto(ui_server + f"artifacts/{metrics['id']}")
    page.locator("#lineage-link").click()
    page.wait_for_url(re.compile(r"/lineage$"))
    expected = set(ui_project["metrics_ancestors"])
    assert len(expected) == 7  # model, features, labels, clean_data, raw_data, customers, events
    drawn = {a.get_attribute("data-artifact") for a in page.locator("svg.lineage-graph a.node-link").all()}
    assert drawn == expected | {metrics["id"]}
    listed = page.locator("#ancestors tbody tr")
    assert listed.count() == len(expected)
    assert page.locator("svg .role-source").count() == 2

    events = ui_project["artifacts"]["events"][0]["id"]
    page.locator(f"svg a.node-link[data-artifact='{events}']").click()
    page.wait_for_url(re.compile(rf"/artifacts/{events}$"))

    clean = ui_project["artifacts"]["clean_data"][0]["id"]
    page.goto(ui_server + f"artifacts/{clean}/lineage")
    assert page.locator("svg .role-downstream").count() >= 6
    page.wait_for_timeout(200)
    IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMG / "ui-lineage.png"), full_page=True)


def test_search_by_name_hash_prefix_alias_and_run(page: Any, ui_server: str,
                                                  ui_project: dict[str, Any]) -> None:
    page.goto(ui_server)
    box = page.locator("header form.search input[name=q]")
    box.fill("clean")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=clean"))
    assert "clean_data@1" in page.locator("#res-name").inner_text().replace("\n", "")

    model1 = ui_project["artifacts"]["model"][0]
    page.goto(ui_server + f"search?q={model1['hash'][:8]}")
    hit = page.locator("#res-hash")
    assert "model@1" in hit.inner_text().replace("\n", "")
    hit.locator("a.art").first.click()
    page.wait_for_url(re.compile(rf"/artifacts/{model1['id']}$"))

    page.goto(ui_server + "search?q=prod")
    assert "model@1" in page.locator("#res-alias").inner_text().replace("\n", "")
    page.goto(ui_server + f"search?q={ui_project['failed']}")
    assert ui_project["failed"] in page.locator("#res-runs").inner_text()
    page.goto(ui_server + "search?q=model@prod")
    assert "model@1" in page.locator("#res-exact").inner_text().replace("\n", "")
    page.goto(ui_server + "search?q=zzzz_nothing")
    assert page.locator("#no-results").is_visible()


def test_unknown_artifact_is_a_clean_404_page(page: Any, ui_server: str) -> None:
    resp = page.goto(ui_server + "artifacts/0123456789abcdef01234567")
    assert resp.status == 404
    err = page.locator("#error-page")
    assert err.get_attribute("data-status") == "404"
    assert "Not found" in err.inner_text() and "0123456789abcdef01234567" in err.inner_text()
    assert page.locator("header .brand").is_visible()  # the normal page chrome, not a stack trace


def test_lineage_with_500_nodes_stays_usable(page: Any, wide_server: tuple[str, str]) -> None:
    url, report = wide_server
    t0 = time.perf_counter()
    page.goto(url + f"artifacts/{report}/lineage")
    page.wait_for_selector("html[data-ready='1']")
    elapsed = time.perf_counter() - t0
    assert page.locator("svg.lineage-graph a.node-link").count() == 501
    assert elapsed < 15, f"500-node lineage took {elapsed:.1f} s to show"
    assert "500" in page.locator("#lineage-counts").inner_text()
    find = page.locator(".graph-find")
    find.fill("shard_00_007")
    find.press("Enter")
    target = page.locator("svg a.node-link.match")
    assert target.count() == 1
    assert page.locator("svg a.node-link.dim").count() == 500
    target.click()
    page.wait_for_url(re.compile(r"/artifacts/[0-9a-f]+$"))
    assert "shard_00_007" in page.locator("#artifact-title").inner_text()
