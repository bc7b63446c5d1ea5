"""Web UI fixtures (shared: tests/web, tests/security).

Fast tests drive the app in-process over ASGI (httpx), one cookie jar per logged-in user, on
both databases. Browser tests drive real headless Chromium (Debian's, through Playwright)
against a real `mikrosync serve` subprocess, real `mikrosync worker` subprocesses, the machine's
Redis and the simulator over TCP. Their `server`, `worker`, `e2e_settings` and `site` are in
tests/web/conftest.py (one server and worker shared by every browser module); the browser
fixtures here take the `server` found there.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from bullmq import Queue
from fastapi import FastAPI
from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright, expect
from sqlalchemy import update

from mikrosync.jobs.names import SYNC_QUEUE
from mikrosync.runtime import Runtime
from mikrosync.settings import ENV_PREFIX, Settings
from mikrosync.tenants.models import Role, Tenant
from tests.plugins.core import (
    MIKROSYNC,
    PASSWORD,
    Staff,
    TenantFactory,
    environ_without_settings,
    free_port,
)
from tests.plugins.e2e import WORKER_ENV, Site

# Browser screenshots (artefacts of every browser test); build/ is not committed.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


# -- fast tests: the app over ASGI ----------------------------------------------------------


@dataclass
class WebClient:
    """A browser-like client: its own cookie jar, logged in through the login form."""

    http: httpx.AsyncClient
    staff: Staff
    csrf: str = ""

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(path, **kwargs)

    async def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any
    ) -> httpx.Response:
        """POST a form, with the session's CSRF token unless `csrf=False`."""
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf)
        return await self.http.post(path, data=form, **kwargs)

    async def login(self) -> None:
        token = csrf_from((await self.http.get("/login")).text)
        form = {"email": self.staff.email, "password": PASSWORD, "csrf_token": token}
        response = await self.http.post("/login", data=form)
        assert response.status_code == 303, response.text
        # The token changes at login; read the new one from any page.
        self.csrf = csrf_from((await self.http.get("/")).text)


WebLogin = Callable[..., Awaitable[WebClient]]


@asynccontextmanager
async def _logins(app: FastAPI) -> AsyncIterator[WebLogin]:
    opened: list[httpx.AsyncClient] = []

    async def login(staff: Staff) -> WebClient:
        transport = httpx.ASGITransport(app=app)
        http = httpx.AsyncClient(transport=transport, base_url="http://test")
        opened.append(http)
        client = WebClient(http=http, staff=staff)
        await client.login()
        return client

    try:
        yield login
    finally:
        for http in opened:
            await http.aclose()


@pytest.fixture
async def web_login(app: FastAPI) -> AsyncIterator[WebLogin]:
    """`await web_login(staff)` -> a WebClient logged in as that staff user."""
    async with _logins(app) as login:
        yield login


@dataclass
class WebTenant:
    """One tenant's owner, operator and viewer, each logged in to the web UI, plus the owner
    of another tenant. Shared by the fast tests of a backend (a staff login costs two argon2
    hashes): tests add their own uniquely named rows and never log these users out."""

    api: httpx.AsyncClient
    owner: WebClient
    operator: WebClient
    viewer: WebClient
    stranger: WebClient

    @property
    def staff(self) -> Staff:
        return self.owner.staff


@pytest.fixture(scope="session")
async def web(
    app: FastAPI, runtime: Runtime, client: httpx.AsyncClient
) -> AsyncIterator[WebTenant]:
    factory = TenantFactory(runtime=runtime, client=client)
    tenant_id = await factory.tenant()
    async with _logins(app) as login:
        yield WebTenant(
            api=client,
            owner=await login(await factory.staff(tenant_id, Role.OWNER)),
            operator=await login(await factory.staff(tenant_id, Role.OPERATOR)),
            viewer=await login(await factory.staff(tenant_id, Role.VIEWER)),
            stranger=await login(await factory.staff(await factory.tenant(), Role.OWNER)),
        )


# -- browser tests: a real server process --------------------------------------------------


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a subprocess these settings."""
    names = ("data_dir", "database_url", "redis_url", "queue_prefix", "secret_key")
    return {f"{ENV_PREFIX}{name.upper()}": str(getattr(settings, name)) for name in names}


class ServerProcess:
    """A real `mikrosync serve` subprocess on a free port."""

    def __init__(
        self, settings: Settings, log_path: Path, extra_env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = environ_without_settings()
        env |= WORKER_ENV | settings_env(settings) | {f"{ENV_PREFIX}LOG_LEVEL": "WARNING"}
        env |= extra_env or {}
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            # One process: the default of one per core spawns 2 more, each importing the app.
            [*MIKROSYNC, "serve", "--port", str(self.port), "--workers", "1"],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 90.0) -> None:  # 2 cores shared: startup can be slow
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server not ready after {timeout}s:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@pytest.fixture
def serve(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A `mikrosync serve` process on the session's database (a module may define its own)."""
    started = ServerProcess(settings, tmp_path_factory.mktemp("serve") / "serve.log")
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
async def browser_owner(
    server: ServerProcess,
    e2e_settings: Settings,
) -> AsyncIterator[Staff]:
    """The owner of a tenant of the browser tests, logged in to the real server's API. The
    tenant is made inactive after the module: its routers (their simulators gone with their
    tests) leave the worker's health checks and periodic reconciliation, which a worker
    shared by later modules would otherwise keep running every second."""
    runtime = Runtime.build(e2e_settings)
    async with httpx.AsyncClient(base_url=server.url) as http:
        factory = TenantFactory(runtime=runtime, client=http)
        tenant_id = await factory.tenant()
        yield await factory.staff(tenant_id)
    async with runtime.sessionmaker() as session:
        await session.execute(update(Tenant).where(Tenant.id == tenant_id).values(is_active=False))
        await session.commit()
    await runtime.close()


# -- the browser ------------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# How long a live change may take to show (worker + 2 s polling), generous for slow machines.
LIVE_TIMEOUT_MS = 20_000


@pytest.fixture(scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    expect.set_options(timeout=LIVE_TIMEOUT_MS)
    yield launched
    await launched.close()


@dataclass
class UI:
    """One browser tab on the real server, with screenshots named after the test."""

    page: Page
    base_url: str
    test_name: str
    shots: int = 0

    async def shot(self, what: str) -> Path:
        self.shots += 1
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.test_name}-{self.shots:02d}-{what}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    async def login(self, email: str, password: str = PASSWORD) -> None:
        await self.page.goto(f"{self.base_url}/login")
        await self.page.fill("#f-email", email)
        await self.page.fill("#f-password", password)
        await self.page.click("form[action='/login'] button[type=submit]")
        await expect(self.page.locator("nav[aria-label=Main]")).to_be_visible()


@asynccontextmanager
async def _tab(
    browser: Browser, server: ServerProcess, test_name: str, state: Any = None
) -> AsyncIterator[UI]:
    context: BrowserContext = await browser.new_context(
        viewport={"width": 1280, "height": 900}, base_url=server.url, storage_state=state
    )
    page = await context.new_page()
    # Confirmation dialogs ("Suspend alice?") are accepted, as an operator would.
    page.on("dialog", lambda dialog: dialog.accept())
    # Script errors (a CSP refusal, an htmx failure) fail the test; an HTTP error status of a
    # page under test (a 422 form, a 403) is logged by Chromium too and is expected.
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}")
            if message.type == "error" and "Failed to load resource" not in message.text
            else None
        ),
    )
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", test_name).strip("-")
    try:
        yield UI(page=page, base_url=server.url, test_name=name)
    finally:
        await context.close()
    assert not problems, problems


@pytest.fixture
async def ui(
    browser: Browser, server: ServerProcess, request: pytest.FixtureRequest
) -> AsyncIterator[UI]:
    """A fresh browser tab, logged in as nobody."""
    async with _tab(browser, server, request.node.name) as tab:
        yield tab


@pytest.fixture(scope="module")
async def owner_state(browser: Browser, server: ServerProcess, browser_owner: Staff) -> Any:
    """The cookies of the browser tests' owner after one login through the login form."""
    async with _tab(browser, server, "login") as tab:
        await tab.login(browser_owner.email)
        return await tab.page.context.storage_state()


@pytest.fixture
async def owner_ui(
    browser: Browser, server: ServerProcess, owner_state: Any, request: pytest.FixtureRequest
) -> AsyncIterator[UI]:
    """A browser tab of the browser tests' owner, already logged in."""
    async with _tab(browser, server, request.node.name, owner_state) as tab:
        yield tab


# -- helpers of the browser tests ------------------------------------------------------


@asynccontextmanager
async def paused(settings: Settings) -> AsyncIterator[None]:
    """Pause the sync queue (BullMQ's own pause: workers take no job), so a change stays
    Pending until it resumes.

    Pausing does not stop the jobs already running, and a per-router batch among them would
    claim a change made after the pause; so this waits until none is active."""
    queue = Queue(SYNC_QUEUE, {"connection": settings.redis_url, "prefix": settings.queue_prefix})
    await queue.pause()
    try:
        await _until_no_sync_job_active(queue)
        yield
    finally:
        await queue.resume()
        await queue.close()


async def no_sync_job_active(settings: Settings) -> None:
    """Until no sync job runs: a change made after it is carried by its own job (a per-router
    run still draining would otherwise take it in its batch, and the job would find nothing)."""
    queue = Queue(SYNC_QUEUE, {"connection": settings.redis_url, "prefix": settings.queue_prefix})
    try:
        await _until_no_sync_job_active(queue)
    finally:
        await queue.close()


async def _until_no_sync_job_active(queue: Queue) -> None:
    deadline = time.monotonic() + 30
    while await queue.getJobCountByTypes("active"):
        assert time.monotonic() < deadline, "a sync job stayed active for 30 s"
        await asyncio.sleep(0.05)


async def fill_new_subscriber(ui: UI, site: Site, username: str, **fields: str) -> None:
    page = ui.page
    await page.goto("/subscribers/new")
    await page.select_option("#f-router_id", str(site.router["id"]))
    await page.select_option("#f-service", "pppoe")
    await page.select_option("#f-package_id", str(site.packages["pppoe"]["id"]))
    await page.fill("#f-username", username)
    await page.fill("#f-password", fields.pop("password", f"{username}-pw"))
    for name, value in fields.items():
        await page.fill(f"#f-{name}", value)
