"""Fast JSON responses: documents are serialised once, with orjson, without re-validation."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse


class FastJSONResponse(JSONResponse):
    """A JSON response rendered by orjson; naive datetimes are UTC and written with ``Z``."""

    def render(self, content: Any) -> bytes:
        """The body bytes of ``content``."""
        return orjson.dumps(content, option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z)


class RawJSONResponse(JSONResponse):
    """A response whose content is JSON text already (a stored result document)."""

    def render(self, content: Any) -> bytes:
        """The body bytes: the text itself."""
        return content.encode() if isinstance(content, str) else bytes(content)
