"""The API's document and its two viewers (Swagger UI at /docs, Redoc at /redoc).

Behind the key like every route but /ping. A browser opening `/docs` with the
key cannot send it with the page's own request for the document, so the page
asks for the document with a token scoped to the docs. The viewers are
served from the package (`web/vendor/`), with no inline script, under the
dashboard's content policy: the pages work offline and load nothing from
anywhere else.
"""

from __future__ import annotations

import html
import secrets
import time
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from trade_analysis.api.credentials import TokenScope, issue_token, key_matches, token_valid
from trade_analysis.api.deps import bearer, get_services, require_api_key, require_key_or_docs_token
from trade_analysis.api.policy import protect

VENDOR = "/dashboard/vendor"


async def docs_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    token: Annotated[str | None, Query()] = None,
) -> str:
    """The token the page fetches its document with.

    The key (in the header, or in `?token=` as the seed's clients send it) gets a
    fresh docs token; a docs token is handed back as it is, so no token ever
    buys itself more time.
    """
    settings = (await get_services(request)).settings
    keys = settings.valid_keys
    if credentials is None and token is not None and not key_matches(keys, token):
        if not token_valid(keys, token, time.time(), TokenScope.DOCS):
            raise HTTPException(403, "wrong API key, or a token expired or not for docs")
        return token
    if token is None or credentials is not None:
        await require_api_key(request, credentials)
    return issue_token(keys[0], time.time(), [TokenScope.DOCS], settings.token_ttl_seconds)[0]


DocsToken = Annotated[str, Depends(docs_token)]


def swagger_ui_html(document_url: str, title: str) -> str:
    url, title = html.escape(document_url), html.escape(title)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - Swagger UI</title>
<link rel="stylesheet" href="{VENDOR}/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-url="{url}"></div>
<script src="{VENDOR}/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/dashboard/docs/swagger.js"></script>
</body>
</html>
"""


def redoc_html(document_url: str, title: str, style_nonce: str) -> str:
    url, title = html.escape(document_url), html.escape(title)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta property="csp-nonce" content="{style_nonce}">
<title>{title} - ReDoc</title>
</head>
<body>
<redoc spec-url="{url}" disable-telemetry="true"></redoc>
<script type="module" src="{VENDOR}/redoc/redoc.standalone.js"></script>
</body>
</html>
"""


def docs_page(body: str, style_nonce: str | None = None) -> HTMLResponse:
    response = HTMLResponse(body)
    protect(response, style_nonce)
    response.headers["Cache-Control"] = "no-store"  # it carries a token
    return response


def include_docs(app: FastAPI) -> None:
    router = APIRouter(include_in_schema=False)

    @router.get("/openapi.json", dependencies=[Depends(require_key_or_docs_token)])
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @router.get("/docs")
    async def swagger(token: DocsToken) -> HTMLResponse:
        return docs_page(swagger_ui_html(f"/openapi.json?token={token}", app.title))

    @router.get("/redoc")
    async def redoc(token: DocsToken) -> HTMLResponse:
        # Redoc draws with styled-components, which writes <style> elements: they are let
        # in by a nonce of this response only (read from the page's `csp-nonce` meta).
        nonce = secrets.token_urlsafe(16)
        return docs_page(redoc_html(f"/openapi.json?token={token}", app.title, nonce), nonce)

    app.include_router(router)
