"""Strict validation of ``app.bsky.actor.profile`` records, as the PDS does at write time.

Unknown fields are allowed (lexicon objects are open); known ones must have their types
and limits. Messages follow @atproto/lex-schema: ``<issue> at $.record.<path>``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from avatar_studio.core.sandbox.bluesky.cids import is_cid

PROFILE_NSID = "app.bsky.actor.profile"
IMAGE_ACCEPT = ("image/png", "image/jpeg")
IMAGE_MAX_SIZE = 1_000_000

#: field -> (max graphemes, max UTF-8 bytes)
_STRINGS = {"displayName": (64, 640), "description": (256, 2560), "pronouns": (20, 200)}
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_AT_URI = re.compile(r"^at://[^/\s]+(/[^/\s]+(/[^/\s]+)?)?$")


class LexiconError(ValueError):
    """A record does not match its lexicon; ``str()`` is the PDS's message."""


@dataclass(frozen=True)
class BlobRef:
    cid: str
    mime_type: str
    size: int | None  # None for a legacy ref ({"cid", "mimeType"})
    path: str


def graphemes(text: str) -> int:
    """Grapheme count, close enough for limits: combining marks and joiners do not count."""
    count = 0
    joined = False
    for char in text:
        if unicodedata.combining(char) or char in "\u200d\ufe0f\ufe0e":
            joined = char == "\u200d"
            continue
        if joined:
            joined = False
            continue
        count += 1
    return count


def blob_ref(value: Any, path: str) -> BlobRef:
    """Read a blob ref (typed or legacy) or raise LexiconError."""
    if not isinstance(value, dict):
        raise LexiconError(f"Expected blob value type (got {_kind(value)}) at {path}")
    if value.get("$type") == "blob":
        ref = value.get("ref")
        link = ref.get("$link") if isinstance(ref, dict) else None
        mime = value.get("mimeType")
        size = value.get("size")
        if not is_cid(link):
            raise LexiconError(f"Expected a CID link at {path}.ref")
        if not isinstance(mime, str):
            raise LexiconError(f"Expected string value type at {path}.mimeType")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise LexiconError(f"Expected integer value type at {path}.size")
        return BlobRef(str(link), mime, size, path)
    if isinstance(value.get("cid"), str) and isinstance(value.get("mimeType"), str):
        if not is_cid(value["cid"]):
            raise LexiconError(f"Expected a CID at {path}.cid")
        return BlobRef(value["cid"], value["mimeType"], None, path)
    raise LexiconError(f"Expected blob value type (got object) at {path}")


def validate_profile(record: Any) -> list[BlobRef]:
    """Raise LexiconError for an invalid profile; return its blob refs (avatar, banner)."""
    base = "$.record"
    if not isinstance(record, dict):
        raise LexiconError(f"Expected object value type (got {_kind(record)}) at {base}")
    blobs: list[BlobRef] = []
    for name, (max_graphemes, max_bytes) in _STRINGS.items():
        if name not in record:
            continue
        value = record[name]
        path = f"{base}.{name}"
        if not isinstance(value, str):
            raise LexiconError(f"Expected string value type (got {_kind(value)}) at {path}")
        if len(value.encode("utf-8")) > max_bytes:
            raise LexiconError(f"string too long (maximum {max_bytes}) at {path}")
        if graphemes(value) > max_graphemes:
            raise LexiconError(f"grapheme too big (maximum {max_graphemes}) at {path}")
    if "website" in record:
        website = record["website"]
        if not isinstance(website, str) or not re.match(r"^[a-z][a-z0-9+.-]*:\S+$", website):
            raise LexiconError(f"Invalid URI at {base}.website")
    for name in ("avatar", "banner"):
        if name not in record:
            continue
        ref = blob_ref(record[name], f"{base}.{name}")
        if ref.mime_type not in IMAGE_ACCEPT:
            raise LexiconError(f'Expected one of "image/png" or "image/jpeg" '
                               f'(got "{ref.mime_type}") at {ref.path}.mimeType')
        if ref.size is not None and ref.size > IMAGE_MAX_SIZE:
            raise LexiconError(f"blob too big (maximum {IMAGE_MAX_SIZE}, got {ref.size}) "
                               f"at {ref.path}")
        blobs.append(ref)
    for name in ("joinedViaStarterPack", "pinnedPost"):
        if name in record:
            _strong_ref(record[name], f"{base}.{name}")
    if "labels" in record:
        labels = record["labels"]
        if (not isinstance(labels, dict)
                or labels.get("$type") != "com.atproto.label.defs#selfLabels"
                or not isinstance(labels.get("values"), list)):
            raise LexiconError(f"Expected com.atproto.label.defs#selfLabels at {base}.labels")
    if "createdAt" in record:
        created = record["createdAt"]
        if not isinstance(created, str) or not _DATETIME.match(created):
            raise LexiconError(f"Invalid datetime at {base}.createdAt")
    return blobs


def _strong_ref(value: Any, path: str) -> None:
    if (not isinstance(value, dict) or not isinstance(value.get("uri"), str)
            or not _AT_URI.match(value["uri"]) or not is_cid(value.get("cid"))):
        raise LexiconError(f"Expected com.atproto.repo.strongRef at {path}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
