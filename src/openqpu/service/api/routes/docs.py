"""The API documentation (Swagger UI) served from this server: no CDN, no inline script.

The assets come from the installed ``swagger-ui-bundle`` package; without it ``/docs``
says how to get it (the schema stays at ``/openapi.json``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

ASSETS = "/docs/assets"

_PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>openqpu API</title>
  <link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{ASSETS}/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
"""
_INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  deepLinking: true,
});
"""
_MISSING = (
    "<!doctype html><title>openqpu API</title><p>The API documentation needs the Python "
    "package <code>swagger-ui-bundle</code> (<code>pip install swagger-ui-bundle</code>). "
    'The schema is at <a href="/openapi.json">/openapi.json</a>.</p>'
)


def swagger_ui_folder() -> Path | None:
    """The installed Swagger UI dist folder, or None."""
    try:
        import swagger_ui_bundle
    except ImportError:
        return None
    return Path(swagger_ui_bundle.swagger_ui_path)


def install_docs(app: FastAPI) -> None:
    """``/docs`` (page, ``init.js`` and the Swagger UI assets) on ``app``."""
    folder = swagger_ui_folder()
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    async def docs() -> HTMLResponse:
        return HTMLResponse(_PAGE if folder is not None else _MISSING)

    @router.get("/docs/init.js")
    async def init() -> Response:
        return Response(_INIT, media_type="text/javascript")

    app.include_router(router)
    if folder is not None:
        app.mount(ASSETS, StaticFiles(directory=folder), name="docs-assets")
