"""JSON with a bounded nesting depth, for anything read from outside (the network, the
settings file): deep nesting is refused with a ValueError before the parser can recurse
into a RecursionError. Standard library only (the window imports it before requests)."""

from __future__ import annotations

import json
import re
from typing import Any

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class JsonTooDeep(ValueError):
    """JSON nested deeper than allowed."""


def depth_ok(text: str, max_depth: int) -> bool:
    """True when no array/object in ``text`` nests deeper than ``max_depth`` (brackets
    inside strings do not count)."""
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            if depth > max_depth:
                return False
        else:
            depth -= 1
    return True


def loads(data: bytes | str, *, max_depth: int) -> Any:
    """``json.loads`` that refuses deep nesting (JsonTooDeep, a ValueError)."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    if not depth_ok(text, max_depth):
        raise JsonTooDeep(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise JsonTooDeep("JSON nested too deeply") from None
