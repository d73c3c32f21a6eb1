"""The web UI end to end in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

The real process is started in-process, as `headwater serve` runs it (`run_workers` with the API,
the sync worker and the indexing worker in one event loop, sharing one search index), on a free
127.0.0.1 port, with the hashing embedder so that no model loads. Then, as people would:

  admin logs in -> adds two team Local FS connectors through the generated forms (a folder shared
  with the member, and a private folder shared with nobody; both inside the server's
  HEADWATER_LOCALFS_ROOTS, the only folders the web UI may add) -> syncs each, watching the live status reach
  "up to date" and the sync history list the run without a reload -> searches -> opens a citation
  (the record page, then its content through the signed link) -> asks a question (streamed answer
  with citations);
  member logs in -> finds the shared document, never the private one (search, records) -> gets 404
  on the private record's page -> cannot add a Local FS connector (admins only: it reads the
  server's disk).

Screenshots of the main pages go to test-artifacts/screenshots/ (git-ignored).
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from headwater.bootstrap import init_instance
from headwater.indexing.embeddings.testing import HashingEmbedder
from headwater.services import accounts
from headwater.services.workers import Component, Role, run_workers
from headwater.settings import Settings
from headwater.store.registry import open_store

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"
ADMIN = ("ada@larkspur.test", "ada-admin-password")
MEMBER = ("bob@larkspur.test", "bob-member-password")
WAIT_MS = 30_000

pytestmark = pytest.mark.timeout(180)


@dataclass(frozen=True)
class Running:
    url: str
    public: Path
    private: Path


def _instance(data_dir: Path, folders_root: Path) -> Settings:
    settings = Settings(data_dir=data_dir, localfs_roots=(folders_root,))
    init_instance(
        settings, "Larkspur", ((ADMIN[0], "Ada Admin", "admin"), (MEMBER[0], "Bob Member", "member"))
    )
    store = open_store(settings.resolved_store_url)
    try:
        for email, password in (ADMIN, MEMBER):
            accounts.set_password(store, accounts.find_account(store, email).key, password)
    finally:
        store.close()
    return settings


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    root = tmp_path_factory.mktemp("e2e")
    public, private = root / "public", root / "private"
    public.mkdir()
    private.mkdir()
    (public / "harbour-plan.md").write_text(
        "# Harbour plan\n\nThe lighthouse rota starts in May. Keepers swap every Tuesday.\n"
    )
    (private / "salaries.md").write_text("# Salaries\n\nConfidential: what the lighthouse keepers earn.\n")
    settings = _instance(root / "data", root)

    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready = threading.Event()
    found: dict[str, str] = {}
    failure: list[BaseException] = []

    def on_ready(components: list[Component]) -> None:
        api = next(c for c in components if c.name.startswith("HTTP API"))
        match = re.search(r"http://127\.0\.0\.1:\d+", api.detail)
        assert match is not None, api.detail
        found["url"] = match.group(0)
        ready.set()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(
                run_workers(
                    settings,
                    (Role.SYNC, Role.INDEXING),
                    stop,
                    with_api=True,
                    api_host="127.0.0.1",
                    api_port=0,
                    embedder=HashingEmbedder(),
                    on_ready=on_ready,
                )
            )
        except BaseException as exc:  # reported by the test, not lost in the thread
            failure.append(exc)
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=serve, name="headwater-serve", daemon=True)
    thread.start()
    assert ready.wait(60), "headwater did not start within 60 s"
    if failure:
        raise failure[0]
    try:
        yield Running(found["url"], public, private)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests use Debian's Chromium — "
            "run `apt-get install -y chromium` "
            "(scripts/test installs it)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


def _shot(page: object, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def _log_in(page: object, url: str, email: str, password: str) -> None:
    page.goto(url + "/")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r"/login\?next="))  # type: ignore[attr-defined]
    page.fill("#email", email)  # type: ignore[attr-defined]
    page.fill("#password", password)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(url + "/")  # type: ignore[attr-defined]


def _add_local_folder(page: object, url: str, name: str, folder: Path, share_with: str = "") -> str:
    page.goto(url + "/connectors/new")  # type: ignore[attr-defined]
    page.click("a.type-pick:has-text('Local FS')")  # type: ignore[attr-defined]
    page.wait_for_selector("form textarea[name='sync.folders']")  # type: ignore[attr-defined]
    page.fill("#f-name", name)  # type: ignore[attr-defined]
    # a Local FS connector added on the web is a team one: the only scope offered
    assert page.locator("input[name=scope]").count() == 1  # type: ignore[attr-defined]
    page.check("input[name=scope][value=team]")  # type: ignore[attr-defined]
    page.fill("textarea[name='sync.folders']", str(folder))  # type: ignore[attr-defined]
    if share_with:
        page.fill("textarea[name='sync.shareWithUsers']", share_with)  # type: ignore[attr-defined]
    return str(page.url)  # type: ignore[attr-defined]


def _sync_and_wait(page: object) -> None:
    """Press Sync now and wait for the live status to say the connector is up to date and the sync
    history to show the run, without a reload (a marker set on the window survives only if the page
    was never reloaded)."""
    page.click("button:has-text('Sync now')")  # type: ignore[attr-defined]
    page.wait_for_selector(".notice:has-text('Sync requested')")  # type: ignore[attr-defined]
    page.evaluate("window.__stillHere = true")  # type: ignore[attr-defined]
    page.wait_for_selector(".live-status[data-phase='done']", timeout=WAIT_MS)  # type: ignore[attr-defined]
    assert "up to date" in page.inner_text(".live-status")  # type: ignore[attr-defined]
    # the sync history follows the status: the run shows up, still without a reload
    page.wait_for_selector(".connector-history .badge:has-text('completed')", timeout=WAIT_MS)  # type: ignore[attr-defined]
    assert "No syncs yet" not in page.inner_text(".connector-history")  # type: ignore[attr-defined]
    assert page.evaluate("window.__stillHere === true")  # type: ignore[attr-defined]


def test_people_add_sync_search_and_open_only_what_they_may_read(running: Running, browser: object) -> None:
    url = running.url
    admin_context = browser.new_context(viewport={"width": 1366, "height": 768})  # type: ignore[attr-defined]
    page = admin_context.new_page()

    page.goto(url + "/")
    page.wait_for_url(re.compile(r"/login"))
    _shot(page, "login")
    _log_in(page, url, *ADMIN)
    assert "Ada Admin" in page.inner_text("header")
    assert "No connectors yet" in page.inner_text("main")  # the empty state says what to do
    _shot(page, "home-empty")

    _add_local_folder(page, url, "Team handbook", running.public, MEMBER[0])
    _shot(page, "add-connector")
    page.click("button:has-text('Add connector')")
    page.wait_for_selector(".notice:has-text('Connector added')")
    _sync_and_wait(page)
    _shot(page, "connector-detail")

    _add_local_folder(page, url, "Ada's notes", running.private)
    page.click("button:has-text('Add connector')")
    page.wait_for_selector(".notice:has-text('Connector added')")
    _sync_and_wait(page)

    page.goto(url + "/connectors")
    assert page.locator("img.icon[src='/api/v1/connector-types/localfs/icon']").count() == 2
    assert page.evaluate("Array.from(document.querySelectorAll('img.icon')).every(i => i.naturalWidth > 0)")
    _shot(page, "connectors")

    page.goto(url + "/")
    _shot(page, "home")
    page.fill("#q", "lighthouse")
    page.press("#q", "Enter")
    page.wait_for_selector("ol.hits")
    results = page.inner_text("ol.hits")
    assert "harbour-plan.md" in results
    assert "salaries.md" in results
    assert page.locator("ol.hits mark").count() >= 2
    _shot(page, "search-results")
    salaries_href = page.get_attribute("a[data-citation]:has-text('salaries.md')", "href")
    assert salaries_href is not None

    page.click("a[data-citation]:has-text('harbour-plan.md')")
    page.wait_for_selector("#why")
    assert "Why can I see this?" in page.inner_text("#why")
    assert "You act as the owner of the connector" in page.inner_text("#why")
    _shot(page, "record-detail")
    open_href = page.get_attribute("a:has-text('Open')", "href")
    content = page.request.get(url + str(open_href))
    assert content.ok, content.status
    assert "/api/v1/content/" in content.url
    assert "The lighthouse rota starts in May." in content.text()

    page.goto(url + "/ask")
    page.fill("#question", "When does the lighthouse rota start?")
    page.click("button:has-text('Ask')")
    page.wait_for_selector("#answer-area ol.citations", timeout=WAIT_MS)
    assert "harbour-plan.md" in page.inner_text("#answer-area ol.citations")
    _shot(page, "chat")
    admin_context.close()

    member_context = browser.new_context(viewport={"width": 1366, "height": 768})  # type: ignore[attr-defined]
    member = member_context.new_page()
    _log_in(member, url, *MEMBER)
    member.goto(url + "/search?q=lighthouse")
    results = member.inner_text("main")
    assert "harbour-plan.md" in results
    assert "salaries.md" not in results
    member.goto(url + "/search?q=salaries")
    assert "salaries.md" not in member.inner_text("main")
    member.goto(url + "/records")
    assert "harbour-plan.md" in member.inner_text("main")
    assert "salaries.md" not in member.inner_text("main")
    response = member.goto(url + salaries_href)
    assert response is not None
    assert response.status == 404
    assert "salaries" not in member.inner_text("main").lower()
    member.goto(url + "/connectors")
    assert "Team handbook" in member.inner_text("main")
    assert "Ada's notes" in member.inner_text("main")  # a team connector: seen, its files are not
    member.goto(url + "/connectors/new/localfs")
    member.fill("#f-name", "Grab")
    member.fill("textarea[name='sync.folders']", str(running.private))
    member.click("button:has-text('Add connector')")
    member.wait_for_selector("text=only an admin can add or change a Local FS connector")
    member.goto(url + "/connectors")
    assert "Grab" not in member.inner_text("main")
    member_context.close()


def test_the_api_docs_run_from_this_server_under_their_csp(running: Running, browser: object) -> None:
    """Swagger UI at /docs loads its files from this server only, renders the API, and breaks no
    rule of the page's Content-Security-Policy (which a hash-allowed inline start script needs)."""
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    requested: list[str] = []
    complaints: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: complaints.append(message.text) if message.type == "error" else None)
    response = page.goto(running.url + "/docs")
    assert response is not None
    assert response.ok
    page.wait_for_selector(".swagger-ui .info .title", timeout=WAIT_MS)
    assert "Headwater" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-tag", timeout=WAIT_MS)  # the operations, from /openapi.json
    assert page.locator(".opblock-tag").count() > 3
    assert requested
    assert all(url.startswith((running.url, "data:")) for url in requested), requested
    assert not [c for c in complaints if "Content Security Policy" in c], complaints
    assert (page.request.get(running.url + "/redoc")).status == 404
    context.close()
