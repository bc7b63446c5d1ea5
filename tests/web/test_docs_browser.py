"""`/docs` renders Swagger UI in a real browser with every other host unreachable (issue 14,
defect 8): the page, its script and stylesheet, and the schema all come from `mikrosync serve`
itself. Before, Swagger UI came from a CDN and the page was blank offline."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Route, expect

from tests.plugins.web import ServerProcess

pytestmark = pytest.mark.slow


async def test_swagger_ui_renders_with_other_hosts_blocked(
    browser: Browser, serve: ServerProcess
) -> None:
    own = urlsplit(serve.url).netloc
    blocked: list[str] = []
    loaded: list[str] = []

    async def only_our_server(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).netloc == own:
            loaded.append(urlsplit(url).path)
            await route.continue_()
        else:
            blocked.append(url)
            await route.abort("internetdisconnected")

    context = await browser.new_context()
    try:
        await context.route("**/*", only_our_server)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(f"{serve.url}/docs")
        await expect(page.locator(".swagger-ui .info .title")).to_contain_text("mikrosync")
        # The operations are listed, by their tags and paths.
        await expect(page.locator(".opblock-tag-section").first).to_be_visible()
        await expect(page.get_by_text("/api/v1/subscribers/{subscriber_id}").first).to_be_attached()
        assert blocked == [], blocked
        assert errors == [], errors
        assert "/openapi.json" in loaded and "/docs/assets/swagger-ui-bundle.js" in loaded
    finally:
        await context.close()
