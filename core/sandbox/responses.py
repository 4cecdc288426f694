"""Response shapes X uses: ``{"errors":[{"code","message"}]}``, legacy ``{"request","error"}``,
plain text on the token endpoints, empty bodies from the front end (413/414/404 images)."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

#: Exactly as recorded (no space after the semicolon).
JSON_TYPE = "application/json;charset=utf-8"
HTML_TYPE = "text/html;charset=utf-8"
TEXT_TYPE = "text/plain;charset=utf-8"


def errors_body(code: int, message: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message}]}


def json_response(obj: Any, status: int = 200,
                  headers: dict[str, str] | None = None) -> Response:
    # Compact, with "/" escaped as "\/", exactly as X's recorded bodies.
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).replace("/", "\\/")
    return Response(text, status=status, headers=headers, content_type=JSON_TYPE)


def error_response(status: int, code: int, message: str,
                   headers: dict[str, str] | None = None) -> Response:
    return json_response(errors_body(code, message), status, headers)


def legacy_error(request_path: str, error: str, status: int,
                 headers: dict[str, str] | None = None) -> Response:
    """The older shape X still used for some checks (read-only app, media type)."""
    return json_response({"request": request_path, "error": error}, status, headers)


def not_found() -> Response:
    return error_response(404, 34, "Sorry, that page does not exist.")


def empty(status: int) -> Response:
    return Response(b"", status=status, content_type=HTML_TYPE)


def plain_text(text: str, status: int) -> Response:
    return Response(text, status=status, content_type=TEXT_TYPE)
