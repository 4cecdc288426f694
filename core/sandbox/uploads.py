"""Where the ``image`` parameter hides in the requests real clients send.

* multipart part ``image`` with raw bytes, with or without a part Content-Type
  (Twitter4J, tweepy 3 and 4);
* multipart part with ``Content-Transfer-Encoding: base64`` (twurl ``-b``);
* twurl's ``multipart/form-data, boundary="..."`` (a comma instead of a semicolon);
* form-urlencoded base64 (python-twitter, codebird), or base64 in the query string.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from werkzeug.wrappers import Request

_COMMA_MULTIPART = re.compile(r"^\s*(multipart/form-data)\s*,\s*", re.IGNORECASE)


def normalize_content_type(environ: dict[str, Any]) -> None:
    """Rewrite twurl's comma form so werkzeug's multipart parser finds the boundary."""
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if _COMMA_MULTIPART.match(content_type):
        environ["CONTENT_TYPE"] = _COMMA_MULTIPART.sub(r"\1; ", content_type, count=1)


def image_param(request: Request) -> bytes | None:
    """The decoded image bytes, or None when no ``image`` parameter was sent."""
    part = request.files.get("image")
    if part is not None:
        data: bytes = part.read()
        if part.headers.get("Content-Transfer-Encoding", "").strip().lower() == "base64":
            return decode_base64(data.decode("ascii", errors="replace"), mime_part=True)
        return data
    text = request.form.get("image")
    if text is None:
        text = request.args.get("image")
    if text is None:
        return None
    return decode_base64(text, mime_part=False)


def decode_base64(text: str, *, mime_part: bool) -> bytes:
    """Strict base64; what is not base64 comes back as its raw text, so it then fails the
    magic-byte check ("media type unrecognized.") as a ``data:`` prefix did on X.

    MIME parts wrap lines, so all whitespace goes there; form values may only carry line
    breaks (a literal space is a "+" the client forgot to percent-encode).
    """
    cleaned = "".join(text.split()) if mime_part else text.replace("\r", "").replace("\n", "")
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        return cleaned.encode("utf-8", errors="replace")
