"""`/docs`: Swagger UI served from the package, so it works with no internet (issue 14).

FastAPI's own `/docs` page loads Swagger UI's script and stylesheet from a CDN: offline, or
behind a firewall that allows only the ISP's own hosts, it is a blank page. Here the files come
from the `fastapi-swagger` package (Swagger UI's current distribution, MIT-licensed wrapper of
the Apache-2.0 Swagger UI), served under `/docs/assets/`, and the page is built with FastAPI's
`get_swagger_ui_html` pointed at them. Swagger UI's online validator badge is off
(`validatorUrl: null`): it would send the schema's address to validator.swagger.io.

The page gets a Content-Security-Policy that allows its own origin only (plus the inline
script that starts Swagger UI), so the browser itself refuses any other host. ReDoc, which
has no maintained offline package, is not served (`/redoc` is a 404).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import PlainTextResponse, Response

DOCS_URL = "/docs"
ASSETS_URL = f"{DOCS_URL}/assets"
OAUTH2_REDIRECT_URL = f"{DOCS_URL}/oauth2-redirect"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'"
)
"""Swagger UI starts from an inline script and styles itself inline; nothing else leaves."""


@cache
def asset(name: str) -> bytes:
    """One of Swagger UI's files, read once from the installed package."""
    return (files("fastapi_swagger") / "resources" / name).read_bytes()


def install_docs(app: FastAPI) -> None:
    """Serve `/docs` (the app must be built with `docs_url=None, redoc_url=None`). Plain
    Starlette routes, as FastAPI's own docs routes are: no dependencies, not in the schema."""

    async def swagger_ui(_request: Request) -> Response:
        page = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
            oauth2_redirect_url=OAUTH2_REDIRECT_URL,
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page

    async def swagger_ui_redirect(_request: Request) -> Response:
        page = get_swagger_ui_oauth2_redirect_html()
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page

    async def swagger_ui_asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            return PlainTextResponse("no such file", status_code=404)
        return Response(
            asset(name),
            media_type=ASSETS[name],
            headers={"Cache-Control": "public, max-age=86400"},
        )

    app.add_route(DOCS_URL, swagger_ui, include_in_schema=False)
    app.add_route(OAUTH2_REDIRECT_URL, swagger_ui_redirect, include_in_schema=False)
    app.add_route(f"{ASSETS_URL}/{{name}}", swagger_ui_asset, include_in_schema=False)
